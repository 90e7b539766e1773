// SPDX-License-Identifier: GPL-2.0-or-later
// What a loaded policy says in words (config/printer.cpp): the effective
// policy (defaults and included files marked), the summary line and what the
// toll-fraud guard enforces. (`check --print` as a command: cmd_check_test.)
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

using test::load;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

TEST(Printer, OneLine) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(summary_line(*r.policy),
              "site t: mode enforce, on_failure closed, 1 handset network, 1 PBX peer, 0 support peers, egress allow-list "
              "(0 entries), "
              "toll fraud on (6 deny prefixes, 0 allow prefixes, no country_code: international form only), 0 host "
              "names");
}

TEST(Printer, EgressLineSaysWhatHandsetsMayReach) {
    const auto none = load(kBase);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(egress_line(*none.policy),
              "egress: allow-list, 0 destinations; handsets reach only the PBX and the support peers, no return "
              "traffic for anything else");
    const auto listed = load(kBase + "egress:\n  allow:\n    - name: dns\n      addresses: [192.0.2.53]\n"
                                     "      ports: [udp/53]\n    - name: fw\n      addresses: [198.51.100.80, "
                                     "198.51.100.96/28]\n      ports: [tcp/443, tcp/8000-8010]\n");
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(egress_line(*listed.policy),
              "egress: allow-list, 2 destinations (dns udp/53 192.0.2.53, fw tcp/443,tcp/8000-8010 "
              "198.51.100.80,198.51.100.96/28); return traffic only for those");
    const auto open = load(kBase + "egress:\n  mode: open\n");
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(egress_line(*open.policy),
              "egress: open, handsets may reach any destination (SIP only the PBX); return traffic for every flow "
              "they open");
}

TEST(Printer, TollFraudEnforcementSaysWhatNeedsADialPlan) {
    const auto without = load(kBase);
    ASSERT_TRUE(without.ok());
    const auto lines = toll_fraud_enforcement(*without.policy);
    auto has = [&](const std::vector<std::string>& v, const std::string& needle) {
        for (const auto& l : v)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    };
    EXPECT_TRUE(has(lines, "deny list: 6 prefixes (6 built-in): +870 +881 +882 +883 +979 +808"));
    EXPECT_TRUE(has(lines, "no country_code: numbers in international form (+, or the international prefix 00) are "
                           "matched; national numbers are not normalised"));
    EXPECT_TRUE(has(lines, "limits (always, with or without a dial plan): per handset (its address and its digest "
                           "user) 2 concurrent, 30 calls/hour"));
    const auto with = load(kBase + "toll_fraud:\n  country_code: \"44\"\n");
    ASSERT_TRUE(with.ok());
    const auto lines2 = toll_fraud_enforcement(*with.policy);
    EXPECT_TRUE(has(lines2, "dial plan: country code 44, national prefix 0, international prefix 00"));
    EXPECT_FALSE(has(lines2, "no country_code"));
    EXPECT_EQ(summary_line(*with.policy).find("no country_code"), std::string::npos);
    EXPECT_TRUE(has(lines2, "callbacks: a call from one of 6 risk prefixes (built-ins, the deny list): +870 +881 +882 "
                            "+883 +979 +808 that rings at most 10s unanswered or is answered for at most 5s marks its "
                            "caller for 3d; calling it back is blocked"));
    EXPECT_FALSE(has(lines2, "unprefixed_numbers"));
    const auto warn = load(kBase + "toll_fraud:\n  country_code: \"1\"\n  national_prefix: \"1\"\n"
                                   "  unprefixed_numbers: national\n  callback:\n    action: warn\n"
                                   "    short_call: 0s\n    risk_prefixes: [\"+263\"]\n");
    ASSERT_TRUE(warn.ok()) << ::testing::PrintToString(test::errors_of(warn));
    const auto lines3 = toll_fraud_enforcement(*warn.policy);
    EXPECT_TRUE(has(lines3, "so are numbers dialled without a prefix (unprefixed_numbers: national)"));
    EXPECT_TRUE(has(lines3, "+263 that rings at most 10s unanswered marks its caller for 3d; calling it back is "
                            "reported"));
    const auto off = load(kBase + "toll_fraud:\n  callback:\n    enabled: false\n");
    ASSERT_TRUE(off.ok());
    EXPECT_FALSE(has(toll_fraud_enforcement(*off.policy), "callbacks:"));
}

TEST(Printer, EffectivePolicyMarksDefaultsAndIncludedFiles) {
    test::TempDir d;
    d.write("provider.yaml", "version: 1\npeers:\n  support:\n    - name: noc\n      addresses: [198.51.100.7]\n"
                             "      ports: [tcp/22]\n");
    const auto site = d.write("site.yaml", "version: 1\ninclude: [provider.yaml]\n" + kBase.substr(11) +
                                               "toll_fraud:\n  emergency_numbers: [\"112\"]\n");
    auto opt = test::test_options();
    opt.render_effective = true;
    const auto r = load_policy_file(site, opt);
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
    const std::string& y = r.effective_yaml;
    auto has_line = [&](const std::string& line) { return y.find("\n" + line + "\n") != std::string::npos; };
    EXPECT_EQ(y.rfind("# effective policy of " + site + " (merged with " + d.path() + "/provider.yaml)\n", 0), 0u) << y;
    EXPECT_TRUE(has_line("site: t")) << y;
    EXPECT_TRUE(has_line("mode: enforce  # default")) << y;
    EXPECT_TRUE(has_line("on_failure: closed")) << y;
    EXPECT_TRUE(has_line("    # from " + d.path() + "/provider.yaml")) << y;
    // Digit strings are quoted, so that they read back as text.
    EXPECT_TRUE(has_line("  emergency_numbers: [\"112\"]")) << y;
    EXPECT_EQ(y.find("include"), std::string::npos) << y;
    // Without render_effective nothing is rendered.
    EXPECT_TRUE(load_policy_file(site, test::test_options()).effective_yaml.empty());
}

// A control character in a value is escaped: the value stays on its line
// and reads back as it was.
TEST(Printer, EffectivePolicyEscapesControlCharacters) {
    auto opt = test::test_options();
    opt.render_effective = true;
    const auto r = load_policy_text(kBase + "alerts:\n  command: [\"/bin/echo\", \"a\\nb: c\", \"t\\tx\\x01\\x7f\"]\n",
                                    "t.yaml", opt);
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
    const std::string& y = r.effective_yaml;
    EXPECT_NE(y.find("/bin/echo, \"a\\nb: c\", \"t\\tx\\x01\\x7f\"]\n"), std::string::npos) << y;
    EXPECT_EQ(y.find("\nb: c"), std::string::npos) << y;
    const auto again = load_policy_text(y, "printed.yaml", test::test_options());
    ASSERT_TRUE(again.ok()) << ::testing::PrintToString(test::errors_of(again)) << y;
    EXPECT_EQ(again.policy->alerts.command, (std::vector<std::string>{"/bin/echo", "a\nb: c", "t\tx\x01\x7f"}));
}

}  // namespace
}  // namespace vg::config
