// SPDX-License-Identifier: GPL-2.0-or-later
// RFC 5424 and JSON lines from the catalogue's key=value text (see
// log_structured.h).
#include "daemon/log_structured.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <unordered_set>

namespace vg::daemon {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool is_key_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One escape of log_format.h's grammar at s[i] == '\\': appends what it
// stands for and returns the index after it.
std::size_t unescape_at(std::string_view s, std::size_t i, std::string& out) {
    if (i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == '"')) {
        out.push_back(s[i + 1]);
        return i + 2;
    }
    if (i + 3 < s.size() && s[i + 1] == 'x') {
        const int hi = hex_digit(s[i + 2]);
        const int lo = hex_digit(s[i + 3]);
        if (hi >= 0 && lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            return i + 4;
        }
    }
    out.push_back('\\');
    return i + 1;
}

void append_hex_byte(std::string& out, unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
}

// Characters that change how the rest of a line reads: line and paragraph
// separators (line-based readers split there), bidirectional controls (a
// SIEM's screen would show the text reordered) and the BOM.
bool reorders_or_breaks(std::uint32_t cp) noexcept {
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept;

// Length of the valid UTF-8 sequence at s[i] of a character at or above
// U+00A0 (printable, not a C1 control) that does not reorder or break the
// line, or 0.
std::size_t utf8_printable(std::string_view s, std::size_t i) noexcept {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 2 || n == 3) {
        std::uint32_t cp = static_cast<unsigned char>(s[i]) & (n == 2 ? 0x1f : 0x0f);
        for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        if (reorders_or_breaks(cp)) return 0;
    }
    return n;
}

// Length of the valid UTF-8 sequence at s[i] of a character at or above
// U+00A0, or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
        if (i + k >= s.size()) return false;
        const auto b = static_cast<unsigned char>(s[i + k]);
        return b >= lo && b <= hi;
    };
    if (b0 == 0xc2) return cont(1, 0xa0) ? 2 : 0;   // U+0080..U+009F are C1 controls
    if (b0 >= 0xc3 && b0 <= 0xdf) return cont(1) ? 2 : 0;
    if (b0 == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
    if ((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef) return cont(1) && cont(2) ? 3 : 0;
    if (b0 == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;   // no surrogates
    if (b0 == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b0 == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

// `raw` cut to at most `n` bytes, never inside a valid UTF-8 sequence.
std::string cut_value(const std::string& raw, std::size_t n) {
    if (raw.size() <= n) return raw;
    std::size_t end = n;
    for (int back = 0; back < 3 && end > 0 && (static_cast<unsigned char>(raw[end]) & 0xc0) == 0x80; ++back) --end;
    return raw.substr(0, end);
}

// Printable US-ASCII (33..126) without the bytes in `also_not`, at most `max`
// bytes; `fallback` when nothing is left.
std::string printable_ascii(std::string_view s, std::size_t max, std::string_view also_not,
                            std::string_view fallback) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || also_not.find(c) != std::string_view::npos) continue;
        out.push_back(c);
    }
    return out.empty() ? std::string(fallback) : out;
}

// The value text, then what the format's grammar must escape.
void append_sd_value(std::string& out, std::string_view raw) {
    std::string t;
    append_value_text(t, raw);
    for (char c : t) {
        if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
        out.push_back(c);
    }
}

void append_json_string(std::string& out, std::string_view raw) {
    std::string t;
    append_value_text(t, raw);
    out.push_back('"');
    for (char c : t) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
}

// The keys JSON lines use for the line itself; a field of the same name is
// written as "f_NAME".
bool reserved_json_key(std::string_view k) noexcept {
    for (std::string_view r : {"time", "host", "ident", "pid", "severity", "event", "msg", "truncated"})
        if (k == r) return true;
    return false;
}

std::string message_text(const ParsedLine& p) {
    std::string m = p.id;
    if (!p.text.empty()) m += (m.empty() ? "" : " ") + p.text;
    return m;
}

std::string render_5424_once(const LineContext& c, const ParsedLine& p, std::string_view truncated) {
    std::string o = "<" + std::to_string(c.priority) + ">1 " + rfc3339_utc(c.time) + " ";
    o += printable_ascii(c.hostname, 255, "", "-");
    o.push_back(' ');
    o += printable_ascii(c.ident, 48, "", "-");
    o.push_back(' ');
    o += c.pid > 0 ? std::to_string(c.pid) : std::string("-");
    o.push_back(' ');
    // MSGID: the event ID (at most 32 characters, RFC 5424 §6.2.7).
    o += p.id.size() <= 32 ? printable_ascii(p.id, 32, "", "-") : std::string("-");
    o.push_back(' ');
    if (p.fields.empty() && truncated.empty()) {
        o.push_back('-');
    } else {
        o += '[';
        o += kSdId;
        auto param = [&](std::string_view key, std::string_view value) {
            o.push_back(' ');
            // PARAM-NAME: printable US-ASCII except '=', ']', '"' (and
            // space), at most 32 characters (§6.3.3).
            o += printable_ascii(key, 32, "=]\"", "_");
            o += "=\"";
            append_sd_value(o, value);
            o.push_back('"');
        };
        for (const auto& [k, v] : p.fields) param(k, v);
        if (!truncated.empty()) param("truncated", truncated);
        o += ']';
    }
    const std::string msg = message_text(p);
    if (!msg.empty()) {
        o.push_back(' ');
        append_value_text(o, msg);
    }
    return o;
}

std::string render_json_once(const LineContext& c, const ParsedLine& p, std::string_view truncated) {
    std::string o = "{\"time\":\"" + rfc3339_utc(c.time) + "\",\"host\":";
    append_json_string(o, c.hostname);
    o += ",\"ident\":";
    append_json_string(o, c.ident);
    o += ",\"pid\":" + std::to_string(c.pid) + ",\"severity\":\"";
    o += severity_name(c.severity);
    o += "\"";
    if (!p.id.empty()) {
        o += ",\"event\":";
        append_json_string(o, p.id);
    }
    std::vector<std::string> seen;
    for (const auto& [k, v] : p.fields) {
        std::string key = reserved_json_key(k) ? "f_" + k : k;
        // A key twice (no catalogue line has one): the repeat gets a suffix.
        for (const std::string& s : seen)
            if (s == key) key += "_" + std::to_string(seen.size());
        seen.push_back(key);
        o.push_back(',');
        append_json_string(o, key);
        o.push_back(':');
        append_json_string(o, v);
    }
    if (!p.text.empty()) {
        o += ",\"msg\":";
        append_json_string(o, p.text);
    }
    if (!truncated.empty()) {
        o += ",\"truncated\":";
        append_json_string(o, truncated);
    }
    return o + "}";
}

// Renders; when the result is longer than `max`, cuts the longest values
// (then drops fields from the end, then cuts the text, then the ID) until it
// fits. Only lines over the limit pay for the search (a few renders of
// 2 KiB); a line of thousands of fields (none is written, but the renderer
// takes any text) first loses the fields that could not fit even with every
// value cut, found by bisection, so the search stays a few dozen renders.
template <typename Render>
std::string fit(const LineContext& c, ParsedLine p, std::size_t max, Render render) {
    constexpr std::size_t kMaxName = 64;   // IDs and keys of the catalogue are far shorter
    constexpr std::size_t kMinValue = 16;
    // The first eight names cut or dropped, then how many more: the list
    // must not grow faster than dropping fields shrinks the line.
    constexpr std::size_t kNamed = 8;
    std::vector<std::string> cut_names;
    std::unordered_set<std::string> cut_seen;
    std::string truncated;
    bool count_only = false;   // the last resort: "+N" alone
    auto retell = [&] {
        truncated.clear();
        const std::size_t named = count_only ? 0 : std::min(cut_names.size(), kNamed);
        for (std::size_t i = 0; i < named; ++i) truncated += (truncated.empty() ? "" : ",") + cut_names[i];
        if (cut_names.size() > named)
            truncated += (truncated.empty() ? "+" : ",+") + std::to_string(cut_names.size() - named);
    };
    auto mark = [&](const std::string& name) {
        std::string n = name.substr(0, 24);
        if (!cut_seen.insert(n).second) return;
        cut_names.push_back(std::move(n));
        retell();
    };
    if (p.id.size() > kMaxName) {
        p.id = cut_value(p.id, kMaxName);
        mark("event");
    }
    for (auto& [k, v] : p.fields) {
        if (k.size() > kMaxName) {
            k.resize(kMaxName);   // keys are ASCII (parse_line)
            mark(k);
        }
    }
    std::string out = render(c, p, truncated);
    if (out.size() <= max) return out;

    // Fields that cannot fit even with every value (and the text) cut.
    {
        ParsedLine q = p;
        for (auto& [k, v] : q.fields) v = cut_value(v, kMinValue);
        q.text = cut_value(q.text, kMinValue);
        const std::size_t all = q.fields.size();
        auto fits_with = [&](std::size_t n) {
            ParsedLine r = q;
            r.fields.resize(n);
            return render(c, r, truncated).size() <= max;
        };
        if (all > 0 && !fits_with(all)) {
            std::size_t lo = 0, hi = all - 1;   // the most fields that fit, 0 when none does
            while (lo < hi) {
                const std::size_t mid = lo + (hi - lo + 1) / 2;
                if (fits_with(mid)) lo = mid;
                else hi = mid - 1;
            }
            // Keep one more than fits: the loop below decides about it with
            // the list of cut names it causes.
            const std::size_t keep = std::min(all, lo + 1);
            // Named from the end, as the loop below drops them.
            for (std::size_t i = all; i > keep; --i) mark(p.fields[i - 1].first);
            p.fields.resize(keep);
            out = render(c, p, truncated);
        }
    }

    // Every round shortens a value to at most 16 bytes, drops a field,
    // clears the text, cuts the ID or shortens the list of names: the loop
    // ends.
    while (out.size() > max) {
        std::string* longest = nullptr;
        std::string name;
        for (auto& [k, v] : p.fields) {
            if (v.size() > kMinValue && (!longest || v.size() > longest->size())) {
                longest = &v;
                name = k;
            }
        }
        if (p.text.size() > kMinValue && (!longest || p.text.size() > longest->size())) {
            longest = &p.text;
            name = "msg";
        }
        if (longest) {
            // The longest prefix that fits (values expand by their escapes,
            // so the cut is searched for, not computed).
            const std::string original = *longest;
            mark(name);
            *longest = cut_value(original, kMinValue);
            out = render(c, p, truncated);
            if (out.size() > max) continue;   // not even then: the next round cuts another value
            std::size_t lo = kMinValue, hi = original.size() - 1;
            while (lo < hi) {
                const std::size_t mid = lo + (hi - lo + 1) / 2;
                *longest = cut_value(original, mid);
                if (render(c, p, truncated).size() <= max) lo = mid;
                else hi = mid - 1;
            }
            *longest = cut_value(original, lo);
        } else if (!p.fields.empty()) {
            mark(p.fields.back().first);
            p.fields.pop_back();
        } else if (!p.text.empty()) {
            p.text.clear();
            mark("msg");
        } else if (p.id.size() > kMinValue) {
            // An ID of control bytes is four to five times as long escaped.
            p.id = cut_value(p.id, kMinValue);
            mark("event");
        } else if (!count_only && !cut_names.empty()) {
            count_only = true;
            retell();
        } else {
            break;   // the header alone: 480 bytes hold it (LineContext's limits)
        }
        out = render(c, p, truncated);
    }
    return out;
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) noexcept {
    if (name == "rfc3164") return LogFormat::rfc3164;
    if (name == "rfc5424") return LogFormat::rfc5424;
    if (name == "json") return LogFormat::json;
    return std::nullopt;
}

std::string_view log_format_name(LogFormat f) noexcept {
    switch (f) {
    case LogFormat::rfc3164: return "rfc3164";
    case LogFormat::rfc5424: return "rfc5424";
    case LogFormat::json: return "json";
    }
    return "rfc3164";
}

ParsedLine parse_line(std::string_view s) {
    ParsedLine p;
    std::size_t i = 0;
    bool first = true;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        if (i >= s.size()) break;
        std::size_t k = i;
        while (k < s.size() && is_key_char(s[k])) ++k;
        if (k > i && k < s.size() && s[k] == '=') {
            std::string key(s.substr(i, k - i));
            std::string value;
            i = k + 1;
            if (i < s.size() && s[i] == '"') {
                ++i;
                while (i < s.size() && s[i] != '"') {
                    if (s[i] == '\\') i = unescape_at(s, i, value);
                    else value.push_back(s[i++]);
                }
                if (i < s.size()) ++i;   // the closing quote
            } else {
                while (i < s.size() && s[i] != ' ') {
                    if (s[i] == '\\') i = unescape_at(s, i, value);
                    else value.push_back(s[i++]);
                }
            }
            p.fields.emplace_back(std::move(key), std::move(value));
        } else {
            const std::size_t end = std::min(s.find(' ', i), s.size());
            const std::string_view word = s.substr(i, end - i);
            if (first) {
                p.id = std::string(word);
            } else {
                if (!p.text.empty()) p.text.push_back(' ');
                p.text.append(word);
            }
            i = end;
        }
        first = false;
    }
    return p;
}

void append_value_text(std::string& out, std::string_view raw) {
    for (std::size_t i = 0; i < raw.size();) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) append_hex_byte(out, c);
            else if (c == '\\') out += "\\\\";
            else out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        const std::size_t n = utf8_printable(raw, i);
        if (n == 0) {
            append_hex_byte(out, c);
            ++i;
        } else {
            out.append(raw.substr(i, n));
            i += n;
        }
    }
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    long frac = static_cast<long>(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[48];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("-");
}

std::string render_rfc5424(const LineContext& c, std::string_view line, std::size_t max) {
    return fit(c, parse_line(line), max, render_5424_once);
}

std::string render_json(const LineContext& c, std::string_view line, std::size_t max) {
    return fit(c, parse_line(line), max, render_json_once);
}

}  // namespace vg::daemon
