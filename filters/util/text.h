// SPDX-License-Identifier: GPL-2.0-or-later
// Small, allocation-free text helpers shared by the SIP and SDP parsers and the
// policy loader. Everything works on std::string_view and never reads outside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::text {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// SP or HTAB (RFC 3261 §25.1 WSP).
constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 3261 §25.1 token characters: alphanum / "-" / "." / "!" / "%" / "*" /
// "_" / "+" / "`" / "'" / "~".
constexpr bool is_token_char(char c) noexcept {
    if (is_alnum(c)) return true;
    switch (c) {
    case '-': case '.': case '!': case '%': case '*':
    case '_': case '+': case '`': case '\'': case '~':
        return true;
    default:
        return false;
    }
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool starts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Case-insensitive substring search (for User-Agent patterns and the like).
constexpr bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.empty()) return true;
    if (needle.size() > haystack.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (iequals(haystack.substr(i, needle.size()), needle)) return true;
    return false;
}

constexpr std::string_view trim_wsp(std::string_view s) noexcept {
    std::size_t b = 0, e = s.size();
    while (b < e && is_wsp(s[b])) ++b;
    while (e > b && is_wsp(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// Trims SP, HTAB, CR and LF (linear white space, folded lines included).
constexpr std::string_view trim_lws(std::string_view s) noexcept {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t b = 0, e = s.size();
    while (b < e && ws(s[b])) ++b;
    while (e > b && ws(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// Parses an unsigned decimal number made only of digits (no sign, no spaces).
// Leading zeros are allowed (RFC 4475 §3.1.1.1 uses them). Fails on an empty
// string, a non-digit or a value above `max`.
constexpr bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept {
    if (s.empty()) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

template <typename T>
constexpr bool parse_uint_as(std::string_view s, T max, T& out) noexcept {
    std::uint64_t v = 0;
    if (!parse_uint(s, static_cast<std::uint64_t>(max), v)) return false;
    out = static_cast<T>(v);
    return true;
}

}  // namespace vg::text
