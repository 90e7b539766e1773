// SPDX-License-Identifier: GPL-2.0-or-later
// The catalogue of voipguard's log lines (daemon/EVENTS.md documents each):
// for every engine event its severity, the fields of its line in a fixed
// order and the key fields it is aggregated by; for the daemon's own lines
// (VG_START, VG_STATS, ...) their ID, severity and fields. Pure functions: a
// line is a string, written by the front end (daemon/logging.h). Part of the
// logging facade.
//
//   VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 number=+88213000001 ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/log_format.h"
#include "daemon/log_severity.h"
#include "filters/engine/events.h"

namespace vg::daemon {

// --- engine events -------------------------------------------------------------

// The severity each engine event is logged with (table in daemon/EVENTS.md).
Severity event_severity(engine::EventType t) noexcept;

// The line for one event (without syslog header): ID, site, then the fields
// that are set, in a fixed order. detail and dialled are passed through
// mask_secrets(). Telephone numbers are masked here, where the fields are
// rendered (every log line, and the alert JSON built from it): `number` and
// `dialled` with mask_number(), `detail` with mask_numbers_in_text(); `rule`
// (a listed prefix: policy, not personal data) never.
std::string format_event(const engine::Event& e, std::string_view site, const NumberMask& numbers);

// The fields that identify what an event is about, formatted as in the line
// (" src=203.0.113.5", " handset=192.168.20.10 handset_port=40000"); events
// with the same ID and key fields are aggregated.
std::string event_key_fields(const engine::Event& e);

// --- the daemon's own lines ------------------------------------------------------

struct LineKind {
    std::string_view id;
    Severity severity;
    bool aggregated;   // repeats per key are counted, not logged (see Aggregator)
};

inline constexpr LineKind kStartLine{"VG_START", Severity::notice, false};
inline constexpr LineKind kBackendLine{"VG_BACKEND", Severity::info, false};
inline constexpr LineKind kReloadOkLine{"VG_RELOAD_OK", Severity::notice, false};
inline constexpr LineKind kReloadFailedLine{"VG_RELOAD_FAILED", Severity::error, false};
inline constexpr LineKind kStatsLine{"VG_STATS", Severity::info, false};
inline constexpr LineKind kShutdownLine{"VG_SHUTDOWN", Severity::notice, false};
inline constexpr LineKind kKernelDropLine{"VG_KERNEL_DROP", Severity::info, true};         // per src
inline constexpr LineKind kControlRejectedLine{"VG_CONTROL_REJECTED", Severity::notice, true};   // per reason
inline constexpr LineKind kLogLostLine{"VG_LOG_LOST", Severity::warning, false};
inline constexpr LineKind kOpenInterfaceLine{"VG_HANDSET_OPEN_INTERFACE", Severity::warning, false};

// Every daemon line kind, in the order of EVENTS.md.
inline constexpr LineKind kDaemonLines[] = {kStartLine,    kBackendLine,      kReloadOkLine,
                                            kReloadFailedLine, kStatsLine,    kShutdownLine,
                                            kKernelDropLine,   kControlRejectedLine, kLogLostLine,
                                            kOpenInterfaceLine};

// What VG_START reports.
struct StartInfo {
    std::string_view version;
    std::string_view mode;        // enforce | monitor
    std::string_view backend;     // nftables | iptables
    std::string_view on_failure;  // open | closed
    std::string_view policy;      // the policy file
};

// What VG_STATS reports (counters since start).
struct StatsInfo {
    std::uint64_t calls = 0;          // active calls
    std::uint64_t pinholes = 0;       // open pinholes
    std::uint64_t handsets = 0;
    std::uint64_t accepted = 0;       // verdicts
    std::uint64_t dropped = 0;
    std::vector<std::pair<std::string_view, std::uint64_t>> drops_by_reason;  // reason_name -> count; zeros left out
    std::uint64_t queue_drops = 0;    // nfqnl: packets the queue dropped (queue full)
    std::uint64_t enobufs = 0;        // ENOBUFS on the queue socket
    std::uint64_t kernel_drops = 0;   // dropped by voipguard's kernel rules
};

// One sampled kernel drop (NFLOG).
struct KernelDropInfo {
    std::string_view source;          // address text
    std::uint16_t source_port = 0;
    std::string_view destination;
    std::uint16_t destination_port = 0;
    std::string_view protocol;        // udp | tcp | ...
    std::string_view reason;          // the rule's log prefix ("unlisted_source")
    std::string_view method;          // SIP request method, if the payload was SIP
    std::string_view user_agent;
};

// `level`: the level the daemon logs at (reported as level=).
std::string start_line(std::string_view site, const StartInfo& info, Severity level);
std::string backend_line(std::string_view site, std::string_view chosen, std::string_view why);
std::string reload_ok_line(std::string_view site, std::string_view policy, std::size_t warnings);
// The first three errors, masked; `voipguard check` shows them all.
std::string reload_failed_line(std::string_view site, std::string_view policy, const std::vector<std::string>& errors);
std::string stats_line(std::string_view site, const StatsInfo& s);
std::string shutdown_line(std::string_view site, std::string_view reason);
std::string kernel_drop_line(std::string_view site, const KernelDropInfo& d);
std::string kernel_drop_key(const KernelDropInfo& d);   // " src=..."
// `peer_uid` < 0 and `peer_pid` <= 0 are unknown and left out.
std::string control_rejected_line(std::string_view site, std::string_view reason, std::string_view detail,
                                  std::int64_t peer_uid, std::int64_t peer_pid);
std::string control_rejected_key(std::string_view reason);   // " reason=..."
std::string log_lost_line(std::string_view site, std::uint64_t lines);
// "ID site=.. [backend=..] error=..": a failure of the daemon's own outside
// the catalogue (VG_RULES_FAILED, VG_DNS_REFRESH_FAILED, ...; EVENTS.md has
// their rows), the error text escaped as every field is.
std::string failed_line(std::string_view id, std::string_view site, std::string_view error,
                        std::string_view backend = {});
// One open management port the interface audit found (`voipguard audit`):
// the handset, the port, its service (rule=telnet|ssh|http|https|tcp), the
// handset's User-Agent and the banner the port sent (detail).
struct OpenInterfaceInfo {
    std::string_view handset;     // address text
    std::uint16_t port = 0;
    std::string_view service;
    std::string_view user_agent;
    std::string_view banner;
};
std::string open_interface_line(std::string_view site, const OpenInterfaceInfo& i);

}  // namespace vg::daemon
