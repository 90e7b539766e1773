// SPDX-License-Identifier: GPL-2.0-or-later
// What happened at a site, hour by hour, for `voipguard report --since`:
// a ring of 7 x 24 hourly buckets (bounded memory, 1.2 KiB a bucket, 210 KiB in all)
// with the engine's events by type, the blocked calls by reason and by
// destination group, the top scanning sources, reloads and the kernel's
// drops; and a small ring of handset findings (outdated firmware, weak
// credential, stale, changed User-Agent, second address) with the handset
// they name. Pure: wall-clock seconds are passed in (the tests inject
// them), nothing reads a clock.
//
// Buckets are keyed by the wall-clock hour (Unix seconds / 3600): a report
// covers every bucket that overlaps its window, so `--since 1h` shows the
// current hour and the one before it. A bucket whose slot is reused by a
// later hour starts empty; a wall clock that jumps back (a router without a
// real-time clock booting in 1970, then set by NTP) leaves the buckets of
// the other time outside any window: they are neither shown nor kept beyond
// 7 days of the new time.
//
// A blocked call is counted once per Call-ID (the INVITE's retransmissions,
// each blocked again, are counted as events only): the last 32 blocked
// Call-IDs are remembered.
//
// Each bucket's top tables keep their 8 largest entries (space-saving: a
// new entry in a full table takes the place of the smallest, starting from
// its count), so counts are exact up to 8 distinct entries an hour and an
// upper bound beyond.
//
// The ring is saved with the --state file (state_file.h, version 2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/engine/events.h"
#include "filters/engine/fixed_string.h"
#include "filters/net/ip_address.h"

namespace vg::engine {

// The N largest counts of a small key space, in fixed memory.
template <typename Key, std::size_t N>
struct TopCounts {
    std::array<Key, N> keys{};
    std::array<std::uint32_t, N> counts{};
    std::uint8_t size = 0;

    void add(const Key& k, std::uint32_t n = 1) noexcept {
        for (std::size_t i = 0; i < size; ++i) {
            if (keys[i] == k) {
                counts[i] = sat_add(counts[i], n);
                return;
            }
        }
        if (size < N) {
            keys[size] = k;
            counts[size] = n;
            ++size;
            return;
        }
        std::size_t min = 0;
        for (std::size_t i = 1; i < N; ++i)
            if (counts[i] < counts[min]) min = i;
        keys[min] = k;
        counts[min] = sat_add(counts[min], n);
    }
    static std::uint32_t sat_add(std::uint32_t a, std::uint32_t b) noexcept {
        return a > UINT32_MAX - b ? UINT32_MAX : a + b;
    }
};

using ReportLabel = FixedString<48>;

// The kernel's drop counters as read (cumulative since the rules were installed).
struct KernelDropTotals {
    std::uint64_t inbound = 0;   // unlisted sources
    std::uint64_t egress = 0;
    std::uint64_t forged = 0;    // handset source on a non-voice interface
    std::uint64_t foreign = 0;   // voice-interface source outside the handset networks
    std::uint64_t queue = 0;     // queued packets the kernel dropped (queue full, ENOBUFS)
};

struct HourBucket {
    static constexpr std::size_t kTop = 8;
    std::int64_t hour = -1;   // Unix hours; -1: empty
    std::array<std::uint32_t, kEventTypeCount> events{};
    // Calls blocked (once per Call-ID): toll_fraud (callback_blocked with it), call_limit,
    // fraud_threshold_critical.
    std::array<std::uint32_t, 3> blocked{};
    std::uint32_t reloads_ok = 0;
    std::uint32_t reloads_failed = 0;
    KernelDropTotals drops;   // added during this hour
    TopCounts<ReportLabel, kTop> blocked_reason;   // the rule: "deny_prefix:+882", "limit:..."
    TopCounts<ReportLabel, kTop> blocked_group;    // the destination profile's group ("-": none)
    TopCounts<net::IpAddress, kTop> scanners;      // sources of scanner events
};

// A handset finding with the handset it names.
struct HandsetFinding {
    std::int64_t wall = 0;   // Unix seconds
    EventType type = EventType::firmware_outdated;
    net::IpAddress handset;
    FixedString<64> detail;  // the User-Agent, the AOR, the rule
};

struct HistorySummary {
    std::int64_t since_s = 0;   // as asked
    std::int64_t from = 0;      // start of the oldest hour included (Unix seconds)
    std::int64_t to = 0;        // now
    std::uint32_t hours_with_data = 0;
    std::array<std::uint64_t, kEventTypeCount> events{};
    std::array<std::uint64_t, 3> blocked{};   // calls: toll_fraud, call_limit, fraud_threshold_critical
    std::uint64_t reloads_ok = 0;
    std::uint64_t reloads_failed = 0;
    KernelDropTotals drops;
    std::uint32_t hours_with_tls = 0;   // hours in which TLS signalling was seen (not inspected)
    std::vector<std::pair<std::string, std::uint64_t>> blocked_reason;   // largest first
    std::vector<std::pair<std::string, std::uint64_t>> blocked_group;
    std::vector<std::pair<net::IpAddress, std::uint64_t>> scanners;      // at most `top`
    std::uint64_t scanner_sources = 0;   // distinct sources seen (bounded by the tables)
    std::vector<HandsetFinding> findings;   // newest first
    std::uint64_t blocked_calls() const noexcept { return blocked[0] + blocked[1] + blocked[2]; }
    // Blocked calls of one type (0 for other types).
    std::uint64_t blocked_by(EventType t) const noexcept;
    std::uint64_t event(EventType t) const noexcept { return events[static_cast<std::size_t>(t)]; }
};

class SiteHistory {
public:
    static constexpr std::size_t kHours = 7 * 24;
    static constexpr std::size_t kFindings = 32;
    static constexpr std::int64_t kMaxWindow = static_cast<std::int64_t>(kHours) * 3600;

    // An engine event at wall-clock time `wall`.
    void note(const Event& e, std::int64_t wall) noexcept;
    void note_reload(bool ok, std::int64_t wall) noexcept;
    // A reading of the kernel's cumulative counters: what grew since the
    // last reading goes to this hour (a counter that went down was reset by
    // a rule install: its whole value is new).
    void note_kernel(const KernelDropTotals& totals, std::int64_t wall) noexcept;

    // What happened in the `since_s` seconds before `now` (whole hours that
    // overlap that window; findings exactly), the `top` largest scanners.
    HistorySummary summarize(std::int64_t now, std::int64_t since_s, std::size_t top = 5) const;

    std::size_t hours_kept() const noexcept;
    static std::int64_t hour_of(std::int64_t wall) noexcept { return wall >= 0 ? wall / 3600 : 0; }

private:
    friend struct StateCodec;
    HourBucket& bucket(std::int64_t wall) noexcept;

    std::array<HourBucket, kHours> ring_{};
    std::array<HandsetFinding, kFindings> findings_{};
    std::size_t findings_next_ = 0;    // slot of the next finding
    std::size_t findings_count_ = 0;
    KernelDropTotals last_kernel_{};
    std::array<std::uint64_t, 32> recent_blocked_{};   // hashes of the last blocked Call-IDs
    std::size_t recent_next_ = 0;
};

// The event types kept as handset findings.
bool is_handset_finding(EventType t) noexcept;

}  // namespace vg::engine
