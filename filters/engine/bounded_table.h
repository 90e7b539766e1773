// SPDX-License-Identifier: GPL-2.0-or-later
// A fixed-capacity hash map with least-recently-used eviction, for the state a
// packet from the network can create: dialogs, media pinholes, per-source
// counters, handsets. Its memory is reserved once, at construction; when it is
// full a new key evicts the least recently used entry (counted), so a spoofed
// flood costs old state, never memory.
//
// Layout: `capacity` slots in one array, each holding the key, the value, the
// index of the next slot in its hash chain and the LRU list links (uint32
// indexes, no pointers); a power-of-two bucket array of uint32 chain heads
// (at least `capacity` buckets, so chains average below one entry). Free slots
// are chained through the hash link. Memory: capacity * entry_bytes() plus
// 4 bytes per bucket.
//
// Hashing: the Hash result is mixed with a per-table seed (splitmix64
// finaliser) before the bucket is chosen. Weak hashes (std::hash of an integer
// is the identity) still spread, and a daemon that passes a random seed makes
// bucket collisions unpredictable to a sender choosing spoofed source addresses.
//
// Recency: find_or_insert(), insert_or_assign() and touch() make an entry the
// most recently used; find()
// does not (so a status dump or a read-only probe does not keep state alive).
//
// Requirements: Key and Value are default-constructible and move-assignable.
// A slot's key and value are reset to Key{} / Value{} when the entry goes.
// Only the constructor allocates (and may throw std::bad_alloc, at start-up);
// every other member is noexcept as long as Key/Value moves and Hash/KeyEqual
// do not throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

namespace vg::engine {

template <typename Key, typename Value, typename Hash = std::hash<Key>,
          typename KeyEqual = std::equal_to<Key>>
class BoundedTable {
    struct Slot;

public:
    static constexpr std::uint32_t kMaxCapacity = 0x40000000u;

    // What a range-for yields: references into the slot. The key is const.
    struct Entry {
        const Key& key;
        Value& value;
    };
    struct ConstEntry {
        const Key& key;
        const Value& value;
    };

    struct InsertResult {
        Value* value;   // the entry for the key (never null when capacity > 0)
        bool inserted;  // false: the key was present (its value is left as is)
        bool evicted;   // true: the least recently used entry made room
    };

    // capacity 0 is allowed (every insert fails); above kMaxCapacity is clamped.
    explicit BoundedTable(std::size_t capacity, std::uint64_t seed = 0, Hash hash = Hash(),
                          KeyEqual eq = KeyEqual())
        : capacity_(static_cast<std::uint32_t>(capacity < kMaxCapacity ? capacity : kMaxCapacity)),
          bucket_mask_(bucket_count_for(capacity_) - 1),
          seed_(seed),
          slots_(new Slot[capacity_]),
          buckets_(new std::uint32_t[bucket_mask_ + 1]),
          hash_(std::move(hash)),
          eq_(std::move(eq)) {
        reset_links();
    }

    BoundedTable(const BoundedTable&) = delete;
    BoundedTable& operator=(const BoundedTable&) = delete;
    // A moved-from table may only be destroyed or assigned to.
    BoundedTable(BoundedTable&&) noexcept = default;
    BoundedTable& operator=(BoundedTable&&) noexcept = default;

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }
    bool full() const noexcept { return size_ == capacity_; }
    // Entries pushed out by inserts into a full table since construction.
    std::uint64_t evictions() const noexcept { return evictions_; }

    // Bytes per entry (key, value, links) and the table's total footprint.
    static constexpr std::size_t entry_bytes() noexcept { return sizeof(Slot); }
    std::size_t memory_bytes() const noexcept {
        return std::size_t{capacity_} * sizeof(Slot) +
               (std::size_t{bucket_mask_} + 1) * sizeof(std::uint32_t);
    }

    // Lookup without changing recency.
    Value* find(const Key& key) noexcept {
        const std::uint32_t i = locate(key, bucket_of(key));
        return i == kNone ? nullptr : &slots_[i].value;
    }
    const Value* find(const Key& key) const noexcept {
        const std::uint32_t i = locate(key, bucket_of(key));
        return i == kNone ? nullptr : &slots_[i].value;
    }
    bool contains(const Key& key) const noexcept { return find(key) != nullptr; }

    // Lookup that marks the entry most recently used.
    Value* touch(const Key& key) noexcept {
        const std::uint32_t i = locate(key, bucket_of(key));
        if (i == kNone) return nullptr;
        move_to_front(i);
        return &slots_[i].value;
    }

    // Finds `key` (making it most recently used) or inserts it with a
    // default-constructed value, evicting the least recently used entry when
    // full. on_evict(const Key&, Value&) is called for the evicted entry before
    // its slot is reused, so the caller can close what it held (a pinhole's
    // conntrack entries, say). on_evict must not insert into or erase from
    // this table.
    template <typename OnEvict>
    InsertResult find_or_insert(const Key& key, OnEvict&& on_evict) noexcept {
        const std::uint32_t b = bucket_of(key);
        std::uint32_t i = locate(key, b);
        if (i != kNone) {
            move_to_front(i);
            return {&slots_[i].value, false, false};
        }
        if (capacity_ == 0) return {nullptr, false, false};
        bool evicted = false;
        if (free_ == kNone) {
            const std::uint32_t victim = lru_tail_;
            on_evict(static_cast<const Key&>(slots_[victim].key), slots_[victim].value);
            remove(victim);
            ++evictions_;
            evicted = true;
        }
        i = free_;
        free_ = slots_[i].next;
        Slot& s = slots_[i];
        s.key = key;
        s.next = buckets_[b];
        buckets_[b] = i;
        link_front(i);
        ++size_;
        return {&s.value, true, evicted};
    }
    InsertResult find_or_insert(const Key& key) noexcept {
        return find_or_insert(key, [](const Key&, Value&) {});
    }

    // Inserts or overwrites key -> value (most recently used afterwards).
    template <typename OnEvict>
    InsertResult insert_or_assign(const Key& key, Value value, OnEvict&& on_evict) noexcept {
        InsertResult r = find_or_insert(key, std::forward<OnEvict>(on_evict));
        if (r.value != nullptr) *r.value = std::move(value);
        return r;
    }
    InsertResult insert_or_assign(const Key& key, Value value) noexcept {
        return insert_or_assign(key, std::move(value), [](const Key&, Value&) {});
    }

    bool erase(const Key& key) noexcept {
        const std::uint32_t i = locate(key, bucket_of(key));
        if (i == kNone) return false;
        remove(i);
        return true;
    }

    // Removes every entry for which pred(const Key&, Value&) is true, oldest
    // first, and returns how many went. For timeouts:
    //   table.erase_if([now](const auto&, auto& d) { return d.deadline <= now; });
    // Erasing is not an eviction and is not counted as one.
    template <typename Pred>
    std::size_t erase_if(Pred&& pred) noexcept {
        std::size_t n = 0;
        std::uint32_t i = lru_tail_;
        while (i != kNone) {
            const std::uint32_t newer = slots_[i].prev_lru;
            if (pred(static_cast<const Key&>(slots_[i].key), slots_[i].value)) {
                remove(i);
                ++n;
            }
            i = newer;
        }
        return n;
    }

    // Calls f(const Key&, Value&) (or f(const Key&, const Value&) on a const
    // table) for every entry, from the most to the least recently used. f must
    // not insert or erase; use erase_if to remove while walking.
    template <typename F>
    void for_each(F&& f) {
        for (std::uint32_t i = lru_head_; i != kNone; i = slots_[i].next_lru)
            f(static_cast<const Key&>(slots_[i].key), slots_[i].value);
    }
    template <typename F>
    void for_each(F&& f) const {
        for (std::uint32_t i = lru_head_; i != kNone; i = slots_[i].next_lru)
            f(static_cast<const Key&>(slots_[i].key), static_cast<const Value&>(slots_[i].value));
    }

    // The least recently used entry's key (the next to be evicted), or nullptr.
    const Key* oldest() const noexcept { return lru_tail_ == kNone ? nullptr : &slots_[lru_tail_].key; }

    void clear() noexcept {
        for (std::uint32_t i = lru_head_; i != kNone; i = slots_[i].next_lru) {
            slots_[i].key = Key{};
            slots_[i].value = Value{};
        }
        reset_links();
    }

    // Iteration from the most to the least recently used entry. Iterating does
    // not change recency. Do not insert or erase while iterating (erase_if does
    // that safely).
    template <bool Const>
    class basic_iterator {
        using Table = std::conditional_t<Const, const BoundedTable, BoundedTable>;

    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::conditional_t<Const, ConstEntry, Entry>;
        using difference_type = std::ptrdiff_t;
        using reference = value_type;
        struct pointer {
            value_type e;
            const value_type* operator->() const noexcept { return &e; }
        };

        basic_iterator() noexcept = default;
        reference operator*() const noexcept { return {t_->slots_[i_].key, t_->slots_[i_].value}; }
        pointer operator->() const noexcept { return {**this}; }
        basic_iterator& operator++() noexcept {
            i_ = t_->slots_[i_].next_lru;
            return *this;
        }
        basic_iterator operator++(int) noexcept {
            basic_iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const basic_iterator& a, const basic_iterator& b) noexcept { return a.i_ == b.i_; }
        friend bool operator!=(const basic_iterator& a, const basic_iterator& b) noexcept { return a.i_ != b.i_; }

    private:
        friend class BoundedTable;
        basic_iterator(Table* t, std::uint32_t i) noexcept : t_(t), i_(i) {}
        Table* t_ = nullptr;
        std::uint32_t i_ = kNone;
    };
    using iterator = basic_iterator<false>;
    using const_iterator = basic_iterator<true>;

    iterator begin() noexcept { return {this, lru_head_}; }
    iterator end() noexcept { return {this, kNone}; }
    const_iterator begin() const noexcept { return {this, lru_head_}; }
    const_iterator end() const noexcept { return {this, kNone}; }

private:
    static constexpr std::uint32_t kNone = 0xffffffffu;

    // The three links first: a 4-byte key then packs next to them (a
    // <uint32, TokenBucketState> slot is 32 bytes, not 40).
    struct Slot {
        std::uint32_t next = kNone;      // hash chain, or free list
        std::uint32_t prev_lru = kNone;  // towards the most recently used
        std::uint32_t next_lru = kNone;  // towards the least recently used
        Key key{};
        Value value{};
    };

    static std::uint32_t bucket_count_for(std::uint32_t capacity) noexcept {
        std::uint32_t n = 1;
        while (n < capacity) n <<= 1;
        return n;
    }

    static std::uint64_t mix(std::uint64_t x) noexcept {
        // splitmix64 finaliser.
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
        return x;
    }

    std::uint32_t bucket_of(const Key& key) const noexcept {
        const std::uint64_t h = mix(static_cast<std::uint64_t>(hash_(key)) ^ seed_);
        return static_cast<std::uint32_t>(h) & bucket_mask_;
    }

    std::uint32_t locate(const Key& key, std::uint32_t bucket) const noexcept {
        for (std::uint32_t i = buckets_[bucket]; i != kNone; i = slots_[i].next)
            if (eq_(slots_[i].key, key)) return i;
        return kNone;
    }

    void link_front(std::uint32_t i) noexcept {
        slots_[i].prev_lru = kNone;
        slots_[i].next_lru = lru_head_;
        if (lru_head_ != kNone) slots_[lru_head_].prev_lru = i;
        lru_head_ = i;
        if (lru_tail_ == kNone) lru_tail_ = i;
    }

    void unlink_lru(std::uint32_t i) noexcept {
        Slot& s = slots_[i];
        if (s.prev_lru != kNone) slots_[s.prev_lru].next_lru = s.next_lru; else lru_head_ = s.next_lru;
        if (s.next_lru != kNone) slots_[s.next_lru].prev_lru = s.prev_lru; else lru_tail_ = s.prev_lru;
        s.prev_lru = s.next_lru = kNone;
    }

    void move_to_front(std::uint32_t i) noexcept {
        if (lru_head_ == i) return;
        unlink_lru(i);
        link_front(i);
    }

    // Unchains slot i from its bucket and the LRU list, resets it, frees it.
    void remove(std::uint32_t i) noexcept {
        std::uint32_t* link = &buckets_[bucket_of(slots_[i].key)];
        while (*link != i) link = &slots_[*link].next;
        *link = slots_[i].next;
        unlink_lru(i);
        slots_[i].key = Key{};
        slots_[i].value = Value{};
        slots_[i].next = free_;
        free_ = i;
        --size_;
    }

    void reset_links() noexcept {
        for (std::uint32_t b = 0; b <= bucket_mask_; ++b) buckets_[b] = kNone;
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            slots_[i].next = i + 1 < capacity_ ? i + 1 : kNone;
            slots_[i].prev_lru = slots_[i].next_lru = kNone;
        }
        free_ = capacity_ > 0 ? 0 : kNone;
        lru_head_ = lru_tail_ = kNone;
        size_ = 0;
    }

    std::uint32_t capacity_;
    std::uint32_t bucket_mask_;
    std::uint64_t seed_;
    std::unique_ptr<Slot[]> slots_;
    std::unique_ptr<std::uint32_t[]> buckets_;
    std::uint32_t free_ = kNone;
    std::uint32_t lru_head_ = kNone;
    std::uint32_t lru_tail_ = kNone;
    std::uint32_t size_ = 0;
    std::uint64_t evictions_ = 0;
    Hash hash_;
    KeyEqual eq_;
};

}  // namespace vg::engine
