// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/calls.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "filters/engine/sip_content.h"
#include "filters/sip/sip_uri.h"
#include "filters/sdp/sdp_parser.h"

namespace vg::engine {

namespace {

using std::chrono::seconds;

// An INVITE transaction without a final answer is given up after Timer C
// (RFC 3261 §16.6: more than 3 minutes); we use 3 minutes.
constexpr Duration kInviteTimeout = seconds(180);
// A 401/407-challenged INVITE is normally re-sent at once with credentials;
// its dialog record is kept this long so the retry is not counted twice.
constexpr Duration kChallengeGrace = seconds(32);
// Registration lifetime when neither Contact nor Expires says (RFC 3261 §10.2.1.1).
constexpr std::uint32_t kDefaultRegisterExpires = 3600;

Duration to_duration(config::Seconds s) noexcept { return seconds(s.count()); }

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

DialogKey DialogKeyer::operator()(std::string_view call_id, std::string_view caller_tag,
                                  const net::IpAddress& handset) const noexcept {
    // The lengths first, so no (Call-ID, tag) pair reads as another; the
    // address (family, then its 4 or 16 bytes) last.
    SipHash24 h(secret_);
    h.update_u64(call_id.size());
    h.update(call_id);
    h.update_u64(caller_tag.size());
    h.update(caller_tag);
    h.update_u64(static_cast<std::uint64_t>(handset.family()));
    h.update(handset.bytes(), handset.is_v4() ? 4 : handset.is_v6() ? 16 : 0);
    const SipHash24::Result r = h.finish();
    return {index_fixed_ ? fixed_index_ : r.first, r.second};
}

CallTable::CallTable(EngineContext& ctx, HandsetInventory& handsets, TollGuard& toll, std::size_t max_dialogs,
                     std::size_t max_pinholes, const DialogKeyer& keyer)
    : ctx_(ctx), handsets_(handsets), toll_(toll), keyer_(keyer), dialogs_(max_dialogs), pinholes_(max_pinholes) {}

Dialog* CallTable::find(const sip::SipMessage& m, const net::IpAddress& handset) noexcept {
    if (!m.has_call_id) return nullptr;
    if (m.has_from)
        if (Dialog* d = dialogs_.touch(keyer_(m.call_id, m.from.tag, handset))) return d;
    if (m.has_to && m.to.has_tag)
        if (Dialog* d = dialogs_.touch(keyer_(m.call_id, m.to.tag, handset))) return d;
    return nullptr;
}

bool CallTable::request(const net::DecodedPacket& p, const sip::SipMessage& m, bool outbound, PeerIndex pbx,
                        Timestamp now, EventSink& ev, const InviteVerdict* iv) {
    if (!m.has_call_id || m.call_id.empty()) return true;
    const net::IpAddress& handset = outbound ? p.src : p.dst;
    const net::IpAddress& remote = outbound ? p.dst : p.src;

    Dialog* d = find(m, handset);
    const bool starts = m.method == sip::Method::invite &&
                        (outbound ? (iv != nullptr && iv->new_call)
                                              : (!m.to.has_tag && (d == nullptr || d->state == DialogState::ended)));
    if (starts) {
        const DialogKey key = keyer_(m.call_id, m.from.tag, handset);
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
            // A confirmed call is never pushed out for a new dialog.
            auto ins = dialogs_.find_or_insert(
                key,
                [&](const DialogKey&, Dialog& old) {
                    if (old.state == DialogState::ended) report_unanswered_challenge(old, now, ev);
                    end_dialog(old, now, ev, "evicted", true);
                },
                kListConfirmed);
            if (ins.evicted) {
                ++ctx_.stats.evictions_dialogs;
                ctx_.eviction("dialogs", now, ev);
            }
            if (ins.refused) {
                ++ctx_.stats.dialogs_refused;
                ctx_.eviction("dialogs_refused", now, ev);
                return false;
            }
            if (ins.value == nullptr) return true;
            d = ins.value;
            // A restarted dialog (ended, same key) is pending again.
            if (!ins.inserted) dialogs_.move_to_list(key, kListPending);
            if (!challenged_retry) ++ctx_.stats.dialogs_created;
            ++calls_;
            *d = Dialog{};
            d->key = key;
            assign_truncated(d->call_id, m.call_id);
            d->handset = handset;
            d->pbx = remote;
            d->pbx_index = pbx;
            d->handset_is_caller = outbound;
            d->state = DialogState::calling;
            d->created = now;
            d->invite_cseq = m.cseq.number;
            d->invite_branch = m.via_count > 0 ? hash_bytes(m.vias[0].branch) : 0;
            d->invite_ruri = hash_bytes(m.request_uri_text);
            d->invite_bytes = hash_bytes(message_bytes(m));
            if (outbound) {
                if (iv != nullptr && iv->judged) d->number = iv->number.number;
                else assign_truncated(d->number, m.request_uri.user);
            } else {
                assign_truncated(d->number, m.from.uri.user);
                note_callback_callers(*d, m);
            }
            handsets_.touch(handset, now, ev);
        }
        // Outbound calls count toward the concurrent limits until they end.
        if (outbound && iv != nullptr && iv->counted && !d->counted) {
            d->counted = true;
            d->limit_keys = iv->keys;
            d->profile = iv->profile;
            toll_.call_started(iv->keys);
            toll_.profiles().call_started(iv->keys, iv->profile);
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
                Event e = ctx_.event(EventType::call_ended, &p, now);
                e.handset = handset;
                assign_truncated(e.call_id, m.call_id);
                assign_truncated(e.detail, "unknown_dialog");
                ev.on_event(e);
                Effect f;
                f.kind = EffectKind::close_handset;
                f.protocol = net::ipproto::udp;
                f.handset = handset;
                ev.on_effect(f);
            }
        }
        return true;
    }
    d->last_sip = now;
    switch (m.method) {
    case sip::Method::bye:
        // The call ends on the BYE's 2xx (bye_response), or without a final
        // response after kByeTimeout (tick). A new BYE (a retry with
        // credentials after a 401/407) is the one whose answer counts.
        if (d->state != DialogState::ended && (!d->bye_pending || d->bye_cseq != m.cseq.number)) {
            d->bye_pending = true;
            d->bye_refused = false;
            d->bye_outbound = outbound;
            d->bye_cseq = m.cseq.number;
            d->bye_at = now;
        }
        return true;
    case sip::Method::cancel:
        if (d->state != DialogState::ended) end_dialog(*d, now, ev, "cancel");
        return true;
    case sip::Method::invite:
    case sip::Method::ack:
    case sip::Method::prack:
    case sip::Method::update:
        if (d->state != DialogState::ended && looks_like_sdp(m)) apply_sdp(*d, m.body, outbound, now, ev, p);
        return true;
    default:
        return true;
    }
}

void CallTable::response(const net::DecodedPacket& p, const sip::SipMessage& m, bool outbound, Timestamp now,
                         EventSink& ev) {
    if (m.cseq.method == sip::Method::register_ && !outbound) {
        // The PBX accepted a handset's registration: note until when.
        if (m.status_code >= 200 && m.status_code < 300) {
            std::uint32_t expires = kDefaultRegisterExpires;
            if (m.contact_count > 0 && m.contacts[0].has_expires && m.contacts[0].expires_valid)
                expires = m.contacts[0].expires;
            else if (m.expires.present && m.expires.valid)
                expires = m.expires.value;
            handsets_.registered(p.dst, expires, now);
        }
        return;
    }
    Dialog* d = find(m, outbound ? p.src : p.dst);
    if (d == nullptr || d->state == DialogState::ended) return;
    d->last_sip = now;
    if (m.cseq.method == sip::Method::bye) {
        bye_response(*d, m, outbound, now, ev);
        return;
    }
    if (m.cseq.method != sip::Method::invite && m.cseq.method != sip::Method::update &&
        m.cseq.method != sip::Method::prack)
        return;
    const std::uint16_t code = m.status_code;
    if (code > 100 && code < 300 && looks_like_sdp(m)) apply_sdp(*d, m.body, outbound, now, ev, p);
    if (m.cseq.method != sip::Method::invite) return;
    // Only the callee answers the INVITE that made the dialog: the PBX a
    // handset's, the handset the PBX's. A response travelling the other way
    // (a forged one from the PBX's address to a handset it called) moves
    // nothing on. A re-INVITE's answer (either side may send one) finds the
    // call confirmed already and changes no state either.
    const bool from_callee = outbound != d->handset_is_caller;
    if (!from_callee) return;
    if (code >= 200 && code < 300 && m.contact_count > 0)
        d->remote_target = hash_bytes(uri_target(m.contacts[0].addr.uri));
    if (code < 200 && d->state == DialogState::calling) {
        if (code > 100) d->state = DialogState::early;
        // The callee took the INVITE: above unanswered ones for eviction.
        dialogs_.move_to_list(d->key, kListAnswered);
    }
    if (code > 100 && code < 300 && m.to.has_tag && d->forks < 255) ++d->forks;
    if (code >= 200 && code < 300 && d->state != DialogState::confirmed) {
        d->state = DialogState::confirmed;
        d->answered = now;
        if (d->counted) toll_.profiles().call_answered(d->limit_keys, d->profile, now);
        dialogs_.move_to_list(d->key, kListConfirmed);
        Event e = ctx_.event(EventType::call_started, &p, now);
        e.handset = d->handset;
        e.number = d->number;
        e.call_id = d->call_id;
        assign_truncated(e.detail, d->handset_is_caller ? "outbound" : "inbound");
        ev.on_event(e);
    } else if (code >= 300 && d->state != DialogState::confirmed) {
        d->challenged = code == 401 || code == 407 ? static_cast<std::uint8_t>(code % 10) : 0;
        // A final failure ends the INVITE (a re-INVITE failing leaves the
        // confirmed call as it was, RFC 3261 §14.1).
        char why[16] = "failure_";
        std::snprintf(why + 8, sizeof why - 8, "%u", static_cast<unsigned>(code));
        end_dialog(*d, now, ev, why);
    }
}

// The answer to a BYE that passed, from the side it was sent to: a 2xx ends
// the call, its pinholes lingering for media in flight; a failure (401/407
// challenge, 481, ...) leaves the call up, and stops the BYE's timeout.
void CallTable::bye_response(Dialog& d, const sip::SipMessage& m, bool outbound, Timestamp now, EventSink& ev) {
    if (!d.bye_pending && !d.bye_refused) return;
    if (outbound == d.bye_outbound || !m.cseq.valid || m.cseq.number != d.bye_cseq) return;
    const std::uint16_t code = m.status_code;
    if (code >= 200 && code < 300) {
        end_dialog(d, now, ev, "bye", false, true);
    } else if (code >= 300) {
        d.bye_pending = false;
        d.bye_refused = true;
    }
}

void CallTable::apply_sdp(Dialog& d, std::string_view body, bool outbound, Timestamp now, EventSink& ev,
                          const net::DecodedPacket& p) {
    sdp::SessionDescription s;
    if (sdp::parse(body, s) != sdp::Status::ok && s.media_count == 0) {
        Event e = ctx_.event(EventType::malformed, &p, now);
        assign_truncated(e.detail, s.reason);
        assign_truncated(e.call_id, d.call_id.view());
        ev.on_event(e);
        return;
    }
    const CompiledPolicy& r = ctx_.r();
    const config::Policy& pol = r.p();
    const std::size_t n = std::min<std::size_t>(s.media_count, kMaxDialogMedia);
    if (n > d.media_count) d.media_count = static_cast<std::uint8_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
        const sdp::MediaDescription& md = s.media[i];
        MediaLeg& leg = d.media[i];
        const bool usable = md.usable() && md.transport != sdp::Transport::tcp;
        if (outbound) {
            // The handset's own endpoint: where it wants to receive. A
            // handset's SDP opens pinholes on that handset only, whatever
            // address it names: outside the handset networks it is its
            // public (NAT) address; inside, another phone's, and a hijacked
            // handset naming one would take over that phone's pinholes (its
            // audio cut, its ports opened to the PBX's media range). Media
            // offered on another address of the handset (the other address
            // family) gets no pinhole: it is dropped, never let in.
            net::IpAddress addr = md.address;
            if (usable && !md.address_unspecified && addr != d.handset) addr = d.handset;
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
            // The old endpoint closes (events, fast path deleted) but lingers
            // for kMediaGrace: the media server sends there until the new SDP
            // reaches it, and the phone listens there until then (RFC 3264
            // §8.3.1); a change of port must not cut the audio in flight.
            if (leg.handset_known) close_leg_pinholes(d, leg, now, ev, true);
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
            if (md.rejected && leg.handset_known) {
                // The answer refuses the stream (port 0, RFC 3264 §6): no
                // media will flow on it, so the pinholes the handset's offer
                // opened for it close now (with their events); a later offer
                // opens them again.
                close_leg_pinholes(d, leg, now, ev, false);
                leg.handset_known = false;
                leg.remote_known = false;
                continue;
            }
            if (!usable || md.address_unspecified) continue;
            // Media the policy refuses: one-way or no audio. inbound_media()
            // lets media in from an address of a PBX's media and, when that
            // PBX lists media ports, from a port in them; an endpoint outside
            // that still gets its pinhole (the call goes on, the handset's own
            // media may pass), but it is said plainly now, naming the call,
            // the endpoint offered and the policy key to change, and its media
            // is dropped later as media_refused_by_policy, not as an
            // injection (the media leg remembers the refusal in two bits, so
            // it is bounded and freed with the dialog; refused_endpoint()).
            // An address inside the handset
            // networks is direct media between two phones (it never crosses
            // the router): nothing to say.
            std::uint8_t refused = 0;
            bool owner_ports_refused = false;
            if (md.rtp_port != 0 && !r.handsets.contains(md.address)) {
                const std::uint16_t rtcp_port = md.rtcp_port != 0 ? md.rtcp_port : md.rtp_port;
                const bool rtcp = pol.media.rtcp && md.rtcp_port != 0 && md.rtcp_port != md.rtp_port;
                const PeerIndex* owner = r.pbx_media.lookup(md.address);
                char key[48];
                if (owner == nullptr) {
                    refused = rtcp ? 3 : 1;
                    std::snprintf(key, sizeof key, "peers.pbx[%u].media.addresses",
                                  static_cast<unsigned>(d.pbx_index));
                } else {
                    const config::PortRange& ports = pol.peers.pbx[*owner].media.ports;
                    if (ports.last != 0) {
                        if (!ports.contains(md.rtp_port)) refused |= 1;
                        if (rtcp && !ports.contains(rtcp_port)) refused |= 2;
                    }
                    std::snprintf(key, sizeof key, "peers.pbx[%u].media.ports", static_cast<unsigned>(*owner));
                    owner_ports_refused = refused != 0;
                }
                if (refused != 0) {
                    Event e = ctx_.event(owner == nullptr ? EventType::media_address_not_allowed
                                                          : EventType::media_port_not_allowed,
                                         &p, now);
                    e.handset = d.handset;
                    e.call_id = d.call_id;
                    // The endpoint offered: its RTP port, or its RTCP port
                    // when only that one is refused.
                    const std::uint16_t port = (refused & 1) != 0 ? md.rtp_port : rtcp_port;
                    const std::string a = md.address.to_string();
                    char endpoint[64];
                    std::snprintf(endpoint, sizeof endpoint, md.address.is_v6() ? "[%s]:%u" : "%s:%u", a.c_str(),
                                  static_cast<unsigned>(port));
                    assign_truncated(e.detail, endpoint);
                    assign_truncated(e.rule, key);
                    ev.on_event(e);
                }
            }
            // Bit 2 stays: media from an earlier offer's refused port may
            // still be on its way.
            if (owner_ports_refused) refused |= 4;
            leg.remote_refused = static_cast<std::uint8_t>(refused | (leg.remote_refused & 4u));
            leg.remote = md.address;
            leg.remote_rtp = md.rtp_port;
            leg.remote_rtcp = md.rtcp_port;
            leg.remote_known = true;
            if (!leg.handset_known && md.rtp_port != 0) {
                // Where the handset's media may go before its answer.
                Offer& o = offers_[next_offer_];
                next_offer_ = (next_offer_ + 1) % kMaxOffers;
                o = Offer{d.key, d.handset, md.address, md.rtp_port,
                          static_cast<std::uint16_t>(md.rtcp_port != 0 ? md.rtcp_port : md.rtp_port + 1),
                          static_cast<std::uint8_t>(i)};
            }
            if (leg.handset_known) {
                const auto aim = [&](std::uint16_t port, std::uint16_t remote_port) {
                    const PinholeKey key{leg.handset, port};
                    Pinhole* ph = pinholes_.find(key);
                    if (ph == nullptr) return;
                    // media.strict_source_port: media comes from the named
                    // endpoint only, so flows verified with the one before
                    // lose their fast path when the PBX moves the media.
                    if (pol.media.strict_source_port && ph->remote_known &&
                        (ph->remote != leg.remote || ph->remote_port != remote_port))
                        forget_flows_except(key, *ph, leg.remote, remote_port, now, ev);
                    ph->remote = leg.remote;
                    ph->remote_port = remote_port;
                    ph->remote_known = true;
                };
                aim(leg.handset_rtp, leg.remote_rtp);
                if (leg.handset_rtcp != 0) aim(leg.handset_rtcp, leg.remote_rtcp != 0 ? leg.remote_rtcp : leg.remote_rtp);
            }
        }
    }
}

bool CallTable::refused_endpoint(const Pinhole& ph, const net::IpAddress& handset, std::uint16_t port,
                                 const net::IpAddress& src, std::uint16_t src_port) const noexcept {
    const Dialog* d = dialogs_.find(ph.dialog);
    if (d == nullptr) return false;
    for (std::size_t i = 0; i < d->media_count; ++i) {
        const MediaLeg& leg = d->media[i];
        if (leg.remote_refused == 0 || leg.handset != handset) continue;
        if (ph.rtcp ? leg.handset_rtcp != port : leg.handset_rtp != port) continue;
        // The current offer is refused: media from exactly its endpoint.
        if ((leg.remote_refused & (ph.rtcp ? 2u : 1u)) != 0)
            return ph.remote_known && src == ph.remote && src_port == ph.remote_port;
        // A re-offer moved the media off a refused port: what still comes
        // from a PBX media address on a port outside its range is in flight.
        if ((leg.remote_refused & 4u) != 0) {
            const CompiledPolicy& r = ctx_.r();
            if (const PeerIndex* m = r.pbx_media.lookup(src)) {
                const config::PortRange& ports = r.p().peers.pbx[*m].media.ports;
                return ports.last != 0 && !ports.contains(src_port);
            }
        }
        return false;
    }
    return false;
}

bool CallTable::offered(const net::IpAddress& handset, const net::IpAddress& remote, std::uint16_t port) const noexcept {
    for (const Offer& o : offers_) {
        if (o.rtp == 0 || o.handset != handset || o.remote != remote || (port != o.rtp && port != o.rtcp)) continue;
        const Dialog* d = dialogs_.find(o.dialog);
        if (d == nullptr || d->state == DialogState::ended || o.leg >= d->media_count) continue;
        const MediaLeg& leg = d->media[o.leg];
        if (leg.handset_known || !leg.remote_known || leg.remote != remote || leg.remote_rtp != o.rtp) continue;
        return true;
    }
    return false;
}

void CallTable::open_pinhole(Dialog& d, const MediaLeg& leg, const net::IpAddress& addr, std::uint16_t port, bool rtcp,
                          Timestamp now, EventSink& ev) {
    const PinholeKey key{addr, port};
    auto ins = pinholes_.find_or_insert(
        key,
        [&](const PinholeKey& k, Pinhole& old) {
            if (old.state == Pinhole::State::lingering) --lingering_;   // its close was reported
            else close_pinhole(k, old, now, ev);
        },
        kPinholeVerified);
    if (ins.evicted) {
        ++ctx_.stats.evictions_pinholes;
        ctx_.eviction("pinholes", now, ev);
    }
    if (ins.refused) {
        // Every pinhole carries media: this offer's stream gets none (its
        // media is dropped as media_no_pinhole), the calls in progress keep
        // theirs.
        ++ctx_.stats.pinholes_refused;
        ctx_.eviction("pinholes_refused", now, ev);
        return;
    }
    if (ins.value == nullptr) return;
    Pinhole& ph = *ins.value;
    const bool lingering = !ins.inserted && ph.state == Pinhole::State::lingering;
    if (!ins.inserted && !lingering && ph.dialog == d.key) return;
    // The port still belongs to another call (a handset reusing its media
    // port before the previous call's BYE): that pinhole closes first, with
    // its event, so its flow's fast path is removed too. One lingering after
    // its call's BYE was closed then: the new call takes the port over.
    if (lingering) --lingering_;
    else if (!ins.inserted) close_pinhole(key, ph, now, ev);
    pinholes_.move_to_list(key, kPinholeOpen);
    ph = Pinhole{};
    ph.dialog = d.key;
    ph.pbx_index = d.pbx_index;
    ph.rtcp = rtcp;
    ph.srtp = leg.srtp;
    ph.last_activity = now;
    if (leg.remote_known) {
        ph.remote = leg.remote;
        ph.remote_port = rtcp ? (leg.remote_rtcp != 0 ? leg.remote_rtcp : leg.remote_rtp) : leg.remote_rtp;
        ph.remote_known = true;
    }
    ++ctx_.stats.pinholes_opened;
    Event e = ctx_.event(EventType::pinhole_opened, nullptr, now);
    e.handset = addr;
    e.handset_port = port;
    e.call_id = d.call_id;
    e.source = d.pbx;
    assign_truncated(e.detail, rtcp ? "rtcp" : "rtp");
    ev.on_event(e);
}

void Pinhole::note_flow(const net::IpAddress& r, std::uint16_t port) noexcept {
    if (flows_overflow()) return;
    for (std::uint8_t i = 0; i < flow_count; ++i)
        if (flow_port[i] == port && flow_remote[i] == r) return;
    if (flow_count < kMaxFlows) {
        flow_remote[flow_count] = r;
        flow_port[flow_count] = port;
    }
    ++flow_count;   // kMaxFlows + 1: overflowed
}

void CallTable::close_pinhole(const PinholeKey& key, const Pinhole& ph, Timestamp now, EventSink& ev) {
    ++ctx_.stats.pinholes_closed;
    Event e = ctx_.event(EventType::pinhole_closed, nullptr, now);
    e.handset = key.address;
    e.handset_port = key.port;
    e.protocol = net::ipproto::udp;
    if (ph.flows() > 0) {
        e.source = ph.flow_remote[0];
        e.source_port = ph.flow_port[0];
    }
    e.destination = key.address;
    e.destination_port = key.port;
    e.count = ph.flows();
    ev.on_event(e);
    // Their fast path goes with the pinhole (effects.h).
    Effect f;
    f.protocol = net::ipproto::udp;
    f.handset = key.address;
    f.handset_port = key.port;
    if (ph.flows_overflow()) {
        f.kind = EffectKind::close_endpoint;
        ev.on_effect(f);
        return;
    }
    f.kind = EffectKind::close_flow;
    for (std::uint8_t i = 0; i < ph.flows(); ++i) {
        f.remote = ph.flow_remote[i];
        f.remote_port = ph.flow_port[i];
        ev.on_effect(f);
    }
}

void CallTable::forget_flows_except(const PinholeKey& key, Pinhole& ph, const net::IpAddress& remote,
                                    std::uint16_t remote_port, Timestamp now, EventSink& ev) {
    if (ph.state == Pinhole::State::lingering) return;
    Effect f;
    f.protocol = net::ipproto::udp;
    f.handset = key.address;
    f.handset_port = key.port;
    std::uint8_t kept = 0;
    if (ph.flows_overflow()) {
        f.kind = EffectKind::close_endpoint;
        ev.on_effect(f);
    } else {
        f.kind = EffectKind::close_flow;
        for (std::uint8_t i = 0; i < ph.flows(); ++i) {
            if (ph.flow_remote[i] == remote && ph.flow_port[i] == remote_port) {
                ph.flow_remote[kept] = ph.flow_remote[i];
                ph.flow_port[kept] = ph.flow_port[i];
                ++kept;
                continue;
            }
            f.remote = ph.flow_remote[i];
            f.remote_port = ph.flow_port[i];
            ev.on_effect(f);
        }
    }
    ph.flow_count = kept;
    if (kept == 0 && ph.state == Pinhole::State::verified) {
        // Verified again by the new endpoint's first packet.
        ph.state = Pinhole::State::open;
        ph.last_activity = now;
        pinholes_.move_to_list(key, kPinholeOpen);
    }
}

void CallTable::close_leg_pinholes(const Dialog& d, const MediaLeg& leg, Timestamp now, EventSink& ev, bool linger) {
    for (std::uint16_t port : {leg.handset_rtp, leg.handset_rtcp}) {
        if (port == 0) continue;
        const PinholeKey key{leg.handset, port};
        Pinhole* ph = pinholes_.find(key);
        if (ph == nullptr || ph->dialog != d.key || ph->state == Pinhole::State::lingering) continue;
        close_pinhole(key, *ph, now, ev);
        if (linger) {
            // Closed (reported, fast path deleted); media in flight still
            // passes until the grace ends (tick() then removes it).
            ph->state = Pinhole::State::lingering;
            ph->last_activity = now + kMediaGrace;
            ++lingering_;
            pinholes_.move_to_list(key, kPinholeLingering);
        } else {
            pinholes_.erase(key);
        }
    }
}

void CallTable::note_callback_callers(Dialog& d, const sip::SipMessage& m) noexcept {
    const CompiledPolicy& r = ctx_.r();
    const config::Policy::TollFraud& tf = r.p().toll_fraud;
    if (!tf.enabled || !tf.callback.enabled || !r.dial_plan || r.callback_risk.empty()) return;
    std::size_t n = 0;
    auto note = [&](std::string_view user) {
        if (user.empty() || n >= 2) return;
        const DialReadings reads = read_dial_string(user, *r.dial_plan);
        if (reads.doubt != DialDoubt::none) return;
        if (!CallbackGuard::risk_prefix(reads.primary, r)) return;
        for (std::size_t i = 0; i < n; ++i)
            if (d.callback_caller[i] == reads.primary.view()) return;
        d.callback_caller[n++].assign(reads.primary.view());
    };
    if (m.has_from) note(dial_target(m.from));
    m.for_each_header(sip::HeaderId::p_asserted_identity, [&](const sip::Header& h) {
        // A list of name-addrs (RFC 3325 §9.1: at most one sip and one tel).
        sip::CommaIterator it(h.value);
        std::string_view element;
        while (it.next(element)) {
            sip::NameAddr na;
            sip::parse_name_addr(element, na);
            note(dial_target(na));
        }
    });
}

// An inbound call from a risky caller ended: a one-ring call (CANCEL or 487
// within callback.max_ring of the INVITE) or a short answered call (ended
// within callback.short_call of its answer) marks its caller numbers.
void CallTable::mark_callback(const Dialog& d, Timestamp now, EventSink& ev, std::string_view why) {
    if (d.handset_is_caller || d.callback_caller[0].empty()) return;
    const CompiledPolicy& r = ctx_.r();
    const config::Policy::TollFraud::Callback& cb = r.p().toll_fraud.callback;
    if (!r.p().toll_fraud.enabled || !cb.enabled || !r.dial_plan) return;
    CallbackMark mk;
    Duration lasted{};
    if (d.state != DialogState::confirmed) {
        if (why == "cancel") {
            mk.how = CallbackHow::cancel;
        } else if (why == "failure_487") {
            mk.how = CallbackHow::failure;
            mk.status = 487;
        } else {
            return;
        }
        lasted = now - d.created;
        if (lasted > std::chrono::seconds(cb.max_ring.count())) return;
    } else {
        if (cb.short_call.count() == 0 || (why != "bye" && why != "bye_timeout")) return;
        mk.how = CallbackHow::short_call;
        lasted = now - d.answered;
        if (lasted > std::chrono::seconds(cb.short_call.count())) return;
    }
    mk.handset = d.handset;
    mk.ended = now;
    mk.wall = toll_.profiles().wall_at(now);
    mk.call_hash = static_cast<std::uint32_t>(hash_bytes(d.call_id.view()) >> 32);
    mk.seconds = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(lasted).count());
    for (const FixedString<16>& caller : d.callback_caller) {
        if (caller.empty()) continue;
        NormalisedNumber n;
        n.cls = NumberClass::e164;
        n.error = NumberError::none;
        n.number.assign(caller.view());
        const auto prefix = CallbackGuard::risk_prefix(n, r);   // the policy may have been reloaded
        if (!prefix) continue;
        // A ring group: the PBX rang several handsets with one call (one
        // Call-ID) and cancelled them all; the first one marked it.
        if (const CallbackMark* had = toll_.callbacks().find(caller.view(), now, std::chrono::seconds(cb.window.count()), false);
            had != nullptr && had->call_hash == mk.call_hash && now - had->ended < std::chrono::seconds(cb.max_ring.count()))
            continue;
        mk.number = caller;
        assign_truncated(mk.prefix, *prefix);
        if (toll_.callbacks().mark(mk)) ctx_.eviction("callback_marks", now, ev);
        Event e = ctx_.event(EventType::callback_marked, nullptr, now);
        e.handset = d.handset;
        assign_truncated(e.number, caller.view());
        e.call_id = d.call_id;
        e.rule.assign("callback_risk:");
        e.rule.append(std::string_view(mk.prefix.view()).substr(0, 48 - 14));
        describe_mark(mk, e.detail);
        ev.on_event(e);
    }
}

void CallTable::end_dialog(Dialog& d, Timestamp now, EventSink& ev, std::string_view why, bool leaving, bool linger) {
    if (d.state == DialogState::ended) return;
    mark_callback(d, now, ev, why);
    if (!leaving) dialogs_.move_to_list(d.key, kListPending);
    d.bye_pending = false;
    d.bye_refused = false;
    for (std::size_t i = 0; i < d.media_count; ++i) {
        close_leg_pinholes(d, d.media[i], now, ev, linger);
        d.media[i].handset_known = false;
    }
    if (d.counted) {
        d.counted = false;
        toll_.call_ended(d.limit_keys);
        toll_.profiles().call_ended(d.limit_keys, d.profile, d.state == DialogState::confirmed, d.answered, now,
                                    ctx_.r());
        if (Handset* h = handsets_.find(d.handset))
            if (h->active_calls > 0) --h->active_calls;
    }
    d.state = DialogState::ended;
    d.last_sip = now;
    if (calls_ > 0) --calls_;
    ++ctx_.stats.dialogs_ended;
    // A challenged attempt is not the end of the call: its retry with
    // credentials follows at once, and logging VG_CALL_ENDED for it just
    // before that call's VG_CALL_STARTED misleads whoever reads the log.
    // Logged when the dialog is dropped without a retry (an attacker
    // without the password, a handset with a wrong one).
    if (d.challenged != 0) return;
    report_call_ended(d, now, ev, why);
}

void CallTable::report_call_ended(const Dialog& d, Timestamp now, EventSink& ev, std::string_view why) {
    Event e = ctx_.event(EventType::call_ended, nullptr, now);
    e.handset = d.handset;
    e.number = d.number;
    e.call_id = d.call_id;
    assign_truncated(e.detail, why);
    ev.on_event(e);
}

void CallTable::report_unanswered_challenge(const Dialog& d, Timestamp now, EventSink& ev) {
    if (d.challenged == 0) return;
    report_call_ended(d, now, ev, d.challenged == 1 ? "failure_401" : "failure_407");
}

void CallTable::tick(Timestamp now, EventSink& ev) {
    const config::Policy& pol = ctx_.p();
    const Duration idle = to_duration(pol.media.idle_timeout);
    const Duration max_call = to_duration(pol.media.max_call_duration);

    dialogs_.erase_if([&](const DialogKey&, Dialog& d) {
        if (d.state == DialogState::ended) {
            if (now - d.last_sip <= kChallengeGrace) return false;
            report_unanswered_challenge(d, now, ev);
            return true;
        }
        // A BYE that never got a final response (RFC 3261 Timer F).
        if (d.bye_pending && now - d.bye_at > kByeTimeout) {
            end_dialog(d, now, ev, "bye_timeout", true);
            return true;
        }
        if (d.state != DialogState::confirmed && now - d.last_sip > kInviteTimeout) {
            end_dialog(d, now, ev, "timeout_no_answer", true);
            return true;
        }
        // A call never answered is capped too, from its INVITE: every
        // in-dialog request or provisional response refreshes the timeout
        // above, so a handset sending INFO (or a PBX repeating its 183)
        // every few minutes would keep early media open for ever.
        if (d.state != DialogState::confirmed && max_call.count() > 0 && now - d.created > max_call) {
            end_dialog(d, now, ev, "max_call_duration", true);
            return true;
        }
        if (d.state == DialogState::confirmed && max_call.count() > 0 && now - d.answered > max_call) {
            end_dialog(d, now, ev, "max_call_duration", true);
            return true;
        }
        // The destination profile's max_call_duration: a warning once, the
        // call ended at the critical level (the path above).
        if (d.state == DialogState::confirmed && d.counted && d.profile != 0) {
            const CompiledProfile* prof = ctx_.r().profile_by_id(d.profile);
            if (prof == nullptr || !ctx_.r().profile_active(*prof, toll_.profiles().wall_at(now))) return false;
            const Duration lasted = now - d.answered;
            auto report = [&](EventType t, Duration level) {
                Event e = ctx_.event(t, nullptr, now);
                e.handset = d.handset;
                e.number = d.number;
                e.call_id = d.call_id;
                assign_truncated(e.group, prof->name);
                assign_truncated(e.threshold, "max_call_duration");
                e.value = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(lasted).count());
                e.level = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(level).count());
                assign_truncated(e.rule, "fraud_threshold:max_call_duration");
                ev.on_event(e);
            };
            if (prof->max_call_warning.count() > 0 && lasted >= prof->max_call_warning && !(d.profile_reported & 1)) {
                d.profile_reported |= 1;
                report(EventType::fraud_threshold_warning, prof->max_call_warning);
            }
            if (prof->max_call_critical.count() > 0 && lasted >= prof->max_call_critical && !(d.profile_reported & 2)) {
                report(EventType::fraud_threshold_critical, prof->max_call_critical);
                if (!ctx_.monitor()) {
                    end_dialog(d, now, ev, "fraud_threshold", true);
                    return true;
                }
                d.profile_reported |= 2;   // mode: monitor: reported once, the call goes on
            }
        }
        return false;
    });

    if (idle.count() > 0 || lingering_ > 0) {
        pinholes_.erase_if([&](const PinholeKey& k, Pinhole& ph) {
            if (ph.state == Pinhole::State::lingering) {
                // Its grace for media in flight is over.
                if (now <= ph.last_activity) return false;
                --lingering_;
                return true;
            }
            if (idle.count() == 0) return false;
            if (ph.state == Pinhole::State::verified) return false;   // live media takes the kernel fast path
            Timestamp last = ph.last_activity;
            if (const Dialog* d = dialogs_.find(ph.dialog)) last = std::max(last, d->last_sip);
            if (now - last <= idle) return false;
            close_pinhole(k, ph, now, ev);
            return true;
        });
    }
}

void CallTable::reload(Timestamp now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    // Pinholes whose PBX or media range the new policy no longer has close
    // now: their media would be refused anyway, and the kernel fast path for
    // them must go.
    pinholes_.erase_if([&](const PinholeKey& k, Pinhole& ph) {
        if (ph.state == Pinhole::State::lingering) return false;   // closed already; its grace runs out
        bool keep = ph.pbx_index < r.p().peers.pbx.size();
        if (keep && ph.remote_known) keep = r.pbx_media.contains(ph.remote);
        for (std::uint8_t i = 0; keep && i < ph.flows(); ++i) keep = r.pbx_media.contains(ph.flow_remote[i]);
        if (keep && !r.handsets.contains(k.address)) keep = false;
        if (keep) return false;
        close_pinhole(k, ph, now, ev);
        return true;
    });
}

}  // namespace vg::engine
