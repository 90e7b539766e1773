// SPDX-License-Identifier: GPL-2.0-or-later
// The rule backends against the real kernel, inside network namespaces this
// test creates and deletes (also on failure). Needs root, `ip netns`,
// iptables-restore and ipset; skips with the reason otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/kernel/backend.h"
#include "daemon/kernel/iptables_backend.h"
#include "daemon/kernel/nftables_backend.h"
#include "tests/daemon/kernel/kernel_test_util.h"

namespace vg::kernel {
namespace {

using test::cidr;
using test::service;

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// Why these tests cannot run here, or "" when they can.
std::string skip_reason() {
    if (geteuid() != 0) return "needs root for network namespaces";
    for (const char* tool : {"ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ipset"})
        if (find_program(tool).empty()) return std::string(tool) + " is not installed";
    static std::string probed = [] {
        const std::string name = "vg-kt-check-" + std::to_string(getpid());
        const auto r = run_program({"ip", "netns", "add", name});
        if (!r.ok()) return "ip netns add failed: " + describe({"ip", "netns", "add", name}, r);
        run_program({"ip", "netns", "del", name});
        return std::string();
    }();
    return probed;
}

// A network namespace of this test, deleted with everything in it at the end.
class Netns {
public:
    explicit Netns(const std::string& role) {
        static int counter = 0;
        name_ = "vg-kt" + std::to_string(getpid()) + "-" + std::to_string(++counter) + role;
        const auto r = run_program({"ip", "netns", "add", name_});
        ok_ = r.ok();
        if (!ok_) error_ = describe({"ip", "netns", "add", name_}, r);
        else run({"ip", "link", "set", "lo", "up"});
    }
    ~Netns() {
        if (ok_) run_program({"ip", "netns", "del", name_});
    }
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    const std::string& name() const { return name_; }
    std::vector<std::string> prefix() const { return {"ip", "netns", "exec", name_}; }

    ExecResult run(const std::vector<std::string>& argv, const std::string& input = {}) const {
        std::vector<std::string> full = prefix();
        full.insert(full.end(), argv.begin(), argv.end());
        ExecOptions o;
        o.input = input;
        return run_program(full, o);
    }
    // Runs and expects success; returns stdout.
    std::string must(const std::vector<std::string>& argv, const std::string& input = {}) const {
        const auto r = run(argv, input);
        EXPECT_TRUE(r.ok()) << describe(argv, r);
        return r.out;
    }

    // A socket created inside this namespace (it stays there).
    int socket_in(int type) const {
        const int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        const int target = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
        int fd = -1;
        if (self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0) {
            fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
            if (setns(self, CLONE_NEWNET) != 0) std::abort();   // cannot go on in the wrong namespace
        }
        if (self >= 0) close(self);
        if (target >= 0) close(target);
        return fd;
    }

private:
    std::string name_;
    std::string error_;
    bool ok_ = false;
};

class IptablesInNetns : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string why = skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        ns_ = std::make_unique<Netns>("r");
        ASSERT_TRUE(ns_->ok()) << ns_->error();
        // The router's own rules and sets, which must stay untouched.
        ns_->must({"iptables-restore", "--noflush"},
                  "*mangle\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n"
                  "-A POSTROUTING -j MARK --set-xmark 0x1/0x1\nCOMMIT\n"
                  "*filter\n:router_fwd - [0:0]\n-A FORWARD -j router_fwd\n"
                  "-A router_fwd -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n");
        ns_->must({"ip6tables-restore", "--noflush"},
                  "*mangle\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n");
        ns_->must({"ipset", "create", "router-set", "hash:ip"});
        router_before_ = router_state();
    }

    RuleSpec spec() const {
        RuleSpec s = test::representative_spec();
        s.name = name_;
        return s;
    }
    BackendOptions options() const {
        BackendOptions o;
        o.command_prefix = ns_->prefix();
        return o;
    }
    std::string save4() const { return ns_->must({"iptables-save"}); }
    std::string save6() const { return ns_->must({"ip6tables-save"}); }
    // iptables-save without its comment lines: they carry the time of the
    // save to the second, so two saves of the same rules differ whenever a
    // second boundary falls between them (often, on a slow or busy machine).
    std::string rules4() const {
        std::string out;
        for (const auto& l : lines(save4()))
            if (!l.empty() && l[0] != '#') out += l + "\n";
        return out;
    }
    std::set<std::string> set_names() const {
        std::set<std::string> out;
        for (const auto& l : lines(ns_->must({"ipset", "list", "-n"}))) out.insert(l);
        return out;
    }
    std::set<std::string> expected_sets(const RuleSpec& s) const {
        std::set<std::string> out{"router-set"};
        for (const auto& d : ipt::sets_for(s, true)) out.insert(d.name);
        return out;
    }
    // Everything but ours: iptables-save of every table without comments
    // and without lines naming our rules, and the other sets.
    // A table left with only its built-in chains and ACCEPT policies is the
    // same as no table (ip6tables-restore cannot delete a table once made).
    std::string router_state() const {
        std::string out;
        for (const std::string& save : {save4(), save6()}) {
            std::string table;
            bool used = false;
            for (const auto& l : lines(save)) {
                if (l.empty() || l[0] == '#' || l.find(name_) != std::string::npos) continue;
                table += l + "\n";
                if (l.rfind("-A ", 0) == 0 || (l[0] == ':' && l.find(" ACCEPT ") == std::string::npos)) used = true;
                if (l == "COMMIT") {
                    if (used) out += table;
                    table.clear();
                    used = false;
                }
            }
        }
        for (const auto& n : set_names())
            if (n.find(name_) == std::string::npos) out += "set " + n + "\n";
        return out;
    }
    std::vector<std::string> rules_of(const std::string& save, const std::string& chain) const {
        std::vector<std::string> out;
        for (const auto& l : lines(save))
            if (l.rfind("-A " + chain + " ", 0) == 0) out.push_back(l);
        return out;
    }
    // The rules the IPv4 NAME-in chain of GENERATION is rendered with (the
    // golden tests check what they are; here: that the kernel holds them all).
    std::size_t in_rules(const RuleSpec& s, int generation) const {
        const std::size_t n =
            rules_of(ipt::render_rules(s, net::Family::v4, generation), ipt::chain_names(name_, generation).in).size();
        EXPECT_GE(n, 8u);
        return n;
    }

    const std::string name_ = "vgt" + std::to_string(getpid() % 100000);
    std::unique_ptr<Netns> ns_;
    std::string router_before_;
};

TEST_F(IptablesInNetns, InstallAddsOnlyOurChainsAndSetsWithJumpsFirst) {
    IptablesBackend b(name_, options());
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;

    for (const std::string& save : {save4(), save6()}) {
        const std::size_t filter = save.find("*filter");
        ASSERT_NE(filter, std::string::npos) << save;
        const std::string mangle_part = save.substr(0, filter), filter_part = save.substr(filter);
        // mangle: ours + the router's; filter: our reset chain first, then
        // the router's (IPv4 only).
        const auto fwd = rules_of(mangle_part, "FORWARD");
        ASSERT_EQ(fwd.size(), 2u) << save;
        EXPECT_EQ(fwd[0], "-A FORWARD -j " + name_ + "-fwd");
        const auto ffwd = rules_of(filter_part, "FORWARD");
        ASSERT_GE(ffwd.size(), 1u) << save;
        EXPECT_EQ(ffwd[0], "-A FORWARD -j " + name_ + "-rst");
        EXPECT_EQ(rules_of(filter_part, name_ + "-rst"),
                  (std::vector<std::string>{"-A " + name_ + "-rst -p tcp -m mark --mark 0xa50000/0xff0000 -j REJECT "
                                            "--reject-with tcp-reset"}));
        const auto post = rules_of(save, "POSTROUTING");
        ASSERT_GE(post.size(), 1u);
        EXPECT_EQ(post[0], "-A POSTROUTING -j " + name_ + "-post");
        for (const char* chain : {"-fwd", "-in", "-out", "-post"})
            EXPECT_NE(save.find(":" + name_ + chain + " - [0:0]\n"), std::string::npos) << chain;
        EXPECT_EQ(save.find("ACCEPT -"), std::string::npos);
    }
    EXPECT_EQ(rules_of(save4(), name_ + "-in").size(), in_rules(spec(), 0));
    EXPECT_EQ(set_names(), expected_sets(spec()));
    EXPECT_NE(ns_->must({"ipset", "list", name_ + "-egress4"}).find("0.0.0.0/1,tcp:443"), std::string::npos);
    EXPECT_EQ(router_state(), router_before_);

    const Counters c = b.counters();
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.inbound_drop_packets, 0u);
}

TEST_F(IptablesInNetns, SetsLiveInTheNamespaceOnly) {
    IptablesBackend b(name_, options());
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;
    const auto host = run_program({"ipset", "list", "-n"});
    ASSERT_TRUE(host.ok()) << describe({"ipset", "list", "-n"}, host);
    EXPECT_EQ(host.out.find(name_ + "-"), std::string::npos) << "ipset sets are not per namespace on this kernel";
}

TEST_F(IptablesInNetns, InstallingAgainAfterACrashReplacesTheStaleStateWithoutDuplicates) {
    std::string error;
    {
        IptablesBackend first(name_, options());
        RuleSpec s = spec();
        s.static_media = true;   // leaves static sets the second instance does not want
        s.static_media_first_port = 10000;
        s.static_media_last_port = 20000;
        ASSERT_TRUE(first.install(s, error)) << error;
    }   // "crash": nothing removed
    ns_->must({"ipset", "create", name_ + "-handsets4-new", "hash:net"});   // a half-done reload
    const std::string once4 = save4();

    // The crashed instance's rules (the first generation) are replaced by
    // the second; installing the same rules again, still in place, changes
    // no rule.
    IptablesBackend second(name_, options());
    ASSERT_TRUE(second.install(spec(), error)) << error;
    const std::string replaced4 = rules4();
    ASSERT_TRUE(second.install(spec(), error)) << error;
    EXPECT_EQ(rules4(), replaced4);
    const auto check = [&](const std::string& g) {
        for (const std::string& save : {save4(), save6()}) {
            EXPECT_EQ(rules_of(save, "FORWARD")[0], "-A FORWARD -j " + name_ + "-fwd" + g);
            std::size_t jumps = 0;
            for (const auto& l : lines(save))
                if (l.find("-j " + name_ + "-fwd") != std::string::npos ||
                    l.find("-j " + name_ + "-post") != std::string::npos)
                    ++jumps;
            EXPECT_EQ(jumps, 2u) << save;
        }
        EXPECT_EQ(rules_of(save4(), name_ + "-in" + g).size(), in_rules(spec(), 0));
        EXPECT_EQ(rules_of(save4(), name_ + "-fwd" + g).size(), rules_of(once4, name_ + "-fwd").size());
        EXPECT_EQ(set_names(), expected_sets(spec()));
        EXPECT_EQ(router_state(), router_before_);
    };
    check("-2");
    // Something else flushes one of our chains: the next install writes
    // every rule again (into the other generation).
    ns_->must({"iptables", "-t", "mangle", "-F", name_ + "-in-2"});
    ASSERT_TRUE(second.install(spec(), error)) << error;
    check("");
}

TEST_F(IptablesInNetns, UpdateSwapsSetContentsAndRewritesRulesOnlyWhenTheyChange) {
    IptablesBackend b(name_, options());
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;
    const std::string rules_before = rules4();

    RuleSpec s = spec();
    s.pbx_signalling = {cidr("203.0.113.11"), cidr("2001:db8:10::11")};
    ASSERT_TRUE(b.update(s, error)) << error;
    const std::string members = ns_->must({"ipset", "list", name_ + "-pbx-sig4"});
    EXPECT_NE(members.find("\n203.0.113.11\n"), std::string::npos) << members;
    EXPECT_EQ(members.find("203.0.113.10"), std::string::npos) << members;
    EXPECT_EQ(rules4(), rules_before);

    s.static_media = true;
    s.static_media_sources = {service("203.0.113.64/27", L4::udp, 10000, 20000)};
    ASSERT_TRUE(b.update(s, error)) << error;
    // New rules: written into the second generation, the first one gone.
    EXPECT_EQ(rules_of(save4(), name_ + "-in-2").size(), in_rules(s, 1));
    EXPECT_EQ(in_rules(s, 1), in_rules(spec(), 0) + 2);   // the static range's mark and return
    EXPECT_EQ(save4().find(":" + name_ + "-in "), std::string::npos);
    EXPECT_TRUE(set_names().count(name_ + "-static1-4"));

    s.static_media = false;
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_EQ(rules_of(save4(), name_ + "-in").size(), in_rules(spec(), 0));
    EXPECT_EQ(set_names(), expected_sets(s));
    EXPECT_EQ(router_state(), router_before_);
}

TEST_F(IptablesInNetns, RemoveLeavesNothingOfOursAndSucceedsTwice) {
    {
        IptablesBackend b(name_, options());
        std::string error;
        ASSERT_TRUE(b.install(spec(), error)) << error;
        ASSERT_TRUE(b.remove(error)) << error;
        EXPECT_TRUE(b.remove(error)) << error;
    }
    for (const std::string& save : {save4(), save6()}) EXPECT_EQ(save.find(name_), std::string::npos) << save;
    EXPECT_EQ(set_names(), std::set<std::string>{"router-set"});
    EXPECT_EQ(router_state(), router_before_);

    // A new instance removes what a crashed one left.
    {
        IptablesBackend crashed(name_, options());
        std::string error;
        ASSERT_TRUE(crashed.install(spec(), error)) << error;
    }
    IptablesBackend cleaner(name_, options());
    std::string error;
    EXPECT_TRUE(cleaner.remove(error)) << error;
    EXPECT_EQ(save4().find(name_), std::string::npos);
    EXPECT_EQ(set_names(), std::set<std::string>{"router-set"});
}

TEST_F(IptablesInNetns, TheLegacyToolsWorkTheSameWay) {
    if (find_program("iptables-legacy-restore").empty() || find_program("ip6tables-legacy-restore").empty())
        GTEST_SKIP() << "iptables-legacy is not installed";
    BackendOptions o = options();
    o.iptables_save = "iptables-legacy-save";
    o.iptables_restore = "iptables-legacy-restore";
    o.ip6tables_save = "ip6tables-legacy-save";
    o.ip6tables_restore = "ip6tables-legacy-restore";
    std::string error;
    {
        IptablesBackend crashed(name_, o);
        ASSERT_TRUE(crashed.install(spec(), error)) << error;
    }
    IptablesBackend b(name_, o);
    ASSERT_TRUE(b.install(spec(), error)) << error;
    const std::string save = ns_->must({"iptables-legacy-save", "-t", "mangle"});
    // The crashed instance's rules were the first generation (NAME-fwd);
    // ours went into the second and replaced them.
    EXPECT_EQ(rules_of(save, "FORWARD"), std::vector<std::string>{"-A FORWARD -j " + name_ + "-fwd-2"});
    EXPECT_EQ(rules_of(save, name_ + "-in-2").size(), in_rules(spec(), 1));
    EXPECT_EQ(save.find(":" + name_ + "-in "), std::string::npos) << save;
    EXPECT_TRUE(b.counters().ok);
    ASSERT_TRUE(b.remove(error)) << error;
    EXPECT_EQ(ns_->must({"iptables-legacy-save", "-t", "mangle"}).find(name_), std::string::npos);
    EXPECT_EQ(ns_->must({"ip6tables-legacy-save", "-t", "mangle"}).find(name_), std::string::npos);
    EXPECT_EQ(set_names(), std::set<std::string>{"router-set"});
    EXPECT_EQ(router_state(), router_before_);   // the nf_tables side was not touched
}

TEST_F(IptablesInNetns, ProbeFindsIptablesAndIpsetAndLeavesNothingBehind) {
    ProbeOptions o;
    o.command_prefix = ns_->prefix();
    const ProbeResult p = probe(o);
    EXPECT_TRUE(p.iptables) << p.iptables_error;
    EXPECT_TRUE(p.ip6tables) << p.ip6tables_error;
    EXPECT_TRUE(p.ipset);
    EXPECT_TRUE(p.queue_available());
    std::string why;
    EXPECT_NE(choose_backend(p, "auto", why), BackendKind::none) << why;
    EXPECT_EQ(choose_backend(p, "iptables", why), BackendKind::iptables) << why;
    std::cout << "probe: " << p.summary() << "\nchoice: " << why << "\n";
    EXPECT_EQ(save4().find("vgprobe"), std::string::npos);
    EXPECT_EQ(save6().find("vgprobe"), std::string::npos);
    EXPECT_EQ(set_names(), std::set<std::string>{"router-set"});
    if (p.nft) {
        const auto r = ns_->run({"nft", "list", "tables"});
        EXPECT_EQ(r.out.find("vgprobe"), std::string::npos) << r.out;
    }
    EXPECT_EQ(router_state(), router_before_);
}

// --- the nftables backend ------------------------------------------------

class NftablesInNetns : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string why = skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        if (find_program("nft").empty()) GTEST_SKIP() << "nft is not installed";
        ns_ = std::make_unique<Netns>("n");
        ASSERT_TRUE(ns_->ok()) << ns_->error();
        ProbeOptions o;
        o.command_prefix = ns_->prefix();
        probe_ = probe(o);
    }
    std::unique_ptr<Netns> ns_;
    ProbeResult probe_;
};

TEST_F(NftablesInNetns, TheKernelTakesTheWholeTableApartFromTheQueueStatement) {
    if (!probe_.nft_concat_intervals) GTEST_SKIP() << "kernel without concatenated interval sets";
    // With the queue statement made a plain `continue`, every other
    // expression, set and element is checked by the kernel here.
    RuleSpec s = test::representative_spec();
    s.voice_interfaces = {"lan0", "eth1.20"};
    s.static_media = true;
    s.static_media_first_port = 10000;
    s.static_media_last_port = 20000;
    std::string text = nft::render_table(s);
    for (std::size_t pos; (pos = text.find("queue num 3 bypass")) != std::string::npos;)
        text.replace(pos, 18, "continue");
    ns_->must({"nft", "-f", "-"}, text);
    ns_->must({"nft", "-f", "-"}, text);   // replaces itself
    const std::string listed = ns_->must({"nft", "list", "table", "inet", "voipguard"});
    // nft prints "x & ~M | V" with the bits of V folded into the and-mask.
    EXPECT_NE(listed.find("ct mark set ct mark & 0xff5affff | 0x005a0000"), std::string::npos) << listed;
    EXPECT_NE(listed.find("meta mark set meta mark & 0xff5affff | 0x005a0000 return"), std::string::npos) << listed;
    s.pbx_media.push_back(cidr("192.0.2.99"));
    ns_->must({"nft", "-f", "-"}, nft::render_set_update(s));
    EXPECT_NE(ns_->must({"nft", "list", "set", "inet", "voipguard", "pbx_media4"}).find("192.0.2.99"),
              std::string::npos);
    Counters c;
    nft::add_counters(ns_->must({"nft", "list", "counters", "table", "inet", "voipguard"}), c);
    EXPECT_EQ(c.queued_packets, 0u);
    ns_->must({"nft", "-f", "-"}, nft::render_delete("voipguard"));
    ns_->must({"nft", "-f", "-"}, nft::render_delete("voipguard"));
    EXPECT_EQ(ns_->must({"nft", "list", "ruleset"}).find("voipguard"), std::string::npos);
}

TEST_F(NftablesInNetns, BackendInstallsUpdatesAndRemoves) {
    if (!probe_.nftables_usable()) GTEST_SKIP() << "this kernel cannot run the nftables backend: " << probe_.nft_error;
    BackendOptions o;
    o.command_prefix = ns_->prefix();
    NftablesBackend b("voipguard", o);
    std::string error;
    RuleSpec s = test::representative_spec();
    ASSERT_TRUE(b.install(s, error)) << error;
    ASSERT_TRUE(b.install(s, error)) << error;
    s.pbx_signalling.push_back(cidr("192.0.2.98"));
    ASSERT_TRUE(b.update(s, error)) << error;
    s.sip_ports = {5080};
    ASSERT_TRUE(b.update(s, error)) << error;
    EXPECT_TRUE(b.counters().ok);
    ASSERT_TRUE(b.remove(error)) << error;
    EXPECT_TRUE(b.remove(error)) << error;
    EXPECT_EQ(ns_->must({"nft", "list", "ruleset"}).find("voipguard"), std::string::npos);
}

TEST_F(NftablesInNetns, BackendInstallFailsCleanlyWithoutTheQueueStatement) {
    if (probe_.nft_queue) GTEST_SKIP() << "this kernel has the nft queue statement";
    BackendOptions o;
    o.command_prefix = ns_->prefix();
    NftablesBackend b("voipguard", o);
    std::string error;
    EXPECT_FALSE(b.install(test::representative_spec(), error));
    EXPECT_NE(error.find("nft -f -: exit 1: "), std::string::npos) << error;
    // The probe's iptables-nft scratch chains leave empty mangle tables; of
    // ours nothing is there.
    EXPECT_EQ(ns_->must({"nft", "list", "ruleset"}).find("voipguard"), std::string::npos);
}

// --- packets through a router namespace ------------------------------------
//
//   H (handset 192.168.20.2) -- lan | R (router, our rules) | wan -- W (internet)
//   W holds the PBX 203.0.113.10, an attacker 203.0.113.99 and support 198.51.100.7.

class PacketPath : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string why = skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        r_ = std::make_unique<Netns>("r");
        h_ = std::make_unique<Netns>("h");
        w_ = std::make_unique<Netns>("w");
        ASSERT_TRUE(r_->ok() && h_->ok() && w_->ok()) << r_->error() << h_->error() << w_->error();
        r_->must({"ip", "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", h_->name()});
        r_->must({"ip", "link", "add", "wan", "type", "veth", "peer", "name", "eth0", "netns", w_->name()});
        r_->must({"ip", "addr", "add", "192.168.20.1/24", "dev", "lan"});
        r_->must({"ip", "addr", "add", "203.0.113.1/24", "dev", "wan"});
        r_->must({"ip", "addr", "add", "198.51.100.1/24", "dev", "wan"});
        r_->must({"ip", "link", "set", "lan", "up"});
        r_->must({"ip", "link", "set", "wan", "up"});
        r_->must({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
        h_->must({"ip", "addr", "add", "192.168.20.2/24", "dev", "eth0"});
        h_->must({"ip", "link", "set", "eth0", "up"});
        h_->must({"ip", "route", "add", "default", "via", "192.168.20.1"});
        for (const char* a : {"203.0.113.10/24", "203.0.113.99/24", "198.51.100.7/24"})
            w_->must({"ip", "addr", "add", a, "dev", "eth0"});
        w_->must({"ip", "link", "set", "eth0", "up"});
        w_->must({"ip", "route", "add", "192.168.20.0/24", "via", "203.0.113.1"});
    }

    RuleSpec spec() const {
        RuleSpec s;
        s.name = "vgpath";
        s.queue = 17;
        s.handsets = {cidr("192.168.20.0/24")};
        s.pbx_signalling = {cidr("203.0.113.10")};
        s.pbx_media = {cidr("203.0.113.10")};
        s.sip_ports = {5060};
        s.support = {service("198.51.100.7", L4::udp, 4000, 4000)};
        return s;
    }
    std::unique_ptr<IptablesBackend> install(const RuleSpec& s) {
        BackendOptions o;
        o.command_prefix = r_->prefix();
        o.ipv6 = true;
        auto b = std::make_unique<IptablesBackend>(s.name, o);
        std::string error;
        EXPECT_TRUE(b->install(s, error)) << error;
        return b;
    }

    // A UDP socket in `ns` bound to address:port.
    int udp(const Netns& ns, const char* address, std::uint16_t port) {
        const int fd = ns.socket_in(SOCK_DGRAM);
        EXPECT_GE(fd, 0) << std::strerror(errno);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, address, &a.sin_addr);
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << address << ":" << port << " "
                                                                           << std::strerror(errno);
        fds_.push_back(fd);
        return fd;
    }
    void send_to(int fd, const char* address, std::uint16_t port, const std::string& payload) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, address, &a.sin_addr);
        EXPECT_EQ(sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
                  static_cast<ssize_t>(payload.size()))
            << std::strerror(errno);
    }
    // The next datagram (waiting up to 3 s for one that should come), or "".
    std::string receive(int fd, int wait_ms = 3000) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) != 1) return {};
        char buf[512];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
    void TearDown() override {
        for (int fd : fds_) close(fd);
    }

    std::unique_ptr<Netns> r_, h_, w_;
    std::vector<int> fds_;
};

// The router's loose reverse-path filter lets a handset source arriving on
// the WAN through: without the interface binding it reaches the handset
// ("both ends inside"); with it, it is dropped and counted.
TEST_F(PacketPath, ForgedHandsetSourceFromTheWanIsDroppedOnlyWithTheInterfaceBinding) {
    r_->must({"sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=2"});
    r_->must({"sysctl", "-q", "-w", "net.ipv4.conf.wan.rp_filter=2"});
    w_->must({"ip", "addr", "add", "192.168.20.77/32", "dev", "eth0"});
    const int handset = udp(*h_, "192.168.20.2", 4000);
    const int forger = udp(*w_, "192.168.20.77", 4000);
    const int support = udp(*w_, "198.51.100.7", 4000);
    {
        auto b = install(spec());
        send_to(forger, "192.168.20.2", 4000, "forged");
        EXPECT_EQ(receive(handset), "forged") << "the hole this binding closes";
        std::string error;
        ASSERT_TRUE(b->remove(error)) << error;
    }
    RuleSpec s = spec();
    s.voice_interfaces = {"lan"};
    auto b = install(s);
    send_to(forger, "192.168.20.2", 4000, "forged");
    send_to(support, "192.168.20.2", 4000, "support");
    EXPECT_EQ(receive(handset), "support");
    EXPECT_EQ(receive(handset, 0), "");
    const Counters c = b->counters();
    EXPECT_EQ(c.forged_drop_packets, 1u);
    EXPECT_EQ(c.inbound_drop_packets, 0u);
}

// A handset sending with a source outside the handset networks (spoofing,
// or a hijacked device) to the PBX: dropped and counted.
TEST_F(PacketPath, ForeignSourceFromTheVoiceInterfaceToThePbxIsDropped) {
    h_->must({"ip", "addr", "add", "10.9.9.9/32", "dev", "eth0"});
    RuleSpec s = spec();
    s.voice_interfaces = {"lan"};
    auto b = install(s);
    const int spoofer = udp(*h_, "10.9.9.9", 5060);
    const int handset = udp(*h_, "192.168.20.2", 5060);
    const int pbx = udp(*w_, "203.0.113.10", 5060);
    send_to(spoofer, "203.0.113.10", 5060, "REGISTER foreign");
    send_to(handset, "203.0.113.10", 5060, "REGISTER handset");   // queued; no daemon, fail open
    EXPECT_EQ(receive(pbx), "REGISTER handset");
    EXPECT_EQ(receive(pbx, 0), "");
    const Counters c = b->counters();
    EXPECT_EQ(c.foreign_drop_packets, 1u);
    EXPECT_EQ(c.forged_drop_packets, 0u);
}

// A packet that must not arrive is followed by one that must: when the
// second arrives first and alone, the first was dropped (no sleeping).
TEST_F(PacketPath, UnlistedSourceIsDroppedAndCountedSupportPasses) {
    auto b = install(spec());
    const int handset = udp(*h_, "192.168.20.2", 4000);
    const int attacker = udp(*w_, "203.0.113.99", 4000);
    const int support = udp(*w_, "198.51.100.7", 4000);
    send_to(attacker, "192.168.20.2", 4000, "attack");
    send_to(support, "192.168.20.2", 4000, "support");
    EXPECT_EQ(receive(handset), "support");
    EXPECT_EQ(receive(handset, 0), "");
    const Counters c = b->counters();
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.inbound_drop_packets, 1u);
    EXPECT_EQ(c.inbound_drop_bytes, 34u);   // 20 IP + 8 UDP + 6
    // The support flow carries the verified mark in conntrack now.
    if (!find_program("conntrack").empty()) {
        const auto r = r_->run({"conntrack", "-L", "-p", "udp", "--mark", "0x5a0000/0xff0000"});
        EXPECT_NE(r.out.find("src=198.51.100.7"), std::string::npos) << r.out << r.err;
    }
}

TEST_F(PacketPath, SipFromThePbxIsQueuedAndPassesWithoutDaemonWhenFailOpen) {
    auto b = install(spec());
    const int handset = udp(*h_, "192.168.20.2", 5060);
    const int pbx = udp(*w_, "203.0.113.10", 5060);
    send_to(pbx, "192.168.20.2", 5060, "OPTIONS sip:x SIP/2.0");
    EXPECT_EQ(receive(handset), "OPTIONS sip:x SIP/2.0");
    EXPECT_GE(b->counters().queued_packets, 1u);
}

TEST_F(PacketPath, SipFromThePbxIsDroppedWithoutDaemonWhenFailClosed) {
    RuleSpec s = spec();
    s.fail_open = false;
    auto b = install(s);
    const int handset = udp(*h_, "192.168.20.2", 5060);
    const int pbx = udp(*w_, "203.0.113.10", 5060);
    const int support_sock = udp(*w_, "198.51.100.7", 4000);
    const int handset4000 = udp(*h_, "192.168.20.2", 4000);
    send_to(pbx, "192.168.20.2", 5060, "queued");
    send_to(support_sock, "192.168.20.2", 4000, "control");
    EXPECT_EQ(receive(handset4000), "control");
    EXPECT_EQ(receive(handset, 0), "");
    EXPECT_GE(b->counters().queued_packets, 1u);
}

TEST_F(PacketPath, RepliesToAHandsetsOwnFlowPass) {
    auto b = install(spec());
    const int handset = udp(*h_, "192.168.20.2", 4001);
    const int remote = udp(*w_, "203.0.113.99", 4002);
    send_to(handset, "203.0.113.99", 4002, "hello");
    EXPECT_EQ(receive(remote), "hello");
    send_to(remote, "192.168.20.2", 4001, "reply");
    EXPECT_EQ(receive(handset), "reply");
    EXPECT_EQ(b->counters().inbound_drop_packets, 0u);
}

TEST_F(PacketPath, MonitorModeCountsButDropsNothing) {
    RuleSpec s = spec();
    s.monitor = true;
    auto b = install(s);
    const int handset = udp(*h_, "192.168.20.2", 4000);
    const int attacker = udp(*w_, "203.0.113.99", 4000);
    send_to(attacker, "192.168.20.2", 4000, "attack");
    EXPECT_EQ(receive(handset), "attack");
    EXPECT_EQ(b->counters().inbound_drop_packets, 1u);
}

// Handset TCP and UDP egress goes to the engine, whatever the port (it
// judges egress, SIP by content and media); other protocols meet the egress
// allow-list in the kernel.
TEST_F(PacketPath, HandsetUdpIsQueuedWhateverThePortAndIcmpMeetsTheAllowList) {
    if (find_program("ping").empty()) GTEST_SKIP() << "no ping";
    RuleSpec s = spec();
    s.egress_allow_list = true;
    s.egress = {service("203.0.113.99", L4::udp, 123, 123)};
    auto b = install(s);
    const int handset = udp(*h_, "192.168.20.2", 4001);
    const int unlisted = udp(*w_, "203.0.113.99", 4002);
    send_to(handset, "203.0.113.99", 4002, "to the engine");
    // No daemon, fail open: the queue's bypass lets it through.
    EXPECT_EQ(receive(unlisted), "to the engine");
    EXPECT_FALSE(h_->run({"ping", "-c", "1", "-W", "1", "203.0.113.99"}).ok());
    const Counters c = b->counters();
    EXPECT_EQ(c.queued_packets, 1u);
    EXPECT_EQ(c.egress_drop_packets, 1u);
    EXPECT_EQ(c.inbound_drop_packets, 0u);
}

// --- a reload that cannot be written leaves the running rules -------------
//
// Another tool holding the xtables lock (iptables-legacy, fw3) or a refused
// ip6tables-restore / nft transaction: install() fails, and what was
// installed before is still there, bit for bit, and still drops.

// Our rules and sets in the router, comparable before and after: the lines
// of iptables-save and ip6tables-save (of `tools`) naming `name`, counters
// and comments left out, and `ipset save` of our sets (set seeds left out),
// sorted.
std::string our_kernel_state(const Netns& r, const std::string& name, const std::string& save4,
                             const std::string& save6) {
    std::vector<std::string> out;
    for (const std::string& tool : {save4, save6})
        for (auto l : lines(r.must({tool}))) {
            if (l.empty() || l[0] == '#' || l.find(name) == std::string::npos) continue;
            if (l[0] == '[') l = l.substr(l.find(']') + 2);
            if (l[0] == ':') l = l.substr(0, l.find(' '));   // ":chain - [packets:bytes]"
            out.push_back(tool + ": " + l);
        }
    for (auto l : lines(r.must({"ipset", "save"}))) {
        if (l.find(" " + name + "-") == std::string::npos) continue;
        const auto seed = l.find(" initval ");
        if (seed != std::string::npos) l = l.substr(0, seed);
        out.push_back(l);
    }
    std::sort(out.begin(), out.end());
    std::string text;
    for (const auto& l : out) text += l + "\n";
    return text;
}

// The packet path checks of these tests: the attacker is dropped (and
// counted), the support address of `support_port` passes, `blocked` (the
// support address of the refused policy) does not.
class ReloadFailure : public PacketPath {
protected:
    void SetUp() override {
        PacketPath::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        w_->must({"ip", "addr", "add", "198.51.100.8/24", "dev", "eth0"});
    }
    RuleSpec next_spec() const {
        RuleSpec s = spec();
        s.sip_ports = {5080};                                        // the rules change
        s.support = {service("198.51.100.8", L4::udp, 4000, 4000)};   // and a set
        return s;
    }
    // Sends from the attacker and from `other`, then from `support`:
    // returns what the handset received, in order, within 3 s of the last.
    std::vector<std::string> received_of(const char* other) {
        const int handset = handset_fd_ >= 0 ? handset_fd_ : (handset_fd_ = udp(*h_, "192.168.20.2", 4000));
        const int attacker = udp(*w_, "203.0.113.99", 0);
        const int second = udp(*w_, other, 0);
        const int support = udp(*w_, "198.51.100.7", 0);
        send_to(attacker, "192.168.20.2", 4000, "attack");
        send_to(second, "192.168.20.2", 4000, other);
        send_to(support, "192.168.20.2", 4000, "support");
        std::vector<std::string> got;
        for (std::string m; !(m = receive(handset, got.empty() ? 3000 : 300)).empty();) got.push_back(m);
        return got;
    }
    int handset_fd_ = -1;
};

// iptables-legacy takes /run/xtables.lock (iptables-nft takes none). Each
// command runs in a mount namespace of its own where /run is private and
// /run/xtables.lock is this test's file: the test holds the lock that the
// backend's tools see, and no other iptables user of the machine is
// affected.
TEST_F(ReloadFailure, TheXtablesLockHeldPastTheWaitLeavesTheRunningRules) {
    if (find_program("iptables-legacy-restore").empty() || find_program("ip6tables-legacy-restore").empty())
        GTEST_SKIP() << "iptables-legacy is not installed (the nf_tables variant takes no lock)";
    if (find_program("unshare").empty() || find_program("mount").empty()) GTEST_SKIP() << "no unshare or mount";
    char lock_path[] = "/tmp/vg-xtables-lock-XXXXXX";
    const int lock = mkstemp(lock_path);
    ASSERT_GE(lock, 0) << std::strerror(errno);
    struct Cleanup {
        int fd;
        const char* path;
        ~Cleanup() {
            close(fd);
            unlink(path);
        }
    } cleanup{lock, lock_path};

    BackendOptions o;
    o.command_prefix = r_->prefix();
    for (const char* w : {"unshare", "-m", "--propagation", "private", "sh", "-c",
                          "mount -t tmpfs vg-run /run && : > /run/xtables.lock && "
                          "mount --bind \"$0\" /run/xtables.lock && exec \"$@\""})
        o.command_prefix.push_back(w);
    o.command_prefix.push_back(lock_path);
    o.iptables_save = "iptables-legacy-save";
    o.iptables_restore = "iptables-legacy-restore";
    o.ip6tables_save = "ip6tables-legacy-save";
    o.ip6tables_restore = "ip6tables-legacy-restore";
    o.xtables_wait_seconds = 1;
    IptablesBackend b("vgpath", o);
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;
    EXPECT_EQ(received_of("198.51.100.8"), std::vector<std::string>{"support"});
    const std::string before = our_kernel_state(*r_, "vgpath", o.iptables_save, o.ip6tables_save);
    ASSERT_NE(before.find("-A FORWARD -j vgpath-fwd\n"), std::string::npos) << before;

    ASSERT_EQ(flock(lock, LOCK_EX), 0) << std::strerror(errno);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(b.install(next_spec(), error));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "install with the lock held failed after " << waited << " s: " << error << "\n";
    EXPECT_NE(error.find("lock"), std::string::npos) << error;
    EXPECT_GE(waited, 0.9);    // it waited (-w 1) ...
    EXPECT_LT(waited, 15.0);   // ... a bounded time
    EXPECT_FALSE(b.update(next_spec(), error));
    // Bit for bit the rules and set contents of before, and they still drop.
    EXPECT_EQ(our_kernel_state(*r_, "vgpath", o.iptables_save, o.ip6tables_save), before);
    EXPECT_EQ(received_of("198.51.100.8"), std::vector<std::string>{"support"});
    EXPECT_EQ(b.counters().inbound_drop_packets, 4u);   // two attacks, two of the new support address
    ASSERT_EQ(flock(lock, LOCK_UN), 0);

    // Once the lock is free the same reload goes through.
    ASSERT_TRUE(b.install(next_spec(), error)) << error;
    const auto got = received_of("198.51.100.8");
    EXPECT_EQ(got, (std::vector<std::string>{"198.51.100.8"})) << "the new support address passes, the old not";
    const std::string after = our_kernel_state(*r_, "vgpath", o.iptables_save, o.ip6tables_save);
    EXPECT_NE(after.find("-A FORWARD -j vgpath-fwd-2\n"), std::string::npos) << after;
    EXPECT_EQ(after.find(":vgpath-in\n"), std::string::npos) << "the old generation is gone:\n" << after;
}

// ip6tables-restore refuses its part (a rule the kernel does not take is
// slipped into its input): once while the new chains are written, once
// while the jumps move (after IPv4 has moved: it must move back).
TEST_F(ReloadFailure, AFailingIp6tablesRestoreLeavesBothFamiliesAsTheyWere) {
    std::string fail_when;   // a line of the input that ip6tables-restore is to fail on
    BackendOptions o;
    const CommandRunner real = make_runner(r_->prefix());
    o.runner = [&](const std::vector<std::string>& argv, const std::string& input) {
        std::string in = input;
        if (!fail_when.empty() && argv[0] == "ip6tables-restore" && in.find(fail_when) != std::string::npos) {
            // Before the last COMMIT: the earlier tables of the input commit.
            in.insert(in.rfind("COMMIT\n"), "-A FORWARD -j vgpath-no-such-chain\n");
        }
        return real(argv, in);
    };
    IptablesBackend b("vgpath", o);
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;
    const std::string before = our_kernel_state(*r_, "vgpath", "iptables-save", "ip6tables-save");
    for (const char* when : {":vgpath-fwd-2 ", "-I FORWARD 1 -j vgpath-fwd-2\n"}) {
        fail_when = when;
        EXPECT_FALSE(b.install(next_spec(), error)) << when;
        EXPECT_NE(error.find("ip6tables-restore"), std::string::npos) << error;
        EXPECT_EQ(our_kernel_state(*r_, "vgpath", "iptables-save", "ip6tables-save"), before) << "failing at " << when;
        EXPECT_EQ(received_of("198.51.100.8"), std::vector<std::string>{"support"}) << when;
    }
    EXPECT_EQ(b.counters().inbound_drop_packets, 4u);
    fail_when.clear();
    ASSERT_TRUE(b.install(next_spec(), error)) << error;
    EXPECT_EQ(received_of("198.51.100.8"), (std::vector<std::string>{"198.51.100.8"}));
}

// nft applies a transaction whole or not at all: a refused one (a rule
// jumping to a chain that does not exist, slipped into the new table)
// leaves the table in place as it was, and it still drops.
TEST_F(ReloadFailure, ARefusedNftTransactionLeavesTheTableInPlace) {
    if (find_program("nft").empty()) GTEST_SKIP() << "nft is not installed";
    ProbeOptions po;
    po.command_prefix = r_->prefix();
    const ProbeResult p = probe(po);
    if (!p.queue_available() || !p.nft || !p.nft_concat_intervals)
        GTEST_SKIP() << "this kernel cannot take the nftables backend's table: " << p.nft_error;
    bool refuse = false;
    BackendOptions o;
    const CommandRunner real = make_runner(r_->prefix());
    o.runner = [&](const std::vector<std::string>& argv, const std::string& input) {
        std::string in = input;
        // A kernel without the queue statement (nft_queue) takes the rest
        // of the table when the queue becomes `continue`: what is dropped
        // is dropped all the same.
        if (!p.nft_queue)
            for (std::size_t pos; (pos = in.find("queue num 17 bypass")) != std::string::npos;)
                in.replace(pos, 19, "continue");
        if (refuse && argv.size() == 3 && argv[1] == "-f") in += "add rule inet vgpath forward jump no_such_chain\n";
        return real(argv, in);
    };
    NftablesBackend b("vgpath", o);
    std::string error;
    ASSERT_TRUE(b.install(spec(), error)) << error;
    const auto table = [&] {
        std::string out;
        for (const auto& l : lines(r_->must({"nft", "list", "table", "inet", "vgpath"})))
            out += l + "\n";
        return out;
    };
    EXPECT_EQ(received_of("198.51.100.8"), std::vector<std::string>{"support"});
    const std::string before = table();   // its counters too: no packet until the comparison
    refuse = true;
    EXPECT_FALSE(b.install(next_spec(), error));
    EXPECT_NE(error.find("nft -f -: exit 1"), std::string::npos) << error;
    EXPECT_FALSE(b.update(next_spec(), error));
    EXPECT_EQ(table(), before);
    EXPECT_EQ(received_of("198.51.100.8"), std::vector<std::string>{"support"});
    EXPECT_EQ(b.counters().inbound_drop_packets, 4u);
    refuse = false;
    ASSERT_TRUE(b.install(next_spec(), error)) << error;
    EXPECT_EQ(received_of("198.51.100.8"), (std::vector<std::string>{"198.51.100.8"}));
}

}  // namespace
}  // namespace vg::kernel
