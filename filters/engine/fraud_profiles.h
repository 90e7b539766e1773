// SPDX-License-Identifier: GPL-2.0-or-later
// Destination profiles (toll_fraud.profiles): the counters behind the
// thresholds of each group of destinations ("national", "international",
// "high_risk"), per handset and per site, and their two levels: a warning
// (an event) and a critical level (the new call is dropped, reason
// fraud_threshold; for max_call_duration the running call is ended).
//
// What is counted: outbound calls from handsets only, judged by the request
// guard when it admits an INVITE (request_guard.h). REGISTERs, and INVITEs
// from the PBX to a handset (a ring group of 30 is 30 inbound INVITEs), never
// reach these counters. A call belongs to the profile of the longest prefix
// matching its normalised number (CompiledPolicy::profile_for); emergency and
// service numbers, extensions and numbers no prefix matches belong to none.
//
// The thresholds, for one call about to start (value "v" compared with the
// levels; a warning when v >= warning, a block when v > critical):
//   calls_per_minute   calls started in the last 60 s, this one included.
//                      A sliding window on monotonic time: the start times
//                      of the last kRecent calls are kept (0.1 s steps).
//   concurrent_calls   calls in progress, this one included.
//   calls_per_day      calls started this local day, this one included.
//   same_prefix_calls  the run of calls whose numbers share their first
//                      same_prefix_digits digits (after the '+'), each
//                      within same_prefix_gap of the one before, this one
//                      included. Another prefix, or a longer pause, starts a
//                      new run. Calls of other profiles do not break a run.
//   minutes_per_day    minutes of answered calls this local day: ended calls
//                      on the day they ended, running calls as far as they
//                      have run. A block while v >= critical (a new call
//                      adds no minutes yet).
// Day counters follow the policy's wall-clock day in its time zone; they
// restart at the first call of a new day. Profiles with `hours` report and
// block only inside them; counting goes on outside.
//
// Per handset: a call counts against every key of its LimitKeys (the
// handset's address and its digest user name, as the limits do) and the
// highest value decides. Those counters live in one bounded table of
// (key, profile) entries, least recently used first out. A call refreshes
// its address's entry, so a flood of forged digest user names pushes out
// idle entries, never the flooding handset's own; an evicted entry restarts
// at zero (its counts are lost: the site's counters, which are never
// evicted, are the backstop), is counted in evictions() and reported as a
// table_eviction "fraud_counters".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "filters/engine/bounded_table.h"
#include "filters/engine/rules.h"
#include "filters/engine/timestamp.h"

namespace vg::engine {

class EventSink;
struct LimitKeys;

// One level reached or passed.
struct FraudHit {
    config::FraudThreshold threshold = config::FraudThreshold::calls_per_minute;
    bool site = false;           // per_site, else per_handset
    std::uint32_t value = 0;     // the value with this call
    std::uint32_t level = 0;     // the level it reached (warning) or would pass (critical)
};

struct FraudHits {
    static constexpr std::size_t kMax = 2 * config::kFraudThresholdCount;
    FraudHit hit[kMax] = {};
    std::uint8_t count = 0;
    void add(const FraudHit& h) noexcept {
        if (count < kMax) hit[count++] = h;
    }
};

// The values of one profile's thresholds for one call (see above).
struct FraudValues {
    std::uint32_t handset[config::kFraudThresholdCount] = {};
    std::uint32_t site[config::kFraudThresholdCount] = {};
};

class FraudProfiles {
public:
    static constexpr std::size_t kRecent = 32;

    explicit FraudProfiles(std::size_t max_entries);

    // The latest reading of both clocks (the engine passes every packet's
    // and tick's): what ends and answers, which only know monotonic time,
    // are put on the wall-clock day with it.
    void observe(const Now& now) noexcept;
    // The latest reading of both clocks.
    const Now& last() const noexcept { return last_; }
    // Wall-clock time at monotonic `t`, from the latest reading.
    UnixSeconds wall_at(Timestamp t) const noexcept {
        return last_.wall + std::chrono::duration_cast<std::chrono::seconds>(t - last_.mono).count();
    }

    // The values a new call of `prof` to `number` would have.
    FraudValues values(const LimitKeys& keys, const CompiledProfile& prof, std::string_view number,
                       const CompiledPolicy& r, const Now& now) noexcept;
    // The first critical level the call would pass, if any (nothing counted).
    bool critical(const FraudValues& v, const CompiledProfile& prof, const CompiledPolicy& r, const Now& now,
                  FraudHit& hit) const noexcept;
    // Counts the call (it was admitted) and returns the warning levels it
    // reached.
    FraudHits count(const LimitKeys& keys, const CompiledProfile& prof, std::string_view number,
                    const CompiledPolicy& r, const Now& now, EventSink& ev) noexcept;

    // A counted call of profile `id` is in progress / was answered / ended
    // (`answered_at`: when it was answered, if it was).
    void call_started(const LimitKeys& keys, std::uint64_t id) noexcept;
    void call_answered(const LimitKeys& keys, std::uint64_t id, Timestamp at) noexcept;
    void call_ended(const LimitKeys& keys, std::uint64_t id, bool answered, Timestamp answered_at,
                    Timestamp now, const CompiledPolicy& r) noexcept;

    // The counters a running call of `prof` counts against, as they stand
    // now (the call itself included, nothing counted): for `voipguard
    // calls`. calls_per_minute, calls_per_day and same_prefix_calls are the
    // calls already started, concurrent_calls those in progress,
    // minutes_per_day as above.
    FraudValues current(const LimitKeys& keys, const CompiledProfile& prof, const CompiledPolicy& r,
                        const Now& now) const noexcept;
    // Minutes used today by the site in profile `id` (for display).
    std::uint32_t site_minutes_today(std::uint64_t id, const CompiledPolicy& r, const Now& now) const noexcept;

    std::size_t entry_count() const noexcept { return table_.size(); }
    std::uint64_t evictions() const noexcept { return evictions_; }
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes() + site_.capacity() * sizeof(SiteEntry); }

private:
    friend struct StateCodec;   // state_file.h
    struct Counters {
        std::uint32_t recent[kRecent] = {};   // start times, 0.1 s after base_ (+1; 0 = empty)
        std::uint8_t recent_next = 0;
        std::uint16_t active = 0;
        std::uint16_t answered = 0;           // answered calls in progress
        std::int64_t answered_sum = 0;        // the sum of their answer times, seconds after base_
        std::int64_t day = INT64_MIN;         // local day of the day counters
        std::uint32_t calls_today = 0;
        std::uint32_t seconds_today = 0;
        std::uint64_t run_prefix = 0;         // same_prefix_calls: the run's first digits (hash)
        std::uint32_t run_length = 0;
        std::int64_t run_last = 0;            // 0.1 s after base_, of the run's last call
    };
    struct SiteEntry {
        std::uint64_t id = 0;
        Counters c;
    };

    std::uint32_t ticks(Timestamp t) const noexcept;   // 0.1 s steps after base_
    std::int64_t seconds(Timestamp t) const noexcept;
    Counters* entry(std::uint64_t key, std::uint64_t id, bool create, EventSink* ev, const Now* now) noexcept;
    Counters& site(std::uint64_t id) noexcept;
    void fill(const Counters& c, const CompiledProfile& prof, std::uint64_t run, const CompiledPolicy& r,
              const Now& now, std::uint32_t* out) const noexcept;
    void add_call(Counters& c, const CompiledProfile& prof, std::uint64_t run, const CompiledPolicy& r,
                  const Now& now) noexcept;

    BoundedTable<std::uint64_t, Counters> table_;
    std::vector<SiteEntry> site_;
    std::uint64_t evictions_ = 0;
    Timestamp base_{};
    bool base_set_ = false;
    Now last_{};
};

// The hash of the first `digits` digits of a normalised number (0 when it
// has fewer).
std::uint64_t number_run_prefix(std::string_view number, std::uint32_t digits) noexcept;

}  // namespace vg::engine
