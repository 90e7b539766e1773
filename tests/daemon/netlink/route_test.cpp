// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/route.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace vg::netlink {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put(Bytes& b, const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    while (b.size() % 4) b.push_back(0);
}

void attr(Bytes& b, std::uint16_t type, const void* p, std::size_t n) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
    a.rta_type = type;
    put(b, &a, sizeof a);
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    while (b.size() % 4) b.push_back(0);
}

// One RTM_NEWROUTE as the kernel lays it out for `ip route` dumps: rtmsg,
// then RTA_TABLE, RTA_DST (not for a default route), RTA_PREFSRC, RTA_OIF.
void route(Bytes& out, int family, const char* dst, std::uint8_t len, std::uint32_t oif,
           std::uint8_t type = RTN_UNICAST, std::uint32_t table = RT_TABLE_MAIN) {
    Bytes m(NLMSG_HDRLEN, 0);
    rtmsg r{};
    r.rtm_family = static_cast<unsigned char>(family);
    r.rtm_dst_len = len;
    r.rtm_table = static_cast<unsigned char>(table < 256 ? table : RT_TABLE_COMPAT);
    r.rtm_protocol = RTPROT_KERNEL;
    r.rtm_scope = RT_SCOPE_LINK;
    r.rtm_type = type;
    put(m, &r, sizeof r);
    attr(m, RTA_TABLE, &table, 4);
    if (dst) {
        const auto a = net::IpAddress::parse(dst);
        std::uint8_t bytes[16];
        const std::size_t n = family == AF_INET6 ? 16 : 4;
        std::memcpy(bytes, a->bytes(), n);
        attr(m, RTA_DST, bytes, n);
    }
    if (oif) attr(m, RTA_OIF, &oif, 4);
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(m.size());
    h.nlmsg_type = RTM_NEWROUTE;
    h.nlmsg_flags = NLM_F_MULTI;
    std::memcpy(m.data(), &h, sizeof h);
    out.insert(out.end(), m.begin(), m.end());
}

void done(Bytes& out) {
    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(4);
    h.nlmsg_type = NLMSG_DONE;
    Bytes m(h.nlmsg_len, 0);
    std::memcpy(m.data(), &h, sizeof h);
    out.insert(out.end(), m.begin(), m.end());
}

net::Cidr cidr(const char* t) { return *net::Cidr::parse(t, true); }

// A router: WAN eth0 (default route), voice VLAN lan0.20 (index 5) with
// 192.168.20.0/24 and fd00:20::/64, a second LAN (index 6) with a /16 that
// covers nothing of ours, local routes of its own addresses.
Bytes router_dump() {
    Bytes b;
    route(b, AF_INET, nullptr, 0, 2);                       // default via eth0
    route(b, AF_INET, "192.168.20.0", 24, 5);               // voice VLAN
    route(b, AF_INET, "10.0.0.0", 16, 6);
    route(b, AF_INET, "192.168.20.1", 32, 5, RTN_LOCAL, RT_TABLE_LOCAL);
    route(b, AF_INET6, nullptr, 0, 2);
    route(b, AF_INET6, "fd00:20::", 64, 5);
    route(b, AF_INET, "192.168.30.0", 24, 0, RTN_BLACKHOLE);
    done(b);
    return b;
}

TEST(RouteParse, ReadsEveryRouteOfADump) {
    const Bytes b = router_dump();
    std::vector<Route> r;
    ASSERT_TRUE(parse_routes(b.data(), b.size(), r));
    ASSERT_EQ(r.size(), 7u);
    EXPECT_EQ(r[1].dst.to_string(), "192.168.20.0");
    EXPECT_EQ(r[1].dst_len, 24);
    EXPECT_EQ(r[1].oif, 5u);
    EXPECT_EQ(r[1].table, unsigned{RT_TABLE_MAIN});
    EXPECT_FALSE(r[0].dst.valid());
    EXPECT_EQ(r[3].type, RTN_LOCAL);
    EXPECT_EQ(r[5].family, net::Family::v6);
    EXPECT_EQ(r[5].dst.to_string(), "fd00:20::");
}

TEST(RouteParse, StopsAtBytesThatAreNotMessagesAtEveryCut) {
    const Bytes b = router_dump();
    for (std::size_t cut = 0; cut < b.size(); ++cut) {
        std::vector<Route> r;
        parse_routes(b.data(), cut, r);   // never reads past `cut`
        EXPECT_LE(r.size(), 7u);
    }
    Bytes bad = b;
    bad[0] = 0xff;   // nlmsg_len past the end
    std::vector<Route> r;
    EXPECT_FALSE(parse_routes(bad.data(), bad.size(), r));
}

TEST(RouteInterface, TheLongestCoveringUnicastRouteOfTheMainTable) {
    const Bytes b = router_dump();
    std::vector<Route> r;
    ASSERT_TRUE(parse_routes(b.data(), b.size(), r));
    std::string why;
    EXPECT_EQ(route_interface(r, cidr("192.168.20.0/24"), why), std::optional<std::uint32_t>(5));
    EXPECT_EQ(route_interface(r, cidr("192.168.20.128/25"), why), std::optional<std::uint32_t>(5));
    EXPECT_EQ(route_interface(r, cidr("fd00:20::/64"), why), std::optional<std::uint32_t>(5));
    EXPECT_EQ(route_interface(r, cidr("10.0.5.0/24"), why), std::optional<std::uint32_t>(6));
}

TEST(RouteInterface, DefaultRouteNoRouteAndBlackholeCannotBind) {
    const Bytes b = router_dump();
    std::vector<Route> r;
    ASSERT_TRUE(parse_routes(b.data(), b.size(), r));
    std::string why;
    EXPECT_FALSE(route_interface(r, cidr("172.16.0.0/24"), why));
    EXPECT_EQ(why, "172.16.0.0/24 is reached only through the default route");
    // A route narrower than the network does not cover it.
    EXPECT_FALSE(route_interface(r, cidr("192.168.0.0/16"), why));
    EXPECT_EQ(why, "192.168.0.0/16 is reached only through the default route");
    EXPECT_FALSE(route_interface(r, cidr("192.168.30.0/24"), why));
    EXPECT_EQ(why, "192.168.30.0/24 is reached only through the default route");   // blackhole is not unicast
    std::vector<Route> none;
    EXPECT_FALSE(route_interface(none, cidr("192.168.20.0/24"), why));
    EXPECT_EQ(why, "no route for 192.168.20.0/24");
}

}  // namespace
}  // namespace vg::netlink
