// SPDX-License-Identifier: GPL-2.0-or-later
// The severities and syslog facilities of voipguard's log lines, by name (as
// the policy writes them) and by number (as syslog wants them). Part of the
// logging facade (daemon/logging.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vg::daemon {

// The syslog severities voipguard uses (RFC 5424 §6.2.1 numbers: debug 7,
// info 6, notice 5, warning 4, error 3).
enum class Severity : std::uint8_t { debug, info, notice, warning, error };

std::string_view severity_name(Severity s) noexcept;           // "warning"
std::optional<Severity> parse_severity(std::string_view name) noexcept;
int syslog_priority(Severity s) noexcept;                       // LOG_WARNING == 4
// "daemon", "local0".."local7" -> the facility code as in <syslog.h>
// (LOG_DAEMON == 3 << 3); nullopt for anything else.
std::optional<int> parse_facility(std::string_view name) noexcept;

}  // namespace vg::daemon
