// SPDX-License-Identifier: GPL-2.0-or-later
// Case-insensitive substring patterns for the User-Agent (or From display
// name) of SIP scanners and brute-forcers. Filled when the policy is compiled,
// on the heap, so the set holds every pattern a policy may list (each file up
// to 256 in sip.scanner_user_agents, of up to 128 characters, and the files
// of a policy add up); match() allocates nothing and reports which pattern
// matched, so the log line can say `scanner=sipvicious`.
//
// Cost: one pass over the text per pattern, with a first-character filter;
// User-Agents are short, the list is a dozen entries on most sites.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg::engine {

class ScannerPatternSet {
public:
    // The longest pattern the policy allows (a text_pattern, config/validator.cpp).
    static constexpr std::size_t kMaxPatternLength = 128;

    // The well-known scanner tools: friendly-scanner, sipvicious, sipcli,
    // sip-scan, sipsak, smap, iWar, VaxSIPUserAgent, pplsip, sundayaddr, sipptk.
    static ScannerPatternSet defaults();

    ScannerPatternSet() noexcept = default;

    // False when empty or longer than kMaxPatternLength. A pattern already
    // present (ignoring case) is accepted and not repeated.
    bool add(std::string_view pattern);

    // Index of the first pattern (in the order added) that occurs in `text`,
    // or nullopt.
    std::optional<std::size_t> match(std::string_view text) const noexcept;
    // The pattern as it was added ("VaxSIPUserAgent"), for logs.
    std::string_view name(std::size_t index) const noexcept {
        return index < original_.size() ? std::string_view(original_[index]) : std::string_view{};
    }

    std::size_t size() const noexcept { return original_.size(); }
    void clear() noexcept {
        original_.clear();
        lower_.clear();
    }

private:
    std::vector<std::string> original_;
    std::vector<std::string> lower_;
};

}  // namespace vg::engine
