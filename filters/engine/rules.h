// SPDX-License-Identifier: GPL-2.0-or-later
// The policy compiled for the data path: every address list becomes a prefix
// trie, every dial prefix a digit trie, every rate a token-bucket spec. Built
// once per (re)load from config::Policy and then only read, so the engine and
// the daemon can share it through a shared_ptr and swap it atomically on
// reload.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/digit_prefix_set.h"
#include "filters/engine/firmware_version.h"
#include "filters/engine/prefix_trie.h"
#include "filters/engine/rate_limiter.h"
#include "filters/engine/scanner_patterns.h"
#include "filters/engine/schedule.h"
#include "filters/engine/timestamp.h"

namespace vg::engine {

// Index of a peer in config::Policy::peers.pbx / .support / egress.allow.
using PeerIndex = std::uint16_t;

struct MethodRate {
    std::string method;   // upper case, or "default"
    RateSpec spec;
};

// Most sip.rate_limits methods, the defaults included: SipRateLimiter keeps
// a site ceiling per method, and compile() refuses more than it holds, so no
// method (least of all "default", looked up last) is left unlimited. The
// same number as the schema's limit of the key (config/schema.cpp).
constexpr std::size_t kMaxMethodRates = 64;

// The out-of-hours schedule: business hours as weekly windows in the
// policy's time zone.
struct BusinessHours {
    WeeklySchedule schedule;   // in the time zone of the policy (resolved when it was loaded)
    bool enabled = false;
};

struct FirmwareRule {
    std::string match;
    FirmwareVersion minimum;
    std::string minimum_text;
};

// One list of dial prefixes (deny, allow, out-of-hours deny), normalised to
// the dialled-number form. "+" alone (or the international prefix alone)
// stands for every international number, i.e. every E.164 number outside
// the site's own country code.
struct PrefixList {
    DigitPrefixSet set;                    // rule id = index into texts
    std::vector<std::string_view> texts;   // as written, in the policy (CompiledPolicy::policy keeps it)
    std::optional<std::uint32_t> international;   // rule id of "+"

    struct Match {
        std::size_t length = 0;       // of the matched prefix ("+" counts 1)
        std::string_view text;        // as written in the policy
        std::uint32_t id = 0;         // index into texts
    };
    // The longest prefix of `number` on the list, or nullopt.
    std::optional<Match> match(std::string_view number, std::string_view country_code) const noexcept;
    bool empty() const noexcept { return set.empty() && !international; }
};

// A destination profile (config::FraudProfile) for the data path. `id` is a
// hash of its name: counters and calls keep it across reloads.
struct CompiledProfile {
    std::string name;
    std::uint64_t id = 0;
    WeeklySchedule hours;             // empty: always
    std::uint32_t same_prefix_digits = 8;
    Duration same_prefix_gap{};
    Duration max_call_warning{};      // 0 = off
    Duration max_call_critical{};
    std::array<config::FraudLevels, config::kFraudThresholdCount> per_handset{};
    std::array<config::FraudLevels, config::kFraudThresholdCount> per_site{};
};

// The id of a profile name (never 0: 0 is "no profile").
std::uint64_t profile_id(std::string_view name) noexcept;

struct CompiledPolicy {
    std::shared_ptr<const config::Policy> policy;

    PrefixTrie<std::uint8_t> handsets;
    PrefixTrie<PeerIndex> pbx_signalling;   // peers.pbx[i].addresses
    PrefixTrie<PeerIndex> pbx_media;        // peers.pbx[i].media.addresses (or its addresses)
    PrefixTrie<PeerIndex> support;          // peers.support[i].addresses
    PrefixTrie<PeerIndex> egress;           // egress.allow[i].addresses

    std::vector<std::uint16_t> sip_ports;   // sorted

    // Toll fraud. Deny / allow prefixes are normalised to the same form as
    // dialled numbers ("09" -> "+449" in the UK plan), the text as written is
    // kept for the log.
    std::optional<DialPlan> dial_plan;
    PrefixList deny;
    PrefixList allow;
    PrefixList out_of_hours_deny;
    // NANP area codes billed internationally (config nanp_international),
    // "+1809"; empty unless the site's country code is 1.
    PrefixList nanp_international;
    // Callers whose one-ring calls mark their number (callback_guard.h):
    // config TollFraud::Callback::risk_prefixes.
    PrefixList callback_risk;
    // Destination profiles: every profile's prefixes in one list, the rule
    // id's profile in profile_of.
    std::vector<CompiledProfile> profiles;
    PrefixList profile_prefixes;
    std::vector<std::uint8_t> profile_of;

    ScannerPatternSet scanners;
    std::vector<MethodRate> rates;          // sip.rate_limits; "default" last if present; at most kMaxMethodRates
    std::vector<FirmwareRule> firmware;

    // Compiles a validated policy. Fails (nullopt + message) only on values the
    // loader cannot have let through; the engine then keeps its old rules.
    static std::shared_ptr<const CompiledPolicy> compile(std::shared_ptr<const config::Policy> policy,
                                                         std::string& error);

    bool is_sip_port(std::uint16_t port) const noexcept;
    const config::Policy& p() const noexcept { return *policy; }
    // The rate for a method ("INVITE"), else "default", else nullptr.
    const MethodRate* rate_for(std::string_view method) const noexcept;
    // Inside business hours at this wall-clock time (UTC ns since the epoch)?
    // True when the policy has no schedule.
    // `wall`: wall-clock time, seconds since the Unix epoch.
    bool in_business_hours(UnixSeconds wall) const noexcept;
    // The profile a normalised number belongs to (its longest matching
    // prefix), or nullptr.
    const CompiledProfile* profile_for(std::string_view number) const noexcept;
    // The profile with this id, or nullptr (a reload removed it).
    const CompiledProfile* profile_by_id(std::uint64_t id) const noexcept;
    // Whether a profile's levels apply at this wall-clock time (its hours).
    bool profile_active(const CompiledProfile& prof, UnixSeconds wall) const noexcept;
    // The local day (days since 1970-01-01 in the policy's time zone).
    std::int64_t local_day(UnixSeconds wall) const noexcept;

    BusinessHours business_hours;
};

// Normalises a policy dial prefix to the dialled-number form; digits only
// with an optional leading '+'.
std::string normalise_prefix(std::string_view prefix, const DialPlan& plan);

}  // namespace vg::engine
