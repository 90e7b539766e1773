// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/rate_limiter.h"

#include <limits>

namespace vg::engine {

std::optional<RateSpec> RateSpec::make(std::uint32_t count, Duration period,
                                       std::uint32_t burst) noexcept {
    if (count == 0 || burst == 0 || period.count() <= 0) return std::nullopt;
    const auto period_ns = static_cast<std::uint64_t>(period.count());
    if (period_ns > kMaxCredit / burst) return std::nullopt;
    return RateSpec(count, period_ns, burst);
}

namespace {

// Credit earned by `state` up to `now`, capped at the maximum. Overflow-free:
// the product elapsed * count is only formed when it stays below the cap.
std::uint64_t credit_at(const RateSpec& spec, const TokenBucketState& state, Timestamp now) noexcept {
    const std::uint64_t max = spec.max_credit();
    if (now <= state.last || state.credit >= max) return state.credit < max ? state.credit : max;
    const auto elapsed = static_cast<std::uint64_t>((now - state.last).count());
    const std::uint64_t missing = max - state.credit;
    const std::uint64_t count = spec.count();
    // Nanoseconds needed to fill up, rounded up.
    const std::uint64_t to_full = missing / count + (missing % count != 0 ? 1 : 0);
    if (elapsed >= to_full) return max;
    return state.credit + elapsed * count;
}

}  // namespace

void TokenBucketState::refill(const RateSpec& spec, Timestamp now) noexcept {
    credit = credit_at(spec, *this, now);
    if (now > last) last = now;
}

bool TokenBucketState::take(const RateSpec& spec, Timestamp now, std::uint32_t tokens) noexcept {
    refill(spec, now);
    if (tokens > spec.burst()) return false;
    const std::uint64_t need = spec.token_credit() * tokens;
    if (credit < need) return false;
    credit -= need;
    return true;
}

std::uint32_t TokenBucketState::available(const RateSpec& spec, Timestamp now) const noexcept {
    return static_cast<std::uint32_t>(credit_at(spec, *this, now) / spec.token_credit());
}

Duration TokenBucketState::wait_time(const RateSpec& spec, Timestamp now,
                                     std::uint32_t tokens) const noexcept {
    if (tokens > spec.burst()) return Duration::max();
    const std::uint64_t have = credit_at(spec, *this, now);
    const std::uint64_t need = spec.token_credit() * tokens;
    if (have >= need) return Duration::zero();
    const std::uint64_t missing = need - have;
    const std::uint64_t count = spec.count();
    return Duration(static_cast<Duration::rep>(missing / count + (missing % count != 0 ? 1 : 0)));
}

bool TokenBucketState::is_full(const RateSpec& spec, Timestamp now) const noexcept {
    return credit_at(spec, *this, now) >= spec.max_credit();
}

void TokenBucket::set_spec(const RateSpec& spec, Timestamp now) noexcept {
    const std::uint64_t whole = state_.available(spec_, now);
    spec_ = spec;
    const std::uint64_t kept = whole < spec_.burst() ? whole : spec_.burst();
    state_.credit = kept * spec_.token_credit();
    if (now > state_.last) state_.last = now;
}

}  // namespace vg::engine
