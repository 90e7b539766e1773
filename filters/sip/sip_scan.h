// SPDX-License-Identifier: GPL-2.0-or-later
// Scanning primitives shared by sip_parser.cpp and sip_uri.cpp, private to
// filters/sip/:
//  - the character classes of the SIP grammar (RFC 3261 §25.1, RFC 3966 for
//    tel) in one 256-entry table, built at compile time from the predicates
//    below that spell out the ABNF, so a byte is tested with one load and one
//    AND;
//  - searches for a byte, one of two or three, or a CTL (with SSE2, sixteen
//    bytes at a time; elsewhere memchr or a loop, with the same results);
//  - substr without the check, case-insensitive comparison with a lowercase
//    literal, and resetting a result struct without `rep stos`;
//  - the quoted-string scanner and the step of ParamIterator, inline so the
//    URI, Via and name-addr parsers walk their parameters without a call.
#pragma once

#include "filters/sip/sip_uri.h"
#include "filters/util/text.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// For the few helpers on the per-byte and per-header paths that GCC would
// otherwise leave as calls; not in size-optimised (-Os router) builds.
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define VG_SIP_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define VG_SIP_ALWAYS_INLINE inline
#endif

namespace vg::sip::scan {

// mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
constexpr bool is_mark(char c) noexcept {
    switch (c) {
    case '-': case '_': case '.': case '!': case '~': case '*': case '\'': case '(': case ')':
        return true;
    default:
        return false;
    }
}
// unreserved = alphanum / mark
constexpr bool is_unreserved(char c) noexcept { return text::is_alnum(c) || is_mark(c); }

// user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
constexpr bool is_user_unreserved(char c) noexcept {
    switch (c) {
    case '&': case '=': case '+': case '$': case ',': case ';': case '?': case '/':
        return true;
    default:
        return false;
    }
}

// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
constexpr bool is_password_char(char c) noexcept {
    return is_unreserved(c) || c == '&' || c == '=' || c == '+' || c == '$' || c == ',';
}

// Characters allowed in parameter values: token, host (':' '[' ']' for IPv6)
// and the uri-parameter extras "[" "]" "/" ":" "&" "+" "$".
constexpr bool is_param_value_char(char c) noexcept {
    return text::is_token_char(c) || c == ':' || c == '[' || c == ']' || c == '/' || c == '&' || c == '$';
}

// Bytes that can never be inside a URI (SP, CTLs, delimiters of name-addr).
constexpr bool is_uri_forbidden(char c) noexcept {
    const unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"';
}

// Class bits. Combine with `|` to test "any of".
using Classes = std::uint16_t;  // one bit per class
inline constexpr Classes digit = 1u << 0;          // DIGIT
inline constexpr Classes alpha = 1u << 1;          // ALPHA
inline constexpr Classes hex = 1u << 2;            // HEXDIG (either case)
inline constexpr Classes token = 1u << 3;          // token
inline constexpr Classes wsp = 1u << 4;            // SP / HTAB
inline constexpr Classes lws = 1u << 5;            // SP / HTAB / CR / LF (is_lws_char)
inline constexpr Classes user = 1u << 6;           // unreserved / user-unreserved (escapes apart)
inline constexpr Classes password = 1u << 7;       // password characters (escapes apart)
inline constexpr Classes param_value = 1u << 8;    // is_param_value_char
inline constexpr Classes uri_forbidden = 1u << 9;  // is_uri_forbidden
inline constexpr Classes host_name = 1u << 10;     // alphanum / "-" / "." (hostname characters)
inline constexpr Classes ipv6_ref = 1u << 11;      // HEXDIG / ":" / "." (inside "[...]")
inline constexpr Classes scheme = 1u << 12;        // alphanum / "+" / "-" / "." (RFC 3986 §3.1)
inline constexpr Classes tel_user = 1u << 13;      // what a tel number may contain here
inline constexpr Classes call_id_bad = 1u << 14;   // CTL, SP, DEL: never in a callid
inline constexpr Classes alnum = digit | alpha;

struct Table {
    Classes bits[256] = {};
};

constexpr Table make_table() noexcept {
    Table t;
    for (int i = 0; i < 256; ++i) {
        const char c = static_cast<char>(i);
        const unsigned char u = static_cast<unsigned char>(i);
        Classes b = 0;
        if (text::is_digit(c)) b |= digit;
        if (text::is_alpha(c)) b |= alpha;
        if (text::is_hex(c)) b |= hex;
        if (text::is_token_char(c)) b |= token;
        if (text::is_wsp(c)) b |= wsp;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') b |= lws;
        if (is_unreserved(c) || is_user_unreserved(c)) b |= user;
        if (is_password_char(c)) b |= password;
        if (is_param_value_char(c)) b |= param_value;
        if (is_uri_forbidden(c)) b |= uri_forbidden;
        if (text::is_alnum(c) || c == '-' || c == '.') b |= host_name;
        if (text::is_hex(c) || c == ':' || c == '.') b |= ipv6_ref;
        if (text::is_alnum(c) || c == '+' || c == '-' || c == '.') b |= scheme;
        if (text::is_hex(c) || c == '+' || c == '-' || c == '.' || c == '(' || c == ')' || c == '*' || c == '#' ||
            c == '%')
            b |= tel_user;
        if (u <= 0x20 || u == 0x7f) b |= call_id_bad;
        t.bits[i] = b;
    }
    return t;
}

inline constexpr Table kTable = make_table();

constexpr Classes classes(char c) noexcept { return kTable.bits[static_cast<unsigned char>(c)]; }
constexpr bool is(char c, Classes mask) noexcept { return (classes(c) & mask) != 0; }

// s.substr(pos, n) and s.substr(pos) for positions the caller has already
// checked (pos <= pos + n <= s.size()), without substr's check.
constexpr std::string_view slice(std::string_view s, std::size_t pos, std::size_t n) noexcept {
    return std::string_view(s.data() + pos, n);
}
constexpr std::string_view tail(std::string_view s, std::size_t pos) noexcept {
    return std::string_view(s.data() + pos, s.size() - pos);
}

// Index of the first byte at or after `i` that is in none of `mask`'s classes
// (s.size() if there is none).
constexpr std::size_t skip(std::string_view s, std::size_t i, Classes mask) noexcept {
    while (i < s.size() && is(s[i], mask)) ++i;
    return i;
}

// skip() unrolled by four, for runs that are usually long (parameter values,
// header names).
constexpr std::size_t skip_long(std::string_view s, std::size_t i, Classes mask) noexcept {
    const char* const p = s.data();
    const std::size_t n = s.size();
    for (; i + 4 <= n; i += 4) {
        if (!is(p[i], mask)) return i;
        if (!is(p[i + 1], mask)) return i + 1;
        if (!is(p[i + 2], mask)) return i + 2;
        if (!is(p[i + 3], mask)) return i + 3;
    }
    while (i < n && is(p[i], mask)) ++i;
    return i;
}

// Index of the first byte at or after `i` that is in one of `mask`'s classes
// (s.size() if there is none).
constexpr std::size_t skip_until(std::string_view s, std::size_t i, Classes mask) noexcept {
    while (i < s.size() && !is(s[i], mask)) ++i;
    return i;
}

// ---------------------------------------------------------------------------
// Index of the first byte at or after `i` that is a given one (one of two,
// of three), s.size() if there is none: line ends, list separators. With SSE2
// (every x86-64) sixteen bytes are compared at a time; the rest, and other
// CPUs, use memchr or a plain loop. Both give the same answer.

#if defined(__SSE2__)
namespace detail {
// Bit k set when byte k of the 16 at p is in the set `v`s describe.
inline unsigned match16(const char* p, __m128i a, __m128i b) noexcept {
    __m128i x;
    std::memcpy(&x, p, sizeof x);  // unaligned load
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, a), _mm_cmpeq_epi8(x, b))));
}
inline unsigned match16(const char* p, __m128i a, __m128i b, __m128i c) noexcept {
    __m128i x;
    std::memcpy(&x, p, sizeof x);
    const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, a), _mm_cmpeq_epi8(x, b)), _mm_cmpeq_epi8(x, c));
    return static_cast<unsigned>(_mm_movemask_epi8(m));
}
inline std::size_t first_bit(unsigned m) noexcept { return static_cast<std::size_t>(__builtin_ctz(m)); }
}  // namespace detail
#endif

// The first `c` at or after `i` (s.size() if there is none).
inline std::size_t find_char(std::string_view s, std::size_t i, char c) noexcept {
    const std::size_t n = s.size();
    if (i >= n) return n;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i vc = _mm_set1_epi8(c);
        auto match = [&](const char* p) {
            __m128i x;
            std::memcpy(&x, p, sizeof x);
            return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, vc)));
        };
        const std::size_t last = n - 16;
        for (; i <= last; i += 16)
            if (const unsigned m = match(s.data() + i)) return i + detail::first_bit(m);
        if (i < n)
            if (const unsigned m = match(s.data() + last) >> (i - last)) return i + detail::first_bit(m);
        return n;
    }
#endif
    const void* const p = std::memchr(s.data() + i, c, n - i);
    return p == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(p) - s.data());
}

inline std::size_t find_either(std::string_view s, std::size_t i, char a, char b) noexcept {
    const std::size_t n = s.size();
    if (i >= n) return n;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
        const std::size_t last = n - 16;
        for (; i <= last; i += 16)
            if (const unsigned m = detail::match16(s.data() + i, va, vb)) return i + detail::first_bit(m);
        // The last bytes: the final sixteen of `s`, without those before i.
        if (i < n)
            if (const unsigned m = detail::match16(s.data() + last, va, vb) >> (i - last))
                return i + detail::first_bit(m);
        return n;
    }
    while (i < n && s[i] != a && s[i] != b) ++i;
    return i;
#else
    // The first `a`, then the first `b` before it.
    const char* const p = s.data();
    const void* const pa = std::memchr(p + i, a, n - i);
    const std::size_t ja = pa == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(pa) - p);
    const void* const pb = std::memchr(p + i, b, ja - i);
    return pb == nullptr ? ja : static_cast<std::size_t>(static_cast<const char*>(pb) - p);
#endif
}

inline std::size_t find_any_of3(std::string_view s, std::size_t i, char a, char b, char c) noexcept {
    const std::size_t n = s.size();
    if (i >= n) return n;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
        const std::size_t last = n - 16;
        for (; i <= last; i += 16)
            if (const unsigned m = detail::match16(s.data() + i, va, vb, vc)) return i + detail::first_bit(m);
        if (i < n)
            if (const unsigned m = detail::match16(s.data() + last, va, vb, vc) >> (i - last))
                return i + detail::first_bit(m);
        return n;
    }
#endif
    while (i < n && s[i] != a && s[i] != b && s[i] != c) ++i;
    return i;
}

// text::iequals(s, lower) for a literal `lower` written in lower case: a
// letter matches itself in either case ((c | 0x20) is then that lowercase
// letter, and only then), anything else only itself.
constexpr bool iequals_lower(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char l = lower[i];
        const char c = (l >= 'a' && l <= 'z') ? static_cast<char>(s[i] | 0x20) : s[i];
        if (c != l) return false;
    }
    return true;
}

// Index of the first CTL, SP or DEL byte (<= 0x20 or 0x7f: class
// call_id_bad) at or after `i`, s.size() if there is none.
inline std::size_t find_ctl(std::string_view s, std::size_t i) noexcept {
#if defined(__SSE2__)
    const std::size_t n = s.size();
    if (i < n && n >= 16) {
        const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
        auto match = [&](const char* p) {
            __m128i x;
            std::memcpy(&x, p, sizeof x);
            const __m128i le_sp = _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x);  // unsigned x <= 0x20
            return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(le_sp, _mm_cmpeq_epi8(x, del))));
        };
        const std::size_t last = n - 16;
        for (; i <= last; i += 16)
            if (const unsigned m = match(s.data() + i)) return i + detail::first_bit(m);
        if (i < n)
            if (const unsigned m = match(s.data() + last) >> (i - last)) return i + detail::first_bit(m);
        return n;
    }
#endif
    return skip_until(s, i, call_id_bad);
}

// Sets `x` to its default value by copying a constant default object. (GCC
// clears these 150-250 byte structs with `rep stos` otherwise, whose start-up
// cost is as large as the rest of parsing a URI.)
template <typename T>
void reset_to_default(T& x) noexcept {
    static constexpr T kDefault{};
    x = kDefault;
}

// LWS-trimmed view (same result as text::trim_lws).
constexpr std::string_view trim_lws(std::string_view s) noexcept {
    std::size_t b = 0, e = s.size();
    while (b < e && is(s[b], lws)) ++b;
    while (e > b && is(s[e - 1], lws)) --e;
    return slice(s, b, e - b);
}

// ---------------------------------------------------------------------------

// Quoted string starting at s[i] == '"' (RFC 3261 §25.1 quoted-string with
// quoted-pair). Returns the index just past the closing quote, or 0 if it is
// unterminated or a quoted-pair escapes CR/LF.
inline std::size_t quoted_end(std::string_view s, std::size_t i) noexcept {
    ++i;  // opening quote
    while (true) {
        i = find_either(s, i, '"', '\\');
        if (i >= s.size()) return 0;
        if (s[i] == '"') return i + 1;
        // quoted-pair: a backslash and any byte but CR and LF.
        if (s.size() - i < 2) return 0;
        if (s[i + 1] == '\r' || s[i + 1] == '\n') return 0;
        i += 2;
    }
}

// One step of ParamIterator (its state passed in): *( SEMI generic-param ),
// generic-param = token [ EQUAL gen-value ], gen-value = token / host /
// quoted-string (RFC 3261 §25.1), LWS allowed around ';' and '='.
VG_SIP_ALWAYS_INLINE bool next_param(std::string_view s, std::size_t& pos, bool leading_semicolon,
                                                      bool& first, bool& error, Param& p) noexcept {
    if (error) return false;
    std::size_t i = skip(s, pos, lws);
    if (i >= s.size()) {
        pos = i;
        return false;
    }
    if (first && !leading_semicolon) {
        first = false;
    } else {
        first = false;
        if (s[i] != ';') {
            error = true;
            return false;
        }
        i = skip(s, i + 1, lws);
    }
    const std::size_t nb = i;
    i = skip_long(s, i, token);
    if (i == nb) {
        error = true;
        return false;
    }
    p.name = std::string_view(s.data() + nb, i - nb);
    p.value = {};
    p.has_value = false;
    std::size_t j = skip(s, i, lws);
    if (j < s.size() && s[j] == '=') {
        j = skip(s, j + 1, lws);
        const std::size_t vb = j;
        if (j < s.size() && s[j] == '"') {
            const std::size_t e = quoted_end(s, j);
            if (e == 0) {
                error = true;
                return false;
            }
            j = e;
        } else {
            // token / host / escaped: '%' is a token character, so the escapes
            // of a uri-parameter value are covered too.
            j = skip_long(s, j, param_value);
        }
        if (j == vb) {
            error = true;
            return false;
        }
        p.value = std::string_view(s.data() + vb, j - vb);
        p.has_value = true;
        i = j;
    }
    pos = i;
    return true;
}

// ParamIterator with next_param inlined.
class Params {
public:
    explicit Params(std::string_view params, bool leading_semicolon = true) noexcept
        : s_(params), leading_semicolon_(leading_semicolon) {}
    bool next(Param& p) noexcept { return next_param(s_, pos_, leading_semicolon_, first_, error_, p); }
    bool error() const noexcept { return error_; }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
    bool leading_semicolon_ = true;
    bool first_ = true;
    bool error_ = false;
};

}  // namespace vg::sip::scan
