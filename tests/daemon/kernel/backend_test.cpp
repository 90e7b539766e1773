// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/daemon/kernel/kernel_test_util.h"

namespace vg::kernel {
namespace {

// This machine's kind of kernel: NFQUEUE through iptables, no nft_queue.
ProbeResult without_nft_queue() {
    ProbeResult p;
    p.nfnetlink_queue = true;
    p.nfnetlink_queue_loadable = true;
    p.nft = true;
    p.nft_version = "nftables v1.0.6 (Lester Gooch #5)";
    p.nft_queue = false;
    p.nft_concat_intervals = true;
    p.nft_error = "queue statement: /dev/stdin:5:20-24: Error: Could not process rule: No such file or directory";
    p.iptables = true;
    p.iptables_version = "iptables-restore v1.8.9 (nf_tables)";
    p.ip6tables = true;
    p.ipset = true;
    p.ipset_version = "ipset v7.17, protocol version: 7";
    p.conntrack_netlink = true;
    return p;
}

ProbeResult with_nft_queue() {
    ProbeResult p = without_nft_queue();
    p.nft_queue = true;
    p.nft_error.clear();
    return p;
}

TEST(ChooseBackend, AutoTakesNftablesWhenTheKernelHasTheQueueStatement) {
    std::string why;
    EXPECT_EQ(choose_backend(with_nft_queue(), "auto", why), BackendKind::nftables);
    EXPECT_EQ(why, "nftables: the kernel takes the queue statement (nftables v1.0.6 (Lester Gooch #5))");
}

TEST(ChooseBackend, AutoFallsBackToIptablesWithoutNftQueueAndSaysWhy) {
    std::string why;
    EXPECT_EQ(choose_backend(without_nft_queue(), "auto", why), BackendKind::iptables);
    EXPECT_EQ(why,
              "iptables + ipset, because for nftables the kernel refuses the nft queue statement (nft_queue / "
              "kmod-nft-queue missing; queue statement: /dev/stdin:5:20-24: Error: Could not process rule: No such "
              "file or directory): iptables-restore v1.8.9 (nf_tables) and ipset v7.17, protocol version: 7");
}

TEST(ChooseBackend, AutoFallsBackWhenConcatenatedIntervalsAreMissing) {
    ProbeResult p = with_nft_queue();
    p.nft_concat_intervals = false;
    std::string why;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::iptables);
    EXPECT_NE(why.find("interval sets of concatenations (Linux 5.6+ needed)"), std::string::npos) << why;
}

TEST(ChooseBackend, AutoWithoutNftAtAllTakesIptables) {
    ProbeResult p = without_nft_queue();
    p.nft = false;
    std::string why;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::iptables);
    EXPECT_NE(why.find("nft is not installed"), std::string::npos) << why;
}

TEST(ChooseBackend, RequestedNftablesWithoutQueueStatementIsRefused) {
    std::string why;
    EXPECT_EQ(choose_backend(without_nft_queue(), "nftables", why), BackendKind::none);
    EXPECT_EQ(why.substr(0, 76), "nftables was requested, but the kernel refuses the nft queue statement (nft_");
    EXPECT_EQ(choose_backend(with_nft_queue(), "nftables", why), BackendKind::nftables);
}

TEST(ChooseBackend, RequestedIptablesIsTakenEvenWhenNftablesWouldWork) {
    std::string why;
    EXPECT_EQ(choose_backend(with_nft_queue(), "iptables", why), BackendKind::iptables);
    EXPECT_EQ(why, "iptables + ipset (as configured): iptables-restore v1.8.9 (nf_tables) and ipset v7.17, protocol "
                   "version: 7");
}

TEST(ChooseBackend, IptablesNeedsIpset) {
    ProbeResult p = without_nft_queue();
    p.ipset = false;
    std::string why;
    EXPECT_EQ(choose_backend(p, "iptables", why), BackendKind::none);
    EXPECT_EQ(why, "iptables was requested, but ipset is not available (the kernel refused a set)");
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::none);
    EXPECT_EQ(why.substr(0, 29), "no usable rule backend: nftab");
}

TEST(ChooseBackend, NothingWorksWithoutNfnetlinkQueue) {
    ProbeResult p = with_nft_queue();
    p.nfnetlink_queue = false;
    p.nfnetlink_queue_loadable = false;
    std::string why;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::none);
    EXPECT_EQ(why, "no usable rule backend: nftables: nfnetlink_queue is not available; iptables: nfnetlink_queue is "
                   "not available");
    p.nfnetlink_queue_loadable = true;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::nftables);
}

TEST(ChooseBackend, MissingIp6tablesIsSaid) {
    ProbeResult p = without_nft_queue();
    p.ip6tables = false;
    p.ip6tables_error = "ip6tables-restore v1.8.9 (legacy): can't initialize ip6tables table `mangle'";
    std::string why;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::iptables);
    EXPECT_NE(why.find("; no ip6tables, IPv6 is not filtered (ip6tables-restore v1.8.9 (legacy): can't initialize"),
              std::string::npos)
        << why;
}

TEST(ChooseBackend, UnknownNamesAreRefused) {
    std::string why;
    EXPECT_EQ(choose_backend(with_nft_queue(), "ebtables", why), BackendKind::none);
    EXPECT_EQ(why, "unknown rule backend \"ebtables\" (auto, nftables or iptables)");
}

TEST(ProbeResult, SummaryIsOneLine) {
    EXPECT_EQ(without_nft_queue().summary(),
              "nfnetlink_queue loaded, nft nftables v1.0.6 (Lester Gooch #5) (queue statement no, concatenated "
              "intervals yes), iptables iptables-restore v1.8.9 (nf_tables), ip6tables yes, ipset ipset v7.17, "
              "protocol version: 7, ctnetlink yes");
}

TEST(MakeBackend, BuildsTheChosenKind) {
    EXPECT_EQ(make_backend(BackendKind::iptables, "voipguard")->name(), "iptables");
    EXPECT_EQ(make_backend(BackendKind::nftables, "voipguard")->name(), "nftables");
    EXPECT_EQ(make_backend(BackendKind::none, "voipguard"), nullptr);
    EXPECT_STREQ(to_string(BackendKind::iptables), "iptables");
    EXPECT_STREQ(to_string(BackendKind::none), "none");
}

TEST(BackendText, NflogPrefixAndMark) {
    EXPECT_EQ(nflog_prefix("voipguard", "drop-in"), "voipguard-drop-in");
    EXPECT_EQ(mark_text(0x20000000), "0x20000000");
    EXPECT_EQ(mark_text(1), "0x1");
}

TEST(Probe, ReadsTheToolsAnswersAndCleansUpItsScratchObjects) {
    test::FakeRunner fake;
    fake.reply("nft --version", "nftables v1.0.6 (Lester Gooch #5)\n");
    fake.reply("ipset version", "ipset v7.17, protocol version: 7\n");
    fake.reply("iptables-restore --version", "iptables-restore v1.8.9 (nf_tables)\n");
    fake.reply("ip6tables-restore --version", "ip6tables-restore v1.8.9 (nf_tables)\n");
    fake.handler = [](const std::string& command, const std::string& input, ExecResult& out) {
        if (command == "nft -f -" && input.find("queue num") != std::string::npos) {
            out.exit_code = 1;
            out.err = "/dev/stdin:5:20-24: Error: Could not process rule: No such file or directory\n";
            return true;
        }
        if (command == "ip6tables-restore -w 5 --noflush" && input.find("NFQUEUE") != std::string::npos) {
            out.exit_code = 2;
            out.err = "ip6tables-restore: unable to initialize table 'mangle'\n";
            return true;
        }
        return false;
    };
    ProbeOptions o;
    o.runner = fake.runner();
    const ProbeResult p = probe(o);
    EXPECT_TRUE(p.nft);
    EXPECT_EQ(p.nft_version, "nftables v1.0.6 (Lester Gooch #5)");
    EXPECT_FALSE(p.nft_queue);
    EXPECT_TRUE(p.nft_concat_intervals);
    EXPECT_EQ(p.nft_error,
              "queue statement: /dev/stdin:5:20-24: Error: Could not process rule: No such file or directory");
    EXPECT_TRUE(p.ipset);
    EXPECT_EQ(p.ipset_version, "ipset v7.17, protocol version: 7");
    EXPECT_TRUE(p.iptables);
    EXPECT_EQ(p.iptables_version, "iptables-restore v1.8.9 (nf_tables)");
    EXPECT_FALSE(p.ip6tables);
    EXPECT_EQ(p.ip6tables_error, "ip6tables-restore: unable to initialize table 'mangle'");

    // Every scratch object is deleted again: the nft table inside each
    // transaction, the chains and the sets afterwards.
    for (const auto& in : fake.inputs_of("nft -f -")) {
        EXPECT_NE(in.rfind("delete table inet vgprobe\n"), std::string::npos);
        EXPECT_EQ(in.rfind("delete table inet vgprobe\n") + 26, in.size());
    }
    const auto v4 = fake.inputs_of("iptables-restore -w 5 --noflush");
    ASSERT_EQ(v4.size(), 3u);
    EXPECT_NE(v4[0].find("-j NFQUEUE --queue-num 0 --queue-bypass"), std::string::npos);
    EXPECT_NE(v4[0].find("-m set --match-set vgprobe4 src"), std::string::npos);
    EXPECT_NE(v4[0].find("*filter\n:vgprobe - [0:0]\n-A vgprobe -p tcp -m mark --mark 0x1/0x1 -j REJECT "
                         "--reject-with tcp-reset\nCOMMIT\n"),
              std::string::npos);
    EXPECT_EQ(v4[1], "*mangle\n-F vgprobe\n-X vgprobe\nCOMMIT\n");
    EXPECT_EQ(v4[2], "*filter\n-F vgprobe\n-X vgprobe\nCOMMIT\n");
    const auto commands = fake.commands();
    for (const char* set : {"vgprobe4", "vgprobe6", "vgprobep4", "vgprobep6"})
        EXPECT_NE(std::find(commands.begin(), commands.end(), std::string("ipset destroy ") + set), commands.end())
            << set;
}

TEST(Probe, MissingToolsAreReportedNotFatal) {
    test::FakeRunner fake;
    fake.default_reply.exit_code = -1;
    fake.default_reply.error = "program not found";
    ProbeOptions o;
    o.runner = fake.runner();
    const ProbeResult p = probe(o);
    EXPECT_FALSE(p.nft);
    EXPECT_FALSE(p.nft_queue);
    EXPECT_FALSE(p.iptables);
    EXPECT_FALSE(p.ip6tables);
    EXPECT_FALSE(p.ipset);
    EXPECT_EQ(p.nft_error, "program not found");
    EXPECT_EQ(p.iptables_error, "program not found");
    std::string why;
    EXPECT_EQ(choose_backend(p, "auto", why), BackendKind::none);
}

}  // namespace
}  // namespace vg::kernel
