// SPDX-License-Identifier: GPL-2.0-or-later
// A strict little JSON reader (RFC 8259) for tests that check what the
// daemon answers parses, and has the right shape: objects, arrays, strings
// (escapes, \uXXXX as UTF-8), numbers, true/false/null. A syntax error
// throws std::runtime_error with the offset; trailing text is an error.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vg::test {

struct Json {
    enum class Type { null, boolean, number, string, array, object } type = Type::null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    std::map<std::string, Json> obj;

    bool has(const std::string& k) const { return type == Type::object && obj.count(k) != 0; }
    const Json& operator[](const std::string& k) const {
        auto it = obj.find(k);
        if (type != Type::object || it == obj.end()) throw std::runtime_error("no key " + k);
        return it->second;
    }
    const Json& operator[](std::size_t i) const {
        if (type != Type::array || i >= arr.size()) throw std::runtime_error("no index " + std::to_string(i));
        return arr[i];
    }
    std::uint64_t u64() const {
        if (type != Type::number) throw std::runtime_error("not a number");
        return static_cast<std::uint64_t>(num);
    }

    static Json parse(std::string_view text) {
        std::size_t pos = 0;
        Json v = value(text, pos);
        skip(text, pos);
        if (pos != text.size()) fail(pos, "trailing text");
        return v;
    }

private:
    [[noreturn]] static void fail(std::size_t pos, const char* what) {
        throw std::runtime_error(std::string("JSON: ") + what + " at offset " + std::to_string(pos));
    }
    static void skip(std::string_view t, std::size_t& p) {
        while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
    }
    static void expect(std::string_view t, std::size_t& p, std::string_view word) {
        if (t.substr(p, word.size()) != word) fail(p, "unexpected token");
        p += word.size();
    }
    static std::string string_at(std::string_view t, std::size_t& p) {
        if (p >= t.size() || t[p] != '"') fail(p, "expected a string");
        ++p;
        std::string out;
        while (true) {
            if (p >= t.size()) fail(p, "unterminated string");
            const auto c = static_cast<unsigned char>(t[p++]);
            if (c == '"') return out;
            if (c < 0x20) fail(p, "control character in a string");
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                continue;
            }
            if (p >= t.size()) fail(p, "unterminated escape");
            const char e = t[p++];
            switch (e) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                if (p + 4 > t.size()) fail(p, "short \\u escape");
                unsigned cp = 0;
                for (int i = 0; i < 4; ++i) {
                    const char h = t[p++];
                    cp <<= 4;
                    if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
                    else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
                    else fail(p, "bad \\u escape");
                }
                if (cp < 0x80) {
                    out.push_back(static_cast<char>(cp));
                } else if (cp < 0x800) {
                    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
                } else {
                    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
                    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
                }
                break;
            }
            default: fail(p, "bad escape");
            }
        }
    }
    static Json value(std::string_view t, std::size_t& p) {
        skip(t, p);
        if (p >= t.size()) fail(p, "expected a value");
        Json v;
        const char c = t[p];
        if (c == '{') {
            v.type = Type::object;
            ++p;
            skip(t, p);
            if (p < t.size() && t[p] == '}') {
                ++p;
                return v;
            }
            while (true) {
                skip(t, p);
                std::string k = string_at(t, p);
                skip(t, p);
                if (p >= t.size() || t[p] != ':') fail(p, "expected ':'");
                ++p;
                if (v.obj.count(k) != 0) fail(p, "duplicate key");
                v.obj.emplace(std::move(k), value(t, p));
                skip(t, p);
                if (p < t.size() && t[p] == ',') {
                    ++p;
                    continue;
                }
                if (p < t.size() && t[p] == '}') {
                    ++p;
                    return v;
                }
                fail(p, "expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.type = Type::array;
            ++p;
            skip(t, p);
            if (p < t.size() && t[p] == ']') {
                ++p;
                return v;
            }
            while (true) {
                v.arr.push_back(value(t, p));
                skip(t, p);
                if (p < t.size() && t[p] == ',') {
                    ++p;
                    continue;
                }
                if (p < t.size() && t[p] == ']') {
                    ++p;
                    return v;
                }
                fail(p, "expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.type = Type::string;
            v.str = string_at(t, p);
            return v;
        }
        if (c == 't') {
            expect(t, p, "true");
            v.type = Type::boolean;
            v.b = true;
            return v;
        }
        if (c == 'f') {
            expect(t, p, "false");
            v.type = Type::boolean;
            return v;
        }
        if (c == 'n') {
            expect(t, p, "null");
            return v;
        }
        const std::size_t start = p;
        if (p < t.size() && t[p] == '-') ++p;
        if (p >= t.size() || t[p] < '0' || t[p] > '9') fail(p, "expected a value");
        if (t[p] == '0' && p + 1 < t.size() && t[p + 1] >= '0' && t[p + 1] <= '9') fail(p, "leading zero");
        while (p < t.size() && ((t[p] >= '0' && t[p] <= '9') || t[p] == '.' || t[p] == 'e' || t[p] == 'E' ||
                                t[p] == '+' || t[p] == '-'))
            ++p;
        v.type = Type::number;
        v.num = std::strtod(std::string(t.substr(start, p - start)).c_str(), nullptr);
        return v;
    }
};

}  // namespace vg::test
