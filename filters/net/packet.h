// SPDX-License-Identifier: GPL-2.0-or-later
// IP packet decoder: IPv4 (RFC 791) and IPv6 (RFC 8200) with the extension
// header chain, then UDP (RFC 768) or TCP (RFC 9293). Input is what NFQUEUE
// hands over: a packet that starts at the IP header.
//
// Contract:
//   - decode_ip() never throws, never allocates and never reads outside
//     [data, data + size). Multi-byte fields are read with memcpy + ntohs/ntohl
//     (ByteReader), so any alignment and either byte order is fine.
//   - The result is a value: `status` is ok, truncated or malformed, and
//     `reason` is a stable snake_case name for counters and logs ("ok" when
//     the packet decoded cleanly).
//       truncated: the buffer ends before the end that the packet's own
//                  header fields declare (a cut capture, a short read).
//       malformed: the bytes are all there but the fields are inconsistent
//                  (IHL < 5, a UDP length past the IP payload, a repeated or
//                  endless IPv6 extension header chain, ...).
//   - Trailing bytes after the IP total length (Ethernet padding) are ignored.
//   - Fragments are decoded but flagged. A later fragment (offset != 0) has no
//     L4 header: has_l4 is false, ports are 0 and `payload` is the fragment
//     data. A first fragment carries the L4 header; its UDP length describes
//     the whole datagram and is therefore not checked against the fragment.
//   - ICMP, ICMPv6, ESP and anything else decode to L3 only: `protocol` holds
//     the protocol number and `payload` is the IP payload.
//
// Reasons (status):
//   packet_empty (truncated), ip_version_invalid (malformed),
//   ipv4_header_truncated (truncated), ipv4_ihl_too_small (malformed),
//   ipv4_total_length_too_small (malformed), ipv4_total_length_exceeds_buffer
//   (truncated), ipv4_ihl_exceeds_total_length (malformed),
//   ipv4_option_malformed (malformed), ipv4_fragment_too_large (malformed),
//   ipv6_header_truncated (truncated), ipv6_payload_length_exceeds_buffer
//   (truncated), ipv6_payload_length_zero (malformed, jumbograms unsupported),
//   ipv6_extension_header_truncated (malformed: runs past the payload length),
//   ipv6_hop_by_hop_not_first (malformed), ipv6_extension_header_repeated
//   (malformed), ipv6_too_many_extension_headers (malformed),
//   ipv6_fragment_too_large (malformed),
//   udp_header_truncated (malformed: the IP payload is shorter than 8 bytes),
//   udp_length_invalid (malformed: < 8 or past the IP payload),
//   tcp_header_truncated (malformed), tcp_data_offset_invalid (malformed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/net/ip_address.h"

namespace vg::net {

enum class DecodeStatus : std::uint8_t { ok, truncated, malformed };

std::string_view to_string(DecodeStatus s) noexcept;

// IANA protocol numbers used by the decoder.
namespace ipproto {
constexpr std::uint8_t hop_by_hop = 0;
constexpr std::uint8_t icmp = 1;
constexpr std::uint8_t tcp = 6;
constexpr std::uint8_t udp = 17;
constexpr std::uint8_t ipv6_routing = 43;
constexpr std::uint8_t ipv6_fragment = 44;
constexpr std::uint8_t esp = 50;
constexpr std::uint8_t ah = 51;
constexpr std::uint8_t icmpv6 = 58;
constexpr std::uint8_t ipv6_no_next = 59;
constexpr std::uint8_t ipv6_dest_opts = 60;
constexpr std::uint8_t mobility = 135;
constexpr std::uint8_t hip = 139;
constexpr std::uint8_t shim6 = 140;
}  // namespace ipproto

// TCP flag bits (byte 13 of the TCP header).
namespace tcpflag {
constexpr std::uint8_t fin = 0x01;
constexpr std::uint8_t syn = 0x02;
constexpr std::uint8_t rst = 0x04;
constexpr std::uint8_t psh = 0x08;
constexpr std::uint8_t ack = 0x10;
constexpr std::uint8_t urg = 0x20;
constexpr std::uint8_t ece = 0x40;
constexpr std::uint8_t cwr = 0x80;
}  // namespace tcpflag

// The bound on IPv6 extension headers walked before giving up (RFC 8200 §4.1
// allows at most 7 distinct ones plus a second destination options header).
constexpr unsigned kMaxIpv6ExtensionHeaders = 8;

// Directional 5-tuple: as the packet travels.
struct FiveTuple {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint8_t protocol = 0;

    FiveTuple reversed() const noexcept { return {dst, src, dst_port, src_port, protocol}; }

    friend bool operator==(const FiveTuple& a, const FiveTuple& b) noexcept {
        return a.protocol == b.protocol && a.src_port == b.src_port && a.dst_port == b.dst_port &&
               a.src == b.src && a.dst == b.dst;
    }
    friend bool operator!=(const FiveTuple& a, const FiveTuple& b) noexcept { return !(a == b); }
};

// Direction-independent flow key: A->B and B->A give the same key. The
// endpoint that sorts lower (address, then port) is stored as `a`.
struct FlowKey {
    IpAddress a;
    IpAddress b;
    std::uint16_t port_a = 0;
    std::uint16_t port_b = 0;
    std::uint8_t protocol = 0;

    static FlowKey from(const FiveTuple& t) noexcept;
    std::size_t hash() const noexcept;

    friend bool operator==(const FlowKey& x, const FlowKey& y) noexcept {
        return x.protocol == y.protocol && x.port_a == y.port_a && x.port_b == y.port_b &&
               x.a == y.a && x.b == y.b;
    }
    friend bool operator!=(const FlowKey& x, const FlowKey& y) noexcept { return !(x == y); }
};

struct FlowKeyHash {
    std::size_t operator()(const FlowKey& k) const noexcept { return k.hash(); }
};

struct DecodedPacket {
    DecodeStatus status = DecodeStatus::malformed;
    std::string_view reason = "packet_empty";

    // L3 -------------------------------------------------------------------
    std::uint8_t ip_version = 0;        // 4 or 6 once the version nibble was read
    IpAddress src;
    IpAddress dst;
    std::uint8_t ttl = 0;               // IPv4 TTL / IPv6 hop limit
    std::uint8_t dscp_ecn = 0;          // IPv4 TOS / IPv6 traffic class
    std::size_t ip_length = 0;          // bytes of the IP packet (padding excluded)
    std::size_t l3_header_length = 0;   // IPv4 header incl. options; IPv6 header + extension headers
    bool has_ip_options = false;        // IPv4 IHL > 5
    unsigned ipv6_extension_headers = 0;
    // Upper-layer protocol: after the IPv6 extension header chain, ESP (50)
    // or "no next header" (59) if the chain ended there.
    std::uint8_t protocol = 0;

    // Fragmentation (IPv4 flags/offset or the IPv6 fragment header).
    bool is_fragment = false;           // MF set or offset != 0
    bool more_fragments = false;
    bool dont_fragment = false;         // IPv4 DF
    std::uint16_t fragment_offset = 0;  // in bytes
    std::uint32_t fragment_id = 0;      // IPv4 identification / IPv6 fragment id
    bool is_first_fragment() const noexcept { return is_fragment && fragment_offset == 0; }
    bool is_later_fragment() const noexcept { return is_fragment && fragment_offset != 0; }

    // L4 -------------------------------------------------------------------
    bool has_l4 = false;                // a UDP or TCP header was decoded
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::size_t l4_header_length = 0;
    std::uint16_t udp_length = 0;       // UDP length field as sent
    std::uint8_t tcp_flags = 0;         // tcpflag:: bits
    std::uint32_t tcp_seq = 0;
    std::uint32_t tcp_ack = 0;

    // L4 payload (UDP/TCP data), or the IP payload when has_l4 is false.
    // Points into the decoded buffer.
    const std::uint8_t* payload = nullptr;
    std::size_t payload_length = 0;

    bool ok() const noexcept { return status == DecodeStatus::ok; }
    bool is_udp() const noexcept { return has_l4 && protocol == ipproto::udp; }
    bool is_tcp() const noexcept { return has_l4 && protocol == ipproto::tcp; }
    bool has_tcp_flag(std::uint8_t f) const noexcept { return (tcp_flags & f) == f; }
    // The payload as text, for the SIP parser.
    std::string_view payload_text() const noexcept {
        return payload ? std::string_view(reinterpret_cast<const char*>(payload), payload_length)
                       : std::string_view();
    }
    FiveTuple tuple() const noexcept { return {src, dst, src_port, dst_port, protocol}; }
    FlowKey flow_key() const noexcept { return FlowKey::from(tuple()); }
};

// Decodes an IPv4 or IPv6 packet (chosen by the version nibble).
DecodedPacket decode_ip(const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace vg::net
