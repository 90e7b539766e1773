// SPDX-License-Identifier: GPL-2.0-or-later
// What `voipguard report [--since DURATION] [--json]` answers: what
// happened at this site in the window and what needs doing. Rendering only:
// the daemon gathers a ReportView (the history's summary of the window,
// filters/engine/site_history.h, and the handsets of the inventory that need
// attention now) and these functions turn it into the answer.
//
// The text form puts "needs attention" first and fits one terminal screen
// for a small site (lists are cut, with "... N more"). The JSON form has
// stable keys (README "Running a fleet"). Values that come from packets
// (AORs, User-Agents) are escaped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/engine/site_history.h"

namespace vg::daemon {

// A handset of the inventory with something to fix.
struct ReportHandset {
    std::string address;
    std::string aor;
    std::string user_agent;
    bool firmware_outdated = false;
    bool stale = false;
    std::string weak_password;   // the audit's rule, "" when none
    bool registered = false;
};

struct ReportView {
    std::string version;
    std::string site;
    std::int64_t now = 0;         // wall clock, Unix seconds
    std::int64_t uptime_s = 0;
    engine::HistorySummary history;
    std::uint64_t handsets_total = 0;
    std::uint64_t handsets_registered = 0;
    std::vector<ReportHandset> handsets;   // the ones with a finding
    std::uint64_t calls_active = 0;
    // Blind spots: SIP over TLS (no toll-fraud check, no pinholes) and
    // media.static_allowance (media from the PBX passed without a pinhole).
    // Since start: the engine does not count these per hour.
    std::uint64_t tls_flows_since_start = 0;
    bool static_allowance = false;
    std::uint64_t static_allowance_flows_since_start = 0;
    bool kernel_counters_read = false;   // the last kernel read worked
};

std::string render_report(const ReportView& v, bool json);

// "1h", "24h", "7d", "90m", "3600s" or "3600" (seconds) -> seconds, between
// 1 minute and 7 days; nullopt with `error` set otherwise.
std::optional<std::int64_t> parse_report_window(std::string_view text, std::string& error);

}  // namespace vg::daemon
