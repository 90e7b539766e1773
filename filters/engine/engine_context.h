// SPDX-License-Identifier: GPL-2.0-or-later
// What the units of the engine share: the policy in force, the counters, and
// how an event is stamped. The Engine owns one; each unit (calls.h,
// handsets.h, scanner.h, egress.h, request_guard.h) holds a reference, so a
// reload swaps the policy for all of them at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "filters/engine/events.h"
#include "filters/engine/keepalive.h"
#include "filters/engine/rules.h"
#include "filters/engine/timestamp.h"
#include "filters/engine/verdict.h"
#include "filters/net/packet.h"

namespace vg::engine {

struct EngineStats {
    std::uint64_t packets = 0;
    std::uint64_t verdicts[3] = {};                // by Verdict
    std::uint64_t reasons[kReasonCount] = {};
    std::uint64_t sip_messages = 0;                // every SIP message parsed, whatever its verdict
    std::uint64_t sip_requests[16] = {};           // by sip::Method
    std::uint64_t sip_responses_by_class[7] = {};  // 1xx..6xx at [1..6]
    std::uint64_t sip_malformed = 0;
    std::uint64_t keepalives[kKeepaliveKindCount] = {};   // by KeepaliveKind, passed or not
    std::uint64_t sip_ipv6_hosts_bracketed = 0;    // Request-URIs read with their IPv6 host bracketed
    std::uint64_t dialogs_created = 0;
    std::uint64_t dialogs_ended = 0;
    std::uint64_t pinholes_opened = 0;
    std::uint64_t pinholes_closed = 0;
    std::uint64_t monitored = 0;                   // drops turned into accepts by mode: monitor
    std::uint64_t evictions_dialogs = 0;
    std::uint64_t dialogs_refused = 0;             // new dialogs not created: every entry a confirmed call
    std::uint64_t evictions_pinholes = 0;
    std::uint64_t pinholes_refused = 0;            // new pinholes not opened: every entry carried media
    std::uint64_t evictions_handsets = 0;
    std::uint64_t evictions_egress = 0;
    // The password audit (password_audit.h).
    std::uint64_t audit_checks = 0;                // (user, realm, nonce) checks begun
    std::uint64_t audit_completed = 0;             // checks that tested every candidate or found one
    std::uint64_t audit_passwords_tested = 0;
    std::uint64_t audit_hashes = 0;
    std::uint64_t audit_deferred = 0;              // a packet's check stopped by the budget (resumes later)
    std::uint64_t audit_skipped_auth_int = 0;      // qop=auth-int: needs the body
    std::uint64_t audit_skipped_unsupported = 0;   // other algorithm, hidden user name, bad response
    std::uint64_t audit_skipped_malformed = 0;     // credentials that did not parse
    std::uint64_t audit_parsed = 0;                // credentials headers parsed (one token each)
    std::uint64_t audit_unparsed_budget = 0;       // not parsed: the budget was spent (also deferred)
    std::uint64_t audit_unparsed_repeat = 0;       // not parsed: (AOR, nonce) already checked
};

// SIP response counts by exact code are kept for replay's summary.
struct ResponseCounter {
    std::uint64_t counts[700] = {};
};

struct EngineContext {
    explicit EngineContext(std::shared_ptr<const CompiledPolicy> policy) noexcept : rules(std::move(policy)) {}

    std::shared_ptr<const CompiledPolicy> rules;
    EngineStats stats;
    ResponseCounter responses;

    const CompiledPolicy& r() const noexcept { return *rules; }
    const config::Policy& p() const noexcept { return rules->p(); }
    bool monitor() const noexcept { return p().mode == config::Mode::monitor; }

    // An event stamped with the time and, when there is one, the packet's
    // addresses and ports.
    Event event(EventType t, const net::DecodedPacket* packet, Timestamp now) const noexcept;
    // A bounded table was full and pushed out its oldest entry.
    void eviction(std::string_view table, Timestamp now, EventSink& ev) const;
};

// FNV-1a, never 0: table keys and fingerprints that need no secret.
std::uint64_t hash_bytes(std::string_view s) noexcept;

}  // namespace vg::engine
