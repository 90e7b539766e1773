// SPDX-License-Identifier: GPL-2.0-or-later
// Calls: the SIP dialogs between handsets and the PBX and the media pinholes
// their SDP opens.
//
// Dialogs are keyed by Call-ID and the caller's tag (the From tag of the
// initial INVITE), as PBXs key them: a new call on an old Call-ID is a new
// dialog. A dialog is found from any message of it by its From tag or its To
// tag. The handset's address is part of the key too: a call between two
// handsets of the site through a proxying PBX (a proxy keeps the Call-ID and
// the tags) crosses the router twice, once per handset, and each crossing is
// a dialog of its own with its own SDP and pinholes (one key for both mixed
// the two handsets' media: no audio either way).
// The key is SipHash-2-4 (128-bit output, siphash.h) of the Call-ID, the tag
// and the handset's address under a secret key the daemon draws at start (EngineLimits): one
// half chooses the table's bucket, and both halves are compared on lookup, so
// a sender cannot make two calls share a key, and two different calls are
// the same dialog only if all 128 bits agree (a 2^-128 chance per pair).
//
// The table is bounded (max_dialogs) and keeps its entries in three recency
// lists (bounded_table.h): unanswered and ended dialogs, dialogs the callee
// has answered provisionally (1xx), and confirmed calls. A new dialog in a
// full table pushes out the least recently used entry of the first of these
// lists that has one, and never a confirmed call: a flood of unanswered
// INVITEs, even forged from the PBX's own address, only churns among itself
// (ringing calls go only when nothing unanswered is left). Only the callee's
// answer moves a dialog on (the PBX's responses to a handset's INVITE, the
// handset's to the PBX's), so a forged response cannot confirm a forged
// INVITE. When every entry is a confirmed call the new dialog is not created:
// request() returns false, the INVITE is dropped (dialog_table_full; its
// retransmission is judged again), stats.dialogs_refused counts it and a
// table_eviction event says "dialogs_refused". The live calls are what the
// table is for; a new call fails closed.
//
// Pinholes open when the handset's SDP is seen (offer or answer, INVITE,
// 18x/2xx, ACK, PRACK, UPDATE), are updated by re-offers (new ports, hold
// with port 0: the old port's pinholes close and linger for kMediaGrace, as
// after a BYE, for the media in flight to them) and close when the dialog ends (CANCEL, failure response,
// transaction or call timeout) or, before any media was seen, after
// media.idle_timeout without SIP activity. Closing emits pinhole_closed (for
// the log) and asks for the conntrack entries of every flow the engine
// verified through it to be deleted (effects.h), so their fast path ends at
// once.
//
// A BYE ends the call on its final 2xx response, not when it passes: a BYE
// can be challenged (401/407) and sent again with credentials, or refused
// (481) while the call goes on, and the media the far end sends until the
// BYE reaches it is still in flight. A BYE without any final response ends
// the call after kByeTimeout (RFC 3261 Timer F); a failure response to it
// leaves the call up (a later 2xx to the same BYE still ends it, so a forged
// failure cannot hold a call's pinholes open). On the 2xx the pinholes close
// as above (events, conntrack entries deleted), then linger for kMediaGrace:
// media in flight that arrives in that time is still let through, judged
// packet by packet (never verified again, so it takes no fast path), and
// after it nothing passes.
//
// A handset answering a call often starts its media a few milliseconds
// before the answer that carries its SDP (a 200 OK right behind its first
// RTP or RTCP packets): there is no pinhole for its port yet. Media it sends
// to exactly the endpoint the PBX's SDP offered in that dialog, before its
// own SDP was seen, passes (offered()): accepted but not verified, so the
// PBX's replies are still judged against the pinhole, which opens with the
// answer. The offers are kept in a small ring (kMaxOffers); one pushed out
// only costs those first packets, as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/bounded_table.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/handsets.h"
#include "filters/engine/siphash.h"
#include "filters/engine/toll_guard.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

// One media line of a dialog, as both SDPs describe it. (The addresses
// first: laid out without padding, 48 bytes.)
struct MediaLeg {
    net::IpAddress handset;          // from the handset's SDP
    net::IpAddress remote;           // from the PBX's SDP (may be unknown yet)
    std::uint16_t handset_rtp = 0;
    std::uint16_t handset_rtcp = 0;  // 0: none (not RTP, or media.rtcp off)
    std::uint16_t remote_rtp = 0;
    std::uint16_t remote_rtcp = 0;
    bool handset_known = false;
    bool remote_known = false;
    bool srtp = false;
    bool on_hold = false;
    // The PBX's endpoint is one the policy refuses media from (its address
    // is no media address of a PBX, or its port is outside that PBX's
    // media.ports): bit 0 its RTP endpoint, bit 1 its RTCP endpoint. Bit 2
    // stays once any offer of this line named a port outside media.ports
    // (a re-offer moving the media elsewhere leaves that media in flight).
    // Media from there is Reason::media_refused_by_policy (refused_endpoint()).
    std::uint8_t remote_refused = 0;
};

constexpr std::size_t kMaxDialogMedia = 4;

// A BYE without a final response is given up after Timer F (64 * T1,
// RFC 3261 §17.1.2.2): the call ends then.
constexpr Duration kByeTimeout = std::chrono::seconds(32);
// After the 2xx to a BYE, the call's pinholes let media in flight through
// this long (RTP sent before the far end got the BYE, its RTCP BYE).
constexpr Duration kMediaGrace = std::chrono::milliseconds(500);

enum class DialogState : std::uint8_t { calling, early, confirmed, ended };
std::string_view dialog_state_name(DialogState s) noexcept;

// A dialog's key: the two halves of the keyed hash of its Call-ID and the
// caller's tag. `index` places it in the table; both are compared.
struct DialogKey {
    std::uint64_t index = 0;
    std::uint64_t check = 0;
    friend bool operator==(const DialogKey& a, const DialogKey& b) noexcept {
        return a.index == b.index && a.check == b.check;
    }
    friend bool operator!=(const DialogKey& a, const DialogKey& b) noexcept { return !(a == b); }
};
struct DialogKeyHash {
    std::size_t operator()(const DialogKey& k) const noexcept { return static_cast<std::size_t>(k.index); }
};

// Computes dialog keys under a secret (EngineLimits::dialog_key).
class DialogKeyer {
public:
    explicit DialogKeyer(const SipHashKey& secret = {}) noexcept : secret_(secret) {}
    DialogKey operator()(std::string_view call_id, std::string_view caller_tag,
                         const net::IpAddress& handset) const noexcept;

    // For tests: every key gets this `index` (every dialog collides in the
    // table's hash); `check` stays the keyed hash, so dialogs still differ.
    static DialogKeyer with_fixed_index_for_tests(const SipHashKey& secret, std::uint64_t index) noexcept {
        DialogKeyer k(secret);
        k.fixed_index_ = index;
        k.index_fixed_ = true;
        return k;
    }

private:
    SipHashKey secret_;
    std::uint64_t fixed_index_ = 0;
    bool index_fixed_ = false;
};

struct Dialog {
    DialogKey key;                        // keyed hash of the Call-ID and the caller's tag
    FixedString<64> call_id;              // first 64 bytes, for display
    net::IpAddress handset;
    net::IpAddress pbx;                   // the PBX signalling address
    PeerIndex pbx_index = 0;
    bool handset_is_caller = false;
    DialogState state = DialogState::calling;
    bool counted = false;                 // counts toward the concurrent limits (outbound calls)
    // Ended by a 401/407 challenge (the code's last digit, 1 or 7; 0: not):
    // the credentialed retry is the same call, so its VG_CALL_ENDED waits
    // until no retry came (see CallTable::end_dialog).
    std::uint8_t challenged = 0;
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
    std::uint64_t profile = 0;            // outbound: its destination profile's id (0: none)
    std::uint8_t profile_reported = 0;    // max_call_duration reported: 1 warning, 2 critical (mode: monitor)
    FixedString<32> number;               // outbound: normalised dialled number
    // Inbound: the caller numbers (From, P-Asserted-Identity; E.164) on the
    // callback risk list, marked if the call ends as a one-ring call
    // (callback_guard.h).
    FixedString<16> callback_caller[2];
    // A BYE passed and has no 2xx yet: pending (no final response; the call
    // ends kByeTimeout after bye_at) or refused (a failure response: the
    // call goes on). (Here they fill what `number` leaves before `created`.)
    bool bye_pending = false;
    bool bye_refused = false;
    bool bye_outbound = false;            // sent by the handset
    std::uint32_t bye_cseq = 0;
    Timestamp created{};
    Timestamp last_sip{};
    Timestamp answered{};
    Timestamp bye_at{};
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
    // Laid out for size (88 bytes): four pinholes a call (see the per-call
    // budget in engine_test and scale.bytes_per_dialog in the benchmark).
    static constexpr std::uint8_t kMaxFlows = 2;

    DialogKey dialog;
    Timestamp last_activity{};
    net::IpAddress remote;          // expected source (PBX SDP), if known
    // Verified flows noted (below); kMaxFlows + 1: more than that were,
    // so every flow on the handset's port is closed.
    std::uint8_t flow_count = 0;
    std::uint16_t remote_port = 0;
    PeerIndex pbx_index = 0;
    bool rtcp = false;
    bool srtp = false;
    // open: no media yet; verified: media seen, the kernel fast path has
    // the flow; lingering: closed after its call's BYE or a re-offer that
    // moved the port (events and effects given), media in flight still let
    // through until `last_activity` (kMediaGrace after the BYE's 2xx or the
    // re-offer).
    enum class State : std::uint8_t { open, verified, lingering };
    State state = State::open;
    bool remote_known = false;
    // The flows through the pinhole the engine verified (their remote ends:
    // the PBX's media, in either direction), for their deletion at close.
    // Media both ways between the handset and one media server is one flow;
    // a second covers a switch of media server (a transfer, a re-INVITE).
    // (Ports and addresses apart: an array of pairs would pad each pair.)
    std::uint16_t flow_port[kMaxFlows] = {};
    net::IpAddress flow_remote[kMaxFlows];

    // Notes a verified flow with `remote`:`port` (once).
    void note_flow(const net::IpAddress& r, std::uint16_t port) noexcept;
    // The flows noted, at most kMaxFlows.
    std::uint8_t flows() const noexcept { return flow_count > kMaxFlows ? kMaxFlows : flow_count; }
    bool flows_overflow() const noexcept { return flow_count > kMaxFlows; }
};

// What the judgement of an outbound INVITE hands to call tracking.
struct InviteVerdict {
    bool judged = false;              // a new INVITE transaction (not a retransmission)
    bool new_call = false;            // creates or restarts a dialog
    bool counted = false;             // counts toward the concurrent limits
    LimitKeys keys;
    NormalisedNumber number;
    std::uint64_t profile = 0;        // destination profile id (0: none)
};

class CallTable {
public:
    // The recency lists of the dialog table, first to be evicted first.
    enum DialogList : unsigned {
        kListPending = 0,     // calling (no answer from the callee yet) and ended
        kListAnswered = 1,    // the callee answered provisionally (1xx)
        kListConfirmed = 2,   // confirmed: never evicted for a new dialog
        kDialogLists = 3
    };
    using DialogTable = BoundedTable<DialogKey, Dialog, DialogKeyHash, std::equal_to<DialogKey>, kDialogLists>;
    // The recency lists of the pinhole table, first to be evicted first. A
    // new pinhole may push out lingering and unverified ones, never one
    // whose media flows: a handset re-offering new ports in a loop churns
    // among its own lingering pinholes and cannot close other calls' audio.
    enum PinholeList : unsigned {
        kPinholeLingering = 0,   // closed, media in flight let through for kMediaGrace
        kPinholeOpen = 1,        // no media yet
        kPinholeVerified = 2,    // media seen: never evicted for a new pinhole
        kPinholeLists = 3
    };
    using PinholeTable = BoundedTable<PinholeKey, Pinhole, PinholeKeyHash, std::equal_to<PinholeKey>, kPinholeLists>;

    CallTable(EngineContext& ctx, HandsetInventory& handsets, TollGuard& toll, std::size_t max_dialogs,
              std::size_t max_pinholes, const DialogKeyer& keyer = DialogKeyer());

    // The dialog a message between HANDSET and the PBX belongs to (by its
    // From tag, else its To tag).
    Dialog* find(const sip::SipMessage& m, const net::IpAddress& handset) noexcept;

    // A request between a handset and the PBX that passed. `outbound`: sent by
    // the handset, with the judgement of its INVITE in `iv`. False when it
    // starts a dialog that the table has no room for (every entry a confirmed
    // call): the caller drops it (Reason::dialog_table_full).
    bool request(const net::DecodedPacket& p, const sip::SipMessage& m, bool outbound, PeerIndex pbx,
                 Timestamp now, EventSink& ev, const InviteVerdict* iv);
    // A response that passed.
    void response(const net::DecodedPacket& p, const sip::SipMessage& m, bool outbound, Timestamp now,
                  EventSink& ev);

    // The pinhole on a handset's media port: open, or lingering after its
    // call's BYE until its grace ends.
    Pinhole* pinhole(const net::IpAddress& handset, std::uint16_t port, Timestamp now) noexcept {
        Pinhole* ph = pinholes_.find(PinholeKey{handset, port});
        if (ph != nullptr && ph->state == Pinhole::State::lingering && now > ph->last_activity) return nullptr;
        return ph;
    }

    // Media passed the pinhole on HANDSET's PORT: it is verified (see
    // PinholeList). The engine sets Pinhole::state, this its list.
    void pinhole_verified(const net::IpAddress& handset, std::uint16_t port) noexcept {
        pinholes_.move_to_list(PinholeKey{handset, port}, kPinholeVerified);
    }

    // Transaction and call timeouts, idle pinholes.
    void tick(Timestamp now, EventSink& ev);
    // After a reload: pinholes whose PBX or media range is gone close.
    void reload(Timestamp now, EventSink& ev);

    std::size_t dialog_count() const noexcept { return dialogs_.size(); }
    // Dialogs in one of the recency lists (confirmed calls: kListConfirmed).
    std::size_t dialog_count(DialogList list) const noexcept { return dialogs_.list_size(list); }
    // The dialog of a Call-ID, caller's tag and handset, without changing recency.
    const Dialog* find_dialog(std::string_view call_id, std::string_view caller_tag,
                              const net::IpAddress& handset) const noexcept {
        return dialogs_.find(keyer_(call_id, caller_tag, handset));
    }
    const DialogKeyer& keyer() const noexcept { return keyer_; }
    // True when `handset` sends to `remote`:`port`, the RTP or RTCP endpoint
    // the PBX's SDP offered in a live dialog of that handset whose own SDP
    // for that media line has not been seen yet.
    bool offered(const net::IpAddress& handset, const net::IpAddress& remote, std::uint16_t port) const noexcept;

    // True when media from `src`:`src_port` into `ph`, the pinhole on
    // `handset`:`port`, comes from an endpoint a PBX's SDP named for it that
    // the policy refuses (MediaLeg::remote_refused): the endpoint of the
    // current offer when that is refused; else, once an earlier offer of that
    // media line named a port outside media.ports, a PBX media address on a
    // port outside them (media still in flight). Media from there is
    // Reason::media_refused_by_policy; from anywhere else, an injection.
    bool refused_endpoint(const Pinhole& ph, const net::IpAddress& handset, std::uint16_t port,
                          const net::IpAddress& src, std::uint16_t src_port) const noexcept;

    // Open pinholes (not those lingering after their call's BYE).
    std::size_t pinhole_count() const noexcept { return pinholes_.size() - lingering_; }
    // Calls in progress, both directions (the toll guard counts outbound ones).
    std::size_t active_calls() const noexcept { return calls_; }
    std::size_t memory_bytes() const noexcept { return dialogs_.memory_bytes() + pinholes_.memory_bytes(); }

    template <typename F>
    void for_each_dialog(F&& f) const { dialogs_.for_each([&](const DialogKey&, const Dialog& d) { f(d); }); }
    template <typename F>
    void for_each_pinhole(F&& f) const {
        pinholes_.for_each([&](const PinholeKey& k, const Pinhole& p) {
            if (p.state != Pinhole::State::lingering) f(k, p);
        });
    }

private:
    void apply_sdp(Dialog& d, std::string_view body, bool outbound, Timestamp now, EventSink& ev,
                   const net::DecodedPacket& p);
    // The fast path of every verified flow of PH but the one from REMOTE
    // (its flows that are not, deleted: effects); with none left, open again.
    void forget_flows_except(const PinholeKey& key, Pinhole& ph, const net::IpAddress& remote,
                             std::uint16_t remote_port, Timestamp now, EventSink& ev);
    void open_pinhole(Dialog& d, const MediaLeg& leg, const net::IpAddress& addr, std::uint16_t port, bool rtcp,
                      Timestamp now, EventSink& ev);
    void close_pinhole(const PinholeKey& key, const Pinhole& ph, Timestamp now, EventSink& ev);
    // `linger`: after a BYE's 2xx, the pinholes stay for media in flight.
    void close_leg_pinholes(const Dialog& d, const MediaLeg& leg, Timestamp now, EventSink& ev, bool linger = false);
    // `leaving`: the dialog is being removed from the table (evicted, timed
    // out), so it is not moved to the pending list.
    void end_dialog(Dialog& d, Timestamp now, EventSink& ev, std::string_view why, bool leaving = false,
                    bool linger = false);
    void report_call_ended(const Dialog& d, Timestamp now, EventSink& ev, std::string_view why);
    // VG_CALL_ENDED of a challenged attempt that no retry followed.
    void report_unanswered_challenge(const Dialog& d, Timestamp now, EventSink& ev);
    void bye_response(Dialog& d, const sip::SipMessage& m, bool outbound, Timestamp now, EventSink& ev);
    // Inbound calls: note the risky caller numbers; at the end, mark them
    // if the call was a one-ring call (callback_guard.h).
    void note_callback_callers(Dialog& d, const sip::SipMessage& m) noexcept;
    void mark_callback(const Dialog& d, Timestamp now, EventSink& ev, std::string_view why);

    EngineContext& ctx_;
    HandsetInventory& handsets_;
    TollGuard& toll_;
    DialogKeyer keyer_;
    DialogTable dialogs_;
    PinholeTable pinholes_;
    std::size_t lingering_ = 0;   // pinholes in the table that are lingering
    // The PBX's offers a handset has not answered with its own SDP yet:
    // where its early media may go (offered()). A ring; entries are checked
    // against their dialog on use.
    struct Offer {
        DialogKey dialog;
        net::IpAddress handset;
        net::IpAddress remote;
        std::uint16_t rtp = 0;
        std::uint16_t rtcp = 0;   // the SDP's, or rtp + 1
        std::uint8_t leg = 0;
    };
    static constexpr std::size_t kMaxOffers = 16;
    Offer offers_[kMaxOffers];
    std::size_t next_offer_ = 0;
    std::size_t calls_ = 0;
};

}  // namespace vg::engine
