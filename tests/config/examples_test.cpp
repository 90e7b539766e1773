// SPDX-License-Identifier: GPL-2.0-or-later
// The example policies and the key reference: every example is valid, the
// full example uses every key, REFERENCE.md is the generated text.
#include "config/loader.h"
#include "config/schema.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace vg::config {
namespace {

std::string example(const std::string& name) { return test::config_dir() + "/examples/" + name; }

class Examples : public ::testing::TestWithParam<const char*> {};

TEST_P(Examples, PassesCheck) {
    const auto r = load_policy_file(example(GetParam()), test::test_options());
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
}

INSTANTIATE_TEST_SUITE_P(All, Examples,
                         ::testing::Values("minimal.yaml", "office.yaml", "site.yaml", "ipv6.yaml", "full.yaml", "demo.yaml"),
                         [](const auto& param_info) {
                             std::string n = param_info.param;
                             return n.substr(0, n.find('.'));
                         });

TEST(ExamplesDir, EveryExampleIsCovered) {
    std::set<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(test::config_dir() + "/examples"))
        files.insert(e.path().filename().string());
    EXPECT_EQ(files, (std::set<std::string>{"allow-prefixes.csv", "demo.yaml", "deny-prefixes.txt", "full.yaml", "ipv6.yaml", "minimal.yaml", "office.yaml",
                                            "provider-full.yaml", "provider.yaml", "risk-prefixes.txt", "site.yaml"}));
}

// Collects every schema pattern used by a tree of the given file.
TEST(ExamplesFull, UsesEveryKey) {
    const auto r = load_policy_file(example("full.yaml"), test::test_options());
    ASSERT_TRUE(r.ok());
    // Every key the policy did not set is in `defaulted`; nested keys of lists
    // are checked against the text below.
    EXPECT_TRUE(r.policy->defaulted.empty()) << ::testing::PrintToString(r.policy->defaulted);
    const std::string text = test::read_file(example("full.yaml"));
    for (const auto& k : schema()) {
        const auto dot = k.path.rfind('.');
        std::string last(dot == std::string_view::npos ? k.path : k.path.substr(dot + 1));
        if (last == "*") continue;
        EXPECT_NE(text.find(last + ":"), std::string::npos) << k.path;
    }
    const auto& p = *r.policy;
    EXPECT_FALSE(p.handsets.firmware_minimums.empty());
    EXPECT_FALSE(p.peers.pbx[1].media.addresses_from_pbx);
    EXPECT_FALSE(p.peers.support.empty());
    EXPECT_FALSE(p.egress.allow.empty());
    EXPECT_EQ(p.sip.rate_limits.size(), 4u);
    EXPECT_TRUE(p.toll_fraud.out_of_hours.enabled);
}

TEST(ExamplesDemo, MatchesTheNamespaceDemo) {
    const auto r = load_policy_file(example("demo.yaml"), test::test_options());
    ASSERT_TRUE(r.ok());
    const auto& p = *r.policy;
    EXPECT_EQ(p.handsets.networks.size(), 2u);
    EXPECT_EQ(p.peers.pbx[0].media.ports.first, 10000);
    EXPECT_EQ(p.peers.pbx[0].media.ports.last, 20000);
    EXPECT_EQ(p.peers.support[0].ports.size(), 2u);
    EXPECT_EQ(p.on_failure, OnFailure::closed);
    EXPECT_EQ(p.toll_fraud.country_code, "44");
}

TEST(Reference, FileMatchesTheGeneratedText) {
    const auto file = test::read_file(test::config_dir() + "/REFERENCE.md");
    EXPECT_EQ(file, reference_markdown()) << "regenerate with: voipguard check --reference > config/REFERENCE.md";
}

TEST(Reference, NamesEveryKey) {
    const auto md = reference_markdown();
    for (const auto& k : schema()) EXPECT_NE(md.find("### `" + std::string(k.path) + "`"), std::string::npos) << k.path;
}

}  // namespace
}  // namespace vg::config
