// SPDX-License-Identifier: GPL-2.0-or-later
// Handset egress alone (egress.h): the allow-list, the memory of the flows a
// handset opened (their exact return traffic, until it expires) and the
// judgement of a TCP connection on its first data, through EgressTracker's
// API with a compiled policy and a time the test moves.
#include "filters/engine/egress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;
using Tcp = EgressTracker::Tcp;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kNtp = "192.0.2.123";
constexpr const char* kWeb = "192.0.2.80";
constexpr std::uint8_t kSyn = net::tcpflag::syn;
constexpr std::uint8_t kAck = net::tcpflag::ack;
constexpr std::uint8_t kPshAck = net::tcpflag::psh | net::tcpflag::ack;

const std::string kAllowList =
    "egress:\n  mode: allow_list\n  allow:\n    - name: ntp\n      addresses: [192.0.2.123]\n"
    "      ports: [\"udp/123\"]\n    - name: provisioning\n      addresses: [192.0.2.80]\n"
    "      ports: [\"tcp/443\", \"tcp/8000-8010\"]\n";

const std::string kOpen = "egress:\n  mode: open\n";

class EgressTest : public ::testing::Test {
protected:
    void SetUp() override { make(test::site_policy("enforce", kOpen)); }
    void make(const std::string& yaml, std::size_t max_flows = 64) {
        auto rules = test::compile_policy(yaml);
        ASSERT_NE(rules, nullptr);
        egress_.reset();
        ctx_ = std::make_unique<EngineContext>(rules);
        egress_ = std::make_unique<EgressTracker>(*ctx_, max_flows);
    }
    const net::DecodedPacket& udp(const char* src, unsigned sport, const char* dst, unsigned dport) {
        return jar_.udp(src, sport, dst, dport, "payload");
    }
    const net::DecodedPacket& tcp(const char* src, unsigned sport, const char* dst, unsigned dport, unsigned flags,
                                  const std::string& data, std::uint32_t seq) {
        return jar_.keep(v4tcp(src, sport, dst, dport, flags, data, seq, 1));
    }
    // A handset's packet out, as the engine handles other egress.
    bool out(const net::DecodedPacket& p) {
        if (!egress_->allowed(p, now_, rec_)) return false;
        egress_->remember(p, now_);
        return true;
    }
    bool back(const net::DecodedPacket& p) { return egress_->is_return_traffic(p, now_); }
    void advance(Duration d) {
        now_ += d;
        egress_->tick(now_);
    }

    std::unique_ptr<EngineContext> ctx_;
    std::unique_ptr<EgressTracker> egress_;
    test::PacketJar jar_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 100s;
};

// --- the allow-list ------------------------------------------------------------------

TEST_F(EgressTest, OpenModeLetsEverythingOut) {
    EXPECT_TRUE(out(udp(kHandset, 30000, "198.18.0.1", 9999)));
    EXPECT_TRUE(egress_->allowed(tcp(kHandset, 30001, "198.18.0.1", 25, kSyn, "", 7), now_, rec_));
    EXPECT_EQ(rec_.count(EventType::egress_denied), 0u);
}

TEST_F(EgressTest, AllowListModeLetsOutOnlyListedDestinationsAndPorts) {
    make(test::site_policy("enforce", kAllowList));
    EXPECT_TRUE(out(udp(kHandset, 30000, kNtp, 123)));
    EXPECT_TRUE(egress_->allowed(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 7), now_, rec_));
    EXPECT_TRUE(egress_->allowed(tcp(kHandset, 30002, kWeb, 8005, kSyn, "", 7), now_, rec_));
    EXPECT_EQ(rec_.count(EventType::egress_denied), 0u);

    // Wrong port, wrong transport, another address.
    EXPECT_FALSE(out(udp(kHandset, 30000, kNtp, 124)));
    EXPECT_FALSE(out(udp(kHandset, 30000, kWeb, 443)));
    EXPECT_FALSE(egress_->allowed(tcp(kHandset, 30003, kWeb, 8011, kSyn, "", 7), now_, rec_));
    EXPECT_FALSE(out(udp(kHandset2, 30000, "198.18.0.1", 123)));
    ASSERT_EQ(rec_.count(EventType::egress_denied), 4u);
    const Event* e = rec_.last(EventType::egress_denied);
    EXPECT_EQ(e->handset, *net::IpAddress::parse(kHandset2));
    EXPECT_EQ(e->destination, *net::IpAddress::parse("198.18.0.1"));
    EXPECT_EQ(e->destination_port, 123);
    // A flow that was refused has no way back.
    EXPECT_FALSE(back(udp(kNtp, 124, kHandset, 30000)));
}

// The default (egress.mode: allow_list, nothing listed): nothing leaves
// besides what the engine lets out elsewhere (SIP and media with the PBX),
// and nothing comes back.
TEST_F(EgressTest, TheDefaultAllowListWithNothingListedLetsNothingOut) {
    make(test::site_policy());
    EXPECT_FALSE(out(udp(kHandset, 30000, kNtp, 123)));
    EXPECT_FALSE(egress_->allowed(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 7), now_, rec_));
    EXPECT_EQ(rec_.count(EventType::egress_denied), 2u);
    EXPECT_FALSE(back(udp(kNtp, 123, kHandset, 30000)));
    EXPECT_EQ(egress_->flow_count(), 0u);
}

// SCTP (a SIP transport, RFC 4168, the engine does not follow) never leaves
// the handsets, whatever the egress mode: the kernel drops it, and replay
// says so too.
TEST_F(EgressTest, SctpIsRefusedInEveryMode) {
    test::V4 h;
    h.protocol = 132;
    std::memcpy(h.src, net::IpAddress::parse(kHandset)->bytes(), 4);
    std::memcpy(h.dst, net::IpAddress::parse("203.0.113.10")->bytes(), 4);
    const net::DecodedPacket& sctp = jar_.keep(test::ipv4(h, test::Bytes(28, 0)));
    EXPECT_FALSE(out(sctp));
    ASSERT_EQ(rec_.count(EventType::egress_denied), 1u);
    EXPECT_EQ(rec_.last(EventType::egress_denied)->detail.view(), "sctp");
    make(test::site_policy("enforce", kAllowList + "    - name: pbx-host\n      addresses: [203.0.113.10]\n      ports: [\"udp/1-65535\", \"tcp/1-65535\"]\n"));
    EXPECT_FALSE(out(sctp));
}

// --- return traffic -------------------------------------------------------------------

TEST_F(EgressTest, OnlyTheExactReturnTrafficOfAFlowComesBack) {
    ASSERT_TRUE(out(udp(kHandset, 30000, kNtp, 123)));
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30000)));
    EXPECT_FALSE(back(udp(kNtp, 124, kHandset, 30000)));        // another source port
    EXPECT_FALSE(back(udp(kNtp, 123, kHandset, 30001)));        // another handset port
    EXPECT_FALSE(back(udp("192.0.2.124", 123, kHandset, 30000)));  // another source
    EXPECT_FALSE(back(udp(kNtp, 123, kHandset2, 30000)));       // another handset
    // TCP is not UDP.
    EXPECT_FALSE(back(tcp(kNtp, 123, kHandset, 30000, kAck, "", 1)));
}

TEST_F(EgressTest, UdpReturnTrafficExpiresTwoMinutesAfterTheLastPacket) {
    ASSERT_TRUE(out(udp(kHandset, 30000, kNtp, 123)));
    advance(119s);
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30000)));   // refreshes
    advance(119s);
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30000)));
    advance(120s);
    EXPECT_FALSE(back(udp(kNtp, 123, kHandset, 30000)));
    // Going out again opens it again.
    ASSERT_TRUE(out(udp(kHandset, 30000, kNtp, 123)));
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30000)));
}

TEST_F(EgressTest, TcpReturnTrafficLastsTenMinutes) {
    egress_->remember(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 7), now_);
    advance(599s);
    EXPECT_TRUE(back(tcp(kWeb, 443, kHandset, 30001, kAck, "", 1)));
    advance(600s);
    EXPECT_FALSE(back(tcp(kWeb, 443, kHandset, 30001, kAck, "", 1)));
}

TEST_F(EgressTest, AFullFlowTableForgetsTheOldestFlow) {
    make(test::site_policy("enforce", kOpen), 2);
    ASSERT_TRUE(out(udp(kHandset, 30000, kNtp, 123)));
    ASSERT_TRUE(out(udp(kHandset, 30001, kNtp, 123)));
    ASSERT_TRUE(out(udp(kHandset, 30002, kNtp, 123)));
    EXPECT_EQ(ctx_->stats.evictions_egress, 1u);
    EXPECT_FALSE(back(udp(kNtp, 123, kHandset, 30000)));
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30001)));
    EXPECT_TRUE(back(udp(kNtp, 123, kHandset, 30002)));
}

// --- TCP: judged on its first data ------------------------------------------------------

TEST_F(EgressTest, ATcpConnectionIsJudgedOnItsFirstDataThenVerified) {
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 1000), now_), Tcp::pass);
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kAck, "", 1001), now_), Tcp::pass);
    const net::DecodedPacket& first = tcp(kHandset, 30001, kWeb, 443, kPshAck, "GET / HTTP/1.1\r\n", 1001);
    EXPECT_EQ(egress_->tcp(first, now_), Tcp::judge_start);
    // Not judged yet (the caller could not tell): the same start is judged again.
    EXPECT_EQ(egress_->tcp(first, now_), Tcp::judge_start);
    egress_->tcp_judged(first);
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kPshAck, "more", 1017), now_), Tcp::verified);
    // Its return traffic is known.
    EXPECT_TRUE(back(tcp(kWeb, 443, kHandset, 30001, kPshAck, "HTTP/1.1 200 OK\r\n", 1)));
}

TEST_F(EgressTest, DataAheadOfTheFirstByteIsNotJudged) {
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 1000), now_), Tcp::pass);
    // A segment from further on (the first one lost or reordered).
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kPshAck, "rest", 1500), now_), Tcp::unjudged);
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kPshAck, "first", 1001), now_), Tcp::judge_start);
}

TEST_F(EgressTest, DataOnASynIsNotJudged) {
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kSyn, "fast open data", 1000), now_), Tcp::unjudged);
}

TEST_F(EgressTest, AConnectionOlderThanTheEnginesMemoryIsJudgedOnWhatComes) {
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kPshAck, "mid-stream", 55555), now_),
              Tcp::judge_start);
}

TEST_F(EgressTest, ASecondSynAfterJudgementKeepsTheVerdict) {
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 1000), now_), Tcp::pass);
    const net::DecodedPacket& first = tcp(kHandset, 30001, kWeb, 443, kPshAck, "hello", 1001);
    ASSERT_EQ(egress_->tcp(first, now_), Tcp::judge_start);
    egress_->tcp_judged(first);
    // A retransmitted SYN does not reset what was judged.
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kSyn, "", 1000), now_), Tcp::pass);
    EXPECT_EQ(egress_->tcp(tcp(kHandset, 30001, kWeb, 443, kPshAck, "again", 1006), now_), Tcp::verified);
}

}  // namespace
}  // namespace vg::engine
