// SPDX-License-Identifier: GPL-2.0-or-later
// Link-layer decoding for captures (pcap replay): finds where the IP packet
// starts behind an Ethernet header (with any number of 802.1Q / 802.1ad VLAN
// tags, bounded), a Linux "cooked" header (SLL v1 and v2), a BSD
// loopback/null header, or nothing (raw IP). Same contract as decode_ip():
// no throw, no allocation, no read outside [data, data + size).
//
// Reasons: ok, link_type_unsupported, ethernet_header_truncated,
// vlan_tag_truncated, too_many_vlan_tags, sll_header_truncated,
// sll2_header_truncated, null_header_truncated, not_ip (the frame carries
// something other than IPv4/IPv6: ARP, LLDP, ...; status ok, is_ip false),
// ip_version_invalid (raw link type whose first nibble is not 4 or 6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/net/packet.h"

namespace vg::net {

// pcap LINKTYPE_* values (https://www.tcpdump.org/linktypes.html).
enum class LinkType : std::uint16_t {
    null = 0,           // BSD loopback: 4-byte address family, host byte order
    ethernet = 1,
    raw = 101,          // raw IPv4 / IPv6
    loop = 108,         // OpenBSD loopback: 4-byte address family, network order
    linux_sll = 113,
    ipv4 = 228,
    ipv6 = 229,
    linux_sll2 = 276,
};

// pcap DLT_RAW is 12 or 14 on some systems; maps those and the LINKTYPE
// values above; anything else gives false.
bool link_type_from_pcap(std::uint32_t linktype, LinkType& out) noexcept;

constexpr unsigned kMaxVlanTags = 4;

struct LinkFrame {
    DecodeStatus status = DecodeStatus::malformed;
    std::string_view reason = "link_type_unsupported";
    bool is_ip = false;
    std::uint16_t ethertype = 0;   // 0x0800 / 0x86dd for IP (synthesised for null/raw)
    unsigned vlan_count = 0;
    std::uint16_t vlan_ids[kMaxVlanTags] = {};  // outermost first, 12-bit VID
    std::size_t l3_offset = 0;     // where the IP packet starts
    const std::uint8_t* l3 = nullptr;
    std::size_t l3_length = 0;

    bool ok() const noexcept { return status == DecodeStatus::ok; }
};

LinkFrame decode_link(LinkType type, const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace vg::net
