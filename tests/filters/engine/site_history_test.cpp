// SPDX-License-Identifier: GPL-2.0-or-later
// The report's hourly ring (filters/engine/site_history.h) with injected
// wall-clock times: windows in whole hours, slots reused after 7 days, a
// clock that jumps, bounded top tables, kernel counter deltas and resets,
// the findings ring.
#include "filters/engine/site_history.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace vg::engine {
namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kT0 = 1700000000 / kHour * kHour;   // the start of an hour

Event event(EventType t) {
    Event e;
    e.type = t;
    return e;
}

Event scanner(const char* source) {
    Event e = event(EventType::scanner);
    e.source = *net::IpAddress::parse(source);
    return e;
}

Event blocked(EventType t, const char* rule, const char* group = "") {
    Event e = event(t);
    e.rule.assign(rule);
    e.group.assign(group);
    return e;
}

class SiteHistoryTest : public testing::Test {
protected:
    // 170 KiB: on the heap, as the daemon keeps it.
    std::unique_ptr<SiteHistory> h_ = std::make_unique<SiteHistory>();
};

TEST_F(SiteHistoryTest, AWindowCoversTheHoursThatOverlapIt) {
    h_->note(event(EventType::call_started), kT0 - 3 * kHour + 10);   // 3 hours ago
    h_->note(event(EventType::call_started), kT0 - kHour + 10);       // the hour before
    h_->note(event(EventType::call_started), kT0 + 10);               // this hour
    const std::int64_t now = kT0 + 1800;
    // 1h: from 30 min into the hour before -> that hour and this one.
    HistorySummary s = h_->summarize(now, kHour);
    EXPECT_EQ(s.event(EventType::call_started), 2u);
    EXPECT_EQ(s.from, kT0 - kHour);
    EXPECT_EQ(s.to, now);
    EXPECT_EQ(s.hours_with_data, 2u);
    // 30 min: this hour only.
    EXPECT_EQ(h_->summarize(now, 1800).event(EventType::call_started), 1u);
    // 24 h: all three.
    s = h_->summarize(now, 24 * kHour);
    EXPECT_EQ(s.event(EventType::call_started), 3u);
    EXPECT_EQ(s.since_s, 24 * kHour);
}

TEST_F(SiteHistoryTest, ASlotIsReusedAfterSevenDaysAndStartsEmpty) {
    h_->note(event(EventType::scanner), kT0 + 5);
    h_->note_reload(true, kT0 + 6);
    EXPECT_EQ(h_->hours_kept(), 1u);
    // A week later the same slot: the old hour is gone.
    const std::int64_t week = SiteHistory::kMaxWindow;
    h_->note(event(EventType::call_started), kT0 + week + 5);
    const HistorySummary s = h_->summarize(kT0 + week + 100, week);
    EXPECT_EQ(s.event(EventType::scanner), 0u);
    EXPECT_EQ(s.reloads_ok, 0u);
    EXPECT_EQ(s.event(EventType::call_started), 1u);
    EXPECT_EQ(h_->hours_kept(), 1u);
    // The week before is still there for a window that reaches it... it is
    // not: the slot was reused. 7 days is all the ring keeps.
    EXPECT_EQ(h_->summarize(kT0 + 100, week).event(EventType::scanner), 0u);
}

TEST_F(SiteHistoryTest, TheWindowIsAtMostSevenDaysAndAtLeastASecond) {
    for (int d = 9; d >= 0; --d) h_->note(event(EventType::call_started), kT0 - d * 24 * kHour);
    const HistorySummary all = h_->summarize(kT0 + 10, 30 * 24 * kHour);
    EXPECT_EQ(all.since_s, SiteHistory::kMaxWindow);
    // 168 hours, this one included: today and the 6 days before.
    EXPECT_EQ(all.event(EventType::call_started), 7u);
    EXPECT_EQ(all.from, kT0 - 167 * kHour);
    EXPECT_EQ(h_->summarize(kT0 + 10, 0).since_s, 1);
}

TEST_F(SiteHistoryTest, AClockThatJumpsBackLeavesTheOtherTimeOutOfTheWindow) {
    // Booted without a real-time clock: 1970, then NTP sets the time.
    h_->note(event(EventType::scanner), 100);
    h_->note(event(EventType::call_started), kT0 + 10);
    const HistorySummary s = h_->summarize(kT0 + 20, SiteHistory::kMaxWindow);
    EXPECT_EQ(s.event(EventType::scanner), 0u);
    EXPECT_EQ(s.event(EventType::call_started), 1u);
    // A negative time counts in hour 0, never crashes.
    h_->note(event(EventType::scanner), -5000);
    EXPECT_EQ(h_->summarize(10, kHour).event(EventType::scanner), 2u);
}

TEST_F(SiteHistoryTest, BlockedCallsAreCountedByReasonAndGroup) {
    h_->note(blocked(EventType::toll_fraud, "deny_prefix:+882"), kT0 + 1);
    h_->note(blocked(EventType::toll_fraud, "deny_prefix:+882"), kT0 + 2);
    h_->note(blocked(EventType::call_limit, "limit:per_handset_concurrent_calls"), kT0 + 3);
    h_->note(blocked(EventType::fraud_threshold_critical, "profile:premium", "premium"), kT0 + 4);
    Event monitored = blocked(EventType::toll_fraud, "deny_prefix:+44");
    monitored.monitor = true;   // mode: monitor: counted as an event, not as a blocked call
    h_->note(monitored, kT0 + 5);
    const HistorySummary s = h_->summarize(kT0 + 100, kHour);
    EXPECT_EQ(s.blocked_calls(), 4u);
    EXPECT_EQ(s.blocked_by(EventType::toll_fraud), 2u);
    EXPECT_EQ(s.event(EventType::toll_fraud), 3u);   // the monitored one is an event
    ASSERT_EQ(s.blocked_reason.size(), 3u);
    EXPECT_EQ(s.blocked_reason[0], (std::pair<std::string, std::uint64_t>{"deny_prefix:+882", 2}));
    ASSERT_EQ(s.blocked_group.size(), 2u);
    EXPECT_EQ(s.blocked_group[0], (std::pair<std::string, std::uint64_t>{"-", 3}));
    EXPECT_EQ(s.blocked_group[1], (std::pair<std::string, std::uint64_t>{"premium", 1}));
}

TEST_F(SiteHistoryTest, ABlockedCallbackIsABlockedTollFraudCall) {
    h_->note(blocked(EventType::callback_blocked, "callback:+882"), kT0 + 1);
    h_->note(blocked(EventType::callback_warning, "callback:+882"), kT0 + 2);   // warn mode: not blocked
    const HistorySummary s = h_->summarize(kT0 + 100, kHour);
    EXPECT_EQ(s.blocked_calls(), 1u);
    EXPECT_EQ(s.blocked_by(EventType::toll_fraud), 1u);
    ASSERT_EQ(s.blocked_reason.size(), 1u);
    EXPECT_EQ(s.blocked_reason[0], (std::pair<std::string, std::uint64_t>{"callback:+882", 1}));
}

TEST_F(SiteHistoryTest, ABlockedCallIsCountedOncePerCallId) {
    // An INVITE and its retransmissions, each blocked: one call, four events.
    Event e = blocked(EventType::toll_fraud, "deny_prefix:+882");
    e.call_id.assign("a84b4c76e66710@192.168.20.10");
    for (int i = 0; i < 4; ++i) h_->note(e, kT0 + i);
    Event other = e;
    other.call_id.assign("second-call");
    h_->note(other, kT0 + 10);
    const HistorySummary s = h_->summarize(kT0 + 100, kHour);
    EXPECT_EQ(s.blocked_calls(), 2u);
    EXPECT_EQ(s.event(EventType::toll_fraud), 5u);
    ASSERT_EQ(s.blocked_reason.size(), 1u);
    EXPECT_EQ(s.blocked_reason[0].second, 2u);
}

TEST_F(SiteHistoryTest, TopScannersAreBoundedAndSumAcrossHours) {
    for (int i = 0; i < 5; ++i) h_->note(scanner("203.0.113.9"), kT0 - kHour + i);
    for (int i = 0; i < 6; ++i) h_->note(scanner("203.0.113.9"), kT0 + i);
    for (int i = 0; i < 5; ++i) h_->note(scanner("198.51.100.7"), kT0 + i);
    // Twenty one-off sources in this hour: the table holds 8.
    for (int i = 0; i < 20; ++i) h_->note(scanner(("192.0.2." + std::to_string(i + 1)).c_str()), kT0 + 100 + i);
    const HistorySummary s = h_->summarize(kT0 + 1000, 2 * kHour, 5);
    ASSERT_EQ(s.scanners.size(), 5u);
    EXPECT_EQ(s.scanners[0].first.to_string(), "203.0.113.9");
    EXPECT_EQ(s.scanners[0].second, 11u);
    EXPECT_EQ(s.event(EventType::scanner), 36u);
    EXPECT_LE(s.scanner_sources, 2u * HourBucket::kTop);
    // A full table's counts are upper bounds, and a source with more than
    // 1/8 of an hour's detections is never lost.
    bool second = false;
    for (const auto& [addr, n] : s.scanners) second = second || (addr.to_string() == "198.51.100.7" && n >= 5);
    EXPECT_TRUE(second);
}

TEST_F(SiteHistoryTest, TopCountsKeepTheLargestWhenFull) {
    TopCounts<int, 3> t;
    t.add(1, 10);
    t.add(2, 5);
    t.add(3, 1);
    t.add(4);   // replaces 3 (the smallest), starting from its count
    EXPECT_EQ(t.size, 3);
    bool has1 = false, has4 = false, has3 = false;
    for (std::size_t i = 0; i < t.size; ++i) {
        has1 = has1 || (t.keys[i] == 1 && t.counts[i] == 10);
        has4 = has4 || (t.keys[i] == 4 && t.counts[i] == 2);
        has3 = has3 || t.keys[i] == 3;
    }
    EXPECT_TRUE(has1);
    EXPECT_TRUE(has4);
    EXPECT_FALSE(has3);
    t.add(1, UINT32_MAX);   // saturates
    for (std::size_t i = 0; i < t.size; ++i) {
        if (t.keys[i] == 1) {
            EXPECT_EQ(t.counts[i], UINT32_MAX);
        }
    }
}

TEST_F(SiteHistoryTest, KernelCountersAddTheirGrowthToTheHourAndSurviveAReset) {
    KernelDropTotals k;
    k.inbound = 100;
    k.queue = 2;
    h_->note_kernel(k, kT0 - kHour + 10);   // first read: all of it (the rules are new)
    k.inbound = 160;
    h_->note_kernel(k, kT0 + 10);           // +60 this hour
    k.inbound = 20;                          // rules reinstalled: the counter restarted
    h_->note_kernel(k, kT0 + 20);            // +20
    EXPECT_EQ(h_->summarize(kT0 + 1900, 1800).drops.inbound, 80u);
    const HistorySummary s = h_->summarize(kT0 + 30, 2 * kHour);
    EXPECT_EQ(s.drops.inbound, 180u);
    EXPECT_EQ(s.drops.queue, 2u);
}

TEST_F(SiteHistoryTest, HandsetFindingsNameTheHandsetNewestFirstAndAreBounded) {
    Event ua = event(EventType::handset_user_agent_changed);
    ua.handset = *net::IpAddress::parse("192.168.20.11");
    ua.user_agent.assign("friendly-scanner");
    h_->note(ua, kT0 + 1);
    Event second = event(EventType::aor_second_address);
    second.handset = *net::IpAddress::parse("192.168.20.12");
    second.rule.assign("also_at:192.168.20.40");
    h_->note(second, kT0 + 2);
    h_->note(event(EventType::call_started), kT0 + 3);   // not a finding
    HistorySummary s = h_->summarize(kT0 + 10, kHour);
    ASSERT_EQ(s.findings.size(), 2u);
    EXPECT_EQ(s.findings[0].type, EventType::aor_second_address);
    EXPECT_EQ(s.findings[0].detail.view(), "also_at:192.168.20.40");
    EXPECT_EQ(s.findings[1].handset.to_string(), "192.168.20.11");
    EXPECT_EQ(s.findings[1].detail.view(), "friendly-scanner");
    // Findings are filtered by the exact window.
    EXPECT_EQ(h_->summarize(kT0 + 10, 8).findings.size(), 1u);
    // The ring keeps the newest 32.
    for (int i = 0; i < 100; ++i) h_->note(ua, kT0 + 100 + i);
    s = h_->summarize(kT0 + 1000, kHour);
    EXPECT_EQ(s.findings.size(), SiteHistory::kFindings);
    EXPECT_EQ(s.findings[0].wall, kT0 + 199);
}

TEST_F(SiteHistoryTest, ReloadsAndTlsHoursAreCounted) {
    h_->note_reload(true, kT0 + 1);
    h_->note_reload(false, kT0 + 2);
    h_->note(event(EventType::tls_uninspected), kT0 - 2 * kHour);
    h_->note(event(EventType::tls_uninspected), kT0 + 5);
    h_->note(event(EventType::tls_uninspected), kT0 + 6);
    const HistorySummary s = h_->summarize(kT0 + 10, 3 * kHour);
    EXPECT_EQ(s.reloads_ok, 1u);
    EXPECT_EQ(s.reloads_failed, 1u);
    EXPECT_EQ(s.event(EventType::tls_uninspected), 3u);
    EXPECT_EQ(s.hours_with_tls, 2u);
}

}  // namespace
}  // namespace vg::engine
