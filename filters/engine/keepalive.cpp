// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/keepalive.h"

#include "filters/net/byte_reader.h"
#include "filters/sip/sip_parser.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

bool is_alnum(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Comprehension-required attributes (0x0000-0x7FFF) a Binding request or
// response may carry: RFC 8489 §18.3 and the ones of RFC 5780 and RFC 8445
// (ICE) a keep-alive server may add. An unknown comprehension-required
// attribute would make the receiver answer 420 (RFC 8489 §7.3.1): no
// keep-alive has one, so it is refused. Comprehension-optional attributes
// (0x8000-0xFFFF: SOFTWARE, FINGERPRINT, RESPONSE-ORIGIN, ...) may be ignored
// by the receiver and pass within the size bound.
bool known_required_attribute(std::uint16_t type) noexcept {
    switch (type) {
    case 0x0001:   // MAPPED-ADDRESS
    case 0x0003:   // CHANGE-REQUEST (RFC 5780)
    case 0x0006:   // USERNAME
    case 0x0008:   // MESSAGE-INTEGRITY
    case 0x0009:   // ERROR-CODE
    case 0x000A:   // UNKNOWN-ATTRIBUTES
    case 0x0014:   // REALM
    case 0x0015:   // NONCE
    case 0x001C:   // MESSAGE-INTEGRITY-SHA256
    case 0x001D:   // PASSWORD-ALGORITHM
    case 0x001E:   // USERHASH
    case 0x0020:   // XOR-MAPPED-ADDRESS
    case 0x0024:   // PRIORITY (ICE)
    case 0x0025:   // USE-CANDIDATE (ICE)
    case 0x0026:   // PADDING (RFC 5780)
    case 0x0027:   // RESPONSE-PORT (RFC 5780)
        return true;
    default:
        return false;
    }
}

}  // namespace

std::string_view keepalive_kind_name(KeepaliveKind k) noexcept {
    switch (k) {
    case KeepaliveKind::none: return "none";
    case KeepaliveKind::empty: return "empty";
    case KeepaliveKind::crlf: return "crlf";
    case KeepaliveKind::spaces: return "spaces";
    case KeepaliveKind::token: return "token";
    case KeepaliveKind::zeros: return "zeros";
    case KeepaliveKind::stun: return "stun";
    case KeepaliveKind::count_: break;
    }
    return "unknown";
}

// RFC 8489 §5: 2 bits 0, 14 bits type, 16 bits length (of what follows the
// 20-byte header, a multiple of 4), the magic cookie, 96 bits of transaction
// id; §14: attributes are type, length, value padded to 4 bytes.
bool is_stun_binding(std::string_view payload) noexcept {
    if (payload.size() < 20 || payload.size() > kMaxStunBytes) return false;
    net::ByteReader r(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    std::uint16_t type = 0, length = 0;
    std::uint32_t cookie = 0;
    if (!r.u16(type) || !r.u16(length) || !r.u32(cookie) || !r.skip(12)) return false;
    if (type != kStunBindingRequest && type != kStunBindingSuccess && type != kStunBindingError) return false;
    if (cookie != kStunMagicCookie) return false;
    if (length % 4 != 0 || length != r.remaining()) return false;
    while (r.remaining() > 0) {
        std::uint16_t at = 0, al = 0;
        if (!r.u16(at) || !r.u16(al)) return false;
        if (at < 0x8000 && !known_required_attribute(at)) return false;
        const std::size_t padded = (static_cast<std::size_t>(al) + 3) & ~std::size_t{3};
        if (!r.skip(padded)) return false;
    }
    return true;
}

KeepaliveKind classify_keepalive(std::string_view s) noexcept {
    if (s.empty()) return KeepaliveKind::empty;
    if (is_stun_binding(s)) return KeepaliveKind::stun;
    if (s.size() > kMaxFillerBytes) return KeepaliveKind::none;

    bool crlf_only = true, white = true, zeros = true;
    for (char c : s) {
        if (c != '\r' && c != '\n') crlf_only = false;
        if (c != '\r' && c != '\n' && c != ' ' && c != '\t') white = false;
        if (c != '\0') zeros = false;
    }
    if (crlf_only) return KeepaliveKind::crlf;
    if (white) return KeepaliveKind::spaces;
    if (zeros) return KeepaliveKind::zeros;

    // A token, then nothing but NULs.
    std::size_t t = 0;
    while (t < s.size() && is_alnum(s[t])) ++t;
    if (t == 0 || t > kMaxTokenBytes) return KeepaliveKind::none;
    for (std::size_t i = t; i < s.size(); ++i)
        if (s[i] != '\0') return KeepaliveKind::none;
    // A method name or "SIP..." alone starts like SIP: the parser judges it
    // (and finds it broken), it is never a keep-alive.
    const std::string_view token = s.substr(0, t);
    if (sip::method_from_token_ignore_case(token) != sip::Method::unknown) return KeepaliveKind::none;
    if (text::istarts_with(token, "sip")) return KeepaliveKind::none;
    return KeepaliveKind::token;
}

}  // namespace vg::engine
