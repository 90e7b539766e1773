// SPDX-License-Identifier: GPL-2.0-or-later
// NfQueue, Conntrack and NflogListener against the kernel, each test in a
// network namespace of its own (created, entered and deleted by the test),
// with traffic only on that namespace's loopback. The tests need root,
// `ip netns` and iptables (conntrack-tools for the conntrack ones); without
// them they skip and say why.
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <net/if.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/netlink/conntrack.h"
#include "daemon/netlink/nflog.h"
#include "daemon/netlink/nfqueue.h"
#include "tests/daemon/netlink/netns_fixture.h"

namespace vg::netlink {
namespace {

using test::TestNetns;
using test::UdpSocket;

#define VG_ENTER_NETNS_OR_SKIP(ns)                                                          \
    if (const std::string why_ = test::netns_unavailable_reason(); !why_.empty())           \
        GTEST_SKIP() << why_;                                                               \
    TestNetns ns;                                                                           \
    if (!ns.ok()) GTEST_SKIP() << "cannot set up a network namespace: " << ns.reason()

long long now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Drains `q` until `want` packets were handed to `f` or timeout_ms passed.
template <typename Q, typename F>
std::size_t drain_until(Q& q, std::size_t want, F&& f, int timeout_ms = 2000) {
    std::size_t got = q.drain(f);
    const long long deadline = now_ms() + timeout_ms;
    while (got < want) {
        const long long left = deadline - now_ms();
        if (left <= 0 || !test::wait_readable(q.fd(), static_cast<int>(left))) break;
        got += q.drain(f);
    }
    return got;
}

// Packets counted by the rule of `table` whose iptables-save text contains `needle`.
long rule_packets(const TestNetns& ns, const std::string& table, const std::string& needle,
                  const char* tool = "iptables-save") {
    std::string out;
    if (ns.exec({tool, "-c", "-t", table}, &out) != 0) return -1;
    std::size_t pos = 0;
    while (pos < out.size()) {
        std::size_t eol = out.find('\n', pos);
        if (eol == std::string::npos) eol = out.size();
        const std::string line = out.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.size() > 1 && line[0] == '[' && line.find(needle) != std::string::npos)
            return std::stol(line.substr(1, line.find(':') - 1));
    }
    return -1;
}

// The UDP header fields and data of an IPv4 or IPv6 packet (no extension headers).
struct UdpView {
    bool ok = false;
    std::uint8_t version = 0;
    std::uint16_t dst_port = 0;
    std::string data;
};

UdpView udp_of(const std::uint8_t* p, std::size_t n) {
    UdpView v;
    if (n < 1) return v;
    v.version = static_cast<std::uint8_t>(p[0] >> 4);
    std::size_t l4 = 0;
    if (v.version == 4) {
        if (n < 20 || p[9] != IPPROTO_UDP) return v;
        l4 = static_cast<std::size_t>(p[0] & 0x0f) * 4;
    } else if (v.version == 6) {
        if (n < 40 || p[6] != IPPROTO_UDP) return v;
        l4 = 40;
    } else {
        return v;
    }
    if (n < l4 + 8) return v;
    std::uint16_t port;
    std::memcpy(&port, p + l4 + 2, 2);
    v.dst_port = ntohs(port);
    v.data.assign(reinterpret_cast<const char*>(p + l4 + 8), n - l4 - 8);
    v.ok = true;
    return v;
}

std::vector<std::string> queue_rule(const char* port, const char* queue) {
    return {"iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", port, "-j", "NFQUEUE", "--queue-num", queue};
}

NfQueueOptions queue_options(std::uint16_t queue, bool fail_open) {
    NfQueueOptions o;
    o.queue = queue;
    o.fail_open = fail_open;
    o.fallback_verdict = fail_open ? Verdict::accept : Verdict::drop;
    return o;
}

// ---- NFQUEUE ----

TEST(NfQueueKernel, AcceptedPacketIsDeliveredWithTheVerdictMark) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    // After the queue verdict the packet continues with the next table: count it there.
    ASSERT_TRUE(ns.must({"iptables", "-t", "filter", "-A", "OUTPUT", "-p", "udp", "--dport", "40000", "-m", "mark", "--mark", "0x2a"}));
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, false))) << q.error();
    EXPECT_GT(q.receive_buffer(), 0);
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    ASSERT_TRUE(tx.send_to(40000, "voipguard accept"));

    QueuedPacket seen;
    UdpView udp;
    const std::size_t n = drain_until(q, 1, [&](const QueuedPacket& p) {
        seen = p;
        udp = udp_of(p.payload, p.payload_len);
        seen.payload = nullptr;  // points into the receive buffer
        return Decision{Verdict::accept, 0x2au, std::nullopt};
    });
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(seen.hw_protocol, 0x0800);
    EXPECT_EQ(seen.family, NFPROTO_IPV4);
    EXPECT_EQ(seen.hook, NF_INET_LOCAL_OUT);
    EXPECT_EQ(seen.queue, 7);
    EXPECT_EQ(seen.outdev, if_nametoindex("lo"));
    EXPECT_EQ(seen.indev, 0u);
    EXPECT_EQ(seen.mark, 0u);
    EXPECT_FALSE(seen.truncated());
    ASSERT_TRUE(udp.ok);
    EXPECT_EQ(udp.version, 4);
    EXPECT_EQ(udp.dst_port, 40000);
    EXPECT_EQ(udp.data, "voipguard accept");

    std::string got;
    ASSERT_TRUE(rx.receive(got, 2000)) << "the accepted packet did not arrive";
    EXPECT_EQ(got, "voipguard accept");
    EXPECT_EQ(rule_packets(ns, "filter", "--mark 0x2a"), 1) << "the verdict did not set the packet mark";

    EXPECT_EQ(q.stats().packets, 1u);
    EXPECT_EQ(q.stats().verdict_accept, 1u);
    EXPECT_EQ(q.stats().verdict_drop, 0u);
    EXPECT_EQ(q.stats().enobufs, 0u);
    const auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->peer_portid, q.portid());
    EXPECT_EQ(k->copy_mode, 2u);  // NFQNL_COPY_PACKET
    EXPECT_EQ(k->copy_range, 65531u);  // 65535 capped by the kernel
    EXPECT_EQ(k->queue_total, 0u);
    EXPECT_EQ(k->id_sequence, 1u);
}

TEST(NfQueueKernel, Ipv6PacketIsQueuedAndAccepted) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    UdpSocket rx(true);
    if (!rx.bind(40000)) GTEST_SKIP() << "no ::1 in the namespace";
    ASSERT_TRUE(ns.must({"ip6tables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "40000", "-j", "NFQUEUE", "--queue-num", "7"}));
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, false))) << q.error();
    UdpSocket tx(true);
    ASSERT_TRUE(tx.send_to(40000, "v6"));
    UdpView udp;
    std::uint16_t proto = 0;
    const std::size_t n = drain_until(q, 1, [&](const QueuedPacket& p) {
        proto = p.hw_protocol;
        udp = udp_of(p.payload, p.payload_len);
        return Decision{Verdict::accept, std::nullopt, std::nullopt};
    });
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(proto, 0x86dd);
    EXPECT_EQ(udp.version, 6);
    EXPECT_EQ(udp.data, "v6");
    std::string got;
    EXPECT_TRUE(rx.receive(got, 2000));
}

TEST(NfQueueKernel, DroppedPacketNeverArrives) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, true))) << q.error();
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    ASSERT_TRUE(tx.send_to(40000, "voipguard drop"));
    const std::size_t n = drain_until(q, 1, [](const QueuedPacket&) { return Decision{Verdict::drop, std::nullopt, std::nullopt}; });
    ASSERT_EQ(n, 1u);
    std::string got;
    EXPECT_FALSE(rx.receive(got, 300)) << "a dropped packet arrived: " << got;
    EXPECT_EQ(q.stats().verdict_drop, 1u);
    const auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->queue_total, 0u);
}

TEST(NfQueueKernel, VoidCallbackThenBatchVerdictReleasesEveryPacket) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    ASSERT_TRUE(ns.must({"iptables", "-t", "filter", "-A", "OUTPUT", "-p", "udp", "--dport", "40000", "-m", "mark", "--mark", "0x2a"}));
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, false))) << q.error();
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.send_to(40000, "batch " + std::to_string(i)));
    std::vector<std::uint32_t> ids;
    ASSERT_EQ(drain_until(q, 3, [&](const QueuedPacket& p) { ids.push_back(p.id); }), 3u);
    // Nothing was answered yet: all three wait in the kernel.
    auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->queue_total, 3u);
    std::string got;
    EXPECT_FALSE(rx.receive(got, 100));

    ASSERT_TRUE(q.verdict_batch(ids.back(), Verdict::accept, 0x2au));
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(rx.receive(got, 2000)) << "packet " << i;
        EXPECT_EQ(got, "batch " + std::to_string(i));
    }
    EXPECT_EQ(rule_packets(ns, "filter", "--mark 0x2a"), 3);
    EXPECT_EQ(q.stats().verdict_batch, 1u);
    k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->queue_total, 0u);
}

TEST(NfQueueKernel, CallbackThatThrowsLeavesTheFallbackVerdict) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, true))) << q.error();  // fallback: accept
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    ASSERT_TRUE(tx.send_to(40000, "thrown"));
    ASSERT_TRUE(test::wait_readable(q.fd(), 2000));
    EXPECT_THROW(q.drain([](const QueuedPacket&) -> Decision { throw std::runtime_error("engine failure"); }),
                 std::runtime_error);
    std::string got;
    ASSERT_TRUE(rx.receive(got, 2000)) << "the fallback verdict (accept) was not given";
    EXPECT_EQ(got, "thrown");
    EXPECT_EQ(q.stats().fallback_verdicts, 1u);
    EXPECT_EQ(q.stats().verdict_accept, 1u);
}

TEST(NfQueueKernel, FullQueueFailsOpenWhenAsked) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    NfQueueOptions o = queue_options(7, true);
    o.max_len = 1;
    NfQueue q;
    ASSERT_TRUE(q.open(o)) << q.error();
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.send_to(40000, "p" + std::to_string(i)));
    // p0 waits for its verdict; p1 and p2 found the queue full and passed.
    std::string got;
    ASSERT_TRUE(rx.receive(got, 1000));
    EXPECT_EQ(got, "p1");
    ASSERT_TRUE(rx.receive(got, 1000));
    EXPECT_EQ(got, "p2");
    ASSERT_EQ(drain_until(q, 1, [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; }), 1u);
    ASSERT_TRUE(rx.receive(got, 2000));
    EXPECT_EQ(got, "p0");
    const auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->queue_dropped, 0u);
}

TEST(NfQueueKernel, FullQueueDropsWhenFailClosed) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    NfQueueOptions o = queue_options(7, false);
    o.max_len = 1;
    NfQueue q;
    ASSERT_TRUE(q.open(o)) << q.error();
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    for (int i = 0; i < 3; ++i) tx.send_to(40000, "p" + std::to_string(i));
    std::string got;
    EXPECT_FALSE(rx.receive(got, 300)) << "a packet passed a full fail-closed queue: " << got;
    auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->queue_dropped, 2u);
    EXPECT_EQ(k->queue_total, 1u);
    ASSERT_EQ(drain_until(q, 1, [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; }), 1u);
    ASSERT_TRUE(rx.receive(got, 2000));
    EXPECT_EQ(got, "p0");
}

TEST(NfQueueKernel, SocketOverrunIsCountedAndSurvived) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(queue_rule("40000", "7")));
    NfQueueOptions o = queue_options(7, false);
    o.receive_buffer = 1;  // the kernel's minimum: a few packets
    o.max_len = 10000;
    NfQueue q;
    ASSERT_TRUE(q.open(o)) << q.error();
    UdpSocket rx;
    UdpSocket tx;
    ASSERT_TRUE(rx.bind(40000));
    const std::string big(1200, 'x');
    constexpr int kSent = 50;
    for (int i = 0; i < kSent; ++i) tx.send_to(40000, big);

    const std::size_t handed = drain_until(q, 1, [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; });
    EXPECT_GE(handed, 1u);
    EXPECT_LT(handed, static_cast<std::size_t>(kSent));
    EXPECT_GE(q.stats().enobufs, 1u) << "ENOBUFS was not reported";
    const auto k = read_queue_stats(7);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->user_dropped, kSent - handed);

    // The queue goes on working.
    std::string got;
    while (rx.receive(got, 100)) {
    }
    ASSERT_TRUE(tx.send_to(40000, "after"));
    ASSERT_EQ(drain_until(q, 1, [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; }), 1u);
    ASSERT_TRUE(rx.receive(got, 2000));
    EXPECT_EQ(got, "after");
}

TEST(NfQueueKernel, VerdictForUnknownIdIsCountedAsVerdictError) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    NfQueue q;
    ASSERT_TRUE(q.open(queue_options(7, true))) << q.error();
    ASSERT_TRUE(q.verdict(123456, Verdict::accept));
    ASSERT_TRUE(test::wait_readable(q.fd(), 2000));
    EXPECT_EQ(q.drain([](const QueuedPacket&) {}), 0u);
    EXPECT_EQ(q.stats().verdict_errors, 1u);
    EXPECT_EQ(q.stats().last_verdict_error, ENOENT);
}

TEST(NfQueueKernel, SecondBindOfTheSameQueueFails) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    NfQueue a;
    ASSERT_TRUE(a.open(queue_options(7, true))) << a.error();
    NfQueue b;
    EXPECT_FALSE(b.open(queue_options(7, true)));
    EXPECT_NE(b.error().find("another process"), std::string::npos) << b.error();
    EXPECT_FALSE(b.is_open());
    NfQueue c;
    EXPECT_TRUE(c.open(queue_options(8, true))) << c.error();
}

TEST(NfQueueKernel, ConntrackGlueProbeAgreesWithTheKernelConfig) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    const GlueSupport g = probe_conntrack_glue();
    ASSERT_NE(g, GlueSupport::unknown);
    std::string config;
    if (test::run_command({"zcat", "/proc/config.gz"}, &config) == 0 && !config.empty()) {
        const bool built = config.find("CONFIG_NETFILTER_NETLINK_GLUE_CT=y") != std::string::npos;
        EXPECT_EQ(g == GlueSupport::present, built);
    }
    // Asking for conntrack attributes works exactly when the glue is there.
    NfQueueOptions o = queue_options(7, true);
    o.conntrack_info = true;
    NfQueue q;
    EXPECT_EQ(q.open(o), g == GlueSupport::present) << q.error();
    if (g == GlueSupport::absent) {
        EXPECT_NE(q.error().find("not support"), std::string::npos) << q.error();
    }
}

// ---- conntrack ----

std::string conntrack_unavailable() {
    return test::run_command({"conntrack", "--version"}) == 0 ? "" : "the conntrack tool is not installed";
}

// Lines `conntrack -L ARGS` prints inside the namespace (one per entry).
int ct_entries(const TestNetns& ns, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"conntrack", "-L"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    if (ns.exec(argv, &out) != 0) return -1;
    int lines = 0;
    for (char c : out)
        if (c == '\n') ++lines;
    return lines;
}

// Makes conntrack track this namespace's traffic (its hooks register on use).
void track(const TestNetns& ns, bool v6 = false) {
    ns.must({v6 ? "ip6tables" : "iptables", "-t", "filter", "-A", "OUTPUT", "-m", "conntrack", "--ctstate", "NEW,ESTABLISHED"});
}

// One UDP flow 127.0.0.1:sport -> 127.0.0.1:dport (or ::1), with a listener
// on dport unless another flow to the same port has one.
struct Flow {
    UdpSocket rx;
    UdpSocket tx;
    Flow(std::uint16_t sport, std::uint16_t dport, bool v6 = false, bool listen = true) : rx(v6), tx(v6) {
        if (listen) {
            EXPECT_TRUE(rx.bind(dport));
        }
        EXPECT_TRUE(tx.bind(sport));
        EXPECT_TRUE(tx.send_to(dport, "flow"));
    }
};

FlowSpec loopback_flow(std::uint16_t sport, std::uint16_t dport, bool v6 = false) {
    const auto lo = *net::IpAddress::parse(v6 ? "::1" : "127.0.0.1");
    return FlowSpec{lo, lo, IPPROTO_UDP, sport, dport};
}

TEST(ConntrackKernel, DeleteFlowRemovesTheEntryAndASecondDeleteFindsNothing) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    track(ns);
    Flow f(41000, 40001);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40001"}), 1);

    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    EXPECT_EQ(ct.delete_flow(loopback_flow(41000, 40001)), CtResult::deleted) << ct.error();
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40001"}), 0);
    EXPECT_EQ(ct.delete_flow(loopback_flow(41000, 40001)), CtResult::not_found) << ct.error();
    EXPECT_EQ(ct.stats().deleted, 1u);
    EXPECT_EQ(ct.stats().not_found, 1u);
    EXPECT_EQ(ct.stats().errors, 0u);
}

TEST(ConntrackKernel, DeleteFlowGivenTheReplyDirectionRemovesTheEntry) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    track(ns);
    Flow f(41000, 40001);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40001"}), 1);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    // 127.0.0.1:40001 -> :41000 is the reply tuple of the entry.
    EXPECT_EQ(ct.delete_flow(loopback_flow(40001, 41000), /*try_reverse=*/false), CtResult::deleted) << ct.error();
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40001"}), 0);
}

TEST(ConntrackKernel, Ipv6FlowIsDeleted) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    {
        UdpSocket probe(true);
        if (!probe.bind(40099)) GTEST_SKIP() << "no ::1 in the namespace";
    }
    track(ns, true);
    Flow f(41000, 40001, true);
    ASSERT_EQ(ct_entries(ns, {"-f", "ipv6", "-p", "udp", "--dport", "40001"}), 1);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    EXPECT_EQ(ct.delete_flow(loopback_flow(41000, 40001, true)), CtResult::deleted) << ct.error();
    EXPECT_EQ(ct_entries(ns, {"-f", "ipv6", "-p", "udp", "--dport", "40001"}), 0);
}

TEST(ConntrackKernel, DeleteByEndpointRemovesOnlyThatEndpointsEntries) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    track(ns);
    Flow a(41001, 40002);
    Flow b(41002, 40002, false, /*listen=*/false);
    Flow other(41003, 40003);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp"}), 3);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    const auto n = ct.delete_by_endpoint(*net::IpAddress::parse("127.0.0.1"), 40002, IPPROTO_UDP);
    ASSERT_TRUE(n.has_value()) << ct.error();
    EXPECT_EQ(*n, 2u);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40002"}), 0);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40003"}), 1);
    EXPECT_GE(ct.stats().dumps, 1u);
}

// Two marked flows (to 40004) and one unmarked (to 40005).
void marked_flows_setup(const TestNetns& ns) {
    track(ns);
    ns.must({"iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "40004", "-j", "CONNMARK",
             "--set-xmark", "0x100/0x100"});
}

TEST(ConntrackKernel, KernelFlushByMarkRemovesOnlyMarkedEntries) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (!kernel_flushes_by_mark()) GTEST_SKIP() << "this kernel would flush every entry";
    marked_flows_setup(ns);
    Flow a(41001, 40004);
    Flow b(41002, 40004, false, /*listen=*/false);
    Flow other(41003, 40005);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp", "--mark", "0x100/0x100"}), 2);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp"}), 3);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    const FlushResult r = ct.flush_mark(0x100, 0x100, FlushMethod::kernel);
    ASSERT_TRUE(r.ok) << ct.error();
    EXPECT_EQ(r.method, FlushMethod::kernel);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40004"}), 0);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40005"}), 1);
}

TEST(ConntrackKernel, DumpFlushByMarkRemovesAndCountsOnlyMarkedEntries) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    marked_flows_setup(ns);
    Flow a(41001, 40004);
    Flow b(41002, 40004, false, /*listen=*/false);
    Flow other(41003, 40005);
    ASSERT_EQ(ct_entries(ns, {"-p", "udp"}), 3);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    const FlushResult r = ct.flush_mark(0x100, 0x100, FlushMethod::dump);
    ASSERT_TRUE(r.ok) << ct.error();
    EXPECT_EQ(r.method, FlushMethod::dump);
    EXPECT_EQ(r.deleted, 2u);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40004"}), 0);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp", "--dport", "40005"}), 1);
}

TEST(ConntrackKernel, AutomaticFlushChoosesByKernelVersion) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    if (const auto why = conntrack_unavailable(); !why.empty()) GTEST_SKIP() << why;
    marked_flows_setup(ns);
    Flow a(41001, 40004);
    Flow other(41003, 40005);
    Conntrack ct;
    ASSERT_TRUE(ct.open()) << ct.error();
    const FlushResult r = ct.flush_mark(0x100, 0x100);
    ASSERT_TRUE(r.ok) << ct.error();
    EXPECT_EQ(r.method, kernel_flushes_by_mark() ? FlushMethod::kernel : FlushMethod::dump);
    EXPECT_EQ(ct_entries(ns, {"-p", "udp"}), 1);
}

// ---- NFLOG ----

std::vector<std::string> nflog_rule(const char* port, const char* group) {
    return {"iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", port, "-j", "NFLOG", "--nflog-group", group,
            "--nflog-prefix", "vgtest"};
}

TEST(NflogKernel, LoggedPacketArrivesWithPrefixAndPayload) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(nflog_rule("40010", "9")));
    NflogListener log;
    NflogOptions o;
    o.group = 9;
    o.queue_threshold = 1;
    ASSERT_TRUE(log.open(o)) << log.error();
    UdpSocket tx;
    ASSERT_TRUE(tx.send_to(40010, "logged"));

    std::string prefix;
    UdpView udp;
    LoggedPacket seen;
    ASSERT_EQ(drain_until(log, 1, [&](const LoggedPacket& p) {
                  seen = p;
                  prefix = std::string(p.prefix);
                  udp = udp_of(p.payload, p.payload_len);
              }),
              1u);
    EXPECT_EQ(prefix, "vgtest");
    EXPECT_EQ(seen.group, 9);
    EXPECT_EQ(seen.family, NFPROTO_IPV4);
    EXPECT_EQ(seen.hw_protocol, 0x0800);
    EXPECT_EQ(seen.hook, NF_INET_LOCAL_OUT);
    EXPECT_EQ(seen.outdev, if_nametoindex("lo"));
    ASSERT_TRUE(seen.seq.has_value());
    EXPECT_EQ(*seen.seq, 0u);
    ASSERT_TRUE(udp.ok);
    EXPECT_EQ(udp.dst_port, 40010);
    EXPECT_EQ(udp.data, "logged");
    EXPECT_EQ(log.stats().packets, 1u);
    EXPECT_EQ(log.stats().lost, 0u);
}

TEST(NflogKernel, BatchOfThreeIsHandedOutInOrder) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns.must(nflog_rule("40010", "9")));
    NflogListener log;
    NflogOptions o;
    o.group = 9;
    o.queue_threshold = 3;
    o.timeout_cs = 100;
    o.copy_range = 32;  // headers and a little data
    ASSERT_TRUE(log.open(o)) << log.error();
    UdpSocket tx;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.send_to(40010, std::string(100, static_cast<char>('a' + i))));
    std::vector<std::uint32_t> seqs;
    std::vector<std::size_t> lengths;
    ASSERT_EQ(drain_until(log, 3, [&](const LoggedPacket& p) {
                  seqs.push_back(p.seq.value_or(999));
                  lengths.push_back(p.payload_len);
              }),
              3u);
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{0, 1, 2}));
    EXPECT_EQ(lengths, (std::vector<std::size_t>{32, 32, 32}));
    EXPECT_EQ(log.stats().lost, 0u);
    EXPECT_EQ(log.stats().malformed, 0u);
}

TEST(NflogKernel, SecondBindOfTheSameGroupFails) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    NflogListener a;
    NflogOptions o;
    o.group = 9;
    ASSERT_TRUE(a.open(o)) << a.error();
    NflogListener b;
    EXPECT_FALSE(b.open(o));
    EXPECT_NE(b.error().find("another process"), std::string::npos) << b.error();
}

}  // namespace
}  // namespace vg::netlink
