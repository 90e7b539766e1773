// SPDX-License-Identifier: GPL-2.0-or-later
// What the iptables backend's rules do to packets, not what they look like:
// a small interpreter of the rule text render_rules() writes (the matches
// and targets it uses, with the sets sets_for() fills) walks a grid of
// packets - every input interface, source and destination class, protocol,
// port, connection mark and conntrack state - and each outcome (queued,
// dropped, marked, sampled, or left to the router) is compared with the
// policy's semantics written out independently below. Run with and without
// voice interfaces, in enforce and monitor mode, with the handset networks
// matched in the rules and through their set, for IPv4 and IPv6.
#include "daemon/kernel/iptables_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/daemon/kernel/kernel_test_util.h"

namespace vg::kernel {
namespace {

using test::cidr;

struct Packet {
    std::string iif;
    net::IpAddress src, dst;
    std::string proto;   // udp, tcp, sctp, icmp
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t connmark = 0;
    std::string ct;      // NEW, ESTABLISHED (reply direction), ESTABLISHED-ORIGINAL, INVALID (no entry)
};

struct Outcome {
    std::string verdict = "continue";   // continue (to the router's rules), queue, drop
    bool marked = false;                // MARK with the verified mark
    std::vector<std::string> samples;   // NFLOG prefixes
    bool operator==(const Outcome& o) const {
        return verdict == o.verdict && marked == o.marked && samples == o.samples;
    }
};

std::string describe(const Outcome& o) {
    std::string s = o.verdict + (o.marked ? " marked" : "");
    for (const auto& p : o.samples) s += " log:" + p;
    return s;
}

std::string describe(const Packet& p) {
    std::ostringstream o;
    o << "iif " << p.iif << " " << p.proto << " " << p.src.to_string() << ":" << p.sport << " -> "
      << p.dst.to_string() << ":" << p.dport << " connmark 0x" << std::hex << p.connmark << std::dec << " ct "
      << p.ct;
    return o.str();
}

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> w;
    std::istringstream in(line);
    for (std::string x; in >> x;) w.push_back(x);
    return w;
}

bool port_in(std::uint16_t port, const std::string& spec) {   // "5060,5061" or "10000:20000"
    std::istringstream in(spec);
    for (std::string item; std::getline(in, item, ',');) {
        const auto colon = item.find(':');
        const long lo = std::strtol(item.substr(0, colon).c_str(), nullptr, 10);
        const long hi = colon == std::string::npos ? lo : std::strtol(item.substr(colon + 1).c_str(), nullptr, 10);
        if (port >= lo && port <= hi) return true;
    }
    return false;
}

std::uint32_t number(const std::string& s) { return static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 0)); }

// The rules of one family's mangle table, walked as the kernel does.
class Walker {
public:
    Walker(const std::string& rules, const std::vector<ipt::SetDef>& sets) {
        bool mangle = false;
        std::istringstream in(rules);
        for (std::string line; std::getline(in, line);) {
            if (line == "*mangle") mangle = true;
            if (line == "COMMIT") mangle = false;
            if (!mangle || line.compare(0, 3, "-A ") != 0) continue;
            auto w = split(line);
            chains_[w[1]].push_back(std::vector<std::string>(w.begin() + 2, w.end()));
        }
        for (const auto& s : sets) sets_[s.name] = s;
    }

    Outcome walk(const Packet& p, const std::string& entry) const {
        Outcome out;
        std::uint32_t mark = 0;
        // The call stack of -j (a -g replaces the top).
        std::vector<std::pair<std::string, std::size_t>> stack{{entry, 0}};
        int steps = 0;
        while (!stack.empty()) {
            if (++steps > 10000) throw std::runtime_error("rule loop");
            auto& [chain, next] = stack.back();
            const auto it = chains_.find(chain);
            if (it == chains_.end() || next >= it->second.size()) {
                stack.pop_back();
                continue;
            }
            const std::vector<std::string>& r = it->second[next++];
            std::string target;
            std::size_t t = 0;
            bool ok = matches(p, mark, r, target, t);
            if (!ok || target.empty()) continue;
            if (target == "RETURN") {
                stack.pop_back();
            } else if (target == "DROP") {
                out.verdict = "drop";
                return out;
            } else if (target == "NFQUEUE") {
                out.verdict = "queue";
                return out;
            } else if (target == "MARK") {
                out.marked = true;
                mark = number(r.at(t + 3).substr(0, r.at(t + 3).find('/')));
            } else if (target == "NFLOG") {
                out.samples.push_back(r.at(std::find(r.begin(), r.end(), "--nflog-prefix") - r.begin() + 1));
            } else if (r[t] == "-g") {
                stack.back() = {target, 0};
            } else {
                stack.emplace_back(target, 0);
            }
        }
        return out;
    }

private:
    bool in_set(const std::string& name, const Packet& p, const std::string& dirs) const {
        const ipt::SetDef& s = sets_.at(name);
        const net::IpAddress& a = dirs.compare(0, 3, "src") == 0 ? p.src : p.dst;
        if (a.family() != s.family) return false;
        for (const auto& e : s.elements) {
            const auto comma = e.find(',');
            if (!cidr(e.substr(0, comma).c_str()).contains(a)) continue;
            if (comma == std::string::npos) return true;
            const std::string svc = e.substr(comma + 1);   // tcp:22 or tcp:8000-8080
            const auto colon = svc.find(':');
            if (svc.substr(0, colon) != p.proto) continue;
            std::string range = svc.substr(colon + 1);
            std::replace(range.begin(), range.end(), '-', ':');
            const std::uint16_t port = dirs.find(",dst") != std::string::npos ? p.dport : p.sport;
            if (port_in(port, range)) return true;
        }
        return false;
    }

    bool matches(const Packet& p, std::uint32_t mark, const std::vector<std::string>& r, std::string& target,
                 std::size_t& t) const {
        bool neg = false;
        for (std::size_t i = 0; i < r.size(); ++i) {
            const std::string& w = r[i];
            auto arg = [&]() -> const std::string& { return r.at(++i); };
            bool m = true;
            if (w == "!") {
                neg = true;
                continue;
            } else if (w == "-j" || w == "-g") {
                t = i;
                target = arg();
                return true;
            } else if (w == "-i") {
                m = p.iif == arg();
            } else if (w == "-s" || w == "-d") {
                m = cidr(arg().c_str()).contains(w == "-s" ? p.src : p.dst);
            } else if (w == "-p") {
                const std::string proto = arg();
                m = p.proto == (proto == "ipv6-icmp" ? "icmp" : proto);
            } else if (w == "-m") {
                ++i;   // the match's options follow
                continue;
            } else if (w == "--match-set") {
                const std::string name = arg();
                m = in_set(name, p, arg());
            } else if (w == "--mark") {
                const std::string v = arg();
                const auto slash = v.find('/');
                const std::uint32_t mask = number(v.substr(slash + 1));
                const bool conn = std::find(r.begin(), r.end(), "connmark") != r.end();
                m = ((conn ? p.connmark : mark) & mask) == number(v.substr(0, slash));
            } else if (w == "--ports") {
                const std::string v = arg();
                m = port_in(p.sport, v) || port_in(p.dport, v);
            } else if (w == "--dports" || w == "--dport") {
                m = port_in(p.dport, arg());
            } else if (w == "--sport") {
                m = port_in(p.sport, arg());
            } else if (w == "--ctstate") {
                const std::string v = arg();
                const std::string state = p.ct.substr(0, p.ct.find('-'));
                m = state != "NEW" && v.find(state) != std::string::npos;
            } else if (w == "--ctdir") {
                m = arg() == "REPLY" ? p.ct == "ESTABLISHED" : p.ct != "ESTABLISHED";
            } else if (w == "--limit" || w == "--limit-burst" || w == "--comment") {
                ++i;   // within the sample budget; a comment always matches
            } else {
                ADD_FAILURE() << "the walker does not know " << w;
            }
            if (neg) m = !m;
            neg = false;
            if (!m) return false;
        }
        return true;   // no target: a counting rule
    }

    std::map<std::string, std::vector<std::vector<std::string>>> chains_;
    std::map<std::string, ipt::SetDef> sets_;
};

// The policy, written out: what must happen to each packet.
Outcome expected(const RuleSpec& s, const Packet& p) {
    const auto any = [](const std::vector<net::Cidr>& l, const net::IpAddress& a) {
        return std::any_of(l.begin(), l.end(), [&](const net::Cidr& c) { return c.contains(a); });
    };
    const auto service = [&](const std::vector<ServiceEntry>& l, const net::IpAddress& a) {
        return std::any_of(l.begin(), l.end(), [&](const ServiceEntry& e) {
            return e.source.contains(a) && to_string(e.protocol) == p.proto && p.dport >= e.first_port &&
                   p.dport <= e.last_port;
        });
    };
    const auto sip = [&](std::uint16_t port) {
        return std::find(s.sip_ports.begin(), s.sip_ports.end(), port) != s.sip_ports.end();
    };
    const std::string name = s.name;
    Outcome out;
    const auto drop = [&](const char* what) {
        out.samples.push_back(name + "-" + what);
        if (!s.monitor) out.verdict = "drop";
        return !s.monitor;
    };
    const bool src_h = any(s.handsets, p.src), dst_h = any(s.handsets, p.dst);
    const bool udp_tcp = p.proto == "udp" || p.proto == "tcp";
    if (!s.voice_interfaces.empty()) {
        const bool from_voice =
            std::find(s.voice_interfaces.begin(), s.voice_interfaces.end(), p.iif) != s.voice_interfaces.end();
        // A handset source from anywhere but a voice interface is forged.
        if (!from_voice && src_h && drop("forged-src")) return out;
        // From a voice interface, another source to the PBX or a SIP port is
        // foreign (in monitor mode each of these that holds is sampled).
        if (from_voice && !src_h)
            for (const bool foreign : {any(s.pbx_signalling, p.dst), any(s.pbx_media, p.dst),
                                       p.proto == "udp" && sip(p.dport), p.proto == "tcp" && sip(p.dport)})
                if (foreign && drop("foreign-src")) return out;
    }
    // Verified flows take the fast path.
    if ((p.connmark & s.mark_mask) == s.verified_mark) return out;
    const bool established = p.ct.compare(0, 11, "ESTABLISHED") == 0;
    if (dst_h && !src_h) {
        if (udp_tcp && any(s.pbx_signalling, p.src) && (sip(p.sport) || sip(p.dport))) {
            out.verdict = "queue";
        } else if (service(s.support, p.src)) {
            out.marked = true;
        } else if (p.proto == "udp" && any(s.pbx_media, p.src)) {
            out.verdict = "queue";
        } else if (p.ct == "ESTABLISHED") {
            // Return traffic of a flow the handset opened.
        } else if (p.proto == "icmp" && p.ct == "INVALID" &&
                   (any(s.pbx_signalling, p.src) || any(s.pbx_media, p.src))) {
            // An ICMP error from the PBX about a flow conntrack no longer
            // has: the engine judges what it quotes (within its rate).
            out.verdict = "queue";
        } else {
            drop("drop-in");
        }
    } else if (src_h && !dst_h) {
        if (udp_tcp) {
            out.verdict = "queue";
        } else {
            // SCTP is dropped whatever the egress mode (in monitor mode it
            // then meets the allow-list as any other packet).
            if (p.proto == "sctp" && drop("drop-out")) return out;
            if (s.egress_allow_list && !service(s.egress, p.dst) && !established) drop("drop-out");
        }
    }
    return out;
}

struct Family {
    net::Family family;
    std::vector<const char*> addresses;   // one of each class
    std::vector<const char*> extra_handset_networks;   // beyond kNativeHandsetPrefixes with the first
};

void check(const RuleSpec& s, const Family& f) {
    const Walker w(ipt::render_rules(s, f.family), ipt::sets_for(s, true));
    const std::string entry = ipt::chain_names(s.name).fwd;
    std::size_t n = 0, failures = 0;
    for (const char* iif : {"lan0", "eth1.20", "wan0"})
        for (const char* src : f.addresses)
            for (const char* dst : f.addresses)
                for (const char* proto : {"udp", "tcp", "sctp", "icmp"})
                    for (const std::uint16_t sport : {5060, 22, 40000})
                        for (const std::uint16_t dport : {5061, 443, 40000})
                            for (const std::uint32_t connmark : {0u, s.verified_mark, 0x1230000u | 0x7u})
                                for (const char* ct : {"NEW", "ESTABLISHED", "ESTABLISHED-ORIGINAL", "INVALID"}) {
                                    Packet p;
                                    p.iif = iif;
                                    p.src = *net::IpAddress::parse(src);
                                    p.dst = *net::IpAddress::parse(dst);
                                    p.proto = proto;
                                    p.sport = sport;
                                    p.dport = dport;
                                    p.connmark = connmark;
                                    p.ct = ct;
                                    ++n;
                                    const Outcome got = w.walk(p, entry), want = expected(s, p);
                                    if (!(got == want) && ++failures <= 5)
                                        ADD_FAILURE() << describe(p) << ": the rules say " << describe(got)
                                                      << ", the policy " << describe(want);
                                }
    EXPECT_EQ(failures, 0u) << "of " << n << " packets";
    EXPECT_GT(n, 10000u);
}

const Family kV4{net::Family::v4,
                 {"192.168.20.10", "192.168.30.9", "203.0.113.10", "203.0.113.70", "198.51.100.130", "198.51.100.7",
                  "192.0.2.123", "192.0.2.66"},
                 {"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16", "10.6.0.0/16",
                  "10.7.0.0/16", "10.8.0.0/16"}};
const Family kV6{net::Family::v6,
                 {"fd00:20::10", "fd00:30::9", "2001:db8:10::10", "2001:db8:10::70", "2001:db8:99::7", "2001:db8:1::5",
                  "2001:db8:77::66"},
                 {"fd01::/64", "fd02::/64", "fd03::/64", "fd04::/64", "fd05::/64", "fd06::/64", "fd07::/64",
                  "fd08::/64"}};

class IptablesWalk : public ::testing::TestWithParam<std::tuple<bool, bool, bool, bool>> {};

TEST_P(IptablesWalk, EveryPacketMeetsThePolicy) {
    const auto [bind, monitor, many, v6] = GetParam();
    const Family& f = v6 ? kV6 : kV4;
    RuleSpec s = test::representative_spec();
    s.monitor = monitor;
    // A second handset network (192.168.30.0/24, fd00:30::/64) beside the
    // first; with `many`, more than the rules match natively.
    s.handsets.push_back(cidr(v6 ? "fd00:30::/64" : "192.168.30.0/24"));
    if (many)
        for (const char* n : f.extra_handset_networks) s.handsets.push_back(cidr(n));
    if (bind) s.voice_interfaces = {"lan0", "eth1.20"};
    const std::string text = ipt::render_rules(s, f.family);
    EXPECT_EQ(text.find("--match-set " + s.name + "-handsets") != std::string::npos, many) << text;
    check(s, f);
}

INSTANTIATE_TEST_SUITE_P(BindMonitorManyV6, IptablesWalk,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Bool()));

}  // namespace
}  // namespace vg::kernel
