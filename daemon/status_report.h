// SPDX-License-Identifier: GPL-2.0-or-later
// What `voipguard status|calls|handsets [--json]` answer (and the figures
// `voipguard metrics` renders, daemon/metrics.h): text for a
// terminal, JSON for tools. Rendering only: the daemon gathers the figures
// (the kernel counters are read off the loop, see daemon.cpp) into a
// StatusView and these functions turn them into the answer. Values that come
// from packets (Call-IDs, numbers, AORs, User-Agents) are escaped.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "daemon/kernel/backend.h"
#include "daemon/log_format.h"
#include "daemon/netlink/nfqueue.h"
#include "filters/engine/engine.h"

namespace vg::daemon {

// How long the daemon's loop spent in one piece of work at a time: while it
// does one, the packets in the queue wait for their verdicts. Measured around
// each handler the loop runs (the names are fixed: queue, nflog,
// kernel_results - which applies a reloaded policy -, dns_results, timer,
// signal, control, effects).
struct LoopStats {
    std::uint64_t steps = 0;
    std::uint64_t steps_over_1ms = 0;
    std::uint64_t steps_over_5ms = 0;
    std::uint64_t longest_us = 0;
    const char* longest_in = "";
    std::int64_t longest_at_ms = 0;   // when it ended, wall clock, ms since the Unix epoch
    int realtime_priority = 0;        // SCHED_RR priority now (0: the fair scheduler; --realtime)
    unsigned cpu_percent = 0;         // the loop's CPU in the last second, percent of one CPU
    std::uint64_t realtime_demotions = 0;   // times it went back to the fair scheduler (over half a CPU)

    void note(const char* what, std::uint64_t us, std::int64_t wall_ms) noexcept {
        ++steps;
        if (us > 1000) ++steps_over_1ms;
        if (us > 5000) ++steps_over_5ms;
        if (us > longest_us) {
            longest_us = us;
            longest_in = what;
            longest_at_ms = wall_ms;
        }
    }
};

// Alerts since the daemon started (alerts.command), across reloads that
// replace the program.
struct AlertTotals {
    std::uint64_t started = 0;        // programs started
    std::uint64_t failed = 0;         // exit status not 0, killed at the timeout, or not started
    std::uint64_t rate_limited = 0;   // over alerts.rate: not sent
    std::uint64_t queue_full = 0;     // max_running + max_queued reached: not sent
};

struct StatusView {
    const char* version = "";
    std::string policy_path;
    const config::Policy* policy = nullptr;
    const engine::Engine* engine = nullptr;
    std::string backend;
    std::string backend_reason;
    std::vector<std::string> voice_interfaces;
    std::int64_t uptime_s = 0;
    std::uint16_t queue = 0;
    netlink::NfQueueStats queue_stats;
    std::optional<netlink::KernelQueueStats> kernel_queue;   // /proc/net/netfilter/nfnetlink_queue
    kernel::Counters counters;                               // .ok false: not read
    std::uint64_t kernel_samples = 0;
    std::uint64_t conntrack_deleted = 0;
    std::uint64_t reloads_ok = 0;
    std::uint64_t reloads_failed = 0;
    std::uint64_t log_lines_lost = 0;
    AlertTotals alerts;
    LoopStats loop;
    // The interface audit (`voipguard audit`) running now, and since how
    // many seconds (it is bounded to 60 s).
    bool audit_running = false;
    std::int64_t audit_running_s = 0;
    // Engine events by type, counted before the log level and the
    // aggregation thin them out (metrics).
    std::array<std::uint64_t, engine::kEventTypeCount> events{};
    engine::Now now{};   // when the view was taken (handsets: registered or not)
};

std::string render_status(const StatusView& v, bool json);
// A threshold of a call's destination profile at 80 % of one of its levels
// or above: the running call's duration against max_call_duration, the
// counters it counts against (fraud_profiles.h, current()) against the
// per_handset and per_site levels. The critical level when it is that
// close, else the warning level.
struct NearLevel {
    std::string threshold;   // "max_call_duration", "per_handset.calls_per_day", "per_site.concurrent_calls"
    std::string level;       // "critical" | "warning"
    std::uint64_t value = 0; // seconds for max_call_duration
    std::uint32_t limit = 0;
};
std::vector<NearLevel> near_levels(const engine::Engine& engine, const engine::Dialog& d,
                                   const engine::CompiledProfile& prof);

// Each running call: its direction, number, state, destination profile,
// duration and the profile's levels it is near (near_levels).
// Numbers (calls) and AORs (handsets) are masked with `numbers`
// (logging.mask_numbers), as in the log.
std::string render_calls(const engine::Engine& engine, bool json, const NumberMask& numbers);
// Times are shown as wall-clock seconds since the Unix epoch, as of `now`.
std::string render_handsets(const engine::Engine& engine, const engine::Now& now, bool json,
                            const NumberMask& numbers);

}  // namespace vg::daemon
