// SPDX-License-Identifier: GPL-2.0-or-later
// Longest-prefix match of a normalised dialled number ("+88234567") against
// deny/allow prefix lists ("+881", "+8823", "+449"), each prefix carrying a
// rule id (the policy's rule index). Use one set per list, or one set with
// rule ids that say which list a prefix came from.
//
// A character trie over '+', '0'-'9', '*', '#', stored in one vector with
// uint32 indexes; siblings are a linked list (at most 13 per level), so a node
// is 16 bytes whatever the alphabet and a lookup costs at most
// 13 * length character compares, with no allocation.
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
        replaced,  // the prefix was present; it now carries the new rule id
        invalid,   // empty, longer than kMaxPrefixLength, or a character other
                   // than digits, '*', '#' and a leading '+'
    };
    static constexpr std::size_t kMaxPrefixLength = 32;

    struct Match {
        std::string_view prefix;  // the matched part of the number (a view into it)
        std::uint32_t rule_id;
    };

    DigitPrefixSet();

    InsertResult insert(std::string_view prefix, std::uint32_t rule_id);

    // The longest listed prefix of `number`, or nullopt.
    std::optional<Match> longest_match(std::string_view number) const noexcept;
    // The rule id of exactly this prefix, or nullopt.
    std::optional<std::uint32_t> find(std::string_view prefix) const noexcept;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept;
    std::size_t memory_bytes() const noexcept { return nodes_.capacity() * sizeof(Node); }

private:
    static constexpr std::uint32_t kNone = 0xffffffffu;
    struct Node {
        std::uint32_t first_child = kNone;
        std::uint32_t next_sibling = kNone;
        std::uint32_t rule = kNone;
        bool terminal = false;
        char c = 0;
    };

    std::uint32_t child(std::uint32_t node, char c) const noexcept;

    std::vector<Node> nodes_;  // nodes_[0] is the root (the empty prefix)
    std::size_t size_ = 0;
};

}  // namespace vg::engine
