// SPDX-License-Identifier: GPL-2.0-or-later
// The catalogue of log lines (see log_events.h): severities, fields and
// aggregation keys of the engine's events, and the daemon's own lines.
#include "daemon/log_events.h"

#include "daemon/log_format.h"

namespace vg::daemon {

using engine::EventType;

// Keep in step with the table in daemon/EVENTS.md (a test compares them).
Severity event_severity(EventType t) noexcept {
    switch (t) {
    case EventType::scanner: return Severity::warning;
    case EventType::toll_fraud: return Severity::warning;
    case EventType::call_limit: return Severity::warning;
    case EventType::malformed: return Severity::info;
    case EventType::rate_limited: return Severity::notice;
    case EventType::unlisted_source: return Severity::info;
    case EventType::rogue_sip_destination: return Severity::warning;
    case EventType::media_injection: return Severity::warning;
    case EventType::media_address_not_allowed: return Severity::warning;
    case EventType::media_port_not_allowed: return Severity::warning;
    case EventType::support_denied: return Severity::notice;
    case EventType::egress_denied: return Severity::notice;
    case EventType::firmware_outdated: return Severity::notice;
    case EventType::handset_stale: return Severity::notice;
    case EventType::handset_registered: return Severity::info;
    case EventType::call_started: return Severity::info;
    case EventType::call_ended: return Severity::info;
    case EventType::pinhole_opened: return Severity::debug;
    case EventType::pinhole_closed: return Severity::debug;
    case EventType::table_eviction: return Severity::warning;
    case EventType::sip_stream_cut: return Severity::warning;
    case EventType::unknown_method: return Severity::warning;
    case EventType::media_destination_denied: return Severity::warning;
    case EventType::tls_uninspected: return Severity::notice;
    case EventType::forged_source: return Severity::warning;
    case EventType::foreign_source: return Severity::warning;
    case EventType::fraud_threshold_warning: return Severity::notice;
    case EventType::fraud_threshold_critical: return Severity::warning;
    case EventType::callback_marked: return Severity::info;
    case EventType::callback_blocked: return Severity::warning;
    case EventType::callback_warning: return Severity::notice;
    case EventType::weak_credential: return Severity::warning;
    case EventType::handset_user_agent_changed: return Severity::warning;
    case EventType::aor_second_address: return Severity::warning;
    case EventType::registered_out_of_hours: return Severity::notice;
    case EventType::outdated_firmware_call: return Severity::notice;
    case EventType::cleartext_provisioning: return Severity::notice;
    case EventType::unknown_handset: return Severity::warning;
    case EventType::handset_mismatch: return Severity::warning;
    case EventType::handset_forgotten: return Severity::notice;
    case EventType::count_: break;
    }
    return Severity::info;
}

namespace {

std::string_view protocol_name(std::uint8_t p) noexcept {
    switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return {};
    }
}

void append_address(std::string& out, std::string_view key, const net::IpAddress& a) {
    if (a.valid()) append_field(out, key, a.to_string());
}

void append_port(std::string& out, std::string_view key, std::uint16_t port) {
    if (port != 0) append_field(out, key, port);
}

void append_protocol(std::string& out, std::uint8_t p) {
    if (p == 0) return;
    const std::string_view name = protocol_name(p);
    if (!name.empty()) {
        append_field(out, "proto", name);
    } else {
        append_field(out, "proto", p);
    }
}

// "VG_ID site=SITE"
std::string begin_line(const LineKind& kind, std::string_view site) {
    std::string line(kind.id);
    append_field(line, "site", site);
    return line;
}

}  // namespace

std::string format_event(const engine::Event& e, std::string_view site, const NumberMask& numbers) {
    std::string out;
    out.reserve(256);
    out += engine::event_id(e.type);
    append_field(out, "site", site);
    append_address(out, "handset", e.handset);
    append_port(out, "handset_port", e.handset_port);
    // The handset's own address is not repeated as src / dst.
    if (e.source != e.handset) append_address(out, "src", e.source);
    append_port(out, "src_port", e.source_port);
    if (e.destination != e.handset) append_address(out, "dst", e.destination);
    append_port(out, "dst_port", e.destination_port);
    append_protocol(out, e.protocol);
    append_field(out, "method", e.method.view());
    append_field(out, "number", mask_number(e.number.view(), numbers));
    append_field(out, "dialled", mask_number(mask_secrets(e.dialled.view()), numbers));
    append_field(out, "rule", e.rule.view());
    append_field(out, "group", e.group.view());
    append_field(out, "threshold", e.threshold.view());
    if (e.value != 0 || !e.threshold.view().empty()) append_field(out, "value", e.value);
    if (e.level != 0) append_field(out, "level", e.level);
    append_field(out, "call_id", e.call_id.view());
    append_field(out, "ua", e.user_agent.view());
    append_field(out, "detail", mask_numbers_in_text(mask_secrets(e.detail.view()), numbers));
    if (e.count != 0) append_field(out, "count", e.count);
    // mode: monitor: what the line reports was logged, not blocked.
    if (e.monitor) append_field(out, "action", "monitor_only");
    return out;
}

std::string event_key_fields(const engine::Event& e) {
    std::string out;
    switch (e.type) {
    case EventType::scanner:
    case EventType::malformed:
    case EventType::rate_limited:
    case EventType::unlisted_source:
    case EventType::media_injection:
    case EventType::support_denied:
    case EventType::forged_source:
    case EventType::foreign_source:
        append_address(out, "src", e.source);
        break;
    case EventType::sip_stream_cut:
    case EventType::unknown_method:
    case EventType::media_destination_denied:
    case EventType::tls_uninspected:
    case EventType::toll_fraud:
    case EventType::call_limit:
    case EventType::rogue_sip_destination:
    case EventType::egress_denied:
    case EventType::media_address_not_allowed:
    case EventType::media_port_not_allowed:
    case EventType::firmware_outdated:
    case EventType::handset_stale:
    case EventType::handset_registered:
    case EventType::weak_credential:
    case EventType::handset_user_agent_changed:
    case EventType::aor_second_address:
    case EventType::registered_out_of_hours:
    case EventType::outdated_firmware_call:
    case EventType::callback_marked:
    case EventType::callback_blocked:
    case EventType::callback_warning:
    case EventType::unknown_handset:     // per address: one trying many AORs is one line a window
    case EventType::handset_mismatch:
        append_address(out, "handset", e.handset);
        break;
    case EventType::handset_forgotten:
        // Per AOR: a forgotten handset may have no address at all.
        append_field(out, "detail", e.detail.view());
        break;
    case EventType::call_started:
    case EventType::call_ended:
        append_address(out, "handset", e.handset);
        append_field(out, "call_id", e.call_id.view());
        break;
    case EventType::cleartext_provisioning:
        // Per handset and server: a phone polling its configuration every
        // few minutes is one line a window.
        append_address(out, "handset", e.handset);
        append_address(out, "dst", e.destination);
        break;
    case EventType::pinhole_opened:
    case EventType::pinhole_closed:
        append_address(out, "handset", e.handset);
        append_port(out, "handset_port", e.handset_port);
        break;
    case EventType::table_eviction:
        append_field(out, "detail", e.detail.view());
        break;
    case EventType::fraud_threshold_warning:
    case EventType::fraud_threshold_critical:
        // One line per handset, group and threshold a window: a warning
        // on every call of a busy handset is summarised, another
        // threshold crossing is not hidden behind it.
        append_address(out, "handset", e.handset);
        append_field(out, "group", e.group.view());
        append_field(out, "threshold", e.threshold.view());
        break;
    case EventType::count_:
        break;
    }
    return out;
}

std::string start_line(std::string_view site, const StartInfo& info, Severity level) {
    std::string line = begin_line(kStartLine, site);
    append_field(line, "version", info.version);
    append_field(line, "mode", info.mode);
    append_field(line, "backend", info.backend);
    append_field(line, "on_failure", info.on_failure);
    append_field(line, "policy", info.policy);
    append_field(line, "level", severity_name(level));
    return line;
}

std::string backend_line(std::string_view site, std::string_view chosen, std::string_view why) {
    std::string line = begin_line(kBackendLine, site);
    append_field(line, "backend", chosen);
    append_field(line, "why", why);
    return line;
}

std::string reload_ok_line(std::string_view site, std::string_view policy, std::size_t warnings) {
    std::string line = begin_line(kReloadOkLine, site);
    append_field(line, "policy", policy);
    append_field(line, "warnings", warnings);
    return line;
}

std::string reload_failed_line(std::string_view site, std::string_view policy, const std::vector<std::string>& errors) {
    constexpr std::size_t kShown = 3;
    std::string line = begin_line(kReloadFailedLine, site);
    append_field(line, "policy", policy);
    append_field(line, "errors", errors.size());
    for (std::size_t i = 0; i < errors.size() && i < kShown; ++i) {
        append_field(line, "error" + std::to_string(i + 1), mask_secrets(errors[i]));
    }
    line += " (old policy kept)";
    return line;
}

std::string stats_line(std::string_view site, const StatsInfo& s) {
    std::string line = begin_line(kStatsLine, site);
    append_field(line, "calls", s.calls);
    append_field(line, "pinholes", s.pinholes);
    append_field(line, "handsets", s.handsets);
    append_field(line, "accepted", s.accepted);
    append_field(line, "dropped", s.dropped);
    for (const auto& [reason, count] : s.drops_by_reason) {
        if (count == 0 || reason.empty()) continue;
        std::string key = "drop_";
        append_key(key, reason);
        append_field(line, key, count);
    }
    append_field(line, "queue_drops", s.queue_drops);
    append_field(line, "enobufs", s.enobufs);
    append_field(line, "kernel_drops", s.kernel_drops);
    return line;
}

std::string shutdown_line(std::string_view site, std::string_view reason) {
    std::string line = begin_line(kShutdownLine, site);
    append_field(line, "reason", reason);
    return line;
}

std::string kernel_drop_key(const KernelDropInfo& d) {
    std::string key;
    append_field(key, "src", d.source);
    return key;
}

std::string kernel_drop_line(std::string_view site, const KernelDropInfo& d) {
    std::string line = begin_line(kKernelDropLine, site);
    append_field(line, "src", d.source);
    if (d.source_port != 0) append_field(line, "src_port", d.source_port);
    append_field(line, "dst", d.destination);
    if (d.destination_port != 0) append_field(line, "dst_port", d.destination_port);
    append_field(line, "proto", d.protocol);
    append_field(line, "reason", d.reason);
    append_field(line, "method", d.method);
    append_field(line, "ua", d.user_agent);
    return line;
}

std::string control_rejected_key(std::string_view reason) {
    std::string key;
    append_field(key, "reason", reason);
    return key;
}

std::string control_rejected_line(std::string_view site, std::string_view reason, std::string_view detail,
                                  std::int64_t peer_uid, std::int64_t peer_pid) {
    std::string line = begin_line(kControlRejectedLine, site);
    line += control_rejected_key(reason);
    if (peer_uid >= 0) append_field(line, "uid", static_cast<std::uint64_t>(peer_uid));
    if (peer_pid > 0) append_field(line, "pid", static_cast<std::uint64_t>(peer_pid));
    append_field(line, "detail", mask_secrets(detail));
    return line;
}

std::string log_lost_line(std::string_view site, std::uint64_t lines) {
    std::string line = begin_line(kLogLostLine, site);
    append_field(line, "lines", lines);
    return line;
}

std::string failed_line(std::string_view id, std::string_view site, std::string_view error,
                        std::string_view backend) {
    std::string line(id);
    append_field(line, "site", site);
    if (!backend.empty()) append_field(line, "backend", backend);
    append_field(line, "error", error);
    return line;
}

std::string open_interface_line(std::string_view site, const OpenInterfaceInfo& i) {
    std::string line = begin_line(kOpenInterfaceLine, site);
    append_field(line, "handset", i.handset);
    append_field(line, "dst_port", i.port);
    append_field(line, "proto", "tcp");
    append_field(line, "rule", i.service);
    append_field(line, "ua", i.user_agent);
    append_field(line, "detail", i.banner);
    return line;
}

}  // namespace vg::daemon
