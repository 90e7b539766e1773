// SPDX-License-Identifier: GPL-2.0-or-later
// Severity and facility names and numbers (see log_severity.h).
#include "daemon/log_severity.h"

#include <syslog.h>

namespace vg::daemon {

std::string_view severity_name(Severity s) noexcept {
    switch (s) {
    case Severity::debug: return "debug";
    case Severity::info: return "info";
    case Severity::notice: return "notice";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
    }
    return "info";
}

std::optional<Severity> parse_severity(std::string_view name) noexcept {
    for (Severity s : {Severity::debug, Severity::info, Severity::notice, Severity::warning, Severity::error}) {
        if (severity_name(s) == name) return s;
    }
    return std::nullopt;
}

int syslog_priority(Severity s) noexcept {
    switch (s) {
    case Severity::debug: return LOG_DEBUG;
    case Severity::info: return LOG_INFO;
    case Severity::notice: return LOG_NOTICE;
    case Severity::warning: return LOG_WARNING;
    case Severity::error: return LOG_ERR;
    }
    return LOG_INFO;
}

std::optional<int> parse_facility(std::string_view name) noexcept {
    static constexpr struct {
        std::string_view name;
        int code;
    } kFacilities[] = {
        {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
    };
    for (const auto& f : kFacilities) {
        if (f.name == name) return f.code;
    }
    return std::nullopt;
}

}  // namespace vg::daemon
