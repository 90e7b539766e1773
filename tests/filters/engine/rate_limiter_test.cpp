// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/rate_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>

#include "filters/net/ip_address.h"
#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;

const Timestamp t0 = Timestamp{} + 1000s;

RateSpec spec(std::uint32_t count, Duration period, std::uint32_t burst) {
    auto s = RateSpec::make(count, period, burst);
    EXPECT_TRUE(s.has_value());
    return s.value_or(*RateSpec::per_second(1, 1));
}

int allowed_in_a_row(TokenBucket& b, Timestamp now, int max = 1000) {
    int n = 0;
    while (n < max && b.allow(now)) ++n;
    return n;
}

TEST(RateSpec, RejectsZeroAndOverflowingSpecs) {
    EXPECT_FALSE(RateSpec::make(0, 1s, 1));
    EXPECT_FALSE(RateSpec::make(1, 1s, 0));
    EXPECT_FALSE(RateSpec::make(1, 0s, 1));
    EXPECT_FALSE(RateSpec::make(1, -1s, 1));
    EXPECT_FALSE(RateSpec::make(1, std::chrono::hours(24 * 365), 1000000));
    EXPECT_TRUE(RateSpec::make(1, std::chrono::hours(24), 1000));
    EXPECT_TRUE(RateSpec::make(4000000000u, 1s, 4000000000u));
}

TEST(TokenBucket, StartsFullAndAllowsTheBurst) {
    TokenBucket b(spec(10, 1s, 20), t0);
    EXPECT_EQ(b.available(t0), 20u);
    EXPECT_EQ(allowed_in_a_row(b, t0), 20);
    EXPECT_FALSE(b.allow(t0));
}

TEST(TokenBucket, RefillsAtTheRateWithAFakeClock) {
    TokenBucket b(spec(10, 1s, 20), t0);
    allowed_in_a_row(b, t0);
    EXPECT_FALSE(b.allow(t0 + 99ms));   // 0.99 tokens
    EXPECT_TRUE(b.allow(t0 + 100ms));   // 1 token
    EXPECT_FALSE(b.allow(t0 + 100ms));
    EXPECT_EQ(allowed_in_a_row(b, t0 + 600ms), 5);
}

TEST(TokenBucket, LongIdleRefillsOnlyUpToTheBurst) {
    TokenBucket b(spec(10, 1s, 20), t0);
    allowed_in_a_row(b, t0);
    const Timestamp later = t0 + std::chrono::hours(24 * 365 * 50);
    EXPECT_EQ(b.available(later), 20u);
    EXPECT_EQ(allowed_in_a_row(b, later), 20);
}

TEST(TokenBucket, FractionalRatesDoNotDrift) {
    // 3/s: over 10 s exactly 30 tokens, taken one at a time as they come.
    TokenBucket b(spec(3, 1s, 2), t0);
    ASSERT_EQ(allowed_in_a_row(b, t0), 2);
    int taken = 0;
    for (int ms = 1; ms <= 10000; ++ms)
        if (b.allow(t0 + std::chrono::milliseconds(ms))) ++taken;
    EXPECT_EQ(taken, 30);
}

TEST(TokenBucket, PerMinuteRateAllowsOneEverySixSecondsForTenPerMinute) {
    TokenBucket b(spec(10, 1min, 1), t0);
    EXPECT_TRUE(b.allow(t0));
    EXPECT_FALSE(b.allow(t0 + 5999ms));
    EXPECT_TRUE(b.allow(t0 + 6s));
    EXPECT_EQ(b.wait_time(t0 + 6s), 6s);
}

TEST(TokenBucket, ClockGoingBackwardsRefillsNothing) {
    TokenBucket b(spec(1, 1s, 1), t0 + 10s);
    EXPECT_TRUE(b.allow(t0 + 10s));
    EXPECT_FALSE(b.allow(t0));          // earlier: ignored
    EXPECT_FALSE(b.allow(t0 + 10500ms));
    EXPECT_TRUE(b.allow(t0 + 11s));
}

TEST(TokenBucket, MultiTokenTakesAndOversizedRequestsFail) {
    TokenBucket b(spec(10, 1s, 20), t0);
    EXPECT_TRUE(b.allow(t0, 15));
    EXPECT_FALSE(b.allow(t0, 6));
    EXPECT_TRUE(b.allow(t0, 5));
    EXPECT_EQ(b.wait_time(t0, 2), 200ms);
    EXPECT_EQ(b.wait_time(t0, 21), Duration::max());
    EXPECT_FALSE(b.allow(t0 + 1h, 21));
    EXPECT_TRUE(b.allow(t0 + 1h, 20));
}

TEST(TokenBucket, SetSpecKeepsWholeTokensCappedAtNewBurst) {
    TokenBucket b(spec(10, 1s, 20), t0);
    EXPECT_TRUE(b.allow(t0, 5));  // 15 left
    b.set_spec(spec(1, 1min, 5), t0);
    EXPECT_EQ(b.available(t0), 5u);
    b.set_spec(spec(100, 1s, 100), t0);
    EXPECT_EQ(b.available(t0), 5u);
    EXPECT_EQ(b.available(t0 + 10ms), 6u);
}

struct SourceMethod {
    net::IpAddress source;
    std::uint8_t method;
    friend bool operator==(const SourceMethod& a, const SourceMethod& b) {
        return a.source == b.source && a.method == b.method;
    }
};
struct SourceMethodHash {
    std::size_t operator()(const SourceMethod& k) const noexcept { return k.source.hash() * 31 + k.method; }
};

net::IpAddress v4(std::uint32_t x) { return net::IpAddress::v4(x); }

TEST(KeyedRateLimiter, KeysHaveIndependentBuckets) {
    KeyedRateLimiter<SourceMethod, SourceMethodHash> l(spec(1, 1s, 2), 16);
    const SourceMethod a{v4(0xC0000201), 1}, a_other_method{v4(0xC0000201), 2}, b{v4(0xC0000202), 1};
    EXPECT_TRUE(l.allow(a, t0));
    EXPECT_TRUE(l.allow(a, t0));
    EXPECT_FALSE(l.allow(a, t0));
    EXPECT_TRUE(l.allow(a_other_method, t0));
    EXPECT_TRUE(l.allow(b, t0));
    EXPECT_EQ(l.tracked(), 3u);
    EXPECT_EQ(l.denied(), 1u);
    EXPECT_TRUE(l.allow(a, t0 + 1s));
}

TEST(KeyedRateLimiter, BoundedKeysEvictLeastRecentlyUsedAndCount) {
    KeyedRateLimiter<std::uint32_t> l(spec(1, 1s, 1), 4);
    for (std::uint32_t k = 0; k < 4; ++k) EXPECT_TRUE(l.allow(k, t0));
    EXPECT_FALSE(l.allow(0, t0));  // key 0 becomes the most recently used
    EXPECT_EQ(l.evictions(), 0u);
    EXPECT_TRUE(l.allow(99, t0));  // evicts key 1
    EXPECT_EQ(l.evictions(), 1u);
    EXPECT_EQ(l.tracked(), 4u);
    EXPECT_FALSE(l.allow(0, t0));  // still tracked, still empty
    EXPECT_TRUE(l.allow(1, t0));   // forgotten: comes back with a full bucket
    EXPECT_EQ(l.evictions(), 2u);
}

TEST(KeyedRateLimiter, ExpireIdleDropsOnlyRefilledBuckets) {
    KeyedRateLimiter<std::uint32_t> l(spec(1, 1s, 2), 8);
    l.allow(1, t0);
    l.allow(2, t0);
    l.allow(2, t0);
    // At t0+1s key 1 is full again (2 tokens), key 2 has 1.
    EXPECT_EQ(l.expire_idle(t0 + 1s), 1u);
    EXPECT_EQ(l.tracked(), 1u);
    EXPECT_EQ(l.available(2, t0 + 1s), 1u);
    EXPECT_EQ(l.available(1, t0 + 1s), 2u);  // unknown key: the burst
}

TEST(KeyedRateLimiter, FloodOfKeysDoesNotAllocate) {
    KeyedRateLimiter<std::uint32_t> l(spec(5, 1s, 5), 128, 0xabcdef);
    test::AllocationScope scope;
    for (std::uint32_t k = 0; k < 10000; ++k) l.allow(k * 2654435761u, t0 + std::chrono::microseconds(k));
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(l.tracked(), 128u);
    EXPECT_EQ(l.evictions(), 10000u - 128u);
    EXPECT_EQ(KeyedRateLimiter<std::uint32_t>::entry_bytes(), 32u);
    std::printf("KeyedRateLimiter entry_bytes: <u32> %zu\n", KeyedRateLimiter<std::uint32_t>::entry_bytes());
}

TEST(KeyedRateLimiter, ZeroCapacityAllowsEverything) {
    KeyedRateLimiter<std::uint32_t> l(spec(1, 1s, 1), 0);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(l.allow(1, t0));
}

}  // namespace
}  // namespace vg::engine
