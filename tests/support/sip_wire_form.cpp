// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/sip_wire_form.h"

#include <cctype>

namespace vg::test {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string sip_wire_form(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 16 + 4);
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
        out += message[i];
    }

    std::size_t head_end = out.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
        out += "\r\n";
        head_end = out.size() - 4;
    }
    const std::string length = std::to_string(out.size() - (head_end + 4));

    // Header lines of the head (the start line has no ':' before its first
    // space and is never a Content-Length); folded continuation lines start
    // with white space and are skipped.
    std::string result;
    result.reserve(out.size() + 8);
    std::size_t line = 0;
    while (line < head_end + 2) {
        const std::size_t eol = out.find("\r\n", line);
        std::string_view text(out.data() + line, eol - line);
        const std::size_t colon = text.find(':');
        bool rewritten = false;
        if (line != 0 && colon != std::string_view::npos && !text.empty() && !is_wsp(text[0])) {
            std::string_view name = text.substr(0, colon);
            while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
            if (iequals(name, "Content-Length") || iequals(name, "l")) {
                std::size_t v = colon + 1;
                while (v < text.size() && is_wsp(text[v])) ++v;
                std::size_t end = v;
                while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
                result.append(text.substr(0, v));
                result += length;
                result.append(text.substr(end));
                rewritten = true;
            }
        }
        if (!rewritten) result.append(text);
        result += "\r\n";
        line = eol + 2;
    }
    result.append(out, head_end + 2, std::string::npos);
    return result;
}

}  // namespace vg::test
