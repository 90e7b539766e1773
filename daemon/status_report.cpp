// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/status_report.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/json.h"
#include "daemon/logging.h"

namespace vg::daemon {

namespace {

using engine::Timestamp;

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

}  // namespace

std::string render_status(const StatusView& v, bool js) {
    const config::Policy& p = *v.policy;
    const engine::Engine& eng = *v.engine;
    const engine::EngineStats& s = eng.stats();
    const netlink::NfQueueStats& q = v.queue_stats;
    const auto& kq = v.kernel_queue;
    const kernel::Counters& kc = v.counters;
    const std::int64_t uptime = v.uptime_s;
    if (js) {
        std::string o = "{";
        json::field(o, "version", v.version);
        json::field(o, "policy", v.policy_path);
        json::field(o, "site", p.site);
        json::field(o, "mode", config::to_string(p.mode));
        json::field(o, "on_failure", config::to_string(p.on_failure));
        json::field(o, "backend", v.backend);
        json::field(o, "backend_reason", v.backend_reason);
        json::append_key(o, "voice_interfaces");
        o.push_back('[');
        for (std::size_t i = 0; i < v.voice_interfaces.size(); ++i) {
            if (i) o.push_back(',');
            json::append_string(o, v.voice_interfaces[i]);
        }
        o.push_back(']');
        json::field(o, "uptime_s", static_cast<std::uint64_t>(uptime));
        json::field(o, "packets", s.packets);
        json::append_key(o, "verdicts");
        o += "{\"accept\":" + std::to_string(s.verdicts[0]) + ",\"accept_verified\":" + std::to_string(s.verdicts[1]) +
             ",\"drop\":" + std::to_string(s.verdicts[2]) + "}";
        json::append_key(o, "reasons");
        o.push_back('{');
        for (std::size_t i = 0; i < engine::kReasonCount; ++i)
            if (s.reasons[i] != 0) json::field(o, engine::reason_name(static_cast<engine::Reason>(i)), s.reasons[i]);
        o.push_back('}');
        // What voipguard cannot see: SIP over TLS (no SDP, no toll-fraud
        // check, no pinholes) and the media it lets through without a
        // pinhole for that reason (media.static_allowance).
        json::append_key(o, "blind");
        o.push_back('{');
        json::field(o, "tls_connections", s.reasons[static_cast<std::size_t>(engine::Reason::tls_uninspected)]);
        json::field_bool(o, "static_allowance", p.media.static_allowance);
        json::field(o, "static_allowance_flows",
                    s.reasons[static_cast<std::size_t>(engine::Reason::media_static_allowance)]);
        o.push_back('}');
        json::field(o, "monitored", s.monitored);
        json::field(o, "sip_messages", s.sip_messages);
        json::field(o, "calls", eng.active_calls());
        json::field(o, "dialogs", eng.dialog_count());
        json::field(o, "pinholes", eng.pinhole_count());
        json::field(o, "pinholes_opened", s.pinholes_opened);
        json::field(o, "pinholes_closed", s.pinholes_closed);
        json::field(o, "handsets", eng.handset_count());
        json::append_key(o, "evictions");
        o.push_back('{');
        json::field(o, "dialogs", s.evictions_dialogs);
        json::field(o, "dialogs_refused", s.dialogs_refused);
        json::field(o, "pinholes", s.evictions_pinholes);
        json::field(o, "pinholes_refused", s.pinholes_refused);
        json::field(o, "handsets", s.evictions_handsets);
        json::field(o, "egress_flows", s.evictions_egress);
        json::field(o, "callback_marks", eng.callback_marks().evictions());
        o.push_back('}');
        json::field(o, "callback_marks", eng.callback_marks().size());
        json::append_key(o, "password_audit");
        o.push_back('{');
        json::field(o, "checks", s.audit_checks);
        json::field(o, "completed", s.audit_completed);
        json::field(o, "passwords_tested", s.audit_passwords_tested);
        json::field(o, "hashes", s.audit_hashes);
        json::field(o, "deferred", s.audit_deferred);
        json::field(o, "skipped_auth_int", s.audit_skipped_auth_int);
        json::field(o, "skipped_unsupported", s.audit_skipped_unsupported);
        json::field(o, "skipped_malformed", s.audit_skipped_malformed);
        json::field(o, "parsed", s.audit_parsed);
        json::field(o, "unparsed_budget", s.audit_unparsed_budget);
        json::field(o, "unparsed_repeat", s.audit_unparsed_repeat);
        o.push_back('}');
        json::append_key(o, "queue");
        o.push_back('{');
        json::field(o, "number", v.queue);
        json::field(o, "packets", q.packets);
        json::field(o, "enobufs", q.enobufs);
        json::field(o, "fallback_verdicts", q.fallback_verdicts);
        json::field(o, "kernel_waiting", kq ? kq->queue_total : 0);
        json::field(o, "kernel_queue_dropped", kq ? kq->queue_dropped : 0);
        json::field(o, "kernel_user_dropped", kq ? kq->user_dropped : 0);
        o.push_back('}');
        json::append_key(o, "kernel");
        o.push_back('{');
        json::field(o, "inbound_drop_packets", kc.inbound_drop_packets);
        json::field(o, "egress_drop_packets", kc.egress_drop_packets);
        json::field(o, "queued_packets", kc.queued_packets);
        json::field(o, "forged_source_drop_packets", kc.forged_drop_packets);
        json::field(o, "foreign_source_drop_packets", kc.foreign_drop_packets);
        json::field(o, "drop_samples", v.kernel_samples);
        json::field_bool(o, "counters_read", kc.ok);
        o.push_back('}');
        json::field(o, "conntrack_deleted", v.conntrack_deleted);
        json::field(o, "reloads_ok", v.reloads_ok);
        json::field(o, "reloads_failed", v.reloads_failed);
        json::field(o, "log_lines_lost", v.log_lines_lost);
        json::append_key(o, "alerts");
        o.push_back('{');
        json::field(o, "started", v.alerts.started);
        json::field(o, "failed", v.alerts.failed);
        json::field(o, "rate_limited", v.alerts.rate_limited);
        json::field(o, "queue_full", v.alerts.queue_full);
        o.push_back('}');
        json::append_key(o, "loop");
        o.push_back('{');
        json::field(o, "steps", v.loop.steps);
        json::field(o, "steps_over_1ms", v.loop.steps_over_1ms);
        json::field(o, "steps_over_5ms", v.loop.steps_over_5ms);
        json::field(o, "longest_step_us", v.loop.longest_us);
        json::field(o, "longest_step", v.loop.longest_in);
        json::field(o, "longest_step_at_ms", static_cast<std::uint64_t>(v.loop.longest_at_ms));
        json::field(o, "realtime_priority", static_cast<std::uint64_t>(v.loop.realtime_priority));
        json::field(o, "cpu_percent", static_cast<std::uint64_t>(v.loop.cpu_percent));
        json::field(o, "realtime_demotions", v.loop.realtime_demotions);
        o.push_back('}');
        json::append_key(o, "interface_audit");
        o.push_back('{');
        json::field_bool(o, "running", v.audit_running);
        json::field(o, "running_s", static_cast<std::uint64_t>(v.audit_running ? v.audit_running_s : 0));
        o.push_back('}');
        return o + "}\n";
    }
    std::string o;
    o += "voipguard " + std::string(v.version) + ", site " + p.site + ", policy " + v.policy_path + "\n";
    o += "mode " + std::string(config::to_string(p.mode)) + ", on_failure " + config::to_string(p.on_failure) +
         ", backend " + v.backend + " (" + v.backend_reason + "), up " + std::to_string(uptime) + " s\n";
    o += "voice interfaces: " + join(v.voice_interfaces) + (p.handsets.interfaces.empty() ? " (from the routes)" : "") + "\n";
    o += "packets " + std::to_string(s.packets) + ": accept " + std::to_string(s.verdicts[0]) + ", accept+verify " +
         std::to_string(s.verdicts[1]) + ", drop " + std::to_string(s.verdicts[2]) + "\n";
    o += "reasons:";
    for (std::size_t i = 0; i < engine::kReasonCount; ++i)
        if (s.reasons[i] != 0)
            o += " " + std::string(engine::reason_name(static_cast<engine::Reason>(i))) + "=" + std::to_string(s.reasons[i]);
    const auto tls = s.reasons[static_cast<std::size_t>(engine::Reason::tls_uninspected)];
    if (tls != 0 || p.media.static_allowance) {
        o += "\nblind: " + std::to_string(tls) +
             " TLS connection(s) to the PBX whose SIP is not read (no toll-fraud check, no pinholes)";
        if (p.media.static_allowance)
            o += "; media.static_allowance on: " +
                 std::to_string(s.reasons[static_cast<std::size_t>(engine::Reason::media_static_allowance)]) +
                 " media flow(s) from the PBX passed without a pinhole";
    }
    o += "\ncalls " + std::to_string(eng.active_calls()) + ", pinholes " + std::to_string(eng.pinhole_count()) +
         ", handsets " + std::to_string(eng.handset_count()) + ", sip messages " + std::to_string(s.sip_messages) + "\n";
    o += "callback marks " + std::to_string(eng.callback_marks().size()) + " (" +
         std::to_string(eng.callback_marks().evictions()) + " pushed out)\n";
    o += "password audit: " + std::to_string(s.audit_checks) + " checks, " + std::to_string(s.audit_passwords_tested) +
         " passwords tested, " + std::to_string(s.audit_deferred) + " deferred by the budget (" +
         std::to_string(s.audit_unparsed_budget) + " not parsed), " +
         std::to_string(s.audit_skipped_auth_int) + " skipped (qop=auth-int), " +
         std::to_string(s.audit_skipped_unsupported + s.audit_skipped_malformed) + " skipped (other)\n";
    o += "queue " + std::to_string(v.queue) + ": " + std::to_string(q.packets) + " packets, enobufs " +
         std::to_string(q.enobufs) + ", kernel queue drops " +
         std::to_string(kq ? kq->queue_dropped + kq->user_dropped : 0) + "\n";
    o += "kernel: " + std::to_string(kc.inbound_drop_packets) + " inbound drops, " +
         std::to_string(kc.egress_drop_packets) + " egress drops, " + std::to_string(kc.forged_drop_packets) +
         " forged-source drops, " + std::to_string(kc.foreign_drop_packets) + " foreign-source drops, " +
         std::to_string(kc.queued_packets) + " queued" + (kc.ok ? "" : " (the counters could not be read)") + "\n";
    o += "loop: longest step " + std::to_string(v.loop.longest_us) + " us" +
         (v.loop.longest_us != 0 ? " (" + std::string(v.loop.longest_in) + ")" : std::string()) + ", " +
         std::to_string(v.loop.steps_over_1ms) + " of " + std::to_string(v.loop.steps) + " steps over 1 ms, " +
         (v.loop.realtime_priority > 0 ? "real-time priority " + std::to_string(v.loop.realtime_priority)
                                       : std::string("fair scheduler")) +
         ", " + std::to_string(v.loop.cpu_percent) + " % CPU" +
         (v.loop.realtime_demotions > 0
              ? " (back to the fair scheduler " + std::to_string(v.loop.realtime_demotions) + " times under load)"
              : std::string()) +
         "\n";
    if (v.audit_running)
        o += "interface audit: running for " + std::to_string(v.audit_running_s) + " s (voipguard audit)\n";
    return o;
}

std::vector<NearLevel> near_levels(const engine::Engine& eng, const engine::Dialog& d,
                                   const engine::CompiledProfile& prof) {
    std::vector<NearLevel> out;
    // The higher level first: a call at 80 % of its critical level is shown
    // as near that one, not also near its warning level.
    auto check = [&](const std::string& name, std::uint64_t value, const config::FraudLevels& l) {
        for (const auto& [level, limit] : {std::pair<const char*, std::uint32_t>{"critical", l.critical},
                                           std::pair<const char*, std::uint32_t>{"warning", l.warning}}) {
            if (limit > 0 && value * 5 >= std::uint64_t{limit} * 4) {
                out.push_back(NearLevel{name, level, value, limit});
                return;
            }
        }
    };
    const engine::Timestamp now = eng.last_now().mono;
    const long long secs = d.state == engine::DialogState::confirmed && now > d.answered
                               ? static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(now - d.answered).count())
                               : 0;
    config::FraudLevels duration;
    duration.warning = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(prof.max_call_warning).count());
    duration.critical = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(prof.max_call_critical).count());
    check("max_call_duration", static_cast<std::uint64_t>(secs), duration);
    if (!d.counted) return out;
    const engine::FraudValues v = eng.fraud_profiles().current(d.limit_keys, prof, eng.rules(), eng.last_now());
    for (const bool site : {false, true}) {
        const auto& levels = site ? prof.per_site : prof.per_handset;
        const std::uint32_t* values = site ? v.site : v.handset;
        for (std::size_t t = 0; t < config::kFraudThresholdCount; ++t)
            check(std::string(site ? "per_site." : "per_handset.") + config::to_string(static_cast<config::FraudThreshold>(t)),
                  values[t], levels[t]);
    }
    return out;
}

std::string render_calls(const engine::Engine& eng, bool js, const NumberMask& numbers) {
    std::string o = js ? "{\"calls\":[" : "";
    bool first = true;
    const engine::Timestamp now = eng.last_now().mono;
    eng.for_each_dialog([&](const engine::Dialog& d) {
        if (d.state == engine::DialogState::ended) return;
        // The destination profile, how long the call has been answered, and
        // the profile's levels it is close to (calls.h: near_levels).
        const engine::CompiledProfile* prof = d.profile != 0 ? eng.rules().profile_by_id(d.profile) : nullptr;
        const long long secs = d.state == engine::DialogState::confirmed && now > d.answered
                                   ? static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(now - d.answered).count())
                                   : 0;
        const std::vector<NearLevel> near = prof != nullptr ? near_levels(eng, d, *prof) : std::vector<NearLevel>{};
        if (js) {
            if (!first) o.push_back(',');
            o.push_back('{');
            json::field(o, "call_id", d.call_id.view());
            json::field(o, "handset", d.handset.to_string());
            json::field(o, "pbx", d.pbx.to_string());
            json::field(o, "direction", d.handset_is_caller ? "outbound" : "inbound");
            json::field(o, "number", mask_number(d.number.view(), numbers));
            json::field(o, "state", engine::dialog_state_name(d.state));
            json::field(o, "profile", prof != nullptr ? std::string_view(prof->name) : std::string_view());
            json::field(o, "duration", static_cast<std::uint64_t>(secs));
            json::append_key(o, "near");
            o.push_back('[');
            for (std::size_t i = 0; i < near.size(); ++i) {
                if (i) o.push_back(',');
                o.push_back('{');
                json::field(o, "threshold", near[i].threshold);
                json::field(o, "level", near[i].level);
                json::field(o, "value", static_cast<std::uint64_t>(near[i].value));
                json::field(o, "limit", static_cast<std::uint64_t>(near[i].limit));
                o.push_back('}');
            }
            o.push_back(']');
            json::append_key(o, "media");
            o.push_back('[');
            for (std::size_t i = 0; i < d.media_count; ++i) {
                const engine::MediaLeg& m = d.media[i];
                if (i) o.push_back(',');
                o.push_back('{');
                json::field(o, "handset_rtp", m.handset_known ? m.handset_rtp : 0);
                json::field(o, "handset_rtcp", m.handset_known ? m.handset_rtcp : 0);
                json::field(o, "remote", m.remote_known ? m.remote.to_string() : "");
                json::field(o, "remote_rtp", m.remote_known ? m.remote_rtp : 0);
                json::field_bool(o, "on_hold", m.on_hold);
                o.push_back('}');
            }
            o += "]}";
        } else {
            // Call-ID and number come from packets: escaped (no terminal
            // control sequences reach the operator's screen).
            append_escaped(o, d.call_id.view());
            o += "  " + d.handset.to_string() + (d.handset_is_caller ? " -> " : " <- ");
            append_escaped(o, mask_number(d.number.view(), numbers));
            o += "  " + std::string(engine::dialog_state_name(d.state));
            if (prof != nullptr) o += "  profile " + prof->name;
            if (secs > 0) o += "  " + std::to_string(secs) + "s";
            for (std::size_t i = 0; i < near.size(); ++i)
                o += (i == 0 ? "  near " : ", ") + near[i].threshold + "." + near[i].level + " " +
                     std::to_string(near[i].value) + "/" + std::to_string(near[i].limit) +
                     (near[i].threshold == "max_call_duration" ? "s" : "");
            for (std::size_t i = 0; i < d.media_count; ++i) {
                const engine::MediaLeg& m = d.media[i];
                if (!m.handset_known) continue;
                o += "  pinhole " + m.handset.to_string() + ":" + std::to_string(m.handset_rtp);
                if (m.handset_rtcp) o += "/" + std::to_string(m.handset_rtcp);
                if (m.remote_known) o += " from " + m.remote.to_string() + ":" + std::to_string(m.remote_rtp);
                if (m.on_hold) o += " (hold)";
            }
            o += "\n";
        }
        first = false;
    });
    if (js) return o + "]}\n";
    return o.empty() ? "no active calls\n" : o;
}

// "  OPEN PORTS 23,80" after an interface audit found some, else "".
static std::string open_ports_text(const engine::OpenInterfaces& oi) {
    if (oi.count == 0) return {};
    std::string t = "  OPEN PORTS ";
    for (std::size_t i = 0; i < oi.count; ++i) t += (i ? "," : "") + std::to_string(oi.ports[i]);
    if (oi.more != 0) t += " +" + std::to_string(oi.more);
    return t;
}

namespace {

std::string_view listing_text(engine::Listing l) {
    switch (l) {
    case engine::Listing::known: return "known";
    case engine::Listing::mismatch: return "mismatch";
    case engine::Listing::unknown: return "unknown";
    case engine::Listing::none: break;
    }
    return "";
}

std::string_view known_status_text(engine::KnownStatus s) {
    switch (s) {
    case engine::KnownStatus::registering: return "registering";
    case engine::KnownStatus::forgotten: return "forgotten";
    case engine::KnownStatus::never_seen: return "never_seen";
    }
    return "";
}

}  // namespace

std::string render_handsets(const engine::Engine& eng, const engine::Now& clocks, bool js,
                            const NumberMask& numbers) {
    const Timestamp now = clocks.mono;
    std::string o = js ? "{\"handsets\":[" : "";
    bool first = true;
    // The engine's times are monotonic; shown as wall-clock seconds since the
    // Unix epoch, as of the current wall clock (0: never).
    auto secs = [&](Timestamp t) -> std::uint64_t {
        if (t == Timestamp{}) return 0;
        const std::int64_t w = clocks.wall + std::chrono::duration_cast<std::chrono::seconds>(t - clocks.mono).count();
        return w > 0 ? static_cast<std::uint64_t>(w) : 0;
    };
    eng.for_each_handset([&](const engine::Handset& h) {
        if (js) {
            if (!first) o.push_back(',');
            o.push_back('{');
            json::field(o, "address", h.address.to_string());
            json::field(o, "aor", mask_numbers_in_text(h.aor.view(), numbers));
            json::field(o, "user_agent", h.user_agent.view());
            json::field(o, "first_seen", secs(h.first_seen));
            json::field(o, "last_seen", secs(h.last_seen));
            json::field(o, "registered_until", secs(h.registered_until));
            json::field_bool(o, "registered", h.registered_until > now);
            json::field_bool(o, "firmware_outdated", h.firmware_outdated);
            json::field_bool(o, "stale", h.stale);
            // The rule the password audit matched ("" when none): never the password.
            json::field(o, "weak_password", engine::weak_rule_text(h.audit.weak));
            json::field(o, "active_calls", h.active_calls);
            // The last interface audit (voipguard audit): its open ports.
            json::field(o, "interfaces_audited", secs(h.interfaces.audited));
            json::append_key(o, "open_ports");
            o.push_back('[');
            for (std::size_t i = 0; i < h.interfaces.count; ++i) {
                if (i > 0) o.push_back(',');
                o += std::to_string(h.interfaces.ports[i]);
            }
            o.push_back(']');
            // handsets.known: "known", "mismatch" (listed, another address or model), "unknown",
            // or "" (no inventory / no REGISTER since it was loaded).
            json::field(o, "inventory", listing_text(h.listed));
            o.push_back('}');
        } else {
            // AOR and User-Agent come from packets: escaped.
            o += h.address.to_string() + "  " + escape_text(mask_numbers_in_text(h.aor.view(), numbers)) + "  \"" + escape_text(h.user_agent.view()) +
                 "\"  " + (h.registered_until > now ? "registered" : "not registered") +
                 (h.firmware_outdated ? "  FIRMWARE OUTDATED" : "") + (h.stale ? "  STALE" : "") +
                 (h.listed == engine::Listing::known      ? "  KNOWN"
                  : h.listed == engine::Listing::mismatch ? "  KNOWN AOR, NOT AS LISTED"
                  : h.listed == engine::Listing::unknown  ? "  UNKNOWN"
                                                          : "") +
                 (h.audit.weak != engine::WeakRule::none
                      ? "  WEAK PASSWORD (" + std::string(engine::weak_rule_text(h.audit.weak)) + ")"
                      : "") +
                 open_ports_text(h.interfaces) + "  calls " + std::to_string(h.active_calls) + "\n";
        }
        first = false;
    });
    // The inventory (handsets.known): every entry with where it stands.
    const auto& known = eng.known_handsets();
    if (js) {
        o += "],\"known\":[";
        bool first_known = true;
        for (const engine::KnownHandsetState& k : known) {
            if (!first_known) o.push_back(',');
            first_known = false;
            o.push_back('{');
            json::field(o, "aor", k.aor);
            json::field(o, "address", k.address.valid() ? k.address.to_string() : std::string());
            json::field(o, "model", k.model);
            json::field(o, "status", known_status_text(eng.known_status(k, now)));
            json::field(o, "last_register", k.seen() ? secs(k.last_register) : 0);
            json::field(o, "last_address", k.seen() ? k.last_address.to_string() : std::string());
            o.push_back('}');
        }
        return o + "]}\n";
    }
    if (o.empty()) o = "no handsets seen\n";
    if (!known.empty()) {
        std::size_t away = 0;
        std::string rows;
        for (const engine::KnownHandsetState& k : known) {
            const engine::KnownStatus st = eng.known_status(k, now);
            if (st == engine::KnownStatus::registering) continue;
            ++away;
            rows += "  " + k.aor + (k.address.valid() ? "  expected " + k.address.to_string() : std::string()) +
                    (st == engine::KnownStatus::never_seen
                         ? "  NEVER SEEN"
                         : "  FORGOTTEN (last registered from " + k.last_address.to_string() + ", " +
                               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - k.last_register)
                                                  .count()) +
                               " s ago)") +
                    "\n";
        }
        o += "inventory: " + std::to_string(known.size()) + " known, " + std::to_string(known.size() - away) +
             " registering, " + std::to_string(away) + " forgotten or never seen\n" + rows;
    }
    return o;
}

}  // namespace vg::daemon
