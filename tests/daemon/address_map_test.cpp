// SPDX-License-Identifier: GPL-2.0-or-later
// `replay --map`: the mapping text, the arithmetic (host bits kept, the
// longest prefix), and the rewriting of packets (IP headers, an ICMP error's
// quote, the SIP/SDP text with its lengths fixed up).
#include "daemon/address_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filters/net/packet.h"
#include "tests/support/sip_packets.h"

namespace vg::daemon {
namespace {

using namespace test::sip_packets;

std::string mapped(const AddressMap& m, const char* a) {
    const auto r = m.map(*net::IpAddress::parse(a));
    return r ? r->to_string() : "-";
}

TEST(AddressMap, Ipv4PrefixKeepsTheHostBits) {
    AddressMap m;
    std::string error;
    ASSERT_TRUE(m.add("192.168.57.0/24=192.168.20.0/24", error)) << error;
    EXPECT_EQ(mapped(m, "192.168.57.101"), "192.168.20.101");
    EXPECT_EQ(mapped(m, "192.168.57.0"), "192.168.20.0");
    EXPECT_EQ(mapped(m, "192.168.58.1"), "-");
    // Host bits of the text are ignored on both sides, as NETMAP does.
    ASSERT_TRUE(m.add("10.1.2.3/16=172.16.9.9/16", error)) << error;
    EXPECT_EQ(mapped(m, "10.1.200.7"), "172.16.200.7");
}

TEST(AddressMap, BareAddressesAreHostPrefixesAndTheLongestPrefixWins) {
    AddressMap m;
    std::string error;
    ASSERT_TRUE(m.add("199.7.173.0/24=203.0.113.0/24", error)) << error;
    ASSERT_TRUE(m.add("199.7.173.103=203.0.113.10", error)) << error;
    EXPECT_EQ(mapped(m, "199.7.173.103"), "203.0.113.10");
    EXPECT_EQ(mapped(m, "199.7.173.104"), "203.0.113.104");
}

TEST(AddressMap, Ipv6PrefixKeepsTheHostBits) {
    AddressMap m;
    std::string error;
    ASSERT_TRUE(m.add("fd17:625c:f037:2::/64=2001:db8:20::/64", error)) << error;
    EXPECT_EQ(mapped(m, "fd17:625c:f037:2:a00:27ff:feb9:4222"), "2001:db8:20:0:a00:27ff:feb9:4222");
    EXPECT_EQ(mapped(m, "fd17:625c:f037:3::1"), "-");
    ASSERT_TRUE(m.add("[fd17::1]=[2001:db8::10]", error)) << error;
    EXPECT_EQ(mapped(m, "fd17::1"), "2001:db8::10");
    EXPECT_EQ(mapped(m, "192.168.57.1"), "-");
}

TEST(AddressMap, BadTextIsRefusedWithItsReasonAndChangesNothing) {
    AddressMap m;
    std::string error;
    EXPECT_FALSE(m.add("192.168.57.0/24", error));
    EXPECT_EQ(error, "\"192.168.57.0/24\" is not CAPTURE_CIDR=POLICY_CIDR (an address or prefix on each side, e.g. "
                     "192.168.57.0/24=192.168.20.0/24)");
    EXPECT_FALSE(m.add("192.168.57.0/24=pbx.example.net", error));
    EXPECT_EQ(error.rfind("\"192.168.57.0/24=pbx.example.net\" is not CAPTURE_CIDR=POLICY_CIDR", 0), 0u) << error;
    EXPECT_FALSE(m.add("192.168.57.0/33=192.168.20.0/33", error));
    EXPECT_FALSE(m.add("=", error));
    EXPECT_FALSE(m.add("", error));
    EXPECT_TRUE(m.empty());
}

TEST(AddressMap, PrefixLengthsAndFamiliesMustAgree) {
    AddressMap m;
    std::string error;
    EXPECT_FALSE(m.add("192.168.57.0/24=192.168.20.0/25", error));
    EXPECT_EQ(error, "\"192.168.57.0/24=192.168.20.0/25\": the prefixes differ in length (/24 and /25); a mapping "
                     "keeps the host bits, so both sides need the same length");
    EXPECT_FALSE(m.add("192.168.57.101=192.168.20.0/24", error));
    EXPECT_EQ(error, "\"192.168.57.101=192.168.20.0/24\": the prefixes differ in length (/32 and /24); a mapping "
                     "keeps the host bits, so both sides need the same length");
    EXPECT_FALSE(m.add("192.168.57.0/24=2001:db8::/24", error));
    EXPECT_EQ(error, "\"192.168.57.0/24=2001:db8::/24\" maps an IPv4 prefix onto an IPv6 one");
    EXPECT_TRUE(m.empty());
    ASSERT_TRUE(m.add("192.168.57.0/24=192.168.20.0/24", error));
    EXPECT_FALSE(m.add("192.168.57.0/24=192.168.30.0/24", error));
    EXPECT_EQ(error, "\"192.168.57.0/24=192.168.30.0/24\": 192.168.57.0/24 is mapped already (onto 192.168.20.0/24)");
    EXPECT_EQ(m.mappings().size(), 1u);
}

AddressMap site_map() {
    AddressMap m;
    std::string error;
    EXPECT_TRUE(m.add("192.168.57.0/24=192.168.20.0/24", error)) << error;
    EXPECT_TRUE(m.add("199.7.173.103=203.0.113.10", error)) << error;
    EXPECT_TRUE(m.add("199.7.175.76=203.0.113.70", error)) << error;
    EXPECT_TRUE(m.add("fd17::/64=2001:db8:20::/64", error)) << error;
    return m;
}

TEST(AddressMap, TextAddressesAreReplacedWhereverSipWritesThem) {
    const AddressMap m = site_map();
    long delta = 0;
    bool changed = false;
    const std::string in =
        "INVITE sip:100@199.7.173.103:5060;transport=udp SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.57.101:5060;branch=z9hG4bK1;received=192.168.57.101\r\n"
        "Contact: <sip:201@[fd17::5]:5062>\r\n"
        "X-Not: 1199.7.173.103 199.7.173.1034 199.7.173.103a v199.7.173.103 10.0.0.1 12:30:45\r\n"
        "\r\n"
        "o=- 1 1 IN IP4 192.168.57.101\r\nc=IN IP4 199.7.175.76\r\nc=IN IP6 fd17::5\r\n";
    const std::size_t body = in.find("\r\n\r\n") + 4;
    const std::string out = m.rewrite_text(in, body, delta, changed);
    EXPECT_TRUE(changed);
    EXPECT_EQ(out,
              "INVITE sip:100@203.0.113.10:5060;transport=udp SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 192.168.20.101:5060;branch=z9hG4bK1;received=192.168.20.101\r\n"
              "Contact: <sip:201@[2001:db8:20::5]:5062>\r\n"
              "X-Not: 1199.7.173.103 199.7.173.1034 199.7.173.103a v199.7.173.103 10.0.0.1 12:30:45\r\n"
              "\r\n"
              "o=- 1 1 IN IP4 192.168.20.101\r\nc=IN IP4 203.0.113.70\r\nc=IN IP6 2001:db8:20::5\r\n");
    // What the body grew by.
    const long expected = static_cast<long>(out.size() - out.find("\r\n\r\n")) -
                          static_cast<long>(in.size() - in.find("\r\n\r\n"));
    EXPECT_EQ(delta, expected);
    EXPECT_FALSE(m.names_mapped_address("REGISTER sip:pbx.example.net SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n"));
}

TEST(AddressMap, SipDatagramIsRewrittenWithItsLengthsFixedUp) {
    const AddressMap m = site_map();
    const std::string body = sdp("192.168.57.101", 54410);
    const std::string sip = request("INVITE", "sip:02079460000@199.7.173.103", "c1", "f1", "", 1, body);
    test::Bytes pkt = v4udp("192.168.57.101", 5060, "199.7.173.103", 5060, sip);
    ASSERT_TRUE(m.map_headers(pkt.data(), pkt.size()));
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(m.map_sip_text(pkt.data(), pkt.size(), out));
    const net::DecodedPacket p = net::decode_ip(out.data(), out.size());
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.src.to_string(), "192.168.20.101");
    EXPECT_EQ(p.dst.to_string(), "203.0.113.10");
    EXPECT_EQ(p.ip_length, out.size());
    EXPECT_EQ(p.udp_length, 8 + p.payload_length);
    const std::string text = std::string(p.payload_text());
    const std::string new_body = sdp("192.168.20.101", 54410);
    EXPECT_EQ(text, request("INVITE", "sip:02079460000@203.0.113.10", "c1", "f1", "", 1, new_body));
    // (The body's addresses keep their length here: Content-Length stays.)
    EXPECT_NE(text.find("Content-Length: " + std::to_string(new_body.size()) + "\r\n"), std::string::npos);
}

TEST(AddressMap, ContentLengthFollowsABodyThatChangesLength) {
    AddressMap m;
    std::string error;
    ASSERT_TRUE(m.add("10.0.0.0/8=192.0.0.0/8", error)) << error;
    const std::string body = sdp("10.1.2.3", 4000);
    // A message whose Content-Length was 3 more than its body stays 3 more.
    std::string sip = request("INVITE", "sip:1@10.9.9.9", "c1", "f1", "", 1, body);
    const std::string cl = "Content-Length: " + std::to_string(body.size());
    sip.replace(sip.find(cl), cl.size(), "Content-Length: " + std::to_string(body.size() + 3));
    const test::Bytes pkt = v4udp("10.1.2.3", 5060, "10.9.9.9", 5060, sip);
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(m.map_sip_text(pkt.data(), pkt.size(), out));
    const net::DecodedPacket p = net::decode_ip(out.data(), out.size());
    ASSERT_TRUE(p.ok());
    // The Request-URI and To grow by one byte each, the body by two (its o=
    // and c= addresses), and Content-Length by those two.
    const std::string new_body = sdp("192.1.2.3", 4000);
    ASSERT_EQ(new_body.size(), body.size() + 2);
    std::string expected = request("INVITE", "sip:1@192.9.9.9", "c1", "f1", "", 1, new_body);
    const std::string new_cl = "Content-Length: " + std::to_string(new_body.size());
    expected.replace(expected.find(new_cl), new_cl.size(), "Content-Length: " + std::to_string(new_body.size() + 3));
    EXPECT_EQ(std::string(p.payload_text()), expected);
    EXPECT_EQ(p.ip_length, 20 + 8 + expected.size());
    EXPECT_EQ(p.udp_length, 8 + expected.size());
}

TEST(AddressMap, Ipv6DatagramAndRtpAreLeftAloneOrRewrittenAsTheyShouldBe) {
    const AddressMap m = site_map();
    const std::string sip = request("INVITE", "sip:1@[fd17::9]", "c1", "f1", "", 1, sdp("fd17::5", 4000, "", true));
    test::Bytes pkt = v6udp("fd17::5", 5060, "fd17::9", 5060, sip);
    ASSERT_TRUE(m.map_headers(pkt.data(), pkt.size()));
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(m.map_sip_text(pkt.data(), pkt.size(), out));
    const net::DecodedPacket p = net::decode_ip(out.data(), out.size());
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_EQ(p.src.to_string(), "2001:db8:20::5");
    EXPECT_EQ(p.dst.to_string(), "2001:db8:20::9");
    EXPECT_EQ(std::string(p.payload_text()),
              request("INVITE", "sip:1@[2001:db8:20::9]", "c1", "f1", "", 1, sdp("2001:db8:20::5", 4000, "", true)));
    // RTP is not text: its bytes stay as they are, only its header moves.
    test::Bytes media = v4udp("199.7.175.76", 50052, "192.168.57.101", 54410, rtp(1));
    EXPECT_TRUE(m.map_headers(media.data(), media.size()));
    EXPECT_FALSE(m.map_sip_text(media.data(), media.size(), out));
}

TEST(AddressMap, AnIcmpErrorsQuotedHeaderIsMappedToo) {
    const AddressMap m = site_map();
    // Port unreachable from the PBX about the phone's datagram to it.
    const test::Bytes quoted = v4udp("192.168.57.101", 5060, "199.7.173.103", 5060, "x");
    test::V4 h;
    h.protocol = 1;
    const auto s = net::IpAddress::parse("199.7.173.103");
    const auto d = net::IpAddress::parse("192.168.57.101");
    std::memcpy(h.src, s->bytes(), 4);
    std::memcpy(h.dst, d->bytes(), 4);
    test::Bytes icmp = {3, 3, 0, 0, 0, 0, 0, 0};
    icmp.insert(icmp.end(), quoted.begin(), quoted.end());
    test::Bytes pkt = test::ipv4(h, icmp);
    ASSERT_TRUE(m.map_headers(pkt.data(), pkt.size()));
    const net::DecodedPacket p = net::decode_ip(pkt.data(), pkt.size());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.src.to_string(), "203.0.113.10");
    const net::DecodedPacket q = net::decode_ip(p.payload + 8, p.payload_length - 8);
    EXPECT_EQ(q.src.to_string(), "192.168.20.101");
    EXPECT_EQ(q.dst.to_string(), "203.0.113.10");
}

}  // namespace
}  // namespace vg::daemon
