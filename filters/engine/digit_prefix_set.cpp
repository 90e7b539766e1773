// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/digit_prefix_set.h"

#include <algorithm>

#include "filters/util/text.h"

namespace vg::engine {

namespace {

// 1..13 in ASCII order ('#' < '*' < '+' < '0'..'9'); 0 = none.
inline unsigned symbol(char c) noexcept {
    if (c >= '0' && c <= '9') return 4u + static_cast<unsigned>(c - '0');
    if (c == '#') return 1;
    if (c == '*') return 2;
    if (c == '+') return 3;
    return 0;
}

inline unsigned nibble_length(std::uint64_t w) noexcept {
    return w == 0 ? 0 : 16u - static_cast<unsigned>(__builtin_ctzll(w)) / 4u;
}

// Symbols a and b share at the start (32 when equal).
inline std::size_t common_symbols(std::uint64_t ahi, std::uint64_t alo, std::uint64_t bhi,
                                  std::uint64_t blo) noexcept {
    if (const std::uint64_t x = ahi ^ bhi; x != 0) return static_cast<std::size_t>(__builtin_clzll(x)) / 4u;
    if (const std::uint64_t x = alo ^ blo; x != 0) return 16u + static_cast<std::size_t>(__builtin_clzll(x)) / 4u;
    return 32;
}

}  // namespace

std::size_t DigitPrefixSet::pack(std::string_view s, Key& key) noexcept {
    key = Key{};
    std::size_t n = 0;
    for (; n < s.size() && n < kMaxPrefixLength; ++n) {
        const unsigned v = symbol(s[n]);
        if (v == 0 || (v == 3 && n != 0)) break;
        if (n < 16)
            key.hi |= std::uint64_t{v} << (60 - 4 * n);
        else
            key.lo |= std::uint64_t{v} << (60 - 4 * (n - 16));
    }
    return n;
}

std::size_t DigitPrefixSet::length(const Key& k) noexcept {
    return k.lo != 0 ? 16u + nibble_length(k.lo) : nibble_length(k.hi);
}

void DigitPrefixSet::clear() noexcept {
    entries_.clear();
    built_ = 0;
}

DigitPrefixSet::InsertResult DigitPrefixSet::insert(std::string_view prefix, std::uint32_t rule_id) {
    if (prefix.empty() || prefix.size() > kMaxPrefixLength) return InsertResult::invalid;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const char c = prefix[i];
        if (!(text::is_digit(c) || c == '*' || c == '#' || (c == '+' && i == 0)))
            return InsertResult::invalid;
    }
    Entry e;
    pack(prefix, e.key);
    e.rule = rule_id;
    entries_.push_back(e);
    return InsertResult::inserted;
}

void DigitPrefixSet::build() {
    // Stable: of a repeated prefix the first insert() stays (the built part
    // came first, so what was built keeps its rule id).
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
        return a.key.hi != b.key.hi ? a.key.hi < b.key.hi : a.key.lo < b.key.lo;
    });
    entries_.erase(std::unique(entries_.begin(), entries_.end(),
                               [](const Entry& a, const Entry& b) {
                                   return a.key.hi == b.key.hi && a.key.lo == b.key.lo;
                               }),
                   entries_.end());
    // Parents: in key order, the entries that are prefixes of the current one
    // form a stack (each a prefix of the next).
    std::vector<std::uint32_t> stack;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const Key& k = entries_[i].key;
        const std::size_t len = length(k);
        while (!stack.empty()) {
            const Key& top = entries_[stack.back()].key;
            const std::size_t top_len = length(top);
            if (top_len < len && common_symbols(top.hi, top.lo, k.hi, k.lo) >= top_len) break;
            stack.pop_back();
        }
        entries_[i].parent = stack.empty() ? kNone : stack.back();
        stack.push_back(static_cast<std::uint32_t>(i));
    }
    entries_.shrink_to_fit();
    built_ = entries_.size();
}

std::optional<DigitPrefixSet::Match> DigitPrefixSet::longest_match(std::string_view number) const noexcept {
    if (built_ == 0) return std::nullopt;
    Key q;
    const std::size_t qlen = pack(number, q);
    if (qlen == 0) return std::nullopt;
    // The first entry greater than q; the one before it is the greatest <= q.
    std::size_t lo = 0, hi = built_;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        const Key& k = entries_[mid].key;
        if (k.hi < q.hi || (k.hi == q.hi && k.lo <= q.lo))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return std::nullopt;
    std::uint32_t i = static_cast<std::uint32_t>(lo - 1);
    const Key& p = entries_[i].key;
    const std::size_t shared = std::min(common_symbols(p.hi, p.lo, q.hi, q.lo), qlen);
    for (;;) {
        const std::size_t len = length(entries_[i].key);
        if (len <= shared) return Match{number.substr(0, len), entries_[i].rule};
        i = entries_[i].parent;
        if (i == kNone) return std::nullopt;
    }
}

std::optional<std::uint32_t> DigitPrefixSet::find(std::string_view prefix) const noexcept {
    if (prefix.empty() || prefix.size() > kMaxPrefixLength) return std::nullopt;
    Key q;
    if (pack(prefix, q) != prefix.size()) return std::nullopt;
    const auto end = entries_.begin() + static_cast<std::ptrdiff_t>(built_);
    const auto it = std::lower_bound(entries_.begin(), end, q, [](const Entry& e, const Key& k) {
        return e.key.hi != k.hi ? e.key.hi < k.hi : e.key.lo < k.lo;
    });
    if (it == end || it->key.hi != q.hi || it->key.lo != q.lo) return std::nullopt;
    return it->rule;
}

}  // namespace vg::engine
