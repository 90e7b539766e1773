// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's logging facade: one syslog line per event, each with a stable
// ID first and key=value fields after it (daemon/EVENTS.md lists them all).
//
//   VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 number=+88213000001 ...
//
// Three parts, each usable alone:
//  - formatting (format_event, append_field, mask_secrets): packet text is
//    attacker-controlled, so every value is escaped (no newlines, no control
//    bytes, no unbalanced quotes) and passwords in URIs are masked;
//  - Aggregator: the first event of a key is logged at once, repeats within
//    the policy's window are counted and summarised in one line when the
//    window ends. Time is passed in; it never reads a clock;
//  - Log: the front end the daemon holds. It owns the sinks (syslog to a Unix
//    datagram socket, /dev/log by default; optionally stderr) and is the
//    engine's EventSink.
//
// The implementation uses spdlog; this header does not, so a router build can
// replace logging.cpp without touching its users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "filters/engine/events.h"
#include "filters/engine/timestamp.h"

namespace vg::config {
struct Policy;
}

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

// The severity each engine event is logged with (table in daemon/EVENTS.md).
Severity event_severity(engine::EventType t) noexcept;

// --- formatting --------------------------------------------------------------

// Writes `value` so that a key=value parser gets it back and a log line can
// never be split or forged: bytes below 0x20, 0x7f and bytes >= 0x80 become
// \xNN, a backslash becomes \\; the value is put in double quotes (with \"
// inside) when it is empty or holds a space, '"' or '='.
void append_value(std::string& out, std::string_view value);
// The same escaping without the quoting decision, for terminal output of
// packet text (`voipguard calls` / `handsets`): bytes below 0x20, 0x7f and
// >= 0x80 become \xNN, a backslash \\, a double quote \". A Call-ID or
// User-Agent can then never carry a terminal escape sequence to the screen.
void append_escaped(std::string& out, std::string_view value);
std::string escape_text(std::string_view value);
// " key=value" (value escaped as above); nothing when `value` is empty.
void append_field(std::string& out, std::string_view key, std::string_view value);
void append_field(std::string& out, std::string_view key, std::uint64_t value);

// Masks the password of every "user:password@" in `text` (URI user info,
// RFC 3986 §3.2.1, which RFC 3261 §19.1.1 keeps for SIP URIs) as "***":
// "sip:alice:secret@pbx" -> "sip:alice:***@pbx". Anything else is unchanged.
std::string mask_secrets(std::string_view text);

// The line for one event (without syslog header): ID, site, then the fields
// that are set, in a fixed order. detail and dialled are passed through
// mask_secrets().
std::string format_event(const engine::Event& e, std::string_view site);

// The fields that identify what an event is about, formatted as in the line
// (" src=203.0.113.5", " handset=192.168.20.10 handset_port=40000"); events
// with the same ID and key fields are aggregated.
std::string event_key_fields(const engine::Event& e);

// --- aggregation -------------------------------------------------------------

// Counts repeats of (ID, key) per window. admit() returns true for the first
// event of a key: the caller logs it. Repeats within the window return false
// and are counted. flush(now) ends every window that started at least one
// window length ago and hands back one Summary per key with repeats; a key
// whose window ended with repeats starts a new window at once (so a
// sustained flood gives one summary line per window), a key without
// repeats is forgotten. At most max_keys keys are tracked; events of further
// keys go to an "other" bucket per ID, counted and summarised the same way.
class Aggregator {
public:
    struct Summary {
        std::string id;
        std::string key_fields;      // empty for the overflow bucket
        Severity severity = Severity::info;
        std::uint64_t suppressed = 0;
        engine::Duration elapsed{};  // from the window's start to flush()
        bool overflow = false;       // the "other" bucket: the key table was full
    };

    explicit Aggregator(engine::Duration window, std::size_t max_keys = 1024);

    void set_window(engine::Duration window) noexcept { window_ = window; }
    engine::Duration window() const noexcept { return window_; }
    std::size_t max_keys() const noexcept { return max_keys_; }

    // `id` must outlive the aggregator (the static event IDs do).
    bool admit(std::string_view id, std::string_view key_fields, Severity severity, engine::Timestamp now);
    std::vector<Summary> flush(engine::Timestamp now);
    // Every open window, ended or not (shutdown).
    std::vector<Summary> flush_all(engine::Timestamp now);

    std::size_t tracked_keys() const noexcept { return keys_.size(); }

private:
    struct Entry {
        engine::Timestamp start{};
        std::uint64_t suppressed = 0;
        Severity severity = Severity::info;
        std::size_t id_length = 0;   // the key string is ID + key fields
    };
    struct Overflow {
        engine::Timestamp start{};
        std::uint64_t suppressed = 0;
        Severity severity = Severity::info;
    };
    std::vector<Summary> collect(engine::Timestamp now, bool all);

    engine::Duration window_;
    std::size_t max_keys_;
    std::unordered_map<std::string, Entry> keys_;
    std::vector<std::pair<std::string_view, Overflow>> overflow_;   // one per ID, few
};

// "VG_... site=S KEYS (suppressed 4123 more in 60 s)"
std::string format_summary(const Aggregator::Summary& s, std::string_view site);

// --- the front end -----------------------------------------------------------

struct LogOptions {
    std::string site;
    Severity level = Severity::info;
    int facility = 3 << 3;                          // LOG_DAEMON
    engine::Duration aggregate_window = std::chrono::seconds(60);
    std::size_t max_keys = 1024;
    bool syslog = true;
    std::string syslog_path = "/dev/log";           // a Unix datagram socket
    std::string ident = "voipguard";
    bool to_stderr = false;                         // --log-stderr: copy every line
};

// Takes site, level, facility and window from the policy. False (and a
// message) for a level or facility the validator should have refused.
bool apply_policy(LogOptions& o, const config::Policy& p, std::string* error = nullptr);

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

// Meant for the daemon's one event-loop thread: on_event(), flush() and the
// aggregated lines (kernel_drop, control_rejected) are not thread-safe;
// write() and the plain daemon lines may be called from other threads too.
class Log : public engine::EventSink {
public:
    explicit Log(LogOptions options);
    ~Log() override;
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    // After a reload: site, level, facility and window change; the sinks
    // (syslog path, stderr) stay.
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

private:
    void emit_aggregated(std::string_view id, Severity s, std::string_view key_fields, std::string line,
                         engine::Timestamp now);
    void write_summaries(const std::vector<Aggregator::Summary>& summaries);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    LogOptions options_;
    Aggregator aggregator_;
    std::uint64_t lost_reported_ = 0;
};

}  // namespace vg::daemon
