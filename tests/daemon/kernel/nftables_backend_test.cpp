// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/nftables_backend.h"

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

// The golden transaction of the representative spec (see kernel_test_util.h).
constexpr const char* kTable = R"(table inet voipguard {}
delete table inet voipguard
table inet voipguard {
	counter queued {
	}
	counter drop_in {
	}
	counter drop_out {
	}
	set handsets4 {
		type ipv4_addr
		flags interval
		elements = { 192.168.20.0/24 }
	}
	set handsets6 {
		type ipv6_addr
		flags interval
		elements = { fd00:20::/64 }
	}
	set pbx_sig4 {
		type ipv4_addr
		flags interval
		elements = { 198.51.100.128/28, 203.0.113.10 }
	}
	set pbx_sig6 {
		type ipv6_addr
		flags interval
		elements = { 2001:db8:10::10 }
	}
	set pbx_media4 {
		type ipv4_addr
		flags interval
		elements = { 198.51.100.128/28, 203.0.113.64/27 }
	}
	set pbx_media6 {
		type ipv6_addr
		flags interval
		elements = { 2001:db8:10::/64 }
	}
	set support4 {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		elements = { 198.51.100.7 . tcp . 22, 198.51.100.7 . tcp . 443 }
	}
	set support6 {
		type ipv6_addr . inet_proto . inet_service
		flags interval
		elements = { 2001:db8:99::7 . tcp . 22 }
	}
	set egress4 {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		elements = { 0.0.0.0/0 . tcp . 443, 192.0.2.123 . udp . 123 }
	}
	set egress6 {
		type ipv6_addr . inet_proto . inet_service
		flags interval
		elements = { 2001:db8:1::/48 . tcp . 8000-8080 }
	}
	chain forward {
		type filter hook forward priority mangle; policy accept;
		ct mark & 0xff0000 == 0x5a0000 return
		ip daddr @handsets4 ip saddr != @handsets4 jump to_handsets
		ip6 daddr @handsets6 ip6 saddr != @handsets6 jump to_handsets
		ip saddr @handsets4 ip daddr != @handsets4 jump from_handsets
		ip6 saddr @handsets6 ip6 daddr != @handsets6 jump from_handsets
	}
	chain to_handsets {
		ip saddr @pbx_sig4 meta l4proto { tcp, udp } th sport { 5060, 5061 } counter name "queued" queue num 3 bypass
		ip saddr @pbx_sig4 meta l4proto { tcp, udp } th dport { 5060, 5061 } counter name "queued" queue num 3 bypass
		ip6 saddr @pbx_sig6 meta l4proto { tcp, udp } th sport { 5060, 5061 } counter name "queued" queue num 3 bypass
		ip6 saddr @pbx_sig6 meta l4proto { tcp, udp } th dport { 5060, 5061 } counter name "queued" queue num 3 bypass
		ip saddr . meta l4proto . th dport @support4 meta mark set meta mark & 0xff00ffff | 0x5a0000 return
		ip6 saddr . meta l4proto . th dport @support6 meta mark set meta mark & 0xff00ffff | 0x5a0000 return
		ip saddr @pbx_media4 meta l4proto udp counter name "queued" queue num 3 bypass
		ip6 saddr @pbx_media6 meta l4proto udp counter name "queued" queue num 3 bypass
		ct state established,related ct direction reply return
		ct state invalid ip saddr @pbx_sig4 meta l4proto icmp limit rate 50/second burst 50 packets counter name "queued" queue num 3 bypass
		ct state invalid ip6 saddr @pbx_sig6 meta l4proto ipv6-icmp limit rate 50/second burst 50 packets counter name "queued" queue num 3 bypass
		ct state invalid ip saddr @pbx_media4 meta l4proto icmp limit rate 50/second burst 50 packets counter name "queued" queue num 3 bypass
		ct state invalid ip6 saddr @pbx_media6 meta l4proto ipv6-icmp limit rate 50/second burst 50 packets counter name "queued" queue num 3 bypass
		limit rate 10/second burst 20 packets log prefix "voipguard-drop-in" group 5060
		counter name "drop_in" drop
	}
	chain drop_sctp {
		limit rate 10/second burst 20 packets log prefix "voipguard-drop-out" group 5060
		counter name "drop_out" drop
	}
	chain from_handsets {
		meta l4proto { tcp, udp } counter name "queued" queue num 3 bypass
		meta l4proto sctp jump drop_sctp
		ip daddr . meta l4proto . th dport @egress4 return
		ip6 daddr . meta l4proto . th dport @egress6 return
		ct state established,related return
		limit rate 10/second burst 20 packets log prefix "voipguard-drop-out" group 5060
		counter name "drop_out" drop
	}
	chain send_reset {
		type filter hook forward priority filter; policy accept;
		meta mark & 0xff0000 == 0xa50000 meta l4proto tcp reject with tcp reset
	}
	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		meta mark & 0xff0000 == 0x5a0000 ct mark set ct mark & 0xff00ffff | 0x5a0000
	}
}
)";

constexpr const char* kSetUpdate = R"(flush set inet voipguard handsets4
add element inet voipguard handsets4 { 192.168.20.0/24 }
flush set inet voipguard handsets6
add element inet voipguard handsets6 { fd00:20::/64 }
flush set inet voipguard pbx_sig4
add element inet voipguard pbx_sig4 { 198.51.100.128/28, 203.0.113.10 }
flush set inet voipguard pbx_sig6
add element inet voipguard pbx_sig6 { 2001:db8:10::10 }
flush set inet voipguard pbx_media4
add element inet voipguard pbx_media4 { 198.51.100.128/28, 203.0.113.64/27 }
flush set inet voipguard pbx_media6
add element inet voipguard pbx_media6 { 2001:db8:10::/64 }
flush set inet voipguard support4
add element inet voipguard support4 { 198.51.100.7 . tcp . 22, 198.51.100.7 . tcp . 443 }
flush set inet voipguard support6
add element inet voipguard support6 { 2001:db8:99::7 . tcp . 22 }
flush set inet voipguard egress4
add element inet voipguard egress4 { 0.0.0.0/0 . tcp . 443, 192.0.2.123 . udp . 123 }
flush set inet voipguard egress6
add element inet voipguard egress6 { 2001:db8:1::/48 . tcp . 8000-8080 }
)";

TEST(NftablesRender, TableMatchesTheGoldenText) {
    EXPECT_EQ(nft::render_table(representative_spec()), kTable);
}

TEST(NftablesRender, SetUpdateMatchesTheGoldenText) {
    EXPECT_EQ(nft::render_set_update(representative_spec()), kSetUpdate);
}

TEST(NftablesRender, TheTransactionReplacesTheTableAtomically) {
    const std::string text = nft::render_table(representative_spec());
    EXPECT_EQ(text.substr(0, text.find('{', 30)),
              "table inet voipguard {}\ndelete table inet voipguard\ntable inet voipguard ");
    EXPECT_EQ(nft::render_delete("voipguard"), "table inet voipguard {}\ndelete table inet voipguard\n");
}

TEST(NftablesRender, NoVariantEverAccepts) {
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
                    const std::string text = nft::render_table(s);
                    EXPECT_EQ(text.find("accept\n"), std::string::npos);
                    EXPECT_EQ(count(text, "policy accept;"), 3u);   // base chains let what we do not drop pass
                    EXPECT_EQ(count(text, " accept"), 3u);
                }
}

TEST(NftablesRender, TrackedFlowsPassTheEgressAllowListBeforeItsDrop) {
    // A handset's ICMP error about a SIP flow with the PBX is RELATED to a
    // tracked flow; the PBX is no egress destination. Same order as the
    // iptables backend: allow-list, tracked flows, drop.
    RuleSpec s = representative_spec();
    const std::string text = nft::render_table(s);
    const auto chain = text.find("\tchain from_handsets {\n");
    ASSERT_NE(chain, std::string::npos) << text;
    const std::string body = text.substr(chain, text.find("\t}\n", chain) - chain);
    const auto allow = body.find("\t\tip6 daddr . meta l4proto . th dport @egress6 return\n");
    const auto tracked = body.find("\t\tct state established,related return\n");
    const auto dropped = body.find("counter name \"drop_out\" drop\n");
    ASSERT_NE(allow, std::string::npos) << body;
    ASSERT_NE(tracked, std::string::npos) << body;
    ASSERT_NE(dropped, std::string::npos) << body;
    EXPECT_LT(allow, tracked);
    EXPECT_LT(tracked, dropped);
    // Open egress: nothing is dropped there, so nothing to let through.
    s.egress_allow_list = false;
    const std::string open = nft::render_table(s);
    const std::string open_body = open.substr(open.find("\tchain from_handsets {\n"));
    EXPECT_EQ(open_body.substr(0, open_body.find("\t}\n")).find("ct state"), std::string::npos) << open;
}

TEST(NftablesRender, MonitorModeCountsWithoutDropping) {
    RuleSpec s = representative_spec();
    s.monitor = true;
    const std::string text = nft::render_table(s);
    EXPECT_EQ(text.find("drop\n"), std::string::npos);
    EXPECT_NE(text.find("\t\tcounter name \"drop_in\"\n"), std::string::npos);
    EXPECT_NE(text.find("\t\tcounter name \"drop_out\"\n"), std::string::npos);
    EXPECT_EQ(count(text, " log prefix "), 3u);   // drop-in, drop-out, and SCTP out
}

TEST(NftablesRender, VoiceInterfacesBindTheHandsetNetworksBeforeTheFastPath) {
    RuleSpec s = representative_spec();
    s.voice_interfaces = {"lan0", "eth1.20"};
    const std::string text = nft::render_table(s);
    EXPECT_NE(text.find("\tcounter forged {\n\t}\n\tcounter foreign {\n\t}\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\t\ttype filter hook forward priority mangle; policy accept;\n"
                        "\t\tip saddr @handsets4 iifname != { \"lan0\", \"eth1.20\" } jump forged_source\n"
                        "\t\tiifname { \"lan0\", \"eth1.20\" } ip saddr != @handsets4 ip daddr @pbx_sig4 jump foreign_source\n"
                        "\t\tiifname { \"lan0\", \"eth1.20\" } ip saddr != @handsets4 ip daddr @pbx_media4 jump foreign_source\n"
                        "\t\tiifname { \"lan0\", \"eth1.20\" } ip saddr != @handsets4 meta l4proto { tcp, udp } th dport "
                        "{ 5060, 5061 } jump foreign_source\n"
                        "\t\tip6 saddr @handsets6 iifname != { \"lan0\", \"eth1.20\" } jump forged_source\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\tchain forged_source {\n"
                        "\t\tlimit rate 10/second burst 20 packets log prefix \"voipguard-forged-src\" group 5060\n"
                        "\t\tcounter name \"forged\" drop\n\t}\n"
                        "\tchain foreign_source {\n"
                        "\t\tlimit rate 10/second burst 20 packets log prefix \"voipguard-foreign-src\" group 5060\n"
                        "\t\tcounter name \"foreign\" drop\n\t}\n"),
              std::string::npos)
        << text;
    Counters c;
    nft::add_counters("table inet voipguard {\n\tcounter forged {\n\t\tpackets 4 bytes 240\n\t}\n"
                      "\tcounter foreign {\n\t\tpackets 1 bytes 60\n\t}\n}\n",
                      c);
    EXPECT_EQ(c.forged_drop_packets, 4u);
    EXPECT_EQ(c.foreign_drop_packets, 1u);
}

TEST(NftablesRender, FailClosedQueuesWithoutBypass) {
    RuleSpec s = representative_spec();
    s.fail_open = false;
    const std::string text = nft::render_table(s);
    EXPECT_EQ(text.find("bypass"), std::string::npos);
    // SIP and media from the PBX (6), ICMP errors from the PBX that
    // conntrack cannot place (4), every handset TCP and UDP packet (1).
    EXPECT_EQ(count(text, "queue num 3\n"), 11u);
}

TEST(NftablesRender, StaticMediaMarksBeforeTheMediaQueueRule) {
    RuleSpec s = representative_spec();
    s.static_media = true;
    s.static_media_sources = {service("203.0.113.64/27", L4::udp, 10000, 20000),
                              service("198.51.100.128/28", L4::udp, 30000, 31000)};
    const std::string text = nft::render_table(s);
    EXPECT_NE(text.find("\tset static4 {\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n"
                        "\t\telements = { 203.0.113.64/27 . 10000-20000, 198.51.100.128/28 . 30000-31000 }\n\t}\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\t\tip6 saddr . meta l4proto . th dport @support6 meta mark set meta mark & 0xff00ffff | 0x5a0000 return\n"
                        "\t\tip saddr . udp sport @static4 meta mark set meta mark & 0xff00ffff | 0x5a0000 return\n"
                        "\t\tip6 saddr . udp sport @static6 meta mark set meta mark & 0xff00ffff | 0x5a0000 return\n"
                        "\t\tip saddr @pbx_media4 meta l4proto udp counter name \"queued\" queue num 3 bypass\n"
                        "\t\tip6 saddr @pbx_media6 meta l4proto udp counter name \"queued\" queue num 3 bypass\n"
                        "\t\tct state established,related ct direction reply return\n"),
              std::string::npos)
        << text;
}

TEST(NftablesRender, OverlappingEntriesBecomeDisjointElements) {
    // nftables refuses overlapping elements of an interval set.
    RuleSpec s = representative_spec();
    s.handsets = {cidr("192.168.0.0/16"), cidr("192.168.20.0/24")};
    s.egress = {service("192.0.2.0/24", L4::tcp, 8000, 8080), service("192.0.2.1", L4::tcp, 8050, 9000)};
    const std::string text = nft::render_table(s);
    EXPECT_NE(text.find("elements = { 192.168.0.0/16 }\n"), std::string::npos);
    EXPECT_NE(text.find("elements = { 192.0.2.0/24 . tcp . 8000-8080, 192.0.2.1 . tcp . 8081-9000 }\n"),
              std::string::npos);
}

TEST(NftablesRender, WithoutElementsOnlyTheShapeRemains) {
    RuleSpec a = representative_spec();
    RuleSpec b = representative_spec();
    b.pbx_signalling = {cidr("192.0.2.99")};
    EXPECT_EQ(nft::render_table(a, false), nft::render_table(b, false));
    EXPECT_EQ(nft::render_table(a, false).find("elements"), std::string::npos);
    b.sip_ports = {5080};
    EXPECT_NE(nft::render_table(a, false), nft::render_table(b, false));
}

TEST(NftablesParse, CountersComeFromTheNamedCounters) {
    Counters c;
    nft::add_counters("table inet voipguard {\n\tcounter queued {\n\t\tpackets 12 bytes 3400\n\t}\n"
                      "\tcounter drop_in {\n\t\tpackets 5 bytes 500\n\t}\n"
                      "\tcounter drop_out {\n\t\tpackets 1 bytes 60\n\t}\n}\n",
                      c);
    EXPECT_EQ(c.queued_packets, 12u);
    EXPECT_EQ(c.queued_bytes, 3400u);
    EXPECT_EQ(c.inbound_drop_packets, 5u);
    EXPECT_EQ(c.inbound_drop_bytes, 500u);
    EXPECT_EQ(c.egress_drop_packets, 1u);
    EXPECT_EQ(c.egress_drop_bytes, 60u);
}

class NftablesBackendFlow : public ::testing::Test {
protected:
    BackendOptions options() {
        BackendOptions o;
        o.runner = fake.runner();
        return o;
    }
    test::FakeRunner fake;
};

TEST_F(NftablesBackendFlow, InstallIsOneTransaction) {
    NftablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"nft -f -"}));
    EXPECT_EQ(fake.inputs_of("nft -f -"), (std::vector<std::string>{kTable}));
    EXPECT_EQ(b.name(), "nftables");
}

TEST_F(NftablesBackendFlow, AFailedInstallReportsNftsComplaint) {
    fake.reply("nft -f -", "/dev/stdin:81:60-78: Error: Could not process rule: No such file or directory", 1);
    NftablesBackend b("voipguard", options());
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_EQ(error, "nft -f -: exit 1: /dev/stdin:81:60-78: Error: Could not process rule: No such file or directory");
}

// A refused transaction changes nothing in the kernel (nft applies all of
// it or none): nothing else is run after it, no delete of the table in
// place, and the next update still compares with the rules in place.
TEST_F(NftablesBackendFlow, AFailedReloadLeavesTheTableInPlaceAlone) {
    NftablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    fake.reply("nft -f -", "/dev/stdin:3:1-2: Error: Could not process rule: Device or resource busy", 1);
    fake.clear();
    RuleSpec s = representative_spec();
    s.sip_ports = {5080};
    EXPECT_FALSE(b.install(s, error));
    EXPECT_FALSE(b.update(s, error));
    EXPECT_EQ(error, "nft -f -: exit 1: /dev/stdin:3:1-2: Error: Could not process rule: Device or resource busy");
    for (const auto& c : fake.calls_) {
        if (c.command != "nft -f -") continue;
        EXPECT_EQ(c.input, nft::render_table(s));   // the whole new table, or nothing
    }
    fake.replies_.erase("nft -f -");
    fake.clear();
    s = representative_spec();
    s.pbx_media.push_back(cidr("203.0.113.200"));
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_EQ(fake.inputs_of("nft -f -"), (std::vector<std::string>{nft::render_set_update(s)}));
}

TEST_F(NftablesBackendFlow, UpdateOfAddressesRefillsTheSetsOnly) {
    NftablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    fake.clear();
    RuleSpec s = representative_spec();
    s.pbx_media.push_back(cidr("203.0.113.200"));
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"nft -f -"}));
    EXPECT_EQ(fake.inputs_of("nft -f -"), (std::vector<std::string>{nft::render_set_update(s)}));
}

TEST_F(NftablesBackendFlow, UpdateOfRulesReplacesTheTableAndKeepsTheCounts) {
    NftablesBackend b("voipguard", options());
    std::string error;
    ASSERT_TRUE(b.install(representative_spec(), error)) << error;
    fake.reply("nft list counters table inet voipguard", "counter drop_in {\npackets 4 bytes 400\n}\n");
    fake.clear();
    RuleSpec s = representative_spec();
    s.monitor = true;
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"nft list counters table inet voipguard", "nft -f -"}));
    EXPECT_EQ(fake.inputs_of("nft -f -"), (std::vector<std::string>{nft::render_table(s)}));
    const Counters c = b.counters();
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.inbound_drop_packets, 8u);
}

TEST_F(NftablesBackendFlow, RemoveDeletesTheTable) {
    NftablesBackend b("voipguard", options());
    std::string error;
    EXPECT_TRUE(b.remove(error)) << error;
    EXPECT_EQ(fake.inputs_of("nft -f -"), (std::vector<std::string>{nft::render_delete("voipguard")}));
}

TEST_F(NftablesBackendFlow, InstallRefusesASpecWithAnotherName) {
    NftablesBackend b("vg", options());
    std::string error;
    EXPECT_FALSE(b.install(representative_spec(), error));
    EXPECT_TRUE(fake.calls_.empty());
}

}  // namespace
}  // namespace vg::kernel
