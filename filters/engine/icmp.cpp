// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/icmp.h"

#include "filters/net/byte_reader.h"

namespace vg::engine {

namespace {

// RFC 792 / RFC 4443 §2.1 type numbers.
bool v4_error(std::uint8_t type) noexcept {
    return type == 3 || type == 11 || type == 12;   // unreachable, time exceeded, parameter problem
}
bool v6_error(std::uint8_t type) noexcept {
    return type >= 1 && type <= 4;   // unreachable, packet too big, time exceeded, parameter problem
}

bool read_quoted(const std::uint8_t* data, std::size_t size, bool v6, IcmpInfo& out) noexcept {
    net::FiveTuple& q = out.quoted;
    std::size_t l4 = 0;
    if (!v6) {
        if (size < 20 || (data[0] >> 4) != 4) return false;
        const std::size_t ihl = static_cast<std::size_t>(data[0] & 0x0f) * 4;
        if (ihl < 20) return false;
        q.protocol = data[9];
        q.src = net::IpAddress::v4(data + 12);
        q.dst = net::IpAddress::v4(data + 16);
        // A later fragment quotes no transport header.
        std::uint16_t frag = 0;
        if (!net::load_be16(data, size, 6, frag)) return false;
        if ((frag & 0x1fff) != 0) return true;
        l4 = ihl;
    } else {
        if (size < 40 || (data[0] >> 4) != 6) return false;
        q.protocol = data[6];   // extension headers are not followed
        q.src = net::IpAddress::v6(data + 8);
        q.dst = net::IpAddress::v6(data + 24);
        l4 = 40;
    }
    if (q.protocol != net::ipproto::udp && q.protocol != net::ipproto::tcp) return true;
    if (!net::load_be16(data, size, l4, q.src_port) || !net::load_be16(data, size, l4 + 2, q.dst_port)) return true;
    out.has_ports = true;
    return true;
}

}  // namespace

bool read_icmp(const net::DecodedPacket& p, IcmpInfo& out) noexcept {
    out = IcmpInfo{};
    const bool v6 = p.protocol == net::ipproto::icmpv6;
    if (!p.ok() || p.has_l4 || p.is_fragment || (p.protocol != net::ipproto::icmp && !v6)) return false;
    if ((p.ip_version == 6) != v6) return false;
    if (p.payload == nullptr || p.payload_length < 8) return false;
    out.type = p.payload[0];
    out.code = p.payload[1];
    if (v6 ? out.type == 128 : out.type == 8) {
        out.kind = IcmpInfo::Kind::echo_request;
        return true;
    }
    if (!(v6 ? v6_error(out.type) : v4_error(out.type))) return true;
    out.kind = IcmpInfo::Kind::error;
    return read_quoted(p.payload + 8, p.payload_length - 8, v6, out);
}

}  // namespace vg::engine
