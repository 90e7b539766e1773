// SPDX-License-Identifier: GPL-2.0-or-later
// The loop's real-time guard (daemon/loop_priority.h): real-time while the
// loop uses less than its budget of one CPU, the fair scheduler while it
// uses more, real-time again after the cool-down. Times are injected.
#include "daemon/loop_priority.h"

#include <gtest/gtest.h>

#include <sched.h>

#include <thread>

namespace vg::daemon {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
using Action = LoopPriorityGuard::Action;

TEST(LoopPriorityGuard, StaysRealTimeWhileTheLoopIsLight) {
    LoopPriorityGuard g(50, 10 * kSecond);
    EXPECT_EQ(g.observe(0, 0), Action::none);   // baseline
    std::int64_t cpu = 0;
    for (int s = 1; s <= 30; ++s) {
        cpu += kSecond / 20;   // 5 % of a CPU
        EXPECT_EQ(g.observe(s * kSecond, cpu), Action::none);
    }
    EXPECT_TRUE(g.realtime());
    EXPECT_EQ(g.last_percent(), 5u);
    EXPECT_EQ(g.demotions(), 0u);
}

TEST(LoopPriorityGuard, AFloodPutsTheLoopOnTheFairSchedulerUntilItCalmsDown) {
    LoopPriorityGuard g(50, 10 * kSecond);
    g.observe(0, 0);
    // 70 % of a CPU for a second: demoted at once.
    EXPECT_EQ(g.observe(kSecond, kSecond * 7 / 10), Action::demote);
    EXPECT_FALSE(g.realtime());
    EXPECT_EQ(g.last_percent(), 70u);
    EXPECT_EQ(g.demotions(), 1u);
    // Still busy: stays fair, and a busy second restarts the cool-down.
    std::int64_t cpu = kSecond * 7 / 10;
    std::int64_t t = kSecond;
    for (int i = 0; i < 5; ++i) {
        t += kSecond;
        cpu += kSecond * 9 / 10;
        EXPECT_EQ(g.observe(t, cpu), Action::none);
    }
    // Calm: 9 s below the budget is not enough ...
    for (int i = 0; i < 9; ++i) {
        t += kSecond;
        cpu += kSecond / 100;
        EXPECT_EQ(g.observe(t, cpu), Action::none) << i;
    }
    t += kSecond / 2;
    cpu += kSecond / 200;
    EXPECT_EQ(g.observe(t, cpu), Action::none);
    // ... 10 s is.
    t += kSecond / 2;
    cpu += kSecond / 200;
    EXPECT_EQ(g.observe(t, cpu), Action::promote);
    EXPECT_TRUE(g.realtime());
    // A second flood: demoted again, counted.
    t += kSecond;
    cpu += kSecond;
    EXPECT_EQ(g.observe(t, cpu), Action::demote);
    EXPECT_EQ(g.demotions(), 2u);
}

TEST(LoopPriorityGuard, ExactlyTheBudgetIsOverIt) {
    LoopPriorityGuard g(50, kSecond);
    g.observe(0, 0);
    EXPECT_EQ(g.observe(kSecond, kSecond / 2 - 1), Action::none);
    EXPECT_EQ(g.observe(2 * kSecond, kSecond / 2 - 1 + kSecond / 2), Action::demote);
}

TEST(LoopPriorityGuard, ClockOddities) {
    LoopPriorityGuard g(50, kSecond);
    g.observe(5 * kSecond, 100);
    // The same instant, or time going back: nothing measured.
    EXPECT_EQ(g.observe(5 * kSecond, 10 * kSecond), Action::none);
    EXPECT_EQ(g.observe(4 * kSecond, 10 * kSecond), Action::none);
    EXPECT_TRUE(g.realtime());
    // CPU time going back (never, but): counted as none used.
    EXPECT_EQ(g.observe(6 * kSecond, 0), Action::none);
    EXPECT_EQ(g.last_percent(), 0u);
    // Budgets outside 1..100 are clamped: 0 -> 1 %, so 2 % is over it.
    LoopPriorityGuard tight(0, kSecond);
    tight.observe(0, 0);
    EXPECT_EQ(tight.observe(kSecond, kSecond / 50), Action::demote);
}

TEST(LoopPriorityGuard, NotRealTimeIsPromotedAfterTheCoolDown) {
    LoopPriorityGuard g(50, kSecond);
    g.set_realtime(false);
    g.observe(0, 0);
    // Light load while not real-time is a promotion after the cool-down:
    // the daemon only calls observe() when --realtime is on and worked.
    EXPECT_EQ(g.observe(kSecond / 2, 0), Action::none);
    EXPECT_EQ(g.observe(kSecond, 0), Action::promote);
}

// The system side on this machine: the calls work for root (CAP_SYS_NICE)
// and leave the thread as it was.
TEST(LoopPriority, SwitchesTheCallingThreadWhenAllowed) {
    const int before = sched_getscheduler(0);
    const std::string rt = make_realtime(3);
    if (!rt.empty()) GTEST_SKIP() << "cannot set SCHED_RR here (" << rt << "): not root or no CAP_SYS_NICE";
    EXPECT_EQ(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_RR);
    EXPECT_NE(sched_getscheduler(0) & SCHED_RESET_ON_FORK, 0);
    // A thread started now (a worker) runs on the fair scheduler.
    int worker_policy = -1;
    std::thread([&] { worker_policy = sched_getscheduler(0); }).join();
    EXPECT_EQ(worker_policy, SCHED_OTHER);
    sched_param sp{};
    ASSERT_EQ(sched_getparam(0, &sp), 0);
    EXPECT_EQ(sp.sched_priority, 3);
    EXPECT_EQ(make_fair(), "");
    EXPECT_EQ(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_OTHER);
    EXPECT_GT(thread_cpu_ns(), 0);
    sched_param none{};
    (void)sched_setscheduler(0, before, &none);
}

}  // namespace
}  // namespace vg::daemon
