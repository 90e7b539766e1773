// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/fraud_profiles.h"

#include <algorithm>

#include "filters/engine/events.h"
#include "filters/engine/toll_guard.h"

namespace vg::engine {

namespace {

using config::FraudThreshold;

constexpr std::size_t idx(FraudThreshold t) noexcept { return static_cast<std::size_t>(t); }
constexpr std::uint32_t kTicksPerSecond = 10;
constexpr std::uint32_t kMinuteTicks = 60 * kTicksPerSecond;

std::uint64_t mix(std::uint64_t key, std::uint64_t id) noexcept {
    std::uint64_t h = key ^ (id * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h == 0 ? 1 : h;
}

}  // namespace

std::uint64_t number_run_prefix(std::string_view number, std::uint32_t digits) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    std::uint32_t n = 0;
    for (char c : number) {
        if (n == digits) break;
        if (c < '0' || c > '9') {
            if (c == '+' && n == 0) continue;
            h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;   // '*', '#': part of the prefix
            ++n;
            continue;
        }
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        ++n;
    }
    if (n < digits) return 0;
    return h == 0 ? 1 : h;
}

FraudProfiles::FraudProfiles(std::size_t max_entries) : table_(std::max<std::size_t>(16, max_entries)) {}

void FraudProfiles::observe(const Now& now) noexcept {
    if (!base_set_) {
        // Times are kept in 0.1 s steps after the first reading (32 bits:
        // 13 years of uptime); the step back keeps 0 free for "empty".
        base_ = now.mono - std::chrono::hours(1);
        base_set_ = true;
    }
    last_ = now;
}

std::uint32_t FraudProfiles::ticks(Timestamp t) const noexcept {
    if (t <= base_) return 1;
    const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - base_).count() / 100;
    return d >= 0xfffffffell ? 0xfffffffeu : static_cast<std::uint32_t>(d) + 1;
}

std::int64_t FraudProfiles::seconds(Timestamp t) const noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(t - base_).count();
}

FraudProfiles::Counters* FraudProfiles::entry(std::uint64_t key, std::uint64_t id, bool create, EventSink* ev,
                                              const Now* now) noexcept {
    const std::uint64_t k = mix(key, id);
    if (!create) return table_.touch(k);
    auto ins = table_.find_or_insert(k);
    if (ins.evicted) {
        ++evictions_;
        if (ev != nullptr && now != nullptr) {
            Event e;
            e.type = EventType::table_eviction;
            e.time = now->mono;
            assign_truncated(e.detail, "fraud_counters");
            ev->on_event(e);
        }
    }
    if (ins.value != nullptr && ins.inserted) *ins.value = Counters{};
    return ins.value;
}

FraudProfiles::Counters& FraudProfiles::site(std::uint64_t id) noexcept {
    for (SiteEntry& s : site_)
        if (s.id == id) return s.c;
    // At most one entry per profile name ever configured (profiles are at
    // most 16 a policy; a reload that renames them adds new ones).
    if (site_.size() >= 64) site_.erase(site_.begin());
    site_.push_back(SiteEntry{id, Counters{}});
    return site_.back().c;
}

void FraudProfiles::fill(const Counters& c, const CompiledProfile& prof, std::uint64_t run, const CompiledPolicy& r,
                         const Now& now, std::uint32_t* out) const noexcept {
    const std::uint32_t t = ticks(now.mono);
    std::uint32_t recent = 0;
    for (std::uint32_t s : c.recent)
        if (s != 0 && s <= t && t - s < kMinuteTicks) ++recent;
    const bool today = c.day == r.local_day(now.wall);
    const std::int64_t running = c.answered > 0 ? c.answered * seconds(now.mono) - c.answered_sum : 0;
    const std::int64_t secs = (today ? c.seconds_today : 0) + std::max<std::int64_t>(0, running);
    const auto gap_ticks = std::chrono::duration_cast<std::chrono::milliseconds>(prof.same_prefix_gap).count() / 100;
    const bool run_goes_on = run != 0 && c.run_prefix == run && c.run_length > 0 &&
                             static_cast<std::int64_t>(t) - c.run_last <= gap_ticks;
    out[idx(FraudThreshold::calls_per_minute)] = recent + 1;
    out[idx(FraudThreshold::concurrent_calls)] = c.active + 1u;
    out[idx(FraudThreshold::calls_per_day)] = (today ? c.calls_today : 0) + 1;
    out[idx(FraudThreshold::same_prefix_calls)] = (run_goes_on ? c.run_length : 0) + 1;
    out[idx(FraudThreshold::minutes_per_day)] = static_cast<std::uint32_t>(std::min<std::int64_t>(secs / 60, 0xffffffff));
}

FraudValues FraudProfiles::values(const LimitKeys& keys, const CompiledProfile& prof, std::string_view number,
                                  const CompiledPolicy& r, const Now& now) noexcept {
    observe(now);
    FraudValues v;
    const std::uint64_t run = number_run_prefix(number, prof.same_prefix_digits);
    const Counters empty{};
    fill(empty, prof, run, r, now, v.handset);
    for (std::uint8_t i = 0; i < keys.count; ++i) {
        const Counters* c = entry(keys.key[i], prof.id, false, nullptr, nullptr);
        if (c == nullptr) continue;
        std::uint32_t k[config::kFraudThresholdCount];
        fill(*c, prof, run, r, now, k);
        for (std::size_t t = 0; t < config::kFraudThresholdCount; ++t) v.handset[t] = std::max(v.handset[t], k[t]);
    }
    fill(site(prof.id), prof, run, r, now, v.site);
    return v;
}

bool FraudProfiles::critical(const FraudValues& v, const CompiledProfile& prof, const CompiledPolicy& r,
                             const Now& now, FraudHit& hit) const noexcept {
    if (!r.profile_active(prof, now.wall)) return false;
    for (const bool is_site : {false, true}) {
        const auto& levels = is_site ? prof.per_site : prof.per_handset;
        const std::uint32_t* values = is_site ? v.site : v.handset;
        for (std::size_t t = 0; t < config::kFraudThresholdCount; ++t) {
            const std::uint32_t level = levels[t].critical;
            if (level == 0) continue;
            // Minutes: a new call adds none yet; it is dropped once the day's
            // minutes are at the level. The others count the call itself.
            const bool over = t == idx(FraudThreshold::minutes_per_day) ? values[t] >= level : values[t] > level;
            if (!over) continue;
            hit = FraudHit{static_cast<FraudThreshold>(t), is_site, values[t], level};
            return true;
        }
    }
    return false;
}

void FraudProfiles::add_call(Counters& c, const CompiledProfile& prof, std::uint64_t run, const CompiledPolicy& r,
                             const Now& now) noexcept {
    const std::uint32_t t = ticks(now.mono);
    c.recent[c.recent_next] = t;
    c.recent_next = static_cast<std::uint8_t>((c.recent_next + 1) % kRecent);
    const std::int64_t day = r.local_day(now.wall);
    if (c.day != day) {
        c.day = day;
        c.calls_today = 0;
        c.seconds_today = 0;
    }
    if (c.calls_today < 0xffffffffu) ++c.calls_today;
    const auto gap_ticks = std::chrono::duration_cast<std::chrono::milliseconds>(prof.same_prefix_gap).count() / 100;
    if (run != 0 && c.run_prefix == run && c.run_length > 0 && static_cast<std::int64_t>(t) - c.run_last <= gap_ticks) {
        if (c.run_length < 0xffffffffu) ++c.run_length;
    } else {
        c.run_prefix = run;
        c.run_length = 1;
    }
    c.run_last = t;
}

FraudHits FraudProfiles::count(const LimitKeys& keys, const CompiledProfile& prof, std::string_view number,
                               const CompiledPolicy& r, const Now& now, EventSink& ev) noexcept {
    const FraudValues v = values(keys, prof, number, r, now);
    const std::uint64_t run = number_run_prefix(number, prof.same_prefix_digits);
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = entry(keys.key[i], prof.id, true, &ev, &now)) add_call(*c, prof, run, r, now);
    add_call(site(prof.id), prof, run, r, now);

    FraudHits hits;
    if (!r.profile_active(prof, now.wall)) return hits;
    for (const bool is_site : {false, true}) {
        const auto& levels = is_site ? prof.per_site : prof.per_handset;
        const std::uint32_t* values = is_site ? v.site : v.handset;
        for (std::size_t t = 0; t < config::kFraudThresholdCount; ++t)
            if (levels[t].warning != 0 && values[t] >= levels[t].warning)
                hits.add(FraudHit{static_cast<FraudThreshold>(t), is_site, values[t], levels[t].warning});
    }
    return hits;
}

void FraudProfiles::call_started(const LimitKeys& keys, std::uint64_t id) noexcept {
    if (id == 0) return;
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = entry(keys.key[i], id, true, nullptr, nullptr); c && c->active < 0xffff) ++c->active;
    Counters& s = site(id);
    if (s.active < 0xffff) ++s.active;
}

void FraudProfiles::call_answered(const LimitKeys& keys, std::uint64_t id, Timestamp at) noexcept {
    if (id == 0) return;
    const std::int64_t sec = seconds(at);
    auto add = [&](Counters& c) {
        if (c.answered == 0xffff) return;
        ++c.answered;
        c.answered_sum += sec;
    };
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = entry(keys.key[i], id, false, nullptr, nullptr)) add(*c);
    add(site(id));
}

void FraudProfiles::call_ended(const LimitKeys& keys, std::uint64_t id, bool answered, Timestamp answered_at,
                               Timestamp now, const CompiledPolicy& r) noexcept {
    if (id == 0) return;
    // The wall-clock day of the end, from the latest reading of both clocks.
    const UnixSeconds wall =
        last_.wall + std::chrono::duration_cast<std::chrono::seconds>(now - last_.mono).count();
    const std::int64_t day = r.local_day(wall);
    const std::int64_t start = seconds(answered_at);
    const std::int64_t secs = std::max<std::int64_t>(0, seconds(now) - start);
    auto end = [&](Counters& c) {
        if (c.active > 0) --c.active;
        if (!answered || c.answered == 0) return;
        --c.answered;
        c.answered_sum -= start;
        if (c.day != day) {
            c.day = day;
            c.calls_today = 0;
            c.seconds_today = 0;
        }
        c.seconds_today = static_cast<std::uint32_t>(std::min<std::int64_t>(c.seconds_today + secs, 0xffffffff));
    };
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = entry(keys.key[i], id, false, nullptr, nullptr)) end(*c);
    end(site(id));
}

FraudValues FraudProfiles::current(const LimitKeys& keys, const CompiledProfile& prof, const CompiledPolicy& r,
                                   const Now& now) const noexcept {
    FraudValues v;
    // fill() counts a new call on top; take it off again.
    auto as_now = [&](const Counters& c, std::uint32_t* out) {
        std::uint32_t k[config::kFraudThresholdCount];
        const std::uint64_t run = c.run_prefix;   // the run the counters are in
        fill(c, prof, run, r, now, k);
        for (std::size_t t = 0; t < config::kFraudThresholdCount; ++t) {
            const std::uint32_t value = t == idx(FraudThreshold::minutes_per_day) ? k[t] : k[t] - 1;
            out[t] = std::max(out[t], value);
        }
    };
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (const Counters* c = table_.find(mix(keys.key[i], prof.id))) as_now(*c, v.handset);
    for (const SiteEntry& s : site_)
        if (s.id == prof.id) as_now(s.c, v.site);
    return v;
}

std::uint32_t FraudProfiles::site_minutes_today(std::uint64_t id, const CompiledPolicy& r, const Now& now) const noexcept {
    for (const SiteEntry& s : site_) {
        if (s.id != id) continue;
        const bool today = s.c.day == r.local_day(now.wall);
        const std::int64_t running = s.c.answered > 0 ? s.c.answered * seconds(now.mono) - s.c.answered_sum : 0;
        return static_cast<std::uint32_t>(((today ? s.c.seconds_today : 0) + std::max<std::int64_t>(0, running)) / 60);
    }
    return 0;
}

}  // namespace vg::engine
