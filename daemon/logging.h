// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's logging facade: one syslog line per event, each with a stable
// ID first and key=value fields after it (daemon/EVENTS.md lists them all).
//
//   VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 number=+88213000001 ...
//
// In parts, each usable and tested alone; this header includes them all:
//  - log_severity.h: severities and syslog facilities, by name and number;
//  - log_format.h: escaping and masking of field values (packet text is
//    attacker-controlled: no newlines, no control bytes, no unbalanced
//    quotes, no passwords);
//  - log_events.h: the catalogue: every line's ID, severity, fields and
//    aggregation key;
//  - log_aggregator.h: repeat suppression per key and window, on time
//    passed in;
//  - log_structured.h: the same lines as RFC 5424 structured data or JSON
//    (logging.format), for a SIEM;
//  - log_syslog_sink.h: datagrams to /dev/log without blocking;
//  - here, Log: the front end the daemon holds and the engine's EventSink. It
//    filters by level, aggregates, and writes to the sinks (syslog,
//    optionally stderr).
//
// The front end uses spdlog (logging.cpp only); no header does, so a router
// build can replace logging.cpp without touching its users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/log_aggregator.h"
#include "daemon/log_events.h"
#include "daemon/log_format.h"
#include "daemon/log_severity.h"
#include "daemon/log_structured.h"
#include "filters/engine/events.h"
#include "filters/engine/timestamp.h"

namespace vg::config {
struct Policy;
}

namespace vg::daemon {

struct LogOptions {
    std::string site;
    Severity level = Severity::info;
    int facility = 3 << 3;                          // LOG_DAEMON
    engine::Duration aggregate_window = std::chrono::seconds(60);
    std::size_t max_keys = 1024;
    bool syslog = true;
    std::string syslog_path = "/dev/log";           // a Unix datagram socket
    std::string ident = "voipguard";
    LogFormat format = LogFormat::rfc3164;          // of the syslog lines (log_structured.h)
    bool to_stderr = false;                         // --log-stderr: copy every line
    NumberMask numbers;                             // logging.mask_numbers (format_event)
};

// Takes site, level, facility, window and format from the policy. False (and a
// message) for a level or facility the validator should have refused.
bool apply_policy(LogOptions& o, const config::Policy& p, std::string* error = nullptr);

// Meant for the daemon's one event-loop thread: on_event(), flush() and the
// aggregated lines (kernel_drop, control_rejected) are not thread-safe;
// write() and the plain daemon lines may be called from other threads too.
class Log : public engine::EventSink {
public:
    explicit Log(LogOptions options);
    ~Log() override;
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    // After a reload: site, level, facility, window and format change; the
    // sinks (syslog path, stderr) stay. The stderr copy is always key=value.
    void reconfigure(const LogOptions& options);

    bool enabled(Severity s) const noexcept;
    // One line as it is (it should start with an ID); not aggregated.
    void write(Severity s, std::string_view line);

    // The engine's events: formatted, aggregated, written. The event's time
    // drives the aggregation window.
    void on_event(const engine::Event& e) override;

    // From the daemon's timer: ends aggregation windows (summary lines) and
    // reports lines the syslog socket refused (VG_LOG_LOST).
    void flush(engine::Timestamp now);
    // At shutdown: every open window is summarised.
    void flush_all(engine::Timestamp now);

    // Daemon lines.
    void start(const StartInfo& info);
    void reload_ok(std::string_view policy, std::size_t warnings);
    void reload_failed(std::string_view policy, const std::vector<std::string>& errors);
    void backend(std::string_view chosen, std::string_view why);
    void stats(const StatsInfo& s);
    void shutdown(std::string_view reason);
    void kernel_drop(const KernelDropInfo& d, engine::Timestamp now);   // aggregated per source
    // The control socket refused a request (aggregated per reason).
    void control_rejected(std::string_view reason, std::string_view detail, std::int64_t peer_uid,
                          std::int64_t peer_pid, engine::Timestamp now);

    // Lines the syslog socket did not take (full, or no syslog daemon).
    std::uint64_t lines_lost() const noexcept;
    const std::string& site() const noexcept { return options_.site; }
    const NumberMask& numbers() const noexcept { return options_.numbers; }

private:
    void emit_aggregated(const LineKind& kind, std::string_view key_fields, const std::string& line,
                         engine::Timestamp now);
    void write_summaries(const std::vector<Aggregator::Summary>& summaries);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    LogOptions options_;
    Aggregator aggregator_;
    std::uint64_t lost_reported_ = 0;
};

}  // namespace vg::daemon
