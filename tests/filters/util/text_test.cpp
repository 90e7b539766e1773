// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/util/text.h"

#include <gtest/gtest.h>

namespace vg::text {
namespace {

static_assert(iequals("Via", "VIA"));
static_assert(ascii_lower('Q') == 'q');

TEST(TextTest, CaseInsensitiveCompareAndPrefix) {
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_FALSE(iequals("abc", "abcd"));
    EXPECT_TRUE(istarts_with("INVITE sip:", "invite"));
    EXPECT_FALSE(istarts_with("INV", "invite"));
    EXPECT_TRUE(starts_with("sip:alice", "sip:"));
    EXPECT_FALSE(starts_with("SIP:alice", "sip:"));
}

TEST(TextTest, ContainsIgnoresCase) {
    EXPECT_TRUE(icontains("Yealink SIP-T46S 66.86.0.15", "sip-t46"));
    EXPECT_TRUE(icontains("abc", ""));
    EXPECT_FALSE(icontains("ab", "abc"));
    EXPECT_FALSE(icontains("Grandstream", "polycom"));
}

TEST(TextTest, TrimWspKeepsCrLfButTrimLwsRemovesThem) {
    EXPECT_EQ(trim_wsp(" \t value \t"), "value");
    EXPECT_EQ(trim_wsp("\r\nx\r\n"), "\r\nx\r\n");
    EXPECT_EQ(trim_lws("\r\n x \r\n"), "x");
    EXPECT_EQ(trim_wsp("   "), "");
    EXPECT_EQ(trim_lws(""), "");
}

TEST(TextTest, CharacterClasses) {
    EXPECT_TRUE(is_token_char('~'));
    EXPECT_TRUE(is_token_char('a'));
    EXPECT_FALSE(is_token_char(' '));
    EXPECT_FALSE(is_token_char('"'));
    EXPECT_TRUE(is_hex('F'));
    EXPECT_FALSE(is_hex('g'));
    EXPECT_TRUE(is_wsp('\t'));
    EXPECT_FALSE(is_wsp('\n'));
}

struct UintCase {
    const char* text;
    std::uint64_t max;
    bool ok;
    std::uint64_t value;
};

class ParseUint : public ::testing::TestWithParam<UintCase> {};

TEST_P(ParseUint, ParsesOrRejects) {
    const UintCase& c = GetParam();
    std::uint64_t v = 12345;
    EXPECT_EQ(parse_uint(c.text, c.max, v), c.ok) << c.text;
    if (c.ok) {
        EXPECT_EQ(v, c.value);
    }
}

INSTANTIATE_TEST_SUITE_P(Table, ParseUint,
                         ::testing::Values(UintCase{"0", 10, true, 0}, UintCase{"0070", 100, true, 70},
                                           UintCase{"65535", 65535, true, 65535},
                                           UintCase{"65536", 65535, false, 0}, UintCase{"", 10, false, 0},
                                           UintCase{"-1", 10, false, 0}, UintCase{"1 ", 10, false, 0},
                                           UintCase{"18446744073709551615", UINT64_MAX, true, UINT64_MAX},
                                           UintCase{"18446744073709551616", UINT64_MAX, false, 0}));

TEST(TextTest, ParseUintAsNarrowType) {
    std::uint16_t port = 0;
    EXPECT_TRUE(parse_uint_as<std::uint16_t>("5060", 65535, port));
    EXPECT_EQ(port, 5060);
    EXPECT_FALSE(parse_uint_as<std::uint16_t>("70000", 65535, port));
    EXPECT_EQ(port, 5060);
}

}  // namespace
}  // namespace vg::text
