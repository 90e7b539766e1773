// SPDX-License-Identifier: GPL-2.0-or-later
// Callback (Wangiri) fraud: a caller on a high-cost number rings a handset
// once and hangs up, so that someone calls back at the caller's premium rate.
// The guard remembers such callers and stops the callback
// (toll_fraud.callback in the policy).
//
// Marking: an inbound call (the PBX's INVITE to a handset) whose caller
// number - the user part of its From and of its P-Asserted-Identity, each
// read with the site's dial plan (read_dial_string, strict reading) - is an
// E.164 number on the risk list (CompiledPolicy::callback_risk: the built-in
// high-risk destinations, the deny list, callback.risk_prefixes and their
// files) and no longer allow_prefixes entry matches it, notes that number in
// its dialog (Dialog::callback_caller). When the dialog ends, the number is
// marked if the call
//   - was never answered and ended (CANCEL, a failure response such as 487)
//     within callback.max_ring of its INVITE, or
//   - was answered and ended (BYE) within callback.short_call of its answer.
// An unanswered call that runs into the INVITE timeout, or one that rang for
// longer, is an ordinary missed call; a longer answered call was a
// conversation.
//
// Checking: an outbound INVITE from any handset whose dial string has a
// reading (every reading of read_dial_string: '+', the international prefix,
// national, decorated) equal to a marked number, within callback.window of
// the end of the marking call, is a callback: dropped (action block, reason
// callback, VG_CALLBACK_BLOCKED) or reported (action warn,
// VG_CALLBACK_WARNING, then judged as any other call). Its event names both
// calls: the outbound one (handset, number, Call-ID) and the inbound one
// (detail: a hash of its Call-ID, how it ended and after how long, the
// handset it rang; count: seconds since it ended).
//
// The table: bounded (EngineLimits::max_callback_marks), keyed by a keyed
// hash (SipHash-2-4 under the engine's secret) of the number, compared in
// full. Windows run on monotonic time. Two recency lists: marks no handset
// has called back yet go first when the table is full, marks a handset has
// tried to call back (a victim who may try again) last; every eviction is
// counted (evictions(), VG_TABLE_EVICTION detail=callback_marks).
//
// What an attacker can do with it (config/REFERENCE.md, "Callbacks"):
//   - Mark a number to deny service: a caller who can present any caller ID
//     (most SIP trunks pass it through) rings once "from" a partner's number
//     on a risk prefix, and the site cannot call that partner back for the
//     window. Only risk-prefix numbers can be marked; an allow_prefixes
//     entry longer than the risk prefix exempts a number; action warn turns
//     blocking off.
//   - Flush a real mark: a flood of one-ring calls from distinct risk
//     numbers pushes out unreturned marks (never before those a handset
//     tried to call back). It costs the attacker one call per entry, each
//     logged as VG_CALLBACK_MARKED, and the flood is visible as
//     VG_TABLE_EVICTION.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/engine/bounded_table.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/rules.h"
#include "filters/engine/siphash.h"
#include "filters/engine/timestamp.h"
#include "filters/net/ip_address.h"

namespace vg::engine {

// How the marking call ended.
enum class CallbackHow : std::uint8_t { cancel, failure, short_call };

struct CallbackMark {
    FixedString<16> number;          // the caller, E.164 ("+" and at most 15 digits)
    FixedString<24> prefix;          // the risk prefix it matched, as written in the policy
    net::IpAddress handset;          // the handset the inbound call rang
    Timestamp ended{};               // monotonic: when the inbound call ended
    UnixSeconds wall = 0;            // wall clock of the same moment
    std::uint32_t call_hash = 0;     // the first 32 bits of the inbound Call-ID's FNV-1a hash
    std::uint32_t seconds = 0;       // how long it rang (cancel, failure) or lasted (short_call)
    std::uint16_t status = 0;        // failure: the response code
    CallbackHow how = CallbackHow::cancel;
    std::uint32_t callbacks = 0;     // outbound calls to it seen since it was marked
};

// "inbound:9f3c1a2b cancel:3s handset:192.168.20.11" (the event's detail).
void describe_mark(const CallbackMark& m, FixedString<64>& out) noexcept;

class CallbackGuard {
public:
    CallbackGuard(std::size_t capacity, const SipHashKey& secret = {});

    // The risk prefix (as written) a caller number matches, if it is an
    // E.164 number on the risk list that no longer allow entry exempts.
    static std::optional<std::string_view> risk_prefix(const NormalisedNumber& n, const CompiledPolicy& r) noexcept;

    // Marks (or marks again) a number. True when an entry was pushed out
    // for it (counted in evictions()).
    bool mark(const CallbackMark& m) noexcept;
    // The live mark of `number` (its window not over at `now`), or nullptr.
    // `hit`: a handset is calling it back (the mark moves to the list that
    // is evicted last, and counts the callback).
    const CallbackMark* find(std::string_view number, Timestamp now, Duration window, bool hit) noexcept;
    // Drops the marks whose window is over.
    void expire(Timestamp now, Duration window) noexcept;

    std::size_t size() const noexcept { return table_.size(); }
    std::size_t capacity() const noexcept { return table_.capacity(); }
    std::uint64_t evictions() const noexcept { return evictions_; }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes(); }
    template <typename F>
    void for_each(F&& f) const { table_.for_each([&](const Key&, const CallbackMark& m) { f(m); }); }

private:
    friend struct StateCodec;   // state_file.h
    struct Key {
        std::uint64_t index = 0;
        std::uint64_t check = 0;
        friend bool operator==(const Key& a, const Key& b) noexcept { return a.index == b.index && a.check == b.check; }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept { return static_cast<std::size_t>(k.index); }
    };
    enum : unsigned { kListUnreturned = 0, kListCalledBack = 1, kLists = 2 };
    Key key(std::string_view number) const noexcept;

    SipHashKey secret_;
    BoundedTable<Key, CallbackMark, KeyHash, std::equal_to<Key>, kLists> table_;
    std::uint64_t evictions_ = 0;
};

}  // namespace vg::engine
