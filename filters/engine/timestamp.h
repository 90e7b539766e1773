// SPDX-License-Identifier: GPL-2.0-or-later
// Time as the engine sees it. The engine never reads a clock: the daemon (or the
// replay tool, or a test) passes the current time into every call that needs it.
//
// Two clocks, because a router has two kinds of time:
//  - Timestamp: monotonic time (CLOCK_MONOTONIC in the daemon), nanoseconds.
//    Every duration runs on it: transaction and call timeouts, pinhole idle
//    timers, token buckets, egress expiry, scanner windows. It never jumps.
//  - UnixSeconds: wall-clock time (CLOCK_REALTIME), seconds since the Unix
//    epoch, UTC. Only calendar rules read it (business hours). On a router
//    without a real-time clock it starts near 1970 and jumps by years when
//    the time is first synchronised, and it may step back; durations on it
//    would end every call at that moment or freeze the rate buckets.
// A signed 64-bit nanosecond count covers +-292 years, also on 32-bit MIPS.
#pragma once

#include <chrono>
#include <cstdint>

namespace vg::engine {

using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::time_point<std::chrono::steady_clock, Duration>;

using UnixSeconds = std::int64_t;

// Both clocks at one moment. Replay and the tests have one timeline (a
// capture's record times, a fake clock): Now::at() reads both from it.
struct Now {
    Timestamp mono{};
    UnixSeconds wall = 0;

    static constexpr Now at(Timestamp t) noexcept {
        return {t, std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()};
    }
};

}  // namespace vg::engine
