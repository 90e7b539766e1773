// SPDX-License-Identifier: GPL-2.0-or-later
// ICMP and ICMPv6 towards the handsets, as the router's connection tracking
// sees it: an error (destination unreachable, time exceeded, packet too big,
// parameter problem) carries the head of the packet it is about, and is
// "related" to that packet's flow; anything else (an echo request: a PBX's
// ping) is a flow of its own. The engine reads the embedded header so that
// it can let an error about a handset's own flow through, as the kernel's
// ESTABLISHED/RELATED rule does (RFC 792, RFC 4443 §2.4 (c): an error quotes
// as much of the invoking packet as fits; only its IP header and the first
// 8 bytes of its transport header are read here).
#pragma once

#include <cstdint>

#include "filters/net/packet.h"

namespace vg::engine {

struct IcmpInfo {
    enum class Kind : std::uint8_t {
        other,          // echo reply, router advertisement, ...
        echo_request,   // a ping
        error,          // about the packet quoted in `quoted`
    };
    Kind kind = Kind::other;
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    // An error's quoted packet, as it travelled (has_ports for UDP and TCP).
    net::FiveTuple quoted;
    bool has_ports = false;
};

// Reads an ICMP (IPv4) or ICMPv6 (IPv6) packet decoded by net::decode_ip.
// False when it is neither, or an error whose quoted packet cannot be read
// (no IP header of the packet's own family, addresses cut short).
bool read_icmp(const net::DecodedPacket& p, IcmpInfo& out) noexcept;

}  // namespace vg::engine
