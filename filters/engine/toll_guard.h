// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard: judges what a handset asks the PBX to call — the
// Request-URI (and To) of an INVITE, the Refer-To of a REFER, the Contacts of
// a 3xx redirect — against the policy's prefix lists and out-of-hours rules,
// and counts calls against the limits.
//
// Numbers: every reading of the dial string (dialled_number.h,
// read_dial_string) is judged, and the dial string is denied if any reading
// is: a PBX that strips a decoration the guard kept would otherwise dial what
// the guard never saw. In allow-list mode the strict reading must be an
// allowed number and no other reading may be a number the list does not
// allow; what cannot be classified (stray characters, too long, a feature
// code carrying a destination) is denied unless the policy allows it as
// written. Emergency and service numbers are never blocked or limited. A
// dial string without digits ("alice") is a name, not a PSTN call.
//
// A dial string the guard cannot read with certainty (DialDoubt: a malformed
// %-escape, an escaped '%', bytes that are not UTF-8, a digit outside ASCII,
// more than it reads)
// is denied in either mode, whatever number, name or emergency number it
// seems to be: SIP stacks disagree on it (libosip2 ends a user part at a
// malformed escape), so no reading is certain to be the PBX's. Reason
// toll_fraud, rule "unreadable:CAUSE", unless one of its readings is denied
// by a prefix first.
//
// Limits: the concurrent and hourly counters of a handset are kept per key,
// and a call counts against every key of the handset that places it: its
// address and the digest user name it authenticates with where the request
// carries credentials (the account the PBX bills). A hijacked handset that
// changes its address to get fresh counters still meets its account's, and
// counters no longer live in the handset table, so pushing a handset out of
// that table (a flood of registrations) does not reset them. The site's
// counters are the backstop. Only outbound calls count: outsiders calling a
// handset do not use up its limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/bounded_table.h"
#include "filters/engine/callback_guard.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/events.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/fraud_profiles.h"
#include "filters/engine/rate_limiter.h"
#include "filters/engine/rules.h"
#include "filters/engine/timestamp.h"
#include "filters/engine/verdict.h"

namespace vg::engine {

struct TollDecision {
    bool blocked = false;
    Reason reason = Reason::sip_inspected;   // toll_fraud or call_limit when blocked
    EventType event = EventType::toll_fraud;
    FixedString<48> rule;                    // "deny_prefix:+882", "allow_list", "limit:...",
                                             // "unreadable:malformed_escape"
    NormalisedNumber number;                 // the reading that decided (else the strict one)
    FixedString<48> dialled;                 // the dial string, decoded
    bool service = false;                    // an emergency/service number: never limited
    bool number_like = false;                // the dial string has digits
    // fraud_threshold: the profile's level passed (events.h: group, threshold, value, level).
    FixedString<24> group;
    FixedString<32> threshold;
    std::uint32_t value = 0;
    std::uint32_t level = 0;
};

// The keys a call counts against (see above). At most kMax, deduplicated;
// one more sets `overflow`, and admit() refuses the call (a key left out
// would be a budget left uncharged).
struct LimitKeys {
    static constexpr std::size_t kMax = 3;
    std::uint64_t key[kMax] = {};
    std::uint8_t count = 0;
    bool overflow = false;
    void add(std::uint64_t k) noexcept;
};

class TollGuard {
public:
    explicit TollGuard(std::size_t max_keys, std::size_t max_callback_marks = 1024, const SipHashKey& secret = {});

    // The numbers marked by one-ring calls (callback_guard.h).
    CallbackGuard& callbacks() noexcept { return callbacks_; }
    const CallbackGuard& callbacks() const noexcept { return callbacks_; }

    // The destination profiles' counters (fraud_profiles.h).
    FraudProfiles& profiles() noexcept { return profiles_; }
    const FraudProfiles& profiles() const noexcept { return profiles_; }

    // The number rules for one dial string (an escaped user part or a tel
    // number). `wall` decides which rules apply (out of hours).
    TollDecision judge(std::string_view escaped_user, const CompiledPolicy& rules, UnixSeconds wall) const noexcept;

    // The limits for one more call of `keys`. `concurrent`: it will be a call
    // of its own (an INVITE) and must fit the concurrent limits; `count`: it
    // takes a token from the hourly budgets (not for the credentialed retry of
    // a challenged INVITE, which is the same call). Fills `d` when blocked.
    // The hourly budgets run on now.mono; now.wall picks the out-of-hours one.
    bool admit(const LimitKeys& keys, bool concurrent, bool count, const CompiledPolicy& rules, const Now& now,
               TollDecision& d) noexcept;

    // A call of `keys` started / ended (concurrent counters).
    void call_started(const LimitKeys& keys) noexcept;
    void call_ended(const LimitKeys& keys) noexcept;

    std::size_t site_active_calls() const noexcept { return site_active_; }
    std::size_t key_count() const noexcept { return limits_.size(); }
    std::uint64_t evictions() const noexcept { return evictions_; }
    std::size_t memory_bytes() const noexcept {
        return limits_.memory_bytes() + profiles_.memory_bytes() + callbacks_.memory_bytes();
    }
    // A reload keeps the hourly budgets: what a key used stays used (a
    // reload mid-attack hands out no fresh budget). A raised limit adds the
    // difference, a lowered one caps what is left; a limit the old policy
    // did not have starts full. `old_rules` is the policy being replaced.
    void reload(const CompiledPolicy& old_rules, const CompiledPolicy& new_rules, Timestamp mono) noexcept;

private:
    friend struct StateCodec;   // state_file.h
    struct Counters {
        std::uint16_t active = 0;
        bool hourly_init = false;
        TokenBucketState hourly{};
    };
    Counters* counters(std::uint64_t key, bool create) noexcept;

    BoundedTable<std::uint64_t, Counters> limits_;
    FraudProfiles profiles_;
    CallbackGuard callbacks_;
    std::uint64_t evictions_ = 0;
    std::size_t site_active_ = 0;
    TokenBucketState site_hourly_{};
    bool site_hourly_init_ = false;
};

// Key helpers (hash of a tag and a text).
std::uint64_t limit_key(std::string_view kind, std::string_view value) noexcept;

}  // namespace vg::engine
