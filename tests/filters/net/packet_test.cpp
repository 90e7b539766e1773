// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "tests/filters/net/packet_builder.h"
#include "tests/support/alloc_counter.h"

namespace vg::net {
namespace {

using test::Bytes;
using test::V4;
using test::V6;

DecodedPacket decode(const Bytes& b) { return decode_ip(b.data(), b.size()); }

// For a temporary packet: keeps its bytes alive until the test program ends,
// so the payload view stays valid.
DecodedPacket decode(Bytes&& b) {
    static std::vector<std::unique_ptr<Bytes>> kept;
    kept.push_back(std::make_unique<Bytes>(std::move(b)));
    return decode(*kept.back());
}

std::string payload_of(const DecodedPacket& p) { return std::string(p.payload_text()); }

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// ---------------------------------------------------------------- IPv4

TEST(PacketIpv4, UdpDecodesAddressesPortsTtlAndPayload) {
    const Bytes pkt = test::ipv4(V4{}, test::udp(5060, 5062, test::text_bytes("INVITE")));
    const DecodedPacket p = decode(pkt);
    ASSERT_EQ(p.status, DecodeStatus::ok) << p.reason;
    EXPECT_EQ(p.reason, "ok");
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.src, ip("192.0.2.10"));
    EXPECT_EQ(p.dst, ip("198.51.100.20"));
    EXPECT_EQ(p.ttl, 64);
    EXPECT_EQ(p.dscp_ecn, 0xb8);
    EXPECT_EQ(p.protocol, ipproto::udp);
    EXPECT_TRUE(p.is_udp());
    EXPECT_FALSE(p.is_tcp());
    EXPECT_EQ(p.src_port, 5060);
    EXPECT_EQ(p.dst_port, 5062);
    EXPECT_EQ(p.udp_length, 14);
    EXPECT_EQ(p.l3_header_length, 20u);
    EXPECT_EQ(p.l4_header_length, 8u);
    EXPECT_EQ(p.ip_length, pkt.size());
    EXPECT_EQ(payload_of(p), "INVITE");
    EXPECT_FALSE(p.has_ip_options);
    EXPECT_FALSE(p.is_fragment);
    EXPECT_TRUE(p.dont_fragment);
    EXPECT_EQ(p.fragment_id, 0x1234u);
}

TEST(PacketIpv4, TcpDecodesFlagsSequenceAndPayloadAfterOptions) {
    // MSS option (4 bytes) + NOP NOP SACK-permitted (4 bytes): data offset 7.
    const Bytes opts = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
    V4 h;
    h.protocol = ipproto::tcp;
    const Bytes pkt = test::ipv4(h, test::tcp(40000, 5061, tcpflag::syn | tcpflag::ack, opts, test::text_bytes("hi")));
    const DecodedPacket p = decode(pkt);
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_tcp());
    EXPECT_EQ(p.src_port, 40000);
    EXPECT_EQ(p.dst_port, 5061);
    EXPECT_EQ(p.l4_header_length, 28u);
    EXPECT_TRUE(p.has_tcp_flag(tcpflag::syn));
    EXPECT_TRUE(p.has_tcp_flag(tcpflag::ack));
    EXPECT_FALSE(p.has_tcp_flag(tcpflag::fin));
    EXPECT_EQ(p.tcp_seq, 0x01020304u);
    EXPECT_EQ(p.tcp_ack, 0x0a0b0c0du);
    EXPECT_EQ(payload_of(p), "hi");
}

TEST(PacketIpv4, OptionsAreFlaggedAndSkipped) {
    V4 h;
    h.options = {0x94, 0x04, 0x00, 0x00};  // Router Alert (RFC 2113)
    const DecodedPacket p = decode(test::ipv4(h, test::udp(1, 2, test::text_bytes("x"))));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.has_ip_options);
    EXPECT_EQ(p.l3_header_length, 24u);
    EXPECT_EQ(p.src_port, 1);
    EXPECT_EQ(payload_of(p), "x");
}

TEST(PacketIpv4, OptionsWithNopAndEndOfListAreValid) {
    V4 h;
    h.options = {1, 1, 1, 0, 0xff, 0xff, 0xff, 0xff};  // NOPs, EOL, then ignored bytes
    EXPECT_TRUE(decode(test::ipv4(h, test::udp(1, 2, {}))).ok());
}

TEST(PacketIpv4, OptionLengthPastHeaderIsMalformed) {
    V4 h;
    h.options = {0x44, 0x28, 0x05, 0x00};  // timestamp option claiming 40 bytes
    const DecodedPacket p = decode(test::ipv4(h, test::udp(1, 2, {})));
    EXPECT_EQ(p.status, DecodeStatus::malformed);
    EXPECT_EQ(p.reason, "ipv4_option_malformed");
}

TEST(PacketIpv4, OptionLengthBelowTwoIsMalformed) {
    V4 h;
    h.options = {0x44, 0x01, 0x00, 0x00};
    EXPECT_EQ(decode(test::ipv4(h, test::udp(1, 2, {}))).reason, "ipv4_option_malformed");
}

TEST(PacketIpv4, TrailingEthernetPaddingIsIgnored) {
    Bytes pkt = test::ipv4(V4{}, test::udp(5060, 5060, test::text_bytes("ab")));
    const std::size_t ip_len = pkt.size();
    pkt.resize(60, 0xee);  // minimum Ethernet frame padding
    const DecodedPacket p = decode(pkt);
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.ip_length, ip_len);
    EXPECT_EQ(payload_of(p), "ab");
}

TEST(PacketIpv4, FirstFragmentIsFlaggedAndKeepsPorts) {
    V4 h;
    h.flags_fragment = 0x2000;  // MF, offset 0
    // The UDP length covers the whole datagram (3000 bytes), not this fragment.
    const Bytes pkt = test::ipv4(h, test::udp(5060, 5060, test::text_bytes("INVITE sip:"), 3000));
    const DecodedPacket p = decode(pkt);
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_fragment);
    EXPECT_TRUE(p.is_first_fragment());
    EXPECT_FALSE(p.is_later_fragment());
    EXPECT_TRUE(p.more_fragments);
    EXPECT_TRUE(p.has_l4);
    EXPECT_EQ(p.dst_port, 5060);
    EXPECT_EQ(p.udp_length, 3000);
    EXPECT_EQ(payload_of(p), "INVITE sip:");
}

TEST(PacketIpv4, LaterFragmentHasNoL4HeaderAndNoPorts) {
    V4 h;
    h.flags_fragment = 185;  // offset 1480 bytes, last fragment
    const Bytes data = test::text_bytes("tail of the SDP body");
    const DecodedPacket p = decode(test::ipv4(h, data));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_fragment);
    EXPECT_TRUE(p.is_later_fragment());
    EXPECT_FALSE(p.more_fragments);
    EXPECT_EQ(p.fragment_offset, 1480);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.src_port, 0);
    EXPECT_EQ(p.dst_port, 0);
    EXPECT_EQ(p.protocol, ipproto::udp);
    EXPECT_EQ(payload_of(p), "tail of the SDP body");
}

TEST(PacketIpv4, FragmentReachingPast65535IsMalformed) {
    V4 h;
    h.flags_fragment = 0x1fff;  // offset 65528
    const DecodedPacket p = decode(test::ipv4(h, Bytes(100, 0)));
    EXPECT_EQ(p.status, DecodeStatus::malformed);
    EXPECT_EQ(p.reason, "ipv4_fragment_too_large");
}

TEST(PacketIpv4, IcmpDecodesToL3OnlyWithProtocolNumber) {
    V4 h;
    h.protocol = ipproto::icmp;
    const Bytes icmp = {8, 0, 0, 0, 0, 1, 0, 1};
    const DecodedPacket p = decode(test::ipv4(h, icmp));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.protocol, ipproto::icmp);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.payload_length, 8u);
    EXPECT_EQ(p.src_port, 0);
}

TEST(PacketIpv4, UdpLengthShorterThanIpPayloadTrimsPayload) {
    Bytes l4 = test::udp(1, 2, test::text_bytes("abcdef"), 8 + 3);
    const DecodedPacket p = decode(test::ipv4(V4{}, l4));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(payload_of(p), "abc");
}

// ---------------------------------------------------------------- malformed table

struct BadCase {
    const char* name;
    Bytes packet;
    DecodeStatus status;
    const char* reason;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

V4 v4_with(void (*f)(V4&)) {
    V4 h;
    f(h);
    return h;
}

std::vector<BadCase> bad_cases() {
    const Bytes u = test::udp(1, 2, test::text_bytes("payload"));
    std::vector<BadCase> v;
    v.push_back({"empty_buffer", {}, DecodeStatus::truncated, "packet_empty"});
    v.push_back({"version_5", {0x50, 0, 0, 20}, DecodeStatus::malformed, "ip_version_invalid"});
    const Bytes whole = test::ipv4(V4{}, u);
    v.push_back({"ipv4_shorter_than_20", Bytes(whole.begin(), whole.begin() + 19), DecodeStatus::truncated,
                 "ipv4_header_truncated"});
    v.push_back({"ipv4_ihl_4", test::ipv4(v4_with([](V4& h) { h.ihl = 4; }), u), DecodeStatus::malformed,
                 "ipv4_ihl_too_small"});
    v.push_back({"ipv4_ihl_0", test::ipv4(v4_with([](V4& h) { h.ihl = 0; }), u), DecodeStatus::malformed,
                 "ipv4_ihl_too_small"});
    v.push_back({"ipv4_ihl_15_past_total_length",
                 test::ipv4(v4_with([](V4& h) { h.ihl = 15; h.total_length = 40; }), Bytes(40, 0)),
                 DecodeStatus::malformed, "ipv4_ihl_exceeds_total_length"});
    v.push_back({"ipv4_total_length_19", test::ipv4(v4_with([](V4& h) { h.total_length = 19; }), u),
                 DecodeStatus::malformed, "ipv4_total_length_too_small"});
    v.push_back({"ipv4_total_length_past_buffer", test::ipv4(v4_with([](V4& h) { h.total_length = 1500; }), u),
                 DecodeStatus::truncated, "ipv4_total_length_exceeds_buffer"});
    v.push_back({"udp_length_7", test::ipv4(V4{}, test::udp(1, 2, {}, 7)), DecodeStatus::malformed,
                 "udp_length_invalid"});
    v.push_back({"udp_length_past_ip_payload", test::ipv4(V4{}, test::udp(1, 2, {}, 9)), DecodeStatus::malformed,
                 "udp_length_invalid"});
    v.push_back({"udp_header_cut_by_ip_length", test::ipv4(V4{}, Bytes{0, 1, 0, 2, 0}), DecodeStatus::malformed,
                 "udp_header_truncated"});
    {
        V4 h;
        h.protocol = ipproto::tcp;
        v.push_back({"tcp_data_offset_4", test::ipv4(h, test::tcp(1, 2, 0, {}, {}, 4)), DecodeStatus::malformed,
                     "tcp_data_offset_invalid"});
        v.push_back({"tcp_data_offset_15_past_packet", test::ipv4(h, test::tcp(1, 2, 0, {}, {}, 15)),
                     DecodeStatus::malformed, "tcp_data_offset_invalid"});
        v.push_back({"tcp_header_19_bytes", test::ipv4(h, Bytes(19, 0x50)), DecodeStatus::malformed,
                     "tcp_header_truncated"});
    }
    {
        V6 h;
        v.push_back({"ipv6_shorter_than_40", Bytes(39, 0x60), DecodeStatus::truncated, "ipv6_header_truncated"});
        h.payload_length = 200;
        v.push_back({"ipv6_payload_length_past_buffer", test::ipv6(h, u), DecodeStatus::truncated,
                     "ipv6_payload_length_exceeds_buffer"});
        h.payload_length = 0;
        v.push_back({"ipv6_payload_length_zero_jumbogram", test::ipv6(h, u), DecodeStatus::malformed,
                     "ipv6_payload_length_zero"});
    }
    {
        V6 h;
        h.next = ipproto::ipv6_dest_opts;
        v.push_back({"ipv6_hop_by_hop_after_dest_opts",
                     test::ipv6(h, test::cat({test::ext(ipproto::hop_by_hop), test::ext(ipproto::udp), u})),
                     DecodeStatus::malformed, "ipv6_hop_by_hop_not_first"});
        v.push_back({"ipv6_three_dest_opts",
                     test::ipv6(h, test::cat({test::ext(ipproto::ipv6_dest_opts), test::ext(ipproto::ipv6_dest_opts),
                                              test::ext(ipproto::udp), u})),
                     DecodeStatus::malformed, "ipv6_extension_header_repeated"});
        v.push_back({"ipv6_ext_header_length_past_payload", test::ipv6(h, test::cat({Bytes{17, 200}, Bytes(6, 0), u})),
                     DecodeStatus::malformed, "ipv6_extension_header_truncated"});
        v.push_back({"ipv6_ext_header_one_byte_left", test::ipv6(h, Bytes{17}), DecodeStatus::malformed,
                     "ipv6_extension_header_truncated"});
    }
    {
        V6 h;
        h.next = ipproto::ipv6_routing;
        v.push_back({"ipv6_routing_twice",
                     test::ipv6(h, test::cat({test::ext(ipproto::ipv6_routing), test::ext(ipproto::udp), u})),
                     DecodeStatus::malformed, "ipv6_extension_header_repeated"});
    }
    {
        V6 h;
        h.next = ipproto::ipv6_fragment;
        v.push_back({"ipv6_fragment_twice",
                     test::ipv6(h, test::cat({test::frag_ext(ipproto::ipv6_fragment, 0, true),
                                              test::frag_ext(ipproto::udp, 0, true), u})),
                     DecodeStatus::malformed, "ipv6_extension_header_repeated"});
        v.push_back({"ipv6_fragment_past_65535",
                     test::ipv6(h, test::cat({test::frag_ext(ipproto::udp, 65528, false), Bytes(64, 0)})),
                     DecodeStatus::malformed, "ipv6_fragment_too_large"});
    }
    {
        V6 h;
        h.next = ipproto::udp;
        v.push_back({"ipv6_udp_length_past_payload", test::ipv6(h, test::udp(1, 2, {}, 100)), DecodeStatus::malformed,
                     "udp_length_invalid"});
    }
    return v;
}

class PacketMalformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(PacketMalformed, ReportsStatusAndStableReason) {
    const BadCase& c = GetParam();
    // Exactly sized heap copy: ASan flags any read past the end.
    std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[c.packet.size() + 1]);
    if (!c.packet.empty()) std::memcpy(buf.get(), c.packet.data(), c.packet.size());
    const DecodedPacket p = decode_ip(c.packet.empty() ? nullptr : buf.get(), c.packet.size());
    EXPECT_EQ(p.status, c.status) << to_string(p.status) << " " << p.reason;
    EXPECT_EQ(p.reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(Table, PacketMalformed, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

// ---------------------------------------------------------------- IPv6

TEST(PacketIpv6, UdpDecodesAddressesPortsHopLimitAndTrafficClass) {
    const Bytes pkt = test::ipv6(V6{}, test::udp(5060, 5080, test::text_bytes("OPTIONS")));
    const DecodedPacket p = decode(pkt);
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.src, ip("2001:db8::1"));
    EXPECT_EQ(p.dst, ip("2001:db8::2"));
    EXPECT_EQ(p.ttl, 255);
    EXPECT_EQ(p.dscp_ecn, 0x2e);
    EXPECT_EQ(p.l3_header_length, 40u);
    EXPECT_EQ(p.ipv6_extension_headers, 0u);
    EXPECT_EQ(p.src_port, 5060);
    EXPECT_EQ(p.dst_port, 5080);
    EXPECT_EQ(payload_of(p), "OPTIONS");
}

TEST(PacketIpv6, ChainHopByHopRoutingDestOptsThenUdpIsWalked) {
    V6 h;
    h.next = ipproto::hop_by_hop;
    const Bytes rest = test::cat({test::ext(ipproto::ipv6_routing), test::ext(ipproto::ipv6_dest_opts, 1),
                                  test::ext(ipproto::udp), test::udp(1000, 2000, test::text_bytes("rtp"))});
    const DecodedPacket p = decode(test::ipv6(h, rest));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.ipv6_extension_headers, 3u);
    EXPECT_EQ(p.l3_header_length, 40u + 8 + 16 + 8);
    EXPECT_EQ(p.protocol, ipproto::udp);
    EXPECT_EQ(p.src_port, 1000);
    EXPECT_EQ(payload_of(p), "rtp");
}

TEST(PacketIpv6, TwoDestinationOptionsHeadersAreAllowed) {
    V6 h;
    h.next = ipproto::ipv6_dest_opts;
    const Bytes rest = test::cat({test::ext(ipproto::ipv6_routing), test::ext(ipproto::ipv6_dest_opts),
                                  test::ext(ipproto::udp), test::udp(1, 2, {})});
    const DecodedPacket p = decode(test::ipv6(h, rest));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.ipv6_extension_headers, 3u);
}

TEST(PacketIpv6, FirstFragmentIsFlaggedAndKeepsPorts) {
    V6 h;
    h.next = ipproto::ipv6_fragment;
    const DecodedPacket p =
        decode(test::ipv6(h, test::cat({test::frag_ext(ipproto::udp, 0, true, 0xdeadbeef),
                                         test::udp(5060, 5060, test::text_bytes("INVITE"), 4000)})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_first_fragment());
    EXPECT_EQ(p.fragment_id, 0xdeadbeefu);
    EXPECT_TRUE(p.has_l4);
    EXPECT_EQ(p.dst_port, 5060);
    EXPECT_EQ(payload_of(p), "INVITE");
}

TEST(PacketIpv6, LaterFragmentHasNoL4Header) {
    V6 h;
    h.next = ipproto::ipv6_fragment;
    const DecodedPacket p = decode(test::ipv6(h, test::cat({test::frag_ext(ipproto::udp, 1232, false),
                                                            test::text_bytes("more body")})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_later_fragment());
    EXPECT_EQ(p.fragment_offset, 1232);
    EXPECT_FALSE(p.more_fragments);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.protocol, ipproto::udp);
    EXPECT_EQ(payload_of(p), "more body");
}

TEST(PacketIpv6, AtomicFragmentIsNotAFragment) {
    V6 h;
    h.next = ipproto::ipv6_fragment;
    const DecodedPacket p = decode(test::ipv6(h, test::cat({test::frag_ext(ipproto::udp, 0, false),
                                                            test::udp(7, 8, {})})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_FALSE(p.is_fragment);
    EXPECT_EQ(p.dst_port, 8);
}

TEST(PacketIpv6, AuthenticationHeaderLengthIsInFourOctetUnits) {
    V6 h;
    h.next = ipproto::ah;
    // Payload length 4 -> (4 + 2) * 4 = 24 bytes.
    const DecodedPacket p = decode(test::ipv6(h, test::cat({test::ah_ext(ipproto::udp, 4), test::udp(9, 10, {})})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.l3_header_length, 40u + 24);
    EXPECT_EQ(p.src_port, 9);
}

TEST(PacketIpv6, EspEndsTheChainWithoutL4) {
    V6 h;
    h.next = ipproto::hop_by_hop;
    const DecodedPacket p = decode(test::ipv6(h, test::cat({test::ext(ipproto::esp), Bytes(32, 0xab)})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.protocol, ipproto::esp);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.payload_length, 32u);
}

TEST(PacketIpv6, NoNextHeaderEndsTheChain) {
    V6 h;
    h.next = ipproto::ipv6_dest_opts;
    const DecodedPacket p = decode(test::ipv6(h, test::ext(ipproto::ipv6_no_next)));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.protocol, ipproto::ipv6_no_next);
    EXPECT_EQ(p.payload_length, 0u);
}

TEST(PacketIpv6, EmptyPayloadWithNoNextHeaderIsValid) {
    V6 h;
    h.next = ipproto::ipv6_no_next;
    EXPECT_TRUE(decode(test::ipv6(h, {})).ok());
}

TEST(PacketIpv6, NineExtensionHeadersAreTooMany) {
    V6 h;
    h.next = ipproto::hop_by_hop;
    const Bytes rest = test::cat({test::ext(ipproto::ipv6_dest_opts), test::ext(ipproto::ipv6_routing),
                                  test::ext(ipproto::ipv6_fragment), test::frag_ext(ipproto::ah, 0, false),
                                  test::ah_ext(ipproto::mobility, 4), test::ext(ipproto::hip),
                                  test::ext(ipproto::shim6), test::ext(ipproto::ipv6_dest_opts),
                                  test::ext(ipproto::udp), test::udp(1, 2, {})});
    const DecodedPacket p = decode(test::ipv6(h, rest));
    EXPECT_EQ(p.status, DecodeStatus::malformed);
    EXPECT_EQ(p.reason, "ipv6_too_many_extension_headers");
}

TEST(PacketIpv6, EndlessChainOfMobilityHeadersStopsAtTheBound) {
    // Headers with no "at most once" rule still hit the count bound.
    V6 h;
    h.next = ipproto::mobility;
    Bytes rest;
    for (int i = 0; i < 200; ++i) test::append(rest, test::ext(ipproto::mobility));
    const DecodedPacket p = decode(test::ipv6(h, rest));
    EXPECT_EQ(p.status, DecodeStatus::malformed);
    EXPECT_EQ(p.reason, "ipv6_too_many_extension_headers");
}

TEST(PacketIpv6, Icmpv6DecodesToL3Only) {
    V6 h;
    h.next = ipproto::icmpv6;
    const DecodedPacket p = decode(test::ipv6(h, Bytes{128, 0, 0, 0, 0, 1, 0, 1}));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.protocol, ipproto::icmpv6);
    EXPECT_FALSE(p.has_l4);
}

TEST(PacketIpv6, TcpOverIpv6DecodesFlags) {
    V6 h;
    h.next = ipproto::tcp;
    const DecodedPacket p = decode(test::ipv6(h, test::tcp(5061, 40000, tcpflag::fin | tcpflag::ack, {}, {})));
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_tcp());
    EXPECT_TRUE(p.has_tcp_flag(tcpflag::fin));
    EXPECT_EQ(p.payload_length, 0u);
}

// ---------------------------------------------------------------- robustness

std::vector<Bytes> golden_packets() {
    std::vector<Bytes> v;
    V4 h4;
    h4.options = {0x94, 0x04, 0x00, 0x00};
    v.push_back(test::ipv4(h4, test::udp(5060, 5060, test::text_bytes("SIP/2.0 200 OK"))));
    V4 t4;
    t4.protocol = ipproto::tcp;
    v.push_back(test::ipv4(t4, test::tcp(1, 2, tcpflag::syn, {2, 4, 5, 0xb4}, test::text_bytes("x"))));
    V6 h6;
    h6.next = ipproto::hop_by_hop;
    v.push_back(test::ipv6(h6, test::cat({test::ext(ipproto::ipv6_fragment), test::frag_ext(ipproto::ah, 0, true),
                                          test::ah_ext(ipproto::udp, 1), test::udp(1, 2, test::text_bytes("abc"))})));
    V6 t6;
    t6.next = ipproto::tcp;
    v.push_back(test::ipv6(t6, test::tcp(1, 2, tcpflag::ack, {1, 1, 1, 1}, test::text_bytes("y"))));
    return v;
}

TEST(PacketRobustness, EveryCutOfAValidPacketIsTruncatedOrMalformed) {
    for (const Bytes& full : golden_packets()) {
        ASSERT_TRUE(decode(full).ok());
        for (std::size_t n = 0; n < full.size(); ++n) {
            // Exactly sized heap copy so that ASan catches a read past the cut.
            std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n == 0 ? 1 : n]);
            std::memcpy(buf.get(), full.data(), n);
            const DecodedPacket p = decode_ip(buf.get(), n);
            EXPECT_NE(p.status, DecodeStatus::ok) << "cut at " << n << " of " << full.size();
            EXPECT_FALSE(p.reason.empty());
            EXPECT_NE(p.reason, "ok");
        }
    }
}

TEST(PacketRobustness, EveryCutOfTheIpLengthFieldStaysInBounds) {
    // Shrinking the declared length (not the buffer) must never let the
    // decoder read past the declared end: the payload stays inside it.
    for (const Bytes& full : golden_packets()) {
        for (std::size_t declared = 0; declared <= full.size(); ++declared) {
            Bytes b = full;
            if ((b[0] >> 4) == 4) {
                b[2] = static_cast<std::uint8_t>(declared >> 8);
                b[3] = static_cast<std::uint8_t>(declared);
            } else {
                const std::size_t plen = declared < 40 ? 0 : declared - 40;
                b[4] = static_cast<std::uint8_t>(plen >> 8);
                b[5] = static_cast<std::uint8_t>(plen);
            }
            const DecodedPacket p = decode(b);
            if (p.payload != nullptr) {
                EXPECT_LE(p.payload + p.payload_length, b.data() + std::max<std::size_t>(declared, 40));
            }
        }
    }
}

TEST(PacketRobustness, OddAlignedBufferDecodesIdentically) {
    for (const Bytes& full : golden_packets()) {
        std::vector<std::uint8_t> storage(full.size() + 8);
        for (std::size_t shift = 1; shift < 8; shift += 2) {
            std::memcpy(storage.data() + shift, full.data(), full.size());
            const DecodedPacket a = decode(full);
            const DecodedPacket b = decode_ip(storage.data() + shift, full.size());
            EXPECT_EQ(a.status, b.status);
            EXPECT_EQ(a.src, b.src);
            EXPECT_EQ(a.dst, b.dst);
            EXPECT_EQ(a.src_port, b.src_port);
            EXPECT_EQ(a.dst_port, b.dst_port);
            EXPECT_EQ(a.payload_length, b.payload_length);
            EXPECT_EQ(a.tcp_seq, b.tcp_seq);
            EXPECT_EQ(b.payload - (storage.data() + shift), a.payload - full.data());
        }
    }
}

TEST(PacketRobustness, MultiByteFieldsAreReadInNetworkOrder) {
    // Ports 0x1234 / 0xABCD must decode the same on any host byte order.
    const DecodedPacket p = decode(test::ipv4(V4{}, test::udp(0x1234, 0xabcd, {})));
    EXPECT_EQ(p.src_port, 0x1234);
    EXPECT_EQ(p.dst_port, 0xabcd);
    EXPECT_EQ(p.fragment_id, 0x1234u);
}

TEST(PacketRobustness, DecodingAllocatesNothing) {
    const std::vector<Bytes> packets = golden_packets();
    test::AllocationScope scope;
    std::size_t ok = 0;
    for (const Bytes& b : packets) ok += decode_ip(b.data(), b.size()).ok() ? 1 : 0;
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(ok, packets.size());
}

TEST(PacketRobustness, AllFirstBytesAndShortLengthsAreHandled) {
    for (unsigned first = 0; first < 256; ++first) {
        for (std::size_t n = 1; n < 64; ++n) {
            std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n]);
            std::memset(buf.get(), 0xff, n);
            buf[0] = static_cast<std::uint8_t>(first);
            const DecodedPacket p = decode_ip(buf.get(), n);
            if (p.payload) {
                EXPECT_LE(p.payload + p.payload_length, buf.get() + n);
            }
        }
    }
}

// ---------------------------------------------------------------- flow keys

TEST(FlowKeyTest, SameKeyForBothDirectionsIpv4) {
    V4 fwd;
    V4 rev;
    std::memcpy(rev.src, fwd.dst, 4);
    std::memcpy(rev.dst, fwd.src, 4);
    const DecodedPacket a = decode(test::ipv4(fwd, test::udp(10000, 20000, {})));
    const DecodedPacket b = decode(test::ipv4(rev, test::udp(20000, 10000, {})));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(a.tuple(), b.tuple());
    EXPECT_EQ(a.tuple().reversed(), b.tuple());
    EXPECT_EQ(a.flow_key(), b.flow_key());
    EXPECT_EQ(a.flow_key().hash(), b.flow_key().hash());
}

TEST(FlowKeyTest, SameKeyForBothDirectionsIpv6) {
    V6 fwd;
    V6 rev;
    std::memcpy(rev.src, fwd.dst, 16);
    std::memcpy(rev.dst, fwd.src, 16);
    const DecodedPacket a = decode(test::ipv6(fwd, test::udp(5060, 5060, {})));
    const DecodedPacket b = decode(test::ipv6(rev, test::udp(5060, 5060, {})));
    EXPECT_EQ(a.flow_key(), b.flow_key());
    EXPECT_EQ(FlowKeyHash{}(a.flow_key()), FlowKeyHash{}(b.flow_key()));
}

TEST(FlowKeyTest, SameAddressesDifferentPortsOrderByPort) {
    const IpAddress h = ip("192.0.2.1");
    const FlowKey k1 = FlowKey::from({h, h, 9000, 8000, ipproto::udp});
    const FlowKey k2 = FlowKey::from({h, h, 8000, 9000, ipproto::udp});
    EXPECT_EQ(k1, k2);
    EXPECT_EQ(k1.port_a, 8000);
}

TEST(FlowKeyTest, DifferentPortsProtocolsOrAddressesGiveDifferentKeys) {
    const IpAddress a = ip("192.0.2.1"), b = ip("192.0.2.2"), c = ip("192.0.2.3");
    const FlowKey base = FlowKey::from({a, b, 1000, 2000, ipproto::udp});
    EXPECT_NE(base, FlowKey::from({a, b, 1000, 2001, ipproto::udp}));
    EXPECT_NE(base, FlowKey::from({a, b, 1000, 2000, ipproto::tcp}));
    EXPECT_NE(base, FlowKey::from({a, c, 1000, 2000, ipproto::udp}));
    // Swapping only the ports (not the addresses) is a different flow.
    EXPECT_NE(base, FlowKey::from({a, b, 2000, 1000, ipproto::udp}));
}

TEST(FlowKeyTest, WorksAsUnorderedSetKey) {
    std::unordered_set<FlowKey, FlowKeyHash> flows;
    const IpAddress a = ip("2001:db8::1"), b = ip("192.0.2.2");
    flows.insert(FlowKey::from({a, b, 1, 2, ipproto::udp}));
    flows.insert(FlowKey::from({b, a, 2, 1, ipproto::udp}));
    flows.insert(FlowKey::from({a, b, 1, 3, ipproto::udp}));
    EXPECT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows.count(FlowKey::from({b, a, 3, 1, ipproto::udp})), 1u);
}

TEST(DecodeStatusTest, NamesAreStable) {
    EXPECT_EQ(to_string(DecodeStatus::ok), "ok");
    EXPECT_EQ(to_string(DecodeStatus::truncated), "truncated");
    EXPECT_EQ(to_string(DecodeStatus::malformed), "malformed");
}

}  // namespace
}  // namespace vg::net
