// SPDX-License-Identifier: GPL-2.0-or-later
// The packet loop's CPU priority: real-time while its work is light, fair
// when it is heavy.
//
// A packet waits for its verdict while the loop waits for a CPU. At a nice
// value alone the kernel's fair scheduler still lets a busy router's other
// work run for milliseconds before the woken loop gets the CPU (measured
// here: a 1 ms timer at nice -10 woke up to 15-20 ms late under a load of
// 10, against 1.5-3.4 ms under SCHED_RR). So the loop runs SCHED_RR at a
// low real-time priority (`--realtime PRIO`, default 5: below the kernel's
// interrupt threads, at 50), with SCHED_RESET_ON_FORK so that the workers,
// the alert runner and every program they start run at normal priority.
//
// A real-time thread that does not sleep starves the rest of the router
// (the kernel's real-time throttling still leaves it 5 % of each CPU). The
// loop sleeps whenever the queue is empty; what could keep it busy is a
// flood it must judge (a hijacked handset sending new flows at full rate).
// The guard below watches the loop's own CPU time: above `budget` percent
// of one CPU over a second, the loop goes back to the fair scheduler (at
// its nice value); after `cool_down` below the budget it is real-time
// again. Each change is logged (VG_LOOP_PRIORITY). The policy is pure
// (times passed in) so that it is tested without a scheduler.
#pragma once

#include <cstdint>
#include <string>

namespace vg::daemon {

class LoopPriorityGuard {
public:
    enum class Action { none, demote, promote };

    // `budget_percent` of one CPU, 1..100; `cool_down_ns` below it before
    // going real-time again.
    LoopPriorityGuard(unsigned budget_percent, std::int64_t cool_down_ns) noexcept;

    // The loop's thread CPU time and the monotonic time, both in ns, at
    // least about once a second. Returns what to do; `realtime()` already
    // says the state after it. The first call only takes the baseline.
    Action observe(std::int64_t mono_ns, std::int64_t cpu_ns) noexcept;

    bool realtime() const noexcept { return realtime_; }
    // The loop's CPU over the last measured interval, percent of one CPU.
    unsigned last_percent() const noexcept { return last_percent_; }
    std::uint64_t demotions() const noexcept { return demotions_; }
    // Forces the state (the real-time switch failed, or is off).
    void set_realtime(bool on) noexcept { realtime_ = on; }

private:
    unsigned budget_percent_;
    std::int64_t cool_down_ns_;
    bool started_ = false;
    bool realtime_ = true;
    std::int64_t last_mono_ = 0;
    std::int64_t last_cpu_ = 0;
    std::int64_t below_since_ = -1;   // mono ns since which the loop is under the budget (demoted)
    unsigned last_percent_ = 0;
    std::uint64_t demotions_ = 0;
};

// The system side, for the calling thread. Each returns "" on success, else
// the error. make_realtime: SCHED_RR at `priority` with SCHED_RESET_ON_FORK;
// make_fair: SCHED_OTHER, the nice value kept. allow_realtime_later: raises
// RLIMIT_RTPRIO to `priority` so that the thread can go real-time again
// after the daemon gave up CAP_SYS_NICE (call before dropping privileges).
std::string make_realtime(int priority);
std::string make_fair();
std::string allow_realtime_later(int priority);
// The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID).
std::int64_t thread_cpu_ns() noexcept;

}  // namespace vg::daemon
