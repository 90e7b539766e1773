// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/site_report.h"

#include <ctime>

#include "daemon/json.h"
#include "daemon/log_format.h"

namespace vg::daemon {

namespace {

using engine::EventType;

constexpr std::size_t kMaxAttentionHandsets = 8;

std::string utc_minute(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string duration_text(std::int64_t s) {
    if (s < 0) s = 0;
    const std::int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
    if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
    if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
    if (m > 0) return std::to_string(m) + "m";
    return std::to_string(s) + "s";
}

std::string window_text(std::int64_t s) {
    if (s % 86400 == 0 && s > 86400) return std::to_string(s / 86400) + "d";
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

std::string_view finding_text(EventType t) {
    switch (t) {
    case EventType::firmware_outdated: return "firmware below the minimum";
    case EventType::weak_credential: return "weak password";
    case EventType::handset_stale: return "stopped registering";
    case EventType::handset_user_agent_changed: return "User-Agent changed";
    case EventType::aor_second_address: return "registered from a second address";
    default: return engine::event_name(t);
    }
}

struct Attention {
    std::string kind;
    std::uint64_t count = 0;
    std::string text;
};

// What needs doing, most urgent first.
std::vector<Attention> attention(const ReportView& v) {
    const engine::HistorySummary& h = v.history;
    std::vector<Attention> a;
    auto add = [&](std::string_view kind, std::uint64_t count, std::string text) {
        if (count != 0) a.push_back({std::string(kind), count, std::move(text)});
    };
    const std::uint64_t blocked = h.blocked_calls();
    std::string top;
    if (!h.blocked_reason.empty())
        top = " (most: " + escape_text(h.blocked_reason.front().first) + ", " +
              std::to_string(h.blocked_reason.front().second) + ")";
    add("blocked_calls", blocked,
        std::to_string(blocked) + " call(s) blocked: toll fraud, limits or fraud thresholds" + top +
            " - check the handsets that dialled them");
    add("fraud_threshold_warning", h.event(EventType::fraud_threshold_warning),
        std::to_string(h.event(EventType::fraud_threshold_warning)) + " destination-profile warning(s)");
    std::uint64_t fw = 0, weak = 0, stale = 0;
    for (const ReportHandset& r : v.handsets) {
        fw += r.firmware_outdated ? 1 : 0;
        weak += r.weak_password.empty() ? 0 : 1;
        stale += r.stale ? 1 : 0;
    }
    add("weak_password", weak, std::to_string(weak) + " handset(s) with a weak password: change it");
    add("firmware_outdated", fw, std::to_string(fw) + " handset(s) with firmware below the minimum: update");
    std::uint64_t ua = 0, second = 0;
    for (const engine::HandsetFinding& f : h.findings) {
        ua += f.type == EventType::handset_user_agent_changed ? 1 : 0;
        second += f.type == EventType::aor_second_address ? 1 : 0;
    }
    add("user_agent_changed", ua,
        std::to_string(ua) + " User-Agent change(s): another device or a firmware downgrade on a handset's address");
    add("second_address", second, std::to_string(second) + " account(s) registered from a second address");
    add("stale", stale, std::to_string(stale) + " handset(s) stopped registering: unplug or remove them");
    if (!h.scanners.empty()) {
        const std::uint64_t n = h.event(EventType::scanner);
        add("scanning", n,
            std::to_string(n) + " scanner detection(s) from " + std::to_string(h.scanner_sources) +
                " source(s), most from " + h.scanners.front().first.to_string());
    }
    add("rogue_sip", h.event(EventType::rogue_sip_destination),
        std::to_string(h.event(EventType::rogue_sip_destination)) + " SIP message(s) from handsets to a server that is not the PBX");
    add("cleartext_provisioning", h.event(EventType::cleartext_provisioning),
        std::to_string(h.event(EventType::cleartext_provisioning)) +
            " configuration/firmware fetch(es) over TFTP or plain HTTP");
    add("queue_drops", h.drops.queue,
        std::to_string(h.drops.queue) + " queued packet(s) dropped by the kernel before a verdict (queue full)");
    add("reload_failed", h.reloads_failed,
        std::to_string(h.reloads_failed) + " failed reload(s): the previous policy runs");
    add("tls_uninspected", h.event(EventType::tls_uninspected),
        std::to_string(h.event(EventType::tls_uninspected)) + " SIP-over-TLS connection(s) not inspected, in " +
            std::to_string(h.hours_with_tls) + " hour(s)");
    return a;
}

void json_pairs(std::string& o, std::string_view key, std::string_view name,
                const std::vector<std::pair<std::string, std::uint64_t>>& v) {
    json::append_key(o, key);
    o.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) o.push_back(',');
        o.push_back('{');
        json::field(o, name, v[i].first);
        json::field(o, "count", v[i].second);
        o.push_back('}');
    }
    o.push_back(']');
}

std::string render_json(const ReportView& v, const std::vector<Attention>& att) {
    const engine::HistorySummary& h = v.history;
    std::string o = "{";
    json::field(o, "version", v.version);
    json::field(o, "site", v.site);
    json::field(o, "generated_at", static_cast<std::uint64_t>(v.now > 0 ? v.now : 0));
    json::field(o, "since_s", static_cast<std::uint64_t>(h.since_s));
    json::field(o, "from", static_cast<std::uint64_t>(h.from > 0 ? h.from : 0));
    json::field(o, "hours_with_data", h.hours_with_data);
    json::field(o, "uptime_s", static_cast<std::uint64_t>(v.uptime_s > 0 ? v.uptime_s : 0));
    json::append_key(o, "attention");
    o.push_back('[');
    for (std::size_t i = 0; i < att.size(); ++i) {
        if (i) o.push_back(',');
        o.push_back('{');
        json::field(o, "kind", att[i].kind);
        json::field(o, "count", att[i].count);
        json::field(o, "text", att[i].text);
        o.push_back('}');
    }
    o.push_back(']');

    json::append_key(o, "handsets");
    o.push_back('{');
    json::field(o, "total", v.handsets_total);
    json::field(o, "registered", v.handsets_registered);
    json::append_key(o, "needing_attention");
    o.push_back('[');
    for (std::size_t i = 0; i < v.handsets.size(); ++i) {
        const ReportHandset& r = v.handsets[i];
        if (i) o.push_back(',');
        o.push_back('{');
        json::field(o, "address", r.address);
        json::field(o, "aor", r.aor);
        json::field(o, "user_agent", r.user_agent);
        json::field_bool(o, "firmware_outdated", r.firmware_outdated);
        json::field(o, "weak_password", r.weak_password);
        json::field_bool(o, "stale", r.stale);
        json::field_bool(o, "registered", r.registered);
        o.push_back('}');
    }
    o.push_back(']');
    json::append_key(o, "findings");
    o.push_back('[');
    for (std::size_t i = 0; i < h.findings.size(); ++i) {
        const engine::HandsetFinding& f = h.findings[i];
        if (i) o.push_back(',');
        o.push_back('{');
        json::field(o, "time", static_cast<std::uint64_t>(f.wall));
        json::field(o, "type", engine::event_name(f.type));
        json::field(o, "handset", f.handset.valid() ? f.handset.to_string() : std::string());
        json::field(o, "detail", f.detail.view());
        o.push_back('}');
    }
    o += "]}";

    json::append_key(o, "calls");
    o.push_back('{');
    json::field(o, "answered", h.event(EventType::call_started));
    json::field(o, "ended", h.event(EventType::call_ended));
    json::field(o, "active", v.calls_active);
    json::field(o, "blocked", h.blocked_calls());
    json::field(o, "toll_fraud", h.blocked_by(EventType::toll_fraud));
    json::field(o, "call_limit", h.blocked_by(EventType::call_limit));
    json::field(o, "fraud_threshold_critical", h.blocked_by(EventType::fraud_threshold_critical));
    // Blocked requests, retransmissions included (the events).
    json::field(o, "blocked_requests", h.event(EventType::toll_fraud) + h.event(EventType::callback_blocked) +
                                           h.event(EventType::call_limit) +
                                           h.event(EventType::fraud_threshold_critical));
    json::field(o, "fraud_threshold_warning", h.event(EventType::fraud_threshold_warning));
    json::field(o, "outdated_firmware_calls", h.event(EventType::outdated_firmware_call));
    json_pairs(o, "blocked_by_reason", "reason", h.blocked_reason);
    json_pairs(o, "blocked_by_group", "group", h.blocked_group);
    o.push_back('}');

    json::append_key(o, "scanning");
    o.push_back('{');
    json::field(o, "detections", h.event(EventType::scanner));
    json::field(o, "sources", h.scanner_sources);
    json::append_key(o, "top");
    o.push_back('[');
    for (std::size_t i = 0; i < h.scanners.size(); ++i) {
        if (i) o.push_back(',');
        o.push_back('{');
        json::field(o, "source", h.scanners[i].first.to_string());
        json::field(o, "count", h.scanners[i].second);
        o.push_back('}');
    }
    o += "]}";

    json::append_key(o, "kernel");
    o.push_back('{');
    json::field(o, "inbound_drop_packets", h.drops.inbound);
    json::field(o, "egress_drop_packets", h.drops.egress);
    json::field(o, "forged_source_drop_packets", h.drops.forged);
    json::field(o, "foreign_source_drop_packets", h.drops.foreign);
    json::field(o, "queue_drop_packets", h.drops.queue);
    json::field_bool(o, "counters_read", v.kernel_counters_read);
    o.push_back('}');

    json::append_key(o, "reloads");
    o.push_back('{');
    json::field(o, "ok", h.reloads_ok);
    json::field(o, "failed", h.reloads_failed);
    o.push_back('}');

    json::append_key(o, "blind");
    o.push_back('{');
    json::field(o, "tls_connections", h.event(EventType::tls_uninspected));
    json::field(o, "tls_hours", h.hours_with_tls);
    json::field(o, "tls_connections_since_start", v.tls_flows_since_start);
    json::field_bool(o, "static_allowance", v.static_allowance);
    json::field(o, "static_allowance_flows_since_start", v.static_allowance_flows_since_start);
    o.push_back('}');

    json::append_key(o, "events");
    o.push_back('{');
    for (std::size_t i = 0; i < engine::kEventTypeCount; ++i)
        if (h.events[i] != 0) json::field(o, engine::event_name(static_cast<EventType>(i)), h.events[i]);
    o.push_back('}');
    return o + "}\n";
}

std::string pairs_text(const std::vector<std::pair<std::string, std::uint64_t>>& v) {
    std::string s;
    for (const auto& [label, n] : v) s += (s.empty() ? "" : ", ") + escape_text(label) + " " + std::to_string(n);
    return s;
}

}  // namespace

std::string render_report(const ReportView& v, bool js) {
    const std::vector<Attention> att = attention(v);
    if (js) return render_json(v, att);
    const engine::HistorySummary& h = v.history;
    std::string o = "voipguard report, site " + v.site + ": last " + window_text(h.since_s) + " (hours from " +
                    utc_minute(h.from) + "), up " + duration_text(v.uptime_s) + "\n\n";
    if (att.empty()) {
        o += "Needs attention: nothing\n";
    } else {
        o += "Needs attention:\n";
        for (const Attention& a : att) o += "  ! " + a.text + "\n";
        std::size_t shown = 0;
        for (const ReportHandset& r : v.handsets) {
            if (shown == kMaxAttentionHandsets) {
                o += "    ... " + std::to_string(v.handsets.size() - shown) + " more (voipguard handsets)\n";
                break;
            }
            std::string what;
            if (!r.weak_password.empty()) what += ", weak password (" + r.weak_password + ")";
            if (r.firmware_outdated) what += ", firmware below the minimum";
            if (r.stale) what += ", stale";
            o += "    " + r.address + "  " + escape_text(r.aor) + "  \"" + escape_text(r.user_agent) + "\"" +
                 (what.empty() ? std::string() : "  " + what.substr(2)) + "\n";
            ++shown;
        }
        shown = 0;
        for (const engine::HandsetFinding& f : h.findings) {
            if (f.type != EventType::handset_user_agent_changed && f.type != EventType::aor_second_address) continue;
            if (++shown > 4) break;
            o += "    " + (f.handset.valid() ? f.handset.to_string() : std::string("?")) + "  " +
                 std::string(finding_text(f.type)) + ": " + escape_text(f.detail.view()) + "  (" + utc_minute(f.wall) +
                 ")\n";
        }
    }
    o += "\n";
    o += "handsets  " + std::to_string(v.handsets_total) + " known, " + std::to_string(v.handsets_registered) +
         " registered; findings in the window: " + std::to_string(h.findings.size()) + "\n";
    o += "calls     " + std::to_string(h.event(EventType::call_started)) + " answered, " +
         std::to_string(v.calls_active) + " active now, " + std::to_string(h.blocked_calls()) + " blocked";
    if (!h.blocked_reason.empty()) o += ": " + pairs_text(h.blocked_reason);
    o += "\n";
    if (!h.blocked_group.empty()) o += "          blocked by destination group: " + pairs_text(h.blocked_group) + "\n";
    o += "scanning  " + std::to_string(h.event(EventType::scanner)) + " detection(s) from " +
         std::to_string(h.scanner_sources) + " source(s)";
    for (std::size_t i = 0; i < h.scanners.size(); ++i)
        o += (i ? ", " : ": ") + h.scanners[i].first.to_string() + " " + std::to_string(h.scanners[i].second);
    o += "\n";
    o += "kernel    dropped " + std::to_string(h.drops.inbound) + " inbound (unlisted sources), " +
         std::to_string(h.drops.egress) + " egress, " + std::to_string(h.drops.forged + h.drops.foreign) +
         " forged/foreign source; queue drops " + std::to_string(h.drops.queue) +
         (v.kernel_counters_read ? "" : " (the kernel counters could not be read)") + "\n";
    o += "reloads   " + std::to_string(h.reloads_ok) + " ok, " + std::to_string(h.reloads_failed) + " failed\n";
    o += "blind     SIP over TLS: " + std::to_string(h.event(EventType::tls_uninspected)) + " connection(s) in " +
         std::to_string(h.hours_with_tls) + " hour(s) of the window (" + std::to_string(v.tls_flows_since_start) +
         " since start; their duration is not known)";
    if (v.static_allowance)
        o += "; media.static_allowance on: " + std::to_string(v.static_allowance_flows_since_start) +
             " media flow(s) without a pinhole since start";
    o += "\n";
    return o;
}

std::optional<std::int64_t> parse_report_window(std::string_view text, std::string& error) {
    std::int64_t v = 0;
    std::size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 9) v = v * 10 + (text[i++] - '0');
    std::int64_t unit = 0;
    const std::string_view rest = text.substr(i);
    if (rest.empty() || rest == "s") unit = 1;
    else if (rest == "m") unit = 60;
    else if (rest == "h") unit = 3600;
    else if (rest == "d") unit = 86400;
    if (i == 0 || unit == 0) {
        error = "'" + escape_text(text) + "' is not a duration: a number and m, h or d (e.g. 1h, 24h, 7d)";
        return std::nullopt;
    }
    const std::int64_t s = v * unit;
    if (s < 60 || s > 7 * 86400) {
        error = "'" + escape_text(text) + "' is outside 1m to 7d (the report keeps 7 days of hourly counters)";
        return std::nullopt;
    }
    return s;
}

}  // namespace vg::daemon
