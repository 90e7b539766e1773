// SPDX-License-Identifier: GPL-2.0-or-later
// Escaping, quoting and masking of log field values (see log_format.h).
#include "daemon/log_format.h"

#include <vector>

#include "config/policy.h"

namespace vg::daemon {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool needs_quotes(std::string_view v) noexcept {
    if (v.empty()) return true;
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=') return true;
    }
    return false;
}

// Characters that end the user info of a URI when scanning back from '@':
// none of them can be part of a user name or password (RFC 3261 §25.1,
// RFC 3986 §3.2.1), and they delimit URIs in header values and free text.
bool ends_userinfo(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return true;
    switch (c) {
    case '<': case '>': case '"': case '\'': case '@': case '/': case '\\':
    case '[': case ']': case '(': case ')': case '{': case '}': case '|':
        return true;
    default:
        return false;
    }
}

bool is_uri_scheme(std::string_view s) noexcept {
    static constexpr std::string_view kSchemes[] = {"sip", "sips", "tel", "pres", "im", "mailto",
                                                    "http", "https", "ws", "wss", "urn"};
    if (s.empty() || s.size() > 6) return false;
    char lower[8] = {};
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view l(lower, s.size());
    for (std::string_view k : kSchemes) {
        if (k == l) return true;
    }
    return false;
}

}  // namespace

void append_escaped(std::string& out, std::string_view v) {
    for (char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else {
            out.push_back(ch);
        }
    }
}

std::string escape_text(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    append_escaped(out, v);
    return out;
}

void append_value(std::string& out, std::string_view v) {
    const bool quote = needs_quotes(v);
    if (quote) out.push_back('"');
    append_escaped(out, v);
    if (quote) out.push_back('"');
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out.push_back(' ');
    out += key;
    out.push_back('=');
    append_value(out, value);
}

void append_field(std::string& out, std::string_view key, std::uint64_t value) {
    out.push_back(' ');
    out += key;
    out.push_back('=');
    out += std::to_string(value);
}

void append_key(std::string& out, std::string_view name) {
    for (char c : name) out.push_back(ends_userinfo(c) || c == '=' ? '_' : c);
}

std::string mask_secrets(std::string_view text) {
    std::string out;
    std::size_t copied = 0;   // text[0, copied) is in `out`
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        // The password: back from '@' to the nearest ':' within the user info.
        std::size_t colon = at;
        while (colon > copied && text[colon - 1] != ':' && !ends_userinfo(text[colon - 1])) --colon;
        if (colon <= copied || text[colon - 1] != ':') continue;
        const std::size_t pw_begin = colon;      // first byte of the password
        const std::size_t sep = colon - 1;       // the ':' before it
        // The user: back from that ':' to a ':' (after a scheme) or a delimiter.
        std::size_t user = sep;
        while (user > copied && text[user - 1] != ':' && !ends_userinfo(text[user - 1])) --user;
        const bool after_scheme = user > copied && text[user - 1] == ':';
        // "sip:alice@pbx": the ':' belongs to the scheme, there is no password.
        if (!after_scheme && is_uri_scheme(text.substr(user, sep - user))) continue;
        if (pw_begin == at) continue;   // "alice:@pbx": empty password
        out.append(text.substr(copied, pw_begin - copied));
        out += "***";
        copied = at;
    }
    out.append(text.substr(copied));
    return out;
}

NumberMask number_mask_of(const config::Policy& policy) {
    NumberMask m;
    m.enabled = policy.logging.mask_numbers;
    m.keep_start = policy.logging.mask_keep_start;
    m.keep_end = policy.logging.mask_keep_end;
    return m;
}

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Masks the digits of text[begin, end) in place in `out` (which holds text
// at the same offsets).
void mask_range(std::string& out, std::size_t begin, std::size_t end, const NumberMask& m) {
    std::size_t digits = 0;
    for (std::size_t i = begin; i < end; ++i) digits += is_digit(out[i]);
    if (digits <= static_cast<std::size_t>(m.keep_start) + m.keep_end) return;
    std::size_t n = 0;
    for (std::size_t i = begin; i < end; ++i) {
        if (!is_digit(out[i])) continue;
        if (n >= m.keep_start && n < digits - m.keep_end) out[i] = 'x';
        ++n;
    }
}

bool starts_with_nocase(std::string_view s, std::size_t at, std::string_view prefix) noexcept {
    if (s.size() - at < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[at + i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool in_number_run(char c) noexcept {
    return is_digit(c) || c == '+' || c == '*' || c == '#' || c == '-' || c == '(' || c == ')';
}

}  // namespace

std::string mask_number(std::string_view number, const NumberMask& mask) {
    std::string out(number);
    if (mask.enabled) mask_range(out, 0, out.size(), mask);
    return out;
}

std::string mask_numbers_in_text(std::string_view text, const NumberMask& mask) {
    std::string out(text);
    if (!mask.enabled) return out;
    std::vector<bool> done(text.size(), false);
    auto mask_part = [&](std::size_t begin, std::size_t end) {
        mask_range(out, begin, end, mask);
        for (std::size_t i = begin; i < end; ++i) done[i] = true;
    };
    // User info: back from each '@' to a delimiter, past a URI scheme.
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        std::size_t b = at;
        while (b > 0 && !ends_userinfo(text[b - 1]) && text[b - 1] != ';' && text[b - 1] != ',' &&
               text[b - 1] != '=')
            --b;
        for (std::string_view scheme : {"sips:", "sip:", "tel:"})
            if (starts_with_nocase(text, b, scheme)) {
                b += scheme.size();
                break;
            }
        mask_part(b, at);
    }
    // tel: URIs have no '@': the number runs to a parameter or the end.
    for (std::size_t i = 0; i + 4 <= text.size(); ++i) {
        if (!starts_with_nocase(text, i, "tel:") || (i > 0 && !ends_userinfo(text[i - 1]) && text[i - 1] != ';' &&
                                                     text[i - 1] != ',' && text[i - 1] != '=' && text[i - 1] != ':'))
            continue;
        std::size_t e = i + 4;
        while (e < text.size() && !ends_userinfo(text[e]) && text[e] != ';' && text[e] != ',' && text[e] != '?') ++e;
        mask_part(i + 4, e);
    }
    // Anything else that looks like a telephone number.
    for (std::size_t i = 0; i < text.size();) {
        if (done[i] || !in_number_run(text[i])) {
            ++i;
            continue;
        }
        std::size_t e = i, digits = 0;
        while (e < text.size() && !done[e] && in_number_run(text[e])) digits += is_digit(text[e++]);
        if (digits >= 7) mask_range(out, i, e, mask);
        i = e;
    }
    return out;
}

}  // namespace vg::daemon
