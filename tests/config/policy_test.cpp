// SPDX-License-Identifier: GPL-2.0-or-later
// The policy model's functions (config/policy.cpp): enum names as the policy
// spells them, the prefixes an address entry stands for.
#include "config/policy.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

TEST(Policy, EnumNamesAreThePolicysWords) {
    EXPECT_STREQ(to_string(Mode::enforce), "enforce");
    EXPECT_STREQ(to_string(Mode::monitor), "monitor");
    EXPECT_STREQ(to_string(OnFailure::open), "open");
    EXPECT_STREQ(to_string(OnFailure::closed), "closed");
    EXPECT_STREQ(to_string(Transport::tcp), "tcp");
    EXPECT_STREQ(to_string(Transport::udp), "udp");
}

TEST(Policy, AddressEntryPrefixes) {
    AddressEntry network;
    network.cidr = *net::Cidr::parse("198.51.100.0/24", true);
    ASSERT_EQ(network.prefixes().size(), 1u);
    EXPECT_EQ(network.prefixes()[0].to_string(), "198.51.100.0/24");

    // A host name stands for its resolved addresses, each a host prefix.
    AddressEntry host;
    host.host = "pbx.example.net";
    EXPECT_TRUE(host.prefixes().empty());
    host.resolved = {*net::IpAddress::parse("192.0.2.7"), *net::IpAddress::parse("2001:db8::7")};
    const auto p = host.prefixes();
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].to_string(), "192.0.2.7/32");
    EXPECT_EQ(p[1].to_string(), "2001:db8::7/128");
}

}  // namespace
}  // namespace vg::config
