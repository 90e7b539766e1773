// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/link.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "tests/filters/net/packet_builder.h"
#include "tests/filters/net/pcap_file.h"
#include "tests/support/corpus_gtest.h"

namespace vg::net {
namespace {

using test::Bytes;

Bytes ip_packet() { return test::ipv4(test::V4{}, test::udp(5060, 5060, test::text_bytes("x"))); }

Bytes ethernet(std::initializer_list<std::uint16_t> tags_then_type, const Bytes& payload) {
    Bytes b(12, 0x02);
    for (auto t : tags_then_type) test::put16(b, t);
    test::append(b, payload);
    return b;
}

TEST(LinkEthernet, PlainFrameFindsIpv4) {
    const Bytes f = ethernet({0x0800}, ip_packet());
    const LinkFrame l = decode_link(LinkType::ethernet, f.data(), f.size());
    ASSERT_TRUE(l.ok()) << l.reason;
    EXPECT_TRUE(l.is_ip);
    EXPECT_EQ(l.ethertype, 0x0800);
    EXPECT_EQ(l.l3_offset, 14u);
    EXPECT_EQ(l.vlan_count, 0u);
    EXPECT_TRUE(decode_ip(l.l3, l.l3_length).ok());
}

TEST(LinkEthernet, QinQTagsAreSkippedAndVlanIdsKept) {
    const Bytes f = ethernet({0x88a8, 0x0064, 0x8100, 0x20c8, 0x86dd}, Bytes(40, 0x60));
    const LinkFrame l = decode_link(LinkType::ethernet, f.data(), f.size());
    ASSERT_TRUE(l.ok()) << l.reason;
    EXPECT_EQ(l.vlan_count, 2u);
    EXPECT_EQ(l.vlan_ids[0], 100);
    EXPECT_EQ(l.vlan_ids[1], 200);
    EXPECT_EQ(l.ethertype, 0x86dd);
    EXPECT_EQ(l.l3_offset, 22u);
}

TEST(LinkEthernet, TooManyVlanTagsIsMalformed) {
    const Bytes f = ethernet({0x8100, 1, 0x8100, 2, 0x8100, 3, 0x8100, 4, 0x8100, 5, 0x0800}, ip_packet());
    const LinkFrame l = decode_link(LinkType::ethernet, f.data(), f.size());
    EXPECT_EQ(l.status, DecodeStatus::malformed);
    EXPECT_EQ(l.reason, "too_many_vlan_tags");
}

TEST(LinkEthernet, ArpIsOkButNotIp) {
    const Bytes f = ethernet({0x0806}, Bytes(28, 0));
    const LinkFrame l = decode_link(LinkType::ethernet, f.data(), f.size());
    EXPECT_TRUE(l.ok());
    EXPECT_FALSE(l.is_ip);
    EXPECT_EQ(l.reason, "not_ip");
}

TEST(LinkEthernet, EveryCutOfATaggedHeaderIsTruncated) {
    const Bytes f = ethernet({0x8100, 0x0064, 0x0800}, {});
    for (std::size_t n = 0; n < f.size(); ++n) {
        std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n + 1]);
        std::memcpy(buf.get(), f.data(), n);
        const LinkFrame l = decode_link(LinkType::ethernet, buf.get(), n);
        EXPECT_EQ(l.status, DecodeStatus::truncated) << n;
    }
}

TEST(LinkCooked, SllV1AndV2FindTheProtocol) {
    Bytes sll(14, 0);
    test::put16(sll, 0x0800);
    test::append(sll, ip_packet());
    LinkFrame l = decode_link(LinkType::linux_sll, sll.data(), sll.size());
    ASSERT_TRUE(l.ok()) << l.reason;
    EXPECT_EQ(l.l3_offset, 16u);
    EXPECT_TRUE(l.is_ip);

    Bytes sll2;
    test::put16(sll2, 0x86dd);
    sll2.resize(20, 0);
    test::append(sll2, Bytes(40, 0x60));
    l = decode_link(LinkType::linux_sll2, sll2.data(), sll2.size());
    ASSERT_TRUE(l.ok()) << l.reason;
    EXPECT_EQ(l.l3_offset, 20u);
    EXPECT_EQ(l.ethertype, 0x86dd);

    EXPECT_EQ(decode_link(LinkType::linux_sll2, sll2.data(), 19).reason, "sll2_header_truncated");
    EXPECT_EQ(decode_link(LinkType::linux_sll, sll.data(), 15).reason, "sll_header_truncated");
}

TEST(LinkRawAndNull, RawIpAndBsdLoopbackFindIp) {
    const Bytes ip = ip_packet();
    LinkFrame l = decode_link(LinkType::raw, ip.data(), ip.size());
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l.l3_offset, 0u);
    EXPECT_EQ(l.ethertype, 0x0800);

    Bytes null_frame = {2, 0, 0, 0};  // AF_INET, little-endian host
    test::append(null_frame, ip);
    l = decode_link(LinkType::null, null_frame.data(), null_frame.size());
    ASSERT_TRUE(l.ok());
    EXPECT_TRUE(l.is_ip);
    EXPECT_EQ(l.l3_offset, 4u);

    Bytes null_be = {0, 0, 0, 30};  // AF_INET6 (Darwin), big-endian host
    test::append(null_be, Bytes(40, 0x60));
    l = decode_link(LinkType::null, null_be.data(), null_be.size());
    EXPECT_EQ(l.ethertype, 0x86dd);

    const Bytes junk = {0x70, 0};
    EXPECT_EQ(decode_link(LinkType::raw, junk.data(), junk.size()).reason, "ip_version_invalid");
}

TEST(LinkPcapType, KnownLinkTypesMap) {
    LinkType t{};
    EXPECT_TRUE(link_type_from_pcap(1, t));
    EXPECT_EQ(t, LinkType::ethernet);
    EXPECT_TRUE(link_type_from_pcap(276, t));
    EXPECT_EQ(t, LinkType::linux_sll2);
    EXPECT_TRUE(link_type_from_pcap(12, t));
    EXPECT_EQ(t, LinkType::raw);
    EXPECT_FALSE(link_type_from_pcap(105, t));  // 802.11
}

// Recorded captures from the third-party corpus; each test skips without its
// capture.
TEST(LinkRecorded, EveryPacketOfTheSippG711aCaptureDecodesAsUdp) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/sipp__g711a.pcap", "every packet of a recorded RTP stream decodes as UDP");
    const auto pcap = test::parse_pcap(file);
    ASSERT_TRUE(pcap.ok);
    LinkType t{};
    ASSERT_TRUE(link_type_from_pcap(pcap.linktype, t));
    std::size_t udp = 0;
    for (const auto& raw : pcap.packets) {
        const LinkFrame l = decode_link(t, test::bytes_of(raw), raw.size());
        ASSERT_TRUE(l.ok() && l.is_ip);
        const DecodedPacket p = decode_ip(l.l3, l.l3_length);
        ASSERT_TRUE(p.ok()) << p.reason;
        if (p.is_udp()) ++udp;
    }
    EXPECT_EQ(udp, pcap.packets.size());
    EXPECT_GT(udp, 200u);
}

TEST(LinkRecorded, Ipv6SipCaptureDecodesWithPorts5060) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/heplify__sip_ipv6_udp.pcap", "a recorded IPv6 SIP call decodes with ports 5060");
    const auto pcap = test::parse_pcap(file);
    ASSERT_TRUE(pcap.ok);
    LinkType t{};
    ASSERT_TRUE(link_type_from_pcap(pcap.linktype, t));
    std::size_t v6 = 0;
    for (const auto& raw : pcap.packets) {
        const LinkFrame l = decode_link(t, test::bytes_of(raw), raw.size());
        if (!l.is_ip) continue;
        const DecodedPacket p = decode_ip(l.l3, l.l3_length);
        ASSERT_TRUE(p.ok()) << p.reason;
        if (p.ip_version == 6 && p.is_udp() && (p.src_port == 5060 || p.dst_port == 5060)) ++v6;
    }
    EXPECT_GT(v6, 0u);
}

}  // namespace
}  // namespace vg::net
