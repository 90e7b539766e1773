// SPDX-License-Identifier: GPL-2.0-or-later
// Reading ICMP and ICMPv6 for what they are about: every kind, and an error
// cut at every byte.
#include "filters/engine/icmp.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/filters/net/packet_builder.h"

namespace vg::engine {
namespace {

using test::Bytes;

Bytes v4(unsigned protocol, const Bytes& payload) {
    test::V4 h;
    h.protocol = static_cast<std::uint8_t>(protocol);
    return test::ipv4(h, payload);
}
Bytes v6(unsigned next, const Bytes& payload) {
    test::V6 h;
    h.next = static_cast<std::uint8_t>(next);
    return test::ipv6(h, payload);
}
Bytes message(unsigned type, unsigned code, const Bytes& body) {
    Bytes m = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(code), 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

bool read(const Bytes& b, IcmpInfo& out) {
    const net::DecodedPacket p = net::decode_ip(b.data(), b.size());
    return read_icmp(p, out);
}

TEST(Icmp, AnErrorNamesTheFlowItQuotes) {
    const Bytes sent = test::ipv4(test::V4{}, test::udp(5060, 5070, Bytes(40, 'x')));
    IcmpInfo i;
    ASSERT_TRUE(read(v4(1, message(3, 3, sent)), i));
    EXPECT_EQ(i.kind, IcmpInfo::Kind::error);
    EXPECT_EQ(i.type, 3);
    EXPECT_EQ(i.code, 3);
    EXPECT_EQ(i.quoted.src.to_string(), "192.0.2.10");
    EXPECT_EQ(i.quoted.dst.to_string(), "198.51.100.20");
    EXPECT_EQ(i.quoted.protocol, 17);
    EXPECT_TRUE(i.has_ports);
    EXPECT_EQ(i.quoted.src_port, 5060);
    EXPECT_EQ(i.quoted.dst_port, 5070);

    const Bytes sent6 = test::ipv6(test::V6{}, test::udp(5060, 5070, Bytes(8, 'x')));
    ASSERT_TRUE(read(v6(58, message(1, 4, sent6)), i));
    EXPECT_EQ(i.kind, IcmpInfo::Kind::error);
    EXPECT_EQ(i.quoted.src.to_string(), "2001:db8::1");
    EXPECT_EQ(i.quoted.dst_port, 5070);
}

TEST(Icmp, PingsAndOtherMessagesAreNoErrors) {
    IcmpInfo i;
    ASSERT_TRUE(read(v4(1, message(8, 0, Bytes(16, 0))), i));
    EXPECT_EQ(i.kind, IcmpInfo::Kind::echo_request);
    ASSERT_TRUE(read(v6(58, message(128, 0, Bytes(16, 0))), i));
    EXPECT_EQ(i.kind, IcmpInfo::Kind::echo_request);
    ASSERT_TRUE(read(v4(1, message(0, 0, Bytes(16, 0))), i));   // echo reply
    EXPECT_EQ(i.kind, IcmpInfo::Kind::other);
    ASSERT_TRUE(read(v6(58, message(134, 0, Bytes(16, 0))), i));   // router advertisement
    EXPECT_EQ(i.kind, IcmpInfo::Kind::other);
    // ICMPv6 in IPv4 or ICMP in IPv6 is neither; UDP is not ICMP.
    EXPECT_FALSE(read(v4(58, message(1, 4, Bytes(48, 0))), i));
    EXPECT_FALSE(read(v6(1, message(3, 3, Bytes(28, 0))), i));
    EXPECT_FALSE(read(test::ipv4(test::V4{}, test::udp(1, 2, Bytes(8, 0))), i));
}

// An error quoting a later fragment names addresses but no ports; one whose
// quoted packet is not of its own family or is cut short is unreadable.
TEST(Icmp, AnErrorCutAtEveryByteIsReadOnlyAsFarAsItGoes) {
    test::V4 frag;
    frag.flags_fragment = 0x0010;   // offset 128 bytes
    IcmpInfo i;
    ASSERT_TRUE(read(v4(1, message(3, 3, test::ipv4(frag, Bytes(16, 'x')))), i));
    EXPECT_FALSE(i.has_ports);
    EXPECT_FALSE(read(v4(1, message(3, 3, test::ipv6(test::V6{}, Bytes(8, 0)))), i));

    const Bytes sent = test::ipv4(test::V4{}, test::udp(5060, 5070, Bytes(40, 'x')));
    for (std::size_t n = 0; n <= 28; ++n) {
        const Bytes cut(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(n));
        const bool ok = read(v4(1, message(11, 0, cut)), i);
        EXPECT_EQ(ok, n >= 20) << n;
        if (ok) {
            EXPECT_EQ(i.has_ports, n >= 24) << n;
        }
    }
    const Bytes sent6 = test::ipv6(test::V6{}, test::udp(5060, 5070, Bytes(8, 'x')));
    for (std::size_t n = 0; n <= 48; ++n) {
        const Bytes cut(sent6.begin(), sent6.begin() + static_cast<std::ptrdiff_t>(n));
        const bool ok = read(v6(58, message(3, 0, cut)), i);
        EXPECT_EQ(ok, n >= 40) << n;
        if (ok) {
            EXPECT_EQ(i.has_ports, n >= 44) << n;
        }
    }
}

}  // namespace
}  // namespace vg::engine
