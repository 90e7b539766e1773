// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus text exposition of the status figures (see metrics.h).
#include "daemon/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace vg::daemon {

namespace {

class Writer {
public:
    explicit Writer(std::string& out) : o_(out) {}

    // "# HELP" and "# TYPE" of a family; its samples follow.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        o_ += "# HELP ";
        o_ += name;
        o_.push_back(' ');
        o_ += help;   // fixed text of this file: no '\' or newline
        o_ += "\n# TYPE ";
        o_ += name;
        o_.push_back(' ');
        o_ += type;
        o_.push_back('\n');
    }
    void sample(std::string_view name, std::uint64_t value) {
        o_ += name;
        o_.push_back(' ');
        o_ += std::to_string(value);
        o_.push_back('\n');
    }
    // One label.
    void sample(std::string_view name, std::string_view label, std::string_view value, std::uint64_t v) {
        sample(name, {{label, value}}, v);
    }
    void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                std::uint64_t value) {
        o_ += name;
        o_.push_back('{');
        bool first = true;
        for (const auto& [k, val] : labels) {
            if (!first) o_.push_back(',');
            first = false;
            o_ += k;
            o_ += "=\"";
            // Exposition format: '\', '"' and newline escaped in label values.
            for (char c : val) {
                if (c == '\\') o_ += "\\\\";
                else if (c == '"') o_ += "\\\"";
                else if (c == '\n') o_ += "\\n";
                else o_.push_back(c);
            }
            o_.push_back('"');
        }
        o_ += "} ";
        o_ += std::to_string(value);
        o_.push_back('\n');
    }

private:
    std::string& o_;
};

}  // namespace

std::string render_metrics(const StatusView& v) {
    const engine::Engine& eng = *v.engine;
    const engine::EngineStats& s = eng.stats();
    const config::Policy& p = *v.policy;
    std::string o;
    o.reserve(8192);
    Writer w(o);

    w.family("voipguard_build_info", "gauge", "The running voipguard's version (always 1).");
    w.sample("voipguard_build_info", "version", v.version, 1);
    w.family("voipguard_policy_info", "gauge", "The policy's mode and on_failure, and the rule backend (always 1).");
    w.sample("voipguard_policy_info",
             {{"mode", config::to_string(p.mode)}, {"on_failure", config::to_string(p.on_failure)},
              {"backend", v.backend}},
             1);
    w.family("voipguard_uptime_seconds", "gauge", "Seconds since the daemon started.");
    w.sample("voipguard_uptime_seconds", v.uptime_s > 0 ? static_cast<std::uint64_t>(v.uptime_s) : 0);

    // Verdicts.
    w.family("voipguard_packets_total", "counter", "Queued packets the engine judged.");
    w.sample("voipguard_packets_total", s.packets);
    w.family("voipguard_verdicts_total", "counter", "Verdicts by kind (accept_verified: accepted and put on the kernel fast path).");
    w.sample("voipguard_verdicts_total", "verdict", "accept", s.verdicts[0]);
    w.sample("voipguard_verdicts_total", "verdict", "accept_verified", s.verdicts[1]);
    w.sample("voipguard_verdicts_total", "verdict", "drop", s.verdicts[2]);
    w.family("voipguard_verdict_reasons_total", "counter", "Verdicts by reason (daemon/EVENTS.md), with the verdict each reason gives.");
    for (std::size_t i = 0; i < engine::kReasonCount; ++i) {
        const auto r = static_cast<engine::Reason>(i);
        w.sample("voipguard_verdict_reasons_total",
                 {{"reason", engine::reason_name(r)}, {"verdict", engine::reason_is_drop(r) ? "drop" : "accept"}},
                 s.reasons[i]);
    }
    w.family("voipguard_monitored_total", "counter", "Drops turned into accepts by mode: monitor.");
    w.sample("voipguard_monitored_total", s.monitored);
    w.family("voipguard_sip_messages_total", "counter", "SIP messages parsed, whatever their verdict.");
    w.sample("voipguard_sip_messages_total", s.sip_messages);

    // Calls and pinholes.
    w.family("voipguard_calls", "gauge", "Calls in progress, both directions.");
    w.sample("voipguard_calls", eng.active_calls());
    w.family("voipguard_dialogs_created_total", "counter", "Dialogs the engine started to follow.");
    w.sample("voipguard_dialogs_created_total", s.dialogs_created);
    w.family("voipguard_dialogs_ended_total", "counter", "Dialogs that ended (BYE, CANCEL, failure, timeout).");
    w.sample("voipguard_dialogs_ended_total", s.dialogs_ended);
    w.family("voipguard_dialogs_refused_total", "counter", "New dialogs refused because every entry of the full dialog table was a confirmed call.");
    w.sample("voipguard_dialogs_refused_total", s.dialogs_refused);
    w.family("voipguard_pinholes_refused_total", "counter", "Media pinholes not opened because every entry of the full pinhole table carried media.");
    w.sample("voipguard_pinholes_refused_total", s.pinholes_refused);
    w.family("voipguard_pinholes", "gauge", "Media pinholes open.");
    w.sample("voipguard_pinholes", eng.pinhole_count());
    w.family("voipguard_pinholes_opened_total", "counter", "Media pinholes opened.");
    w.sample("voipguard_pinholes_opened_total", s.pinholes_opened);
    w.family("voipguard_pinholes_closed_total", "counter", "Media pinholes closed.");
    w.sample("voipguard_pinholes_closed_total", s.pinholes_closed);
    w.family("voipguard_conntrack_deleted_total", "counter", "Conntrack entries deleted when their pinhole closed.");
    w.sample("voipguard_conntrack_deleted_total", v.conntrack_deleted);

    // Handsets: each in one state (stale before registered).
    std::uint64_t registered = 0, unregistered = 0, stale = 0, outdated = 0;
    eng.for_each_handset([&](const engine::Handset& h) {
        if (h.stale) ++stale;
        else if (h.registered_until > v.now.mono) ++registered;
        else ++unregistered;
        if (h.firmware_outdated) ++outdated;
    });
    w.family("voipguard_handsets", "gauge", "Handsets in the inventory by state (stale: not registered for handsets.stale_after).");
    w.sample("voipguard_handsets", "state", "registered", registered);
    w.sample("voipguard_handsets", "state", "unregistered", unregistered);
    w.sample("voipguard_handsets", "state", "stale", stale);
    w.family("voipguard_handsets_firmware_outdated", "gauge", "Handsets whose User-Agent is below the policy's firmware minimum.");
    w.sample("voipguard_handsets_firmware_outdated", outdated);

    // Events, before level filtering and aggregation.
    w.family("voipguard_events_total", "counter", "Engine events by type (before the log level and repeat aggregation).");
    for (std::size_t i = 0; i < engine::kEventTypeCount; ++i)
        w.sample("voipguard_events_total", "type", engine::event_name(static_cast<engine::EventType>(i)), v.events[i]);

    // Tables.
    const engine::EngineLimits& lim = eng.limits();
    struct Table {
        std::string_view name;
        std::uint64_t entries, capacity, evictions;
    };
    const Table tables[] = {
        {"dialogs", eng.dialog_count(), lim.max_dialogs, s.evictions_dialogs},
        {"pinholes", eng.pinhole_count(), lim.max_pinholes, s.evictions_pinholes},
        {"handsets", eng.handset_count(), lim.max_handsets, s.evictions_handsets},
        {"egress_flows", eng.egress_flow_count(), lim.max_egress_flows, s.evictions_egress},
        {"callback_marks", eng.callback_marks().size(), eng.callback_marks().capacity(), eng.callback_marks().evictions()},
    };
    w.family("voipguard_table_entries", "gauge", "Entries in the engine's bounded tables.");
    for (const Table& t : tables) w.sample("voipguard_table_entries", "table", t.name, t.entries);
    w.family("voipguard_table_capacity_entries", "gauge", "Capacity of the engine's bounded tables.");
    for (const Table& t : tables) w.sample("voipguard_table_capacity_entries", "table", t.name, t.capacity);
    w.family("voipguard_table_evictions_total", "counter", "Entries pushed out of a full table (least recently used).");
    for (const Table& t : tables) w.sample("voipguard_table_evictions_total", "table", t.name, t.evictions);

    // The queue.
    const netlink::NfQueueStats& q = v.queue_stats;
    w.family("voipguard_queue_packets_total", "counter", "Packets received from the netfilter queue.");
    w.sample("voipguard_queue_packets_total", q.packets);
    w.family("voipguard_queue_enobufs_total", "counter", "ENOBUFS on the queue socket: the kernel dropped queue messages.");
    w.sample("voipguard_queue_enobufs_total", q.enobufs);
    w.family("voipguard_queue_fallback_verdicts_total", "counter", "Verdicts given by the queue reader itself (packets the engine could not judge).");
    w.sample("voipguard_queue_fallback_verdicts_total", q.fallback_verdicts);
    if (v.kernel_queue) {
        const netlink::KernelQueueStats& k = *v.kernel_queue;
        w.family("voipguard_queue_waiting_packets", "gauge", "Packets waiting in the kernel's queue for a verdict.");
        w.sample("voipguard_queue_waiting_packets", k.queue_total);
        w.family("voipguard_queue_kernel_dropped_packets_total", "counter", "Packets the kernel's queue dropped (queue_full: the queue was full; socket_full: the daemon's socket buffer was).");
        w.sample("voipguard_queue_kernel_dropped_packets_total", "cause", "queue_full", k.queue_dropped);
        w.sample("voipguard_queue_kernel_dropped_packets_total", "cause", "socket_full", k.user_dropped);
    }

    // voipguard's kernel rules.
    const kernel::Counters& kc = v.counters;
    w.family("voipguard_kernel_counters_ok", "gauge", "1 when the last read of the kernel rules' counters succeeded.");
    w.sample("voipguard_kernel_counters_ok", kc.ok ? 1 : 0);
    if (kc.ok) {
        struct Rule {
            std::string_view name;
            std::uint64_t packets, bytes;
        };
        const Rule rules[] = {
            {"inbound", kc.inbound_drop_packets, kc.inbound_drop_bytes},
            {"egress", kc.egress_drop_packets, kc.egress_drop_bytes},
            {"forged_source", kc.forged_drop_packets, kc.forged_drop_bytes},
            {"foreign_source", kc.foreign_drop_packets, kc.foreign_drop_bytes},
        };
        w.family("voipguard_kernel_dropped_packets_total", "counter", "Packets voipguard's kernel rules dropped, by rule (monitor mode: would have dropped).");
        for (const Rule& r : rules) w.sample("voipguard_kernel_dropped_packets_total", "rule", r.name, r.packets);
        w.family("voipguard_kernel_dropped_bytes_total", "counter", "Bytes voipguard's kernel rules dropped, by rule.");
        for (const Rule& r : rules) w.sample("voipguard_kernel_dropped_bytes_total", "rule", r.name, r.bytes);
        w.family("voipguard_kernel_queued_packets_total", "counter", "Packets voipguard's kernel rules sent to the queue.");
        w.sample("voipguard_kernel_queued_packets_total", kc.queued_packets);
        w.family("voipguard_kernel_queued_bytes_total", "counter", "Bytes voipguard's kernel rules sent to the queue.");
        w.sample("voipguard_kernel_queued_bytes_total", kc.queued_bytes);
    }
    w.family("voipguard_kernel_drop_samples_total", "counter", "Kernel drops sampled to the daemon (NFLOG).");
    w.sample("voipguard_kernel_drop_samples_total", v.kernel_samples);

    // The daemon.
    w.family("voipguard_reloads_total", "counter", "Policy reloads by result (failed: the previous policy stayed).");
    w.sample("voipguard_reloads_total", "result", "ok", v.reloads_ok);
    w.sample("voipguard_reloads_total", "result", "failed", v.reloads_failed);
    w.family("voipguard_log_lines_lost_total", "counter", "Log lines the syslog socket did not take.");
    w.sample("voipguard_log_lines_lost_total", v.log_lines_lost);
    w.family("voipguard_alerts_started_total", "counter", "Alert programs started (alerts.command).");
    w.sample("voipguard_alerts_started_total", v.alerts.started);
    w.family("voipguard_alerts_failed_total", "counter",
             "Alert programs that failed: exit status not 0, killed at the timeout, or not started.");
    w.sample("voipguard_alerts_failed_total", v.alerts.failed);
    w.family("voipguard_alerts_dropped_total", "counter", "Alerts not sent, by reason.");
    w.sample("voipguard_alerts_dropped_total", "reason", "rate_limited", v.alerts.rate_limited);
    w.sample("voipguard_alerts_dropped_total", "reason", "queue_full", v.alerts.queue_full);
    return o;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string& error, unsigned mode) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(mode));
    if (fd < 0) {
        error = tmp + ": " + std::strerror(errno);
        return false;
    }
    // The umask must not take the collector's read access away.
    (void)::fchmod(fd, 0644);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = tmp + ": " + std::strerror(n < 0 ? errno : EIO);
            ::close(fd);
            ::unlink(tmp.c_str());
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    // No fsync: the file is rewritten every interval (on a router it lives
    // on tmpfs), and its counters start again with the daemon anyway.
    if (::close(fd) != 0) {
        error = tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error = path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

}  // namespace vg::daemon
