// SPDX-License-Identifier: GPL-2.0-or-later
// SIP/SIPS/TEL URI and name-addr parsing, parameter and list iterators, and
// the LWS helpers for folded header values. Allocation-free: every result is a
// view into the input; unescaping writes into a caller buffer.
#pragma once

#include "filters/sip/sip_message.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::sip {

// ---------------------------------------------------------------------------
// Linear white space inside header values (RFC 3261 §7.3.1, §25.1 LWS).
// Header values handed out by the parser never contain a CR or LF that is not
// part of a fold (CRLF followed by SP/HT), so CR and LF count as white space.
constexpr bool is_lws_char(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Compares a (possibly folded) value with `plain`: every run of LWS on either
// side matches every other run of LWS; leading/trailing LWS is ignored.
// Case-sensitive unless `ignore_case`.
bool lws_equals(std::string_view folded, std::string_view plain, bool ignore_case = false) noexcept;

// Copies `value` into `out` with every LWS run replaced by one SP and the ends
// trimmed. Returns the length written, or `cap + 1` if it did not fit (then the
// first `cap` bytes are written).
std::size_t copy_unfolded(std::string_view value, char* out, std::size_t cap) noexcept;

// ---------------------------------------------------------------------------
// Comma-separated header values (RFC 3261 §7.3.1: a header whose grammar is a
// comma list may be split over several lines and several values per line).
// Commas inside quoted strings (with \-escapes) and inside <...> do not split.
// Each element is LWS-trimmed. Stops cleanly at the end or at an unterminated
// quoted string / '<' (then error() is true and the last element runs to the end).
class CommaIterator {
public:
    explicit CommaIterator(std::string_view value) noexcept : s_(value) {}
    bool next(std::string_view& element) noexcept;
    bool error() const noexcept { return error_; }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
    bool done_ = false;
    bool error_ = false;
};

// ---------------------------------------------------------------------------
// Parameters: *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
// gen-value = token / host / quoted-string (RFC 3261 §25.1; uri-parameter of
// §19.1.1 is the same shape without LWS). The input starts at the first ';'
// (LWS before it is skipped) unless `leading_semicolon` is false, for lists
// like Uri::params that start at the first name. Values keep their quotes. Stops at the first
// byte that does not fit: error() then says so.
struct Param {
    std::string_view name;
    std::string_view value;   // empty when there is no '='
    bool has_value = false;
};

class ParamIterator {
public:
    explicit ParamIterator(std::string_view params, bool leading_semicolon = true) noexcept
        : s_(params), leading_semicolon_(leading_semicolon) {}
    bool next(Param& p) noexcept;
    bool error() const noexcept { return error_; }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
    bool leading_semicolon_ = true;
    bool first_ = true;
    bool error_ = false;
};

// Finds parameter `name` (case-insensitive) in a ';'-list as above. `params`
// may start with or without the leading ';'. False if absent or the list is bad
// before reaching it.
bool find_param(std::string_view params, std::string_view name, Param& out) noexcept;

// ---------------------------------------------------------------------------
// host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1). Scans from
// s[0]; returns the host length (0 if there is none) and its type. IPv6
// references are checked for shape only (hex digits, ':' and '.'): RFC 5118
// §4.10 asks to tolerate the "2001:db8:::192.0.2.1" form the RFC 3261 ABNF bug
// produced, so use net::IpAddress::parse when the exact address matters.
std::size_t scan_host(std::string_view s, HostType& type) noexcept;

// Parses "1*DIGIT" up to 65535.
bool parse_port(std::string_view s, std::uint16_t& port) noexcept;

// ---------------------------------------------------------------------------
// Parses a whole URI (no surrounding LWS). sip/sips per RFC 3261 §19.1.1,
// tel per RFC 3966 (number in `user`), any other scheme as scheme ":" opaque.
// Returns out.valid.
bool parse_uri(std::string_view text, Uri& out) noexcept;

// Parses name-addr / addr-spec followed by header parameters (RFC 3261 §20.10:
// without <>, ';' starts header parameters, and the URI may contain neither
// ',' nor '?'). Fills tag. Returns out.valid.
bool parse_name_addr(std::string_view value, NameAddr& out) noexcept;

// ---------------------------------------------------------------------------
// %HH unescaping (RFC 3261 §19.1.2 / RFC 3986 §2.1) into a caller buffer, for
// example the dialled number of "sip:%2B4420...@pbx". Fails on a malformed
// escape or when `cap` is too small. %00 decodes to a NUL byte: `had_nul`
// tells the caller (RFC 4475 §3.1.1.4), who will usually refuse such a value.
struct UnescapeResult {
    bool ok = false;
    std::size_t length = 0;
    bool had_nul = false;
};
UnescapeResult uri_unescape(std::string_view in, char* out, std::size_t cap) noexcept;

}  // namespace vg::sip
