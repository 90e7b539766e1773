// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/firmware_version.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
#include <string>

#include <ostream>

#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using test::case_name;

struct ExtractRow {
    const char* user_agent;
    const char* pattern;
    const char* expected;  // "" when none
};
std::ostream& operator<<(std::ostream& os, const ExtractRow& r) {
    return os << r.user_agent << " after " << r.pattern << " gives " << (*r.expected ? r.expected : "none");
}

class FindVersion : public ::testing::TestWithParam<ExtractRow> {};

TEST_P(FindVersion, ExtractsFirstVersionAfterModel) {
    EXPECT_EQ(find_version(GetParam().user_agent, GetParam().pattern), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    UserAgents, FindVersion,
    ::testing::Values(ExtractRow{"Yealink SIP-T46S 66.86.0.15", "Yealink SIP-T46S", "66.86.0.15"},
                      ExtractRow{"Yealink SIP-T46S 66.86.0.15", "yealink", "66.86.0.15"},
                      ExtractRow{"PolycomVVX-VVX_410-UA/5.9.5.0614", "PolycomVVX-VVX_410", "5.9.5.0614"},
                      ExtractRow{"PolycomVVX-VVX_410-UA/5.9.5.0614", "PolycomVVX", "5.9.5.0614"},
                      ExtractRow{"Grandstream GXP2170 1.0.11.23", "GXP2170", "1.0.11.23"},
                      ExtractRow{"snom760/10.1.54.13", "snom760", "10.1.54.13"},
                      ExtractRow{"snom760/10.1.54.13", "snom", "10.1.54.13"},
                      ExtractRow{"Cisco/SPA504G-7.6.2c", "SPA504G", "7.6.2c"},
                      ExtractRow{"Cisco/SPA504G-7.6.2c", "Cisco", "7.6.2c"},
                      ExtractRow{"Linksys/SPA942-6.1.5(a)", "SPA942", "6.1.5"},
                      ExtractRow{"Grandstream HT-502 V1.1B 1.0.1.45", "HT-502", "1.0.1.45"},
                      ExtractRow{"Aastra 6757i/3.2.2.1136", "6757i", "3.2.2.1136"},
                      ExtractRow{"Yealink SIP-T46S", "Yealink", ""},
                      ExtractRow{"Yealink SIP-T46S 66.86.0.15", "Polycom", ""},
                      ExtractRow{"FooPhone build 42 rev 7", "FooPhone", ""},
                      ExtractRow{"Phone 1. 2.3", "Phone", "2.3"}),
    [](const auto& pi) { return case_name(pi); });

struct CompareRow {
    const char* a;
    const char* b;
    int expected;  // sign of compare(a, b)
};
std::ostream& operator<<(std::ostream& os, const CompareRow& r) {
    return os << r.a << (r.expected < 0 ? " older than " : r.expected > 0 ? " newer than " : " same as ") << r.b;
}

class CompareVersions : public ::testing::TestWithParam<CompareRow> {};

TEST_P(CompareVersions, OrdersComponentsNumericallyThenSuffix) {
    const auto a = FirmwareVersion::parse(GetParam().a);
    const auto b = FirmwareVersion::parse(GetParam().b);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(compare(*a, *b), GetParam().expected);
    EXPECT_EQ(compare(*b, *a), -GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CompareVersions,
    ::testing::Values(CompareRow{"66.86.0.15", "66.85.0.5", 1}, CompareRow{"66.86.0.15", "66.86.0.15", 0},
                      CompareRow{"66.86.0.9", "66.86.0.15", -1}, CompareRow{"10.1.54.13", "9.9.9.9", 1},
                      CompareRow{"5.9.5.0614", "5.9.5.614", 0}, CompareRow{"1.2", "1.2.0", 0},
                      CompareRow{"1.2", "1.2.0.1", -1}, CompareRow{"7.6.2c", "7.6.2b", 1},
                      CompareRow{"7.6.2b", "7.6.2", 1}, CompareRow{"7.6.2", "7.6.3", -1},
                      CompareRow{"7.6.2z", "7.6.3", -1}, CompareRow{"7.6.2C", "7.6.2c", 0},
                      CompareRow{"7.6.2z", "7.6.2aa", -1}, CompareRow{"1.0.11.23", "1.0.2.99", 1},
                      CompareRow{"4294967296.1", "4294967295.1", 0}),
    [](const auto& pi) { return case_name(pi); });

TEST(FirmwareVersion, ParseRejectsNonVersions) {
    for (const char* s : {"", ".1", "1.", "1..2", "a1.2", "1.2-3", "1.2 ", "v1.2"})
        EXPECT_FALSE(FirmwareVersion::parse(s)) << s;
    EXPECT_TRUE(FirmwareVersion::parse("10"));
}

TEST(FirmwareVersion, ParseExposesComponentsAndLowerCaseSuffix) {
    const auto v = FirmwareVersion::parse("7.6.2C");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->components(), 3u);
    EXPECT_EQ(v->component(0), 7u);
    EXPECT_EQ(v->component(2), 2u);
    EXPECT_EQ(v->component(5), 0u);
    EXPECT_EQ(v->suffix(), "c");
}

TEST(FirmwareVersion, ComponentsBeyondEightAreIgnored) {
    EXPECT_EQ(*FirmwareVersion::parse("1.2.3.4.5.6.7.8.9"), *FirmwareVersion::parse("1.2.3.4.5.6.7.8.1"));
}

TEST(FirmwareVersion, ExtractAndCompareDoNotAllocate) {
    test::AllocationScope scope;
    const auto v = FirmwareVersion::parse(find_version("Yealink SIP-T46S 66.86.0.15", "SIP-T46S"));
    const auto min = FirmwareVersion::parse("66.86.0.5");
    EXPECT_EQ(scope.allocations(), 0u);
    ASSERT_TRUE(v && min);
    EXPECT_GT(*v, *min);
}

}  // namespace
}  // namespace vg::engine
