// SPDX-License-Identifier: GPL-2.0-or-later
// Longest-prefix match of a normalised dialled number ("+88234567") against
// deny/allow prefix lists ("+881", "+8823", "+449"), each prefix carrying a
// rule id (the policy's rule index). Use one set per list, or one set with
// rule ids that say which list a prefix came from.
//
// A sorted flat array: each prefix is packed into a 128-bit key of 4-bit
// symbols ('#', '*', '+', '0'-'9' are 1..13; 0 ends the prefix, so a prefix
// sorts before its extensions), with its rule id and the index of its longest
// listed proper prefix (its parent). An entry is 24 bytes whatever the list,
// 100,000 prefixes take 2.4 MB in one allocation.
//
// Lookup: one binary search for the greatest key <= the number's key, then up
// that entry's parent chain to the first entry no longer than the part it
// shares with the number. (The longest listed prefix s of a number q sorts
// between itself and q, so the greatest entry <= q starts with s: s is on
// that entry's chain.) No allocation, about log2(n) key compares.
//
// Building: insert() collects, build() sorts and links (configuration time,
// may throw std::bad_alloc). Lookups see what was built: call build() after
// the last insert().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace vg::engine {

class DigitPrefixSet {
public:
    enum class InsertResult : std::uint8_t {
        inserted,
        invalid,   // empty, longer than kMaxPrefixLength, or a character other
                   // than digits, '*', '#' and a leading '+'
    };
    static constexpr std::size_t kMaxPrefixLength = 32;

    struct Match {
        std::string_view prefix;  // the matched part of the number (a view into it)
        std::uint32_t rule_id;
    };

    // Adds a prefix (seen by lookups after build()). A prefix inserted more
    // than once keeps the rule id of its first insert().
    InsertResult insert(std::string_view prefix, std::uint32_t rule_id);
    // Optional: room for a known number of prefixes before inserting.
    void reserve(std::size_t prefixes) { entries_.reserve(prefixes); }
    // Sorts, drops repeated prefixes, links parents, releases spare capacity.
    void build();

    // The longest listed prefix of `number`, or nullopt.
    std::optional<Match> longest_match(std::string_view number) const noexcept;
    // The rule id of exactly this prefix, or nullopt.
    std::optional<std::uint32_t> find(std::string_view prefix) const noexcept;

    // Prefixes seen by lookups (distinct, built).
    std::size_t size() const noexcept { return built_; }
    bool empty() const noexcept { return built_ == 0; }
    void clear() noexcept;
    std::size_t memory_bytes() const noexcept { return entries_.capacity() * sizeof(Entry); }

private:
    static constexpr std::uint32_t kNone = 0xffffffffu;
    struct Key {
        std::uint64_t hi = 0;   // symbols 0..15, the first in the top nibble
        std::uint64_t lo = 0;   // symbols 16..31
    };
    struct Entry {
        Key key;
        std::uint32_t rule = 0;
        std::uint32_t parent = kNone;   // index of the longest listed proper prefix
    };

    // Packs up to kMaxPrefixLength symbols; stops at the first character no
    // prefix can hold. Returns the number of symbols packed.
    static std::size_t pack(std::string_view s, Key& key) noexcept;
    static std::size_t length(const Key& k) noexcept;

    std::vector<Entry> entries_;   // [0, built_) sorted by key, then what insert() added since
    std::size_t built_ = 0;
};

}  // namespace vg::engine
