// SPDX-License-Identifier: GPL-2.0-or-later
// What the engine needs to know about SIP content beyond the parser: is a
// payload SIP at all (whatever its port), which dial string a URI carries,
// and how the engine parses (its limits).
#pragma once

#include <cstdint>
#include <string_view>

#include "config/policy.h"
#include "filters/sip/sip_message.h"
#include "filters/sip/sip_parser.h"

namespace vg::engine {

// Is this the start of a SIP message, whatever the port? Hijacked handsets
// register with rogue servers on any port, and a server skips leading
// whitespace (RFC 3261 §7.5) and reads the version ignoring case (§7.1). SIP
// inside a WebSocket (RFC 7118) counts: the upgrade asks for the "sip"
// subprotocol. `whole`: a datagram (all there is); else the start of a TCP
// stream, which may not yet hold a whole line (undecided while it could still
// become one).
enum class StartKind : std::uint8_t { sip, other, undecided };
StartKind classify_start(std::string_view payload, bool whole) noexcept;

// The message carries an SDP body.
bool looks_like_sdp(const sip::SipMessage& m) noexcept;

// The bytes of a parsed message, start line to end of body.
std::string_view message_bytes(const sip::SipMessage& m) noexcept;

// The dial string of a URI: the user part of sip/sips, the number of tel.
std::string_view uri_target(const sip::Uri& u) noexcept;

// The dial string a lenient SIP stack still finds in a name-addr or URI the
// parser refused (libosip2 takes much that RFC 3261's grammar does not): the
// URI inside '<' '>' when there is a '<', then for sip/sips (any case) the
// user part up to the first '@' and, within it, the first ':' (empty without
// an '@': a host alone); for tel the number up to the first ';'. The text as
// written when it names neither scheme.
std::string_view lenient_target(std::string_view raw) noexcept;

// The dial string of a name-addr: uri_target() when its URI parsed,
// lenient_target() of the text otherwise.
std::string_view dial_target(const sip::NameAddr& na) noexcept;

// How the engine parses: the policy's limits, and methods read as a PBX
// reads them (ignoring case, see sip_parser.h).
sip::Limits sip_limits(const config::Policy& pol) noexcept;

}  // namespace vg::engine
