// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/scanner_patterns.h"

#include "filters/util/text.h"

namespace vg::engine {

namespace {

// Case-insensitive search for `lower` (already lower case) in `text`.
bool contains_lower(std::string_view text, std::string_view lower) noexcept {
    const std::size_t n = lower.size();
    if (n > text.size()) return false;
    const char first = lower[0];
    for (std::size_t i = 0; i + n <= text.size(); ++i) {
        if (text::ascii_lower(text[i]) != first) continue;
        std::size_t k = 1;
        while (k < n && text::ascii_lower(text[i + k]) == lower[k]) ++k;
        if (k == n) return true;
    }
    return false;
}

}  // namespace

ScannerPatternSet ScannerPatternSet::defaults() noexcept {
    ScannerPatternSet s;
    for (std::string_view p : {"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipsak", "smap",
                               "iWar", "VaxSIPUserAgent", "pplsip", "sundayaddr", "sipptk"})
        s.add(p);
    return s;
}

bool ScannerPatternSet::add(std::string_view pattern) noexcept {
    if (pattern.empty() || pattern.size() > kMaxPatternLength) return false;
    FixedString<kMaxPatternLength> lower;
    for (char c : pattern) lower.push_back(text::ascii_lower(c));
    for (std::size_t i = 0; i < count_; ++i)
        if (lower_[i] == lower) return true;
    if (count_ >= kMaxPatterns) return false;
    original_[count_].assign(pattern);
    lower_[count_] = lower;
    ++count_;
    return true;
}

std::optional<std::size_t> ScannerPatternSet::match(std::string_view text) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
        if (contains_lower(text, lower_[i].view())) return i;
    return std::nullopt;
}

}  // namespace vg::engine
