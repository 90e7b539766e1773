// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/engine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "filters/media/media_classifier.h"
#include "filters/sdp/sdp_parser.h"
#include "filters/sip/sip_parser.h"
#include "filters/sip/sip_uri.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// An INVITE transaction without a final answer is given up after Timer C
// (RFC 3261 §16.6: more than 3 minutes); we use 3 minutes.
constexpr Duration kInviteTimeout = seconds(180);
// A 401/407-challenged INVITE is normally re-sent at once with credentials;
// its dialog record is kept this long so the retry is not counted twice.
constexpr Duration kChallengeGrace = seconds(32);
// Scanner behaviour window and thresholds (per source).
constexpr Duration kScanWindow = seconds(60);
constexpr std::uint16_t kScanDistinctTargets = 8;
constexpr std::uint16_t kScanOptions = 20;
constexpr std::uint16_t kScanRequests = 50;
// Egress flow memory (return traffic), like conntrack's UDP stream timeout.
constexpr Duration kEgressUdpTimeout = seconds(120);
constexpr Duration kEgressTcpTimeout = seconds(600);
// Registration lifetime when neither Contact nor Expires says (RFC 3261 §10.2.1.1).
constexpr std::uint32_t kDefaultRegisterExpires = 3600;

std::uint64_t hash_bytes(std::string_view s) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h == 0 ? 1 : h;
}

std::uint32_t hash32(std::string_view s) noexcept {
    const std::uint64_t h = hash_bytes(s);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

bool looks_like_sdp(const sip::SipMessage& m) noexcept {
    if (m.body.empty()) return false;
    if (!m.content_type.empty()) return text::icontains(m.content_type, "application/sdp");
    return text::starts_with(m.body, "v=0");
}

// A quick look at a payload on a port the policy does not call SIP: does it
// start like a SIP request or response? (Hijacked handsets register to rogue
// servers on any port.)
bool payload_is_sip(std::string_view s) noexcept {
    if (text::starts_with(s, "SIP/2.0 ")) return true;
    std::size_t i = 0;
    while (i < s.size() && i < 16 && text::is_token_char(s[i])) ++i;
    if (i == 0 || i >= s.size() || s[i] != ' ') return false;
    const std::size_t eol = s.find('\n');
    const std::string_view first = s.substr(0, eol == std::string_view::npos ? std::min<std::size_t>(s.size(), 512) : eol);
    return first.find(" SIP/2.0") != std::string_view::npos;
}

seconds to_seconds(config::Seconds s) noexcept { return seconds(s.count()); }

sip::Limits sip_limits(const config::Policy& pol) noexcept {
    sip::Limits lim;
    lim.max_message_size = pol.sip.max_message_size;
    lim.max_headers = std::min<std::size_t>(pol.sip.max_headers, sip::kMaxHeaders);
    return lim;
}

sip::TcpStreamConfig tcp_config(const EngineLimits& limits, const config::Policy& pol) {
    sip::TcpStreamConfig c;
    c.max_streams = limits.max_tcp_streams;
    c.max_bytes_per_stream = std::max<std::size_t>(limits.max_tcp_stream_bytes, pol.sip.max_message_size);
    c.limits = sip_limits(pol);
    return c;
}

}  // namespace

std::string_view dialog_state_name(DialogState s) noexcept {
    switch (s) {
    case DialogState::calling: return "calling";
    case DialogState::early: return "early";
    case DialogState::confirmed: return "confirmed";
    case DialogState::ended: return "ended";
    }
    return "?";
}

Engine::Engine(std::shared_ptr<const CompiledPolicy> rules, const EngineLimits& limits)
    : rules_(std::move(rules)),
      limits_(limits),
      dialogs_(limits.max_dialogs),
      pinholes_(limits.max_pinholes),
      handsets_(limits.max_handsets),
      egress_(limits.max_egress_flows),
      scan_(limits.max_scan_sources),
      rates_(std::max<std::size_t>(16, rules_->p().sip.max_tracked_sources)),
      tcp_(tcp_config(limits, rules_->p())) {}

std::size_t Engine::table_bytes() const noexcept {
    return dialogs_.memory_bytes() + pinholes_.memory_bytes() + handsets_.memory_bytes() +
           egress_.memory_bytes() + scan_.memory_bytes() + rates_.memory_bytes() + sizeof(*this);
}

Event Engine::make_event(EventType t, const net::DecodedPacket* p, Timestamp now) const {
    Event e;
    e.type = t;
    e.time = now;
    e.monitor = rules_->p().mode == config::Mode::monitor;
    if (p != nullptr) {
        e.source = p->src;
        e.destination = p->dst;
        e.source_port = p->src_port;
        e.destination_port = p->dst_port;
        e.protocol = p->protocol;
    }
    return e;
}

void Engine::emit_eviction(std::string_view table, Timestamp now, EventSink& ev) {
    Event e = make_event(EventType::table_eviction, nullptr, now);
    assign_truncated(e.detail, table);
    ev.on_event(e);
}

void Engine::count_sip(const sip::SipMessage& m) noexcept {
    ++stats_.sip_messages;
    if (m.is_request()) {
        ++stats_.sip_requests[static_cast<std::size_t>(m.method) & 15];
    } else if (m.is_response()) {
        ++stats_.sip_responses_by_class[std::min<std::size_t>(m.status_code / 100, 6)];
        if (m.status_code < 700) ++responses_.counts[m.status_code];
    }
}

Decision Engine::finish(Decision d, Timestamp) {
    if (d.verdict == Verdict::drop && rules_->p().mode == config::Mode::monitor) {
        d.verdict = Verdict::accept;
        d.monitored = true;
        ++stats_.monitored;
    }
    ++stats_.verdicts[static_cast<std::size_t>(d.verdict)];
    ++stats_.reasons[static_cast<std::size_t>(d.reason)];
    return d;
}

Decision Engine::process(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    ++stats_.packets;
    const CompiledPolicy& r = *rules_;
    if (!p.ok()) {
        // Where the addresses could be read, only the voice network's packets
        // are ours to judge.
        const bool ours = (p.src.valid() && r.handsets.contains(p.src)) || (p.dst.valid() && r.handsets.contains(p.dst));
        if (p.src.valid() && !ours) return finish({Verdict::accept, Reason::not_voice_network}, now);
        Event e = make_event(EventType::malformed, &p, now);
        assign_truncated(e.detail, p.reason);
        ev.on_event(e);
        return finish({Verdict::drop, Reason::malformed_packet}, now);
    }
    const bool src_in = r.handsets.contains(p.src);
    const bool dst_in = r.handsets.contains(p.dst);
    if (src_in && dst_in) return finish({Verdict::accept, Reason::handset_internal}, now);
    if (!src_in && !dst_in) return finish({Verdict::accept, Reason::not_voice_network}, now);
    if (p.is_fragment) return finish({Verdict::drop, Reason::fragment}, now);
    return finish(dst_in ? inbound(p, now, ev) : outbound(p, now, ev), now);
}

// ---------------------------------------------------------------------------
// Inbound

Decision Engine::inbound(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    const CompiledPolicy& r = *rules_;
    const config::Policy& pol = r.p();
    const bool sip_port = p.has_l4 && (r.is_sip_port(p.src_port) || r.is_sip_port(p.dst_port));

    if (sip_port) {
        if (const PeerIndex* pbx = r.pbx_signalling.lookup(p.src)) return sip_packet(p, Dir::inbound, true, *pbx, now, ev);
    }

    if (p.is_udp()) {
        bool handled = false;
        Decision d = inbound_media(p, now, ev, handled);
        if (handled) return d;
    }

    if (const PeerIndex* s = r.support.lookup(p.src)) {
        const config::ServicePeer& peer = pol.peers.support[*s];
        const config::Transport t = p.is_tcp() ? config::Transport::tcp : config::Transport::udp;
        if (p.has_l4) {
            for (const config::ServicePort& sp : peer.ports)
                if (sp.transport == t && sp.ports.contains(p.dst_port))
                    return {Verdict::accept_verified, Reason::support_allowed};
        }
        if (!sip_port) {
            Event e = make_event(EventType::support_denied, &p, now);
            assign_truncated(e.detail, peer.name);
            ev.on_event(e);
            return {Verdict::drop, Reason::support_port_denied};
        }
    }

    if (p.has_l4) {
        if (EgressFlow* f = egress_.find(p.flow_key())) {
            if (f->initiator == p.dst && f->expires > now) {
                f->expires = now + (p.is_tcp() ? kEgressTcpTimeout : kEgressUdpTimeout);
                return {Verdict::accept, Reason::egress_return};
            }
        }
    }

    const PeerIndex* media_src = p.is_udp() ? r.pbx_media.lookup(p.src) : nullptr;
    if (media_src != nullptr && pol.media.static_allowance) {
        const config::PortRange& ports = pol.peers.pbx[*media_src].media.ports;
        if (ports.last == 0 || ports.contains(p.src_port)) return {Verdict::accept_verified, Reason::media_pinhole};
    }

    if (sip_port) return inspect_unlisted_sip(p, now, ev);

    if (media_src != nullptr) return {Verdict::drop, Reason::media_no_pinhole};
    ev.on_event(make_event(EventType::unlisted_source, &p, now));
    return {Verdict::drop, Reason::unlisted_source};
}

Decision Engine::inbound_media(const net::DecodedPacket& p, Timestamp now, EventSink& ev, bool& handled) {
    const CompiledPolicy& r = *rules_;
    const config::Policy& pol = r.p();
    Pinhole* ph = pinholes_.find(PinholeKey{p.dst, p.dst_port});
    if (ph == nullptr) return {};
    handled = true;
    bool allowed = false;
    if (const PeerIndex* m = r.pbx_media.lookup(p.src)) {
        const config::PortRange& ports = pol.peers.pbx[*m].media.ports;
        allowed = ports.last == 0 || ports.contains(p.src_port);
    }
    if (allowed && pol.media.strict_source_port && ph->remote_known)
        allowed = p.src == ph->remote && p.src_port == ph->remote_port;
    if (!allowed) {
        Event e = make_event(EventType::media_injection, &p, now);
        e.handset = p.dst;
        e.handset_port = p.dst_port;
        ev.on_event(e);
        return {Verdict::drop, Reason::media_injection};
    }
    ph->last_activity = now;
    if (!ph->verified) {
        media::Options o;
        o.srtp = ph->srtp;
        const media::Classification c = media::classify(p.payload, p.payload_length, o);
        if (!c.ok()) {
            Event e = make_event(EventType::malformed, &p, now);
            assign_truncated(e.detail, c.reason);
            ev.on_event(e);
            return {Verdict::drop, Reason::media_not_rtp};
        }
        ph->verified = true;
        ph->verified_source = p.src;
        ph->verified_source_port = p.src_port;
    }
    return {Verdict::accept_verified, Reason::media_pinhole};
}

Decision Engine::inspect_unlisted_sip(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    // Dropped whatever it says; parsed so scanners are named in the log.
    if (p.is_udp() && p.payload_length > 0) {
        sip::Limits lim;
        const sip::ParseResult pr = sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg_);
        if (pr.status == sip::Status::ok && msg_.kind != sip::MessageKind::keepalive) {
            count_sip(msg_);
            if (!scanner_user_agent(p, msg_, now, ev)) scanner_behaviour(p, msg_, now, ev);
            Event e = make_event(EventType::unlisted_source, &p, now);
            assign_truncated(e.method, msg_.is_request() ? msg_.method_text : std::string_view("response"));
            assign_truncated(e.user_agent, msg_.user_agent.empty() ? msg_.server : msg_.user_agent);
            ev.on_event(e);
            return {Verdict::drop, Reason::unlisted_source};
        }
    }
    ev.on_event(make_event(EventType::unlisted_source, &p, now));
    return {Verdict::drop, Reason::unlisted_source};
}

Engine::SipSummary Engine::observe_kernel_drop(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    const CompiledPolicy& r = *rules_;
    if (!p.ok() || !p.is_udp() || p.payload_length == 0) return {};
    if (!r.is_sip_port(p.src_port) && !r.is_sip_port(p.dst_port) && !payload_is_sip(p.payload_text())) return {};
    sip::Limits lim;
    const sip::ParseResult pr = sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg_);
    if (pr.status != sip::Status::ok || msg_.kind == sip::MessageKind::keepalive) return {};
    if (!scanner_user_agent(p, msg_, now, ev)) scanner_behaviour(p, msg_, now, ev);
    return {msg_.is_request() ? msg_.method_text : std::string_view("response"),
            msg_.user_agent.empty() ? msg_.server : msg_.user_agent};
}

bool Engine::scanner_user_agent(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    const ScannerPatternSet& set = rules_->scanners;
    std::optional<std::size_t> hit = set.match(m.user_agent);
    if (!hit && !m.server.empty()) hit = set.match(m.server);
    if (!hit && m.has_from) hit = set.match(m.from.display_name);
    if (!hit) return false;
    Event e = make_event(EventType::scanner, &p, now);
    assign_truncated(e.method, m.is_request() ? m.method_text : std::string_view("response"));
    assign_truncated(e.user_agent, m.user_agent.empty() ? m.server : m.user_agent);
    e.detail.assign("user_agent:");
    e.detail.append(set.name(*hit).substr(0, 48));
    ev.on_event(e);
    return true;
}

void Engine::scanner_behaviour(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    if (!m.is_request()) return;
    auto r = scan_.find_or_insert(p.src);
    if (r.value == nullptr) return;
    ScanSource& s = *r.value;
    if (r.inserted || now - s.window_start > kScanWindow) {
        s = ScanSource{};
        s.window_start = now;
    }
    ++s.requests;
    if (m.method == sip::Method::options) ++s.options;
    // Distinct targets: the To user at the destination address.
    const std::uint32_t h = hash32(m.to.uri.user) ^ static_cast<std::uint32_t>(p.dst.hash());
    bool seen = false;
    for (std::uint8_t i = 0; i < s.target_count; ++i) seen = seen || s.targets[i] == h;
    if (!seen) {
        ++s.distinct;
        if (s.target_count < 8) s.targets[s.target_count++] = h;
        else s.targets[s.distinct % 8] = h;
    }
    if (s.reported) return;
    const char* what = nullptr;
    if (s.distinct >= kScanDistinctTargets) what = "behaviour:many_targets";
    else if (s.options >= kScanOptions) what = "behaviour:options_sweep";
    else if (s.requests >= kScanRequests) what = "behaviour:request_flood";
    if (what == nullptr) return;
    s.reported = true;
    Event e = make_event(EventType::scanner, &p, now);
    assign_truncated(e.method, m.method_text);
    assign_truncated(e.user_agent, m.user_agent);
    e.detail.assign(what);
    e.count = s.requests;
    ev.on_event(e);
}

// ---------------------------------------------------------------------------
// Outbound

Decision Engine::outbound(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    const CompiledPolicy& r = *rules_;
    const config::Policy& pol = r.p();
    const bool sip_port = p.has_l4 && (r.is_sip_port(p.dst_port) || r.is_sip_port(p.src_port));
    const bool sip_payload = p.has_l4 && p.payload_length > 0 && payload_is_sip(p.payload_text());
    const PeerIndex* pbx = r.pbx_signalling.lookup(p.dst);

    if (sip_port || sip_payload) {
        if (pbx != nullptr && sip_port) return sip_packet(p, Dir::outbound, true, *pbx, now, ev);
        if (pbx == nullptr && (sip_payload || (r.is_sip_port(p.dst_port) && p.payload_length > 0) ||
                               (p.is_tcp() && r.is_sip_port(p.dst_port)))) {
            Event e = make_event(EventType::rogue_sip_destination, &p, now);
            e.handset = p.src;
            if (p.is_udp()) {
                sip::Limits lim;
                if (sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg_).status == sip::Status::ok &&
                    msg_.kind != sip::MessageKind::keepalive) {
                    count_sip(msg_);
                    assign_truncated(e.method, msg_.is_request() ? msg_.method_text : std::string_view("response"));
                    assign_truncated(e.user_agent, msg_.user_agent);
                    if (msg_.is_request()) assign_truncated(e.detail, msg_.request_uri.raw);
                }
            }
            ev.on_event(e);
            return {Verdict::drop, Reason::rogue_sip_destination};
        }
    }

    if (p.is_udp()) {
        if (pinholes_.find(PinholeKey{p.src, p.src_port}) != nullptr && r.pbx_media.contains(p.dst))
            return {Verdict::accept, Reason::media_outbound};
    }

    bool allowed = !pol.egress.allow_list;
    if (!allowed) {
        if (const PeerIndex* e = r.egress.lookup(p.dst)) {
            const config::ServicePeer& peer = pol.egress.allow[*e];
            const config::Transport t = p.is_tcp() ? config::Transport::tcp : config::Transport::udp;
            if (p.has_l4)
                for (const config::ServicePort& sp : peer.ports)
                    if (sp.transport == t && sp.ports.contains(p.dst_port)) allowed = true;
            if (peer.ports.empty()) allowed = true;
        }
    }
    if (!allowed) {
        Event e = make_event(EventType::egress_denied, &p, now);
        e.handset = p.src;
        ev.on_event(e);
        return {Verdict::drop, Reason::egress_denied};
    }
    if (p.has_l4) {
        auto ins = egress_.find_or_insert(p.flow_key());
        if (ins.evicted) ++stats_.evictions_egress;
        if (ins.value != nullptr) {
            ins.value->initiator = p.src;
            ins.value->expires = now + (p.is_tcp() ? kEgressTcpTimeout : kEgressUdpTimeout);
        }
    }
    return {Verdict::accept, Reason::egress_allowed};
}

// ---------------------------------------------------------------------------
// SIP

Decision Engine::sip_packet(const net::DecodedPacket& p, Dir dir, bool, PeerIndex pbx, Timestamp now, EventSink& ev) {
    if (p.is_udp()) {
        if (p.payload_length == 0) return {Verdict::accept, Reason::sip_inspected};
        return sip_message(p, p.payload_text(), dir, pbx, now, ev);
    }
    if (!p.is_tcp()) return {Verdict::accept, Reason::sip_inspected};
    // SIP over TCP: reassemble in order, judge every complete message. The
    // segment is dropped if any message it completes is dropped.
    Decision verdict{Verdict::accept, Reason::sip_inspected};
    tcp_.feed(p, now, [&](const sip::TcpMessage& tm) {
        Decision d{Verdict::accept, Reason::sip_inspected};
        if (tm.event == sip::TcpEvent::malformed || tm.event == sip::TcpEvent::overflow) {
            ++stats_.sip_malformed;
            Event e = make_event(EventType::malformed, &p, now);
            assign_truncated(e.detail, tm.reason);
            ev.on_event(e);
            if (rules_->p().sip.drop_malformed) d = {Verdict::drop, Reason::sip_malformed};
        } else if (tm.event == sip::TcpEvent::message && tm.sip != nullptr) {
            d = judge_sip(p, *tm.sip, dir, pbx, now, ev);
        }
        if (d.verdict == Verdict::drop && verdict.verdict != Verdict::drop) verdict = d;
    });
    return verdict;
}

Decision Engine::sip_message(const net::DecodedPacket& p, std::string_view bytes, Dir dir, PeerIndex pbx,
                             Timestamp now, EventSink& ev) {
    const config::Policy& pol = rules_->p();
    const sip::ParseResult pr = sip::parse_message(bytes, sip::Transport::datagram, sip_limits(pol), msg_);
    if (pr.status != sip::Status::ok) {
        ++stats_.sip_malformed;
        Event e = make_event(EventType::malformed, &p, now);
        assign_truncated(e.detail, pr.reason != nullptr ? pr.reason : "sip_incomplete");
        ev.on_event(e);
        if (pol.sip.drop_malformed) return {Verdict::drop, Reason::sip_malformed};
        return {Verdict::accept, Reason::sip_inspected};
    }
    return judge_sip(p, msg_, dir, pbx, now, ev);
}

Decision Engine::judge_sip(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx,
                           Timestamp now, EventSink& ev) {
    const config::Policy& pol = rules_->p();
    if (m.kind == sip::MessageKind::keepalive) return {Verdict::accept, Reason::sip_inspected};
    count_sip(m);

    if (dir == Dir::inbound) {
        if (scanner_user_agent(p, m, now, ev) && pol.sip.drop_scanners) return {Verdict::drop, Reason::sip_scanner};
        if (m.is_request()) {
            std::string_view method = m.method_text;
            const MethodRate* rate = rules_->rate_for(method);
            if (rate != nullptr) {
                const auto idx = static_cast<std::uint8_t>(rate - rules_->rates.data());
                auto ins = rates_.find_or_insert(RateKey{p.src, idx});
                if (ins.value != nullptr) {
                    if (ins.inserted) *ins.value = TokenBucketState::full(rate->spec, now);
                    if (!ins.value->take(rate->spec, now)) {
                        Event e = make_event(EventType::rate_limited, &p, now);
                        assign_truncated(e.method, method);
                        assign_truncated(e.rule, rate->method);
                        ev.on_event(e);
                        return {Verdict::drop, Reason::sip_rate_limited};
                    }
                }
            }
        }
    }

    if (m.is_request()) {
        // The toll-fraud guard judges initial INVITEs from handsets.
        if (dir == Dir::outbound && m.method == sip::Method::invite && !m.to.has_tag) {
            // A retransmission of a call already let through is not judged
            // again; the retry of a 401/407-challenged INVITE is judged but
            // not counted again against the hourly limits.
            const Dialog* existing = dialogs_.find(hash_bytes(m.call_id));
            const bool ours = existing != nullptr && existing->handset_is_caller && existing->handset == p.src;
            const bool retransmission = ours && existing->state != DialogState::ended;
            const bool challenged_retry = ours && existing->state == DialogState::ended && existing->challenged;
            if (!retransmission) {
                const Decision d = toll_guard(p, m, now, ev, !challenged_retry);
                if (d.verdict == Verdict::drop) return d;
            }
        }
        track_request(p, m, dir, pbx, now, ev);
    } else {
        track_response(p, m, dir, now, ev);
    }
    if (dir == Dir::outbound) note_handset(p.src, m, now, ev);
    return {Verdict::accept, Reason::sip_inspected};
}

// The dialled number of an INVITE: the user part of a sip/sips
// Request-URI (unescaped) or a tel number.
static bool dialled_number(const sip::Uri& uri, char* buf, std::size_t cap, std::string_view& out) {
    if (!uri.valid || !uri.has_user || uri.user.empty()) {
        if (uri.scheme == sip::UriScheme::tel && !uri.user.empty()) {
            out = uri.user;
            return true;
        }
        return false;
    }
    const sip::UnescapeResult u = sip::uri_unescape(uri.user, buf, cap);
    if (!u.ok || u.had_nul) {
        out = uri.user;
        return true;
    }
    out = std::string_view(buf, u.length);
    return true;
}

Decision Engine::toll_guard(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev,
                            bool count_call) {
    const CompiledPolicy& r = *rules_;
    const config::Policy::TollFraud& tf = r.p().toll_fraud;
    if (!tf.enabled || !r.dial_plan) return {Verdict::accept, Reason::sip_inspected};

    char buf[128];
    std::string_view dialled;
    if (!dialled_number(m.request_uri, buf, sizeof buf, dialled)) return {Verdict::accept, Reason::sip_inspected};
    const NormalisedNumber n = normalise_number(dialled, *r.dial_plan);

    auto block = [&](Reason reason, EventType type, std::string_view rule, std::string_view rule_arg) {
        Event e = make_event(type, &p, now);
        e.handset = p.src;
        assign_truncated(e.method, "INVITE");
        assign_truncated(e.number, n.view());
        assign_truncated(e.dialled, dialled);
        e.rule.assign(rule.substr(0, 48));
        e.rule.append(rule_arg.substr(0, 48 - e.rule.size()));
        assign_truncated(e.call_id, m.call_id);
        assign_truncated(e.user_agent, m.user_agent);
        ev.on_event(e);
        return Decision{Verdict::drop, reason};
    };

    // Emergency and service numbers always go through.
    if (n.cls == NumberClass::service) return {Verdict::accept, Reason::sip_inspected};
    // Names ("sip:alice@pbx") and internal extensions are not toll calls;
    // invalid strings cannot be routed to the PSTN either.
    const bool toll = n.cls == NumberClass::e164 || n.cls == NumberClass::local || n.cls == NumberClass::feature;

    if (toll) {
        const std::string_view cc = r.dial_plan->country_code();
        const auto allow = r.allow.match(n.view(), cc);
        if (tf.allow_list) {
            if (!allow) return block(Reason::toll_fraud, EventType::toll_fraud, "allow_list", "");
        }
        // In deny-list mode allow prefixes are exceptions: the longest match wins.
        const std::size_t allow_len = allow ? allow->length : 0;
        if (auto d = r.deny.match(n.view(), cc); d && d->length > allow_len)
            return block(Reason::toll_fraud, EventType::toll_fraud, "deny_prefix:", d->text);
        if (tf.out_of_hours.enabled && !r.in_business_hours(now)) {
            if (auto d = r.out_of_hours_deny.match(n.view(), cc); d && d->length > allow_len)
                return block(Reason::toll_fraud, EventType::toll_fraud, "out_of_hours:", d->text);
        }
    }

    // Limits: every call except emergency numbers counts.
    const config::Policy::TollFraud::Limits& lim = tf.limits;
    Handset* h = handsets_.find(p.src);
    const std::uint32_t active = h != nullptr ? h->active_calls : 0;
    if (lim.per_handset_concurrent_calls > 0 && active >= lim.per_handset_concurrent_calls)
        return block(Reason::call_limit, EventType::call_limit, "limit:per_handset_concurrent_calls", "");
    if (lim.per_site_concurrent_calls > 0 && site_active_calls_ >= lim.per_site_concurrent_calls)
        return block(Reason::call_limit, EventType::call_limit, "limit:per_site_concurrent_calls", "");

    std::uint32_t per_hour = lim.per_handset_calls_per_hour;
    const bool out_of_hours = tf.out_of_hours.enabled && !r.in_business_hours(now);
    if (out_of_hours && tf.out_of_hours.per_handset_calls_per_hour > 0) per_hour = tf.out_of_hours.per_handset_calls_per_hour;
    if (per_hour > 0 && count_call) {
        auto ins = handsets_.find_or_insert(p.src);
        if (ins.evicted) ++stats_.evictions_handsets;
        if (ins.value != nullptr) {
            Handset& hs = *ins.value;
            if (ins.inserted) {
                hs = Handset{};
                hs.address = p.src;
                hs.first_seen = hs.last_seen = now;
            }
            const RateSpec spec = *RateSpec::make(per_hour, std::chrono::hours(1), per_hour);
            if (!hs.hourly_init) {
                hs.hourly = TokenBucketState::full(spec, now);
                hs.hourly_init = true;
            }
            if (!hs.hourly.take(spec, now))
                return block(Reason::call_limit, EventType::call_limit,
                             out_of_hours ? "limit:out_of_hours_calls_per_hour" : "limit:per_handset_calls_per_hour", "");
        }
    }
    if (lim.per_site_calls_per_hour > 0 && count_call) {
        const RateSpec spec =
            *RateSpec::make(lim.per_site_calls_per_hour, std::chrono::hours(1), lim.per_site_calls_per_hour);
        if (!site_hourly_init_) {
            site_hourly_ = TokenBucketState::full(spec, now);
            site_hourly_init_ = true;
        }
        if (!site_hourly_.take(spec, now))
            return block(Reason::call_limit, EventType::call_limit, "limit:per_site_calls_per_hour", "");
    }
    return {Verdict::accept, Reason::sip_inspected};
}

void Engine::track_request(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx,
                           Timestamp now, EventSink& ev) {
    if (!m.has_call_id || m.call_id.empty()) return;
    const std::uint64_t key = hash_bytes(m.call_id);
    const net::IpAddress& handset = dir == Dir::outbound ? p.src : p.dst;
    const net::IpAddress& remote = dir == Dir::outbound ? p.dst : p.src;

    Dialog* d = dialogs_.touch(key);
    if (m.method == sip::Method::invite && !m.to.has_tag) {
        if (d == nullptr || d->state == DialogState::ended) {
            const bool challenged_retry = d != nullptr && d->handset_is_caller == (dir == Dir::outbound);
            auto ins = dialogs_.find_or_insert(key, [&](const std::uint64_t&, Dialog& old) {
                end_dialog(old, now, ev, "evicted");
            });
            if (ins.evicted) {
                ++stats_.evictions_dialogs;
                emit_eviction("dialogs", now, ev);
            }
            if (ins.value == nullptr) return;
            d = ins.value;
            if (!challenged_retry) ++stats_.dialogs_created;
            *d = Dialog{};
            d->key = key;
            assign_truncated(d->call_id, m.call_id);
            d->handset = handset;
            d->pbx = remote;
            d->pbx_index = pbx;
            d->handset_is_caller = dir == Dir::outbound;
            d->state = DialogState::calling;
            d->created = now;
            d->invite_cseq = m.cseq.number;
            if (dir == Dir::outbound) {
                char buf[128];
                std::string_view dialled;
                if (rules_->dial_plan && dialled_number(m.request_uri, buf, sizeof buf, dialled))
                    d->number = normalise_number(dialled, *rules_->dial_plan).number;
                else
                    assign_truncated(d->number, m.request_uri.user);
            } else {
                assign_truncated(d->number, m.from.uri.user);
            }
            // Counts toward the concurrent limits until it ends.
            d->counted = true;
            ++site_active_calls_;
            auto h = handsets_.find_or_insert(handset);
            if (h.evicted) ++stats_.evictions_handsets;
            if (h.value != nullptr) {
                if (h.inserted) {
                    *h.value = Handset{};
                    h.value->address = handset;
                    h.value->first_seen = now;
                }
                h.value->last_seen = now;
                ++h.value->active_calls;
            }
        }
    }
    if (d == nullptr) {
        // A call the engine never saw start (it began before a restart of
        // the daemon) is hung up: its media may still take the kernel fast
        // path. Say so, naming the handset, so the daemon can end that fast
        // path too — unless the handset has calls the engine knows of.
        if (m.method == sip::Method::bye || m.method == sip::Method::cancel) {
            const Handset* h = handsets_.find(handset);
            if (h == nullptr || h->active_calls == 0) {
                Event e = make_event(EventType::call_ended, &p, now);
                e.handset = handset;
                assign_truncated(e.call_id, m.call_id);
                assign_truncated(e.detail, "unknown_dialog");
                ev.on_event(e);
            }
        }
        return;
    }
    d->last_sip = now;
    switch (m.method) {
    case sip::Method::bye:
    case sip::Method::cancel:
        if (d->state != DialogState::ended) end_dialog(*d, now, ev, m.method == sip::Method::bye ? "bye" : "cancel");
        return;
    case sip::Method::invite:
    case sip::Method::ack:
    case sip::Method::prack:
    case sip::Method::update:
        if (d->state != DialogState::ended && looks_like_sdp(m)) apply_sdp(*d, m.body, dir, now, ev, p);
        return;
    default:
        return;
    }
}

void Engine::track_response(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, Timestamp now,
                            EventSink& ev) {
    if (m.cseq.method == sip::Method::register_ && dir == Dir::inbound) {
        // The PBX accepted a handset's registration: note until when.
        if (m.status_code >= 200 && m.status_code < 300) {
            Handset* h = handsets_.find(p.dst);
            if (h != nullptr) {
                std::uint32_t expires = kDefaultRegisterExpires;
                if (m.contact_count > 0 && m.contacts[0].has_expires && m.contacts[0].expires_valid)
                    expires = m.contacts[0].expires;
                else if (m.expires.present && m.expires.valid)
                    expires = m.expires.value;
                h->registered_until = now + seconds(expires);
            }
        }
        return;
    }
    if (!m.has_call_id) return;
    Dialog* d = dialogs_.touch(hash_bytes(m.call_id));
    if (d == nullptr || d->state == DialogState::ended) return;
    d->last_sip = now;
    if (m.cseq.method != sip::Method::invite && m.cseq.method != sip::Method::update &&
        m.cseq.method != sip::Method::prack)
        return;
    const std::uint16_t code = m.status_code;
    if (code > 100 && code < 300 && looks_like_sdp(m)) apply_sdp(*d, m.body, dir, now, ev, p);
    if (m.cseq.method != sip::Method::invite) return;
    if (code > 100 && code < 200 && d->state == DialogState::calling) d->state = DialogState::early;
    if (code > 100 && code < 300 && m.to.has_tag && d->forks < 255) ++d->forks;
    if (code >= 200 && code < 300 && d->state != DialogState::confirmed) {
        d->state = DialogState::confirmed;
        d->answered = now;
        Event e = make_event(EventType::call_started, &p, now);
        e.handset = d->handset;
        e.number = d->number;
        e.call_id = d->call_id;
        assign_truncated(e.detail, d->handset_is_caller ? "outbound" : "inbound");
        ev.on_event(e);
    } else if (code >= 300 && d->state != DialogState::confirmed) {
        d->challenged = code == 401 || code == 407;
        // A final failure ends the INVITE (a re-INVITE failing leaves the
        // confirmed call as it was, RFC 3261 §14.1).
        char why[16] = "failure_";
        std::snprintf(why + 8, sizeof why - 8, "%u", static_cast<unsigned>(code));
        end_dialog(*d, now, ev, why);
    }
}

void Engine::apply_sdp(Dialog& d, std::string_view body, Dir dir, Timestamp now, EventSink& ev,
                       const net::DecodedPacket& p) {
    sdp::SessionDescription s;
    if (sdp::parse(body, s) != sdp::Status::ok && s.media_count == 0) {
        Event e = make_event(EventType::malformed, &p, now);
        assign_truncated(e.detail, s.reason);
        assign_truncated(e.call_id, d.call_id.view());
        ev.on_event(e);
        return;
    }
    const CompiledPolicy& r = *rules_;
    const config::Policy& pol = r.p();
    const std::size_t n = std::min<std::size_t>(s.media_count, kMaxDialogMedia);
    if (n > d.media_count) d.media_count = static_cast<std::uint8_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
        const sdp::MediaDescription& md = s.media[i];
        MediaLeg& leg = d.media[i];
        const bool usable = md.usable() && md.transport != sdp::Transport::tcp;
        if (dir == Dir::outbound) {
            // The handset's own endpoint: where it wants to receive.
            net::IpAddress addr = md.address;
            if (usable && !md.address_unspecified && !r.handsets.contains(addr)) addr = d.handset;
            const bool receive = usable && !md.address_unspecified;
            const std::uint16_t rtp = receive ? md.rtp_port : 0;
            const std::uint16_t rtcp = receive && pol.media.rtcp && md.rtcp_port != md.rtp_port ? md.rtcp_port : 0;
            const bool same = leg.handset_known && receive && leg.handset == addr && leg.handset_rtp == rtp &&
                              leg.handset_rtcp == rtcp;
            leg.on_hold = md.on_hold;
            leg.srtp = md.transport == sdp::Transport::rtp_savp || md.transport == sdp::Transport::rtp_savpf ||
                       md.transport == sdp::Transport::udp_tls_rtp_savp ||
                       md.transport == sdp::Transport::udp_tls_rtp_savpf;
            if (same) continue;
            if (leg.handset_known) close_leg_pinholes(d, leg, now, ev);
            leg.handset_known = receive;
            leg.handset = addr;
            leg.handset_rtp = rtp;
            leg.handset_rtcp = rtcp;
            if (receive) {
                open_pinhole(d, leg, addr, rtp, false, now, ev);
                if (rtcp != 0) open_pinhole(d, leg, addr, rtcp, true, now, ev);
            }
        } else {
            // The PBX's endpoint: where media will come from.
            if (!usable || md.address_unspecified) continue;
            const PeerIndex* m = r.pbx_media.lookup(md.address);
            if (m == nullptr) {
                Event e = make_event(EventType::media_address_not_allowed, &p, now);
                e.handset = d.handset;
                e.call_id = d.call_id;
                assign_truncated(e.detail, md.connection.present ? md.connection.address_text : std::string_view("session"));
                ev.on_event(e);
            }
            leg.remote = md.address;
            leg.remote_rtp = md.rtp_port;
            leg.remote_rtcp = md.rtcp_port;
            leg.remote_known = true;
            if (leg.handset_known) {
                if (Pinhole* ph = pinholes_.find(PinholeKey{leg.handset, leg.handset_rtp})) {
                    ph->remote = leg.remote;
                    ph->remote_port = leg.remote_rtp;
                    ph->remote_known = true;
                }
                if (leg.handset_rtcp != 0)
                    if (Pinhole* ph = pinholes_.find(PinholeKey{leg.handset, leg.handset_rtcp})) {
                        ph->remote = leg.remote;
                        ph->remote_port = leg.remote_rtcp != 0 ? leg.remote_rtcp : leg.remote_rtp;
                        ph->remote_known = true;
                    }
            }
        }
    }
}

void Engine::open_pinhole(Dialog& d, const MediaLeg& leg, const net::IpAddress& addr, std::uint16_t port, bool rtcp,
                          Timestamp now, EventSink& ev) {
    const PinholeKey key{addr, port};
    auto ins = pinholes_.find_or_insert(key, [&](const PinholeKey& k, Pinhole& old) { close_pinhole(k, old, now, ev); });
    if (ins.evicted) {
        ++stats_.evictions_pinholes;
        emit_eviction("pinholes", now, ev);
    }
    if (ins.value == nullptr) return;
    Pinhole& ph = *ins.value;
    if (!ins.inserted && ph.dialog == d.key) return;
    // The port still belongs to another call (a handset reusing its media
    // port before the previous call's BYE): that pinhole closes first, with
    // its event, so its flow's fast path is removed too.
    if (!ins.inserted) close_pinhole(key, ph, now, ev);
    ph = Pinhole{};
    ph.dialog = d.key;
    ph.pbx_index = d.pbx_index;
    ph.rtcp = rtcp;
    ph.srtp = leg.srtp;
    ph.opened = now;
    ph.last_activity = now;
    if (leg.remote_known) {
        ph.remote = leg.remote;
        ph.remote_port = rtcp ? (leg.remote_rtcp != 0 ? leg.remote_rtcp : leg.remote_rtp) : leg.remote_rtp;
        ph.remote_known = true;
    }
    ++stats_.pinholes_opened;
    Event e = make_event(EventType::pinhole_opened, nullptr, now);
    e.handset = addr;
    e.handset_port = port;
    e.call_id = d.call_id;
    e.source = d.pbx;
    assign_truncated(e.detail, rtcp ? "rtcp" : "rtp");
    ev.on_event(e);
}

void Engine::close_pinhole(const PinholeKey& key, const Pinhole& ph, Timestamp now, EventSink& ev) {
    ++stats_.pinholes_closed;
    Event e = make_event(EventType::pinhole_closed, nullptr, now);
    e.handset = key.address;
    e.handset_port = key.port;
    e.protocol = net::ipproto::udp;
    if (ph.verified) {
        e.source = ph.verified_source;
        e.source_port = ph.verified_source_port;
    }
    e.destination = key.address;
    e.destination_port = key.port;
    ev.on_event(e);
}

void Engine::close_leg_pinholes(const Dialog& d, const MediaLeg& leg, Timestamp now, EventSink& ev) {
    for (std::uint16_t port : {leg.handset_rtp, leg.handset_rtcp}) {
        if (port == 0) continue;
        const PinholeKey key{leg.handset, port};
        const Pinhole* ph = pinholes_.find(key);
        if (ph == nullptr || ph->dialog != d.key) continue;
        close_pinhole(key, *ph, now, ev);
        pinholes_.erase(key);
    }
}

void Engine::end_dialog(Dialog& d, Timestamp now, EventSink& ev, std::string_view why) {
    if (d.state == DialogState::ended) return;
    for (std::size_t i = 0; i < d.media_count; ++i) {
        close_leg_pinholes(d, d.media[i], now, ev);
        d.media[i].handset_known = false;
    }
    if (d.counted) {
        d.counted = false;
        if (site_active_calls_ > 0) --site_active_calls_;
        if (Handset* h = handsets_.find(d.handset))
            if (h->active_calls > 0) --h->active_calls;
    }
    d.state = DialogState::ended;
    d.last_sip = now;
    ++stats_.dialogs_ended;
    Event e = make_event(EventType::call_ended, nullptr, now);
    e.handset = d.handset;
    e.number = d.number;
    e.call_id = d.call_id;
    assign_truncated(e.detail, why);
    ev.on_event(e);
}

void Engine::note_handset(const net::IpAddress& a, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    auto ins = handsets_.find_or_insert(a);
    if (ins.evicted) {
        ++stats_.evictions_handsets;
        emit_eviction("handsets", now, ev);
    }
    if (ins.value == nullptr) return;
    Handset& h = *ins.value;
    if (ins.inserted) {
        h = Handset{};
        h.address = a;
        h.first_seen = now;
    }
    h.last_seen = now;
    const std::string_view ua = m.user_agent.empty() ? m.server : m.user_agent;
    const bool ua_changed = !ua.empty() && h.user_agent.view() != ua.substr(0, 64);
    if (ua_changed) {
        assign_truncated(h.user_agent, ua);
        h.firmware_outdated = false;
        for (const FirmwareRule& fw : rules_->firmware) {
            if (!text::icontains(ua, fw.match)) continue;
            const std::string_view token = find_version(ua, fw.match);
            const auto v = FirmwareVersion::parse(token);
            if (v && *v < fw.minimum) {
                h.firmware_outdated = true;
                Event e = make_event(EventType::firmware_outdated, nullptr, now);
                e.handset = a;
                assign_truncated(e.user_agent, ua);
                e.detail.assign("version:");
                e.detail.append(token.substr(0, 24));
                e.detail.append(" minimum:");
                e.detail.append(std::string_view(fw.minimum_text).substr(0, 24));
                assign_truncated(e.rule, fw.match);
                ev.on_event(e);
            }
            break;
        }
    }
    if (m.is_request() && m.method == sip::Method::register_) {
        const bool first = h.last_register == Timestamp{} || h.stale;
        h.last_register = now;
        h.stale = false;
        if (m.has_to) {
            h.aor.clear();
            h.aor.append(m.to.uri.user.substr(0, 20));
            h.aor.push_back('@');
            h.aor.append(m.to.uri.host.substr(0, 27));
        }
        if (first) {
            Event e = make_event(EventType::handset_registered, nullptr, now);
            e.handset = a;
            e.user_agent = h.user_agent;
            assign_truncated(e.detail, h.aor.view());
            ev.on_event(e);
        }
    }
}

// ---------------------------------------------------------------------------
// Time

void Engine::tick(Timestamp now, EventSink& ev) {
    const config::Policy& pol = rules_->p();
    const Duration idle = to_seconds(pol.media.idle_timeout);
    const Duration max_call = to_seconds(pol.media.max_call_duration);

    dialogs_.erase_if([&](const std::uint64_t&, Dialog& d) {
        if (d.state == DialogState::ended) return now - d.last_sip > kChallengeGrace;
        if (d.state != DialogState::confirmed && now - d.last_sip > kInviteTimeout) {
            end_dialog(d, now, ev, "timeout_no_answer");
            return true;
        }
        if (d.state == DialogState::confirmed && max_call.count() > 0 && now - d.answered > max_call) {
            end_dialog(d, now, ev, "max_call_duration");
            return true;
        }
        return false;
    });

    if (idle.count() > 0) {
        pinholes_.erase_if([&](const PinholeKey& k, Pinhole& ph) {
            if (ph.verified) return false;   // live media takes the kernel fast path
            Timestamp last = ph.last_activity;
            if (const Dialog* d = dialogs_.find(ph.dialog)) last = std::max(last, d->last_sip);
            if (now - last <= idle) return false;
            close_pinhole(k, ph, now, ev);
            return true;
        });
    }

    egress_.erase_if([&](const net::FlowKey&, EgressFlow& f) { return f.expires <= now; });

    const Duration stale = to_seconds(pol.handsets.stale_after);
    if (stale.count() > 0) {
        for (auto entry : handsets_) {
            Handset& h = entry.value;
            const Timestamp last = h.last_register == Timestamp{} ? h.first_seen : h.last_register;
            if (!h.stale && now - last > stale) {
                h.stale = true;
                Event e = make_event(EventType::handset_stale, nullptr, now);
                e.handset = h.address;
                e.user_agent = h.user_agent;
                assign_truncated(e.detail, h.aor.view());
                e.count = static_cast<std::uint32_t>(duration_cast<seconds>(now - last).count());
                ev.on_event(e);
            }
        }
    }
}

void Engine::reload(std::shared_ptr<const CompiledPolicy> rules, Timestamp now, EventSink& ev) {
    rules_ = std::move(rules);
    const CompiledPolicy& r = *rules_;
    // Pinholes whose PBX or media range the new policy no longer has close
    // now: their media would be refused anyway, and the kernel fast path for
    // them must go.
    pinholes_.erase_if([&](const PinholeKey& k, Pinhole& ph) {
        bool keep = ph.pbx_index < r.p().peers.pbx.size();
        if (keep && ph.remote_known) keep = r.pbx_media.contains(ph.remote);
        if (keep && ph.verified) keep = r.pbx_media.contains(ph.verified_source);
        if (keep && !r.handsets.contains(k.address)) keep = false;
        if (keep) return false;
        close_pinhole(k, ph, now, ev);
        return true;
    });
    // Rate-limit state keyed by rate index is reset: the list may have changed.
    rates_.clear();
}

}  // namespace vg::engine
