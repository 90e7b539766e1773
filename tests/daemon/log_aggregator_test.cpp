// SPDX-License-Identifier: GPL-2.0-or-later
// Repeat suppression (daemon/log_aggregator.cpp) on a fake clock: Timestamp
// values, no sleeping.
#include "daemon/log_aggregator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace vg::daemon {
namespace {

using engine::Timestamp;
using namespace std::chrono_literals;

const Timestamp t0 = Timestamp{} + 1000s;

TEST(LogAggregator, FirstEvent_IsAdmittedRepeatsAreCounted) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    for (int i = 0; i < 4123; ++i) EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, t0 + 1s));
    EXPECT_TRUE(a.admit("VG_X", " src=2", Severity::info, t0 + 2s));   // another key
    EXPECT_TRUE(a.admit("VG_Y", " src=1", Severity::info, t0 + 2s));   // another ID
    EXPECT_TRUE(a.flush(t0 + 59s).empty());                              // window not over yet
    const auto s = a.flush(t0 + 60s);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].id, "VG_X");
    EXPECT_EQ(s[0].key_fields, " src=1");
    EXPECT_EQ(s[0].suppressed, 4123u);
    EXPECT_EQ(s[0].elapsed, 60s);
    EXPECT_FALSE(s[0].overflow);
    EXPECT_EQ(format_summary(s[0], "acme"), "VG_X site=acme src=1 (suppressed 4123 more in 60 s)");
}

TEST(LogAggregator, SustainedFlood_GivesOneSummaryPerWindow) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    Timestamp now = t0;
    for (int window = 0; window < 3; ++window) {
        for (int i = 0; i < 100; ++i) EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, now + 1s));
        now += 60s;
        const auto s = a.flush(now);
        ASSERT_EQ(s.size(), 1u);
        EXPECT_EQ(s[0].suppressed, 100u);
    }
    // A quiet window ends silently and forgets the key; its next event is logged at once.
    EXPECT_TRUE(a.flush(now + 60s).empty());
    EXPECT_EQ(a.tracked_keys(), 0u);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, now + 61s));
}

TEST(LogAggregator, SingleEvent_EndsWithoutSummary) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
    EXPECT_TRUE(a.flush(t0 + 60s).empty());
    EXPECT_EQ(a.tracked_keys(), 0u);
}

TEST(LogAggregator, KeysBeyondTheBound_GoToOtherBucketPerId) {
    Aggregator a(60s, 4);
    int admitted = 0;
    for (int i = 0; i < 10; ++i) admitted += a.admit("VG_X", " src=" + std::to_string(i), Severity::info, t0);
    for (int i = 0; i < 3; ++i) admitted += a.admit("VG_Y", " src=" + std::to_string(i), Severity::warning, t0);
    EXPECT_EQ(admitted, 4);
    EXPECT_EQ(a.tracked_keys(), 4u);
    const auto s = a.flush(t0 + 60s);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_TRUE(s[0].overflow);
    EXPECT_EQ(s[0].id, "VG_X");
    EXPECT_EQ(s[0].suppressed, 6u);
    EXPECT_EQ(s[1].id, "VG_Y");
    EXPECT_EQ(s[1].suppressed, 3u);
    EXPECT_EQ(s[1].severity, Severity::warning);
    EXPECT_EQ(format_summary(s[0], "acme"),
              "VG_X site=acme aggregate=other (suppressed 6 more in 60 s, too many keys to aggregate separately)");
    // The tracked keys had no repeats and are gone: new keys are tracked again.
    EXPECT_EQ(a.tracked_keys(), 0u);
    EXPECT_TRUE(a.admit("VG_X", " src=99", Severity::info, t0 + 61s));
}

TEST(LogAggregator, MillionDistinctKeys_StayBounded) {
    Aggregator a(60s, 1024);
    for (int i = 0; i < 1000000; ++i) (void)a.admit("VG_X", std::to_string(i), Severity::info, t0);
    EXPECT_EQ(a.tracked_keys(), 1024u);
}

TEST(LogAggregator, FlushAll_SummarisesOpenWindows) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, t0 + 1s));
    const auto s = a.flush_all(t0 + 10s);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].suppressed, 1u);
    EXPECT_EQ(a.tracked_keys(), 0u);
}

TEST(LogAggregator, ZeroWindow_AdmitsEverything) {
    Aggregator a(0s);
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
}

TEST(LogAggregator, SetWindow_AppliesToOpenWindows) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, t0 + 1s));
    a.set_window(10s);
    EXPECT_EQ(a.window(), 10s);
    const auto s = a.flush(t0 + 10s);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(format_summary(s[0], "acme"), "VG_X site=acme src=1 (suppressed 1 more in 10 s)");
}

}  // namespace
}  // namespace vg::daemon
