// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/iptables_backend.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/daemon/kernel/kernel_test_util.h"

namespace vg::kernel {
namespace {

using test::cidr;
using test::representative_spec;
using test::service;

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
    return n;
}

// The golden rule text of the representative spec: IPv4 + IPv6 handsets, two
// PBXs, SIP on 5060/5061, support, egress allow-list, queue 3, fail open.
// The chains only: the jumps to them are a commit of their own (kSwap).
constexpr const char* kRulesV4 = R"(*filter
:voipguard-rst - [0:0]
-A voipguard-rst -p tcp -m mark --mark 0xa50000/0xff0000 -j REJECT --reject-with tcp-reset
COMMIT
*mangle
:voipguard-fwd - [0:0]
:voipguard-in - [0:0]
:voipguard-out - [0:0]
:voipguard-post - [0:0]
:voipguard-hs - [0:0]
-A voipguard-fwd -s 192.168.20.0/24 -g voipguard-hs
-A voipguard-fwd -m connmark --mark 0x5a0000/0xff0000 -j RETURN
-A voipguard-fwd -d 192.168.20.0/24 -g voipguard-in
-A voipguard-hs -m connmark --mark 0x5a0000/0xff0000 -j RETURN
-A voipguard-hs -d 192.168.20.0/24 -j RETURN
-A voipguard-hs -g voipguard-out
-A voipguard-in -p udp -m set --match-set voipguard-pbx-sig4 src -m multiport --ports 5060,5061 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -p tcp -m set --match-set voipguard-pbx-sig4 src -m multiport --ports 5060,5061 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m set --match-set voipguard-support4 src,dst -j MARK --set-xmark 0x5a0000/0xff0000
-A voipguard-in -m set --match-set voipguard-support4 src,dst -j RETURN
-A voipguard-in -p udp -m set --match-set voipguard-pbx-media4 src -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY -j RETURN
-A voipguard-in -p icmp -m conntrack --ctstate INVALID -m set --match-set voipguard-pbx-sig4 src -m limit --limit 50/second --limit-burst 50 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -p icmp -m conntrack --ctstate INVALID -m set --match-set voipguard-pbx-media4 src -m limit --limit 50/second --limit-burst 50 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-in
-A voipguard-in -m comment --comment voipguard:drop-in -j DROP
-A voipguard-out -p tcp -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-out -p udp -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-out -p sctp -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-out
-A voipguard-out -p sctp -m comment --comment voipguard:drop-out -j DROP
-A voipguard-out -m set --match-set voipguard-egress4 dst,dst -j RETURN
-A voipguard-out -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A voipguard-out -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-out
-A voipguard-out -m comment --comment voipguard:drop-out -j DROP
-A voipguard-post -m mark --mark 0x5a0000/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
COMMIT
)";

constexpr const char* kRulesV6 = R"(*filter
:voipguard-rst - [0:0]
-A voipguard-rst -p tcp -m mark --mark 0xa50000/0xff0000 -j REJECT --reject-with tcp-reset
COMMIT
*mangle
:voipguard-fwd - [0:0]
:voipguard-in - [0:0]
:voipguard-out - [0:0]
:voipguard-post - [0:0]
:voipguard-hs - [0:0]
-A voipguard-fwd -s fd00:20::/64 -g voipguard-hs
-A voipguard-fwd -m connmark --mark 0x5a0000/0xff0000 -j RETURN
-A voipguard-fwd -d fd00:20::/64 -g voipguard-in
-A voipguard-hs -m connmark --mark 0x5a0000/0xff0000 -j RETURN
-A voipguard-hs -d fd00:20::/64 -j RETURN
-A voipguard-hs -g voipguard-out
-A voipguard-in -p udp -m set --match-set voipguard-pbx-sig6 src -m multiport --ports 5060,5061 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -p tcp -m set --match-set voipguard-pbx-sig6 src -m multiport --ports 5060,5061 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m set --match-set voipguard-support6 src,dst -j MARK --set-xmark 0x5a0000/0xff0000
-A voipguard-in -m set --match-set voipguard-support6 src,dst -j RETURN
-A voipguard-in -p udp -m set --match-set voipguard-pbx-media6 src -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY -j RETURN
-A voipguard-in -p ipv6-icmp -m conntrack --ctstate INVALID -m set --match-set voipguard-pbx-sig6 src -m limit --limit 50/second --limit-burst 50 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -p ipv6-icmp -m conntrack --ctstate INVALID -m set --match-set voipguard-pbx-media6 src -m limit --limit 50/second --limit-burst 50 -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-in -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-in
-A voipguard-in -m comment --comment voipguard:drop-in -j DROP
-A voipguard-out -p tcp -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-out -p udp -j NFQUEUE --queue-num 3 --queue-bypass
-A voipguard-out -p sctp -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-out
-A voipguard-out -p sctp -m comment --comment voipguard:drop-out -j DROP
-A voipguard-out -m set --match-set voipguard-egress6 dst,dst -j RETURN
-A voipguard-out -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A voipguard-out -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-drop-out
-A voipguard-out -m comment --comment voipguard:drop-out -j DROP
-A voipguard-post -m mark --mark 0x5a0000/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
COMMIT
)";

// Making generation 0 live when nothing of ours is there.
constexpr const char* kSwap = R"(*filter
-I FORWARD 1 -j voipguard-rst
COMMIT
*mangle
-I FORWARD 1 -j voipguard-fwd
-I POSTROUTING 1 -j voipguard-post
COMMIT
)";

constexpr const char* kIpsetStage = R"(create voipguard-handsets4 hash:net family inet hashsize 64 maxelem 65536
create voipguard-handsets4-new hash:net family inet hashsize 64 maxelem 65536
add -exist voipguard-handsets4-new 192.168.20.0/24
create voipguard-pbx-sig4 hash:net family inet hashsize 64 maxelem 65536
create voipguard-pbx-sig4-new hash:net family inet hashsize 64 maxelem 65536
add -exist voipguard-pbx-sig4-new 198.51.100.128/28
add -exist voipguard-pbx-sig4-new 203.0.113.10
create voipguard-pbx-media4 hash:net family inet hashsize 64 maxelem 65536
create voipguard-pbx-media4-new hash:net family inet hashsize 64 maxelem 65536
add -exist voipguard-pbx-media4-new 198.51.100.128/28
add -exist voipguard-pbx-media4-new 203.0.113.64/27
create voipguard-support4 hash:net,port family inet hashsize 64 maxelem 65536
create voipguard-support4-new hash:net,port family inet hashsize 64 maxelem 65536
add -exist voipguard-support4-new 198.51.100.7,tcp:22
add -exist voipguard-support4-new 198.51.100.7,tcp:443
create voipguard-egress4 hash:net,port family inet hashsize 64 maxelem 65536
create voipguard-egress4-new hash:net,port family inet hashsize 64 maxelem 65536
add -exist voipguard-egress4-new 0.0.0.0/1,tcp:443
add -exist voipguard-egress4-new 128.0.0.0/1,tcp:443
add -exist voipguard-egress4-new 192.0.2.123,udp:123
create voipguard-handsets6 hash:net family inet6 hashsize 64 maxelem 65536
create voipguard-handsets6-new hash:net family inet6 hashsize 64 maxelem 65536
add -exist voipguard-handsets6-new fd00:20::/64
create voipguard-pbx-sig6 hash:net family inet6 hashsize 64 maxelem 65536
create voipguard-pbx-sig6-new hash:net family inet6 hashsize 64 maxelem 65536
add -exist voipguard-pbx-sig6-new 2001:db8:10::10
create voipguard-pbx-media6 hash:net family inet6 hashsize 64 maxelem 65536
create voipguard-pbx-media6-new hash:net family inet6 hashsize 64 maxelem 65536
add -exist voipguard-pbx-media6-new 2001:db8:10::/64
create voipguard-support6 hash:net,port family inet6 hashsize 64 maxelem 65536
create voipguard-support6-new hash:net,port family inet6 hashsize 64 maxelem 65536
add -exist voipguard-support6-new 2001:db8:99::7,tcp:22
create voipguard-egress6 hash:net,port family inet6 hashsize 64 maxelem 65536
create voipguard-egress6-new hash:net,port family inet6 hashsize 64 maxelem 65536
add -exist voipguard-egress6-new 2001:db8:1::/48,tcp:8000-8080
)";

constexpr const char* kIpsetSwap = R"(swap voipguard-handsets4-new voipguard-handsets4
destroy voipguard-handsets4-new
swap voipguard-pbx-sig4-new voipguard-pbx-sig4
destroy voipguard-pbx-sig4-new
swap voipguard-pbx-media4-new voipguard-pbx-media4
destroy voipguard-pbx-media4-new
swap voipguard-support4-new voipguard-support4
destroy voipguard-support4-new
swap voipguard-egress4-new voipguard-egress4
destroy voipguard-egress4-new
swap voipguard-handsets6-new voipguard-handsets6
destroy voipguard-handsets6-new
swap voipguard-pbx-sig6-new voipguard-pbx-sig6
destroy voipguard-pbx-sig6-new
swap voipguard-pbx-media6-new voipguard-pbx-media6
destroy voipguard-pbx-media6-new
swap voipguard-support6-new voipguard-support6
destroy voipguard-support6-new
swap voipguard-egress6-new voipguard-egress6
destroy voipguard-egress6-new
)";

TEST(IptablesRender, RulesForIpv4MatchTheGoldenText) {
    EXPECT_EQ(ipt::render_rules(representative_spec(), net::Family::v4), kRulesV4);
}

TEST(IptablesRender, RulesForIpv6UseTheInet6SetsAndMatchTheGoldenText) {
    EXPECT_EQ(ipt::render_rules(representative_spec(), net::Family::v6), kRulesV6);
}

TEST(IptablesRender, NoVariantEverAccepts) {
    for (const bool monitor : {false, true})
        for (const bool fail_open : {false, true})
            for (const bool egress : {false, true})
                for (const bool static_media : {false, true}) {
                    RuleSpec s = representative_spec();
                    s.monitor = monitor;
                    s.fail_open = fail_open;
                    s.egress_allow_list = egress;
                    s.static_media = static_media;
                    s.static_media_first_port = 10000;
                    s.static_media_last_port = 20000;
                    for (const auto f : {net::Family::v4, net::Family::v6}) {
                        const std::string text = ipt::render_rules(s, f);
                        EXPECT_EQ(text.find("ACCEPT"), std::string::npos);
                        // Only our own chains are filled; no built-in chain
                        // is touched until the swap.
                        EXPECT_EQ(count(text, "FORWARD"), 0u);
                        EXPECT_EQ(count(text, "POSTROUTING"), 0u);
                        EXPECT_EQ(count(text, " -F"), 0u);
                        EXPECT_EQ(count(text, " -X"), 0u);
                    }
                }
}

TEST(IptablesRender, MonitorModeCountsWhatItWouldDropWithoutDropping) {
    RuleSpec s = representative_spec();
    s.monitor = true;
    const std::string text = ipt::render_rules(s, net::Family::v4);
    EXPECT_EQ(text.find("DROP"), std::string::npos);
    EXPECT_NE(text.find("-A voipguard-in -m comment --comment voipguard:drop-in\n"), std::string::npos);
    EXPECT_NE(text.find("-A voipguard-out -m comment --comment voipguard:drop-out\n"), std::string::npos);
    EXPECT_NE(text.find("-A voipguard-out -p sctp -m comment --comment voipguard:drop-out\n"), std::string::npos);
    // NFLOG samples are still taken.
    EXPECT_EQ(count(text, "-j NFLOG"), 3u);
}

// The handset networks bound to their voice interfaces: a packet is
// classified by where it came from, and forged and foreign sources are
// sampled and dropped before the fast path.
TEST(IptablesRender, VoiceInterfacesBindTheHandsetNetworksBeforeTheFastPath) {
    RuleSpec s = representative_spec();
    s.voice_interfaces = {"lan0", "eth1.20"};
    const std::string text = ipt::render_rules(s, net::Family::v6);
    EXPECT_NE(text.find(":voipguard-hs - [0:0]\n:voipguard-src - [0:0]\n:voipguard-frn - [0:0]\n"
                        ":voipguard-lan - [0:0]\n"),
              std::string::npos)
        << text;
    const std::string fwd = "-A voipguard-fwd -i lan0 -g voipguard-lan\n"
                            "-A voipguard-fwd -i eth1.20 -g voipguard-lan\n"
                            "-A voipguard-fwd -s fd00:20::/64 -g voipguard-src\n"
                            "-A voipguard-src -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 "
                            "--nflog-prefix voipguard-forged-src\n"
                            "-A voipguard-src -m comment --comment voipguard:forged-src -j DROP\n"
                            "-A voipguard-lan -s fd00:20::/64 -g voipguard-hs\n"
                            "-A voipguard-lan -j voipguard-frn\n"
                            "-A voipguard-lan -m connmark --mark 0x5a0000/0xff0000 -j RETURN\n"
                            "-A voipguard-lan -d fd00:20::/64 -g voipguard-in\n"
                            "-A voipguard-frn -m set --match-set voipguard-pbx-sig6 dst -m limit --limit 10/second "
                            "--limit-burst 20 -j NFLOG --nflog-group 5060 --nflog-prefix voipguard-foreign-src\n"
                            "-A voipguard-frn -m set --match-set voipguard-pbx-sig6 dst -m comment --comment "
                            "voipguard:foreign-src -j DROP\n";
    EXPECT_NE(text.find(fwd), std::string::npos) << text;
    EXPECT_NE(text.find("-A voipguard-frn -p tcp -m multiport --dports 5060,5061 -m comment --comment "
                        "voipguard:foreign-src -j DROP\n"
                        "-A voipguard-fwd -m connmark --mark 0x5a0000/0xff0000 -j RETURN\n"
                        "-A voipguard-fwd -d fd00:20::/64 -g voipguard-in\n"
                        "-A voipguard-hs -m connmark --mark 0x5a0000/0xff0000 -j RETURN\n"
                        "-A voipguard-hs -d fd00:20::/64 -j RETURN\n"
                        "-A voipguard-hs -g voipguard-out\n"),
              std::string::npos)
        << text;
    // Monitor mode: counted, not dropped; a forged packet goes on as the
    // handset's packet it claims to be.
    s.monitor = true;
    const std::string monitor = ipt::render_rules(s, net::Family::v4);
    EXPECT_NE(monitor.find("-A voipguard-src -m comment --comment voipguard:forged-src\n"
                           "-A voipguard-src -g voipguard-hs\n"),
              std::string::npos)
        << monitor;
    EXPECT_EQ(count(monitor, "-j DROP"), 0u);
    // The chains are ours: found again after a crash, their counters read.
    const auto st = ipt::parse_table("*mangle\n:voipguard-src - [0:0]\n:voipguard-frn - [0:0]\n:voipguard-lan - [0:0]\n"
                                     ":voipguard-hs-2 - [0:0]\n-A FORWARD -j voipguard-fwd\nCOMMIT\n", "voipguard");
    EXPECT_EQ(st.chains,
              (std::vector<std::string>{"voipguard-src", "voipguard-frn", "voipguard-lan", "voipguard-hs-2"}));
    Counters c;
    ipt::add_counters("[3:180] -A voipguard-src -m comment --comment voipguard:forged-src -j DROP\n"
                      "[2:100] -A voipguard-frn -m set --match-set x dst -m comment --comment voipguard:foreign-src -j DROP\n",
                      "voipguard", c);
    EXPECT_EQ(c.forged_drop_packets, 3u);
    EXPECT_EQ(c.forged_drop_bytes, 180u);
    EXPECT_EQ(c.foreign_drop_packets, 2u);
}

// Up to kNativeHandsetPrefixes prefixes per family are matched in the rules
// (no xtables set match on every forwarded packet); more take the set.
TEST(IptablesRender, ManyHandsetNetworksAreMatchedThroughTheirSet) {
    RuleSpec s = representative_spec();
    s.voice_interfaces = {"lan0"};
    s.handsets.clear();
    for (std::size_t i = 0; i < ipt::kNativeHandsetPrefixes; ++i)
        s.handsets.push_back(cidr(("10.20." + std::to_string(2 * i) + ".0/24").c_str()));
    std::string text = ipt::render_rules(s, net::Family::v4);
    EXPECT_EQ(text.find("voipguard-handsets4"), std::string::npos) << text;
    EXPECT_EQ(count(text, " -s 10.20."), 2 * ipt::kNativeHandsetPrefixes);   // NAME-fwd, NAME-lan
    EXPECT_EQ(count(text, " -d 10.20."), 3 * ipt::kNativeHandsetPrefixes);   // NAME-fwd, NAME-lan, NAME-hs
    s.handsets.push_back(cidr("10.20.100.0/24"));
    text = ipt::render_rules(s, net::Family::v4);
    EXPECT_EQ(text.find(" -s 10.20."), std::string::npos) << text;
    EXPECT_NE(text.find("-A voipguard-fwd -m set --match-set voipguard-handsets4 src -g voipguard-src\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("-A voipguard-hs -m set --match-set voipguard-handsets4 dst -j RETURN\n"), std::string::npos)
        << text;
    // A prefix inside another one counts once.
    s.handsets = {cidr("10.30.0.128/25"), cidr("10.30.0.0/24")};
    text = ipt::render_rules(s, net::Family::v4);
    EXPECT_NE(text.find("-A voipguard-fwd -s 10.30.0.0/24 -g voipguard-src\n"), std::string::npos) << text;
    EXPECT_EQ(count(text, " -s 10.30."), 2u) << text;
    // A family without handset networks matches none.
    EXPECT_EQ(ipt::render_rules(s, net::Family::v6).find(" -s "), std::string::npos);
}

TEST(IptablesRender, FailClosedQueuesWithoutBypass) {
    RuleSpec s = representative_spec();
    s.fail_open = false;
    const std::string text = ipt::render_rules(s, net::Family::v4);
    EXPECT_EQ(text.find("--queue-bypass"), std::string::npos);
    // SIP in (UDP, TCP), PBX media in, ICMP errors from the PBX's
    // signalling and media addresses that conntrack cannot place, and
    // handset TCP and UDP out.
    EXPECT_EQ(count(text, "-j NFQUEUE --queue-num 3\n"), 7u);
}

TEST(IptablesRender, OpenEgressEndsTheOutChainAfterQueueingTcpAndUdpAndDroppingSctp) {
    RuleSpec s = representative_spec();
    s.egress_allow_list = false;
    const std::string text = ipt::render_rules(s, net::Family::v4);
    EXPECT_EQ(text.find("egress"), std::string::npos);
    // No payload match: the engine judges SIP by content on every port.
    EXPECT_EQ(text.find("-m string"), std::string::npos);
    // SCTP (a SIP transport the engine does not follow) is dropped whatever
    // the egress mode; everything else continues.
    EXPECT_NE(text.find("-A voipguard-out -p tcp -j NFQUEUE --queue-num 3 --queue-bypass\n"
                        "-A voipguard-out -p udp -j NFQUEUE --queue-num 3 --queue-bypass\n"
                        "-A voipguard-out -p sctp -m limit --limit 10/second --limit-burst 20 -j NFLOG --nflog-group 5060 "
                        "--nflog-prefix voipguard-drop-out\n"
                        "-A voipguard-out -p sctp -m comment --comment voipguard:drop-out -j DROP\n"
                        "-A voipguard-post "),
              std::string::npos)
        << text;
}

TEST(IptablesRender, NoNflogRuleWithoutASampleBudget) {
    RuleSpec s = representative_spec();
    s.nflog_rate_per_second = 0;
    EXPECT_EQ(ipt::render_rules(s, net::Family::v4).find("NFLOG"), std::string::npos);
}

TEST(IptablesRender, StaticMediaHasOneSetPerPortRangeBeforeTheMediaQueueRule) {
    RuleSpec s = representative_spec();
    s.static_media = true;
    s.static_media_sources = {service("203.0.113.64/27", L4::udp, 10000, 20000),
                              service("198.51.100.128/28", L4::udp, 30000, 31000),
                              service("2001:db8:10::/64", L4::udp, 10000, 20000)};
    const std::string text = ipt::render_rules(s, net::Family::v4);
    const std::string expected =
        "-A voipguard-in -m set --match-set voipguard-support4 src,dst -j RETURN\n"
        "-A voipguard-in -p udp -m udp --sport 10000:20000 -m set --match-set voipguard-static1-4 src"
        " -j MARK --set-xmark 0x5a0000/0xff0000\n"
        "-A voipguard-in -p udp -m udp --sport 10000:20000 -m set --match-set voipguard-static1-4 src -j RETURN\n"
        "-A voipguard-in -p udp -m udp --sport 30000:31000 -m set --match-set voipguard-static2-4 src"
        " -j MARK --set-xmark 0x5a0000/0xff0000\n"
        "-A voipguard-in -p udp -m udp --sport 30000:31000 -m set --match-set voipguard-static2-4 src -j RETURN\n"
        "-A voipguard-in -p udp -m set --match-set voipguard-pbx-media4 src -j NFQUEUE --queue-num 3 --queue-bypass\n"
        "-A voipguard-in -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY -j RETURN\n";
    EXPECT_NE(text.find(expected), std::string::npos) << text;

    const auto sets = ipt::sets_for(s, true);
    std::vector<std::string> statics;
    for (const auto& d : sets)
        if (d.name.find("static") != std::string::npos) {
            std::string line = d.name + ":";
            for (const auto& e : d.elements) line += " " + e;
            statics.push_back(line);
        }
    EXPECT_EQ(statics, (std::vector<std::string>{"voipguard-static1-4: 203.0.113.64/27",
                                                 "voipguard-static2-4: 198.51.100.128/28",
                                                 "voipguard-static1-6: 2001:db8:10::/64",
                                                 "voipguard-static2-6:"}));
}

TEST(IptablesRender, MoreThanFifteenSipPortsTakeSeveralMultiportRules) {
    RuleSpec s = representative_spec();
    s.sip_ports.clear();
    for (std::uint16_t p = 5060; p < 5076; ++p) s.sip_ports.push_back(p);
    const std::string text = ipt::render_rules(s, net::Family::v4);
    // Inbound from the PBX only (UDP, TCP); outbound queues every port.
    EXPECT_EQ(count(text, "--ports 5060,5061,5062,5063,5064,5065,5066,5067,5068,5069,5070,5071,5072,5073,5074 "),
              2u);
    EXPECT_EQ(count(text, "--ports 5075 "), 2u);
}

TEST(IptablesRender, TheSecondGenerationHasItsOwnChainsOverTheSameSets) {
    const std::string g0 = ipt::render_rules(representative_spec(), net::Family::v4, 0);
    const std::string g1 = ipt::render_rules(representative_spec(), net::Family::v4, 1);
    // The same rules, every chain of ours with "-2".
    ASSERT_EQ(g0.find("-2 "), std::string::npos);
    ASSERT_EQ(g0.find("-2\n"), std::string::npos);
    std::string back = g1;
    for (const char* suffix : {"-2 ", "-2\n"})
        for (std::size_t pos; (pos = back.find(suffix)) != std::string::npos;) back.erase(pos, 2);
    EXPECT_EQ(back, g0);
    EXPECT_NE(g1.find(":voipguard-fwd-2 - [0:0]\n"), std::string::npos);
    EXPECT_NE(g1.find("--match-set voipguard-pbx-sig4 src"), std::string::npos);
    EXPECT_NE(g1.find("-A voipguard-hs-2 -g voipguard-out-2\n"), std::string::npos);
    EXPECT_EQ(ipt::chain_generation("voipguard", "voipguard-in-2"), 1);
    EXPECT_EQ(ipt::chain_generation("voipguard", "voipguard-in"), 0);
    EXPECT_EQ(ipt::chain_generation("voipguard", "voipguard-in-3"), -1);
    EXPECT_EQ(ipt::chain_generation("voipguard", "voipguardx-in"), -1);
}

TEST(IptablesRender, TheSwapMovesEveryJumpInOneCommitPerTable) {
    EXPECT_EQ(ipt::render_swap("voipguard", {}, 0), kSwap);
    ipt::TableState st;
    st.name = "voipguard";
    st.chains = {"voipguard-fwd", "voipguard-in"};
    st.references = {"FORWARD -j voipguard-fwd", "FORWARD -j voipguard-fwd", "POSTROUTING -j voipguard-post"};
    st.filter_references = {"FORWARD -j voipguard-rst"};
    EXPECT_EQ(ipt::render_swap("voipguard", st, 1),
              "*filter\n"
              "-D FORWARD -j voipguard-rst\n"
              "-I FORWARD 1 -j voipguard-rst-2\n"
              "COMMIT\n"
              "*mangle\n"
              "-D FORWARD -j voipguard-fwd\n"
              "-D FORWARD -j voipguard-fwd\n"
              "-D POSTROUTING -j voipguard-post\n"
              "-I FORWARD 1 -j voipguard-fwd-2\n"
              "-I POSTROUTING 1 -j voipguard-post-2\n"
              "COMMIT\n");
    // -1: the jumps go, none comes (a failed first install is undone).
    EXPECT_EQ(ipt::render_swap("voipguard", st, -1),
              "*filter\n-D FORWARD -j voipguard-rst\nCOMMIT\n"
              "*mangle\n-D FORWARD -j voipguard-fwd\n-D FORWARD -j voipguard-fwd\n-D POSTROUTING -j voipguard-post\n"
              "COMMIT\n");
    EXPECT_EQ(ipt::render_swap("voipguard", {}, -1), "");
}

TEST(IptablesRender, IpsetStagingFromNothingMatchesTheGoldenText) {
    EXPECT_EQ(ipt::render_ipset_stage(ipt::sets_for(representative_spec(), true), {}), kIpsetStage);
    EXPECT_EQ(ipt::render_ipset_swap(ipt::sets_for(representative_spec(), true)), kIpsetSwap);
}

TEST(IptablesRender, IpsetStagingReusesExistingSetsAndDropsLeftoverStagingSets) {
    RuleSpec s = representative_spec();
    s.egress_allow_list = false;
    s.support.clear();
    const auto wanted = ipt::sets_for(s, false);
    const std::vector<ipt::SetState> existing{{"voipguard-handsets4", "hash:net", "inet"},
                                              {"voipguard-pbx-sig4-new", "hash:net", "inet"},
                                              {"router-set", "hash:ip", "inet"}};
    EXPECT_EQ(ipt::render_ipset_stage(wanted, existing),
              "create voipguard-handsets4-new hash:net family inet hashsize 64 maxelem 65536\n"
              "add -exist voipguard-handsets4-new 192.168.20.0/24\n"
              "destroy voipguard-pbx-sig4-new\n"
              "create voipguard-pbx-sig4 hash:net family inet hashsize 64 maxelem 65536\n"
              "create voipguard-pbx-sig4-new hash:net family inet hashsize 64 maxelem 65536\n"
              "add -exist voipguard-pbx-sig4-new 198.51.100.128/28\n"
              "add -exist voipguard-pbx-sig4-new 203.0.113.10\n"
              "create voipguard-pbx-media4 hash:net family inet hashsize 64 maxelem 65536\n"
              "create voipguard-pbx-media4-new hash:net family inet hashsize 64 maxelem 65536\n"
              "add -exist voipguard-pbx-media4-new 198.51.100.128/28\n"
              "add -exist voipguard-pbx-media4-new 203.0.113.64/27\n"
              "create voipguard-support4 hash:net,port family inet hashsize 64 maxelem 65536\n"
              "create voipguard-support4-new hash:net,port family inet hashsize 64 maxelem 65536\n");
}

TEST(IptablesRender, SetsSizeMaxelemForExpandedPortRanges) {
    RuleSpec s = representative_spec();
    s.support = {service("198.51.100.0/28", L4::tcp, 1, 65535), service("198.51.100.64/28", L4::udp, 1, 65535)};
    for (const auto& d : ipt::sets_for(s, false))
        if (d.name == "voipguard-support4") {
            EXPECT_EQ(d.maxelem, 131070u);
            EXPECT_EQ(d.elements,
                      (std::vector<std::string>{"198.51.100.0/28,tcp:1-65535", "198.51.100.64/28,udp:1-65535"}));
        }
}

TEST(IptablesRender, Ipv4OnlySetsWithoutIpv6) {
    for (const auto& d : ipt::sets_for(representative_spec(), false)) {
        EXPECT_EQ(d.family, net::Family::v4) << d.name;
        EXPECT_EQ(d.name.back(), '4');
    }
}

constexpr const char* kSaveWithStaleState = R"(# Generated by iptables-save v1.8.9 (nf_tables)
*mangle
:PREROUTING ACCEPT [10:1000]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [5:500]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:router_rule - [0:0]
:voipguard-fwd - [0:0]
:voipguard-in - [0:0]
:voipguard-post - [0:0]
[1:60] -A FORWARD -j voipguard-fwd
[0:0] -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -m comment --comment "mss voipguard-fwd" -j TCPMSS --clamp-mss-to-pmtu
[0:0] -A FORWARD -j router_rule
[0:0] -A POSTROUTING -j voipguard-post
[7:700] -A voipguard-in -m comment --comment "voipguard:drop-in" -j DROP
[3:300] -A voipguard-in -p udp -m set --match-set voipguard-pbx-media4 src -m comment --comment voipguard:queue -j NFQUEUE --queue-num 3
[2:100] -A voipguard-out -m comment --comment voipguard:drop-out -j DROP
[9:900] -A router_rule -m comment --comment "voipguard:drop-in" -j DROP
COMMIT
*filter
:FORWARD ACCEPT [5:500]
:voipguard-rst - [0:0]
[0:0] -A FORWARD -j voipguard-rst
[4:400] -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[0:0] -A voipguard-rst -p tcp -m mark --mark 0xa50000/0xff0000 -j REJECT --reject-with tcp-reset
COMMIT
*nat
:voipguard-fwd - [0:0]
COMMIT
)";

TEST(IptablesParse, TableStateListsOurChainsAndTheJumpsToThemOnly) {
    const auto st = ipt::parse_table(kSaveWithStaleState, "voipguard");
    EXPECT_EQ(st.chains, (std::vector<std::string>{"voipguard-fwd", "voipguard-in", "voipguard-post"}));
    EXPECT_EQ(st.references, (std::vector<std::string>{"FORWARD -j voipguard-fwd", "POSTROUTING -j voipguard-post"}));
    // The reset chain of the filter table; other tables are not ours.
    EXPECT_EQ(st.filter_chains, (std::vector<std::string>{"voipguard-rst"}));
    EXPECT_EQ(st.filter_references, (std::vector<std::string>{"FORWARD -j voipguard-rst"}));
    EXPECT_TRUE(ipt::parse_table(kSaveWithStaleState, "other").empty());
}

TEST(IptablesParse, RemovalDeletesJumpsThenFlushesThenDeletesChains) {
    EXPECT_EQ(ipt::render_removal(ipt::parse_table(kSaveWithStaleState, "voipguard")),
              "*mangle\n"
              "-D FORWARD -j voipguard-fwd\n"
              "-D POSTROUTING -j voipguard-post\n"
              "-F voipguard-fwd\n"
              "-F voipguard-in\n"
              "-F voipguard-post\n"
              "-X voipguard-fwd\n"
              "-X voipguard-in\n"
              "-X voipguard-post\n"
              "COMMIT\n"
              "*filter\n"
              "-D FORWARD -j voipguard-rst\n"
              "-F voipguard-rst\n"
              "-X voipguard-rst\n"
              "COMMIT\n");
    EXPECT_EQ(ipt::render_removal({}), "");
}

TEST(IptablesParse, CountersComeFromOurCommentedRulesOnly) {
    Counters c;
    ipt::add_counters(kSaveWithStaleState, "voipguard", c);
    EXPECT_EQ(c.inbound_drop_packets, 7u);
    EXPECT_EQ(c.inbound_drop_bytes, 700u);
    EXPECT_EQ(c.queued_packets, 3u);
    EXPECT_EQ(c.queued_bytes, 300u);
    EXPECT_EQ(c.egress_drop_packets, 2u);
    EXPECT_EQ(c.egress_drop_bytes, 100u);
}

constexpr const char* kIpsetList = R"(Name: voipguard-handsets4
Type: hash:net
Revision: 7
Header: family inet hashsize 64 maxelem 65536 bucketsize 12 initval 0x17823847
Size in memory: 456
References: 1
Number of entries: 1

Name: voipguard-support6-new
Type: hash:net,port
Revision: 8
Header: family inet6 hashsize 64 maxelem 65536 bucketsize 12 initval 0x08a3224f
Size in memory: 1456
References: 0
Number of entries: 3

Name: voipguard-static12-6
Type: hash:net
Revision: 7
Header: family inet6 hashsize 64 maxelem 65536 bucketsize 12 initval 0x1
Size in memory: 456
References: 0
Number of entries: 0

Name: voipguard-other4
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536
Size in memory: 200
References: 0
Number of entries: 0

Name: voipguardx-handsets4
Type: hash:net
Revision: 7
Header: family inet hashsize 64 maxelem 65536
Size in memory: 200
References: 0
Number of entries: 0
)";

TEST(IptablesParse, IpsetListGivesNameTypeAndFamily) {
    const auto sets = ipt::parse_ipset_list(kIpsetList);
    ASSERT_EQ(sets.size(), 5u);
    EXPECT_EQ(sets[1].name, "voipguard-support6-new");
    EXPECT_EQ(sets[1].type, "hash:net,port");
    EXPECT_EQ(sets[1].family, "inet6");
}

TEST(IptablesParse, OurSetsAreExactlyTheNamesWeMake) {
    const auto sets = ipt::parse_ipset_list(kIpsetList);
    EXPECT_EQ(ipt::our_sets("voipguard", sets),
              (std::vector<std::string>{"voipguard-handsets4", "voipguard-support6-new", "voipguard-static12-6"}));
    EXPECT_TRUE(ipt::our_sets("vg", sets).empty());
}

TEST(IptablesParse, SetsOfAnotherTypeOrFamilyAreIncompatible) {
    std::string why;
    const auto wanted = ipt::sets_for(representative_spec(), true);
    EXPECT_TRUE(ipt::sets_compatible(wanted, {{"voipguard-handsets4", "hash:net", "inet"}}, why));
    EXPECT_FALSE(ipt::sets_compatible(wanted, {{"voipguard-handsets4", "hash:ip", "inet"}}, why));
    EXPECT_EQ(why, "set voipguard-handsets4 is hash:ip family inet, needs hash:net family inet");
    EXPECT_FALSE(ipt::sets_compatible(wanted, {{"voipguard-support6", "hash:net,port", "inet"}}, why));
}

// The command sequence, against a fake runner.
class IptablesBackendFlow : public ::testing::Test {
protected:
    BackendOptions options() {
        BackendOptions o;
        o.runner = fake.runner();
        return o;
    }
    test::FakeRunner fake;
};

TEST_F(IptablesBackendFlow, InstallStagesSetsAndRulesThenSwapsThemInThenDropsUnwantedSets) {
    fake.reply("ipset list -t", "Name: voipguard-static1-4\nType: hash:net\nHeader: family inet hashsize 64\n");
    IptablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{
                                   "ipset list -t",
                                   "ipset restore",                       // stage the sets
                                   "iptables-save",
                                   "iptables-restore -w 5 --noflush",     // stage the chains
                                   "ip6tables-save",
                                   "ip6tables-restore -w 5 --noflush",
                                   "ipset restore",                       // swap the sets
                                   "iptables-restore -w 5 --noflush",     // swap the jumps
                                   "ip6tables-restore -w 5 --noflush",
                                   "iptables-save -c",                    // nothing old to drop
                                   "ip6tables-save -c",
                                   "ipset restore",                       // staging sets (old contents) go
                                   "ipset list -t",
                                   "ipset destroy voipguard-static1-4",
                               }));
    EXPECT_EQ(fake.inputs_of("iptables-restore -w 5 --noflush"), (std::vector<std::string>{kRulesV4, kSwap}));
    EXPECT_EQ(fake.inputs_of("ip6tables-restore -w 5 --noflush"), (std::vector<std::string>{kRulesV6, kSwap}));
    const auto sets = fake.inputs_of("ipset restore");
    ASSERT_EQ(sets.size(), 3u);
    EXPECT_EQ(sets[0], kIpsetStage);
    EXPECT_EQ(sets[1], ipt::render_ipset_swap(ipt::sets_for(representative_spec(), true), false));
    EXPECT_EQ(sets[1].find("destroy"), std::string::npos);
    EXPECT_EQ(sets[2].find("destroy voipguard-handsets4-new\n"), 0u);
    EXPECT_EQ(b.name(), "iptables");
}

TEST_F(IptablesBackendFlow, TheLockIsWaitedForWithTheConfiguredBound) {
    BackendOptions o = options();
    o.xtables_wait_seconds = 12;
    o.ipv6 = false;
    RuleSpec v4only = representative_spec();
    v4only.handsets = {cidr("192.168.20.0/24")};
    {
        IptablesBackend b("voipguard", o);
        std::string error;
        ASSERT_TRUE(b.install(v4only, error)) << error;
        EXPECT_EQ(fake.inputs_of("iptables-restore -w 12 --noflush").size(), 2u);
    }
    fake.clear();
    o.xtables_wait_seconds = 0;
    IptablesBackend b("voipguard", o);
    std::string error;
    ASSERT_TRUE(b.install(v4only, error)) << error;
    EXPECT_EQ(fake.inputs_of("iptables-restore --noflush").size(), 2u);
}

// A previous instance's rules (generation 0 live): the new ones go into
// generation 1, the jumps move in one commit per table, and only then is
// generation 0 deleted.
constexpr const char* kLiveAfterSwap = R"(*mangle
:FORWARD ACCEPT [0:0]
:voipguard-fwd - [0:0]
:voipguard-in - [0:0]
:voipguard-post - [0:0]
:voipguard-fwd-2 - [0:0]
:voipguard-in-2 - [0:0]
:voipguard-post-2 - [0:0]
[0:0] -A FORWARD -j voipguard-fwd-2
[0:0] -A POSTROUTING -j voipguard-post-2
[7:700] -A voipguard-in -m comment --comment "voipguard:drop-in" -j DROP
COMMIT
*filter
:voipguard-rst - [0:0]
:voipguard-rst-2 - [0:0]
[0:0] -A FORWARD -j voipguard-rst-2
COMMIT
)";

TEST_F(IptablesBackendFlow, InstallOverAPreviousInstanceWritesTheOtherGenerationAndDropsTheOldOneLast) {
    fake.reply("iptables-save", kSaveWithStaleState);
    fake.reply("iptables-save -c", kLiveAfterSwap);
    BackendOptions o = options();
    o.ipv6 = false;
    IptablesBackend b("voipguard", o);
    std::string error;
    RuleSpec s = representative_spec();
    s.handsets = {cidr("192.168.20.0/24")};
    ASSERT_TRUE(b.install(s, error)) << error;
    const auto v4 = fake.inputs_of("iptables-restore -w 5 --noflush");
    ASSERT_EQ(v4.size(), 3u);
    EXPECT_EQ(v4[0], ipt::render_rules(s, net::Family::v4, 1));
    EXPECT_EQ(v4[0].find("FORWARD"), std::string::npos);
    EXPECT_EQ(v4[1],
              "*filter\n-D FORWARD -j voipguard-rst\n-I FORWARD 1 -j voipguard-rst-2\nCOMMIT\n"
              "*mangle\n-D FORWARD -j voipguard-fwd\n-D POSTROUTING -j voipguard-post\n"
              "-I FORWARD 1 -j voipguard-fwd-2\n-I POSTROUTING 1 -j voipguard-post-2\nCOMMIT\n");
    EXPECT_EQ(v4[2],
              "*mangle\n-F voipguard-fwd\n-F voipguard-in\n-F voipguard-post\n"
              "-X voipguard-fwd\n-X voipguard-in\n-X voipguard-post\nCOMMIT\n"
              "*filter\n-F voipguard-rst\n-X voipguard-rst\nCOMMIT\n");
    // Counts of the replaced instance are not ours.
    fake.reply("iptables-save -c -t mangle", "");
    EXPECT_EQ(b.counters().inbound_drop_packets, 0u);
}

TEST_F(IptablesBackendFlow, InstallRefusesASpecWithAnotherName) {
    IptablesBackend b("other", options());
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_EQ(error, "rule spec is named \"voipguard\", the backend \"other\"");
    EXPECT_TRUE(fake.calls_.empty());
}

TEST_F(IptablesBackendFlow, InstallRefusesIpv6HandsetsWithoutIp6tables) {
    BackendOptions o = options();
    o.ipv6 = false;
    IptablesBackend b("voipguard", o);
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_EQ(error, "handset network fd00:20::/64 is IPv6, but ip6tables is not available");
    RuleSpec v4only = representative_spec();
    v4only.handsets = {cidr("192.168.20.0/24")};
    EXPECT_TRUE(b.install(v4only, error)) << error;
    for (const auto& c : fake.commands()) EXPECT_EQ(c.find("ip6tables"), std::string::npos) << c;
}

// Nothing that a failed install runs may touch what is live: no jump of
// generation 0 deleted, no chain of it flushed or deleted, no final set
// destroyed or flushed.
void expect_live_rules_untouched(const test::FakeRunner& fake) {
    for (const auto& c : fake.calls_) {
        for (const char* live : {"-D FORWARD -j voipguard-fwd\n", "-D POSTROUTING -j voipguard-post\n",
                                 "-D FORWARD -j voipguard-rst\n", "-F voipguard-in\n", "-X voipguard-in\n",
                                 ":voipguard-in - ", "destroy voipguard-handsets4\n", "flush voipguard-handsets4\n"})
            EXPECT_EQ(c.input.find(live), std::string::npos) << c.command << " ran\n" << c.input;
        EXPECT_NE(c.command, "ipset destroy voipguard-handsets4");
    }
}

TEST_F(IptablesBackendFlow, AFailedIpv6StageLeavesThePreviousRulesAndSetsAlone) {
    fake.reply("iptables-save", kSaveWithStaleState);
    fake.reply("ip6tables-save", kSaveWithStaleState);
    fake.reply("ipset list -t", kIpsetList);
    fake.handler = [](const std::string& command, const std::string& input, ExecResult& out) {
        if (command != "ip6tables-restore -w 5 --noflush" || input.find(":voipguard-fwd-2 ") == std::string::npos)
            return false;
        out.exit_code = 2;
        out.err = "ip6tables-restore: line 9 failed";
        return true;
    };
    IptablesBackend b("voipguard", options());
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_EQ(error, "ip6tables-restore -w 5 --noflush: exit 2: ip6tables-restore: line 9 failed");
    const auto cmds = fake.commands();
    // No set was swapped and no jump moved.
    for (const auto& input : fake.inputs_of("ipset restore")) EXPECT_EQ(input.find("swap "), std::string::npos);
    for (const auto& c : fake.calls_) EXPECT_EQ(c.input.find("-I FORWARD"), std::string::npos) << c.input;
    expect_live_rules_untouched(fake);
    // The staging sets went again.
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), "ipset destroy voipguard-support6-new"), cmds.end());
}

TEST_F(IptablesBackendFlow, AFailedIpv6SwapPutsTheIpv4JumpsAndTheSetContentsBack) {
    fake.reply("iptables-save", kSaveWithStaleState);
    fake.reply("ip6tables-save", kSaveWithStaleState);
    fake.handler = [](const std::string& command, const std::string& input, ExecResult& out) {
        if (command != "ip6tables-restore -w 5 --noflush" || input.find("-I FORWARD 1 -j voipguard-fwd-2") ==
                                                                  std::string::npos)
            return false;
        out.exit_code = 4;
        out.err = "Another app is currently holding the xtables lock. Stopped waiting after 5s.";
        return true;
    };
    IptablesBackend b("voipguard", options());
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_NE(error.find("holding the xtables lock"), std::string::npos) << error;
    const auto v4 = fake.inputs_of("iptables-restore -w 5 --noflush");
    ASSERT_GE(v4.size(), 3u);
    EXPECT_NE(v4[1].find("-I FORWARD 1 -j voipguard-fwd-2\n"), std::string::npos) << v4[1];
    // Back to generation 0 (the fake kernel's save is the old state; the
    // real one is read again the same way).
    EXPECT_NE(v4[2].find("-I FORWARD 1 -j voipguard-fwd\n-I POSTROUTING 1 -j voipguard-post\n"), std::string::npos)
        << v4[2];
    // The sets were swapped in and out again: the same swap twice.
    const auto sets = fake.inputs_of("ipset restore");
    ASSERT_GE(sets.size(), 3u);
    EXPECT_EQ(sets[1], sets[2]);
    EXPECT_NE(sets[1].find("swap voipguard-handsets4-new voipguard-handsets4\n"), std::string::npos);
}

// What iptables-save lists once generation `g` of `rules` (render_rules)
// is live: the jumps first in each table, then our chains.
std::string live_save(std::string rules, int g) {
    const std::string suffix = g == 1 ? "-2" : "";
    rules.insert(rules.find("*filter\n") + 8, "-A FORWARD -j voipguard-rst" + suffix + "\n");
    rules.insert(rules.find("*mangle\n") + 8,
                 "-A FORWARD -j voipguard-fwd" + suffix + "\n-A POSTROUTING -j voipguard-post" + suffix + "\n");
    return rules;
}

TEST(IptablesParse, RulesInPlaceOnlyWhenEveryChainIsWholeAndJumpedToFirst) {
    const RuleSpec s = representative_spec();
    for (int g : {0, 1}) {
        const std::string rules = ipt::render_rules(s, net::Family::v4, g);
        const std::string save = live_save(rules, g);
        EXPECT_TRUE(ipt::rules_in_place(save, rules, "voipguard")) << save;
        // A rule gone (a firewall reload flushed a chain) ...
        std::string missing = save;
        missing.erase(missing.find("-A voipguard-out"), missing.find('\n', missing.find("-A voipguard-out")) -
                                                             missing.find("-A voipguard-out") + 1);
        EXPECT_FALSE(ipt::rules_in_place(missing, rules, "voipguard"));
        // ... the router's rule before our jump ...
        std::string pushed = save;
        pushed.insert(pushed.find("*mangle\n") + 8, "-A FORWARD -j ACCEPT\n");
        EXPECT_FALSE(ipt::rules_in_place(pushed, rules, "voipguard"));
        // ... or our jump twice.
        std::string twice = save;
        twice.insert(twice.find("*filter\n") + 8, "-A FORWARD -j voipguard-rst" + std::string(g ? "-2" : "") + "\n");
        EXPECT_FALSE(ipt::rules_in_place(twice, rules, "voipguard"));
    }
    EXPECT_FALSE(ipt::rules_in_place("", ipt::render_rules(s, net::Family::v4), "voipguard"));
}

// A reload with the same rules, still in the kernel as written, swaps the
// sets only; rules the kernel lost are written again (stage and swap).
TEST_F(IptablesBackendFlow, InstallOfTheSameRulesStillInPlaceSwapsTheSetsOnly) {
    BackendOptions o = options();
    o.ipv6 = false;
    RuleSpec s = representative_spec();
    s.handsets = {cidr("192.168.20.0/24")};
    IptablesBackend b("voipguard", o);
    std::string error;
    ASSERT_TRUE(b.install(s, error)) << error;
    fake.reply("iptables-save", live_save(ipt::render_rules(s, net::Family::v4, 0), 0));
    fake.clear();
    s.pbx_signalling.push_back(cidr("203.0.113.11"));
    ASSERT_TRUE(b.install(s, error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"ipset list -t", "iptables-save", "ipset restore",
                                                         "ipset restore", "ipset list -t"}));
    // The kernel lost a rule: the whole staged install.
    fake.reply("iptables-save", "*mangle\n-A FORWARD -j voipguard-fwd\nCOMMIT\n");
    fake.clear();
    ASSERT_TRUE(b.install(s, error)) << error;
    const auto v4 = fake.inputs_of("iptables-restore -w 5 --noflush");
    ASSERT_GE(v4.size(), 2u);
    EXPECT_NE(v4[0].find(":voipguard-in-2 "), std::string::npos);
}

TEST_F(IptablesBackendFlow, UpdateOfAddressesSwapsSetsAndLeavesRulesAlone) {
    IptablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    fake.clear();
    RuleSpec s = representative_spec();
    s.pbx_signalling.push_back(cidr("203.0.113.11"));
    s.support.push_back(service("198.51.100.8", L4::udp, 161, 161));
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"ipset list -t", "ipset restore", "ipset restore",
                                                         "ipset list -t"}));
    const auto restores = fake.inputs_of("ipset restore");
    ASSERT_EQ(restores.size(), 2u);
    EXPECT_NE(restores[0].find("add -exist voipguard-pbx-sig4-new 203.0.113.11\n"), std::string::npos);
    EXPECT_NE(restores[0].find("add -exist voipguard-support4-new 198.51.100.8,udp:161\n"), std::string::npos);
    EXPECT_NE(restores[1].find("swap voipguard-pbx-sig4-new voipguard-pbx-sig4\n"), std::string::npos);
}

TEST_F(IptablesBackendFlow, UpdateOfSipPortsRewritesTheRulesAndKeepsTheCounts) {
    IptablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    // The kernel now: generation 0 live, its drop rule counted 5 packets.
    fake.reply("iptables-save", "*mangle\n:voipguard-fwd - [0:0]\n-A FORWARD -j voipguard-fwd\nCOMMIT\n");
    fake.reply("iptables-save -c",
               "*mangle\n[5:500] -A voipguard-in -m comment --comment voipguard:drop-in -j DROP\nCOMMIT\n");
    fake.clear();
    RuleSpec s = representative_spec();
    s.sip_ports = {5080};
    ASSERT_TRUE(b.update(s, error)) << error;
    const auto v4 = fake.inputs_of("iptables-restore -w 5 --noflush");
    ASSERT_GE(v4.size(), 2u);
    EXPECT_NE(v4[0].find("--ports 5080 "), std::string::npos);
    EXPECT_NE(v4[0].find(":voipguard-in-2 "), std::string::npos);
    EXPECT_EQ(fake.inputs_of("ip6tables-restore -w 5 --noflush").size(), 2u);
    // The rewritten rules start from 0 in the kernel; the 5 packets are kept.
    fake.reply("iptables-save -c -t mangle",
               "[1:100] -A voipguard-in-2 -m comment --comment voipguard:drop-in -j DROP\n");
    const Counters c = b.counters();
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.inbound_drop_packets, 6u);
    EXPECT_EQ(c.inbound_drop_bytes, 600u);
}

TEST_F(IptablesBackendFlow, UpdateWithoutInstallInstalls) {
    IptablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.update(representative_spec(), error)) << error;
    EXPECT_EQ(fake.inputs_of("iptables-restore -w 5 --noflush").size(), 2u);
}

TEST_F(IptablesBackendFlow, RemoveWithNothingInstalledChangesNothingAndSucceeds) {
    IptablesBackend b("voipguard", options());
    std::string error;
    EXPECT_TRUE(b.remove(error)) << error;
    EXPECT_EQ(fake.commands(),
              (std::vector<std::string>{"iptables-save", "ip6tables-save", "ipset list -t"}));
}

TEST_F(IptablesBackendFlow, RemoveDeletesStaleRulesAndSetsOfAPreviousInstance) {
    fake.reply("iptables-save", kSaveWithStaleState);
    fake.reply("ipset list -t", kIpsetList);
    IptablesBackend b("voipguard", options());
    std::string error;
    EXPECT_TRUE(b.remove(error)) << error;
    EXPECT_EQ(fake.inputs_of("iptables-restore -w 5 --noflush"),
              (std::vector<std::string>{ipt::render_removal(ipt::parse_table(kSaveWithStaleState, "voipguard"))}));
    EXPECT_TRUE(fake.inputs_of("ip6tables-restore -w 5 --noflush").empty());
    EXPECT_EQ(fake.inputs_of("ipset restore"),
              (std::vector<std::string>{"destroy voipguard-handsets4\ndestroy voipguard-support6-new\n"
                                        "destroy voipguard-static12-6\n"}));
}

TEST_F(IptablesBackendFlow, CountersAreNotOkWhenTheKernelCannotBeRead) {
    fake.reply("iptables-save -c -t mangle", "iptables-save: permission denied", 1);
    IptablesBackend b("voipguard", options());
    EXPECT_FALSE(b.counters().ok);
}

}  // namespace
}  // namespace vg::kernel
