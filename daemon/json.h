// SPDX-License-Identifier: GPL-2.0-or-later
// Just enough JSON output for replay's and the control socket's --json:
// string escaping (RFC 8259 §7) and a few append helpers. Strings from packets
// may hold any byte; control characters and invalid UTF-8 bytes are escaped
// as \u00XX so the output is always valid JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace vg::json {

inline void append_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c >= 0x80) {
                // Bytes >= 0x80 are escaped one by one as Latin-1 code points:
                // lossless for ASCII, always valid JSON.
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

inline void append_key(std::string& out, std::string_view key) {
    if (!out.empty() && out.back() != '{' && out.back() != '[') out.push_back(',');
    append_string(out, key);
    out.push_back(':');
}

inline void field(std::string& out, std::string_view key, std::string_view value) {
    append_key(out, key);
    append_string(out, value);
}

inline void field(std::string& out, std::string_view key, std::uint64_t value) {
    append_key(out, key);
    out += std::to_string(value);
}

inline void field_bool(std::string& out, std::string_view key, bool value) {
    append_key(out, key);
    out += value ? "true" : "false";
}

}  // namespace vg::json
