// SPDX-License-Identifier: GPL-2.0-or-later
// Request-URIs whose host is an IPv6 address without brackets
// ("INVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0"), as some
// phones write them. RFC 3261 §25.1 (and RFC 5118 §4.2) require
// "[...]" around an IPv6 host, and the parser refuses the request line
// (bad_request_uri). Dropping such a message drops the phone's call,
// although nothing the firewall judges depends on the host: the dial string
// is the user part, delimited by the '@' whatever the host looks like.
//
// So when the host reads as an IPv6 address in exactly one way, the engine
// reads the message with the brackets put in and judges it like any other
// (the toll-fraud guard, call state); the rest of the message must still
// parse. A host that reads two ways (a compressed address whose last group
// could be a port: "fe80::1:5060") or none stays malformed: the firewall
// cannot know what the PBX will make of it, so it fails closed.
#pragma once

#include <string>
#include <string_view>

namespace vg::engine {

// When the request line of `message` has a sip/sips Request-URI whose host
// is an unbracketed IPv6 address with one reading (with or without a port),
// writes the message with that host in brackets to `out` and returns true.
// Otherwise returns false and leaves `out` as it was.
bool bracket_ipv6_request_uri(std::string_view message, std::string& out);

}  // namespace vg::engine
