// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/loop_priority.h"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace vg::daemon {

LoopPriorityGuard::LoopPriorityGuard(unsigned budget_percent, std::int64_t cool_down_ns) noexcept
    : budget_percent_(budget_percent < 1 ? 1 : (budget_percent > 100 ? 100 : budget_percent)),
      cool_down_ns_(cool_down_ns < 0 ? 0 : cool_down_ns) {}

LoopPriorityGuard::Action LoopPriorityGuard::observe(std::int64_t mono_ns, std::int64_t cpu_ns) noexcept {
    if (!started_) {
        started_ = true;
        last_mono_ = mono_ns;
        last_cpu_ = cpu_ns;
        return Action::none;
    }
    const std::int64_t wall = mono_ns - last_mono_;
    if (wall <= 0) return Action::none;
    const std::int64_t used = cpu_ns > last_cpu_ ? cpu_ns - last_cpu_ : 0;
    last_mono_ = mono_ns;
    last_cpu_ = cpu_ns;
    const std::int64_t percent = used * 100 / wall;
    last_percent_ = static_cast<unsigned>(percent > 100 ? 100 : percent);
    const bool over = percent >= static_cast<std::int64_t>(budget_percent_);
    if (realtime_) {
        if (!over) return Action::none;
        realtime_ = false;
        ++demotions_;
        below_since_ = -1;
        return Action::demote;
    }
    if (over) {
        below_since_ = -1;
        return Action::none;
    }
    if (below_since_ < 0) below_since_ = mono_ns - wall;
    if (mono_ns - below_since_ < cool_down_ns_) return Action::none;
    realtime_ = true;
    below_since_ = -1;
    return Action::promote;
}

std::string make_realtime(int priority) {
    sched_param sp{};
    sp.sched_priority = priority;
    if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) != 0) return std::strerror(errno);
    return {};
}

std::string make_fair() {
    sched_param sp{};
    sp.sched_priority = 0;
    if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp) != 0) return std::strerror(errno);
    return {};
}

std::string allow_realtime_later(int priority) {
    rlimit r{};
    if (getrlimit(RLIMIT_RTPRIO, &r) != 0) return std::strerror(errno);
    const auto want = static_cast<rlim_t>(priority);
    if (r.rlim_cur >= want && r.rlim_max >= want) return {};
    r.rlim_cur = want;
    if (r.rlim_max < want) r.rlim_max = want;
    if (setrlimit(RLIMIT_RTPRIO, &r) != 0) return std::strerror(errno);
    return {};
}

std::int64_t thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace vg::daemon
