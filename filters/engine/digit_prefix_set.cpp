// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/digit_prefix_set.h"

#include "filters/util/text.h"

namespace vg::engine {

DigitPrefixSet::DigitPrefixSet() { nodes_.emplace_back(); }

void DigitPrefixSet::clear() noexcept {
    nodes_.resize(1);  // shrinking never allocates
    nodes_[0] = Node{};
    size_ = 0;
}

std::uint32_t DigitPrefixSet::child(std::uint32_t node, char c) const noexcept {
    for (std::uint32_t i = nodes_[node].first_child; i != kNone; i = nodes_[i].next_sibling)
        if (nodes_[i].c == c) return i;
    return kNone;
}

DigitPrefixSet::InsertResult DigitPrefixSet::insert(std::string_view prefix, std::uint32_t rule_id) {
    if (prefix.empty() || prefix.size() > kMaxPrefixLength) return InsertResult::invalid;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const char c = prefix[i];
        if (!(text::is_digit(c) || c == '*' || c == '#' || (c == '+' && i == 0)))
            return InsertResult::invalid;
    }
    std::uint32_t node = 0;
    for (const char c : prefix) {
        std::uint32_t next = child(node, c);
        if (next == kNone) {
            Node n;
            n.c = c;
            n.next_sibling = nodes_[node].first_child;
            nodes_.push_back(n);
            next = static_cast<std::uint32_t>(nodes_.size() - 1);
            nodes_[node].first_child = next;
        }
        node = next;
    }
    Node& n = nodes_[node];
    n.rule = rule_id;
    if (n.terminal) return InsertResult::replaced;
    n.terminal = true;
    ++size_;
    return InsertResult::inserted;
}

std::optional<DigitPrefixSet::Match> DigitPrefixSet::longest_match(std::string_view number) const noexcept {
    std::optional<Match> best;
    std::uint32_t node = 0;
    for (std::size_t i = 0; i < number.size(); ++i) {
        node = child(node, number[i]);
        if (node == kNone) break;
        if (nodes_[node].terminal) best = Match{number.substr(0, i + 1), nodes_[node].rule};
    }
    return best;
}

std::optional<std::uint32_t> DigitPrefixSet::find(std::string_view prefix) const noexcept {
    if (prefix.empty()) return std::nullopt;
    std::uint32_t node = 0;
    for (const char c : prefix) {
        node = child(node, c);
        if (node == kNone) return std::nullopt;
    }
    if (!nodes_[node].terminal) return std::nullopt;
    return nodes_[node].rule;
}

}  // namespace vg::engine
