// SPDX-License-Identifier: GPL-2.0-or-later
// The passive password audit. A handset's REGISTER or INVITE with digest
// credentials (Authorization / Proxy-Authorization, RFC 3261 §22.4) carries
// all that is needed to test a candidate password offline; for each new
// (user, realm, nonce) of a handset the audit tests a bounded list of weak
// candidates (digest_check.h) and reports a match as weak_credential: the
// handset, its AOR and realm and the rule that matched, never the password.
//
// Candidates, in order (the first match names the rule):
//   the user name itself         "equals the extension"
//   the user name reversed       "user name reversed"
//   the user name twice          "user name repeated"
//   the user name + "123"        "user name + 123"
//   config::builtin_weak_passwords(): "common weak password" /
//                                "vendor default list entry"
//   handsets.weak_passwords      "policy list entry"
//
// Bounded CPU: one token bucket of handsets.password_audit_rate hashes per
// second (burst: one second's worth) for the whole router, on the monotonic
// clock, and at most kMaxHashesPerPacket hashes per packet. A check that
// runs out of either stops where it is (counted as deferred) and resumes at
// the handset's next message with the same nonce; a new nonce starts over.
// A finished check is not repeated for the same nonce. The audit never
// changes a verdict and never blocks: it only spends what the budget allows.
//
// Reading a credentials header (parse_digest_credentials, about as dear as a
// hash) is bounded by the same budget, so a REGISTER flood costs bounded CPU:
// with the budget spent the header is not parsed at all (counted as
// unparsed); a parse that leads to hashing is paid by its hashes, one that
// does not (malformed credentials, a nonce already checked) costs a token
// of its own; and a message whose (AOR, nonce) the handset's finished check
// already covered is recognised by a light scan for the nonce, without
// parsing or spending (counted as repeated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/digest_check.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/rate_limiter.h"
#include "filters/sip/digest.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

struct Handset;

enum class WeakRule : std::uint8_t {
    none,
    equals_user,
    user_reversed,
    user_repeated,
    user_123,
    common,
    vendor_default,
    policy_list,
};

// "equals the extension", "vendor default list entry", ... ("" for none).
std::string_view weak_rule_text(WeakRule r) noexcept;

// What the audit remembers per handset (in its inventory entry).
struct AuditState {
    static constexpr std::uint16_t kDone = 0xffff;
    std::uint64_t key = 0;          // hash of the user, realm and nonce last checked (0: none)
    std::uint64_t seen = 0;         // hash of the AOR and nonce of that check, by the light scan (0: none)
    std::uint16_t next = 0;         // next candidate, or kDone
    WeakRule weak = WeakRule::none; // what the last finished check found
};

class PasswordAudit {
public:
    static constexpr std::uint32_t kMaxHashesPerPacket = 64;

    explicit PasswordAudit(EngineContext& ctx);

    // A request the handset sent: checks its digest credentials within the
    // budget. `aor` names the handset in the event.
    void check(const net::IpAddress& handset, std::string_view aor, AuditState& st, const sip::SipMessage& m,
               Timestamp now, EventSink& ev);
    // Policy reload: the budget follows handsets.password_audit_rate.
    void reload(Timestamp now);

    // Candidates the policy in force gives for a user name (for the bench).
    std::size_t candidate_count() const noexcept;

private:
    // Candidate i for this user name; empty when it does not apply.
    std::string_view candidate(std::size_t i, std::string_view user, WeakRule& rule) noexcept;
    bool take(Timestamp now, std::uint32_t hashes, std::uint32_t& used) noexcept;

public:
    // The raw nonce of a Digest credentials value by a light scan (no
    // validation; "" when there is none): only a key for skipping a nonce
    // already checked, never what the check itself reads.
    static std::string_view scan_nonce(std::string_view value) noexcept;

private:

    EngineContext& ctx_;
    std::uint32_t rate_ = 0;
    TokenBucket bucket_;
    sip::DigestCredentials creds_;
    DigestVerifier verifier_;
    char scratch_[2 * sip::kMaxDigestValue + 8];
};

}  // namespace vg::engine
