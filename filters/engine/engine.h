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
//      and inspected (malformed action, scanner User-Agents, per-source and
//      per-method rate limits) and updates call state; from anywhere else it
//      is dropped as unlisted_source, after being parsed for scanner events.
//   2. A packet to an open media pinhole (handset address and port from the
//      handset's SDP): accepted and verified when it comes from the PBX's
//      media addresses (and ports) and its first bytes look like
//      RTP/RTCP/STUN/DTLS/ZRTP; media_injection / media_not_rtp otherwise.
//   3. Support addresses to their listed (protocol, port): support_allowed.
//   4. Return traffic of a flow a handset opened under the egress rules.
//   5. With media.static_allowance (SRTP/TLS without readable SDP): UDP from
//      the PBX's media addresses and ports.
//   6. Everything else: unlisted_source (or media_no_pinhole when it comes
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
// with port 0) and close when the dialog ends (BYE, CANCEL, failure response,
// transaction or call timeout) or, before any media was seen, after
// media.idle_timeout without SIP activity. Closing emits pinhole_closed so the
// daemon can delete the flow's conntrack entry at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "filters/engine/bounded_table.h"
#include "filters/engine/events.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/rate_limiter.h"
#include "filters/engine/rules.h"
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
// entry, so a number too small costs live state (a call's pinholes, a
// handset's counters), not memory. The scale benchmark and larger sites
// raise them.
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
    // Per direction, and at least sip.max_message_size. Stays at 64 KiB: with
    // GSO one queued segment can be that large.
    std::size_t max_tcp_stream_bytes = 65536;
};

// One media line of a dialog, as both SDPs describe it.
struct MediaLeg {
    net::IpAddress handset;          // from the handset's SDP
    std::uint16_t handset_rtp = 0;
    std::uint16_t handset_rtcp = 0;  // 0: none (not RTP, or media.rtcp off)
    net::IpAddress remote;           // from the PBX's SDP (may be unknown yet)
    std::uint16_t remote_rtp = 0;
    std::uint16_t remote_rtcp = 0;
    bool handset_known = false;
    bool remote_known = false;
    bool srtp = false;
    bool on_hold = false;
};

constexpr std::size_t kMaxDialogMedia = 4;

enum class DialogState : std::uint8_t { calling, early, confirmed, ended };
std::string_view dialog_state_name(DialogState s) noexcept;

struct Dialog {
    std::uint64_t key = 0;                // hash of the Call-ID and the caller's tag
    FixedString<64> call_id;              // first 64 bytes, for display
    net::IpAddress handset;
    net::IpAddress pbx;                   // the PBX signalling address
    PeerIndex pbx_index = 0;
    bool handset_is_caller = false;
    DialogState state = DialogState::calling;
    bool counted = false;                 // counts toward the concurrent limits (outbound calls)
    bool challenged = false;              // ended by 401/407: the retry is the same call
    std::uint8_t forks = 0;               // distinct to-tags seen in responses
    std::uint8_t media_count = 0;
    std::uint32_t invite_cseq = 0;
    // The INVITE transaction, to tell a retransmission (same transaction,
    // same bytes) from a new INVITE on the same Call-ID.
    std::uint64_t invite_branch = 0;
    std::uint64_t invite_ruri = 0;
    std::uint64_t invite_bytes = 0;
    std::uint64_t remote_target = 0;      // Contact user of the far end's 2xx (in-dialog Request-URI)
    LimitKeys limit_keys;                 // what the call counts against
    FixedString<32> number;               // outbound: normalised dialled number
    Timestamp created{};
    Timestamp last_sip{};
    Timestamp answered{};
    MediaLeg media[kMaxDialogMedia];
};

struct PinholeKey {
    net::IpAddress address;
    std::uint16_t port = 0;
    friend bool operator==(const PinholeKey& a, const PinholeKey& b) noexcept {
        return a.port == b.port && a.address == b.address;
    }
};
struct PinholeKeyHash {
    std::size_t operator()(const PinholeKey& k) const noexcept { return k.address.hash() * 31 + k.port; }
};

struct Pinhole {
    std::uint64_t dialog = 0;
    PeerIndex pbx_index = 0;
    bool rtcp = false;
    bool srtp = false;
    bool verified = false;
    net::IpAddress remote;          // expected source (PBX SDP), if known
    std::uint16_t remote_port = 0;
    bool remote_known = false;
    Timestamp opened{};
    Timestamp last_activity{};
    net::IpAddress verified_source; // first verified source, for pinhole_closed
    std::uint16_t verified_source_port = 0;
};

struct Handset {
    net::IpAddress address;
    FixedString<48> aor;                  // user@host of the To of its REGISTER
    FixedString<64> user_agent;
    Timestamp first_seen{};
    Timestamp last_seen{};
    Timestamp last_register{};
    Timestamp registered_until{};
    std::uint16_t active_calls = 0;       // outbound calls in progress (display)
    bool firmware_outdated = false;
    bool stale = false;
};

struct EngineStats {
    std::uint64_t packets = 0;
    std::uint64_t verdicts[3] = {};                // by Verdict
    std::uint64_t reasons[kReasonCount] = {};
    std::uint64_t sip_messages = 0;                // every SIP message parsed, whatever its verdict
    std::uint64_t sip_requests[16] = {};           // by sip::Method
    std::uint64_t sip_responses_by_class[7] = {};  // 1xx..6xx at [1..6]
    std::uint64_t sip_malformed = 0;
    std::uint64_t dialogs_created = 0;
    std::uint64_t dialogs_ended = 0;
    std::uint64_t pinholes_opened = 0;
    std::uint64_t pinholes_closed = 0;
    std::uint64_t monitored = 0;                   // drops turned into accepts by mode: monitor
    std::uint64_t evictions_dialogs = 0;
    std::uint64_t evictions_pinholes = 0;
    std::uint64_t evictions_handsets = 0;
    std::uint64_t evictions_egress = 0;
};

// SIP response counts by exact code are kept for replay's summary.
struct ResponseCounter {
    std::uint64_t counts[700] = {};
};

class Engine {
public:
    Engine(std::shared_ptr<const CompiledPolicy> rules, const EngineLimits& limits = {});

    // Judges one packet. `now` is wall-clock time (ns since the Unix epoch):
    // the capture's timestamps in replay, CLOCK_REALTIME in the daemon.
    Decision process(const net::DecodedPacket& packet, Timestamp now, EventSink& events);

    // A packet the kernel's rules dropped and sampled to the daemon (NFLOG):
    // no verdict and no verdict counters; SIP in it is parsed so scanners
    // are named the way replay names them. Returns the SIP method and
    // User-Agent found (empty when it is not SIP), valid until the next call.
    struct SipSummary {
        std::string_view method;
        std::string_view user_agent;
    };
    SipSummary observe_kernel_drop(const net::DecodedPacket& packet, Timestamp now, EventSink& events);

    // Timeouts: transactions, call durations, idle pinholes, stale handsets.
    // Call about once a second (and before reading tables for display).
    void tick(Timestamp now, EventSink& events);

    // Swaps in a new policy without losing calls, pinholes or registrations;
    // pinholes the new policy no longer allows (their PBX or its media range
    // is gone) are closed with events.
    void reload(std::shared_ptr<const CompiledPolicy> rules, Timestamp now, EventSink& events);

    const CompiledPolicy& rules() const noexcept { return *rules_; }
    const EngineStats& stats() const noexcept { return stats_; }
    const ResponseCounter& responses() const noexcept { return responses_; }
    std::size_t dialog_count() const noexcept { return dialogs_.size(); }
    std::size_t pinhole_count() const noexcept { return pinholes_.size(); }
    std::size_t handset_count() const noexcept { return handsets_.size(); }
    // Calls in progress, both directions (the toll guard counts outbound ones).
    std::size_t active_calls() const noexcept { return calls_; }
    const sip::TcpStreamCounters& tcp_counters() const noexcept { return tcp_.counters(); }

    template <typename F>
    void for_each_dialog(F&& f) const { dialogs_.for_each([&](const std::uint64_t&, const Dialog& d) { f(d); }); }
    template <typename F>
    void for_each_pinhole(F&& f) const { pinholes_.for_each([&](const PinholeKey& k, const Pinhole& p) { f(k, p); }); }
    template <typename F>
    void for_each_handset(F&& f) const { handsets_.for_each([&](const net::IpAddress&, const Handset& h) { f(h); }); }

    // Bytes of table memory reserved up front (for the footprint report).
    std::size_t table_bytes() const noexcept;

private:
    struct EgressFlow {
        net::IpAddress initiator;
        Timestamp expires{};
        // TCP: judged on its first data segment (is it SIP?), then verified.
        std::uint32_t isn = 0;
        bool syn_seen = false;
        bool judged = false;
    };
    struct ScanSource {
        Timestamp window_start{};
        std::uint32_t targets[8] = {};    // hashes of distinct To users / addresses
        std::uint8_t target_count = 0;
        std::uint16_t requests = 0;
        std::uint16_t options = 0;
        std::uint16_t distinct = 0;
        bool reported = false;
    };
    struct RateKey {
        net::IpAddress source;
        std::uint8_t rate_index = 0;
        friend bool operator==(const RateKey& a, const RateKey& b) noexcept {
            return a.rate_index == b.rate_index && a.source == b.source;
        }
    };
    struct RateKeyHash {
        std::size_t operator()(const RateKey& k) const noexcept { return k.source.hash() * 7 + k.rate_index; }
    };

    enum class Dir : std::uint8_t { inbound, outbound };

    // What the judgement of an outbound INVITE hands to call tracking.
    struct InviteVerdict {
        bool judged = false;              // a new INVITE transaction (not a retransmission)
        bool new_call = false;            // creates or restarts a dialog
        bool counted = false;             // counts toward the concurrent limits
        LimitKeys keys;
        NormalisedNumber number;
    };

    Decision inbound(const net::DecodedPacket& p, Timestamp now, EventSink& ev);
    Decision outbound(const net::DecodedPacket& p, Timestamp now, EventSink& ev);
    Decision outbound_tcp_egress(const net::DecodedPacket& p, bool to_pbx, Timestamp now, EventSink& ev);
    Decision sip_packet(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, Timestamp now, EventSink& ev);
    Decision sip_datagram(const net::DecodedPacket& p, Dir dir, PeerIndex pbx, Timestamp now, EventSink& ev);
    Decision judge_sip(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx, Timestamp now,
                       EventSink& ev);
    Decision judge_handset_request(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now,
                                   EventSink& ev, InviteVerdict& iv);
    Decision judge_redirect(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    Decision judge_targets(const net::DecodedPacket& p, const sip::SipMessage& m, const std::string_view* users,
                           std::size_t n, Timestamp now, EventSink& ev, bool& routable);
    Decision block(const net::DecodedPacket& p, const sip::SipMessage& m, const TollDecision& d, Timestamp now,
                   EventSink& ev);
    Decision other_sip(const net::DecodedPacket& p, bool to_pbx, Timestamp now, EventSink& ev, bool reset);
    Decision inspect_unlisted_sip(const net::DecodedPacket& p, Timestamp now, EventSink& ev);
    Decision inbound_media(const net::DecodedPacket& p, Timestamp now, EventSink& ev, bool& handled);
    void track_request(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, PeerIndex pbx,
                       Timestamp now, EventSink& ev, const InviteVerdict* iv);
    void track_response(const net::DecodedPacket& p, const sip::SipMessage& m, Dir dir, Timestamp now,
                        EventSink& ev);
    Dialog* find_dialog(const sip::SipMessage& m) noexcept;
    LimitKeys limit_keys(const net::DecodedPacket& p, const sip::SipMessage& m) const noexcept;
    void apply_sdp(Dialog& d, std::string_view body, Dir dir, Timestamp now, EventSink& ev,
                   const net::DecodedPacket& p);
    void open_pinhole(Dialog& d, const MediaLeg& leg, const net::IpAddress& addr, std::uint16_t port, bool rtcp,
                      Timestamp now, EventSink& ev);
    void close_pinhole(const PinholeKey& key, const Pinhole& ph, Timestamp now, EventSink& ev);
    void close_leg_pinholes(const Dialog& d, const MediaLeg& leg, Timestamp now, EventSink& ev);
    void end_dialog(Dialog& d, Timestamp now, EventSink& ev, std::string_view why);
    void note_handset(const net::IpAddress& a, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    void scanner_behaviour(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    bool scanner_user_agent(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    Decision finish(Decision d, Timestamp now);
    void count_sip(const sip::SipMessage& m) noexcept;
    Event make_event(EventType t, const net::DecodedPacket* p, Timestamp now) const;
    void emit_eviction(std::string_view table, Timestamp now, EventSink& ev);
    void emit_cut(const net::DecodedPacket& p, const net::IpAddress& handset, std::string_view why, Timestamp now,
                  EventSink& ev);

    std::shared_ptr<const CompiledPolicy> rules_;
    EngineLimits limits_;
    BoundedTable<std::uint64_t, Dialog> dialogs_;
    BoundedTable<PinholeKey, Pinhole, PinholeKeyHash> pinholes_;
    BoundedTable<net::IpAddress, Handset, net::IpAddressHash> handsets_;
    BoundedTable<net::FlowKey, EgressFlow, net::FlowKeyHash> egress_;
    BoundedTable<net::IpAddress, ScanSource, net::IpAddressHash> scan_;
    BoundedTable<RateKey, TokenBucketState, RateKeyHash> rates_;
    sip::TcpStreamTable tcp_;
    TollGuard toll_;
    std::size_t calls_ = 0;
    bool started_ = false;
    EngineStats stats_;
    ResponseCounter responses_;
    sip::SipMessage msg_;   // reused for every message (about 20 KiB)
    std::unique_ptr<sip::SipMessage> trailing_msg_;   // a second message in a datagram
};

}  // namespace vg::engine
