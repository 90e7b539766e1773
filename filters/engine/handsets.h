// SPDX-License-Identifier: GPL-2.0-or-later
// The handset inventory: every handset address seen sending SIP, with what it
// says about itself (User-Agent, the AOR it registers), when the PBX accepted
// its registration, and whether its firmware is below the policy's minimum or
// it has stopped registering (stale). Bounded: the least recently seen
// handset goes first (counted and reported as an eviction).
#pragma once

#include <cstddef>
#include <cstdint>

#include "filters/engine/bounded_table.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/fixed_string.h"
#include "filters/net/ip_address.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

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

class HandsetInventory {
public:
    HandsetInventory(EngineContext& ctx, std::size_t capacity);

    // A SIP message the handset sent: its User-Agent (firmware audit) and, for
    // a REGISTER, its AOR and (first time, or back from stale) an event.
    void note_sip(const net::IpAddress& a, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    // The PBX accepted its registration for `expires` seconds.
    void registered(const net::IpAddress& a, std::uint32_t expires, Timestamp now);
    // The entry of `a`, created if needed (a handset in a call).
    Handset* touch(const net::IpAddress& a, Timestamp now, EventSink& ev);
    Handset* find(const net::IpAddress& a) noexcept { return table_.find(a); }
    const Handset* find(const net::IpAddress& a) const noexcept { return table_.find(a); }
    // Handsets that stopped registering for handsets.stale_after.
    void tick(Timestamp now, EventSink& ev);

    std::size_t size() const noexcept { return table_.size(); }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes(); }
    template <typename F>
    void for_each(F&& f) const { table_.for_each([&](const net::IpAddress&, const Handset& h) { f(h); }); }

private:
    Handset* insert(const net::IpAddress& a, Timestamp now, EventSink& ev);

    EngineContext& ctx_;
    BoundedTable<net::IpAddress, Handset, net::IpAddressHash> table_;
};

}  // namespace vg::engine
