// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard run`: the engine as a router daemon. One epoll loop over the
// queue socket, the NFLOG socket, the control socket and its clients, a
// signalfd (SIGTERM/SIGINT stop, SIGHUP reloads), a 1-second timerfd (engine
// timeouts, log aggregation windows, stats, DNS refresh) and two workers'
// eventfds. The loop never waits for slow work: DNS lookups (policy loads,
// refreshes) run on one worker thread, the rule backend's forked tools
// (installs, counters) and conntrack table dumps on another (worker.h,
// policy_lifecycle.h); their results are applied on the loop between two
// drains. What the engine hands out while it decides (events for the log,
// conntrack entries to delete) is carried out after the drain's verdicts.
// Nothing busy-waits: with no traffic the daemon sleeps in epoll_wait.
//
// Start-up: load and validate the policy (exit 2 with the `check` messages,
// nothing installed), open the log, probe the kernel and choose the rule
// backend (logged with the reason), install the rules (replacing a crashed
// instance's), bind the queue, drop privileges, run. SIGTERM exits 0,
// leaving in the kernel what the policy's on_failure says: open removes
// every rule and set, closed leaves them as a barrier (README "While
// voipguard is not running"); a start that fails after the policy loaded
// does the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/kernel/rule_spec.h"

namespace vg::daemon {

struct RunOptions {
    std::string policy_path;
    std::uint16_t queue = 0;
    std::string backend = "auto";              // auto | nftables | iptables
    std::string control_path;                  // empty: control::kDefaultSocketPath
    bool log_stderr = false;
    std::string user;                          // run as this user after set-up
    // The mark signature (--mark VALUE/MASK): verified flows carry
    // verified_mark under mark_mask in their conntrack mark; reset_mark (the
    // complement under the mask) asks our rule for a TCP reset.
    std::uint32_t mark_mask = kernel::kDefaultMarkMask;
    std::uint32_t verified_mark = kernel::kDefaultVerifiedMark;
    std::uint32_t reset_mark = kernel::reset_mark_for(kernel::kDefaultVerifiedMark, kernel::kDefaultMarkMask);
    std::uint16_t nflog_group = 5060;
    std::string name = "voipguard";            // table / chain / set prefix
    unsigned stats_interval = 300;             // seconds between VG_STATS lines
    // Capacity of the engine's dialog table (--max-dialogs; 0: the engine's
    // default, EngineLimits::max_dialogs). Tests make it small to fill it.
    std::size_t max_dialogs = 0;
    // Nice value of the loop that gives the verdicts (--nice); the workers
    // run 19 above it (at most 19), and the tools they start with them.
    int nice = -10;
    // SCHED_RR priority of the loop (--realtime; 0: off), dropped to the
    // fair scheduler while the loop uses more than half a CPU
    // (daemon/loop_priority.h).
    int realtime = 5;
    unsigned realtime_budget = 50;   // percent of one CPU (--realtime-budget)
    // The saved state (--state FILE; empty: none): the handset inventory and
    // the toll-fraud counters (filters/engine/state_file.h), restored at
    // start, written every state_interval seconds and at a clean stop.
    std::string state_path;
    unsigned state_interval = 60;
};

// Runs the daemon until SIGTERM/SIGINT. Returns the process exit code:
// 0 after a clean stop, 1 on a runtime failure, 2 on a bad policy.
int run_daemon(const RunOptions& options);

}  // namespace vg::daemon
