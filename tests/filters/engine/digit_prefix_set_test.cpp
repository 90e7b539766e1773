// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/digit_prefix_set.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <optional>
#include <sstream>
#include <vector>
#include <string>

#include <ostream>

#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using test::case_name;

DigitPrefixSet deny_list() {
    DigitPrefixSet s;
    EXPECT_EQ(s.insert("+881", 1), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("+8823", 2), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("+449", 3), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("+44", 4), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("+4470", 5), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("*", 6), DigitPrefixSet::InsertResult::inserted);
    EXPECT_EQ(s.insert("118", 7), DigitPrefixSet::InsertResult::inserted);
    s.build();
    return s;
}

struct MatchRow {
    const char* number;
    const char* prefix;  // nullptr: no match
    std::uint32_t rule;
};

std::ostream& operator<<(std::ostream& os, const MatchRow& r) {
    return os << '"' << r.number << "\" matches " << (r.prefix ? r.prefix : "nothing");
}

class DigitPrefixMatch : public ::testing::TestWithParam<MatchRow> {};

TEST_P(DigitPrefixMatch, FindsLongestListedPrefix) {
    const auto s = deny_list();
    const auto m = s.longest_match(GetParam().number);
    if (GetParam().prefix == nullptr) {
        EXPECT_FALSE(m.has_value()) << "matched " << m->prefix;
        return;
    }
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->prefix, GetParam().prefix);
    EXPECT_EQ(m->rule_id, GetParam().rule);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DigitPrefixMatch,
    ::testing::Values(MatchRow{"+881234567", "+881", 1}, MatchRow{"+88234567", "+8823", 2},
                      MatchRow{"+88244567", nullptr, 0}, MatchRow{"+449098790000", "+449", 3},
                      MatchRow{"+442079460000", "+44", 4}, MatchRow{"+447012345678", "+4470", 5},
                      MatchRow{"+4470", "+4470", 5}, MatchRow{"+4", nullptr, 0}, MatchRow{"+12015550123", nullptr, 0},
                      MatchRow{"*72", "*", 6}, MatchRow{"118118", "118", 7}, MatchRow{"11", nullptr, 0},
                      MatchRow{"", nullptr, 0}, MatchRow{"4420", nullptr, 0}),
    [](const auto& pi) { return case_name(pi); });

TEST(DigitPrefixSet, RejectsInvalidPrefixes) {
    DigitPrefixSet s;
    EXPECT_EQ(s.insert("", 1), DigitPrefixSet::InsertResult::invalid);
    EXPECT_EQ(s.insert("44+", 1), DigitPrefixSet::InsertResult::invalid);
    EXPECT_EQ(s.insert("+44 20", 1), DigitPrefixSet::InsertResult::invalid);
    EXPECT_EQ(s.insert("+4a", 1), DigitPrefixSet::InsertResult::invalid);
    EXPECT_EQ(s.insert(std::string(33, '1'), 1), DigitPrefixSet::InsertResult::invalid);
    EXPECT_TRUE(s.empty());
}

TEST(DigitPrefixSet, RepeatedPrefixKeepsTheFirstRuleId) {
    DigitPrefixSet s;
    s.insert("+881", 1);
    EXPECT_EQ(s.insert("+881", 9), DigitPrefixSet::InsertResult::inserted);
    s.build();
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.longest_match("+8816")->rule_id, 1u);
    EXPECT_EQ(s.find("+881"), 1u);
    EXPECT_FALSE(s.find("+88"));
    EXPECT_FALSE(s.find("+8816"));
    // Inserted after a build: the built entry stays first.
    s.insert("+881", 5);
    s.insert("+88", 6);
    s.build();
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(s.find("+881"), 1u);
    EXPECT_EQ(s.find("+88"), 6u);
}

TEST(DigitPrefixSet, LookupsSeeOnlyWhatWasBuilt) {
    DigitPrefixSet s;
    s.insert("+881", 1);
    EXPECT_FALSE(s.longest_match("+8816"));
    EXPECT_TRUE(s.empty());
    s.build();
    EXPECT_EQ(s.longest_match("+8816")->rule_id, 1u);
}

TEST(DigitPrefixSet, InnerPrefixesAreNotMatchesUntilListed) {
    DigitPrefixSet s;
    s.insert("+88234", 1);
    s.build();
    EXPECT_FALSE(s.longest_match("+8823999"));
    s.insert("+88", 2);
    s.build();
    EXPECT_EQ(s.longest_match("+8823999")->prefix, "+88");
}

TEST(DigitPrefixSet, ClearEmptiesTheSet) {
    auto s = deny_list();
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_FALSE(s.longest_match("+881234"));
    s.insert("+1", 3);
    s.build();
    EXPECT_EQ(s.longest_match("+1201")->rule_id, 3u);
}

// Longest match on the parent chain: the greatest entry <= the number is
// often not a prefix of it (+4412 for +4419...), nor is its parent.
TEST(DigitPrefixSet, WalksUpToTheLongestSharedPrefix) {
    DigitPrefixSet s;
    s.insert("+44", 1);
    s.insert("+441", 2);
    s.insert("+4412", 3);
    s.insert("+44129", 4);
    s.insert("+4413", 5);
    s.insert("+45", 6);
    s.build();
    EXPECT_EQ(s.longest_match("+4419")->rule_id, 2u);
    EXPECT_EQ(s.longest_match("+441299")->rule_id, 4u);
    EXPECT_EQ(s.longest_match("+44128")->rule_id, 3u);
    EXPECT_EQ(s.longest_match("+4420")->rule_id, 1u);
    EXPECT_EQ(s.longest_match("+4414")->rule_id, 2u);
    EXPECT_FALSE(s.longest_match("+46"));
    EXPECT_FALSE(s.longest_match("+4"));
    EXPECT_EQ(s.longest_match("+44")->prefix, "+44");
    // Characters no prefix holds end the comparison.
    EXPECT_EQ(s.longest_match("+441;x")->rule_id, 2u);
    EXPECT_EQ(s.longest_match("+44+1")->rule_id, 1u);
}

// Prefixes of the longest length, and numbers longer than that.
TEST(DigitPrefixSet, LongPrefixesAndNumbers) {
    DigitPrefixSet s;
    const std::string p32 = "+" + std::string(31, '7');
    const std::string p20 = "+" + std::string(19, '7');
    s.insert(p32, 1);
    s.insert(p20, 2);
    s.insert("#*", 3);
    s.build();
    EXPECT_EQ(s.longest_match(p32 + "123")->rule_id, 1u);
    EXPECT_EQ(s.longest_match(p32 + "123")->prefix, p32);
    EXPECT_EQ(s.longest_match(p20 + "8")->rule_id, 2u);
    EXPECT_EQ(s.longest_match("+" + std::string(30, '7') + "8")->rule_id, 2u);
    EXPECT_EQ(s.longest_match("#*1")->rule_id, 3u);
    EXPECT_EQ(s.find(p32), 1u);
    EXPECT_FALSE(s.find(p32 + "7"));
}

// The flat array against a plain scan of every prefix, on a random list.
TEST(DigitPrefixSet, AgreesWithAScanOnARandomList) {
    std::uint32_t x = 12345;
    auto next = [&x] { return x = x * 1103515245u + 12345u, (x >> 16) & 0x7fff; };
    std::vector<std::string> list;
    DigitPrefixSet s;
    for (std::uint32_t i = 0; i < 2000; ++i) {
        std::string p = next() % 4 ? "+" : "";
        const unsigned len = 1 + next() % 6;
        for (unsigned j = 0; j < len; ++j) p += static_cast<char>('0' + next() % 4);
        list.push_back(p);
        s.insert(p, i);
    }
    s.build();
    for (int n = 0; n < 5000; ++n) {
        std::string num = next() % 4 ? "+" : "";
        const unsigned len = next() % 9;
        for (unsigned j = 0; j < len; ++j) num += static_cast<char>('0' + next() % 4);
        std::optional<std::uint32_t> want;
        std::size_t want_len = 0;
        for (std::uint32_t i = 0; i < list.size(); ++i)
            if (num.compare(0, list[i].size(), list[i]) == 0 && list[i].size() <= num.size() &&
                (!want || list[i].size() > want_len))
                want = i, want_len = list[i].size();
        // The first of a repeated prefix.
        if (want)
            for (std::uint32_t i = 0; i < list.size(); ++i)
                if (list[i] == list[*want]) {
                    want = i;
                    break;
                }
        const auto got = s.longest_match(num);
        ASSERT_EQ(got.has_value(), want.has_value()) << num;
        if (want) {
            EXPECT_EQ(got->rule_id, *want) << num;
            EXPECT_EQ(got->prefix, list[*want]) << num;
        }
    }
}

TEST(DigitPrefixSet, LookupDoesNotAllocate) {
    const auto s = deny_list();
    test::AllocationScope scope;
    int n = 0;
    for (const char* num : {"+881234567", "+442079460000", "+12015550123", "*72"}) n += s.longest_match(num).has_value();
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace vg::engine
