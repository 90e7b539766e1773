// SPDX-License-Identifier: GPL-2.0-or-later
// Repeat suppression per (ID, key) and window, and the summary line (see
// log_aggregator.h).
#include "daemon/log_aggregator.h"

#include <algorithm>
#include <chrono>

#include "daemon/log_format.h"

namespace vg::daemon {

Aggregator::Aggregator(engine::Duration window, std::size_t max_keys) : window_(window), max_keys_(max_keys) {
    keys_.reserve(std::min<std::size_t>(max_keys_, 64));
}

bool Aggregator::admit(std::string_view id, std::string_view key_fields, Severity severity, engine::Timestamp now) {
    if (window_ <= engine::Duration::zero()) return true;   // aggregation off
    std::string key;
    key.reserve(id.size() + key_fields.size());
    key.append(id);
    key.append(key_fields);
    if (auto it = keys_.find(key); it != keys_.end()) {
        ++it->second.suppressed;
        return false;
    }
    if (keys_.size() < max_keys_) {
        Entry entry;
        entry.start = now;
        entry.severity = severity;
        entry.id_length = id.size();
        keys_.emplace(std::move(key), entry);
        return true;
    }
    for (auto& [oid, o] : overflow_) {
        if (oid == id) {
            if (o.suppressed == 0) o.start = now;
            ++o.suppressed;
            if (severity > o.severity) o.severity = severity;
            return false;
        }
    }
    Overflow o;
    o.start = now;
    o.suppressed = 1;
    o.severity = severity;
    overflow_.emplace_back(id, o);
    return false;
}

std::vector<Aggregator::Summary> Aggregator::collect(engine::Timestamp now, bool all) {
    std::vector<Summary> out;
    for (auto it = keys_.begin(); it != keys_.end();) {
        Entry& entry = it->second;
        if (!all && now - entry.start < window_) {
            ++it;
            continue;
        }
        const bool repeated = entry.suppressed != 0;
        if (repeated) {
            Summary s;
            s.id = it->first.substr(0, entry.id_length);
            s.key_fields = it->first.substr(entry.id_length);
            s.severity = entry.severity;
            s.suppressed = entry.suppressed;
            s.elapsed = now - entry.start;
            out.push_back(std::move(s));
        }
        if (repeated && !all) {
            // Still busy: a new window starts now. Its events are counted
            // for the next summary, none is logged on its own.
            entry.start = now;
            entry.suppressed = 0;
            ++it;
        } else {
            it = keys_.erase(it);
        }
    }
    for (auto& [id, o] : overflow_) {
        if (o.suppressed == 0 || (!all && now - o.start < window_)) continue;
        Summary s;
        s.id = std::string(id);
        s.severity = o.severity;
        s.suppressed = o.suppressed;
        s.elapsed = now - o.start;
        s.overflow = true;
        out.push_back(std::move(s));
        o.suppressed = 0;
    }
    return out;
}

std::vector<Aggregator::Summary> Aggregator::flush(engine::Timestamp now) { return collect(now, false); }

std::vector<Aggregator::Summary> Aggregator::flush_all(engine::Timestamp now) { return collect(now, true); }

std::string format_summary(const Aggregator::Summary& s, std::string_view site) {
    std::string out = s.id;
    append_field(out, "site", site);
    if (s.overflow) {
        out += " aggregate=other";
    } else {
        out += s.key_fields;
    }
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.elapsed).count();
    out += " (suppressed ";
    out += std::to_string(s.suppressed);
    out += " more in ";
    out += std::to_string(secs < 0 ? 0 : secs);
    out += " s";
    if (s.overflow) out += ", too many keys to aggregate separately";
    out += ')';
    return out;
}

}  // namespace vg::daemon
