// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/scanner_patterns.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
#include <string>

#include <ostream>
#include <string>

#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using test::case_name;

struct UaRow {
    const char* user_agent;
    const char* expected;  // pattern name, nullptr when not a scanner
};
std::ostream& operator<<(std::ostream& os, const UaRow& r) {
    return os << '"' << r.user_agent << "\" is " << (r.expected ? r.expected : "not a scanner");
}

class ScannerDefaults : public ::testing::TestWithParam<UaRow> {};

TEST_P(ScannerDefaults, ReportsWhichPatternMatched) {
    const auto set = ScannerPatternSet::defaults();
    const auto m = set.match(GetParam().user_agent);
    if (GetParam().expected == nullptr) {
        EXPECT_FALSE(m.has_value()) << set.name(*m);
        return;
    }
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(set.name(*m), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    UserAgents, ScannerDefaults,
    ::testing::Values(UaRow{"friendly-scanner", "friendly-scanner"}, UaRow{"Friendly-Scanner", "friendly-scanner"},
                      UaRow{"sipvicious", "sipvicious"}, UaRow{"SIPVicious 0.3.4", "sipvicious"},
                      UaRow{"sipcli/v1.8", "sipcli"}, UaRow{"sip-scan", "sip-scan"},
                      UaRow{"sipsak 0.9.6", "sipsak"}, UaRow{"smap 0.6.0", "smap"},
                      UaRow{"iWar", "iWar"}, UaRow{"IWAR-1.0", "iWar"},
                      UaRow{"VaxSIPUserAgent/3.1", "VaxSIPUserAgent"}, UaRow{"vaxsipuseragent", "VaxSIPUserAgent"},
                      UaRow{"pplsip", "pplsip"}, UaRow{"sundayaddr", "sundayaddr"}, UaRow{"sipptk", "sipptk"},
                      UaRow{"Yealink SIP-T46S 66.86.0.15", nullptr}, UaRow{"PolycomVVX-VVX_410-UA/5.9.5.0614", nullptr},
                      UaRow{"Asterisk PBX 18.20.0", nullptr}, UaRow{"", nullptr}, UaRow{"sipviciou", nullptr}),
    [](const auto& pi) { return case_name(pi); });

TEST(ScannerPatternSet, DefaultsHaveElevenPatterns) { EXPECT_EQ(ScannerPatternSet::defaults().size(), 11u); }

TEST(ScannerPatternSet, FirstPatternInListOrderWins) {
    ScannerPatternSet s;
    ASSERT_TRUE(s.add("scan"));
    ASSERT_TRUE(s.add("friendly"));
    EXPECT_EQ(s.name(*s.match("friendly-scanner")), "scan");
}

TEST(ScannerPatternSet, AddRejectsEmptyAndTooLongAndDeduplicates) {
    ScannerPatternSet s;
    EXPECT_FALSE(s.add(""));
    EXPECT_FALSE(s.add(std::string(ScannerPatternSet::kMaxPatternLength + 1, 'a')));
    EXPECT_TRUE(s.add("abc"));
    EXPECT_TRUE(s.add("ABC"));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.name(1000), "");
}

// sip.scanner_user_agents allows 256 patterns a file of up to 128 characters
// (and the built-ins come first): every one is kept and matches, and
// matching them all still allocates nothing.
TEST(ScannerPatternSet, HoldsEveryPatternThePolicyAllows) {
    EXPECT_GE(ScannerPatternSet::kMaxPatternLength, 128u);
    auto s = ScannerPatternSet::defaults();
    const std::string long_pattern = "AcmeCorpInternalPenTestScannerAgentVersionTwo" + std::string(128 - 45, 'x');
    ASSERT_EQ(long_pattern.size(), 128u);
    EXPECT_TRUE(s.add(long_pattern));
    for (int i = 0; i < 2 * 256; ++i) EXPECT_TRUE(s.add("scan-" + std::to_string(i) + "-tool"));
    EXPECT_EQ(s.size(), 11u + 1 + 512);
    const std::string ua = "x " + long_pattern + " y";
    test::AllocationScope scope;
    const auto first = s.match(ua);
    const auto last = s.match("Scan-511-Tool/1.0");
    EXPECT_EQ(scope.allocations(), 0u);
    ASSERT_TRUE(first && last);
    EXPECT_EQ(s.name(*first), long_pattern);
    EXPECT_EQ(s.name(*last), "scan-511-tool");
}

TEST(ScannerPatternSet, PatternLongerThanTextDoesNotMatch) {
    ScannerPatternSet s;
    s.add("friendly-scanner");
    EXPECT_FALSE(s.match("friendly"));
    EXPECT_FALSE(s.match("friendly-scanne"));
}

TEST(ScannerPatternSet, MatchDoesNotAllocate) {
    const auto s = ScannerPatternSet::defaults();
    test::AllocationScope scope;
    int n = 0;
    for (const char* ua : {"friendly-scanner", "Yealink SIP-T46S 66.86.0.15", "SIPVicious"}) n += s.match(ua).has_value();
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace vg::engine
