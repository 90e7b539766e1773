// SPDX-License-Identifier: GPL-2.0-or-later
// A fixed-capacity hash map with least-recently-used eviction, for the state a
// packet from the network can create: dialogs, media pinholes, per-source
// counters, handsets. Its memory is reserved once, at construction; when it is
// full a new key evicts the least recently used entry (counted), so a spoofed
// flood costs old state, never memory.
//
// Layout: `capacity` slots in one array, each holding the key, the value, the
// next slot in its hash chain and the LRU list links; a power-of-two bucket
// array of chain heads (at least `capacity` buckets, so chains average below
// one entry). Links are uint32 slot numbers plus one, so 0 means "none" and
// no pointers are stored. Free slots are chained through the hash link.
// Memory: capacity * entry_bytes() plus 4 bytes per bucket (memory_bytes()).
//
// Residency: both arrays start zero-filled without having been written
// (anonymous mappings when large, see ZeroedArray below), so the kernel
// provides their pages only when they are first written; an all-zero bucket
// array is a table of empty chains. A slot is constructed the first time the
// table needs it, in index order (a high-water mark); slots that held an
// entry and were released are reused first. So a table costs resident memory
// for the buckets it has used and for the most entries it has held at once
// (high_water()), not for its capacity: a daemon can reserve for a busy site
// and stay small on a quiet one. memory_bytes() is what it reaches when full.
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
// Lists (the Lists template argument, default 1): with more than one, every
// entry is in one of Lists recency lists (new entries in list 0; move_to_list()
// moves one) and a full table evicts from the lowest-numbered list that has an
// entry, least recently used first. So state that matters more (a confirmed
// call) is never pushed out while state that matters less (an unanswered
// INVITE) is there to go, and an insert may name the lists it is allowed to
// evict from at all (find_or_insert's `evictable`): a flood of cheap entries
// then churns among itself and cannot push out what it may not evict. Each
// operation stays O(1). With Lists == 1 the table behaves as a plain LRU map
// and its entries are no larger.
//
// Requirements: Key and Value are default-constructible and move-assignable,
// Key is copy-assignable. A slot's key and value are reset to Key{} / Value{}
// when the entry goes (so what a value owns is released then); clear() and the
// destructor destroy every slot that was ever constructed.
// Only the constructor allocates (and may throw std::bad_alloc, at start-up);
// every other member is noexcept as long as Key/Value construction and moves
// and Hash/KeyEqual do not throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <sys/mman.h>

// AddressSanitizer checks accesses to heap blocks, not to mappings of our own.
#if defined(__SANITIZE_ADDRESS__)
#define VG_BOUNDED_TABLE_HEAP_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VG_BOUNDED_TABLE_HEAP_ONLY 1
#endif
#endif
#ifndef VG_BOUNDED_TABLE_HEAP_ONLY
#define VG_BOUNDED_TABLE_HEAP_ONLY 0
#endif

namespace vg::engine {

namespace detail {

// An array of `n` T, zero-filled, with no object constructed in it, whose
// pages become resident only when written. From kMapBytes on it is a private
// anonymous mapping (mmap(2): contents initialised to zero, a page is
// allocated when first touched), given back with munmap. Smaller arrays come
// from calloc: glibc serves those from the heap and clears them with memset
// when they reuse memory (so they are resident at once), which bounds that
// cost to a few pages per array. Sanitizer builds use calloc for every size
// so that AddressSanitizer checks each access (its allocator maps large
// blocks itself and does not clear fresh mappings).
template <typename T>
class ZeroedArray {
public:
    static constexpr std::size_t kMapBytes = 16 * 1024;

    ZeroedArray() noexcept = default;
    // n = 0 gives a null array. Throws std::bad_alloc.
    explicit ZeroedArray(std::size_t n) {
        static_assert(alignof(T) <= alignof(std::max_align_t), "calloc does not align T");
        if (n == 0) return;
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
        bytes_ = n * sizeof(T);
        void* p = nullptr;
        if (!VG_BOUNDED_TABLE_HEAP_ONLY && bytes_ >= kMapBytes) {
            p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) throw std::bad_alloc();
            mapped_ = true;
        } else {
            p = std::calloc(n, sizeof(T));
            if (p == nullptr) throw std::bad_alloc();
        }
        p_ = static_cast<T*>(p);
    }
    ~ZeroedArray() { release(); }

    ZeroedArray(const ZeroedArray&) = delete;
    ZeroedArray& operator=(const ZeroedArray&) = delete;
    ZeroedArray(ZeroedArray&& o) noexcept
        : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), mapped_(o.mapped_) {}
    ZeroedArray& operator=(ZeroedArray&& o) noexcept {
        if (this != &o) {
            release();
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
            mapped_ = o.mapped_;
        }
        return *this;
    }

    T* get() const noexcept { return p_; }
    T& operator[](std::size_t i) const noexcept { return p_[i]; }

private:
    void release() noexcept {
        if (p_ == nullptr) return;
        if (mapped_)
            ::munmap(static_cast<void*>(p_), bytes_);
        else
            std::free(static_cast<void*>(p_));
        p_ = nullptr;
    }

    T* p_ = nullptr;
    std::size_t bytes_ = 0;
    bool mapped_ = false;
};

}  // namespace detail

template <typename Key, typename Value, typename Hash = std::hash<Key>,
          typename KeyEqual = std::equal_to<Key>, unsigned Lists = 1>
class BoundedTable {
    static_assert(Lists >= 1 && Lists <= 8, "between 1 and 8 recency lists");
    struct Slot;

public:
    static constexpr std::uint32_t kMaxCapacity = 0x40000000u;
    static constexpr unsigned kLists = Lists;

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
        Value* value;   // the entry for the key (null: capacity 0, or `refused`)
        bool inserted;  // false: the key was present (its value is left as is)
        bool evicted;   // true: the least recently used entry made room
        // true: the table was full and every entry was in a list the insert
        // may not evict from (find_or_insert's `evictable`); nothing changed.
        bool refused = false;
    };

    // capacity 0 is allowed (every insert fails); above kMaxCapacity is clamped.
    explicit BoundedTable(std::size_t capacity, std::uint64_t seed = 0, Hash hash = Hash(),
                          KeyEqual eq = KeyEqual())
        : capacity_(static_cast<std::uint32_t>(capacity < kMaxCapacity ? capacity : kMaxCapacity)),
          bucket_mask_(bucket_count_for(capacity_) - 1),
          seed_(seed),
          slots_(capacity_),
          buckets_(std::size_t{bucket_mask_} + 1),
          hash_(std::move(hash)),
          eq_(std::move(eq)) {}

    ~BoundedTable() { destroy_slots(); }

    BoundedTable(const BoundedTable&) = delete;
    BoundedTable& operator=(const BoundedTable&) = delete;
    // A moved-from table may only be destroyed or assigned to.
    BoundedTable(BoundedTable&& o) noexcept
        : capacity_(o.capacity_),
          bucket_mask_(o.bucket_mask_),
          seed_(o.seed_),
          slots_(std::move(o.slots_)),
          buckets_(std::move(o.buckets_)),
          high_water_(std::exchange(o.high_water_, 0)),
          free_(std::exchange(o.free_, kNil)),
          size_(std::exchange(o.size_, 0)),
          evictions_(o.evictions_),
          hash_(std::move(o.hash_)),
          eq_(std::move(o.eq_)) {
        take_lists(o);
    }
    BoundedTable& operator=(BoundedTable&& o) noexcept {
        if (this == &o) return *this;
        destroy_slots();
        capacity_ = o.capacity_;
        bucket_mask_ = o.bucket_mask_;
        seed_ = o.seed_;
        slots_ = std::move(o.slots_);
        buckets_ = std::move(o.buckets_);
        high_water_ = std::exchange(o.high_water_, 0);
        free_ = std::exchange(o.free_, kNil);
        take_lists(o);
        size_ = std::exchange(o.size_, 0);
        evictions_ = o.evictions_;
        hash_ = std::move(o.hash_);
        eq_ = std::move(o.eq_);
        return *this;
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }
    bool full() const noexcept { return size_ == capacity_; }
    // Entries pushed out by inserts into a full table since construction.
    std::uint64_t evictions() const noexcept { return evictions_; }
    // Slots constructed since construction or the last clear(): the most
    // entries held at once. Only these slots (and the buckets written) have
    // ever been touched.
    std::size_t high_water() const noexcept { return high_water_; }

    // Bytes per entry (key, value, links) and the table's footprint when full
    // (address space reserved at construction; see "Residency" above).
    static constexpr std::size_t entry_bytes() noexcept { return sizeof(Slot); }
    std::size_t memory_bytes() const noexcept {
        return std::size_t{capacity_} * sizeof(Slot) +
               (std::size_t{bucket_mask_} + 1) * sizeof(std::uint32_t);
    }

    // Lookup without changing recency.
    Value* find(const Key& key) noexcept {
        const std::uint32_t l = locate(key, bucket_of(key));
        return l == kNil ? nullptr : &at(l).value;
    }
    const Value* find(const Key& key) const noexcept {
        const std::uint32_t l = locate(key, bucket_of(key));
        return l == kNil ? nullptr : &at(l).value;
    }
    bool contains(const Key& key) const noexcept { return find(key) != nullptr; }

    // Lookup that marks the entry most recently used.
    Value* touch(const Key& key) noexcept {
        const std::uint32_t l = locate(key, bucket_of(key));
        if (l == kNil) return nullptr;
        move_to_front(l);
        return &at(l).value;
    }

    // Finds `key` (making it most recently used) or inserts it with a
    // default-constructed value, evicting the least recently used entry when
    // full. on_evict(const Key&, Value&) is called for the evicted entry before
    // its slot is reused, so the caller can close what it held (a pinhole's
    // conntrack entries, say). on_evict must not insert into or erase from
    // this table (nor move entries between lists).
    //
    // With several lists: a new entry goes to list 0, and the victim is the
    // least recently used entry of the lowest-numbered list below `evictable`
    // that has one; when every entry is in list `evictable` or above, nothing
    // is evicted or inserted and the result says `refused`. An entry found is
    // made the most recently used of its own list.
    template <typename OnEvict>
    InsertResult find_or_insert(const Key& key, OnEvict&& on_evict, unsigned evictable = Lists) noexcept {
        const std::uint32_t b = bucket_of(key);
        std::uint32_t l = locate(key, b);
        if (l != kNil) {
            move_to_front(l);
            return {&at(l).value, false, false};
        }
        if (capacity_ == 0) return {nullptr, false, false};
        bool evicted = false;
        if (free_ == kNil && high_water_ == capacity_) {
            const std::uint32_t victim = eviction_candidate(evictable);
            if (victim == kNil) return {nullptr, false, false, true};
            on_evict(static_cast<const Key&>(at(victim).key), at(victim).value);
            remove(victim);
            ++evictions_;
            evicted = true;
        }
        if (free_ != kNil) {
            // A slot that held an entry before: reused first, so untouched
            // capacity stays untouched.
            l = free_;
            free_ = at(l).next;
        } else {
            ::new (static_cast<void*>(&slots_[high_water_])) Slot();
            l = ++high_water_;
        }
        Slot& s = at(l);
        s.key = key;
        s.next = buckets_[b];
        buckets_[b] = l;
        set_list_of(l, 0);
        link_front(l);
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
        const std::uint32_t l = locate(key, bucket_of(key));
        if (l == kNil) return false;
        remove(l);
        return true;
    }

    // Moves the entry of `key` to list `list`, as its most recently used
    // entry (also when it is there already). False when the key is absent or
    // there is no such list.
    bool move_to_list(const Key& key, unsigned list) noexcept {
        if (list >= Lists) return false;
        const std::uint32_t l = locate(key, bucket_of(key));
        if (l == kNil) return false;
        unlink_lru(l);
        set_list_of(l, list);
        link_front(l);
        return true;
    }
    // The list the entry of `key` is in, or -1 when it is absent.
    int list_of(const Key& key) const noexcept {
        const std::uint32_t l = locate(key, bucket_of(key));
        return l == kNil ? -1 : static_cast<int>(list_index(l));
    }
    // Entries in list `list`.
    std::size_t list_size(unsigned list) const noexcept { return list < Lists ? list_size_[list] : 0; }

    // Removes every entry for which pred(const Key&, Value&) is true, oldest
    // first (list by list, list 0 first), and returns how many went. For
    // timeouts:
    //   table.erase_if([now](const auto&, auto& d) { return d.deadline <= now; });
    // Erasing is not an eviction and is not counted as one. pred may move the
    // entry it is given to another list (an entry moved to a list not walked
    // yet may then be visited again).
    template <typename Pred>
    std::size_t erase_if(Pred&& pred) noexcept {
        std::size_t n = 0;
        for (unsigned list = 0; list < Lists; ++list) {
            std::uint32_t l = lru_tail_[list];
            while (l != kNil) {
                const std::uint32_t newer = at(l).prev_lru;
                if (pred(static_cast<const Key&>(at(l).key), at(l).value)) {
                    remove(l);
                    ++n;
                }
                l = newer;
            }
        }
        return n;
    }

    // Calls f(const Key&, Value&) (or f(const Key&, const Value&) on a const
    // table) for every entry, from the most to the least recently used (list
    // by list, list 0 first). f must not insert or erase; use erase_if to
    // remove while walking.
    template <typename F>
    void for_each(F&& f) {
        for (unsigned list = 0; list < Lists; ++list)
            for (std::uint32_t l = lru_head_[list]; l != kNil; l = at(l).next_lru)
                f(static_cast<const Key&>(at(l).key), at(l).value);
    }
    template <typename F>
    void for_each(F&& f) const {
        for (unsigned list = 0; list < Lists; ++list)
            for (std::uint32_t l = lru_head_[list]; l != kNil; l = at(l).next_lru)
                f(static_cast<const Key&>(at(l).key), static_cast<const Value&>(at(l).value));
    }

    // The key of the entry the next insert into a full table evicts (the
    // least recently used of the lowest non-empty list), or nullptr.
    const Key* oldest() const noexcept {
        const std::uint32_t l = eviction_candidate(Lists);
        return l == kNil ? nullptr : &at(l).key;
    }

    // Removes every entry (not counted as evictions) and destroys every slot
    // constructed so far; the table then fills from its first slot again.
    // Only the buckets of the entries present are rewritten, so clearing a
    // table that never filled does not touch the rest of its memory.
    void clear() noexcept {
        for (unsigned list = 0; list < Lists; ++list)
            for (std::uint32_t l = lru_head_[list]; l != kNil; l = at(l).next_lru)
                buckets_[bucket_of(at(l).key)] = kNil;
        destroy_slots();
        free_ = kNil;
        for (unsigned list = 0; list < Lists; ++list) {
            lru_head_[list] = lru_tail_[list] = kNil;
            list_size_[list] = 0;
        }
        size_ = 0;
    }

    // Iteration from the most to the least recently used entry (list by list,
    // list 0 first). Iterating does not change recency. Do not insert or erase while iterating (erase_if does
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
        reference operator*() const noexcept { return {t_->at(l_).key, t_->at(l_).value}; }
        pointer operator->() const noexcept { return {**this}; }
        basic_iterator& operator++() noexcept {
            const unsigned list = t_->list_index(l_);
            l_ = t_->at(l_).next_lru;
            if (l_ == kNil) l_ = t_->first_from(list + 1);
            return *this;
        }
        basic_iterator operator++(int) noexcept {
            basic_iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const basic_iterator& a, const basic_iterator& b) noexcept { return a.l_ == b.l_; }
        friend bool operator!=(const basic_iterator& a, const basic_iterator& b) noexcept { return a.l_ != b.l_; }

    private:
        friend class BoundedTable;
        basic_iterator(Table* t, std::uint32_t l) noexcept : t_(t), l_(l) {}
        Table* t_ = nullptr;
        std::uint32_t l_ = kNil;
    };
    using iterator = basic_iterator<false>;
    using const_iterator = basic_iterator<true>;

    iterator begin() noexcept { return {this, first_from(0)}; }
    iterator end() noexcept { return {this, kNil}; }
    const_iterator begin() const noexcept { return {this, first_from(0)}; }
    const_iterator end() const noexcept { return {this, kNil}; }

private:
    // A link: slot index + 1; kNil (0) is "none", so zeroed memory is a
    // table of empty chains.
    static constexpr std::uint32_t kNil = 0;

    // With several lists a slot knows its own (a byte, before the links);
    // with one it has no such field.
    struct NoListField {};
    struct ListField {
        std::uint8_t list = 0;
    };

    // The three links first: a 4-byte key then packs next to them (a
    // <uint32, TokenBucketState> slot is 32 bytes, not 40).
    struct Slot : std::conditional_t<(Lists > 1), ListField, NoListField> {
        std::uint32_t next = kNil;      // hash chain, or free list
        std::uint32_t prev_lru = kNil;  // towards the most recently used
        std::uint32_t next_lru = kNil;  // towards the least recently used
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

    Slot& at(std::uint32_t link) noexcept { return slots_[link - 1]; }
    const Slot& at(std::uint32_t link) const noexcept { return slots_[link - 1]; }

    std::uint32_t bucket_of(const Key& key) const noexcept {
        const std::uint64_t h = mix(static_cast<std::uint64_t>(hash_(key)) ^ seed_);
        return static_cast<std::uint32_t>(h) & bucket_mask_;
    }

    std::uint32_t locate(const Key& key, std::uint32_t bucket) const noexcept {
        for (std::uint32_t l = buckets_[bucket]; l != kNil; l = at(l).next)
            if (eq_(at(l).key, key)) return l;
        return kNil;
    }

    unsigned list_index(std::uint32_t l) const noexcept {
        if constexpr (Lists > 1) return at(l).list;
        else return 0;
    }
    void set_list_of(std::uint32_t l, unsigned list) noexcept {
        if constexpr (Lists > 1) at(l).list = static_cast<std::uint8_t>(list);
        else (void)l, (void)list;
    }
    // The most recently used entry of the first non-empty list from `list` on.
    std::uint32_t first_from(unsigned list) const noexcept {
        for (; list < Lists; ++list)
            if (lru_head_[list] != kNil) return lru_head_[list];
        return kNil;
    }
    // The least recently used entry of the lowest non-empty list below `evictable`.
    std::uint32_t eviction_candidate(unsigned evictable) const noexcept {
        for (unsigned list = 0; list < Lists && list < evictable; ++list)
            if (lru_tail_[list] != kNil) return lru_tail_[list];
        return kNil;
    }

    // Links the slot at the front of its list (list_index).
    void link_front(std::uint32_t l) noexcept {
        const unsigned list = list_index(l);
        at(l).prev_lru = kNil;
        at(l).next_lru = lru_head_[list];
        if (lru_head_[list] != kNil) at(lru_head_[list]).prev_lru = l;
        lru_head_[list] = l;
        if (lru_tail_[list] == kNil) lru_tail_[list] = l;
        ++list_size_[list];
    }

    void unlink_lru(std::uint32_t l) noexcept {
        const unsigned list = list_index(l);
        Slot& s = at(l);
        if (s.prev_lru != kNil) at(s.prev_lru).next_lru = s.next_lru; else lru_head_[list] = s.next_lru;
        if (s.next_lru != kNil) at(s.next_lru).prev_lru = s.prev_lru; else lru_tail_[list] = s.prev_lru;
        s.prev_lru = s.next_lru = kNil;
        --list_size_[list];
    }

    void move_to_front(std::uint32_t l) noexcept {
        if (lru_head_[list_index(l)] == l) return;
        unlink_lru(l);
        link_front(l);
    }

    void take_lists(BoundedTable& o) noexcept {
        for (unsigned list = 0; list < Lists; ++list) {
            lru_head_[list] = std::exchange(o.lru_head_[list], kNil);
            lru_tail_[list] = std::exchange(o.lru_tail_[list], kNil);
            list_size_[list] = std::exchange(o.list_size_[list], 0);
        }
    }

    // Unchains the slot from its bucket and the LRU list, resets it, frees it.
    void remove(std::uint32_t l) noexcept {
        Slot& s = at(l);
        std::uint32_t* link = &buckets_[bucket_of(s.key)];
        while (*link != l) link = &at(*link).next;
        *link = s.next;
        unlink_lru(l);
        s.key = Key{};
        s.value = Value{};
        s.next = free_;
        free_ = l;
        --size_;
    }

    // Ends the lifetime of every slot constructed so far (the caller fixes
    // the links).
    void destroy_slots() noexcept {
        if constexpr (!std::is_trivially_destructible_v<Slot>)
            for (std::uint32_t i = 0; i < high_water_; ++i) slots_[i].~Slot();
        high_water_ = 0;
    }

    std::uint32_t capacity_;
    std::uint32_t bucket_mask_;
    std::uint64_t seed_;
    detail::ZeroedArray<Slot> slots_;              // [0, high_water_) constructed
    detail::ZeroedArray<std::uint32_t> buckets_;   // chain heads (links)
    std::uint32_t high_water_ = 0;
    std::uint32_t free_ = kNil;
    std::uint32_t lru_head_[Lists] = {};   // per list, the most recently used (kNil: empty)
    std::uint32_t lru_tail_[Lists] = {};   // per list, the least recently used
    std::uint32_t list_size_[Lists] = {};
    std::uint32_t size_ = 0;
    std::uint64_t evictions_ = 0;
    Hash hash_;
    KeyEqual eq_;
};

}  // namespace vg::engine
