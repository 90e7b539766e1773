// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/scanner_patterns.h"

#include <utility>

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

ScannerPatternSet ScannerPatternSet::defaults() {
    ScannerPatternSet s;
    for (std::string_view p : {"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipsak", "smap",
                               "iWar", "VaxSIPUserAgent", "pplsip", "sundayaddr", "sipptk"})
        s.add(p);
    return s;
}

bool ScannerPatternSet::add(std::string_view pattern) {
    if (pattern.empty() || pattern.size() > kMaxPatternLength) return false;
    std::string lower(pattern);
    for (char& c : lower) c = text::ascii_lower(c);
    for (const std::string& l : lower_)
        if (l == lower) return true;
    original_.emplace_back(pattern);
    lower_.push_back(std::move(lower));
    return true;
}

std::optional<std::size_t> ScannerPatternSet::match(std::string_view text) const noexcept {
    for (std::size_t i = 0; i < lower_.size(); ++i)
        if (contains_lower(text, lower_[i])) return i;
    return std::nullopt;
}

}  // namespace vg::engine
