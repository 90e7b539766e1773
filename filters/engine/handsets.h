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
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

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
    // Policy reload (the audit's budget).
    void reload(Timestamp now) { audit_.reload(now); }
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

    EngineContext& ctx_;
    BoundedTable<net::IpAddress, Handset, net::IpAddressHash> table_;
    PasswordAudit audit_;
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
