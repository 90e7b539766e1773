// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/prefix_trie.h"

#include <algorithm>

namespace vg::engine::detail {

namespace {

template <unsigned Words>
inline unsigned bit_at(const std::array<std::uint32_t, Words>& k, unsigned i) noexcept {
    return (k[i >> 5] >> (31u - (i & 31u))) & 1u;
}

// Number of leading bits a and b have in common (Words * 32 if equal).
template <unsigned Words>
inline unsigned common_bits(const std::array<std::uint32_t, Words>& a,
                            const std::array<std::uint32_t, Words>& b) noexcept {
    for (unsigned w = 0; w < Words; ++w) {
        const std::uint32_t x = a[w] ^ b[w];
        if (x != 0) return w * 32 + static_cast<unsigned>(__builtin_clz(x));
    }
    return Words * 32;
}

// True when the first `len` bits of a and b are equal.
template <unsigned Words>
inline bool same_prefix(const std::array<std::uint32_t, Words>& a,
                        const std::array<std::uint32_t, Words>& b, unsigned len) noexcept {
    for (unsigned w = 0; w < Words; ++w) {
        if (len >= 32) {
            if (a[w] != b[w]) return false;
            len -= 32;
            continue;
        }
        if (len == 0) return true;
        const std::uint32_t m = ~std::uint32_t{0} << (32 - len);
        return ((a[w] ^ b[w]) & m) == 0;
    }
    return true;
}

}  // namespace

template <unsigned Words>
typename CompressedTrie<Words>::Key CompressedTrie<Words>::mask(Key key, unsigned len) noexcept {
    for (unsigned w = 0; w < Words; ++w) {
        if (len >= 32) {
            len -= 32;
        } else if (len == 0) {
            key[w] = 0;
        } else {
            key[w] &= ~std::uint32_t{0} << (32 - len);
            len = 0;
        }
    }
    return key;
}

template <unsigned Words>
std::uint32_t CompressedTrie<Words>::add_node(const Key& key, unsigned len, std::uint32_t value) {
    Node n;
    n.key = key;
    n.child[0] = n.child[1] = kNone;
    n.value = value;
    n.len = static_cast<std::uint8_t>(len);
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
}

template <unsigned Words>
std::uint32_t CompressedTrie<Words>::insert(const Key& raw_key, unsigned len,
                                            std::uint32_t value_index) {
    const Key key = mask(raw_key, len);
    // Where the current node hangs: the root, or child[side] of `parent`.
    // Kept as indexes because add_node() may move the vector.
    std::uint32_t parent = kNone;
    unsigned side = 0;
    auto link = [&](std::uint32_t node) {
        if (parent == kNone)
            root_ = node;
        else
            nodes_[parent].child[side] = node;
    };

    std::uint32_t cur = root_;
    for (;;) {
        if (cur == kNone) {
            link(add_node(key, len, value_index));
            return kNone;
        }
        const Key cur_key = nodes_[cur].key;
        const unsigned cur_len = nodes_[cur].len;
        const unsigned common = std::min({common_bits<Words>(key, cur_key), len, cur_len});
        if (common == cur_len) {
            if (cur_len == len) {  // the same prefix
                const std::uint32_t old = nodes_[cur].value;
                nodes_[cur].value = value_index;
                return old;
            }
            // cur's prefix covers the new one: go down.
            parent = cur;
            side = bit_at<Words>(key, cur_len);
            cur = nodes_[cur].child[side];
            continue;
        }
        if (common == len) {
            // The new prefix covers cur: it goes between cur and its parent.
            const std::uint32_t n = add_node(key, len, value_index);
            nodes_[n].child[bit_at<Words>(cur_key, len)] = cur;
            link(n);
            return kNone;
        }
        // They diverge at bit `common`: a branch node with both below it.
        const std::uint32_t leaf = add_node(key, len, value_index);
        const std::uint32_t branch = add_node(mask(key, common), common, kNone);
        nodes_[branch].child[bit_at<Words>(key, common)] = leaf;
        nodes_[branch].child[bit_at<Words>(cur_key, common)] = cur;
        link(branch);
        return kNone;
    }
}

template <unsigned Words>
std::uint32_t CompressedTrie<Words>::find_exact(const Key& raw_key, unsigned len) const noexcept {
    const Key key = mask(raw_key, len);
    std::uint32_t cur = root_;
    while (cur != kNone) {
        const Node& n = nodes_[cur];
        if (n.len > len || !same_prefix<Words>(key, n.key, n.len)) return kNone;
        if (n.len == len) return n.value;
        cur = n.child[bit_at<Words>(key, n.len)];
    }
    return kNone;
}

template <unsigned Words>
std::uint32_t CompressedTrie<Words>::longest_match(const Key& key,
                                                   unsigned& matched_len) const noexcept {
    std::uint32_t best = kNone;
    std::uint32_t cur = root_;
    while (cur != kNone) {
        const Node& n = nodes_[cur];
        if (!same_prefix<Words>(key, n.key, n.len)) break;
        if (n.value != kNone) {
            best = n.value;
            matched_len = n.len;
        }
        if (n.len >= kBits) break;
        cur = n.child[bit_at<Words>(key, n.len)];
    }
    return best;
}

template class CompressedTrie<1>;
template class CompressedTrie<4>;

}  // namespace vg::engine::detail
