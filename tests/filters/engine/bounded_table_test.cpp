// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/bounded_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "filters/net/ip_address.h"
#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using Table = BoundedTable<std::uint32_t, int>;

std::vector<std::uint32_t> keys_in_order(const Table& t) {
    std::vector<std::uint32_t> out;
    for (const auto& e : t) out.push_back(e.key);
    return out;
}

TEST(BoundedTable, InsertFindEraseWithinCapacity) {
    Table t(4);
    EXPECT_TRUE(t.empty());
    auto r = t.insert_or_assign(1, 10);
    EXPECT_TRUE(r.inserted);
    EXPECT_FALSE(r.evicted);
    t.insert_or_assign(2, 20);
    ASSERT_NE(t.find(1), nullptr);
    EXPECT_EQ(*t.find(1), 10);
    EXPECT_EQ(*t.find(2), 20);
    EXPECT_EQ(t.find(3), nullptr);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_TRUE(t.erase(1));
    EXPECT_FALSE(t.erase(1));
    EXPECT_EQ(t.find(1), nullptr);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.evictions(), 0u);
}

TEST(BoundedTable, InsertOfExistingKeyOverwritesWithoutGrowing) {
    Table t(2);
    t.insert_or_assign(7, 1);
    auto r = t.insert_or_assign(7, 2);
    EXPECT_FALSE(r.inserted);
    EXPECT_EQ(*t.find(7), 2);
    EXPECT_EQ(t.size(), 1u);
}

TEST(BoundedTable, FindOrInsertKeepsExistingValue) {
    Table t(2);
    t.insert_or_assign(7, 1);
    auto r = t.find_or_insert(7);
    EXPECT_FALSE(r.inserted);
    EXPECT_EQ(*r.value, 1);
    auto n = t.find_or_insert(8);
    EXPECT_TRUE(n.inserted);
    EXPECT_EQ(*n.value, 0);
}

TEST(BoundedTable, FillPastCapacityEvictsLeastRecentlyUsedAndCounts) {
    Table t(3);
    t.insert_or_assign(1, 1);
    t.insert_or_assign(2, 2);
    t.insert_or_assign(3, 3);
    EXPECT_TRUE(t.full());
    std::vector<std::uint32_t> evicted;
    auto r = t.insert_or_assign(4, 4, [&](const std::uint32_t& k, int&) { evicted.push_back(k); });
    EXPECT_TRUE(r.inserted);
    EXPECT_TRUE(r.evicted);
    EXPECT_EQ(evicted, std::vector<std::uint32_t>{1});
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.evictions(), 1u);
    EXPECT_EQ(t.find(1), nullptr);
    for (std::uint32_t k = 5; k < 105; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.evictions(), 101u);
}

TEST(BoundedTable, TouchProtectsAnEntryFromEviction) {
    Table t(3);
    t.insert_or_assign(1, 1);
    t.insert_or_assign(2, 2);
    t.insert_or_assign(3, 3);
    ASSERT_NE(t.touch(1), nullptr);  // 2 is now the oldest
    ASSERT_NE(t.oldest(), nullptr);
    EXPECT_EQ(*t.oldest(), 2u);
    t.insert_or_assign(4, 4);
    EXPECT_NE(t.find(1), nullptr);
    EXPECT_EQ(t.find(2), nullptr);
}

TEST(BoundedTable, FindDoesNotChangeRecency) {
    Table t(2);
    t.insert_or_assign(1, 1);
    t.insert_or_assign(2, 2);
    t.find(1);
    t.insert_or_assign(3, 3);
    EXPECT_EQ(t.find(1), nullptr);
    EXPECT_NE(t.find(2), nullptr);
}

TEST(BoundedTable, IterationRunsFromMostToLeastRecentlyUsed) {
    Table t(4);
    for (std::uint32_t k : {1u, 2u, 3u, 4u}) t.insert_or_assign(k, static_cast<int>(k));
    t.touch(2);
    t.find_or_insert(3);
    EXPECT_EQ(keys_in_order(t), (std::vector<std::uint32_t>{3, 2, 4, 1}));
    int sum = 0;
    for (auto [key, value] : t) {
        value *= 10;
        sum += static_cast<int>(key);
    }
    EXPECT_EQ(sum, 10);
    EXPECT_EQ(*t.find(4), 40);
}

TEST(BoundedTable, ForEachVisitsEveryEntryMostRecentFirst) {
    Table t(4);
    for (std::uint32_t k : {1u, 2u, 3u}) t.insert_or_assign(k, static_cast<int>(k));
    std::vector<std::uint32_t> seen;
    t.for_each([&](const std::uint32_t& k, int& v) {
        seen.push_back(k);
        v = -v;
    });
    EXPECT_EQ(seen, (std::vector<std::uint32_t>{3, 2, 1}));
    const Table& ct = t;
    int sum = 0;
    ct.for_each([&](const std::uint32_t&, const int& v) { sum += v; });
    EXPECT_EQ(sum, -6);
}

TEST(BoundedTable, EraseIfExpiresEntriesPastTheirDeadline) {
    BoundedTable<std::uint32_t, std::int64_t> t(8);
    for (std::uint32_t k = 0; k < 8; ++k) t.insert_or_assign(k, 100 + k * 10);  // deadlines 100..170
    const std::int64_t now = 135;
    const std::size_t n = t.erase_if([&](const std::uint32_t&, std::int64_t& deadline) { return deadline <= now; });
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(t.size(), 4u);
    for (std::uint32_t k = 0; k < 4; ++k) EXPECT_EQ(t.find(k), nullptr) << k;
    for (std::uint32_t k = 4; k < 8; ++k) EXPECT_NE(t.find(k), nullptr) << k;
    EXPECT_EQ(t.evictions(), 0u);
    // Freed slots are reused without eviction.
    for (std::uint32_t k = 100; k < 104; ++k) EXPECT_FALSE(t.insert_or_assign(k, 0).evicted);
    EXPECT_EQ(t.evictions(), 0u);
}

TEST(BoundedTable, EraseIfAllThenReuse) {
    Table t(5);
    for (std::uint32_t k = 0; k < 5; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.erase_if([](const std::uint32_t&, int&) { return true; }), 5u);
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.begin(), t.end());
    t.insert_or_assign(9, 9);
    EXPECT_EQ(keys_in_order(t), std::vector<std::uint32_t>{9});
}

TEST(BoundedTable, ZeroCapacityStoresNothing) {
    Table t(0);
    auto r = t.insert_or_assign(1, 1);
    EXPECT_EQ(r.value, nullptr);
    EXPECT_FALSE(r.inserted);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find(1), nullptr);
}

TEST(BoundedTable, ClearEmptiesAndResetsValues) {
    BoundedTable<std::uint32_t, std::string> t(3);
    t.insert_or_assign(1, "one");
    t.insert_or_assign(2, "two");
    t.clear();
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.find(1), nullptr);
    auto r = t.find_or_insert(1);
    EXPECT_TRUE(r.inserted);
    EXPECT_EQ(*r.value, "");
}

TEST(BoundedTable, OperationsAfterConstructionDoNotAllocate) {
    BoundedTable<net::IpAddress, std::uint64_t, net::IpAddressHash> t(256, 0x1234);
    std::uint8_t b[4] = {192, 0, 2, 0};
    test::AllocationScope scope;
    for (unsigned i = 0; i < 1000; ++i) {
        b[2] = static_cast<std::uint8_t>(i >> 8);
        b[3] = static_cast<std::uint8_t>(i);
        auto r = t.find_or_insert(net::IpAddress::v4(b));
        ++*r.value;
        t.touch(net::IpAddress::v4(b));
    }
    t.erase_if([](const net::IpAddress&, std::uint64_t& v) { return v > 0 && (v & 1); });
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(t.evictions(), 1000u - 256u);
}

TEST(BoundedTable, RandomOperationsAgreeWithUnorderedMapModel) {
    // Model: unordered_map + recency counter; the victim is the smallest stamp.
    std::mt19937 rng(99u);
    Table t(64, 42);
    std::unordered_map<std::uint32_t, std::pair<int, std::uint64_t>> model;
    std::uint64_t clock = 0;
    for (int step = 0; step < 20000; ++step) {
        const std::uint32_t key = rng() % 200;
        const unsigned op = rng() % 10;
        if (op < 5) {
            const int value = static_cast<int>(rng() % 1000);
            if (!model.count(key) && model.size() == 64) {
                auto victim = model.begin();
                for (auto it = model.begin(); it != model.end(); ++it)
                    if (it->second.second < victim->second.second) victim = it;
                std::uint32_t evicted_key = 0;
                t.insert_or_assign(key, value, [&](const std::uint32_t& k, int&) { evicted_key = k; });
                ASSERT_EQ(evicted_key, victim->first) << "step " << step;
                model.erase(victim);
            } else {
                t.insert_or_assign(key, value);
            }
            model[key] = {value, ++clock};
        } else if (op < 7) {
            int* v = t.touch(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1) << "step " << step;
            if (v) {
                EXPECT_EQ(*v, model[key].first);
                model[key].second = ++clock;
            }
        } else if (op < 9) {
            ASSERT_EQ(t.erase(key), model.erase(key) == 1) << "step " << step;
        } else {
            const int* v = t.find(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1);
        }
        ASSERT_EQ(t.size(), model.size());
    }
}

TEST(BoundedTable, EntrySizeIsThreeIndexesKeyAndValue) {
    using Dialogish = BoundedTable<std::uint64_t, std::uint64_t>;
    EXPECT_EQ(Dialogish::entry_bytes(), 3u * 4u + 4u /* padding */ + 8u + 8u);
    Dialogish t(1000);
    EXPECT_EQ(t.memory_bytes(), 1000 * Dialogish::entry_bytes() + 1024 * 4);
    EXPECT_EQ(t.capacity(), 1000u);
    // Printed for the record: the cost of one entry keyed by an address.
    std::printf("entry_bytes: <u64,u64> %zu, <IpAddress,u64> %zu\n", Dialogish::entry_bytes(),
                BoundedTable<net::IpAddress, std::uint64_t, net::IpAddressHash>::entry_bytes());
}

// Residency: slots are constructed when first used, released slots are reused
// before untouched ones, and every constructed slot is destroyed exactly once.

// Counts its live objects (every constructor +1, the destructor -1).
struct Counted {
    static inline int live = 0;
    static inline int constructed = 0;
    static void reset() noexcept { live = constructed = 0; }

    int v = 0;
    Counted() noexcept { ++live, ++constructed; }
    explicit Counted(int x) noexcept : v(x) { ++live, ++constructed; }
    Counted(const Counted& o) noexcept : v(o.v) { ++live, ++constructed; }
    Counted(Counted&& o) noexcept : v(o.v) { ++live, ++constructed; }
    Counted& operator=(const Counted&) noexcept = default;
    Counted& operator=(Counted&&) noexcept = default;
    ~Counted() { --live; }
};
using CountedTable = BoundedTable<std::uint32_t, Counted>;

std::vector<std::uint32_t> keys_in_order(const CountedTable& t) {
    std::vector<std::uint32_t> out;
    for (const auto& e : t) out.push_back(e.key);
    return out;
}

TEST(BoundedTable, ConstructionBuildsNoSlotsAndEachNewEntryBuildsOne) {
    Counted::reset();
    {
        CountedTable t(1000);
        EXPECT_EQ(Counted::constructed, 0);
        EXPECT_EQ(t.high_water(), 0u);
        for (std::uint32_t k = 0; k < 3; ++k) t.find_or_insert(k);
        t.find_or_insert(1);  // present: builds nothing
        EXPECT_EQ(Counted::constructed, 3);
        EXPECT_EQ(Counted::live, 3);
        EXPECT_EQ(t.high_water(), 3u);
    }
    EXPECT_EQ(Counted::live, 0);
}

TEST(BoundedTable, ReleasedSlotsAreReusedBeforeUntouchedOnes) {
    Table t(100);
    for (std::uint32_t k = 0; k < 10; ++k) t.insert_or_assign(k, 0);
    for (std::uint32_t k = 0; k < 5; ++k) t.erase(k);
    for (std::uint32_t k = 100; k < 105; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.high_water(), 10u);
    EXPECT_EQ(t.erase_if([](const std::uint32_t& k, int&) { return k % 2 == 0; }), 5u);
    for (std::uint32_t k = 200; k < 205; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.high_water(), 10u);
    EXPECT_EQ(t.size(), 10u);
    // Untouched slots are used only when no released one is left.
    for (std::uint32_t k = 1000; t.size() < 100; ++k) {
        t.insert_or_assign(k, 0);
        EXPECT_EQ(t.high_water(), t.size());
    }
    EXPECT_EQ(t.evictions(), 0u);
    for (std::uint32_t k = 5000; k < 5050; ++k) EXPECT_TRUE(t.insert_or_assign(k, 0).evicted);
    EXPECT_EQ(t.high_water(), 100u);
    EXPECT_EQ(t.evictions(), 50u);
}

TEST(BoundedTable, DestructionDestroysEveryConstructedValueOnce) {
    Counted::reset();
    {
        CountedTable t(8);
        for (std::uint32_t k = 0; k < 20; ++k) t.insert_or_assign(k, Counted(static_cast<int>(k)));
        t.erase(15);
        t.erase(16);
        t.erase_if([](const std::uint32_t&, Counted& c) { return c.v % 2 == 1; });
        // One value per constructed slot, whether it holds an entry or is free.
        EXPECT_EQ(Counted::live, static_cast<int>(t.high_water()));
        EXPECT_EQ(t.high_water(), 8u);
        EXPECT_EQ(t.size(), 3u);
    }
    EXPECT_EQ(Counted::live, 0);
}

TEST(BoundedTable, ClearDestroysSlotsAndTheTableFillsAgainWithSameSemantics) {
    Counted::reset();
    CountedTable t(4);
    for (std::uint32_t k = 0; k < 6; ++k) t.insert_or_assign(k, Counted(static_cast<int>(k)));
    EXPECT_EQ(t.evictions(), 2u);
    t.clear();
    EXPECT_EQ(Counted::live, 0);
    EXPECT_EQ(t.high_water(), 0u);
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.begin(), t.end());
    EXPECT_EQ(t.oldest(), nullptr);
    for (std::uint32_t k = 0; k < 6; ++k) EXPECT_EQ(t.find(k), nullptr) << k;
    EXPECT_EQ(t.evictions(), 2u);  // clearing is not evicting

    std::vector<std::uint32_t> evicted;
    for (std::uint32_t k = 10; k < 15; ++k)
        t.insert_or_assign(k, Counted(static_cast<int>(k)),
                           [&](const std::uint32_t& key, Counted&) { evicted.push_back(key); });
    EXPECT_EQ(evicted, std::vector<std::uint32_t>{10});
    EXPECT_EQ(keys_in_order(t), (std::vector<std::uint32_t>{14, 13, 12, 11}));
    EXPECT_EQ(t.evictions(), 3u);
    EXPECT_EQ(t.find(12)->v, 12);
    auto r = t.find_or_insert(3);  // a key from before clear() is new again
    EXPECT_TRUE(r.inserted);
    EXPECT_EQ(r.value->v, 0);
    EXPECT_EQ(Counted::live, 4);

    t.clear();
    t.clear();
    EXPECT_EQ(Counted::live, 0);
    EXPECT_TRUE(t.insert_or_assign(7, Counted(7)).inserted);
    EXPECT_EQ(t.high_water(), 1u);
}

TEST(BoundedTable, MemoryBytesIsTheBoundWhenFullWhateverIsUsed) {
    Table t(1000);
    const std::size_t bound = 1000 * Table::entry_bytes() + 1024 * 4;
    EXPECT_EQ(t.memory_bytes(), bound);
    for (std::uint32_t k = 0; k < 10; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.memory_bytes(), bound);
    for (std::uint32_t k = 0; k < 2000; ++k) t.insert_or_assign(k, 0);
    EXPECT_EQ(t.memory_bytes(), bound);
    t.clear();
    EXPECT_EQ(t.memory_bytes(), bound);
}

TEST(BoundedTable, MoveKeepsEntriesAndDestroysEachValueOnce) {
    Counted::reset();
    {
        CountedTable a(8);
        for (std::uint32_t k = 1; k <= 3; ++k) a.insert_or_assign(k, Counted(static_cast<int>(k)));
        CountedTable b(std::move(a));
        EXPECT_EQ(b.size(), 3u);
        EXPECT_EQ(keys_in_order(b), (std::vector<std::uint32_t>{3, 2, 1}));
        EXPECT_EQ(Counted::live, 3);

        CountedTable c(4);
        c.insert_or_assign(9, Counted(9));
        EXPECT_EQ(Counted::live, 4);
        c = std::move(b);  // c's own value goes
        EXPECT_EQ(Counted::live, 3);
        EXPECT_EQ(c.find(9), nullptr);
        ASSERT_NE(c.find(2), nullptr);
        EXPECT_EQ(c.find(2)->v, 2);
        EXPECT_EQ(c.capacity(), 8u);
        for (std::uint32_t k = 10; k < 20; ++k) c.insert_or_assign(k, Counted(static_cast<int>(k)));
        EXPECT_EQ(c.size(), 8u);
        EXPECT_EQ(c.evictions(), 5u);
    }
    EXPECT_EQ(Counted::live, 0);
}

TEST(BoundedTable, RandomOperationsWithOwningValuesAndClearAgreeWithModel) {
    // Heap-owning keys and values (longer than the small-string buffer), so the
    // sanitizers see a slot that is used after destruction, destroyed twice or
    // never destroyed. The LRU order is compared in full now and then.
    using StringTable = BoundedTable<std::string, std::string>;
    std::mt19937 rng(7u);
    StringTable t(32, 5);
    std::unordered_map<std::string, std::pair<std::string, std::uint64_t>> model;
    std::uint64_t clock = 0;
    auto key_of = [](unsigned n) { return "key-with-a-long-name-" + std::to_string(n); };
    for (int step = 0; step < 5000; ++step) {
        const std::string key = key_of(rng() % 80);
        const unsigned op = rng() % 100;
        if (op < 45) {
            const std::string value = "value-held-on-the-heap-" + std::to_string(rng() % 1000);
            if (!model.count(key) && model.size() == 32) {
                auto victim = model.begin();
                for (auto it = model.begin(); it != model.end(); ++it)
                    if (it->second.second < victim->second.second) victim = it;
                std::string evicted_key;
                t.insert_or_assign(key, value, [&](const std::string& k, std::string&) { evicted_key = k; });
                ASSERT_EQ(evicted_key, victim->first) << "step " << step;
                model.erase(victim);
            } else {
                t.insert_or_assign(key, value);
            }
            model[key] = {value, ++clock};
        } else if (op < 65) {
            std::string* v = t.touch(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1) << "step " << step;
            if (v) {
                EXPECT_EQ(*v, model[key].first);
                model[key].second = ++clock;
            }
        } else if (op < 85) {
            ASSERT_EQ(t.erase(key), model.erase(key) == 1) << "step " << step;
        } else if (op < 90) {
            const char digit = static_cast<char>('0' + rng() % 10);
            auto last_digit_is = [digit](const std::string& v) { return v.back() == digit; };
            const std::size_t n =
                t.erase_if([&](const std::string&, std::string& v) { return last_digit_is(v); });
            std::size_t m = 0;
            for (auto it = model.begin(); it != model.end();) {
                if (last_digit_is(it->second.first)) {
                    it = model.erase(it);
                    ++m;
                } else {
                    ++it;
                }
            }
            ASSERT_EQ(n, m) << "step " << step;
        } else if (op < 91) {
            t.clear();
            model.clear();
        } else {
            const std::string* v = t.find(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1) << "step " << step;
            if (v) {
                EXPECT_EQ(*v, model[key].first);
            }
        }
        ASSERT_EQ(t.size(), model.size()) << "step " << step;
        ASSERT_LE(t.high_water(), 32u);
        if (step % 50 == 0) {
            std::vector<std::pair<std::uint64_t, std::string>> expected;
            for (const auto& e : model) expected.emplace_back(e.second.second, e.first);
            std::sort(expected.rbegin(), expected.rend());
            std::vector<std::string> want, got;
            for (const auto& e : expected) want.push_back(e.second);
            for (const auto& e : t) got.push_back(e.key);
            ASSERT_EQ(got, want) << "step " << step;
        }
    }
}

// Several recency lists: a full table evicts from the lowest list that has an
// entry, an insert may be barred from evicting the upper lists at all, and
// each list keeps its own LRU order.

using Listed = BoundedTable<std::uint32_t, int, std::hash<std::uint32_t>, std::equal_to<std::uint32_t>, 3>;

std::vector<std::uint32_t> keys_in_order(const Listed& t) {
    std::vector<std::uint32_t> out;
    for (const auto& e : t) out.push_back(e.key);
    return out;
}

TEST(BoundedTableLists, NewEntriesGoToListZeroAndMoveOnRequest) {
    Listed t(4);
    t.insert_or_assign(1, 10);
    t.insert_or_assign(2, 20);
    EXPECT_EQ(t.list_of(1), 0);
    EXPECT_EQ(t.list_of(9), -1);
    EXPECT_TRUE(t.move_to_list(1, 2));
    EXPECT_FALSE(t.move_to_list(9, 1));
    EXPECT_FALSE(t.move_to_list(2, 3));
    EXPECT_EQ(t.list_of(1), 2);
    EXPECT_EQ(t.list_size(0), 1u);
    EXPECT_EQ(t.list_size(2), 1u);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(*t.find(1), 10);
    // Iteration: list by list, list 0 first.
    EXPECT_EQ(keys_in_order(t), (std::vector<std::uint32_t>{2, 1}));
}

TEST(BoundedTableLists, AFullTableEvictsFromTheLowestListFirst) {
    Listed t(4);
    for (std::uint32_t k = 1; k <= 4; ++k) t.insert_or_assign(k, 0);
    t.move_to_list(1, 2);   // the oldest entry is protected
    t.move_to_list(2, 1);
    std::vector<std::uint32_t> evicted;
    auto note = [&](const std::uint32_t& k, int&) { evicted.push_back(k); };
    t.find_or_insert(5, note);   // list 0 holds 3, 4: 3 is its oldest
    t.find_or_insert(6, note);   // list 0 holds 4, 5
    t.find_or_insert(7, note);   // 5
    EXPECT_EQ(evicted, (std::vector<std::uint32_t>{3, 4, 5}));
    EXPECT_EQ(*t.oldest(), 6u);
    // Touching an entry keeps it in its list.
    t.touch(6);
    EXPECT_EQ(t.list_of(6), 0);
    EXPECT_EQ(*t.oldest(), 7u);
    // With list 0 down to one entry, list 1 gives next.
    t.erase(6);
    t.erase(7);
    t.insert_or_assign(8, 0);
    t.insert_or_assign(9, 0);
    t.move_to_list(8, 1);
    t.move_to_list(9, 1);
    EXPECT_EQ(t.list_size(1), 3u);
    t.find_or_insert(10, note);
    EXPECT_EQ(evicted.back(), 2u);   // list 1's least recently used
    EXPECT_EQ(t.evictions(), 4u);
    EXPECT_TRUE(t.contains(1));
}

TEST(BoundedTableLists, AnInsertBarredFromUpperListsIsRefusedWhenOnlyTheyHaveEntries) {
    Listed t(2);
    t.insert_or_assign(1, 1);
    t.insert_or_assign(2, 2);
    t.move_to_list(1, 2);
    t.move_to_list(2, 2);
    bool called = false;
    auto r = t.find_or_insert(3, [&](const std::uint32_t&, int&) { called = true; }, 2);
    EXPECT_TRUE(r.refused);
    EXPECT_EQ(r.value, nullptr);
    EXPECT_FALSE(r.inserted);
    EXPECT_FALSE(r.evicted);
    EXPECT_FALSE(called);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.evictions(), 0u);
    EXPECT_FALSE(t.contains(3));
    // A key that is there is found whatever its list.
    auto found = t.find_or_insert(1, [&](const std::uint32_t&, int&) { called = true; }, 2);
    EXPECT_FALSE(found.refused);
    EXPECT_EQ(*found.value, 1);
    // Once one entry is back in an evictable list it gives way.
    t.move_to_list(2, 1);
    auto r2 = t.find_or_insert(3, [&](const std::uint32_t& k, int&) { EXPECT_EQ(k, 2u); }, 2);
    EXPECT_TRUE(r2.inserted);
    EXPECT_TRUE(r2.evicted);
    // Without a bar the top list gives way too.
    auto r3 = t.find_or_insert(4);
    EXPECT_TRUE(r3.evicted);
    EXPECT_FALSE(t.contains(3));   // list 0 first
    t.move_to_list(4, 2);
    auto r4 = t.find_or_insert(5);
    EXPECT_TRUE(r4.inserted);
    EXPECT_FALSE(t.contains(1));   // then list 2's least recently used
}

TEST(BoundedTableLists, EraseIfWalksEveryListOldestFirst) {
    Listed t(8);
    for (std::uint32_t k = 1; k <= 6; ++k) t.insert_or_assign(k, static_cast<int>(k));
    t.move_to_list(2, 1);
    t.move_to_list(4, 2);
    t.move_to_list(6, 2);
    std::vector<std::uint32_t> seen;
    const std::size_t n = t.erase_if([&](const std::uint32_t& k, int& v) {
        seen.push_back(k);
        return v % 2 == 0;
    });
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(seen, (std::vector<std::uint32_t>{1, 3, 5, 2, 4, 6}));
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.list_size(1), 0u);
    EXPECT_EQ(t.list_size(2), 0u);
    std::vector<std::uint32_t> each;
    t.for_each([&](const std::uint32_t& k, int&) { each.push_back(k); });
    EXPECT_EQ(each, (std::vector<std::uint32_t>{5, 3, 1}));
}

TEST(BoundedTableLists, ClearAndMoveKeepTheListsConsistent) {
    Listed t(4);
    for (std::uint32_t k = 1; k <= 4; ++k) t.insert_or_assign(k, 0);
    t.move_to_list(1, 2);
    Listed moved(std::move(t));
    EXPECT_EQ(moved.list_size(2), 1u);
    EXPECT_EQ(moved.list_size(0), 3u);
    EXPECT_EQ(keys_in_order(moved), (std::vector<std::uint32_t>{4, 3, 2, 1}));
    moved.clear();
    EXPECT_EQ(moved.list_size(2), 0u);
    EXPECT_TRUE(moved.empty());
    EXPECT_EQ(moved.begin(), moved.end());
    moved.insert_or_assign(9, 9);
    EXPECT_EQ(moved.list_of(9), 0);
}

TEST(BoundedTableLists, OneListCostsNoBytesSeveralCostTheListByte) {
    EXPECT_EQ((BoundedTable<std::uint64_t, std::uint64_t>::entry_bytes()), 32u);
    EXPECT_EQ((BoundedTable<std::uint32_t, std::uint64_t>::entry_bytes()), 24u);
    EXPECT_EQ((BoundedTable<std::uint32_t, std::uint64_t, std::hash<std::uint32_t>, std::equal_to<std::uint32_t>,
                            2>::entry_bytes()),
              32u);
}

TEST(BoundedTableLists, RandomOperationsAgreeWithAModelOfThreeLists) {
    std::mt19937 rng(11u);
    Listed t(16);
    struct M {
        int value;
        unsigned list;
        std::uint64_t used;
    };
    std::unordered_map<std::uint32_t, M> model;
    std::uint64_t clock = 0;
    for (int step = 0; step < 20000; ++step) {
        const std::uint32_t key = rng() % 40;
        const unsigned op = rng() % 100;
        if (op < 40) {
            const unsigned evictable = 1 + rng() % 3;
            std::int64_t want_victim = -1;
            bool want_refused = false;
            if (!model.count(key) && model.size() == 16) {
                for (unsigned list = 0; list < evictable && want_victim < 0; ++list) {
                    std::uint64_t best = UINT64_MAX;
                    for (const auto& e : model)
                        if (e.second.list == list && e.second.used < best) {
                            best = e.second.used;
                            want_victim = e.first;
                        }
                }
                want_refused = want_victim < 0;
            }
            std::int64_t victim = -1;
            auto r = t.find_or_insert(key, [&](const std::uint32_t& k, int&) { victim = k; }, evictable);
            ASSERT_EQ(victim, want_victim) << "step " << step;
            ASSERT_EQ(r.refused, want_refused) << "step " << step;
            if (want_victim >= 0) model.erase(static_cast<std::uint32_t>(want_victim));
            if (!want_refused) {
                if (r.inserted) {
                    *r.value = step;
                    model[key] = {step, 0, ++clock};
                } else {
                    ASSERT_EQ(*r.value, model[key].value);
                    model[key].used = ++clock;
                }
            }
        } else if (op < 60) {
            const unsigned list = rng() % 3;
            ASSERT_EQ(t.move_to_list(key, list), model.count(key) == 1) << "step " << step;
            if (model.count(key)) {
                model[key].list = list;
                model[key].used = ++clock;
            }
        } else if (op < 75) {
            int* v = t.touch(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1) << "step " << step;
            if (v) model[key].used = ++clock;
        } else if (op < 90) {
            ASSERT_EQ(t.erase(key), model.erase(key) == 1) << "step " << step;
        } else {
            const int* v = t.find(key);
            ASSERT_EQ(v != nullptr, model.count(key) == 1);
            if (v) {
                ASSERT_EQ(t.list_of(key), static_cast<int>(model[key].list));
            }
        }
        ASSERT_EQ(t.size(), model.size());
        for (unsigned list = 0; list < 3; ++list) {
            std::size_t n = 0;
            for (const auto& e : model) n += e.second.list == list;
            ASSERT_EQ(t.list_size(list), n) << "step " << step;
        }
        if (step % 100 == 0) {
            std::vector<std::tuple<unsigned, std::uint64_t, std::uint32_t>> expected;
            for (const auto& e : model) expected.emplace_back(e.second.list, ~e.second.used, e.first);
            std::sort(expected.begin(), expected.end());
            std::vector<std::uint32_t> want;
            for (const auto& e : expected) want.push_back(std::get<2>(e));
            ASSERT_EQ(keys_in_order(t), want) << "step " << step;
        }
    }
}

}  // namespace
}  // namespace vg::engine
