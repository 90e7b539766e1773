// SPDX-License-Identifier: GPL-2.0-or-later
// Scanner detection and the SIP rate limits alone (scanner.h), through
// ScannerDetector's and SipRateLimiter's APIs with a compiled policy and a
// time the test moves. The default rates: INVITE 5/s burst 10, every other
// method 20/s burst 40, per (source, target handset, method); each method's
// site ceiling is SipRateLimiter::kCeiling (20) times its rate and burst.
#include "filters/engine/scanner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kPbx = "203.0.113.10";
constexpr const char* kScanner = "192.0.2.66";

// 192.168.20.<n>
std::string handset_n(unsigned n) { return "192.168.20." + std::to_string(n); }

class ScannerTestBase : public ::testing::Test {
protected:
    void use(const std::string& yaml) {
        auto rules = test::compile_policy(yaml);
        ASSERT_NE(rules, nullptr);
        ctx_ = std::make_unique<EngineContext>(rules);
    }
    // A request from `src` to `dst` (To user `user`), parsed.
    std::pair<const net::DecodedPacket*, const sip::SipMessage*> req(const std::string& method, const std::string& src,
                                                                     const std::string& dst,
                                                                     const std::string& user = "201",
                                                                     const std::string& ua = "Asterisk PBX 20") {
        const std::string msg = request(method, "sip:" + user + "@" + dst, "cid-" + std::to_string(serial_++), "f1",
                                        "", 1, "", ua);
        const net::DecodedPacket& p = jar_.udp(src.c_str(), 5060, dst.c_str(), 5060, msg);
        return {&p, &jar_.sip(p)};
    }

    std::unique_ptr<EngineContext> ctx_;
    test::PacketJar jar_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 100s;
    unsigned serial_ = 0;
};

// --- ScannerDetector -------------------------------------------------------------

class ScannerDetectorTest : public ScannerTestBase {
protected:
    void SetUp() override {
        use(test::site_policy());
        scanner_ = std::make_unique<ScannerDetector>(*ctx_, 64);
    }
    void behaviour(const std::string& method, const std::string& src, const std::string& dst,
                   const std::string& user = "201") {
        auto [p, m] = req(method, src, dst, user);
        scanner_->behaviour(*p, *m, now_, rec_);
    }
    std::unique_ptr<ScannerDetector> scanner_;
};

TEST_F(ScannerDetectorTest, AScannerUserAgentIsNamed) {
    auto [p, m] = req("OPTIONS", kScanner, kHandset, "100", "friendly-scanner");
    EXPECT_TRUE(scanner_->user_agent(*p, *m, now_, rec_));
    ASSERT_EQ(rec_.count(EventType::scanner), 1u);
    const Event* e = rec_.last(EventType::scanner);
    EXPECT_EQ(e->detail, "user_agent:friendly-scanner");
    EXPECT_EQ(e->method, "OPTIONS");
    EXPECT_EQ(e->user_agent, "friendly-scanner");
    EXPECT_EQ(e->source, *net::IpAddress::parse(kScanner));
}

TEST_F(ScannerDetectorTest, TheServerHeaderAndTheFromNameAreReadToo) {
    const std::string resp = response(200, "OK", "OPTIONS", 1, "r1", "t1", "", "Server: sipvicious 0.3\r\n");
    const net::DecodedPacket& p = jar_.udp(kScanner, 5060, kHandset, 5060, resp);
    EXPECT_TRUE(scanner_->user_agent(p, jar_.sip(p), now_, rec_));
    EXPECT_EQ(rec_.last(EventType::scanner)->method, "response");
    EXPECT_EQ(rec_.last(EventType::scanner)->detail, "user_agent:sipvicious");

    std::string msg = request("INVITE", "sip:100@192.168.20.10", "n1", "f1", "", 1, "", "");
    msg.replace(msg.find("From: <"), 7, "From: \"sipcli\" <");
    const net::DecodedPacket& q = jar_.udp(kScanner, 5060, kHandset, 5060, msg);
    EXPECT_TRUE(scanner_->user_agent(q, jar_.sip(q), now_, rec_));
    EXPECT_EQ(rec_.count(EventType::scanner), 2u);
}

TEST_F(ScannerDetectorTest, AnOrdinaryUserAgentIsNotAScanner) {
    auto [p, m] = req("INVITE", kPbx, kHandset, "201", "Asterisk PBX 20.5");
    EXPECT_FALSE(scanner_->user_agent(*p, *m, now_, rec_));
    EXPECT_TRUE(rec_.events.empty());
}

TEST_F(ScannerDetectorTest, EightTargetsInAMinuteAreAScanReportedOnce) {
    for (unsigned i = 0; i < 7; ++i) behaviour("INVITE", kScanner, kHandset, std::to_string(100 + i));
    EXPECT_EQ(rec_.count(EventType::scanner), 0u);
    behaviour("INVITE", kScanner, kHandset, "107");
    ASSERT_EQ(rec_.count(EventType::scanner), 1u);
    EXPECT_EQ(rec_.last(EventType::scanner)->detail, "behaviour:many_targets");
    EXPECT_EQ(rec_.last(EventType::scanner)->count, 8u);
    for (unsigned i = 0; i < 20; ++i) behaviour("INVITE", kScanner, handset_n(50 + i));
    EXPECT_EQ(rec_.count(EventType::scanner), 1u);
    // A new window: reported again.
    now_ += 61s;
    for (unsigned i = 0; i < 8; ++i) behaviour("INVITE", kScanner, kHandset, std::to_string(200 + i));
    EXPECT_EQ(rec_.count(EventType::scanner), 2u);
}

TEST_F(ScannerDetectorTest, TargetsSpreadOverMoreThanAMinuteAreNoScan) {
    for (unsigned i = 0; i < 16; ++i) {
        behaviour("INVITE", kScanner, kHandset, std::to_string(100 + i));
        if (i % 4 == 3) now_ += 61s;   // four targets per window
    }
    EXPECT_EQ(rec_.count(EventType::scanner), 0u);
}

TEST_F(ScannerDetectorTest, TwentyOptionsAreASweep) {
    for (unsigned i = 0; i < 19; ++i) behaviour("OPTIONS", kScanner, kHandset);
    EXPECT_EQ(rec_.count(EventType::scanner), 0u);
    behaviour("OPTIONS", kScanner, kHandset);
    ASSERT_EQ(rec_.count(EventType::scanner), 1u);
    EXPECT_EQ(rec_.last(EventType::scanner)->detail, "behaviour:options_sweep");
    EXPECT_EQ(rec_.last(EventType::scanner)->count, 20u);
}

TEST_F(ScannerDetectorTest, FiftyRequestsToOneTargetAreAFlood) {
    for (unsigned i = 0; i < 49; ++i) behaviour("INVITE", kScanner, kHandset);
    EXPECT_EQ(rec_.count(EventType::scanner), 0u);
    behaviour("INVITE", kScanner, kHandset);
    ASSERT_EQ(rec_.count(EventType::scanner), 1u);
    EXPECT_EQ(rec_.last(EventType::scanner)->detail, "behaviour:request_flood");
}

TEST_F(ScannerDetectorTest, SourcesAreCountedApart) {
    for (unsigned i = 0; i < 7; ++i) behaviour("INVITE", kScanner, kHandset, std::to_string(100 + i));
    behaviour("INVITE", "192.0.2.67", kHandset, "107");
    EXPECT_EQ(rec_.count(EventType::scanner), 0u);
}

// --- SipRateLimiter --------------------------------------------------------------

class RateLimiterTest : public ScannerTestBase {
protected:
    void SetUp() override { make(test::site_policy()); }
    void make(const std::string& yaml, std::size_t max_keys = 4096) {
        use(yaml);
        limiter_ = std::make_unique<SipRateLimiter>(*ctx_, max_keys);
    }
    bool admit(const std::string& method, const std::string& src, const std::string& dst) {
        auto [p, m] = req(method, src, dst);
        return limiter_->admit(*p, *m, now_, rec_);
    }
    // How many of `n` requests pass now.
    unsigned passed(unsigned n, const std::string& method, const std::string& src, const std::string& dst) {
        unsigned ok = 0;
        for (unsigned i = 0; i < n; ++i) ok += admit(method, src, dst);
        return ok;
    }
    std::unique_ptr<SipRateLimiter> limiter_;
};

TEST_F(RateLimiterTest, InvitesFromOneSourceToOneHandsetGetTheBurstThenTheRate) {
    EXPECT_EQ(passed(10, "INVITE", kPbx, kHandset), 10u);
    EXPECT_FALSE(admit("INVITE", kPbx, kHandset));
    ASSERT_EQ(rec_.count(EventType::rate_limited), 1u);
    const Event* e = rec_.last(EventType::rate_limited);
    EXPECT_EQ(e->rule, "INVITE");
    EXPECT_EQ(e->method, "INVITE");
    EXPECT_EQ(e->destination, *net::IpAddress::parse(kHandset));
    // 5/s: one token every 200 ms.
    now_ += 199ms;
    EXPECT_FALSE(admit("INVITE", kPbx, kHandset));
    now_ += 1ms;
    EXPECT_TRUE(admit("INVITE", kPbx, kHandset));
    EXPECT_FALSE(admit("INVITE", kPbx, kHandset));
    now_ += 1s;
    EXPECT_EQ(passed(10, "INVITE", kPbx, kHandset), 5u);
}

TEST_F(RateLimiterTest, BucketsAreKeyedBySourceTargetAndMethod) {
    EXPECT_EQ(passed(20, "INVITE", kPbx, kHandset), 10u);
    // Another handset, another method, another source: buckets of their own.
    EXPECT_EQ(passed(20, "INVITE", kPbx, kHandset2), 10u);
    EXPECT_EQ(passed(50, "OPTIONS", kPbx, kHandset), 40u);
    EXPECT_EQ(passed(20, "INVITE", "198.51.100.9", kHandset), 10u);
}

TEST_F(RateLimiterTest, ResponsesAreNotLimited) {
    const std::string resp = response(200, "OK", "INVITE", 1, "r1", "t1");
    const net::DecodedPacket& p = jar_.udp(kPbx, 5060, kHandset, 5060, resp);
    const sip::SipMessage& m = jar_.sip(p);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter_->admit(p, m, now_, rec_));
    EXPECT_EQ(rec_.count(EventType::rate_limited), 0u);
}

TEST_F(RateLimiterTest, TheSiteCeilingBoundsAFloodSpreadOverEveryHandset) {
    // 30 handsets, a burst of 10 each: 300 asked, the INVITE ceiling's burst is 200.
    unsigned ok = 0;
    for (unsigned h = 0; h < 30; ++h) ok += passed(10, "INVITE", kPbx, handset_n(100 + h));
    EXPECT_EQ(ok, 20u * 10u);
    EXPECT_EQ(rec_.count(EventType::rate_limited), 100u);
    EXPECT_EQ(rec_.last(EventType::rate_limited)->rule, "site:INVITE");
    // A handset that sent nothing yet meets the ceiling too...
    EXPECT_FALSE(admit("INVITE", kPbx, kHandset));
    // ...which refills at 20 x 5/s: one token every 10 ms.
    now_ += 10ms;
    EXPECT_TRUE(admit("INVITE", kPbx, kHandset));
    EXPECT_FALSE(admit("INVITE", kPbx, kHandset2));
    // The ceiling is per method: OPTIONS still pass.
    EXPECT_TRUE(admit("OPTIONS", kPbx, kHandset2));
}

TEST_F(RateLimiterTest, ARequestTheCeilingRefusedDoesNotUseItsKeysToken) {
    for (unsigned h = 0; h < 20; ++h) ASSERT_EQ(passed(10, "INVITE", kPbx, handset_n(100 + h)), 10u);
    // The ceiling is empty: ten refusals for kHandset, none of them its own limit.
    EXPECT_EQ(passed(10, "INVITE", kPbx, kHandset), 0u);
    EXPECT_EQ(rec_.last(EventType::rate_limited)->rule, "site:INVITE");
    // 100 ms later the ceiling has 10 tokens, and kHandset its whole burst.
    now_ += 100ms;
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset), 10u);
}

TEST_F(RateLimiterTest, ThePolicysRatesApply) {
    make(test::site_policy("enforce", "sip:\n  rate_limits:\n    OPTIONS: 2/s burst 3\n"));
    EXPECT_EQ(passed(5, "OPTIONS", kPbx, kHandset), 3u);
    now_ += 500ms;
    EXPECT_EQ(passed(5, "OPTIONS", kPbx, kHandset), 1u);
    // The ceiling: 40/s burst 60 over every handset.
    now_ += 10s;
    unsigned ok = 0;
    for (unsigned h = 0; h < 30; ++h) ok += passed(3, "OPTIONS", kPbx, handset_n(100 + h));
    EXPECT_EQ(ok, 60u);
    // INVITE keeps its default.
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset2), 10u);
}

TEST_F(RateLimiterTest, ResetStartsEveryBucketAfresh) {
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset), 10u);
    limiter_->reset();
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset), 10u);
}

TEST_F(RateLimiterTest, AForgottenKeyComesBackWithAFullBucket) {
    make(test::site_policy(), 16);
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset), 10u);
    // 16 other keys push kHandset's bucket out of the table (least recently used).
    for (unsigned h = 0; h < 16; ++h) ASSERT_TRUE(admit("INVITE", kPbx, handset_n(100 + h)));
    // At the same instant: had it been kept, its bucket would still be empty.
    EXPECT_EQ(passed(12, "INVITE", kPbx, kHandset), 10u);
}

}  // namespace
}  // namespace vg::engine
