// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/ip_address.h"

#include <gtest/gtest.h>

#include <string_view>
#include <unordered_set>

namespace vg::net {
namespace {

TEST(IpAddressTest, ParsesDottedQuadAndPrintsIt) {
    const auto a = IpAddress::parse("192.0.2.1");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->to_string(), "192.0.2.1");
    EXPECT_EQ(*a, IpAddress::v4(0xc0000201u));
}

TEST(IpAddressTest, ParsesIpv6IncludingBracketsAndMappedTail) {
    const auto a = IpAddress::parse("[2001:db8::1]");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v6());
    EXPECT_EQ(a->to_string(), "2001:db8::1");
    const auto m = IpAddress::parse("::ffff:192.0.2.2");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->is_v6());
    EXPECT_EQ(m->bytes()[15], 2);
}

TEST(IpAddressTest, RejectsNonAddresses) {
    for (const char* s : {"", "host.example.com", "256.1.1.1", "1.2.3", "01.2.3.4x", "2001:db8:::1", "[::1",
                          "1.2.3.4 ", "::1::"})
        EXPECT_FALSE(IpAddress::parse(s)) << s;
}

// inet_pton stops at a NUL: text that has one is no address, whatever
// comes before it (a YAML "\0" escape in the policy).
TEST(IpAddressTest, RejectsTextWithNul) {
    using namespace std::string_view_literals;
    for (const std::string_view s : {"203.0.113.10\0junk"sv, "203.0.113.10\0"sv, "2001:db8::1\0x"sv, "\0"sv})
        EXPECT_FALSE(IpAddress::parse(s)) << s.size();
    EXPECT_FALSE(Cidr::parse("203.0.113.0\0/24"sv));
    EXPECT_FALSE(Cidr::parse("203.0.113.0/24\0"sv));
    EXPECT_FALSE(Cidr::parse("203.0.113.0/2\0004"sv));
}

TEST(IpAddressTest, RecognisesIpv4MappedAddresses) {
    const auto m = IpAddress::parse("::ffff:203.0.113.10");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->is_v4_mapped());
    EXPECT_EQ(m->mapped_v4(), *IpAddress::parse("203.0.113.10"));
    for (const char* s : {"203.0.113.10", "::203.0.113.10", "2001:db8::ffff:cb00:710a", "::1"}) {
        EXPECT_FALSE(IpAddress::parse(s)->is_v4_mapped()) << s;
        EXPECT_FALSE(IpAddress::parse(s)->mapped_v4().valid()) << s;
    }
}

TEST(IpAddressTest, UnspecifiedAddressesAreRecognised) {
    EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
    EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
    EXPECT_FALSE(IpAddress::parse("0.0.0.1")->is_unspecified());
    EXPECT_FALSE(IpAddress{}.is_unspecified());
}

TEST(IpAddressTest, OrderingAndHashingDistinguishFamilies) {
    const IpAddress v4 = *IpAddress::parse("0.0.0.0");
    const IpAddress v6 = *IpAddress::parse("::");
    EXPECT_NE(v4, v6);
    EXPECT_TRUE(v4 < v6);
    std::unordered_set<IpAddress, IpAddressHash> s{v4, v6, *IpAddress::parse("0.0.0.0")};
    EXPECT_EQ(s.size(), 2u);
}

TEST(CidrTest, ContainsAndOverlaps) {
    const auto net = Cidr::parse("192.0.2.0/24");
    ASSERT_TRUE(net);
    EXPECT_TRUE(net->contains(*IpAddress::parse("192.0.2.200")));
    EXPECT_FALSE(net->contains(*IpAddress::parse("192.0.3.1")));
    EXPECT_FALSE(net->contains(*IpAddress::parse("::ffff:192.0.2.1")));
    EXPECT_TRUE(net->overlaps(*Cidr::parse("192.0.0.0/16")));
    EXPECT_FALSE(net->overlaps(*Cidr::parse("198.51.100.0/24")));
    EXPECT_EQ(Cidr::parse("2001:db8::1/32")->to_string(), "2001:db8::/32");
}

TEST(CidrTest, StrictRejectsHostBitsAndBadPrefixes) {
    EXPECT_FALSE(Cidr::parse("192.0.2.1/24", true));
    EXPECT_TRUE(Cidr::parse("192.0.2.1/24", false));
    EXPECT_FALSE(Cidr::parse("192.0.2.0/33"));
    EXPECT_FALSE(Cidr::parse("2001:db8::/129"));
    EXPECT_FALSE(Cidr::parse("192.0.2.0/"));
    EXPECT_EQ(Cidr::parse("192.0.2.7")->prefix, 32u);
}

}  // namespace
}  // namespace vg::net
