// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/firmware_version.h"

#include "filters/util/text.h"

namespace vg::engine {

namespace {

// Length of the version token starting at s[0] (a digit), or 0.
std::size_t token_length(std::string_view s) noexcept {
    std::size_t i = 0;
    std::size_t groups = 0;
    for (;;) {
        const std::size_t start = i;
        while (i < s.size() && text::is_digit(s[i])) ++i;
        if (i == start) {
            // "1." followed by a non-digit: the token ends before the dot.
            --i;
            break;
        }
        ++groups;
        if (i < s.size() && s[i] == '.') {
            ++i;
            continue;
        }
        break;
    }
    if (groups < 2) return 0;
    while (i < s.size() && text::is_alpha(s[i])) ++i;
    return i;
}

std::size_t find_ci(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.empty()) return 0;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (text::iequals(haystack.substr(i, needle.size()), needle)) return i;
    return std::string_view::npos;
}

}  // namespace

std::optional<FirmwareVersion> FirmwareVersion::parse(std::string_view s) noexcept {
    FirmwareVersion v;
    std::size_t i = 0;
    for (;;) {
        if (i >= s.size() || !text::is_digit(s[i])) return std::nullopt;
        std::uint64_t n = 0;
        while (i < s.size() && text::is_digit(s[i])) {
            n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (n > 0xffffffffu) n = 0xffffffffu;
            ++i;
        }
        if (v.count_ < kMaxComponents) v.parts_[v.count_++] = static_cast<std::uint32_t>(n);
        if (i < s.size() && s[i] == '.') {
            ++i;
            continue;
        }
        break;
    }
    while (i < s.size() && text::is_alpha(s[i])) {
        if (v.suffix_len_ < kMaxSuffix) v.suffix_[v.suffix_len_++] = text::ascii_lower(s[i]);
        ++i;
    }
    if (i != s.size()) return std::nullopt;
    return v;
}

int compare(const FirmwareVersion& a, const FirmwareVersion& b) noexcept {
    const std::size_t n = a.count_ > b.count_ ? a.count_ : b.count_;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t x = a.component(i), y = b.component(i);
        if (x != y) return x < y ? -1 : 1;
    }
    if (a.suffix_len_ != b.suffix_len_) return a.suffix_len_ < b.suffix_len_ ? -1 : 1;
    const int c = a.suffix().compare(b.suffix());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

std::string_view first_version_token(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!text::is_digit(s[i])) continue;
        if (i > 0 && (text::is_alnum(s[i - 1]) || s[i - 1] == '.')) {
            // Inside a word or a number that did not qualify: skip to its end.
            while (i + 1 < s.size() && (text::is_alnum(s[i + 1]) || s[i + 1] == '.')) ++i;
            continue;
        }
        const std::size_t n = token_length(s.substr(i));
        if (n > 0) return s.substr(i, n);
        while (i + 1 < s.size() && (text::is_alnum(s[i + 1]) || s[i + 1] == '.')) ++i;
    }
    return {};
}

std::string_view find_version(std::string_view user_agent, std::string_view model_pattern) noexcept {
    const std::size_t at = find_ci(user_agent, model_pattern);
    if (at == std::string_view::npos) return {};
    const std::size_t end = at + model_pattern.size();
    // The token must start on a boundary of the User-Agent, not just of the
    // remainder: "snom7" must not make "60/..." of "snom760/..." a candidate.
    // Scan from the pattern's end but judge boundaries on the full string.
    std::size_t i = end;
    // If the pattern ends inside a word, skip the rest of that word.
    if (i > 0 && i < user_agent.size() && (text::is_alnum(user_agent[i - 1]) || user_agent[i - 1] == '.'))
        while (i < user_agent.size() && (text::is_alnum(user_agent[i]) || user_agent[i] == '.')) ++i;
    return first_version_token(user_agent.substr(i));
}

}  // namespace vg::engine
