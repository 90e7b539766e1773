// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/site_history.h"

#include <algorithm>
#include <map>

namespace vg::engine {

namespace {

// The index of a blocked-call type in HourBucket::blocked, or -1.
int blocked_index(EventType t) noexcept {
    switch (t) {
    case EventType::toll_fraud:
    case EventType::callback_blocked:   // the toll-fraud guard's callback rule (rule=callback:...)
        return 0;
    case EventType::call_limit: return 1;
    case EventType::fraud_threshold_critical: return 2;
    default: return -1;
    }
}

// FNV-1a of the Call-ID, never 0 (0 marks an empty slot).
std::uint64_t call_hash(std::string_view call_id) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : call_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h == 0 ? 1 : h;
}

std::uint64_t delta(std::uint64_t now, std::uint64_t before) noexcept { return now >= before ? now - before : now; }

template <typename Key>
std::vector<std::pair<Key, std::uint64_t>> largest_first(const std::map<Key, std::uint64_t>& m, std::size_t top) {
    std::vector<std::pair<Key, std::uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (v.size() > top) v.resize(top);
    return v;
}

}  // namespace

bool is_handset_finding(EventType t) noexcept {
    switch (t) {
    case EventType::firmware_outdated:
    case EventType::weak_credential:
    case EventType::handset_stale:
    case EventType::handset_user_agent_changed:
    case EventType::aor_second_address:
        return true;
    default:
        return false;
    }
}

std::uint64_t HistorySummary::blocked_by(EventType t) const noexcept {
    const int i = blocked_index(t);
    return i < 0 ? 0 : blocked[static_cast<std::size_t>(i)];
}

HourBucket& SiteHistory::bucket(std::int64_t wall) noexcept {
    const std::int64_t h = hour_of(wall);
    HourBucket& b = ring_[static_cast<std::size_t>(h % static_cast<std::int64_t>(kHours))];
    if (b.hour != h) {
        b = HourBucket{};
        b.hour = h;
    }
    return b;
}

void SiteHistory::note(const Event& e, std::int64_t wall) noexcept {
    HourBucket& b = bucket(wall);
    const auto i = static_cast<std::size_t>(e.type);
    if (i >= kEventTypeCount) return;
    b.events[i] = TopCounts<ReportLabel, 1>::sat_add(b.events[i], 1);
    const int bi = blocked_index(e.type);
    bool counted_before = false;
    if (bi >= 0 && !e.monitor && !e.call_id.empty()) {
        const std::uint64_t h = call_hash(e.call_id.view());
        for (std::uint64_t r : recent_blocked_) counted_before = counted_before || r == h;
        if (!counted_before) {
            recent_blocked_[recent_next_] = h;
            recent_next_ = (recent_next_ + 1) % recent_blocked_.size();
        }
    }
    if (bi >= 0 && !e.monitor && !counted_before) {
        ++b.blocked[static_cast<std::size_t>(bi)];
        // The rule says why ("deny_prefix:+882", "limit:per_handset_calls_per_hour",
        // "fraud_threshold:PROFILE" and its threshold); the event type when there is none.
        ReportLabel reason;
        reason.assign(e.rule.empty() ? event_name(e.type) : e.rule.view());
        if (!e.threshold.empty() && reason.size() + 1 + e.threshold.size() <= ReportLabel::kCapacity) {
            reason.append(" ");
            reason.append(e.threshold.view());
        }
        b.blocked_reason.add(reason);
        ReportLabel group;
        group.assign(e.group.empty() ? std::string_view("-") : e.group.view());
        b.blocked_group.add(group);
    }
    if (e.type == EventType::scanner && e.source.valid()) b.scanners.add(e.source);
    if (is_handset_finding(e.type)) {
        HandsetFinding& f = findings_[findings_next_];
        f.wall = wall;
        f.type = e.type;
        f.handset = e.handset.valid() ? e.handset : e.source;
        // firmware: "version:X minimum:Y"; stale: the AOR; a changed
        // User-Agent: the new one; a second address: "also_at:ADDRESS";
        // a weak credential: the rule the audit matched.
        std::string_view detail = e.detail.view();
        if (e.type == EventType::weak_credential || e.type == EventType::aor_second_address) detail = e.rule.view();
        if (e.type == EventType::handset_user_agent_changed) detail = e.user_agent.view();
        assign_truncated(f.detail, detail);
        findings_next_ = (findings_next_ + 1) % kFindings;
        findings_count_ = std::min(findings_count_ + 1, kFindings);
    }
}

void SiteHistory::note_reload(bool ok, std::int64_t wall) noexcept {
    HourBucket& b = bucket(wall);
    ++(ok ? b.reloads_ok : b.reloads_failed);
}

void SiteHistory::note_kernel(const KernelDropTotals& t, std::int64_t wall) noexcept {
    HourBucket& b = bucket(wall);
    b.drops.inbound += delta(t.inbound, last_kernel_.inbound);
    b.drops.egress += delta(t.egress, last_kernel_.egress);
    b.drops.forged += delta(t.forged, last_kernel_.forged);
    b.drops.foreign += delta(t.foreign, last_kernel_.foreign);
    b.drops.queue += delta(t.queue, last_kernel_.queue);
    last_kernel_ = t;
}

std::size_t SiteHistory::hours_kept() const noexcept {
    return static_cast<std::size_t>(std::count_if(ring_.begin(), ring_.end(), [](const HourBucket& b) { return b.hour >= 0; }));
}

HistorySummary SiteHistory::summarize(std::int64_t now, std::int64_t since_s, std::size_t top) const {
    HistorySummary s;
    since_s = std::clamp<std::int64_t>(since_s, 1, kMaxWindow);
    s.since_s = since_s;
    s.to = now;
    const std::int64_t last = hour_of(now);
    // The ring holds 168 hours, the current one included.
    const std::int64_t first =
        std::max<std::int64_t>({0, hour_of(now - since_s), last - static_cast<std::int64_t>(kHours) + 1});
    s.from = first * 3600;
    std::map<std::string, std::uint64_t> reasons, groups;
    std::map<net::IpAddress, std::uint64_t> scanners;
    for (const HourBucket& b : ring_) {
        if (b.hour < first || b.hour > last) continue;
        ++s.hours_with_data;
        for (std::size_t i = 0; i < kEventTypeCount; ++i) s.events[i] += b.events[i];
        for (std::size_t i = 0; i < b.blocked.size(); ++i) s.blocked[i] += b.blocked[i];
        s.reloads_ok += b.reloads_ok;
        s.reloads_failed += b.reloads_failed;
        s.drops.inbound += b.drops.inbound;
        s.drops.egress += b.drops.egress;
        s.drops.forged += b.drops.forged;
        s.drops.foreign += b.drops.foreign;
        s.drops.queue += b.drops.queue;
        if (b.events[static_cast<std::size_t>(EventType::tls_uninspected)] != 0) ++s.hours_with_tls;
        for (std::size_t i = 0; i < b.blocked_reason.size; ++i)
            reasons[std::string(b.blocked_reason.keys[i].view())] += b.blocked_reason.counts[i];
        for (std::size_t i = 0; i < b.blocked_group.size; ++i)
            groups[std::string(b.blocked_group.keys[i].view())] += b.blocked_group.counts[i];
        for (std::size_t i = 0; i < b.scanners.size; ++i) scanners[b.scanners.keys[i]] += b.scanners.counts[i];
    }
    s.blocked_reason = largest_first(reasons, HourBucket::kTop);
    s.blocked_group = largest_first(groups, HourBucket::kTop);
    s.scanner_sources = scanners.size();
    s.scanners = largest_first(scanners, top);
    for (std::size_t k = 0; k < findings_count_; ++k) {
        const HandsetFinding& f = findings_[(findings_next_ + kFindings - 1 - k) % kFindings];
        if (f.wall >= now - since_s && f.wall <= now) s.findings.push_back(f);
    }
    return s;
}

}  // namespace vg::engine
