// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/link.h"

#include <cstring>

#include "filters/net/byte_reader.h"

namespace vg::net {

namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;    // IEEE 802.1Q
constexpr std::uint16_t kEtherQinQ = 0x88a8;    // IEEE 802.1ad
constexpr std::uint16_t kEtherQinQOld = 0x9100; // pre-standard QinQ

LinkFrame& fail(LinkFrame& f, DecodeStatus s, std::string_view reason) noexcept {
    f.status = s;
    f.reason = reason;
    return f;
}

LinkFrame& finish(LinkFrame& f, const std::uint8_t* data, std::size_t size, std::size_t off,
                  std::uint16_t ethertype) noexcept {
    f.ethertype = ethertype;
    f.l3_offset = off;
    f.l3 = data + off;
    f.l3_length = size - off;
    f.is_ip = ethertype == kEtherIpv4 || ethertype == kEtherIpv6;
    f.status = DecodeStatus::ok;
    f.reason = f.is_ip ? "ok" : "not_ip";
    return f;
}

// Raw IP: the version nibble says which.
LinkFrame& finish_raw(LinkFrame& f, const std::uint8_t* data, std::size_t size, std::size_t off) noexcept {
    if (1 > size - off) return fail(f, DecodeStatus::truncated, "packet_empty");
    const unsigned v = data[off] >> 4;
    if (v != 4 && v != 6) return fail(f, DecodeStatus::malformed, "ip_version_invalid");
    return finish(f, data, size, off, v == 4 ? kEtherIpv4 : kEtherIpv6);
}

// BSD address families for IPv6 differ between systems (24, 28, 30).
LinkFrame& finish_af(LinkFrame& f, const std::uint8_t* data, std::size_t size, std::uint32_t af) noexcept {
    if (af == 2) return finish(f, data, size, 4, kEtherIpv4);
    if (af == 24 || af == 28 || af == 30) return finish(f, data, size, 4, kEtherIpv6);
    return finish(f, data, size, 4, 0);
}

}  // namespace

bool link_type_from_pcap(std::uint32_t linktype, LinkType& out) noexcept {
    switch (linktype) {
    case 0: out = LinkType::null; return true;
    case 1: out = LinkType::ethernet; return true;
    case 12: case 14: case 101: out = LinkType::raw; return true;
    case 108: out = LinkType::loop; return true;
    case 113: out = LinkType::linux_sll; return true;
    case 228: out = LinkType::ipv4; return true;
    case 229: out = LinkType::ipv6; return true;
    case 276: out = LinkType::linux_sll2; return true;
    default: return false;
    }
}

LinkFrame decode_link(LinkType type, const std::uint8_t* data, std::size_t size) noexcept {
    LinkFrame f;
    if (data == nullptr) size = 0;
    ByteReader r(data, size);
    switch (type) {
    case LinkType::raw:
    case LinkType::ipv4:
    case LinkType::ipv6:
        return finish_raw(f, data, size, 0);
    case LinkType::null: {
        std::uint32_t af = 0;
        if (4 > size) return fail(f, DecodeStatus::truncated, "null_header_truncated");
        std::memcpy(&af, data, 4);  // host byte order of the capturing machine
        if (af > 0xffff) af = __builtin_bswap32(af);
        return finish_af(f, data, size, af);
    }
    case LinkType::loop: {
        std::uint32_t af = 0;
        if (!r.u32(af)) return fail(f, DecodeStatus::truncated, "null_header_truncated");
        return finish_af(f, data, size, af);
    }
    case LinkType::ethernet: {
        std::uint16_t et = 0;
        if (!r.skip(12) || !r.u16(et)) return fail(f, DecodeStatus::truncated, "ethernet_header_truncated");
        while (et == kEtherVlan || et == kEtherQinQ || et == kEtherQinQOld) {
            if (f.vlan_count >= kMaxVlanTags) return fail(f, DecodeStatus::malformed, "too_many_vlan_tags");
            std::uint16_t tci = 0;
            if (!r.u16(tci) || !r.u16(et)) return fail(f, DecodeStatus::truncated, "vlan_tag_truncated");
            f.vlan_ids[f.vlan_count++] = static_cast<std::uint16_t>(tci & 0x0fff);
        }
        return finish(f, data, size, r.offset(), et);
    }
    case LinkType::linux_sll: {
        // packet type, ARPHRD, address length, address (8), protocol.
        std::uint16_t proto = 0;
        if (!r.skip(14) || !r.u16(proto)) return fail(f, DecodeStatus::truncated, "sll_header_truncated");
        return finish(f, data, size, r.offset(), proto);
    }
    case LinkType::linux_sll2: {
        // protocol, reserved, ifindex, ARPHRD, packet type, address length, address (8).
        std::uint16_t proto = 0;
        if (!r.u16(proto) || !r.skip(18)) return fail(f, DecodeStatus::truncated, "sll2_header_truncated");
        return finish(f, data, size, r.offset(), proto);
    }
    }
    return fail(f, DecodeStatus::malformed, "link_type_unsupported");
}

}  // namespace vg::net
