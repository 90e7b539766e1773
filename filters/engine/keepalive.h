// SPDX-License-Identifier: GPL-2.0-or-later
// NAT keep-alives on the SIP port: datagrams that are not SIP messages but
// that handsets and PBXs send on their signalling flow so that the NAT
// binding (and with it inbound calls) stays alive. Seen from deployed
// devices:
//   - CRLF and double CRLF (RFC 5626 §3.5.1: CRLFCRLF ping, CRLF pong),
//   - a run of spaces (softphones),
//   - a short token, optionally NUL-padded ("jaK\0" from eXosip2-based phones
//     such as Linphone every 10 s, "hello" from a softswitch),
//   - zero bytes (four, both ways, from OnSIP and doubango),
//   - a STUN Binding request on the SIP flow and its response (RFC 5626
//     §4.4.2; RFC 8489 §5 framing, §6 magic cookie).
// Anything else is not a keep-alive; a datagram that starts like SIP is
// never one (the parser judges it, broken or not).
//
// A keep-alive passes the firewall only between a handset and its PBX, so it
// must not become a way to carry something else to a handset: every kind is
// bounded in size and in content. The filler kinds are at most
// kMaxFillerBytes of a fixed alphabet; a STUN message is a Binding request or
// response (no indication, no other method), at most kMaxStunBytes, with
// its length field equal to what follows the header and every attribute
// laid out exactly up to the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::engine {

enum class KeepaliveKind : std::uint8_t {
    none,     // not a keep-alive
    empty,    // a datagram with no payload
    crlf,     // CR and LF only
    spaces,   // white space (SP, HT, CR, LF) with at least one SP or HT
    token,    // 1..kMaxTokenBytes letters and digits, then NULs
    zeros,    // NUL bytes only
    stun,     // a STUN Binding request or response
    count_
};
constexpr std::size_t kKeepaliveKindCount = static_cast<std::size_t>(KeepaliveKind::count_);

// Stable names ("crlf", "stun", ...) for counters and tests.
std::string_view keepalive_kind_name(KeepaliveKind k) noexcept;

constexpr std::size_t kMaxFillerBytes = 32;   // CRLF, spaces, token + NULs, zeros
constexpr std::size_t kMaxTokenBytes = 16;    // the token before its NUL padding
constexpr std::size_t kMaxStunBytes = 256;    // header (20) + attributes

// STUN Binding (RFC 8489 §5: type = class bits C1 C0 spread over the method
// bits; Binding is method 0x001).
constexpr std::uint16_t kStunBindingRequest = 0x0001;
constexpr std::uint16_t kStunBindingSuccess = 0x0101;
constexpr std::uint16_t kStunBindingError = 0x0111;
constexpr std::uint32_t kStunMagicCookie = 0x2112A442;

// What a UDP payload on the SIP flow is, as a keep-alive.
KeepaliveKind classify_keepalive(std::string_view payload) noexcept;

// True when the payload is the STUN framing of a Binding request or
// response that classify_keepalive() accepts (exposed for tests).
bool is_stun_binding(std::string_view payload) noexcept;

}  // namespace vg::engine
