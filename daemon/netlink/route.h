// SPDX-License-Identifier: GPL-2.0-or-later
// Which interface the router's routing table uses for a handset network
// (rtnetlink, RTM_GETROUTE dump of the main table). The daemon binds each
// handset network to its voice interface(s) from this when the policy does
// not list them (handsets.interfaces): a packet with a handset source address
// arriving on any other interface is forged.
//
// The parser is a pure function of the kernel's bytes (tested on recorded
// messages); dump_routes() does the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "filters/net/ip_address.h"

namespace vg::netlink {

// One RTM_NEWROUTE message (host-order values).
struct Route {
    net::Family family = net::Family::v4;
    net::IpAddress dst;        // unset (invalid) for a default route
    std::uint8_t dst_len = 0;
    std::uint32_t table = 0;   // RTA_TABLE, else rtm_table
    std::uint8_t type = 0;     // RTN_UNICAST, RTN_LOCAL, ...
    std::uint32_t oif = 0;     // RTA_OIF; 0 when absent (multipath, blackhole)
};

// The routes of every RTM_NEWROUTE message in `len` bytes (one or more
// datagrams' worth of messages; NLMSG_DONE ends the walk). Messages that do
// not parse (short header, attributes that overrun) are skipped; false when
// the walk stopped at bytes that are not a message.
bool parse_routes(const std::uint8_t* data, std::size_t len, std::vector<Route>& out);

// The interface index the main table routes `network` through: the longest
// unicast route that covers the whole network. Empty with `why` when there is
// none, when the only cover is a default route, or when the route has no
// single output interface.
std::optional<std::uint32_t> route_interface(const std::vector<Route>& routes, const net::Cidr& network,
                                             std::string& why);

// Dumps the IPv4 and IPv6 routes of the current network namespace. False
// with `error` on failure.
bool dump_routes(std::vector<Route>& out, std::string& error);

// What the routes say for each network: its interface name ("lan0").
struct RoutedNetwork {
    net::Cidr network;
    std::string interface;   // empty when it cannot be bound: see `why`
    std::string why;
};
// Reads the routes of this namespace and names each network's interface.
// False with `error` when the routes cannot be read.
bool interfaces_from_routes(const std::vector<net::Cidr>& networks, std::vector<RoutedNetwork>& out,
                            std::string& error);

}  // namespace vg::netlink
