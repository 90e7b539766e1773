// SPDX-License-Identifier: GPL-2.0-or-later
// Digest credentials of an Authorization / Proxy-Authorization header value
// (RFC 3261 §22.4 and §25.1 "credentials", RFC 2617 §3.2.2, RFC 7616 §3.4):
//
//   credentials     = "Digest" LWS digest-response
//   digest-response = dig-resp *(COMMA dig-resp)
//   dig-resp        = username / realm / nonce / digest-uri / dresponse /
//                     algorithm / cnonce / opaque / message-qop /
//                     nonce-count / auth-param
//   auth-param      = auth-param-name EQUAL ( token / quoted-string )
//
// The parser is picohttpparser-shaped: a view in, views out, no allocation.
// Quoted values are returned without their quotes and with their escapes
// (quoted-pair, "\x") kept raw; `escaped` says so, and for_each_unescaped()
// walks the value as the sender meant it (the digest is computed over that).
// Hostile input is a status, never a crash: an unterminated quote, a
// parameter without '=', a name that is not a token, a value longer than
// kMaxDigestValue, more than kMaxDigestParams parameters, a known parameter
// given twice, or a missing username/realm/nonce/uri/response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::sip {

inline constexpr std::size_t kMaxDigestValue = 512;   // bytes of one value, escapes included
inline constexpr std::size_t kMaxDigestParams = 32;   // parameters of one header value

struct DigestValue {
    std::string_view raw;     // without quotes; escapes kept
    bool present = false;
    bool quoted = false;
    bool escaped = false;     // raw holds at least one quoted-pair

    // Calls f(char) for every character of the value with its escapes removed.
    template <typename F>
    void for_each_unescaped(F&& f) const {
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (escaped && raw[i] == '\\' && i + 1 < raw.size()) ++i;
            f(raw[i]);
        }
    }
    // The unescaped value copied into out (at most cap bytes); its length,
    // or cap + 1 when it did not fit.
    std::size_t unescape_into(char* out, std::size_t cap) const noexcept;
};

struct DigestCredentials {
    DigestValue username;
    DigestValue username_star;   // RFC 7616 §3.4.4 username* (extended notation)
    DigestValue realm;
    DigestValue nonce;
    DigestValue uri;
    DigestValue response;
    DigestValue algorithm;
    DigestValue cnonce;
    DigestValue opaque;
    DigestValue qop;
    DigestValue nc;
    DigestValue userhash;        // RFC 7616 §3.4.4
    std::size_t params = 0;      // every parameter, auth-params included
};

enum class DigestStatus : std::uint8_t {
    ok,
    not_digest,     // another scheme (Basic, Bearer, ...)
    malformed,      // see DigestResult::error
};

struct DigestResult {
    DigestStatus status = DigestStatus::malformed;
    const char* error = "";    // stable snake_case name when malformed
};

// Parses one header value ("Digest username=..., ..."). `out` is reset first.
DigestResult parse_digest_credentials(std::string_view value, DigestCredentials& out) noexcept;

}  // namespace vg::sip
