// SPDX-License-Identifier: GPL-2.0-or-later
// Prefix files (toll_fraud.deny_prefix_files / allow_prefix_files, read by
// config/includes.cpp): formats, positions of errors, the same checks as
// inline prefixes, limits, paths relative to the policy file, `check --print`.
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace vg::config {
namespace {

using test::base_policy;
using test::errors_of;
using test::TempDir;
using test::test_options;
using test::warnings_of;

std::string policy(const std::string& toll_fraud) { return base_policy() + "toll_fraud:\n" + toll_fraud; }

// On the deny (allow) list: inline, or in one of the list's files.
bool has_prefix(const Policy::TollFraud& tf, bool deny, const std::string& digits) {
    const auto& v = deny ? tf.deny_prefixes : tf.allow_prefixes;
    if (std::any_of(v.begin(), v.end(), [&](const DialPrefix& d) { return d.digits == digits; })) return true;
    for (const auto& f : tf.prefix_files)
        if (f.deny == deny && !f.risk)
            for (std::size_t i = 0; i < f.prefixes->size(); ++i)
                if (f.prefixes->digits(i) == digits) return true;
    return false;
}

// On the callback risk list as the engine compiles it: inline (built-ins,
// the policy's own, the deny list's), the risk files and the deny files.
bool in_risk(const Policy::TollFraud& tf, const std::string& digits) {
    const auto& v = tf.callback.risk_prefixes;
    if (std::any_of(v.begin(), v.end(), [&](const DialPrefix& d) { return d.digits == digits; })) return true;
    for (const auto& f : tf.prefix_files)
        if ((f.risk || f.deny) && f.prefixes)
            for (std::size_t i = 0; i < f.prefixes->size(); ++i)
                if (f.prefixes->digits(i) == digits) return true;
    return false;
}

TEST(PrefixFiles, PlainAndCsvListsAreAddedWithTheirLines) {
    TempDir d;
    d.write("deny.txt", "# fleet deny list\n\n+8816\n  +882   # networks\n+8816\n");
    d.write("lists/allow.csv", "prefix,label\n+8821640,office line\n+88399,\"bridge\"\n");
    const auto path = d.write("site.yaml", policy("  country_code: \"44\"\n  deny_prefix_files: [deny.txt]\n"
                                                  "  allow_prefix_files: [lists/allow.csv]\n"));
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    const auto& tf = r.policy->toll_fraud;
    EXPECT_TRUE(has_prefix(tf, true, "+8816"));
    EXPECT_TRUE(has_prefix(tf, true, "+882"));
    EXPECT_FALSE(has_prefix(tf, true, "+88399"));
    EXPECT_TRUE(has_prefix(tf, false, "+88399"));
    ASSERT_EQ(tf.prefix_files.size(), 2u);
    const PrefixFileEntries& allow = *tf.prefix_files[1].prefixes;
    ASSERT_EQ(allow.size(), 2u);
    EXPECT_EQ(allow.digits(0), "+8821640");
    EXPECT_EQ(allow.label(0), "office line");
    EXPECT_EQ(allow.line(0), 2);
    EXPECT_EQ(allow.digits(1), "+88399");
    EXPECT_EQ(allow.label(1), "bridge");
    EXPECT_EQ(allow.line(1), 3);
    const PrefixFileEntries& deny = *tf.prefix_files[0].prefixes;
    ASSERT_EQ(deny.size(), 3u);
    EXPECT_EQ(deny.line(1), 4);
    EXPECT_EQ(deny.label(1), "");
    // The files' duplicates and those of the inline (built-in) list count once.
    std::size_t from_file = 0;
    for (const char* p : {"+8816", "+882"})
        from_file += std::none_of(tf.deny_prefixes.begin(), tf.deny_prefixes.end(),
                                  [&](const DialPrefix& x) { return x.digits == p; });
    EXPECT_EQ(tf.distinct_prefixes(true), tf.deny_prefixes.size() + from_file);
    EXPECT_EQ(tf.distinct_prefixes(false), 2u);
    EXPECT_EQ(tf.prefix_files[0].file, d.path() + "/deny.txt");
    EXPECT_TRUE(tf.prefix_files[0].deny);
    EXPECT_EQ(tf.prefix_files[0].entries, 3u);   // duplicates counted, kept once
    EXPECT_EQ(tf.prefix_files[1].entries, 2u);
    EXPECT_EQ(tf.prefix_files[1].labelled, 2u);
    EXPECT_EQ(tf.prefix_files[1].named_at.line, 13);
}

// toll_fraud.callback.risk_prefix_files: the same format, added to the
// callback risk list (with the built-ins, the deny list and risk_prefixes),
// never to the deny or allow list; a bad line is an error at its line.
TEST(PrefixFiles, RiskFilesFeedTheCallbackRiskList) {
    TempDir d;
    d.write("risk.csv", "prefix,label\n+263,Zimbabwe\n+677\n");
    d.write("deny.txt", "+2392\n");
    const auto path = d.write("site.yaml", policy("  country_code: \"44\"\n  deny_prefix_files: [deny.txt]\n"
                                                  "  callback:\n    risk_prefixes: [\"+224\"]\n"
                                                  "    risk_prefix_files: [risk.csv]\n"));
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    const auto& tf = r.policy->toll_fraud;
    for (const char* p : {"+263", "+677", "+224", "+2392", "+882", "+979"}) EXPECT_TRUE(in_risk(tf, p)) << p;
    EXPECT_FALSE(has_prefix(tf, true, "+263"));
    EXPECT_FALSE(has_prefix(tf, false, "+263"));
    ASSERT_EQ(tf.prefix_files.size(), 2u);
    const auto rf = std::find_if(tf.prefix_files.begin(), tf.prefix_files.end(), [](const PrefixFile& f) { return f.risk; });
    ASSERT_NE(rf, tf.prefix_files.end());
    EXPECT_FALSE(rf->deny);
    EXPECT_EQ(rf->entries, 2u);
    EXPECT_EQ(rf->labelled, 1u);

    d.write("risk.csv", "+263\n+26x\n");
    const auto bad = load_policy_file(path, test_options());
    EXPECT_FALSE(bad.policy);
    EXPECT_EQ(errors_of(bad), std::vector<std::string>{d.path() + "/risk.csv:2:1: bad prefix \"+26x\" (expected digits "
                                                       "with an optional leading +, e.g. +881)"});
}

// Without risk_builtin, the built-ins come only through the deny list.
TEST(PrefixFiles, RiskBuiltinOffLeavesTheDenyList) {
    const auto r = test::load(policy("  deny_builtin: false\n  deny_prefixes: [\"+8816\"]\n"
                                     "  callback:\n    risk_builtin: false\n"));
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_TRUE(in_risk(r.policy->toll_fraud, "+8816"));
    EXPECT_FALSE(in_risk(r.policy->toll_fraud, "+882"));
}

TEST(PrefixFiles, BadPrefixIsAnErrorAtItsLineAndNothingLoads) {
    TempDir d;
    d.write("deny.txt", "+881\n+88x1\n\n12a,label\n");
    const auto path = d.write("site.yaml", policy("  deny_prefix_files: [deny.txt]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.policy);
    const auto e = errors_of(r);
    ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
    EXPECT_EQ(e[0], d.path() + "/deny.txt:2:1: bad prefix \"+88x1\" (expected digits with an optional leading +, e.g. +881)");
    EXPECT_EQ(e[1], d.path() + "/deny.txt:4:1: bad prefix \"12a\" (expected digits with an optional leading +, e.g. +881)");
}

TEST(PrefixFiles, InlineChecksApplyAtTheFileLine) {
    TempDir d;
    d.write("deny.txt", "+881\n+00881\n");
    d.write("allow.txt", "4420\n");
    const auto path = d.write("site.yaml", policy("  country_code: \"44\"\n  deny_prefix_files: [deny.txt]\n"
                                                  "  allow_prefix_files: [allow.txt]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.policy);
    const auto e = errors_of(r);
    ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
    EXPECT_NE(e[0].find(d.path() + "/deny.txt:2:1: \"+00881\" never matches"), std::string::npos) << e[0];
    EXPECT_NE(e[1].find(d.path() + "/allow.txt:1:1: \"4420\": a prefix without '+'"), std::string::npos) << e[1];
}

TEST(PrefixFiles, MissingFileIsAnErrorAtTheKey) {
    TempDir d;
    const auto path = d.write("site.yaml", policy("  deny_prefix_files: [nowhere.txt]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.policy);
    const auto e = errors_of(r);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0], path + ":11:23: toll_fraud.deny_prefix_files[0]: cannot read " + d.path() +
                        "/nowhere.txt: No such file or directory");
}

TEST(PrefixFiles, RelativeToTheFileThatNamesThem) {
    TempDir d;
    d.write("provider/deny.txt", "+8817\n");
    d.write("provider/provider.yaml", "version: 1\ntoll_fraud:\n  deny_prefix_files: [deny.txt]\n");
    const auto path = d.write("site.yaml", "version: 1\ninclude: [provider/provider.yaml]\n" +
                                               base_policy().substr(std::string("version: 1\n").size()));
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_TRUE(has_prefix(r.policy->toll_fraud, true, "+8817"));
    EXPECT_EQ(r.policy->toll_fraud.prefix_files.at(0).file, d.path() + "/provider/deny.txt");
}

TEST(PrefixFiles, TooManyEntriesIsAClearError) {
    TempDir d;
    std::string big;
    for (int i = 0; i < 250001; ++i) big += "+" + std::to_string(1000000 + i) + "\n";
    d.write("deny.txt", big);
    const auto path = d.write("site.yaml", policy("  deny_prefix_files: [deny.txt]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.policy);
    const auto e = errors_of(r);
    ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
    EXPECT_EQ(e[0], d.path() + "/deny.txt:250001:1: " + d.path() +
                        "/deny.txt has more than 250000 prefixes (the most a prefix file may have)");
}

TEST(PrefixFiles, TooLargeFileIsAClearError) {
    TempDir d;
    d.write("deny.txt", std::string(8u * 1024 * 1024 + 1, '#'));
    const auto path = d.write("site.yaml", policy("  deny_prefix_files: [deny.txt]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.policy);
    const auto e = errors_of(r);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("deny.txt is larger than 8388608 bytes (the most a prefix file may have)"), std::string::npos)
        << e[0];
}

TEST(PrefixFiles, PrintShowsCountsAndSources) {
    TempDir d;
    d.write("deny.txt", "+8816\n+8817\n");
    const auto path = d.write("site.yaml", policy("  deny_prefix_files: [deny.txt]\n"));
    auto opt = test_options();
    opt.render_effective = true;
    const auto r = load_policy_file(path, opt);
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_NE(r.effective_yaml.find(d.path() + "/deny.txt: 2 prefixes, named at " + path + ":11:23"),
              std::string::npos)
        << r.effective_yaml;
    // The printed policy names the file as resolved, so it reads the same file.
    EXPECT_NE(r.effective_yaml.find("deny_prefix_files: [" + d.path() + "/deny.txt]"), std::string::npos);
    const auto lines = toll_fraud_enforcement(*r.policy);
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find("2 from " + d.path() + "/deny.txt") != std::string::npos;
    })) << ::testing::PrintToString(lines);
}

}  // namespace
}  // namespace vg::config
