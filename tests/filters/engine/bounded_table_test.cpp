// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/bounded_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <unordered_map>
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

}  // namespace
}  // namespace vg::engine
