// SPDX-License-Identifier: GPL-2.0-or-later
// Longest-prefix match of IPv4/IPv6 addresses against a set of CIDR prefixes,
// for the allow-lists (Cloud PBX, media ranges, support, handset networks).
//
// Structure: one path-compressed binary trie (a PATRICIA-style radix tree) per
// address family. A node stores its whole prefix, so a lookup compares the
// address with a node's prefix in one masked word compare and skips every
// single-child level: the depth is bounded by the number of branch points
// (about log2(n) for spread-out lists), not by 32 or 128 bits.
// n prefixes take at most 2n-1 nodes. Nodes live in one std::vector per family
// and point at each other with uint32 indexes (no per-node allocation, half the
// size of pointers on 64-bit hosts); values live in a separate vector so nodes
// stay small: sizeof(node) is 20 bytes for IPv4 and 32 bytes for IPv6.
//
// insert() and clear() allocate (configuration time, may throw std::bad_alloc);
// lookup(), contains() and find() never allocate and never throw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "filters/net/ip_address.h"

namespace vg::engine {

namespace detail {

// The family-independent trie over keys of `Words` 32-bit words (1 = IPv4,
// 4 = IPv6), most significant bit first. It stores an index per prefix; the
// caller keeps the values. Compiled once per width in prefix_trie.cpp.
template <unsigned Words>
class CompressedTrie {
public:
    using Key = std::array<std::uint32_t, Words>;
    static constexpr unsigned kBits = Words * 32;
    static constexpr std::uint32_t kNone = 0xffffffffu;

    // Stores `value_index` for the prefix key/len (len <= kBits; host bits of
    // key are ignored). Returns the index previously stored for exactly that
    // prefix, or kNone if the prefix is new.
    std::uint32_t insert(const Key& key, unsigned len, std::uint32_t value_index);
    // The index stored for exactly key/len, or kNone.
    std::uint32_t find_exact(const Key& key, unsigned len) const noexcept;
    // The index stored for the longest prefix containing `key`, or kNone;
    // sets matched_len when found.
    std::uint32_t longest_match(const Key& key, unsigned& matched_len) const noexcept;

    void clear() noexcept {
        nodes_.clear();
        root_ = kNone;
    }
    void reserve(std::size_t prefixes) { nodes_.reserve(2 * prefixes); }
    std::size_t node_count() const noexcept { return nodes_.size(); }
    std::size_t memory_bytes() const noexcept { return nodes_.capacity() * sizeof(Node); }
    static constexpr std::size_t node_size() noexcept { return sizeof(Node); }

    static Key mask(Key key, unsigned len) noexcept;

private:
    struct Node {
        Key key;                  // prefix bits, host bits zero
        std::uint32_t child[2];   // by the bit at position `len`; kNone if absent
        std::uint32_t value;      // kNone for a pure branch node
        std::uint8_t len;         // prefix length, 0..kBits
    };

    std::uint32_t add_node(const Key& key, unsigned len, std::uint32_t value);

    std::vector<Node> nodes_;
    std::uint32_t root_ = kNone;
};

extern template class CompressedTrie<1>;
extern template class CompressedTrie<4>;

inline std::array<std::uint32_t, 1> v4_key(const net::IpAddress& a) noexcept {
    const std::uint8_t* b = a.bytes();
    return {(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
            (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]}};
}

inline std::array<std::uint32_t, 4> v6_key(const net::IpAddress& a) noexcept {
    const std::uint8_t* b = a.bytes();
    std::array<std::uint32_t, 4> k{};
    for (unsigned w = 0; w < 4; ++w)
        k[w] = (std::uint32_t{b[4 * w]} << 24) | (std::uint32_t{b[4 * w + 1]} << 16) |
               (std::uint32_t{b[4 * w + 2]} << 8) | std::uint32_t{b[4 * w + 3]};
    return k;
}

}  // namespace detail

template <typename Value>
class PrefixTrie {
public:
    enum class InsertResult : std::uint8_t {
        inserted,  // a new prefix
        replaced,  // the prefix was present; its value was overwritten
        invalid,   // family none or prefix length beyond the family's width
    };

    // Adds cidr -> value. Host bits past the prefix are ignored
    // (10.1.2.3/8 is 10.0.0.0/8). The same prefix twice keeps the last value.
    InsertResult insert(const net::Cidr& cidr, Value value) {
        const unsigned len = cidr.prefix;
        const bool v4 = cidr.network.is_v4() && len <= 32;
        const bool v6 = cidr.network.is_v6() && len <= 128;
        if (!v4 && !v6) return InsertResult::invalid;
        const std::uint32_t old = v4 ? v4_.find_exact(detail::v4_key(cidr.network), len)
                                     : v6_.find_exact(detail::v6_key(cidr.network), len);
        if (old != kNone) {
            values_[old] = std::move(value);
            return InsertResult::replaced;
        }
        const auto next = static_cast<std::uint32_t>(values_.size());
        values_.push_back(std::move(value));
        if (v4)
            v4_.insert(detail::v4_key(cidr.network), len, next);
        else
            v6_.insert(detail::v6_key(cidr.network), len, next);
        return InsertResult::inserted;
    }

    // The value of the longest prefix that contains `addr`, or nullptr.
    const Value* lookup(const net::IpAddress& addr) const noexcept {
        unsigned len = 0;
        return lookup(addr, len);
    }

    // As above, and sets `matched_prefix` to the matching prefix length.
    const Value* lookup(const net::IpAddress& addr, unsigned& matched_prefix) const noexcept {
        std::uint32_t i = kNone;
        if (addr.is_v4())
            i = v4_.longest_match(detail::v4_key(addr), matched_prefix);
        else if (addr.is_v6())
            i = v6_.longest_match(detail::v6_key(addr), matched_prefix);
        return i == kNone ? nullptr : &values_[i];
    }

    bool contains(const net::IpAddress& addr) const noexcept { return lookup(addr) != nullptr; }

    // The value stored for exactly this prefix (not a covering one), or nullptr.
    const Value* find(const net::Cidr& cidr) const noexcept {
        std::uint32_t i = kNone;
        if (cidr.network.is_v4() && cidr.prefix <= 32)
            i = v4_.find_exact(detail::v4_key(cidr.network), cidr.prefix);
        else if (cidr.network.is_v6() && cidr.prefix <= 128)
            i = v6_.find_exact(detail::v6_key(cidr.network), cidr.prefix);
        return i == kNone ? nullptr : &values_[i];
    }

    std::size_t size() const noexcept { return values_.size(); }
    bool empty() const noexcept { return values_.empty(); }

    void clear() noexcept {
        v4_.clear();
        v6_.clear();
        values_.clear();
    }

    // Optional: reserve for a known list size before inserting.
    void reserve(std::size_t v4_prefixes, std::size_t v6_prefixes) {
        v4_.reserve(v4_prefixes);
        v6_.reserve(v6_prefixes);
        values_.reserve(v4_prefixes + v6_prefixes);
    }

    // Heap bytes held (nodes and values), for the status report.
    std::size_t memory_bytes() const noexcept {
        return v4_.memory_bytes() + v6_.memory_bytes() + values_.capacity() * sizeof(Value);
    }
    std::size_t node_count() const noexcept { return v4_.node_count() + v6_.node_count(); }

private:
    static constexpr std::uint32_t kNone = 0xffffffffu;

    detail::CompressedTrie<1> v4_;
    detail::CompressedTrie<4> v6_;
    std::vector<Value> values_;
};

}  // namespace vg::engine
