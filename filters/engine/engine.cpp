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

// Is this the start of a SIP message, whatever the port? Hijacked handsets
// register with rogue servers on any port, and a server skips leading
// whitespace (RFC 3261 §7.5) and reads the version ignoring case (§7.1).
// `whole`: a datagram (all there is); else the start of a TCP stream, which
// may not yet hold a whole line (undecided while it could still become one).
enum class StartKind : std::uint8_t { sip, other, undecided };

bool ci_sip_version_at(std::string_view s, std::size_t i) noexcept {
    return s.size() >= i + 5 && (s[i] | 0x20) == 's' && (s[i + 1] | 0x20) == 'i' && (s[i + 2] | 0x20) == 'p' &&
           s[i + 3] == '/' && text::is_digit(s[i + 4]);
}

StartKind classify_start(std::string_view s, bool whole) noexcept {
    constexpr std::size_t kMaxLine = 4096;
    std::size_t i = 0;
    while (i < s.size() && (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '\t')) ++i;
    s.remove_prefix(i);
    if (s.empty()) return whole ? StartKind::other : StartKind::undecided;
    if (sip::starts_like_tls(s)) return StartKind::other;
    std::size_t eol = s.find_first_of("\r\n");
    if (eol == std::string_view::npos) {
        if (!whole) return s.size() < kMaxLine && sip::starts_like_sip(s) ? StartKind::undecided : StartKind::other;
        eol = s.size();
    }
    const std::string_view line = s.substr(0, eol);
    if (ci_sip_version_at(line, 0)) return StartKind::sip;            // status line
    // SIP inside a WebSocket (RFC 7118): the upgrade request asks for the
    // "sip" subprotocol; the frames after it are masked, unreadable.
    if (line.size() > 9 && text::iequals(line.substr(line.size() - 9, 6), " HTTP/")) {
        const std::size_t head = s.find("\r\n\r\n");
        const std::string_view h = s.substr(0, head == std::string_view::npos ? s.size() : head);
        for (std::size_t at = 0; at < h.size();) {
            const std::size_t e = h.find('\n', at);
            const std::string_view hl = h.substr(at, (e == std::string_view::npos ? h.size() : e) - at);
            at = e == std::string_view::npos ? h.size() : e + 1;
            if (!text::istarts_with(hl, "sec-websocket-protocol:")) continue;
            sip::CommaIterator it(text::trim_wsp(hl.substr(23)));
            std::string_view proto;
            while (it.next(proto))
                if (text::iequals(text::trim_wsp(proto), "sip")) return StartKind::sip;
        }
        // An upgrade whose head is not complete yet could still ask for it.
        if (head == std::string_view::npos && !whole && text::icontains(h, "websocket")) return StartKind::undecided;
        return StartKind::other;
    }
    std::size_t t = 0;
    while (t < line.size() && text::is_token_char(line[t])) ++t;
    if (t == 0 || t >= line.size() || line[t] != ' ') return StartKind::other;
    const std::size_t last = line.rfind(' ');
    if (last == t || !ci_sip_version_at(line, last + 1)) return StartKind::other;
    return StartKind::sip;                                             // request line
}

// Dialogs are keyed by Call-ID and the caller's tag (the From tag of the
// initial INVITE), as PBXs key them: a new call on an old Call-ID is a new
// dialog.
std::uint64_t dialog_key(std::string_view call_id, std::string_view caller_tag) noexcept {
    std::uint64_t h = hash_bytes(call_id);
    h ^= hash_bytes(caller_tag) * 0x9e3779b97f4a7c15ull;
    return h == 0 ? 1 : h;
}

// The bytes of a parsed message, start line to end of body.
std::string_view message_bytes(const sip::SipMessage& m) noexcept {
    if (m.start_line.data() == nullptr || m.body.data() == nullptr) return m.start_line;
    return std::string_view(m.start_line.data(),
                            static_cast<std::size_t>(m.body.data() + m.body.size() - m.start_line.data()));
}

// Connections seen without their TCP handshake are picked up this long after
// the engine starts (tcp_stream.h): the daemon's restart, a capture's start.
constexpr Duration kTcpPickupGrace = seconds(120);

seconds to_seconds(config::Seconds s) noexcept { return seconds(s.count()); }

sip::Limits sip_limits(const config::Policy& pol) noexcept {
    sip::Limits lim;
    lim.max_message_size = pol.sip.max_message_size;
    lim.max_headers = std::min<std::size_t>(pol.sip.max_headers, sip::kMaxHeaders);
    // Judge methods as the PBX will take them (see sip_parser.h).
    lim.methods_ignore_case = true;
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
      tcp_(tcp_config(limits, rules_->p())),
      toll_(limits.max_limit_keys),
      trailing_msg_(std::make_unique<sip::SipMessage>()) {}

std::size_t Engine::table_bytes() const noexcept {
    return dialogs_.memory_bytes() + pinholes_.memory_bytes() + handsets_.memory_bytes() +
           egress_.memory_bytes() + scan_.memory_bytes() + rates_.memory_bytes() + toll_.memory_bytes() +
           sizeof(*this);
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
        d.reset = false;
        d.monitored = true;
        ++stats_.monitored;
    }
    ++stats_.verdicts[static_cast<std::size_t>(d.verdict)];
    ++stats_.reasons[static_cast<std::size_t>(d.reason)];
    return d;
}

Decision Engine::process(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    ++stats_.packets;
    if (!started_) {
        started_ = true;
        tcp_.set_pickup_until(now + kTcpPickupGrace);
    }
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
        if (const PeerIndex* pbx = r.pbx_signalling.lookup(p.src)) return sip_packet(p, Dir::inbound, *pbx, now, ev);
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
    if (!r.is_sip_port(p.src_port) && !r.is_sip_port(p.dst_port) &&
        classify_start(p.payload_text(), true) != StartKind::sip)
        return {};
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
    const PeerIndex* pbx = r.pbx_signalling.lookup(p.dst);
    const PeerIndex* pbx_media = r.pbx_media.lookup(p.dst);

    // 1. SIP to the PBX on a SIP port; from a SIP port, a connection the PBX
    // opened to the handset, or a UDP response to a PBX that sent its
    // request from another port (responses go back where requests came from).
    if (pbx != nullptr && p.has_l4 && (p.is_udp() || p.is_tcp())) {
        const bool to_sip = r.is_sip_port(p.dst_port);
        const bool from_sip = r.is_sip_port(p.src_port);
        const bool response = p.is_udp() && text::istarts_with(p.payload_text(), "SIP/");
        if (to_sip || (from_sip && (p.is_tcp() || response))) return sip_packet(p, Dir::outbound, *pbx, now, ev);
    }

    // A SIP port of any other server: refused outright, whatever the content
    // (a TCP connection is refused at its SYN).
    if (pbx == nullptr && p.has_l4 && r.is_sip_port(p.dst_port) &&
        (p.is_tcp() || (p.is_udp() && p.payload_length > 0)))
        return other_sip(p, false, now, ev, p.is_tcp() && p.payload_length > 0);

    if (p.is_tcp()) return outbound_tcp_egress(p, pbx != nullptr || pbx_media != nullptr, now, ev);

    if (p.is_udp()) {
        // 2. SIP anywhere else, judged by content.
        if (p.payload_length > 0 && classify_start(p.payload_text(), true) == StartKind::sip)
            return other_sip(p, pbx != nullptr, now, ev, false);

        // 3. Media from a pinhole port goes only to the PBX's media.
        if (const Pinhole* ph = pinholes_.find(PinholeKey{p.src, p.src_port})) {
            bool allowed = false;
            if (pbx_media != nullptr) {
                const config::PortRange& ports = pol.peers.pbx[*pbx_media].media.ports;
                allowed = ports.last == 0 || ports.contains(p.dst_port);
                if (allowed && pol.media.strict_source_port && ph->remote_known)
                    allowed = p.dst == ph->remote && p.dst_port == ph->remote_port;
            }
            if (allowed) return {Verdict::accept_verified, Reason::media_outbound};
            Event e = make_event(EventType::media_destination_denied, &p, now);
            e.handset = p.src;
            e.handset_port = p.src_port;
            ev.on_event(e);
            return {Verdict::drop, Reason::media_destination_denied};
        }
        // Media to the PBX's media range outside any call: its reply would
        // be let in as return traffic with no pinhole behind it.
        if (pbx_media != nullptr) {
            const config::PortRange& ports = pol.peers.pbx[*pbx_media].media.ports;
            if (ports.last != 0 && ports.contains(p.dst_port) && !r.is_sip_port(p.dst_port))
                return {Verdict::drop, Reason::media_no_pinhole};
        }
    }

    // 4. Other egress.
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
            if (ins.inserted) *ins.value = EgressFlow{};
            ins.value->initiator = p.src;
            ins.value->expires = now + (p.is_tcp() ? kEgressTcpTimeout : kEgressUdpTimeout);
        }
    }
    return {Verdict::accept, Reason::egress_allowed};
}

// TCP from a handset that is not SIP to the PBX on a SIP port: judged on the
// first data segment of the connection (is it SIP?), then the egress rules,
// and verified so the rest takes the kernel fast path. A connection whose
// first data the engine cannot tell yet (a few bytes that could still start a
// request line) is held back by dropping that segment: TCP sends it again,
// usually with more.
Decision Engine::outbound_tcp_egress(const net::DecodedPacket& p, bool to_pbx, Timestamp now, EventSink& ev) {
    const config::Policy& pol = rules_->p();
    auto ins = egress_.find_or_insert(p.flow_key());
    if (ins.evicted) ++stats_.evictions_egress;
    EgressFlow* f = ins.value;
    if (f != nullptr && ins.inserted) *f = EgressFlow{};
    if (p.has_tcp_flag(net::tcpflag::syn) && !p.has_tcp_flag(net::tcpflag::ack)) {
        if (f != nullptr && !f->judged) {
            f->syn_seen = true;
            f->isn = p.tcp_seq;
        }
        if (p.payload_length > 0) return {Verdict::drop, Reason::tcp_unjudged};   // Fast Open data
    }
    if (f != nullptr) {
        f->initiator = p.src;
        f->expires = now + kEgressTcpTimeout;
    }
    bool allowed = !pol.egress.allow_list;
    if (!allowed) {
        if (const PeerIndex* e = rules_->egress.lookup(p.dst)) {
            const config::ServicePeer& peer = pol.egress.allow[*e];
            for (const config::ServicePort& sp : peer.ports)
                if (sp.transport == config::Transport::tcp && sp.ports.contains(p.dst_port)) allowed = true;
            if (peer.ports.empty()) allowed = true;
        }
    }
    if (!allowed) {
        Event e = make_event(EventType::egress_denied, &p, now);
        e.handset = p.src;
        ev.on_event(e);
        return {Verdict::drop, Reason::egress_denied};
    }
    if (p.payload_length == 0 || p.has_tcp_flag(net::tcpflag::syn)) return {Verdict::accept, Reason::egress_allowed};
    if (f != nullptr && f->judged) return {Verdict::accept_verified, Reason::egress_allowed};
    // The first data byte of the connection, or (no SYN seen: a connection
    // older than the engine's memory of it) whatever comes.
    if (f != nullptr && f->syn_seen && p.tcp_seq != f->isn + 1) return {Verdict::drop, Reason::tcp_unjudged};
    switch (classify_start(p.payload_text(), false)) {
    case StartKind::sip: return other_sip(p, to_pbx, now, ev, true);
    case StartKind::undecided: return {Verdict::drop, Reason::tcp_unjudged};
    case StartKind::other: break;
    }
    if (f != nullptr) f->judged = true;
    return {Verdict::accept_verified, Reason::egress_allowed};
}

// SIP content to a PBX address on a port the policy does not inspect, or to
// any other server.
Decision Engine::other_sip(const net::DecodedPacket& p, bool to_pbx, Timestamp now, EventSink& ev, bool reset) {
    Event e = make_event(EventType::rogue_sip_destination, &p, now);
    e.handset = p.src;
    sip::Limits lim = sip_limits(rules_->p());
    const sip::Transport t = p.is_udp() ? sip::Transport::datagram : sip::Transport::stream;
    if (sip::parse_message(p.payload_text(), t, lim, msg_).status == sip::Status::ok &&
        msg_.kind != sip::MessageKind::keepalive) {
        count_sip(msg_);
        assign_truncated(e.method, msg_.is_request() ? msg_.method_text : std::string_view("response"));
        assign_truncated(e.user_agent, msg_.user_agent);
        if (msg_.is_request()) assign_truncated(e.detail, msg_.request_uri.raw);
    }
    if (to_pbx && e.detail.empty()) assign_truncated(e.detail, "pbx_port_not_inspected");
    ev.on_event(e);
    Decision d{Verdict::drop, to_pbx ? Reason::sip_other_port : Reason::rogue_sip_destination};
    d.reset = reset;
    return d;
}

// ---------------------------------------------------------------------------
// SIP

void Engine::emit_cut(const net::DecodedPacket& p, const net::IpAddress& handset, std::string_view why,
                      Timestamp now, EventSink& ev) {
    Event e = make_event(EventType::sip_stream_cut, &p, now);
    e.handset = handset;
    assign_truncated(e.detail, why);
    ev.on_event(e);
}

Decision Engine::sip_packet(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, Timestamp now, EventSink& ev) {
    if (p.is_udp()) {
        if (p.payload_length == 0) return {Verdict::accept, Reason::sip_inspected};
        return sip_datagram(p, dir, pbx, now, ev);
    }
    // SIP over TCP: tcp_stream.h decides what can be judged; every message a
    // segment completes is judged, and a refused one cuts the connection.
    const net::IpAddress& handset = dir == Dir::outbound ? p.src : p.dst;
    Decision refused{Verdict::drop, Reason::sip_inspected};
    const sip::TcpStreamTable::FeedResult r = tcp_.feed(p, now, [&](const sip::TcpMessage& tm) {
        if (tm.event == sip::TcpEvent::keepalive) return true;
        const Decision d = judge_sip(p, *tm.sip, dir, pbx, now, ev);
        if (d.verdict != Verdict::drop) return true;
        refused = d;
        return false;
    });
    using S = sip::TcpStreamTable::Status;
    Decision d{Verdict::accept, Reason::sip_inspected};
    switch (r.status) {
    case S::not_tcp:
    case S::no_data:
    case S::in_order:
    case S::retransmission:
        return d;
    case S::unjudged:
        return {Verdict::drop, Reason::tcp_unjudged};
    case S::tls: {
        // TLS between a handset and its PBX: nothing to read. It passes (the
        // PBX is the peer the policy trusts), verified so the kernel keeps
        // the rest, and the blind spot is logged.
        Event e = make_event(EventType::tls_uninspected, &p, now);
        e.handset = handset;
        ev.on_event(e);
        return {Verdict::accept_verified, Reason::tls_uninspected};
    }
    case S::refused:
        d = refused;
        emit_cut(p, handset, std::string("after:").append(reason_name(refused.reason)), now, ev);
        break;
    case S::malformed:
    case S::overflow: {
        ++stats_.sip_malformed;
        Event e = make_event(EventType::malformed, &p, now);
        assign_truncated(e.detail, r.reason != nullptr ? r.reason : "tcp_stream_overflow");
        ev.on_event(e);
        emit_cut(p, handset, std::string("malformed:").append(r.reason != nullptr ? r.reason : "overflow"), now, ev);
        d = {Verdict::drop, Reason::sip_malformed};
        break;
    }
    case S::inconsistent:
    case S::urgent:
    case S::after_end:
    case S::unsynced:
        emit_cut(p, handset, to_string(r.status), now, ev);
        d = {Verdict::drop, Reason::sip_stream_cut};
        break;
    case S::cut:
        d = {Verdict::drop, Reason::sip_stream_cut};
        break;
    }
    d.verdict = Verdict::drop;
    d.reset = true;
    return d;
}

Decision Engine::sip_datagram(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, Timestamp now, EventSink& ev) {
    const config::Policy& pol = rules_->p();
    const std::string_view bytes = p.payload_text();
    const sip::ParseResult pr = sip::parse_message(bytes, sip::Transport::datagram, sip_limits(pol), msg_);
    if (pr.status != sip::Status::ok) {
        ++stats_.sip_malformed;
        Event e = make_event(EventType::malformed, &p, now);
        assign_truncated(e.detail, pr.reason != nullptr ? pr.reason : "sip_incomplete");
        ev.on_event(e);
        if (pol.sip.drop_malformed) return {Verdict::drop, Reason::sip_malformed};
        return {Verdict::accept, Reason::sip_inspected};
    }
    // Bytes after Content-Length must be discarded (RFC 3261 §18.3), but a
    // stack that reads them as a second message would act on it: from a
    // handset, a second message there is judged too, before the first.
    if (dir == Dir::outbound && msg_.has_anomaly(sip::anomaly::trailing_data) && pr.consumed < bytes.size()) {
        std::string_view rest = bytes.substr(pr.consumed);
        while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n')) rest.remove_prefix(1);
        if (!rest.empty()) {
            sip::SipMessage& second = *trailing_msg_;
            if (sip::parse_message(rest, sip::Transport::datagram, sip_limits(pol), second).status == sip::Status::ok) {
                const Decision d = judge_sip(p, second, dir, pbx, now, ev);
                if (d.verdict == Verdict::drop) return d;
            }
        }
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
        InviteVerdict iv;
        if (dir == Dir::outbound) {
            const Decision d = judge_handset_request(p, m, now, ev, iv);
            if (d.verdict == Verdict::drop) return d;
        }
        track_request(p, m, dir, pbx, now, ev, dir == Dir::outbound ? &iv : nullptr);
    } else {
        if (dir == Dir::outbound && m.status_code >= 300 && m.status_code < 400 &&
            m.cseq.method == sip::Method::invite) {
            const Decision d = judge_redirect(p, m, now, ev);
            if (d.verdict == Verdict::drop) return d;
        }
        track_response(p, m, dir, now, ev);
    }
    if (dir == Dir::outbound) note_handset(p.src, m, now, ev);
    return {Verdict::accept, Reason::sip_inspected};
}

// The keys a handset's call counts against (toll_guard.h): its address and
// the digest user name (and realm) it authenticates with. Not the From AOR:
// a handset writes what it likes there, and every anonymous (RFC 3323) call
// of the site would share "anonymous@anonymous.invalid".
LimitKeys Engine::limit_keys(const net::DecodedPacket& p, const sip::SipMessage& m) const noexcept {
    LimitKeys k;
    k.add(limit_key("ip", std::string_view(reinterpret_cast<const char*>(p.src.bytes()), p.src.is_v4() ? 4 : 16)));
    for (const sip::HeaderId id : {sip::HeaderId::proxy_authorization, sip::HeaderId::authorization}) {
        const sip::Header* h = m.find(id);
        if (h == nullptr) continue;
        std::string_view v = h->value;
        if (!text::istarts_with(v, "digest")) continue;
        v.remove_prefix(6);
        sip::Param user, realm;
        // Digest credentials are a comma list of name=value (RFC 3261 §25.1).
        sip::CommaIterator it(v);
        std::string_view element;
        while (it.next(element)) {
            const std::size_t eq = element.find('=');
            if (eq == std::string_view::npos) continue;
            const std::string_view name = text::trim_wsp(element.substr(0, eq));
            std::string_view value = text::trim_wsp(element.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
            if (text::iequals(name, "username")) user.value = value;
            if (text::iequals(name, "realm")) realm.value = value;
        }
        if (!user.value.empty()) {
            char id_text[160];
            std::size_t len = 0;
            for (std::string_view part : {user.value, std::string_view("@"), realm.value})
                for (char c : part)
                    if (len < sizeof id_text) id_text[len++] = c;
            k.add(limit_key("auth", std::string_view(id_text, len)));
        }
        break;
    }
    return k;
}

Decision Engine::block(const net::DecodedPacket& p, const sip::SipMessage& m, const TollDecision& d, Timestamp now,
                       EventSink& ev) {
    Event e = make_event(d.event, &p, now);
    e.handset = p.src;
    assign_truncated(e.method, m.is_request() ? m.method_text : std::string_view("response"));
    assign_truncated(e.number, d.number.view());
    assign_truncated(e.dialled, d.dialled.view());
    e.rule = d.rule;
    assign_truncated(e.call_id, m.call_id);
    assign_truncated(e.user_agent, m.user_agent);
    ev.on_event(e);
    return {Verdict::drop, d.reason};
}

// Judges the dial strings of one message (Request-URI and To of an INVITE,
// every Refer-To, every 3xx Contact): the first that is denied blocks it.
Decision Engine::judge_targets(const net::DecodedPacket& p, const sip::SipMessage& m, const std::string_view* users,
                               std::size_t n, Timestamp now, EventSink& ev, bool& routable) {
    routable = false;
    for (std::size_t i = 0; i < n; ++i) {
        const TollDecision d = toll_.judge(users[i], *rules_, now);
        if (d.blocked) return block(p, m, d, now, ev);
        routable = routable || (d.number_like && !d.service && d.number.cls != NumberClass::short_number);
    }
    return {Verdict::accept, Reason::sip_inspected};
}

// The dial string of a URI: the user part of sip/sips, the number of tel.
static std::string_view uri_target(const sip::Uri& u) noexcept {
    if (!u.valid) return {};
    if (u.scheme == sip::UriScheme::tel) return u.user;
    if (u.is_sip() && u.has_user) return u.user;
    return {};
}

Decision Engine::judge_handset_request(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now,
                                       EventSink& ev, InviteVerdict& iv) {
    const config::Policy& pol = rules_->p();
    if (m.method == sip::Method::unknown) {
        // A method the engine does not know: it cannot tell what the PBX
        // will make of it (fail closed, unless the policy says otherwise).
        Event e = make_event(EventType::unknown_method, &p, now);
        e.handset = p.src;
        assign_truncated(e.method, m.method_text);
        assign_truncated(e.call_id, m.call_id);
        assign_truncated(e.user_agent, m.user_agent);
        ev.on_event(e);
        if (pol.sip.drop_unknown_methods) return {Verdict::drop, Reason::sip_unknown_method};
        return {Verdict::accept, Reason::sip_inspected};
    }
    if (m.method == sip::Method::refer) {
        std::string_view users[8];
        std::size_t n = 0;
        m.for_each_header(sip::HeaderId::refer_to, [&](const sip::Header& h) {
            sip::NameAddr na;
            if (n < 8 && sip::parse_name_addr(h.value, na)) users[n++] = uri_target(na.uri);
            else if (n < 8) users[n++] = h.value;   // unparsable: judged as written
        });
        bool routable = false;
        const Decision d = judge_targets(p, m, users, n, now, ev, routable);
        if (d.verdict == Verdict::drop) return d;
        // The PBX places the transfer's call: it counts (hourly budgets).
        if (routable) {
            TollDecision lim;
            if (!toll_.admit(limit_keys(p, m), false, true, *rules_, now, lim)) {
                sip::NameAddr na;
                const sip::Header* h = m.find(sip::HeaderId::refer_to);
                if (h != nullptr && sip::parse_name_addr(h->value, na)) {
                    const TollDecision t = toll_.judge(uri_target(na.uri), *rules_, now);
                    lim.number = t.number;
                    lim.dialled = t.dialled;
                }
                return block(p, m, lim, now, ev);
            }
        }
        return {Verdict::accept, Reason::sip_inspected};
    }
    if (m.method == sip::Method::register_) {
        // A binding the PBX will call: a Contact that is a number somewhere
        // other than the handset itself (a tel: URI, a number at the PBX's
        // domain) makes the PBX fork the handset's incoming calls to it.
        std::string_view users[sip::kMaxContacts];
        std::size_t n = 0;
        for (std::size_t i = 0; i < m.contact_count && n < sip::kMaxContacts; ++i) {
            const sip::Uri& u = m.contacts[i].addr.uri;
            if (!u.valid) continue;
            if (u.is_sip()) {
                const auto host = net::IpAddress::parse(u.host_unbracketed());
                if (host && rules_->handsets.contains(*host)) continue;   // the handset itself
            }
            users[n++] = uri_target(u);
        }
        bool routable = false;
        return judge_targets(p, m, users, n, now, ev, routable);
    }
    if (m.method == sip::Method::message) {
        // A text message to a number goes out through the PBX's SMS gateway
        // (premium-rate SMS is toll fraud too): number rules, no call limits.
        const std::string_view users[2] = {uri_target(m.request_uri), m.has_to ? uri_target(m.to.uri) : std::string_view()};
        bool routable = false;
        return judge_targets(p, m, users, 2, now, ev, routable);
    }
    if (m.method != sip::Method::invite) return {Verdict::accept, Reason::sip_inspected};

    const std::string_view ruri_user = uri_target(m.request_uri);
    const std::uint64_t branch = m.via_count > 0 ? hash_bytes(m.vias[0].branch) : 0;
    const std::uint64_t ruri = hash_bytes(m.request_uri_text);
    Dialog* d = find_dialog(m);
    if (d != nullptr && !(d->handset_is_caller && d->handset == p.src)) d = nullptr;

    if (m.to.has_tag && d != nullptr && d->state != DialogState::ended) {
        // A re-INVITE in a dialog the engine knows. A B2BUA ignores its
        // Request-URI; a proxy routes by it, so a Request-URI other than the
        // far end's target is judged as a destination (no limits: same call).
        if (d->remote_target != 0 && hash_bytes(ruri_user) == d->remote_target)
            return {Verdict::accept, Reason::sip_inspected};
        const TollDecision t = toll_.judge(ruri_user, *rules_, now);
        if (t.blocked) return block(p, m, t, now, ev);
        return {Verdict::accept, Reason::sip_inspected};
    }
    // A retransmission is the same transaction and the same bytes: it was
    // judged when it first passed.
    const std::uint64_t bytes = hash_bytes(message_bytes(m));
    if (d != nullptr && d->state != DialogState::ended && d->invite_branch == branch && d->invite_cseq == m.cseq.number &&
        d->invite_ruri == ruri && d->invite_bytes == bytes)
        return {Verdict::accept, Reason::sip_inspected};
    // The credentialed retry of a challenged INVITE (same Call-ID and From
    // tag, a higher CSeq, the same Request-URI) is the same call: judged, not
    // counted twice.
    const bool challenged_retry = d != nullptr && d->state == DialogState::ended && d->challenged &&
                                  m.cseq.number > d->invite_cseq && d->invite_ruri == ruri;

    // The destinations: the Request-URI, and To when it names another (some
    // PBXs route by To when the Request-URI has no user).
    std::string_view users[2];
    std::size_t n = 0;
    users[n++] = ruri_user;
    const std::string_view to_user = m.has_to ? uri_target(m.to.uri) : std::string_view();
    if (!to_user.empty() && to_user != ruri_user) users[n++] = to_user;
    bool routable = false;
    const Decision judged = judge_targets(p, m, users, n, now, ev, routable);
    if (judged.verdict == Verdict::drop) return judged;

    const TollDecision primary = toll_.judge(ruri_user.empty() ? to_user : ruri_user, *rules_, now);
    iv.judged = true;
    iv.number = primary.number;
    iv.keys = limit_keys(p, m);
    if (primary.service) {
        iv.new_call = true;   // emergency and service numbers are never limited
        return {Verdict::accept, Reason::sip_inspected};
    }
    const bool already_counted = d != nullptr && d->state != DialogState::ended && d->counted;
    TollDecision lim = primary;
    if (!toll_.admit(iv.keys, !already_counted, !challenged_retry, *rules_, now, lim)) return block(p, m, lim, now, ev);
    iv.new_call = true;
    iv.counted = !already_counted;
    return {Verdict::accept, Reason::sip_inspected};
}

// A handset answering the PBX's INVITE with a redirect: the PBX calls the
// Contacts for it (recursion), so each is a destination.
Decision Engine::judge_redirect(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    std::string_view users[sip::kMaxContacts];
    std::size_t n = 0;
    for (std::size_t i = 0; i < m.contact_count && n < sip::kMaxContacts; ++i)
        users[n++] = m.contacts[i].addr.uri.valid ? uri_target(m.contacts[i].addr.uri) : m.contacts[i].addr.raw;
    bool routable = false;
    const Decision d = judge_targets(p, m, users, n, now, ev, routable);
    if (d.verdict == Verdict::drop) return d;
    if (routable) {
        TollDecision lim;
        if (n > 0) {
            const TollDecision t = toll_.judge(users[0], *rules_, now);
            lim.number = t.number;
            lim.dialled = t.dialled;
        }
        if (!toll_.admit(limit_keys(p, m), false, true, *rules_, now, lim)) return block(p, m, lim, now, ev);
    }
    return {Verdict::accept, Reason::sip_inspected};
}

Dialog* Engine::find_dialog(const sip::SipMessage& m) noexcept {
    if (!m.has_call_id) return nullptr;
    if (m.has_from)
        if (Dialog* d = dialogs_.touch(dialog_key(m.call_id, m.from.tag))) return d;
    if (m.has_to && m.to.has_tag)
        if (Dialog* d = dialogs_.touch(dialog_key(m.call_id, m.to.tag))) return d;
    return nullptr;
}

void Engine::track_request(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx,
                           Timestamp now, EventSink& ev, const InviteVerdict* iv) {
    if (!m.has_call_id || m.call_id.empty()) return;
    const net::IpAddress& handset = dir == Dir::outbound ? p.src : p.dst;
    const net::IpAddress& remote = dir == Dir::outbound ? p.dst : p.src;

    Dialog* d = find_dialog(m);
    const bool starts = m.method == sip::Method::invite &&
                        (dir == Dir::outbound ? (iv != nullptr && iv->new_call)
                                              : (!m.to.has_tag && (d == nullptr || d->state == DialogState::ended)));
    if (starts) {
        const std::uint64_t key = dialog_key(m.call_id, m.from.tag);
        const bool restart = d != nullptr && d->key == key;
        Dialog* existing = restart ? d : nullptr;
        if (existing != nullptr && existing->state != DialogState::ended) {
            // A new INVITE transaction on a live dialog (a retry after a 3xx,
            // a failover): the same dialog, now with this transaction.
            existing->invite_cseq = m.cseq.number;
            existing->invite_branch = m.via_count > 0 ? hash_bytes(m.vias[0].branch) : 0;
            existing->invite_ruri = hash_bytes(m.request_uri_text);
            existing->invite_bytes = hash_bytes(message_bytes(m));
            if (iv != nullptr && iv->judged) existing->number = iv->number.number;
            d = existing;
        } else {
            const bool challenged_retry = existing != nullptr && existing->challenged;
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
            ++calls_;
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
            d->invite_branch = m.via_count > 0 ? hash_bytes(m.vias[0].branch) : 0;
            d->invite_ruri = hash_bytes(m.request_uri_text);
            d->invite_bytes = hash_bytes(message_bytes(m));
            if (dir == Dir::outbound) {
                if (iv != nullptr && iv->judged) d->number = iv->number.number;
                else assign_truncated(d->number, m.request_uri.user);
            } else {
                assign_truncated(d->number, m.from.uri.user);
            }
            auto h = handsets_.find_or_insert(handset);
            if (h.evicted) ++stats_.evictions_handsets;
            if (h.value != nullptr) {
                if (h.inserted) {
                    *h.value = Handset{};
                    h.value->address = handset;
                    h.value->first_seen = now;
                }
                h.value->last_seen = now;
            }
        }
        // Outbound calls count toward the concurrent limits until they end.
        if (dir == Dir::outbound && iv != nullptr && iv->counted && !d->counted) {
            d->counted = true;
            d->limit_keys = iv->keys;
            toll_.call_started(iv->keys);
            if (Handset* hs = handsets_.find(handset)) ++hs->active_calls;
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
    Dialog* d = find_dialog(m);
    if (d == nullptr || d->state == DialogState::ended) return;
    d->last_sip = now;
    if (m.cseq.method != sip::Method::invite && m.cseq.method != sip::Method::update &&
        m.cseq.method != sip::Method::prack)
        return;
    const std::uint16_t code = m.status_code;
    if (code > 100 && code < 300 && looks_like_sdp(m)) apply_sdp(*d, m.body, dir, now, ev, p);
    if (m.cseq.method != sip::Method::invite) return;
    if (code >= 200 && code < 300 && m.contact_count > 0 && d->handset_is_caller == (dir == Dir::inbound))
        d->remote_target = hash_bytes(uri_target(m.contacts[0].addr.uri));
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
                // The address the SDP names (media or session level).
                assign_truncated(e.detail, md.connection.present ? md.connection.address_text
                                           : s.connection.present ? s.connection.address_text
                                                                  : std::string_view("unknown"));
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
        toll_.call_ended(d.limit_keys);
        if (Handset* h = handsets_.find(d.handset))
            if (h->active_calls > 0) --h->active_calls;
    }
    d.state = DialogState::ended;
    d.last_sip = now;
    if (calls_ > 0) --calls_;
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
    tcp_.expire(now);

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
    toll_.reload();
}

}  // namespace vg::engine
