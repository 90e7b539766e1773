// SPDX-License-Identifier: GPL-2.0-or-later
// Token-bucket rate limiting ("10/s burst 20") with exact integer arithmetic
// (no floating point: router CPUs often have none), and a keyed variant for
// per-source / per-source-and-method limits with a bounded number of keys.
//
// Arithmetic: a rate is `count` events per `period`. The bucket holds credit
// in units where one token is worth `period` (in nanoseconds) and every elapsed
// nanosecond adds `count` units. So 3/s adds exactly 3 tokens per second with
// no rounding drift, and a bucket never holds more than `burst` tokens.
// RateSpec::make() rejects specs whose burst * period does not fit 62 bits.
//
// Time comes from the caller. A `now` earlier than the last one seen (which a
// monotonic clock never produces) refills nothing and is not remembered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "filters/engine/bounded_table.h"
#include "filters/engine/timestamp.h"

namespace vg::engine {

class RateSpec {
public:
    static constexpr std::uint64_t kMaxCredit = std::uint64_t{1} << 62;

    // `count` events per `period`, at most `burst` at once. Returns nullopt for
    // count == 0, burst == 0, period <= 0 or burst * period beyond 2^62 ns
    // (e.g. a burst of a million with a period of two months).
    static std::optional<RateSpec> make(std::uint32_t count, Duration period,
                                        std::uint32_t burst) noexcept;
    // Shorthands: per_second(10, 20) is "10/s burst 20".
    static std::optional<RateSpec> per_second(std::uint32_t count, std::uint32_t burst) noexcept {
        return make(count, std::chrono::seconds(1), burst);
    }
    static std::optional<RateSpec> per_minute(std::uint32_t count, std::uint32_t burst) noexcept {
        return make(count, std::chrono::minutes(1), burst);
    }

    std::uint32_t count() const noexcept { return count_; }
    std::uint32_t burst() const noexcept { return burst_; }
    Duration period() const noexcept { return Duration(static_cast<Duration::rep>(period_ns_)); }

    // Credit units (see above).
    std::uint64_t token_credit() const noexcept { return period_ns_; }
    std::uint64_t max_credit() const noexcept { return period_ns_ * burst_; }

private:
    RateSpec(std::uint32_t count, std::uint64_t period_ns, std::uint32_t burst) noexcept
        : period_ns_(period_ns), count_(count), burst_(burst) {}

    std::uint64_t period_ns_;
    std::uint32_t count_;
    std::uint32_t burst_;
};

// The mutable part of a bucket: 16 bytes, so a keyed limiter stores only this
// per key and shares one RateSpec.
struct TokenBucketState {
    std::uint64_t credit = 0;
    Timestamp last{};

    // A full bucket as of `now`.
    static TokenBucketState full(const RateSpec& spec, Timestamp now) noexcept {
        return {spec.max_credit(), now};
    }
    // Adds the credit earned since `last`, capped at the burst.
    void refill(const RateSpec& spec, Timestamp now) noexcept;
    // Refills, then takes `tokens` if that many are there.
    bool take(const RateSpec& spec, Timestamp now, std::uint32_t tokens = 1) noexcept;
    // Whole tokens available at `now` (does not change the state).
    std::uint32_t available(const RateSpec& spec, Timestamp now) const noexcept;
    // How long until `tokens` are available (zero if they are now; the
    // maximum Duration if tokens > burst, which never happens).
    Duration wait_time(const RateSpec& spec, Timestamp now, std::uint32_t tokens = 1) const noexcept;
    // True when the bucket has refilled to the burst: indistinguishable from a
    // fresh one, so a keyed limiter may forget it.
    bool is_full(const RateSpec& spec, Timestamp now) const noexcept;
};

class TokenBucket {
public:
    // Starts full (a burst is allowed straight away).
    TokenBucket(const RateSpec& spec, Timestamp start) noexcept
        : spec_(spec), state_(TokenBucketState::full(spec, start)) {}

    bool allow(Timestamp now, std::uint32_t tokens = 1) noexcept { return state_.take(spec_, now, tokens); }
    std::uint32_t available(Timestamp now) const noexcept { return state_.available(spec_, now); }
    Duration wait_time(Timestamp now, std::uint32_t tokens = 1) const noexcept {
        return state_.wait_time(spec_, now, tokens);
    }
    const RateSpec& spec() const noexcept { return spec_; }

    // Policy reload: keeps the whole tokens the bucket holds (as of `now`),
    // capped at the new burst.
    void set_spec(const RateSpec& spec, Timestamp now) noexcept;

private:
    RateSpec spec_;
    TokenBucketState state_;
};

// One token bucket per key (a source address, a source and a SIP method, a
// handset), all with the same RateSpec, for at most `max_keys` keys. When a
// new key arrives and the table is full, the key used least recently is
// forgotten (counted in evictions()). A forgotten key comes back with a full
// bucket, so a sender rotating through more keys than the table holds gets a
// burst per key: pair a keyed limit with a global TokenBucket.
template <typename Key, typename Hash = std::hash<Key>, typename KeyEqual = std::equal_to<Key>>
class KeyedRateLimiter {
public:
    KeyedRateLimiter(const RateSpec& spec, std::size_t max_keys, std::uint64_t seed = 0)
        : spec_(spec), table_(max_keys, seed) {}

    // Takes `tokens` from key's bucket; false when over the limit. With
    // max_keys == 0 nothing is tracked and everything is allowed.
    bool allow(const Key& key, Timestamp now, std::uint32_t tokens = 1) noexcept {
        auto r = table_.find_or_insert(key);
        if (r.value == nullptr) return true;
        if (r.inserted) *r.value = TokenBucketState::full(spec_, now);
        const bool ok = r.value->take(spec_, now, tokens);
        if (!ok) ++denied_;
        return ok;
    }

    // Whole tokens `key` has now (the burst for an unknown key).
    std::uint32_t available(const Key& key, Timestamp now) const noexcept {
        const TokenBucketState* s = table_.find(key);
        return s == nullptr ? spec_.burst() : s->available(spec_, now);
    }

    // Forgets keys whose bucket has refilled completely (they would behave
    // exactly like new keys), freeing room before any real eviction. Call it
    // from the periodic housekeeping tick. Returns how many were dropped.
    std::size_t expire_idle(Timestamp now) noexcept {
        return table_.erase_if([&](const Key&, TokenBucketState& s) { return s.is_full(spec_, now); });
    }

    std::size_t tracked() const noexcept { return table_.size(); }
    std::size_t capacity() const noexcept { return table_.capacity(); }
    std::uint64_t evictions() const noexcept { return table_.evictions(); }
    std::uint64_t denied() const noexcept { return denied_; }
    const RateSpec& spec() const noexcept { return spec_; }
    static constexpr std::size_t entry_bytes() noexcept {
        return BoundedTable<Key, TokenBucketState, Hash, KeyEqual>::entry_bytes();
    }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes(); }

    void clear() noexcept { table_.clear(); }

private:
    RateSpec spec_;
    BoundedTable<Key, TokenBucketState, Hash, KeyEqual> table_;
    std::uint64_t denied_ = 0;
};

}  // namespace vg::engine
