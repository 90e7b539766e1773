// SPDX-License-Identifier: GPL-2.0-or-later
// Case-insensitive substring patterns for the User-Agent (or From display
// name) of SIP scanners and brute-forcers. Stored inline (fixed capacity, no
// heap); match() allocates nothing and reports which pattern matched, so the
// log line can say `scanner=sipvicious`.
//
// Cost: one pass over the text per pattern, with a first-character filter;
// User-Agents are short, the list is a dozen entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/engine/fixed_string.h"

namespace vg::engine {

class ScannerPatternSet {
public:
    static constexpr std::size_t kMaxPatterns = 48;
    static constexpr std::size_t kMaxPatternLength = 32;

    // The well-known scanner tools: friendly-scanner, sipvicious, sipcli,
    // sip-scan, sipsak, smap, iWar, VaxSIPUserAgent, pplsip, sundayaddr, sipptk.
    static ScannerPatternSet defaults() noexcept;

    ScannerPatternSet() noexcept = default;

    // False when empty, longer than kMaxPatternLength, or the set is full.
    // A pattern already present (ignoring case) is accepted and not repeated.
    bool add(std::string_view pattern) noexcept;

    // Index of the first pattern (in the order added) that occurs in `text`,
    // or nullopt.
    std::optional<std::size_t> match(std::string_view text) const noexcept;
    // The pattern as it was added ("VaxSIPUserAgent"), for logs.
    std::string_view name(std::size_t index) const noexcept {
        return index < count_ ? original_[index].view() : std::string_view{};
    }

    std::size_t size() const noexcept { return count_; }
    void clear() noexcept { count_ = 0; }

private:
    FixedString<kMaxPatternLength> original_[kMaxPatterns];
    FixedString<kMaxPatternLength> lower_[kMaxPatterns];
    std::uint8_t count_ = 0;
};

}  // namespace vg::engine
