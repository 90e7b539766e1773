// SPDX-License-Identifier: GPL-2.0-or-later
// Repeat suppression: a flood must not become a log flood. The first line of
// a key is logged at once; repeats within the policy's window are counted
// and summarised in one line when the window ends ("... (suppressed 4123
// more in 60 s)"). Time is passed in; it never reads a clock. Part of the
// logging facade (daemon/logging.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/log_severity.h"
#include "filters/engine/timestamp.h"

namespace vg::daemon {

// Counts repeats of (ID, key) per window. admit() returns true for the first
// event of a key: the caller logs it. Repeats within the window return false
// and are counted. flush(now) ends every window that started at least one
// window length ago and hands back one Summary per key with repeats; a key
// whose window ended with repeats starts a new window at once (so a
// sustained flood gives one summary line per window), a key without
// repeats is forgotten. At most max_keys keys are tracked; events of further
// keys go to an "other" bucket per ID, counted and summarised the same way.
class Aggregator {
public:
    struct Summary {
        std::string id;
        std::string key_fields;      // empty for the overflow bucket
        Severity severity = Severity::info;
        std::uint64_t suppressed = 0;
        engine::Duration elapsed{};  // from the window's start to flush()
        bool overflow = false;       // the "other" bucket: the key table was full
    };

    explicit Aggregator(engine::Duration window, std::size_t max_keys = 1024);

    void set_window(engine::Duration window) noexcept { window_ = window; }
    engine::Duration window() const noexcept { return window_; }
    std::size_t max_keys() const noexcept { return max_keys_; }

    // `id` must outlive the aggregator (the static event IDs do).
    bool admit(std::string_view id, std::string_view key_fields, Severity severity, engine::Timestamp now);
    std::vector<Summary> flush(engine::Timestamp now);
    // Every open window, ended or not (shutdown).
    std::vector<Summary> flush_all(engine::Timestamp now);

    std::size_t tracked_keys() const noexcept { return keys_.size(); }

private:
    struct Entry {
        engine::Timestamp start{};
        std::uint64_t suppressed = 0;
        Severity severity = Severity::info;
        std::size_t id_length = 0;   // the key string is ID + key fields
    };
    struct Overflow {
        engine::Timestamp start{};
        std::uint64_t suppressed = 0;
        Severity severity = Severity::info;
    };
    std::vector<Summary> collect(engine::Timestamp now, bool all);

    engine::Duration window_;
    std::size_t max_keys_;
    std::unordered_map<std::string, Entry> keys_;
    std::vector<std::pair<std::string_view, Overflow>> overflow_;   // one per ID, few
};

// "VG_... site=S KEYS (suppressed 4123 more in 60 s)"
std::string format_summary(const Aggregator::Summary& s, std::string_view site);

}  // namespace vg::daemon
