// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/digit_prefix_set.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
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

TEST(DigitPrefixSet, ReinsertReplacesRuleId) {
    DigitPrefixSet s;
    s.insert("+881", 1);
    EXPECT_EQ(s.insert("+881", 9), DigitPrefixSet::InsertResult::replaced);
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.longest_match("+8816")->rule_id, 9u);
    EXPECT_EQ(s.find("+881"), 9u);
    EXPECT_FALSE(s.find("+88"));
    EXPECT_FALSE(s.find("+8816"));
}

TEST(DigitPrefixSet, InnerNodesAreNotMatchesUntilListed) {
    DigitPrefixSet s;
    s.insert("+88234", 1);
    EXPECT_FALSE(s.longest_match("+8823999"));
    s.insert("+88", 2);
    EXPECT_EQ(s.longest_match("+8823999")->prefix, "+88");
}

TEST(DigitPrefixSet, ClearEmptiesTheSet) {
    auto s = deny_list();
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_FALSE(s.longest_match("+881234"));
    s.insert("+1", 3);
    EXPECT_EQ(s.longest_match("+1201")->rule_id, 3u);
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
