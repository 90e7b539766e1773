// SPDX-License-Identifier: GPL-2.0-or-later
// Who is knocking, and how hard: scanner detection by User-Agent and by
// behaviour (many targets, OPTIONS sweeps, request floods from one source),
// and the per-method rate limits on SIP requests towards the handsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/bounded_table.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/rate_limiter.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

class ScannerDetector {
public:
    ScannerDetector(EngineContext& ctx, std::size_t max_sources);

    // A scanner's User-Agent (or Server, or From display name): event, true.
    bool user_agent(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    // Scanning behaviour of the packet's source within a window: one event
    // per source and window.
    void behaviour(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);

    std::size_t memory_bytes() const noexcept { return sources_.memory_bytes(); }

private:
    struct Source {
        Timestamp window_start{};
        std::uint32_t targets[8] = {};    // hashes of distinct To users / addresses
        std::uint8_t target_count = 0;
        std::uint16_t requests = 0;
        std::uint16_t options = 0;
        std::uint16_t distinct = 0;
        bool reported = false;
    };

    EngineContext& ctx_;
    BoundedTable<net::IpAddress, Source, net::IpAddressHash> sources_;
};

// sip.rate_limits, applied to requests towards the handsets. A bucket per
// (source, target handset, method): a flood aimed at one handset, even one
// that forges the PBX's address, does not starve the PBX's requests to the
// others. Above them one bucket per method for the whole site, kCeiling times
// the per-key rate and burst, bounds what a flood spread over every handset
// can push in. Keys are forgotten least recently used first
// (sip.max_tracked_sources); a new key starts with a full bucket.
class SipRateLimiter {
public:
    static constexpr std::uint32_t kCeiling = 20;

    SipRateLimiter(EngineContext& ctx, std::size_t max_keys);

    // True when the request may pass; else a rate_limited event (its rule
    // "site:METHOD" when the site's ceiling refused it) and false.
    bool admit(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev);
    // A keep-alive (keepalive.h) on the SIP flow, either way: buckets of its
    // own per (source, destination) and a site ceiling, at the `default`
    // rate; refused ones are rate_limited events with method "keepalive".
    bool admit_keepalive(const net::DecodedPacket& p, Timestamp now, EventSink& ev);
    // The rates come from the policy: a reload starts every bucket afresh.
    void reset() noexcept;

    std::size_t memory_bytes() const noexcept { return keys_.memory_bytes(); }

private:
    struct Key {
        net::IpAddress source;
        net::IpAddress target;
        std::uint8_t rate_index = 0;
        friend bool operator==(const Key& a, const Key& b) noexcept {
            return a.rate_index == b.rate_index && a.source == b.source && a.target == b.target;
        }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return (k.source.hash() * 7 + k.target.hash()) * 31 + k.rate_index;
        }
    };
    struct Ceiling {
        TokenBucketState bucket{};
        bool init = false;
    };
    // CompiledPolicy::compile() refuses more rates than this.
    static constexpr std::size_t kMaxRates = kMaxMethodRates;
    // Keep-alives: the bucket index after the policy's rates.
    static constexpr std::size_t kKeepaliveIndex = kMaxRates;

    bool admit_rate(const net::DecodedPacket& p, std::string_view method, const MethodRate& rate, std::size_t idx,
                    Timestamp now, EventSink& ev);

    EngineContext& ctx_;
    BoundedTable<Key, TokenBucketState, KeyHash> keys_;
    Ceiling ceilings_[kMaxRates + 1];
};

}  // namespace vg::engine
