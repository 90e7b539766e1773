// SPDX-License-Identifier: GPL-2.0-or-later
// The inspection engine: one decoded packet in, a verdict out. The same engine
// runs in the daemon (packets from NFQUEUE) and in `voipguard replay`
// (packets from captures). It does no I/O: time is passed in, events go to an
// EventSink, and every table is bounded.
//
// Direction comes from the policy's handset networks: a packet to them is
// inbound, a packet from them outbound, both = internal, neither = not the
// voice network's business (accepted untouched).
//
// Inbound (towards the handsets), first rule that applies:
//   1. SIP (a policy SIP port at either end): from a PBX address it is parsed
//      and inspected (malformed action, scanner User-Agents, rate limits per
//      source, handset and method under a site ceiling per method) and
//      updates call state; from anywhere else it is dropped as
//      unlisted_source, after being parsed for scanner events. A NAT
//      keep-alive on that flow (keepalive.h: CRLF, spaces, a NUL-padded
//      token, zero bytes, a STUN Binding; bounded in size and content)
//      passes as sip_keepalive, either way, under a rate limit of its own.
//      A Request-URI whose IPv6 host lacks its brackets and reads one way
//      only is judged as if bracketed (ipv6_request_uri.h).
//   2. A packet to an open media pinhole (handset address and port from the
//      handset's SDP): accepted and verified when it comes from the PBX's
//      media addresses (and ports) and its first bytes look like
//      RTP/RTCP/STUN/DTLS/ZRTP; media_injection / media_not_rtp otherwise.
//   3. Support addresses to their listed (protocol, port): support_allowed.
//   4. Return traffic of a flow a handset opened under the egress rules.
//   5. With media.static_allowance (SRTP/TLS without readable SDP): UDP from
//      the PBX's media addresses and ports.
//   6. ICMP: an error about a flow the handset sent (to the PBX, from a
//      pinhole, a remembered egress flow) passes as icmp_related, like the
//      kernel's RELATED rule; from a listed peer anything else (a ping) is
//      icmp_unsolicited (icmp.h).
//   7. Everything else: unlisted_source (or media_no_pinhole when it comes
//      from a PBX media address).
// Outbound (from the handsets):
//   1. SIP to a PBX signalling address on a SIP port: parsed and judged.
//      Requests: methods known only ignoring case are judged as that method,
//      unknown methods fail closed (sip.unknown_methods); INVITEs (their
//      Request-URI and To), REFERs (every Refer-To) and 3xx answers to the
//      PBX's INVITEs (every Contact) pass the toll-fraud guard (toll_guard.h:
//      every reading of the dial string, prefix lists, out-of-hours rules,
//      limits per handset address and identity); REGISTERs feed the handset
//      inventory. A retransmission is the same transaction (Via branch,
//      CSeq, From tag, Request-URI) and the same bytes, never merely the same
//      Call-ID. Bytes after a datagram's Content-Length that form a second
//      message are judged too. Over TCP, tcp_stream.h decides what can be
//      judged; a refused message cuts the connection (Decision::reset).
//   2. Anything else whose content is SIP (every UDP datagram, the first data
//      of every TCP connection): to a PBX address on another port
//      sip_other_port, to anyone else rogue_sip_destination.
//   3. Media from a pinhole port: to the PBX's media addresses and ports it
//      is verified (fast path); anywhere else it is dropped
//      (media_destination_denied): the reply would open a way back.
//   4. Other egress: the egress allow-list, or open; the flow is remembered
//      so its return traffic is accepted (exact 5-tuple only). A TCP flow is
//      judged on its first data segment and then verified.
//
// Pinholes open when the handset's SDP is seen (offer or answer, INVITE,
// 18x/2xx, ACK, PRACK, UPDATE), are updated by re-offers (new ports, hold
// with port 0) and close when the dialog ends (the 2xx to its BYE, CANCEL,
// failure response, transaction or call timeout) or, before any media was
// seen, after media.idle_timeout without SIP activity. Closing emits
// pinhole_closed and asks (effects.h) for every flow the engine verified
// through the pinhole to lose its kernel fast path at once. A BYE that is
// challenged or refused leaves the call's audio alone; one never answered
// ends the call after kByeTimeout; after the 2xx, media still in flight
// passes for kMediaGrace, judged packet by packet (calls.h).
//
// Dialogs are keyed by a keyed hash (SipHash-2-4 under EngineLimits::
// dialog_key) of the Call-ID and caller's tag, compared in full on lookup. A
// full dialog table never pushes out a confirmed call for a new dialog: an
// unanswered or ended dialog goes first, a ringing one next; when every entry
// is a confirmed call the new INVITE is dropped (dialog_table_full). So a
// flood of INVITEs forged from the PBX's address cannot end live calls
// (calls.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "filters/engine/calls.h"
#include "filters/engine/egress.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/events.h"
#include "filters/engine/handsets.h"
#include "filters/engine/keepalive.h"
#include "filters/engine/provisioning_request.h"
#include "filters/engine/request_guard.h"
#include "filters/engine/rules.h"
#include "filters/engine/scanner.h"
#include "filters/engine/siphash.h"
#include "filters/engine/timestamp.h"
#include "filters/engine/toll_guard.h"
#include "filters/engine/verdict.h"
#include "filters/net/packet.h"
#include "filters/sip/tcp_stream.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

// Table capacities. The defaults fit an office of up to about 250 handsets
// with room to spare. A table becomes resident only as it fills (see
// bounded_table.h), so these numbers set the memory ceiling under load or
// under a flood, not what a quiet site uses: about 1.5 MiB when every table
// below is full (64-bit), plus the rate-limit table (sip.max_tracked_sources)
// and the bytes TCP streams hold. A full table drops its least recently used
// entry (the dialog table: never a confirmed call, see calls.h), so a number
// too small costs live state (a pinhole, a handset's counters, a new call),
// not memory. The scale benchmark and larger sites raise them.
struct EngineLimits {
    // 4 per handset: a call, a consultation call for a transfer, a waiting
    // call, a ring-group INVITE. Also enough for a ring group of all 250
    // handsets on top of 250 calls, and for the footprint benchmark's 1,000.
    std::size_t max_dialogs = 1024;
    // 4 per dialog: RTP and RTCP for audio and video (an audio call takes 2,
    // a dialog at most 2 * kMaxDialogMedia).
    std::size_t max_pinholes = 4096;
    // 2 addresses per handset: IPv4 and IPv6, or an old and a new DHCP lease
    // (the old one is then the least recently seen).
    std::size_t max_handsets = 512;
    // 16 flows per handset for the return traffic of DNS (every lookup is a
    // flow of its own for the 120 s UDP timeout), NTP, provisioning,
    // directory and STUN.
    std::size_t max_egress_flows = 4096;
    // Sources of unlisted SIP watched for scanning: sized by the internet's
    // scanning noise, not by the site.
    std::size_t max_scan_sources = 1024;
    // SIP-over-TCP connections: one per handset, with room for reconnects.
    std::size_t max_tcp_streams = 512;
    // Keys of the toll-fraud limits (toll_guard.h): a handset's address, the
    // AOR it claims and its digest user name.
    std::size_t max_limit_keys = 2048;
    // Numbers marked by one-ring calls from risk prefixes (callback_guard.h):
    // 132 bytes each (64-bit); a site gets a few such calls a week.
    std::size_t max_callback_marks = 1024;
    // Per direction, and at least sip.max_message_size. Stays at 64 KiB: with
    // GSO one queued segment can be that large.
    std::size_t max_tcp_stream_bytes = 65536;
    // The secret key of the dialog table's hash (calls.h). The daemon draws
    // one from getrandom(2) at start, so a sender cannot choose Call-IDs that
    // collide; replay and tests keep this fixed one (results do not depend
    // on it: keys are compared in full).
    SipHashKey dialog_key{};
};

// The engine is the router between its units (each in its own file):
//   calls.h          dialogs and the media pinholes their SDP opens
//   request_guard.h  what a handset's SIP asks the PBX to do, put to
//   toll_guard.h     the toll-fraud rules (numbers, hours, limits)
//   handsets.h       the handset inventory (registrations, firmware, stale)
//   scanner.h        scanners by User-Agent and behaviour; SIP rate limits
//   egress.h         the egress allow-list and return traffic
//   sip/tcp_stream.h what of a SIP-over-TCP stream can be judged
// It decides which unit a packet is for, runs the parsers, and turns drops
// into accepts in monitor mode. The units share an EngineContext (the policy
// in force, the counters); none of them talks to another except through the
// references it is built with, and none does I/O.
class Engine {
public:
    Engine(std::shared_ptr<const CompiledPolicy> rules, const EngineLimits& limits = {});
    // The units hold references into the engine.
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Judges one packet. `now` is wall-clock time (ns since the Unix epoch):
    // the capture's timestamps in replay, CLOCK_REALTIME in the daemon.
    Decision process(const net::DecodedPacket& packet, const Now& now, EventSink& events);

    // A packet the kernel's rules dropped and sampled to the daemon (NFLOG):
    // no verdict and no verdict counters; SIP in it is parsed so scanners
    // are named the way replay names them. Returns the SIP method and
    // User-Agent found (empty when it is not SIP), valid until the next call.
    struct SipSummary {
        std::string_view method;
        std::string_view user_agent;
    };
    SipSummary observe_kernel_drop(const net::DecodedPacket& packet, const Now& now, EventSink& events);
    // The reason of a packet the kernel dropped on its way to the handsets
    // (its catch-all inbound drop), as replay would give it: icmp_unsolicited
    // for ICMP from a listed peer (the PBX's ping), else unlisted_source.
    Reason kernel_inbound_drop_reason(const net::DecodedPacket& packet) const noexcept;

    // Timeouts: transactions, call durations, idle pinholes, stale handsets.
    // Call about once a second (and before reading tables for display).
    void tick(const Now& now, EventSink& events);

    // Swaps in a new policy without losing calls, pinholes or registrations;
    // pinholes the new policy no longer allows (their PBX or its media range
    // is gone) are closed with events.
    void reload(std::shared_ptr<const CompiledPolicy> rules, const Now& now, EventSink& events);

    const CompiledPolicy& rules() const noexcept { return ctx_.r(); }
    const EngineStats& stats() const noexcept { return ctx_.stats; }
    const ResponseCounter& responses() const noexcept { return ctx_.responses; }
    std::size_t dialog_count() const noexcept { return calls_.dialog_count(); }
    std::size_t pinhole_count() const noexcept { return calls_.pinhole_count(); }
    std::size_t handset_count() const noexcept { return handsets_.size(); }
    // Calls in progress, both directions (the toll guard counts outbound ones).
    std::size_t active_calls() const noexcept { return calls_.active_calls(); }
    const sip::TcpStreamCounters& tcp_counters() const noexcept { return tcp_.counters(); }
    // The latest time the engine was given (a packet or a tick).
    const Now& last_now() const noexcept { return toll_.profiles().last(); }
    // Return-traffic flows of handset egress the engine remembers.
    std::size_t egress_flow_count() const noexcept { return egress_.flow_count(); }
    // The destination profiles' counters (fraud_profiles.h).
    const FraudProfiles& fraud_profiles() const noexcept { return toll_.profiles(); }
    // The numbers marked by one-ring calls (callback_guard.h).
    const CallbackGuard& callback_marks() const noexcept { return toll_.callbacks(); }
    // The table capacities it was built with (metrics: how full each table is).
    const EngineLimits& limits() const noexcept { return limits_; }

    template <typename F>
    void for_each_dialog(F&& f) const { calls_.for_each_dialog(std::forward<F>(f)); }
    template <typename F>
    void for_each_pinhole(F&& f) const { calls_.for_each_pinhole(std::forward<F>(f)); }
    template <typename F>
    void for_each_handset(F&& f) const { handsets_.for_each(std::forward<F>(f)); }
    // The interface audit's finding for a handset (daemon/interface_audit.h).
    void set_open_interfaces(const net::IpAddress& a, const OpenInterfaces& found) {
        handsets_.set_open_interfaces(a, found);
    }
    // handsets.known and what was seen of each entry; empty without an inventory.
    const std::vector<KnownHandsetState>& known_handsets() const noexcept { return handsets_.known(); }
    KnownStatus known_status(const KnownHandsetState& k, Timestamp now) const noexcept {
        return handsets_.status(k, now);
    }

    // Bytes of table memory reserved up front (for the footprint report).
    std::size_t table_bytes() const noexcept;

private:
    friend struct StateCodec;   // state_file.h
    enum class Dir : std::uint8_t { inbound, outbound };

    Decision inbound(const net::DecodedPacket& p, const Now& now, EventSink& ev);
    Decision outbound(const net::DecodedPacket& p, const Now& now, EventSink& ev);
    Decision outbound_tcp_egress(const net::DecodedPacket& p, bool to_pbx, bool to_pbx_signalling, const Now& now,
                                 EventSink& ev);
    // A handset's TFTP read request or cleartext HTTP request for a
    // configuration or firmware file: cleartext_provisioning, never a drop.
    void cleartext_provisioning(const net::DecodedPacket& p, const ProvisioningRequest& req, const Now& now,
                                EventSink& ev);
    Decision outbound_media(const net::DecodedPacket& p, Pinhole& ph, const PeerIndex* pbx_media, const Now& now,
                            EventSink& ev);
    Decision sip_packet(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, const Now& now, EventSink& ev);
    Decision sip_datagram(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, const Now& now, EventSink& ev);
    Decision keepalive(const net::DecodedPacket& p, KeepaliveKind kind, const Now& now, EventSink& ev);
    Decision judge_sip(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx, const Now& now,
                       EventSink& ev);
    Decision other_sip(const net::DecodedPacket& p, bool to_pbx, const Now& now, EventSink& ev, bool reset);
    Decision inspect_unlisted_sip(const net::DecodedPacket& p, const Now& now, EventSink& ev);
    Decision inbound_media(const net::DecodedPacket& p, Pinhole& ph, const Now& now, EventSink& ev);
    Decision inbound_icmp(const net::DecodedPacket& p, const Now& now, EventSink& ev);
    Decision finish(Decision d);
    void count_sip(const sip::SipMessage& m) noexcept;
    void emit_cut(const net::DecodedPacket& p, const net::IpAddress& handset, std::string_view why, const Now& now,
                  EventSink& ev);

    EngineContext ctx_;
    EngineLimits limits_;
    TollGuard toll_;
    HandsetInventory handsets_;
    CallTable calls_;
    RequestGuard guard_;
    ScannerDetector scanner_;
    SipRateLimiter rates_;
    EgressTracker egress_;
    sip::TcpStreamTable tcp_;
    bool started_ = false;
    sip::SipMessage msg_;   // reused for every message (about 20 KiB)
    std::unique_ptr<sip::SipMessage> trailing_msg_;   // a second message in a datagram
    std::string repaired_;   // a datagram read with its IPv6 Request-URI host bracketed (msg_ points into it)
};

}  // namespace vg::engine
