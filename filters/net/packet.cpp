// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/packet.h"

#include "filters/net/byte_reader.h"

namespace vg::net {

std::string_view to_string(DecodeStatus s) noexcept {
    switch (s) {
    case DecodeStatus::ok: return "ok";
    case DecodeStatus::truncated: return "truncated";
    case DecodeStatus::malformed: return "malformed";
    }
    return "unknown";
}

namespace {

std::uint64_t fnv1a(std::uint64_t h, const std::uint8_t* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

bool endpoint_less(const IpAddress& a, std::uint16_t pa, const IpAddress& b,
                   std::uint16_t pb) noexcept {
    if (a != b) return a < b;
    return pa < pb;
}

DecodedPacket& fail(DecodedPacket& p, DecodeStatus s, std::string_view reason) noexcept {
    p.status = s;
    p.reason = reason;
    return p;
}

void set_payload(DecodedPacket& p, const std::uint8_t* data, std::size_t off, std::size_t end) noexcept {
    p.payload = data + off;
    p.payload_length = end - off;
}

// Decodes the L4 header found at [off, end) of `data`; `end` is the end of the
// IP packet. Sets the payload in every case.
DecodedPacket& decode_l4(DecodedPacket& p, const std::uint8_t* data, std::size_t off,
                         std::size_t end) noexcept {
    ByteReader r(data, end);
    r.seek(off);
    if (p.is_later_fragment() || (p.protocol != ipproto::udp && p.protocol != ipproto::tcp)) {
        set_payload(p, data, off, end);
        p.status = DecodeStatus::ok;
        p.reason = "ok";
        return p;
    }
    if (p.protocol == ipproto::udp) {
        // RFC 768: source port, destination port, length (header + data), checksum.
        std::uint16_t sport = 0, dport = 0, len = 0, csum = 0;
        if (!r.u16(sport) || !r.u16(dport) || !r.u16(len) || !r.u16(csum))
            return fail(p, DecodeStatus::malformed, "udp_header_truncated");
        p.has_l4 = true;
        p.src_port = sport;
        p.dst_port = dport;
        p.udp_length = len;
        p.l4_header_length = 8;
        const std::size_t available = end - off;
        if (p.is_first_fragment()) {
            // The length covers the reassembled datagram; only its lower bound
            // can be checked here.
            if (len < 8) return fail(p, DecodeStatus::malformed, "udp_length_invalid");
            set_payload(p, data, off + 8, end);
        } else {
            // A length shorter than the IP payload is accepted and the surplus
            // ignored, as Linux does; a longer one is an error.
            if (len < 8 || len > available) return fail(p, DecodeStatus::malformed, "udp_length_invalid");
            set_payload(p, data, off + 8, off + len);
        }
        p.status = DecodeStatus::ok;
        p.reason = "ok";
        return p;
    }
    // TCP (RFC 9293 §3.1).
    std::uint16_t sport = 0, dport = 0, off_flags = 0;
    std::uint32_t seq = 0, ack = 0;
    if (!r.u16(sport) || !r.u16(dport) || !r.u32(seq) || !r.u32(ack) || !r.u16(off_flags) ||
        !r.skip(6))
        return fail(p, DecodeStatus::malformed, "tcp_header_truncated");
    p.has_l4 = true;
    p.src_port = sport;
    p.dst_port = dport;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_flags = static_cast<std::uint8_t>(off_flags & 0xff);
    const std::size_t header = static_cast<std::size_t>(off_flags >> 12) * 4;
    if (header < 20 || header > end - off) return fail(p, DecodeStatus::malformed, "tcp_data_offset_invalid");
    p.l4_header_length = header;
    set_payload(p, data, off + header, end);
    p.status = DecodeStatus::ok;
    p.reason = "ok";
    return p;
}

// RFC 791 §3.1 options: EOL (0) ends the list, NOP (1) is one byte, every
// other option is type, length (>= 2, counting both), data.
bool ipv4_options_valid(const std::uint8_t* opt, std::size_t n) noexcept {
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t type = opt[i];
        if (type == 0) return true;
        if (type == 1) {
            ++i;
            continue;
        }
        if (1 > n - i - 1) return false;  // no length byte
        const std::uint8_t len = opt[i + 1];
        if (len < 2 || len > n - i) return false;
        i += len;
    }
    return true;
}

DecodedPacket& decode_ipv4(DecodedPacket& p, const std::uint8_t* data, std::size_t size) noexcept {
    p.ip_version = 4;
    ByteReader r(data, size);
    std::uint8_t vihl = 0, tos = 0, ttl = 0, proto = 0;
    std::uint16_t total = 0, id = 0, frag = 0, csum = 0;
    std::uint8_t src[4], dst[4];
    if (!r.u8(vihl) || !r.u8(tos) || !r.u16(total) || !r.u16(id) || !r.u16(frag) || !r.u8(ttl) ||
        !r.u8(proto) || !r.u16(csum) || !r.bytes(src, 4) || !r.bytes(dst, 4))
        return fail(p, DecodeStatus::truncated, "ipv4_header_truncated");
    p.dscp_ecn = tos;
    p.ttl = ttl;
    p.protocol = proto;
    p.src = IpAddress::v4(src);
    p.dst = IpAddress::v4(dst);
    p.fragment_id = id;
    p.dont_fragment = (frag & 0x4000) != 0;
    p.more_fragments = (frag & 0x2000) != 0;
    p.fragment_offset = static_cast<std::uint16_t>((frag & 0x1fff) * 8);
    p.is_fragment = p.more_fragments || p.fragment_offset != 0;

    const std::size_t ihl = static_cast<std::size_t>(vihl & 0x0f) * 4;
    if (ihl < 20) return fail(p, DecodeStatus::malformed, "ipv4_ihl_too_small");
    if (total < 20) return fail(p, DecodeStatus::malformed, "ipv4_total_length_too_small");
    if (total > size) return fail(p, DecodeStatus::truncated, "ipv4_total_length_exceeds_buffer");
    if (ihl > total) return fail(p, DecodeStatus::malformed, "ipv4_ihl_exceeds_total_length");
    p.ip_length = total;
    p.l3_header_length = ihl;
    p.has_ip_options = ihl > 20;
    if (p.has_ip_options && !ipv4_options_valid(data + 20, ihl - 20))
        return fail(p, DecodeStatus::malformed, "ipv4_option_malformed");
    // The reassembled datagram may not exceed 65535 bytes (RFC 791; the
    // "ping of death" overflows this).
    if (p.is_fragment && static_cast<std::size_t>(p.fragment_offset) + (total - ihl) + ihl > 65535)
        return fail(p, DecodeStatus::malformed, "ipv4_fragment_too_large");
    return decode_l4(p, data, ihl, total);
}

// RFC 8200 §4: walks the extension header chain. Each header is counted; the
// bound and the "at most once" rules (§4.1) stop chains that repeat headers.
DecodedPacket& decode_ipv6(DecodedPacket& p, const std::uint8_t* data, std::size_t size) noexcept {
    p.ip_version = 6;
    ByteReader r(data, size);
    std::uint32_t vtcfl = 0;
    std::uint16_t plen = 0;
    std::uint8_t next = 0, hlim = 0;
    std::uint8_t src[16], dst[16];
    if (!r.u32(vtcfl) || !r.u16(plen) || !r.u8(next) || !r.u8(hlim) || !r.bytes(src, 16) ||
        !r.bytes(dst, 16))
        return fail(p, DecodeStatus::truncated, "ipv6_header_truncated");
    p.dscp_ecn = static_cast<std::uint8_t>((vtcfl >> 20) & 0xff);
    p.ttl = hlim;
    p.src = IpAddress::v6(src);
    p.dst = IpAddress::v6(dst);
    p.protocol = next;
    if (plen > size - 40) return fail(p, DecodeStatus::truncated, "ipv6_payload_length_exceeds_buffer");
    if (plen == 0 && next != ipproto::ipv6_no_next)
        return fail(p, DecodeStatus::malformed, "ipv6_payload_length_zero");
    const std::size_t end = 40 + static_cast<std::size_t>(plen);
    p.ip_length = end;

    std::size_t off = 40;
    unsigned seen_dest_opts = 0;
    bool seen_routing = false, seen_fragment = false, seen_ah = false;
    for (;;) {
        std::size_t len = 0;
        switch (next) {
        case ipproto::hop_by_hop:
        case ipproto::ipv6_routing:
        case ipproto::ipv6_dest_opts:
        case ipproto::mobility:
        case ipproto::hip:
        case ipproto::shim6:
        case ipproto::ipv6_fragment:
        case ipproto::ah:
            break;
        default:
            // Upper layer, ESP (opaque) or no next header: the chain ends.
            p.protocol = next;
            p.l3_header_length = off;
            if (next == ipproto::esp || next == ipproto::ipv6_no_next) {
                set_payload(p, data, off, end);
                p.status = DecodeStatus::ok;
                p.reason = "ok";
                return p;
            }
            return decode_l4(p, data, off, end);
        }
        if (p.ipv6_extension_headers >= kMaxIpv6ExtensionHeaders)
            return fail(p, DecodeStatus::malformed, "ipv6_too_many_extension_headers");
        if (next == ipproto::hop_by_hop && off != 40)
            return fail(p, DecodeStatus::malformed, "ipv6_hop_by_hop_not_first");
        bool repeated = false;
        switch (next) {
        case ipproto::ipv6_dest_opts: repeated = ++seen_dest_opts > 2; break;
        case ipproto::ipv6_routing: repeated = seen_routing; seen_routing = true; break;
        case ipproto::ipv6_fragment: repeated = seen_fragment; seen_fragment = true; break;
        case ipproto::ah: repeated = seen_ah; seen_ah = true; break;
        default: break;
        }
        if (repeated) return fail(p, DecodeStatus::malformed, "ipv6_extension_header_repeated");

        ByteReader h(data, end);
        h.seek(off);
        std::uint8_t hnext = 0, hlen = 0;
        if (!h.u8(hnext) || !h.u8(hlen))
            return fail(p, DecodeStatus::malformed, "ipv6_extension_header_truncated");
        if (next == ipproto::ipv6_fragment) {
            // RFC 8200 §4.5: next, reserved, offset (13 bits) | res | M, id.
            std::uint16_t offm = 0;
            std::uint32_t id = 0;
            if (!h.u16(offm) || !h.u32(id))
                return fail(p, DecodeStatus::malformed, "ipv6_extension_header_truncated");
            len = 8;
            p.fragment_offset = static_cast<std::uint16_t>(offm & 0xfff8);
            p.more_fragments = (offm & 1) != 0;
            p.fragment_id = id;
            p.is_fragment = p.more_fragments || p.fragment_offset != 0;
            if (p.is_fragment && static_cast<std::size_t>(p.fragment_offset) + (end - off - len) > 65535)
                return fail(p, DecodeStatus::malformed, "ipv6_fragment_too_large");
        } else if (next == ipproto::ah) {
            // RFC 4302 §2.2: payload length in 4-octet units, minus 2.
            len = (static_cast<std::size_t>(hlen) + 2) * 4;
        } else {
            // RFC 8200 §4.3: length in 8-octet units, not counting the first 8.
            len = (static_cast<std::size_t>(hlen) + 1) * 8;
        }
        if (len > end - off) return fail(p, DecodeStatus::malformed, "ipv6_extension_header_truncated");
        ++p.ipv6_extension_headers;
        off += len;
        next = hnext;
        p.protocol = next;
        if (p.is_later_fragment()) {
            // The rest is fragment data: no upper-layer header to find.
            p.l3_header_length = off;
            set_payload(p, data, off, end);
            p.status = DecodeStatus::ok;
            p.reason = "ok";
            return p;
        }
    }
}

}  // namespace

FlowKey FlowKey::from(const FiveTuple& t) noexcept {
    FlowKey k;
    k.protocol = t.protocol;
    if (endpoint_less(t.dst, t.dst_port, t.src, t.src_port)) {
        k.a = t.dst;
        k.port_a = t.dst_port;
        k.b = t.src;
        k.port_b = t.src_port;
    } else {
        k.a = t.src;
        k.port_a = t.src_port;
        k.b = t.dst;
        k.port_b = t.dst_port;
    }
    return k;
}

std::size_t FlowKey::hash() const noexcept {
    std::uint64_t h = 1469598103934665603ull;
    const std::uint8_t fa = static_cast<std::uint8_t>(a.family());
    const std::uint8_t fb = static_cast<std::uint8_t>(b.family());
    h = fnv1a(h, &fa, 1);
    h = fnv1a(h, a.bytes(), a.byte_length());
    h = fnv1a(h, &fb, 1);
    h = fnv1a(h, b.bytes(), b.byte_length());
    const std::uint8_t rest[5] = {static_cast<std::uint8_t>(port_a >> 8), static_cast<std::uint8_t>(port_a),
                                  static_cast<std::uint8_t>(port_b >> 8), static_cast<std::uint8_t>(port_b),
                                  protocol};
    h = fnv1a(h, rest, sizeof rest);
    return static_cast<std::size_t>(h);
}

DecodedPacket decode_ip(const std::uint8_t* data, std::size_t size) noexcept {
    DecodedPacket p;
    if (data == nullptr || size == 0) {
        fail(p, DecodeStatus::truncated, "packet_empty");
        return p;
    }
    switch (data[0] >> 4) {
    case 4: decode_ipv4(p, data, size); break;
    case 6: decode_ipv6(p, data, size); break;
    default: fail(p, DecodeStatus::malformed, "ip_version_invalid"); break;
    }
    return p;
}

}  // namespace vg::net
