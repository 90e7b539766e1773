// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/rule_spec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace vg::kernel {
namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }

ServiceEntry service(const char* prefix, L4 protocol, std::uint16_t first, std::uint16_t last) {
    ServiceEntry e;
    e.source = cidr(prefix);
    e.protocol = protocol;
    e.first_port = first;
    e.last_port = last;
    return e;
}

std::vector<std::string> texts(const std::vector<net::Cidr>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(prefix_text(c));
    return out;
}

std::vector<std::string> texts(const std::vector<ServiceEntry>& v) {
    std::vector<std::string> out;
    for (const auto& e : v)
        out.push_back(prefix_text(e.source) + " " + to_string(e.protocol) + " " + std::to_string(e.first_port) + "-" +
                      std::to_string(e.last_port));
    return out;
}

// "*.example.net" resolves to one IPv4 and one IPv6 address; nothing else does.
config::ResolveResult fake_resolve(const std::string& host) {
    config::ResolveResult r;
    if (host == "pbx.example.net") {
        r.addresses = {*net::IpAddress::parse("192.0.2.50"), *net::IpAddress::parse("2001:db8:50::1")};
    } else if (host == "ntp.example.net") {
        r.addresses = {*net::IpAddress::parse("192.0.2.123")};
    } else {
        r.error = "Name or service not known";
    }
    return r;
}

config::Policy load(const std::string& yaml) {
    config::LoadOptions o;
    o.resolver = fake_resolve;
    o.allow_includes = false;
    o.check_file_permissions = false;
    const auto r = config::load_policy_text(yaml, "policy.yaml", o);
    std::string diagnostics;
    for (const auto& d : r.diagnostics) diagnostics += d.format() + "\n";
    EXPECT_TRUE(r.ok()) << diagnostics;
    return r.ok() ? *r.policy : config::Policy{};
}

TEST(MinimalPrefixes, DropsDuplicatesAndNestedPrefixesAndSortsIpv4First) {
    const auto out = minimal_prefixes({cidr("2001:db8::/32"), cidr("10.1.0.0/16"), cidr("10.0.0.0/8"),
                                       cidr("192.0.2.1"), cidr("2001:db8:1::/48"), cidr("192.0.2.1"),
                                       cidr("192.0.2.0/25"), cidr("192.0.2.128/25")});
    EXPECT_EQ(texts(out), (std::vector<std::string>{"10.0.0.0/8", "192.0.2.0/25", "192.0.2.128/25", "2001:db8::/32"}));
}

TEST(MinimalPrefixes, KeepsADefaultRouteAlone) {
    EXPECT_EQ(texts(minimal_prefixes({cidr("192.0.2.0/24"), cidr("0.0.0.0/0")})),
              (std::vector<std::string>{"0.0.0.0/0"}));
}

// Every (address, port) the entries cover, over a small universe.
bool covered(const std::vector<ServiceEntry>& entries, const net::IpAddress& a, L4 p, std::uint16_t port) {
    for (const auto& e : entries)
        if (e.protocol == p && e.source.contains(a) && port >= e.first_port && port <= e.last_port) return true;
    return false;
}

TEST(DisjointServices, CoversTheSameSpaceWithoutOverlaps) {
    const std::vector<ServiceEntry> in{
        service("198.51.100.0/24", L4::tcp, 8000, 8080), service("198.51.100.7", L4::tcp, 8000, 8080),
        service("198.51.100.7", L4::tcp, 22, 22),        service("198.51.100.7", L4::tcp, 8070, 9000),
        service("198.51.100.9", L4::udp, 20, 30),        service("198.51.100.0/28", L4::udp, 25, 40),
        service("2001:db8::1", L4::tcp, 22, 22),         service("2001:db8::1", L4::tcp, 22, 22)};
    const auto out = disjoint_services(in);
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (std::size_t j = i + 1; j < out.size(); ++j) {
            const bool overlap = out[i].protocol == out[j].protocol && out[i].source.overlaps(out[j].source) &&
                                 out[i].first_port <= out[j].last_port && out[j].first_port <= out[i].last_port;
            EXPECT_FALSE(overlap) << texts(out)[i] << " overlaps " << texts(out)[j];
        }
    }
    for (const char* a : {"198.51.100.0", "198.51.100.7", "198.51.100.9", "198.51.100.15", "198.51.100.200",
                          "198.51.101.1", "2001:db8::1", "2001:db8::2"}) {
        const auto addr = *net::IpAddress::parse(a);
        for (const L4 p : {L4::tcp, L4::udp})
            for (std::uint16_t port : {19, 20, 22, 23, 24, 25, 30, 31, 40, 41, 7999, 8000, 8069, 8070, 8080, 8081,
                                       9000, 9001})
                EXPECT_EQ(covered(out, addr, p, port), covered(in, addr, p, port)) << a << " " << port;
    }
    EXPECT_EQ(texts(out), (std::vector<std::string>{
                              "198.51.100.7 tcp 22-22",
                              "198.51.100.0/24 tcp 8000-8080",
                              "198.51.100.7 tcp 8081-9000",
                              "198.51.100.9 udp 20-24",
                              "198.51.100.0/28 udp 25-40",
                              "2001:db8::1 tcp 22-22",
                          }));
}

TEST(Validate, AcceptsTheDefaultsWithHandsetsAndSipPorts) {
    RuleSpec s;
    s.handsets = {cidr("192.168.20.0/24")};
    s.sip_ports = {5060};
    std::string error;
    EXPECT_TRUE(validate(s, error)) << error;
}

TEST(Validate, RejectsNamesThatCannotPrefixChainsSetsAndTables) {
    RuleSpec s;
    s.handsets = {cidr("192.168.20.0/24")};
    s.sip_ports = {5060};
    for (const char* bad : {"", "1vg", "vg-x", "vg x", "vg;x", "abcdefghijklmnopq"}) {
        s.name = bad;
        std::string error;
        EXPECT_FALSE(validate(s, error)) << bad;
        EXPECT_NE(error.find("name prefix"), std::string::npos) << error;
    }
    s.name = "abcdefghijklmnop";
    std::string error;
    EXPECT_TRUE(validate(s, error)) << error;
}

TEST(Validate, RejectsBadMarksMissingHandsetsAndReversedPorts) {
    RuleSpec s;
    s.handsets = {cidr("192.168.20.0/24")};
    s.sip_ports = {5060};
    std::string error;
    EXPECT_TRUE(validate(s, error)) << error;
    s.verified_mark = 0;
    EXPECT_FALSE(validate(s, error));
    EXPECT_EQ(error, "the mark value 0x0 must be neither 0 nor the whole mask 0xff0000 (the reset value, its "
                     "complement under the mask, must not be 0 either)");
    s.verified_mark = 0x5a0000;
    s.reset_mark = 0x010000;
    EXPECT_FALSE(validate(s, error));
    EXPECT_EQ(error, "the reset mark is not the complement of the verified mark under the mask");
    s.reset_mark = 0xa50000;
    s.support = {service("192.0.2.1", L4::tcp, 30, 20)};
    EXPECT_FALSE(validate(s, error));
    EXPECT_EQ(error, "support: port range 30-20 of 192.0.2.1 is reversed");
    s.support.clear();
    s.handsets.clear();
    EXPECT_FALSE(validate(s, error));
    EXPECT_EQ(error, "no handset networks");
}

TEST(MarkSignature, DefaultsAreSeveralBitsUnderAMaskClearOfCommonLayouts) {
    const MarkSignature m;
    EXPECT_EQ(m.mask, 0x00ff0000u);
    EXPECT_EQ(m.verified, 0x005a0000u);
    EXPECT_EQ(m.reset, 0x00a50000u);
    // ctinfo/DSCP, mwan3, kube-proxy.
    for (std::uint32_t other : {0xfc000000u, 0x01000000u, 0x3f00u, 0x4000u, 0x8000u}) EXPECT_EQ(m.mask & other, 0u);
    const RuleSpec s;
    EXPECT_EQ(s.mark_mask, m.mask);
    EXPECT_EQ(s.verified_mark, m.verified);
    EXPECT_EQ(s.reset_mark, m.reset);
}

TEST(MarkSignature, ParsesValueAndMaskInHex) {
    MarkSignature m;
    std::string error;
    ASSERT_TRUE(parse_mark_signature("0x3c00/0xff00", m, error)) << error;
    EXPECT_EQ(m.mask, 0xff00u);
    EXPECT_EQ(m.verified, 0x3c00u);
    EXPECT_EQ(m.reset, 0xc300u);
    // Without a mask: the default mask; 0x optional, either case.
    ASSERT_TRUE(parse_mark_signature("330000", m, error)) << error;
    EXPECT_EQ(m.mask, 0xff0000u);
    EXPECT_EQ(m.verified, 0x330000u);
    EXPECT_EQ(m.reset, 0xcc0000u);
    ASSERT_TRUE(parse_mark_signature("0X1/0XF", m, error)) << error;
    EXPECT_EQ(m.reset, 0xeu);
}

TEST(MarkSignature, RefusesWeakOrInconsistentSignaturesWithTheReason) {
    MarkSignature m;
    std::string error;
    EXPECT_FALSE(parse_mark_signature("0x20000000/0x20000000", m, error));
    EXPECT_EQ(error, "the mark mask 0x20000000 has 1 bits; at least 4 are needed for a signature");
    EXPECT_FALSE(parse_mark_signature("0x20000000", m, error));   // outside the default mask
    EXPECT_EQ(error, "the mark value 0x20000000 has bits outside the mask 0xff0000");
    EXPECT_FALSE(parse_mark_signature("0xff0000/0xff0000", m, error));
    EXPECT_NE(error.find("neither 0 nor the whole mask"), std::string::npos) << error;
    EXPECT_FALSE(parse_mark_signature("0/0xff0000", m, error));
    EXPECT_NE(error.find("neither 0 nor the whole mask"), std::string::npos) << error;
    EXPECT_FALSE(parse_mark_signature("0x7/0x7", m, error));
    EXPECT_EQ(error, "the mark mask 0x7 has 3 bits; at least 4 are needed for a signature");
    for (const char* bad : {"", "0x", "/0xff", "0x5a/", "xyz", "0x5a0000/0xff0000/1", "0x123456789", "-1", "0x5a 0000"}) {
        EXPECT_FALSE(parse_mark_signature(bad, m, error)) << bad;
    }
    EXPECT_FALSE(parse_mark_signature("xyz", m, error));
    EXPECT_EQ(error, "\"xyz\" is not VALUE[/MASK] in hex (e.g. 0x5a0000/0xff0000)");
    // A failed parse leaves the signature as it was.
    EXPECT_EQ(m.mask, MarkSignature{}.mask);
    EXPECT_EQ(m.verified, MarkSignature{}.verified);
}

TEST(StaticMediaEntries, FallsBackToPbxMediaAndTheSingleRange) {
    RuleSpec s;
    s.pbx_media = {cidr("203.0.113.64/27")};
    s.static_media_first_port = 10000;
    s.static_media_last_port = 20000;
    EXPECT_TRUE(static_media_entries(s).empty());
    s.static_media = true;
    EXPECT_EQ(texts(static_media_entries(s)), (std::vector<std::string>{"203.0.113.64/27 udp 10000-20000"}));
}

constexpr const char* kPolicy = R"(version: 1
site: test
mode: monitor
on_failure: closed
handsets:
  networks: [192.168.20.0/24, 192.168.20.0/25, "fd00:20::/64"]
peers:
  pbx:
    - name: pbx-a
      addresses: [203.0.113.10, pbx.example.net]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
    - name: pbx-b
      addresses: [198.51.100.128/28]
      media:
        ports: "30000-31000"
  support:
    - name: noc
      addresses: [198.51.100.7, "2001:db8:99::7"]
      ports: ["tcp/22", "tcp/8000-8080"]
media:
  static_allowance: true
egress:
  mode: allow_list
  allow:
    - name: ntp
      addresses: [ntp.example.net]
      ports: ["udp/123"]
sip:
  ports: [5062, 5060, 5062]
)";

TEST(RuleSpecFromPolicy, MapsEveryPartOfThePolicy) {
    const config::Policy p = load(kPolicy);
    RuleSpec base;
    base.name = "vgtest";
    base.mark_mask = 0xf00;
    base.verified_mark = 0x300;
    base.reset_mark = 0xc00;
    const RuleSpec s = rule_spec_from_policy(p, 7, base);
    EXPECT_EQ(s.name, "vgtest");
    EXPECT_EQ(s.mark_mask, 0xf00u);
    EXPECT_EQ(s.verified_mark, 0x300u);
    EXPECT_EQ(s.reset_mark, 0xc00u);
    EXPECT_EQ(s.queue, 7);
    EXPECT_TRUE(s.monitor);
    EXPECT_FALSE(s.fail_open);
    EXPECT_EQ(texts(s.handsets), (std::vector<std::string>{"192.168.20.0/24", "fd00:20::/64"}));
    EXPECT_EQ(texts(s.pbx_signalling),
              (std::vector<std::string>{"192.0.2.50", "198.51.100.128/28", "203.0.113.10", "2001:db8:50::1"}));
    // pbx-b has no media.addresses: its signalling prefix is its media prefix.
    EXPECT_EQ(texts(s.pbx_media), (std::vector<std::string>{"198.51.100.128/28", "203.0.113.64/27"}));
    EXPECT_EQ(s.sip_ports, (std::vector<std::uint16_t>{5060, 5062}));
    EXPECT_EQ(texts(s.support), (std::vector<std::string>{
                                    "198.51.100.7 tcp 22-22",
                                    "198.51.100.7 tcp 8000-8080",
                                    "2001:db8:99::7 tcp 22-22",
                                    "2001:db8:99::7 tcp 8000-8080",
                                }));
    EXPECT_TRUE(s.egress_allow_list);
    EXPECT_EQ(texts(s.egress), (std::vector<std::string>{"192.0.2.123 udp 123-123"}));
    EXPECT_TRUE(s.static_media);
    EXPECT_EQ(s.static_media_first_port, 10000);
    EXPECT_EQ(s.static_media_last_port, 31000);
    // Each PBX's media prefixes with its own range, not the hull.
    EXPECT_EQ(texts(s.static_media_sources), (std::vector<std::string>{
                                                 "203.0.113.64/27 udp 10000-20000",
                                                 "198.51.100.128/28 udp 30000-31000",
                                             }));
    std::string error;
    EXPECT_TRUE(validate(s, error)) << error;
}

TEST(RuleSpecFromPolicy, DefaultsAreEnforceFailOpenPort5060AndAnEmptyEgressAllowListAndNoStaticMedia) {
    const config::Policy p = load(R"(version: 1
site: test
handsets:
  networks: [192.168.20.0/24]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10]
)");
    const RuleSpec s = rule_spec_from_policy(p, 0);
    EXPECT_EQ(s.name, "voipguard");
    EXPECT_FALSE(s.monitor);
    EXPECT_TRUE(s.fail_open);
    EXPECT_EQ(s.sip_ports, (std::vector<std::uint16_t>{5060}));
    EXPECT_EQ(texts(s.pbx_media), (std::vector<std::string>{"203.0.113.10"}));
    EXPECT_TRUE(s.support.empty());
    EXPECT_TRUE(s.egress_allow_list);
    EXPECT_TRUE(s.egress.empty());
    EXPECT_FALSE(s.static_media);
    EXPECT_TRUE(s.static_media_sources.empty());
    EXPECT_TRUE(static_media_entries(s).empty());
}

TEST(RuleSpecFromPolicy, UnresolvedHostNamesContributeNoPrefix) {
    config::LoadOptions o;
    o.resolver = fake_resolve;
    o.allow_includes = false;
    o.check_file_permissions = false;
    o.resolve_host_names = false;
    const auto r = config::load_policy_text(R"(version: 1
site: test
handsets:
  networks: [192.168.20.0/24]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10, pbx.example.net]
)",
                                            "policy.yaml", o);
    ASSERT_TRUE(r.ok());
    const RuleSpec s = rule_spec_from_policy(*r.policy, 0);
    EXPECT_EQ(texts(s.pbx_signalling), (std::vector<std::string>{"203.0.113.10"}));
}

}  // namespace
}  // namespace vg::kernel
