// SPDX-License-Identifier: GPL-2.0-or-later
// The handset inventory: every handset address seen sending SIP, with what it
// says about itself (User-Agent, the AOR it registers), when the PBX accepted
// its registration, and whether its firmware is below the policy's minimum or
// it has stopped registering (stale). Bounded: the least recently seen
// handset goes first (counted and reported as an eviction).
//
// It also watches for signs of a hijacked account or handset (each its own
// event): a REGISTER whose User-Agent names another device or an older
// firmware than the handset's previous REGISTER (handset_user_agent_changed),
// an AOR registering from a second address while its registration from
// another is live (aor_second_address; a DHCP lease that changes while the
// old registration runs shows the same), a new registration outside the
// business hours of toll_fraud.out_of_hours (registered_out_of_hours), and
// each new call from a handset whose firmware is below the policy's minimum
// (outdated_firmware_call). It runs the passive password audit on the
// digest credentials of REGISTERs and INVITEs (password_audit.h).
//
// With an inventory (handsets.known) it also says which registering AORs
// are listed: an unlisted one is unknown_handset (the first REGISTER of an
// address, or one for another AOR), a listed one from another address than
// its expected one or with another model is handset_mismatch, and a listed
// one that has not registered for handsets.stale_after (from any address;
// never: since the list was loaded) is handset_forgotten, again every
// stale_after while it stays away.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "filters/engine/bounded_table.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/password_audit.h"
#include "filters/net/ip_address.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

// The management ports of a handset that answered the last interface audit
// (`voipguard audit`, daemon/interface_audit.h; the router connects to them
// only when the engineer asks). Not kept in the --state file: it is as old
// as the audit that found it.
struct OpenInterfaces {
    static constexpr std::size_t kMax = 8;
    std::array<std::uint16_t, kMax> ports{};   // the first kMax open ports, in audit order
    std::uint8_t count = 0;                    // ports listed
    std::uint8_t more = 0;                     // open ports beyond kMax
    Timestamp audited{};                       // when; {} = never audited
};

// Whether a handset's AOR is in handsets.known (as of its last REGISTER).
enum class Listing : std::uint8_t {
    none,      // no inventory, or no REGISTER since it was (re)listed
    known,
    mismatch,  // listed, but from another address or with another model than listed
    unknown,
};

// One entry of handsets.known and what the inventory saw of it. Kept across
// policy reloads for an AOR that stays listed.
struct KnownHandsetState {
    std::string aor;                   // as written in the policy
    std::string user;
    std::string domain;                // lower case; "" = any
    net::IpAddress address;            // expected; invalid = any
    std::string model;                 // "" = any
    Timestamp since{};                 // listed since (the first packet or tick after loading)
    bool since_set = false;
    Timestamp last_register{};         // its last REGISTER, from any address
    net::IpAddress last_address;       // where that came from (invalid: never seen)
    Timestamp reported{};              // last handset_forgotten
    bool forgotten = false;
    bool seen() const noexcept { return last_address.valid(); }
};

enum class KnownStatus : std::uint8_t { registering, forgotten, never_seen };

struct Handset {
    net::IpAddress address;
    FixedString<48> aor;                  // user@host of the To of its REGISTER
    FixedString<64> user_agent;
    FixedString<64> register_user_agent;  // the User-Agent of its last REGISTER
    Timestamp first_seen{};
    Timestamp last_seen{};
    Timestamp last_register{};
    Timestamp registered_until{};
    std::uint16_t active_calls = 0;       // outbound calls in progress (display)
    bool firmware_outdated = false;
    bool stale = false;
    Listing listed = Listing::none;       // handsets.known: is its AOR listed
    std::uint64_t last_outdated_call = 0; // Call-ID hash of the last outdated_firmware_call
    AuditState audit;                     // the password audit's progress and finding
    OpenInterfaces interfaces;            // the last interface audit's finding (voipguard audit)
};

class HandsetInventory {
public:
    HandsetInventory(EngineContext& ctx, std::size_t capacity);

    // A SIP message the handset sent: its User-Agent (firmware audit) and, for
    // a REGISTER, its AOR and (first time, or back from stale) an event.
    // REGISTERs and INVITEs also go through the hijack checks and the
    // password audit.
    void note_sip(const net::IpAddress& a, const sip::SipMessage& m, const Now& now, EventSink& ev);
    // The PBX accepted its registration for `expires` seconds.
    void registered(const net::IpAddress& a, std::uint32_t expires, Timestamp now);
    // The entry of `a`, created if needed (a handset in a call).
    Handset* touch(const net::IpAddress& a, Timestamp now, EventSink& ev);
    Handset* find(const net::IpAddress& a) noexcept { return table_.find(a); }
    const Handset* find(const net::IpAddress& a) const noexcept { return table_.find(a); }
    // Handsets that stopped registering for handsets.stale_after.
    void tick(Timestamp now, EventSink& ev);
    // The interface audit's finding for `a` (open ports, none for a clean
    // handset), when `a` is still in the inventory.
    void set_open_interfaces(const net::IpAddress& a, const OpenInterfaces& found);
    // Policy reload (the audit's budget, the inventory).
    void reload(Timestamp now) {
        audit_.reload(now);
        load_known();
    }

    // handsets.known and what was seen of each entry.
    const std::vector<KnownHandsetState>& known() const noexcept { return known_; }
    // Where a known handset stands at `now` (registering: within stale_after).
    KnownStatus status(const KnownHandsetState& k, Timestamp now) const noexcept;
    const PasswordAudit& audit() const noexcept { return audit_; }

    std::size_t size() const noexcept { return table_.size(); }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes(); }
    template <typename F>
    void for_each(F&& f) const { table_.for_each([&](const net::IpAddress&, const Handset& h) { f(h); }); }

private:
    friend struct StateCodec;   // state_file.h
    Handset* insert(const net::IpAddress& a, Timestamp now, EventSink& ev);
    void firmware_audit(Handset& h, std::string_view ua, Timestamp now, EventSink& ev);
    void register_signs(Handset& h, std::string_view ua, bool is_new, const Now& now, EventSink& ev);
    // The inventory's view of a REGISTER for user@host (before register_signs
    // updates the handset's last REGISTER User-Agent).
    void inventory_check(Handset& h, const sip::SipMessage& m, bool is_new, Timestamp now, EventSink& ev);
    KnownHandsetState* find_known(std::string_view user, std::string_view host) noexcept;
    void load_known();
    // Entries (re)listed since the last call are listed from `now`.
    void stamp_known(Timestamp now) noexcept;
    Duration stale_after() const noexcept;

    EngineContext& ctx_;
    BoundedTable<net::IpAddress, Handset, net::IpAddressHash> table_;
    PasswordAudit audit_;
    std::vector<KnownHandsetState> known_;
    std::unordered_multimap<std::uint64_t, std::uint32_t> known_by_user_;   // hash of the user -> index
    bool known_unstamped_ = false;   // entries without `since` (the engine's first packet or tick sets it)
};

// The product part of a User-Agent and its version ("Yealink SIP-T46S
// 66.86.0.15" -> "Yealink SIP-T46S", "66.86.0.15"): the version is the first
// version-looking token (firmware_version.h's rules), the product what comes
// before it without trailing separators. No version: the whole text, "".
struct UserAgentParts {
    std::string_view product;
    std::string_view version;
};
UserAgentParts split_user_agent(std::string_view ua) noexcept;

}  // namespace vg::engine
