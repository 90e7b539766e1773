// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/engine.h"

#include <algorithm>
#include <string>

#include "filters/engine/icmp.h"
#include "filters/engine/ipv6_request_uri.h"
#include "filters/engine/keepalive.h"
#include "filters/engine/provisioning_request.h"
#include "filters/engine/sip_content.h"
#include "filters/media/media_classifier.h"
#include "filters/sip/sip_parser.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

using std::chrono::seconds;

// After a start, TCP streams already running are picked up mid-stream for
// this long (tcp_stream.h); after it, a stream the engine never saw start is
// cut.
constexpr Duration kTcpPickupGrace = seconds(120);
// Messages after the first in one datagram that are judged (see sip_datagram).
constexpr std::size_t kMaxTrailingMessages = 8;
// RFC 1350: TFTP requests go to UDP port 69.
constexpr std::uint16_t kTftpPort = 69;

sip::TcpStreamConfig tcp_config(const EngineLimits& limits, const config::Policy& pol) {
    sip::TcpStreamConfig c;
    c.max_streams = limits.max_tcp_streams;
    c.max_bytes_per_stream = std::max<std::size_t>(limits.max_tcp_stream_bytes, pol.sip.max_message_size);
    c.limits = sip_limits(pol);
    return c;
}

}  // namespace

// ---------------------------------------------------------------------------
// What the units share

std::uint64_t hash_bytes(std::string_view s) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h == 0 ? 1 : h;
}

Event EngineContext::event(EventType t, const net::DecodedPacket* p, Timestamp now) const noexcept {
    Event e;
    e.type = t;
    e.time = now;
    e.monitor = monitor();
    if (p != nullptr) {
        e.source = p->src;
        e.destination = p->dst;
        e.source_port = p->src_port;
        e.destination_port = p->dst_port;
        e.protocol = p->protocol;
    }
    return e;
}

void EngineContext::eviction(std::string_view table, Timestamp now, EventSink& ev) const {
    Event e = event(EventType::table_eviction, nullptr, now);
    assign_truncated(e.detail, table);
    ev.on_event(e);
}

// ---------------------------------------------------------------------------
// The engine

Engine::Engine(std::shared_ptr<const CompiledPolicy> rules, const EngineLimits& limits)
    : ctx_(std::move(rules)),
      limits_(limits),
      toll_(limits.max_limit_keys, limits.max_callback_marks, limits.dialog_key),
      handsets_(ctx_, limits.max_handsets),
      calls_(ctx_, handsets_, toll_, limits.max_dialogs, limits.max_pinholes, DialogKeyer(limits.dialog_key)),
      guard_(ctx_, toll_, calls_),
      scanner_(ctx_, limits.max_scan_sources),
      rates_(ctx_, ctx_.p().sip.max_tracked_sources),
      egress_(ctx_, limits.max_egress_flows),
      tcp_(tcp_config(limits, ctx_.p())),
      trailing_msg_(std::make_unique<sip::SipMessage>()) {}

std::size_t Engine::table_bytes() const noexcept {
    return calls_.memory_bytes() + handsets_.memory_bytes() + egress_.memory_bytes() + scanner_.memory_bytes() +
           rates_.memory_bytes() + toll_.memory_bytes() + sizeof(*this);
}

void Engine::count_sip(const sip::SipMessage& m) noexcept {
    EngineStats& s = ctx_.stats;
    ++s.sip_messages;
    if (m.is_request()) {
        ++s.sip_requests[static_cast<std::size_t>(m.method) & 15];
    } else if (m.is_response()) {
        ++s.sip_responses_by_class[std::min<std::size_t>(m.status_code / 100, 6)];
        if (m.status_code < 700) ++ctx_.responses.counts[m.status_code];
    }
}

Decision Engine::finish(Decision d) {
    if (d.verdict == Verdict::drop && ctx_.monitor()) {
        d.verdict = Verdict::accept;
        d.reset = false;
        d.monitored = true;
        ++ctx_.stats.monitored;
    }
    ++ctx_.stats.verdicts[static_cast<std::size_t>(d.verdict)];
    ++ctx_.stats.reasons[static_cast<std::size_t>(d.reason)];
    return d;
}

Decision Engine::process(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    ++ctx_.stats.packets;
    toll_.profiles().observe(now);
    if (!started_) {
        started_ = true;
        tcp_.set_pickup_until(now.mono + kTcpPickupGrace);
    }
    const CompiledPolicy& r = ctx_.r();
    if (!p.ok()) {
        // Where the addresses could be read, only the voice network's packets
        // are ours to judge.
        const bool ours = (p.src.valid() && r.handsets.contains(p.src)) || (p.dst.valid() && r.handsets.contains(p.dst));
        if (p.src.valid() && !ours) return finish({Verdict::accept, Reason::not_voice_network});
        Event e = ctx_.event(EventType::malformed, &p, now.mono);
        assign_truncated(e.detail, p.reason);
        ev.on_event(e);
        return finish({Verdict::drop, Reason::malformed_packet});
    }
    const bool src_in = r.handsets.contains(p.src);
    const bool dst_in = r.handsets.contains(p.dst);
    if (src_in && dst_in) return finish({Verdict::accept, Reason::handset_internal});
    if (!src_in && !dst_in) return finish({Verdict::accept, Reason::not_voice_network});
    if (p.is_fragment) return finish({Verdict::drop, Reason::fragment});
    return finish(dst_in ? inbound(p, now, ev) : outbound(p, now, ev));
}

void Engine::tick(const Now& now, EventSink& ev) {
    toll_.profiles().observe(now);
    calls_.tick(now.mono, ev);
    egress_.tick(now.mono);
    tcp_.expire(now.mono);
    handsets_.tick(now.mono, ev);
    toll_.callbacks().expire(now.mono, std::chrono::seconds(ctx_.p().toll_fraud.callback.window.count()));
}

void Engine::reload(std::shared_ptr<const CompiledPolicy> rules, const Now& now, EventSink& ev) {
    const std::shared_ptr<const CompiledPolicy> old = std::move(ctx_.rules);
    ctx_.rules = std::move(rules);
    calls_.reload(now.mono, ev);
    // The rate list may have changed: every bucket starts afresh.
    rates_.reset();
    // The toll budgets carry over (a reload mid-attack must not reset them).
    if (old) toll_.reload(*old, ctx_.r(), now.mono);
    handsets_.reload(now.mono);
}

// ---------------------------------------------------------------------------
// Inbound

Decision Engine::inbound(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    const config::Policy& pol = r.p();
    const bool sip_port = p.has_l4 && (r.is_sip_port(p.src_port) || r.is_sip_port(p.dst_port));

    if (sip_port) {
        if (const PeerIndex* pbx = r.pbx_signalling.lookup(p.src)) return sip_packet(p, Dir::inbound, *pbx, now, ev);
    }
    if (!p.has_l4 && (p.protocol == net::ipproto::icmp || p.protocol == net::ipproto::icmpv6))
        return inbound_icmp(p, now, ev);

    if (p.is_udp())
        if (Pinhole* ph = calls_.pinhole(p.dst, p.dst_port, now.mono)) return inbound_media(p, *ph, now, ev);

    if (const PeerIndex* s = r.support.lookup(p.src)) {
        const config::ServicePeer& peer = pol.peers.support[*s];
        const config::Transport t = p.is_tcp() ? config::Transport::tcp : config::Transport::udp;
        if (p.has_l4) {
            for (const config::ServicePort& sp : peer.ports)
                if (sp.transport == t && sp.ports.contains(p.dst_port))
                    return {Verdict::accept_verified, Reason::support_allowed};
        }
        if (!sip_port) {
            Event e = ctx_.event(EventType::support_denied, &p, now.mono);
            assign_truncated(e.detail, peer.name);
            ev.on_event(e);
            return {Verdict::drop, Reason::support_port_denied};
        }
    }

    if (egress_.is_return_traffic(p, now.mono)) return {Verdict::accept, Reason::egress_return};

    const PeerIndex* media_src = p.is_udp() ? r.pbx_media.lookup(p.src) : nullptr;
    if (media_src != nullptr && pol.media.static_allowance) {
        const config::PortRange& ports = pol.peers.pbx[*media_src].media.ports;
        if (ports.last == 0 || ports.contains(p.src_port))
            return {Verdict::accept_verified, Reason::media_static_allowance};
    }

    if (sip_port) return inspect_unlisted_sip(p, now, ev);

    if (media_src != nullptr) return {Verdict::drop, Reason::media_no_pinhole};
    ev.on_event(ctx_.event(EventType::unlisted_source, &p, now.mono));
    return {Verdict::drop, Reason::unlisted_source};
}

// ICMP to a handset. An error about a flow the handset sent passes, as the
// kernel's ESTABLISHED/RELATED rule lets it (the daemon sees none of these):
// SIP or media to the PBX, media from one of its pinholes, an egress flow
// the engine remembers. The rest is dropped: from a listed peer (the PBX's
// ping, an error about nothing the handset sent) as icmp_unsolicited, from
// anyone else as unlisted_source.
Decision Engine::inbound_icmp(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    IcmpInfo info;
    if (read_icmp(p, info) && info.kind == IcmpInfo::Kind::error && info.quoted.src == p.dst) {
        const net::FiveTuple& q = info.quoted;
        bool related = r.pbx_signalling.contains(q.dst) || r.pbx_media.contains(q.dst);
        if (!related && info.has_ports) {
            related = egress_.knows(q, now.mono) ||
                      (q.protocol == net::ipproto::udp && calls_.pinhole(q.src, q.src_port, now.mono) != nullptr);
        }
        if (related) return {Verdict::accept, Reason::icmp_related};
    }
    if (r.pbx_signalling.contains(p.src) || r.pbx_media.contains(p.src) || r.support.contains(p.src))
        return {Verdict::drop, Reason::icmp_unsolicited};
    ev.on_event(ctx_.event(EventType::unlisted_source, &p, now.mono));
    return {Verdict::drop, Reason::unlisted_source};
}

Decision Engine::inbound_media(const net::DecodedPacket& p, Pinhole& ph, const Now& now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    const config::Policy& pol = r.p();
    bool allowed = false;
    if (const PeerIndex* m = r.pbx_media.lookup(p.src)) {
        const config::PortRange& ports = pol.peers.pbx[*m].media.ports;
        allowed = ports.last == 0 || ports.contains(p.src_port);
    }
    if (allowed && pol.media.strict_source_port && ph.remote_known)
        allowed = p.src == ph.remote && p.src_port == ph.remote_port;
    if (!allowed) {
        // From the endpoint the PBX's SDP named, which the policy refuses
        // (reported when the SDP passed): a policy mismatch giving one-way
        // audio, not an attack. Anything else is an injection.
        if (calls_.refused_endpoint(ph, p.dst, p.dst_port, p.src, p.src_port))
            return {Verdict::drop, Reason::media_refused_by_policy};
        Event e = ctx_.event(EventType::media_injection, &p, now.mono);
        e.handset = p.dst;
        e.handset_port = p.dst_port;
        ev.on_event(e);
        return {Verdict::drop, Reason::media_injection};
    }
    const bool lingering = ph.state == Pinhole::State::lingering;
    if (!lingering) ph.last_activity = now.mono;
    if (ph.state != Pinhole::State::verified) {
        media::Options o;
        o.srtp = ph.srtp;
        const media::Classification c = media::classify(p.payload, p.payload_length, o);
        if (!c.ok()) {
            Event e = ctx_.event(EventType::malformed, &p, now.mono);
            assign_truncated(e.detail, c.reason);
            ev.on_event(e);
            return {Verdict::drop, Reason::media_not_rtp};
        }
    }
    // Media in flight after the call's BYE: let through, never verified
    // again (its fast path was deleted with the pinhole).
    if (lingering) return {Verdict::accept, Reason::media_pinhole};
    if (ph.state != Pinhole::State::verified) calls_.pinhole_verified(p.dst, p.dst_port);
    ph.state = Pinhole::State::verified;
    ph.note_flow(p.src, p.src_port);
    return {Verdict::accept_verified, Reason::media_pinhole};
}

Decision Engine::inspect_unlisted_sip(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    // Dropped whatever it says; parsed so scanners are named in the log.
    Event e = ctx_.event(EventType::unlisted_source, &p, now.mono);
    if (p.is_udp() && p.payload_length > 0) {
        sip::Limits lim;
        const sip::ParseResult pr = sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg_);
        if (pr.status == sip::Status::ok && msg_.kind != sip::MessageKind::keepalive) {
            count_sip(msg_);
            if (!scanner_.user_agent(p, msg_, now.mono, ev)) scanner_.behaviour(p, msg_, now.mono, ev);
            assign_truncated(e.method, msg_.is_request() ? msg_.method_text : std::string_view("response"));
            assign_truncated(e.user_agent, msg_.user_agent.empty() ? msg_.server : msg_.user_agent);
        }
    }
    ev.on_event(e);
    return {Verdict::drop, Reason::unlisted_source};
}

Engine::SipSummary Engine::observe_kernel_drop(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    if (!p.ok() || !p.is_udp() || p.payload_length == 0) return {};
    if (!r.is_sip_port(p.src_port) && !r.is_sip_port(p.dst_port) &&
        classify_start(p.payload_text(), true) != StartKind::sip)
        return {};
    sip::Limits lim;
    const sip::ParseResult pr = sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg_);
    if (pr.status != sip::Status::ok || msg_.kind == sip::MessageKind::keepalive) return {};
    if (!scanner_.user_agent(p, msg_, now.mono, ev)) scanner_.behaviour(p, msg_, now.mono, ev);
    return {msg_.is_request() ? msg_.method_text : std::string_view("response"),
            msg_.user_agent.empty() ? msg_.server : msg_.user_agent};
}

Reason Engine::kernel_inbound_drop_reason(const net::DecodedPacket& p) const noexcept {
    const CompiledPolicy& r = ctx_.r();
    const bool icmp = !p.has_l4 && (p.protocol == net::ipproto::icmp || p.protocol == net::ipproto::icmpv6);
    if (icmp && p.src.valid() &&
        (r.pbx_signalling.contains(p.src) || r.pbx_media.contains(p.src) || r.support.contains(p.src)))
        return Reason::icmp_unsolicited;
    return Reason::unlisted_source;
}

// ---------------------------------------------------------------------------
// Outbound

Decision Engine::outbound(const net::DecodedPacket& p, const Now& now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    const config::Policy& pol = r.p();
    const PeerIndex* pbx = r.pbx_signalling.lookup(p.dst);
    const PeerIndex* pbx_media = r.pbx_media.lookup(p.dst);

    // 1. SIP to the PBX on a SIP port; from a SIP port, a connection the PBX
    // opened to the handset, or a UDP response to a PBX that sent its
    // request from another port (responses go back where requests came
    // from). A connection the handset opens from its SIP port to another
    // port of the PBX (its SYN, or one the table saw it open) is plain
    // egress: as SIP, a first segment that looks like TLS verified a channel
    // to any PBX service. One picked up mid-stream (opener unknown) stays SIP.
    if (pbx != nullptr && p.has_l4 && (p.is_udp() || p.is_tcp())) {
        const bool to_sip = r.is_sip_port(p.dst_port);
        const bool from_sip = r.is_sip_port(p.src_port);
        const bool response = p.is_udp() && text::istarts_with(p.payload_text(), "SIP/");
        const bool handset_opens = p.is_tcp() && ((p.has_tcp_flag(net::tcpflag::syn) && !p.has_tcp_flag(net::tcpflag::ack)) ||
                                                  tcp_.opened_by_sender(p));
        if (to_sip || (from_sip && (response || (p.is_tcp() && !handset_opens))))
            return sip_packet(p, Dir::outbound, *pbx, now, ev);
    }

    // A SIP port of any other server: refused outright, whatever the content
    // (a TCP connection is refused at its SYN).
    if (pbx == nullptr && p.has_l4 && r.is_sip_port(p.dst_port) &&
        (p.is_tcp() || (p.is_udp() && p.payload_length > 0)))
        return other_sip(p, false, now, ev, p.is_tcp() && p.payload_length > 0);

    if (p.is_tcp()) return outbound_tcp_egress(p, pbx != nullptr || pbx_media != nullptr, pbx != nullptr, now, ev);

    if (p.is_udp()) {
        // 2. SIP anywhere else, judged by content.
        if (p.payload_length > 0 && classify_start(p.payload_text(), true) == StartKind::sip)
            return other_sip(p, pbx != nullptr, now, ev, false);

        // 3. Media from a pinhole port goes only to the PBX's media.
        if (Pinhole* ph = calls_.pinhole(p.src, p.src_port, now.mono)) return outbound_media(p, *ph, pbx_media, now, ev);
        // Media to the PBX's media range outside any call: its reply would
        // be let in as return traffic with no pinhole behind it. A handset
        // answering a call may start its media to the endpoint the PBX
        // offered just before its answer opens the pinhole: that passes,
        // unverified (calls.h).
        if (pbx_media != nullptr) {
            const config::PortRange& ports = pol.peers.pbx[*pbx_media].media.ports;
            if (ports.last != 0 && ports.contains(p.dst_port) && !r.is_sip_port(p.dst_port)) {
                if (calls_.offered(p.src, p.dst, p.dst_port)) return {Verdict::accept, Reason::media_outbound};
                // media.static_allowance (TLS: no SDP to open a pinhole from)
                // lets the PBX's media in at all times; the handset's own
                // media out to it goes too, or a relay that waits for the
                // handset's first packet (symmetric RTP) never sends.
                if (pol.media.static_allowance) return {Verdict::accept_verified, Reason::media_static_allowance};
                return {Verdict::drop, Reason::media_no_pinhole};
            }
        }
    }

    // 4. Other egress. A TFTP read request is reported (never blocked).
    if (p.is_udp() && p.dst_port == kTftpPort)
        if (const auto rrq = parse_tftp_read_request(p.payload_text())) cleartext_provisioning(p, *rrq, now, ev);
    if (!egress_.allowed(p, now.mono, ev)) return {Verdict::drop, Reason::egress_denied};
    egress_.remember(p, now.mono);
    return {Verdict::accept, Reason::egress_allowed};
}

Decision Engine::outbound_media(const net::DecodedPacket& p, Pinhole& ph, const PeerIndex* pbx_media,
                                const Now& now, EventSink& ev) {
    const config::Policy& pol = ctx_.p();
    bool allowed = false;
    if (pbx_media != nullptr) {
        const config::PortRange& ports = pol.peers.pbx[*pbx_media].media.ports;
        allowed = ports.last == 0 || ports.contains(p.dst_port);
        if (allowed && pol.media.strict_source_port && ph.remote_known)
            allowed = p.dst == ph.remote && p.dst_port == ph.remote_port;
    }
    if (allowed) {
        // After the call's BYE, media in flight passes but is not verified again.
        if (ph.state == Pinhole::State::lingering) return {Verdict::accept, Reason::media_outbound};
        // The flow is verified: the kernel fast path takes it both ways, so
        // the PBX's replies on it never reach the engine. The pinhole is
        // verified too, or it idled out after media.idle_timeout in the
        // middle of the call (a phone that speaks first, as symmetric RTP
        // phones do, lost all audio after a minute).
        ph.last_activity = now.mono;
        if (ph.state != Pinhole::State::verified) calls_.pinhole_verified(p.src, p.src_port);
        ph.state = Pinhole::State::verified;
        ph.note_flow(p.dst, p.dst_port);
        return {Verdict::accept_verified, Reason::media_outbound};
    }
    Event e = ctx_.event(EventType::media_destination_denied, &p, now.mono);
    e.handset = p.src;
    e.handset_port = p.src_port;
    ev.on_event(e);
    return {Verdict::drop, Reason::media_destination_denied};
}

void Engine::cleartext_provisioning(const net::DecodedPacket& p, const ProvisioningRequest& req, const Now& now,
                                    EventSink& ev) {
    Event e = ctx_.event(EventType::cleartext_provisioning, &p, now.mono);
    e.handset = p.src;
    assign_truncated(e.rule, to_string(req.protocol));
    assign_truncated(e.detail, req.file);
    ev.on_event(e);
}

// RFC 3261 §26.2: the default port of SIP over TLS (sips:).
constexpr std::uint16_t kSipTlsPort = 5061;

// TCP from a handset that is not SIP to the PBX on a SIP port: judged on the
// first data segment of the connection (is it SIP?), then the egress rules,
// and verified so the rest takes the kernel fast path. A connection whose
// first data the engine cannot tell yet (a few bytes that could still start a
// request line) is held back by dropping that segment: TCP sends it again,
// usually with more.
Decision Engine::outbound_tcp_egress(const net::DecodedPacket& p, bool to_pbx, bool to_pbx_signalling, const Now& now,
                                     EventSink& ev) {
    const EgressTracker::Tcp state = egress_.tcp(p, now.mono);
    // Data on a SYN (TCP Fast Open) is refused before anything else: it is
    // sent again after the handshake.
    if (state == EgressTracker::Tcp::unjudged && p.has_tcp_flag(net::tcpflag::syn))
        return {Verdict::drop, Reason::tcp_unjudged};
    // The PBX's SIP-over-TLS port is signalling to the PBX, whatever the
    // egress mode (the allow-list lists what else handsets may reach): the
    // handshake passes, and the first data decides (TLS: uninspected,
    // below; anything else: the egress rules).
    const bool pbx_tls_port = to_pbx_signalling && p.dst_port == kSipTlsPort;
    if (!pbx_tls_port && !egress_.allowed(p, now.mono, ev)) return {Verdict::drop, Reason::egress_denied};
    switch (state) {
    case EgressTracker::Tcp::pass: return {Verdict::accept, Reason::egress_allowed};
    case EgressTracker::Tcp::verified: return {Verdict::accept_verified, Reason::egress_allowed};
    case EgressTracker::Tcp::unjudged: return {Verdict::drop, Reason::tcp_unjudged};
    case EgressTracker::Tcp::judge_start: break;
    }
    switch (classify_start(p.payload_text(), false)) {
    case StartKind::sip: return other_sip(p, to_pbx, now, ev, true);
    case StartKind::undecided: return {Verdict::drop, Reason::tcp_unjudged};
    case StartKind::other: break;
    }
    if (pbx_tls_port && !sip::starts_like_tls(p.payload_text()) && !egress_.allowed(p, now.mono, ev))
        return {Verdict::drop, Reason::egress_denied};
    egress_.tcp_judged(p);
    // The first data of the connection: a cleartext HTTP request for a
    // configuration or firmware file is reported (never blocked).
    if (const auto req = parse_http_provisioning_request(p.payload_text(), p.dst_port))
        cleartext_provisioning(p, *req, now, ev);
    if (to_pbx_signalling && p.dst_port == kSipTlsPort && sip::starts_like_tls(p.payload_text())) {
        // TLS to the PBX's SIP-over-TLS port (5061) outside sip.ports: as
        // blind as TLS on a SIP port, and said so the same way (it passed
        // as plain egress before, with no word of what was not read).
        Event e = ctx_.event(EventType::tls_uninspected, &p, now.mono);
        e.handset = p.src;
        ev.on_event(e);
        return {Verdict::accept_verified, Reason::tls_uninspected};
    }
    return {Verdict::accept_verified, Reason::egress_allowed};
}

// SIP content to a PBX address on a port the policy does not inspect, or to
// any other server.
Decision Engine::other_sip(const net::DecodedPacket& p, bool to_pbx, const Now& now, EventSink& ev, bool reset) {
    Event e = ctx_.event(EventType::rogue_sip_destination, &p, now.mono);
    e.handset = p.src;
    const sip::Transport t = p.is_udp() ? sip::Transport::datagram : sip::Transport::stream;
    if (sip::parse_message(p.payload_text(), t, sip_limits(ctx_.p()), msg_).status == sip::Status::ok &&
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
// SIP between handsets and the PBX

void Engine::emit_cut(const net::DecodedPacket& p, const net::IpAddress& handset, std::string_view why,
                      const Now& now, EventSink& ev) {
    Event e = ctx_.event(EventType::sip_stream_cut, &p, now.mono);
    e.handset = handset;
    assign_truncated(e.detail, why);
    ev.on_event(e);
}

Decision Engine::sip_packet(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, const Now& now, EventSink& ev) {
    if (p.is_udp()) return sip_datagram(p, dir, pbx, now, ev);
    // SIP over TCP: tcp_stream.h decides what can be judged; every message a
    // segment completes is judged, and a refused one cuts the connection.
    const net::IpAddress& handset = dir == Dir::outbound ? p.src : p.dst;
    Decision refused{Verdict::drop, Reason::sip_inspected};
    std::size_t messages = 0, keepalives = 0;
    const sip::TcpStreamTable::FeedResult r = tcp_.feed(p, now.mono, [&](const sip::TcpMessage& tm) {
        if (tm.event == sip::TcpEvent::keepalive) {
            ++keepalives;
            ++ctx_.stats.keepalives[static_cast<std::size_t>(KeepaliveKind::crlf)];
            return true;
        }
        ++messages;
        const Decision d = judge_sip(p, *tm.sip, dir, pbx, now, ev);
        if (d.verdict != Verdict::drop) return true;
        refused = d;
        return false;
    });
    using S = sip::TcpStreamTable::Status;
    Decision d{Verdict::accept, Reason::sip_inspected};
    switch (r.status) {
    case S::in_order:
        // A segment of nothing but CRLF keep-alives (RFC 5626 §3.5.1).
        if (keepalives > 0 && messages == 0) d.reason = Reason::sip_keepalive;
        return d;
    case S::not_tcp:
    case S::no_data:
    case S::retransmission:
        return d;
    case S::unjudged:
        return {Verdict::drop, Reason::tcp_unjudged};
    case S::tls: {
        // TLS between a handset and its PBX: nothing to read. It passes (the
        // PBX is the peer the policy trusts), verified so the kernel keeps
        // the rest, and the blind spot is logged.
        Event e = ctx_.event(EventType::tls_uninspected, &p, now.mono);
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
        ++ctx_.stats.sip_malformed;
        Event e = ctx_.event(EventType::malformed, &p, now.mono);
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

// A NAT keep-alive between a handset and its PBX (keepalive.h): passes under
// a rate limit of its own, either way.
Decision Engine::keepalive(const net::DecodedPacket& p, KeepaliveKind kind, const Now& now, EventSink& ev) {
    ++ctx_.stats.keepalives[static_cast<std::size_t>(kind)];
    if (!rates_.admit_keepalive(p, now.mono, ev)) return {Verdict::drop, Reason::sip_rate_limited};
    return {Verdict::accept, Reason::sip_keepalive};
}

Decision Engine::sip_datagram(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, const Now& now, EventSink& ev) {
    const config::Policy& pol = ctx_.p();
    std::string_view bytes = p.payload_text();
    const KeepaliveKind ka = classify_keepalive(bytes);
    if (ka != KeepaliveKind::none) return keepalive(p, ka, now, ev);
    sip::ParseResult pr = sip::parse_message(bytes, sip::Transport::datagram, sip_limits(pol), msg_);
    // An IPv6 host without brackets in the Request-URI (ipv6_request_uri.h):
    // with one reading, the message is judged as if bracketed.
    if (pr.status == sip::Status::malformed && pr.reason != nullptr &&
        std::string_view(pr.reason) == "bad_request_uri" && bracket_ipv6_request_uri(bytes, repaired_)) {
        const sip::ParseResult again =
            sip::parse_message(repaired_, sip::Transport::datagram, sip_limits(pol), msg_);
        if (again.status == sip::Status::ok) {
            ++ctx_.stats.sip_ipv6_hosts_bracketed;
            bytes = repaired_;
            pr = again;
        } else {
            // Broken elsewhere too: report the first fault, as read.
            sip::parse_message(bytes, sip::Transport::datagram, sip_limits(pol), msg_);
        }
    }
    // Nothing but CRLFs, more than a keep-alive has (keepalive.h): no
    // message and no keep-alive either.
    const char* broken = pr.status != sip::Status::ok ? (pr.reason != nullptr ? pr.reason : "sip_incomplete")
                         : msg_.kind == sip::MessageKind::keepalive ? "keepalive_too_long"
                                                                    : nullptr;
    if (broken != nullptr) {
        ++ctx_.stats.sip_malformed;
        Event e = ctx_.event(EventType::malformed, &p, now.mono);
        assign_truncated(e.detail, broken);
        ev.on_event(e);
        if (pol.sip.drop_malformed) return {Verdict::drop, Reason::sip_malformed};
        return {Verdict::accept, Reason::sip_inspected};
    }
    // Bytes after Content-Length must be discarded (RFC 3261 §18.3), but a
    // stack that reads them as further messages would act on them: from a
    // handset, every message there is judged too, before the first. One
    // that starts like SIP but cannot be read is malformed (a lenient stack
    // may still read it), and so are more than kMaxTrailingMessages.
    if (dir == Dir::outbound && msg_.has_anomaly(sip::anomaly::trailing_data) && pr.consumed < bytes.size()) {
        std::string_view rest = bytes.substr(pr.consumed);
        for (std::size_t n = 0;; ++n) {
            while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n')) rest.remove_prefix(1);
            if (rest.empty() || classify_start(rest, true) != StartKind::sip) break;
            sip::SipMessage& next = *trailing_msg_;
            const char* broken_trailer = nullptr;
            sip::ParseResult tr;
            if (n >= kMaxTrailingMessages) broken_trailer = "too many messages in a datagram";
            else if ((tr = sip::parse_message(rest, sip::Transport::datagram, sip_limits(pol), next)).status != sip::Status::ok)
                broken_trailer = "unreadable message after the first";
            if (broken_trailer != nullptr) {
                ++ctx_.stats.sip_malformed;
                Event e = ctx_.event(EventType::malformed, &p, now.mono);
                assign_truncated(e.detail, broken_trailer);
                ev.on_event(e);
                if (pol.sip.drop_malformed) return {Verdict::drop, Reason::sip_malformed};
                break;
            }
            const Decision d = judge_sip(p, next, dir, pbx, now, ev);
            if (d.verdict == Verdict::drop) return d;
            if (tr.consumed == 0 || tr.consumed >= rest.size()) break;
            rest = rest.substr(tr.consumed);
        }
    }
    return judge_sip(p, msg_, dir, pbx, now, ev);
}

Decision Engine::judge_sip(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx,
                           const Now& now, EventSink& ev) {
    const config::Policy& pol = ctx_.p();
    if (m.kind == sip::MessageKind::keepalive) return {Verdict::accept, Reason::sip_inspected};
    count_sip(m);

    if (dir == Dir::inbound) {
        if (scanner_.user_agent(p, m, now.mono, ev) && pol.sip.drop_scanners) return {Verdict::drop, Reason::sip_scanner};
        if (!rates_.admit(p, m, now.mono, ev)) return {Verdict::drop, Reason::sip_rate_limited};
    }

    if (m.is_request()) {
        InviteVerdict iv;
        if (dir == Dir::outbound) {
            const Decision d = guard_.request(p, m, now, ev, iv);
            if (d.verdict == Verdict::drop) return d;
        }
        // A new dialog the full table has no room for (every entry a
        // confirmed call) fails closed: its retransmission is judged again.
        if (!calls_.request(p, m, dir == Dir::outbound, pbx, now.mono, ev, dir == Dir::outbound ? &iv : nullptr))
            return {Verdict::drop, Reason::dialog_table_full};
    } else {
        if (dir == Dir::outbound && m.status_code >= 300 && m.status_code < 400 &&
            m.cseq.method == sip::Method::invite) {
            const Decision d = guard_.redirect(p, m, now, ev);
            if (d.verdict == Verdict::drop) return d;
        }
        calls_.response(p, m, dir == Dir::outbound, now.mono, ev);
    }
    if (dir == Dir::outbound) handsets_.note_sip(p.src, m, now, ev);
    return {Verdict::accept, Reason::sip_inspected};
}

}  // namespace vg::engine
