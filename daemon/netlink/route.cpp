// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/route.h"

#include <net/if.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vg::netlink {

namespace {

constexpr std::uint32_t kMainTable = RT_TABLE_MAIN;

bool parse_one(const std::uint8_t* m, std::size_t len, Route& r) {
    constexpr std::size_t kHead = NLMSG_HDRLEN + sizeof(rtmsg);
    if (len < kHead) return false;
    rtmsg rt;
    std::memcpy(&rt, m + NLMSG_HDRLEN, sizeof rt);
    if (rt.rtm_family != AF_INET && rt.rtm_family != AF_INET6) return false;
    r = Route{};
    r.family = rt.rtm_family == AF_INET6 ? net::Family::v6 : net::Family::v4;
    r.dst_len = rt.rtm_dst_len;
    r.table = rt.rtm_table;
    r.type = rt.rtm_type;
    const std::size_t addr_len = r.family == net::Family::v6 ? 16 : 4;
    if (r.dst_len > addr_len * 8) return false;
    std::size_t off = NLMSG_ALIGN(kHead);
    while (off + sizeof(rtattr) <= len) {
        rtattr a;
        std::memcpy(&a, m + off, sizeof a);
        if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) return false;
        const std::uint8_t* payload = m + off + RTA_LENGTH(0);
        const std::size_t plen = a.rta_len - RTA_LENGTH(0);
        switch (a.rta_type) {
        case RTA_DST:
            if (plen != addr_len) return false;
            r.dst = addr_len == 16 ? net::IpAddress::v6(payload) : net::IpAddress::v4(payload);
            break;
        case RTA_OIF:
            if (plen != 4) return false;
            std::memcpy(&r.oif, payload, 4);
            break;
        case RTA_TABLE:
            if (plen != 4) return false;
            std::memcpy(&r.table, payload, 4);
            break;
        default: break;
        }
        off += RTA_ALIGN(a.rta_len);
    }
    return true;
}

}  // namespace

bool parse_routes(const std::uint8_t* data, std::size_t len, std::vector<Route>& out) {
    std::size_t off = 0;
    while (off + NLMSG_HDRLEN <= len) {
        nlmsghdr h;
        std::memcpy(&h, data + off, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off) return false;
        if (h.nlmsg_type == NLMSG_DONE) return true;
        if (h.nlmsg_type == NLMSG_ERROR) return false;
        Route r;
        if (h.nlmsg_type == RTM_NEWROUTE && parse_one(data + off, h.nlmsg_len, r)) out.push_back(r);
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
    return off == len || len - off < NLMSG_HDRLEN;
}

std::optional<std::uint32_t> route_interface(const std::vector<Route>& routes, const net::Cidr& network,
                                             std::string& why) {
    const Route* best = nullptr;
    for (const auto& r : routes) {
        if (r.table != kMainTable || r.type != RTN_UNICAST || r.family != network.network.family()) continue;
        if (r.dst_len > network.prefix) continue;   // must cover the whole network
        if (r.dst_len > 0) {
            if (!r.dst.valid()) continue;
            const net::Cidr c{r.dst, r.dst_len};
            if (!c.contains(network.network)) continue;
        }
        if (!best || r.dst_len > best->dst_len) best = &r;
    }
    if (!best) {
        why = "no route for " + network.to_string();
        return std::nullopt;
    }
    if (best->dst_len == 0) {
        why = network.to_string() + " is reached only through the default route";
        return std::nullopt;
    }
    if (best->oif == 0) {
        why = "the route for " + network.to_string() + " has no single output interface";
        return std::nullopt;
    }
    return best->oif;
}

bool dump_routes(std::vector<Route>& out, std::string& error) {
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        error = std::string("rtnetlink socket: ") + std::strerror(errno);
        return false;
    }
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bool ok = true;
    for (const int family : {AF_INET, AF_INET6}) {
        struct {
            nlmsghdr h;
            rtmsg r;
        } req{};
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
        req.h.nlmsg_type = RTM_GETROUTE;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.h.nlmsg_seq = static_cast<std::uint32_t>(family);
        req.r.rtm_family = static_cast<unsigned char>(family);
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        if (sendto(fd, &req, req.h.nlmsg_len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
            error = std::string("rtnetlink send: ") + std::strerror(errno);
            ok = false;
            break;
        }
        alignas(nlmsghdr) static std::uint8_t buf[32768];
        bool done = false;
        while (!done) {
            const ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                error = std::string("rtnetlink receive: ") + std::strerror(errno);
                ok = false;
                break;
            }
            // A datagram ends with NLMSG_DONE at the end of the dump.
            std::size_t off = 0;
            while (off + NLMSG_HDRLEN <= static_cast<std::size_t>(n)) {
                nlmsghdr h;
                std::memcpy(&h, buf + off, sizeof h);
                if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > static_cast<std::size_t>(n)) break;
                if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) done = true;
                off += NLMSG_ALIGN(h.nlmsg_len);
            }
            parse_routes(buf, static_cast<std::size_t>(n), out);
            if (n == 0) done = true;
        }
        if (!ok) break;
    }
    close(fd);
    return ok;
}

bool interfaces_from_routes(const std::vector<net::Cidr>& networks, std::vector<RoutedNetwork>& out,
                            std::string& error) {
    std::vector<Route> routes;
    if (!dump_routes(routes, error)) return false;
    for (const auto& n : networks) {
        RoutedNetwork r;
        r.network = n;
        if (const auto oif = route_interface(routes, n, r.why)) {
            char name[IF_NAMESIZE] = {};
            if (if_indextoname(*oif, name) != nullptr) r.interface = name;
            else r.why = "interface " + std::to_string(*oif) + " of the route for " + n.to_string() + " has no name";
        }
        out.push_back(std::move(r));
    }
    return true;
}

}  // namespace vg::netlink
