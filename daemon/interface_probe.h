// SPDX-License-Identifier: GPL-2.0-or-later
// The interface audit's probing (interface_audit.h has the plan and the
// report): non-blocking TCP connects from the router to every handset and
// port, paced by audit::Scheduler, one poll() over the probes in flight. The
// kernel picks the source address (the router's own on the handsets'
// network): no bind, no raw sockets, no privilege needed. It runs on a worker
// thread of the daemon (never on the packet loop) and blocks that thread
// until the audit ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "daemon/interface_audit.h"

namespace vg::daemon::audit {

using Clock = std::function<Timestamp()>;

// Probes every target on every port within `limits`; returns one finding per
// target and port. `cancel` (may be null), set from another thread, ends the
// audit within about 100 ms: what did not finish is reported not_probed and
// the report says cancelled. `clock`: the monotonic clock.
Report run_audit(std::vector<Target> targets, const std::vector<std::uint16_t>& ports, const Limits& limits,
                 const std::atomic<bool>* cancel, const Clock& clock);

// CLOCK_MONOTONIC as a Timestamp.
Timestamp monotonic_now();

}  // namespace vg::daemon::audit
