// SPDX-License-Identifier: GPL-2.0-or-later
// Time as the engine sees it. The engine never reads a clock: the daemon (or the
// replay tool, or a test) passes the current time into every call that needs it.
//
// Timestamp is a steady_clock time point with a nanosecond duration, so the
// daemon can pass std::chrono::steady_clock::now() unchanged (on Linux its
// duration is nanoseconds), and a test can write `Timestamp{} + 5s`.
// A signed 64-bit nanosecond count covers +-292 years, also on 32-bit MIPS.
#pragma once

#include <chrono>
#include <cstdint>

namespace vg::engine {

using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Wall-clock time for calendar rules (schedules): seconds since the Unix
// epoch, UTC, as from clock_gettime(CLOCK_REALTIME) or a pcap record header.
using UnixSeconds = std::int64_t;

}  // namespace vg::engine
