// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay --map CAPTURE_CIDR=POLICY_CIDR`: replays a capture taken
// at one place against the real policy of another, by moving the capture's
// addresses onto the policy's, prefix by prefix, host bits kept (as
// iptables' NETMAP does): with 192.168.57.0/24=192.168.20.0/24 the phone
// 192.168.57.101 becomes 192.168.20.101. Both sides of a mapping have the
// same family and prefix length. An address several mappings cover takes
// the longest (most specific) one; an address none covers is left alone.
//
// Where the mapping applies. The engine reads addresses in two places: the
// IP header (and the header an ICMP error quotes), and the text of SIP and
// SDP: it opens a media pinhole for the SDP's c= address and port, checks
// the PBX's media address against peers.pbx[].media, and judges the hosts of
// Request-URIs. A mapping applied only to IP headers would have a mapped
// phone offer media on an address the engine has never seen, and the PBX's
// relay would be refused: calls would fail in replay that work on site. So
// replay rewrites the packet itself before the engine decodes it, and the
// engine sees one consistent capture, as if it had been taken at the site:
//   - IP source and destination of every packet (fragments included, before
//     reassembly), and of the IP header quoted in an ICMP/ICMPv6 error;
//   - in a whole UDP datagram that carries SIP (after reassembly), every
//     IPv4 or IPv6 address written in its text (Via, Contact, Request-URI,
//     SDP c= and o= lines, ...), with the lengths fixed up: the body's
//     Content-Length, the UDP length and the IP total / payload length.
// Checksums are left as they were: neither the engine nor the kernel path it
// models reads them. SIP over TCP keeps the addresses in its text (replacing
// text of another length would shift the stream's sequence numbers, which
// the engine follows): only its IP headers are mapped, and count_tcp_text()
// lets replay say how many of its segments name a mapped address.
//
// Mapping in the decoded view instead (changing DecodedPacket's addresses
// and pointing its payload at rewritten text) was the other way; it would
// leave the reassembler, the ICMP quote and the bytes the engine re-reads
// out of step, while rewritten bytes are consistent by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/net/ip_address.h"

namespace vg::daemon {

struct AddressMapping {
    net::Cidr from;  // in the capture
    net::Cidr to;    // in the policy
};

class AddressMap {
public:
    // Adds "CAPTURE_CIDR=POLICY_CIDR" (a bare address is a host prefix).
    // False with `error` set (without the option's name) when the text is
    // not two prefixes around '=', the families or prefix lengths differ, or
    // CAPTURE_CIDR is mapped already; the map is then unchanged.
    bool add(std::string_view text, std::string& error);

    bool empty() const noexcept { return mappings_.empty(); }
    const std::vector<AddressMapping>& mappings() const noexcept { return mappings_; }

    // The policy's address for a capture address, or nullopt when no
    // mapping covers it.
    std::optional<net::IpAddress> map(const net::IpAddress& a) const noexcept;

    // Maps the addresses of the IP header (and of an ICMP error's quoted
    // header) of the packet at `l3` in place. Returns true when one changed.
    bool map_headers(std::uint8_t* l3, std::size_t length) const noexcept;

    // When the whole (unfragmented or reassembled) IP packet at `l3` is a
    // UDP datagram carrying SIP whose text names a mapped address, writes
    // the packet with that text rewritten and its lengths fixed to `out` and
    // returns true; false (out untouched) otherwise.
    bool map_sip_text(const std::uint8_t* l3, std::size_t length, std::vector<std::uint8_t>& out) const;

    // True when SIP text (a TCP segment's payload) names a mapped address.
    bool names_mapped_address(std::string_view text) const;

    // `text` with every mapped address it names replaced; `body_start`: the
    // offset of the message body (npos: none), whose length change is
    // returned in `body_delta`. Exposed for tests.
    std::string rewrite_text(std::string_view text, std::size_t body_start, long& body_delta,
                             bool& changed) const;

private:
    std::vector<AddressMapping> mappings_;
};

}  // namespace vg::daemon
