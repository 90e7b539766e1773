// SPDX-License-Identifier: GPL-2.0-or-later
// NfQueue's batched reads against the kernel (one recvmmsg() reads up to
// kReceiveBatch packets): every packet queued before a drain is handed out
// once, in order, whole, also across reads and around a budget; a packet
// queued after a drain makes the socket readable again. Each test runs in a
// network namespace of its own with traffic on its loopback; without root,
// `ip netns` or iptables they skip and say why.
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

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

constexpr std::uint16_t kPort = 40000;
constexpr std::uint16_t kQueue = 7;

// The data of the IPv4 UDP packet `p` (the tests send IPv4 on loopback).
std::string udp_data(const QueuedPacket& p) {
    if (p.payload_len < 28 || (p.payload[0] >> 4) != 4 || p.payload[9] != IPPROTO_UDP) return "<not IPv4 UDP>";
    const std::size_t l4 = static_cast<std::size_t>(p.payload[0] & 0x0f) * 4;
    if (p.payload_len < l4 + 8) return "<short>";
    return std::string(reinterpret_cast<const char*>(p.payload + l4 + 8), p.payload_len - l4 - 8);
}

struct QueueSite {
    NfQueue q;
    UdpSocket rx;
    UdpSocket tx;
};

// Queues the OUTPUT UDP packets to kPort on kQueue and opens the queue
// (fail-closed: a packet that got no verdict never arrives).
::testing::AssertionResult open_site(const TestNetns& ns, QueueSite& s) {
    if (!ns.must({"iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", std::to_string(kPort), "-j",
                  "NFQUEUE", "--queue-num", std::to_string(kQueue)}))
        return ::testing::AssertionFailure() << "iptables rule";
    NfQueueOptions o;
    o.queue = kQueue;
    o.fail_open = false;
    o.fallback_verdict = Verdict::drop;
    o.max_len = 4096;
    o.receive_buffer = 4 << 20;
    if (!s.q.open(o)) return ::testing::AssertionFailure() << s.q.error();
    if (!s.rx.bind(kPort)) return ::testing::AssertionFailure() << "bind";
    // Room for every packet a test sends: the sender's are charged to it
    // while they wait in the queue (a full send buffer would block the test).
    const int bytes = 4 << 20;
    for (int fd : {s.rx.fd(), s.tx.fd()}) {
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0)
            return ::testing::AssertionFailure() << "socket buffers";
    }
    return ::testing::AssertionSuccess();
}

// Packets waiting for a verdict in the kernel.
std::uint32_t waiting() {
    const auto k = read_queue_stats(kQueue);
    return k ? k->queue_total : 0xffffffffu;
}

std::string label(int i) { return "packet " + std::to_string(i); }

TEST(NfQueueBatch, PacketsQueuedBeforeADrainAreHandedOutOnceInOrderAcrossReads) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    QueueSite s;
    ASSERT_TRUE(open_site(ns, s));
    // Three full reads and a short one. On loopback the packet is queued
    // during sendto(), so all of them wait before the drain starts.
    const int sent = static_cast<int>(3 * kReceiveBatch + 5);
    for (int i = 0; i < sent; ++i) ASSERT_TRUE(s.tx.send_to(kPort, label(i)));
    ASSERT_EQ(waiting(), static_cast<std::uint32_t>(sent));

    std::vector<std::string> seen;
    std::vector<std::uint32_t> ids;
    const std::size_t n = s.q.drain([&](const QueuedPacket& p) {
        seen.push_back(udp_data(p));
        ids.push_back(p.id);
        return Decision{Verdict::accept, std::nullopt, std::nullopt};
    });
    ASSERT_EQ(n, static_cast<std::size_t>(sent)) << "one drain hands out every packet already queued";
    for (int i = 0; i < sent; ++i) {
        EXPECT_EQ(seen[static_cast<std::size_t>(i)], label(i));
        if (i > 0) {
            EXPECT_GT(ids[static_cast<std::size_t>(i)], ids[static_cast<std::size_t>(i) - 1]);
        }
    }
    EXPECT_FALSE(s.q.has_pending());
    EXPECT_EQ(s.q.stats().packets, static_cast<std::uint64_t>(sent));
    EXPECT_EQ(s.q.stats().verdict_accept, static_cast<std::uint64_t>(sent));
    EXPECT_EQ(s.q.stats().recv_errors, 0u);
    EXPECT_EQ(waiting(), 0u);
    for (int i = 0; i < sent; ++i) {
        std::string got;
        ASSERT_TRUE(s.rx.receive(got, 2000)) << "packet " << i << " did not arrive";
        EXPECT_EQ(got, label(i));
    }
    // Nothing more: the next drain finds the socket empty.
    EXPECT_EQ(s.q.drain([](const QueuedPacket&) { return Decision{Verdict::drop, std::nullopt, std::nullopt}; }), 0u);
}

TEST(NfQueueBatch, BudgetLeavesReadPacketsPendingUntilTheNextDrains) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    QueueSite s;
    ASSERT_TRUE(open_site(ns, s));
    constexpr int kSent = 5;   // fewer than one read takes
    static_assert(kSent < static_cast<int>(kReceiveBatch), "one read");
    for (int i = 0; i < kSent; ++i) ASSERT_TRUE(s.tx.send_to(kPort, label(i)));
    std::vector<std::string> seen;
    const auto accept = [&](const QueuedPacket& p) {
        seen.push_back(udp_data(p));
        return Decision{Verdict::accept, std::nullopt, std::nullopt};
    };
    ASSERT_EQ(s.q.drain(accept, 2), 2u);
    // The other three were read with the first two: the socket has nothing,
    // has_pending() says there is more.
    EXPECT_TRUE(s.q.has_pending());
    EXPECT_FALSE(test::wait_readable(s.q.fd(), 0));
    EXPECT_EQ(waiting(), 3u);
    ASSERT_EQ(s.q.drain(accept, 2), 2u);
    EXPECT_TRUE(s.q.has_pending());
    ASSERT_EQ(s.q.drain(accept, 2), 1u);
    EXPECT_FALSE(s.q.has_pending());
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kSent));
    for (int i = 0; i < kSent; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], label(i));
    EXPECT_EQ(s.q.stats().verdict_accept, static_cast<std::uint64_t>(kSent));
    EXPECT_EQ(waiting(), 0u);
}

TEST(NfQueueBatch, DrainAfterABudgetThatEndedAReadReadsTheSocketAgain) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    QueueSite s;
    ASSERT_TRUE(open_site(ns, s));
    const auto accept = [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; };
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.tx.send_to(kPort, label(i)));
    // The budget ends the drain exactly with the last packet of a short read.
    ASSERT_EQ(s.q.drain(accept, 3), 3u);
    EXPECT_FALSE(s.q.has_pending());
    ASSERT_TRUE(s.tx.send_to(kPort, "later"));
    ASSERT_TRUE(test::wait_readable(s.q.fd(), 2000));
    std::string seen;
    EXPECT_EQ(s.q.drain([&](const QueuedPacket& p) {
        seen = udp_data(p);
        return Decision{Verdict::accept, std::nullopt, std::nullopt};
    }),
              1u);
    EXPECT_EQ(seen, "later");
    EXPECT_EQ(waiting(), 0u);
}

TEST(NfQueueBatch, LargePacketsAnywhereInAReadArriveWhole) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    QueueSite s;
    ASSERT_TRUE(open_site(ns, s));
    // Near the largest UDP datagram on loopback (no fragments: lo's MTU is
    // 65536), in every other buffer of two reads.
    std::vector<std::string> data;
    for (unsigned i = 0; i < 2 * kReceiveBatch; ++i) {
        std::string d = label(static_cast<int>(i));
        if (i % 2 == 1) d.resize(60000 + i, static_cast<char>('a' + i));
        data.push_back(d);
        ASSERT_TRUE(s.tx.send_to(kPort, d)) << "packet " << i;
    }
    std::vector<std::string> seen;
    std::size_t truncated = 0;
    const std::size_t n = s.q.drain([&](const QueuedPacket& p) {
        seen.push_back(udp_data(p));
        if (p.truncated()) ++truncated;
        return Decision{Verdict::accept, std::nullopt, std::nullopt};
    });
    ASSERT_EQ(n, data.size());
    EXPECT_EQ(truncated, 0u);
    for (std::size_t i = 0; i < data.size(); ++i) EXPECT_TRUE(seen[i] == data[i]) << "packet " << i << " differs";
    EXPECT_EQ(s.q.stats().recv_errors, 0u);
    for (std::size_t i = 0; i < data.size(); ++i) {
        std::string got;
        ASSERT_TRUE(s.rx.receive(got, 2000)) << "packet " << i << " did not arrive";
        EXPECT_TRUE(got == data[i]) << "packet " << i;
    }
}

TEST(NfQueueBatch, PacketAfterADrainMakesTheSocketReadableAgain) {
    VG_ENTER_NETNS_OR_SKIP(ns);
    QueueSite s;
    ASSERT_TRUE(open_site(ns, s));
    const auto accept = [](const QueuedPacket&) { return Decision{Verdict::accept, std::nullopt, std::nullopt}; };
    for (int round = 0; round < 3; ++round) {
        // 1, kReceiveBatch (a full read, then an empty one), 2 packets.
        const int count = round == 0 ? 1 : round == 1 ? static_cast<int>(kReceiveBatch) : 2;
        for (int i = 0; i < count; ++i) ASSERT_TRUE(s.tx.send_to(kPort, label(i)));
        ASSERT_TRUE(test::wait_readable(s.q.fd(), 2000)) << "round " << round;
        EXPECT_EQ(s.q.drain(accept), static_cast<std::size_t>(count)) << "round " << round;
        EXPECT_FALSE(s.q.has_pending());
        EXPECT_FALSE(test::wait_readable(s.q.fd(), 0)) << "round " << round;
    }
    EXPECT_EQ(s.q.stats().verdict_accept, 1u + kReceiveBatch + 2u);
    EXPECT_EQ(waiting(), 0u);
}

}  // namespace
}  // namespace vg::netlink
