// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/egress.h"

namespace vg::engine {

namespace {

using std::chrono::seconds;

// Egress flow memory (return traffic), like conntrack's UDP stream timeout.
constexpr Duration kEgressUdpTimeout = seconds(120);
constexpr Duration kEgressTcpTimeout = seconds(600);
constexpr std::uint8_t kIpprotoSctp = 132;

}  // namespace

EgressTracker::EgressTracker(EngineContext& ctx, std::size_t max_flows) : ctx_(ctx), flows_(max_flows) {}

bool EgressTracker::allowed(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    const config::Policy& pol = ctx_.p();
    // SCTP is a SIP transport (RFC 4168) the engine does not follow: the
    // kernel drops it from the handsets whatever the egress mode.
    const bool sctp = p.protocol == kIpprotoSctp;
    bool ok = !sctp && !pol.egress.allow_list;
    if (!ok && !sctp) {
        if (const PeerIndex* e = ctx_.r().egress.lookup(p.dst)) {
            const config::ServicePeer& peer = pol.egress.allow[*e];
            const config::Transport t = p.is_tcp() ? config::Transport::tcp : config::Transport::udp;
            if (p.has_l4)
                for (const config::ServicePort& sp : peer.ports)
                    if (sp.transport == t && sp.ports.contains(p.dst_port)) ok = true;
            if (peer.ports.empty()) ok = true;
        }
    }
    if (!ok) {
        Event e = ctx_.event(EventType::egress_denied, &p, now);
        e.handset = p.src;
        if (sctp) assign_truncated(e.detail, "sctp");
        ev.on_event(e);
    }
    return ok;
}

EgressTracker::Flow* EgressTracker::flow(const net::DecodedPacket& p) {
    auto ins = flows_.find_or_insert(p.flow_key());
    if (ins.evicted) ++ctx_.stats.evictions_egress;
    if (ins.value != nullptr && ins.inserted) *ins.value = Flow{};
    return ins.value;
}

void EgressTracker::remember(const net::DecodedPacket& p, Timestamp now) {
    if (!p.has_l4) return;
    if (Flow* f = flow(p)) {
        f->initiator = p.src;
        f->expires = now + (p.is_tcp() ? kEgressTcpTimeout : kEgressUdpTimeout);
    }
}

bool EgressTracker::is_return_traffic(const net::DecodedPacket& p, Timestamp now) {
    if (!p.has_l4) return false;
    Flow* f = flows_.find(p.flow_key());
    if (f == nullptr || !(f->initiator == p.dst) || f->expires <= now) return false;
    f->expires = now + (p.is_tcp() ? kEgressTcpTimeout : kEgressUdpTimeout);
    return true;
}

bool EgressTracker::knows(const net::FiveTuple& out, Timestamp now) const noexcept {
    const Flow* f = flows_.find(net::FlowKey::from(out));
    return f != nullptr && f->initiator == out.src && f->expires > now;
}

EgressTracker::Tcp EgressTracker::tcp(const net::DecodedPacket& p, Timestamp now) {
    Flow* f = flow(p);
    if (f != nullptr) {
        f->initiator = p.src;
        f->expires = now + kEgressTcpTimeout;
    }
    if (p.has_tcp_flag(net::tcpflag::syn) && !p.has_tcp_flag(net::tcpflag::ack)) {
        if (f != nullptr && !f->judged) {
            f->syn_seen = true;
            f->isn = p.tcp_seq;
        }
        return p.payload_length > 0 ? Tcp::unjudged : Tcp::pass;   // Fast Open data: sent again later
    }
    if (p.payload_length == 0 || p.has_tcp_flag(net::tcpflag::syn)) return Tcp::pass;
    if (f != nullptr && f->judged) return Tcp::verified;
    // The first data byte of the connection, or (no SYN seen: a connection
    // older than the engine's memory of it) whatever comes.
    if (f != nullptr && f->syn_seen && p.tcp_seq != f->isn + 1) return Tcp::unjudged;
    return Tcp::judge_start;
}

void EgressTracker::tcp_judged(const net::DecodedPacket& p) {
    if (Flow* f = flows_.find(p.flow_key())) f->judged = true;
}

void EgressTracker::tick(Timestamp now) {
    flows_.erase_if([&](const net::FlowKey&, Flow& f) { return f.expires <= now; });
}

}  // namespace vg::engine
