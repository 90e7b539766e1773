// SPDX-License-Identifier: GPL-2.0-or-later
// The loader's pipeline (config/loader.cpp): a valid policy loads, YAML-level
// errors with their exact text and position, all errors of a file in one run
// in file order, at most 100 errors, no policy when there is an error, limits
// against abuse. Each part has its own tests: validator_test (the schema),
// include_test (files, includes and how they merge), builder_test,
// semantics_test, resolver_test, printer_test.
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

using test::ErrorCase;
using test::errors_of;
using test::load;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

TEST(Loader, BasePolicyIsValid) {
    const auto r = load(kBase);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_TRUE(errors_of(r).empty());
}

TEST(Loader, AuditPortsAreKeptInOrderWithoutDuplicates) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "  audit_ports: [8443, 5000, 8443]\npeers:\n  pbx:\n    - name: p\n"
                        "      addresses: [203.0.113.1]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->handsets.audit_ports, (std::vector<std::uint16_t>{8443, 5000}));
    const auto none = load(kBase);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none.policy->handsets.audit_ports.empty());
}

class LoaderErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrors, ReportsExactTextAndPosition) { test::expect_errors(GetParam()); }

// Errors of the YAML layer (config/yaml_tree.cpp), reported through the loader.
const ErrorCase kErrorCases[] = {
    {"DuplicateKeyCitesFirst", kBase + "on_failure: open\n",
     {"t.yaml:10:1: on_failure: duplicate key 'on_failure' (first at 3:1)"}},
    {"DuplicateNestedKey", kBase + "      name: other\n",
     {"t.yaml:10:7: peers.pbx[0].name: duplicate key 'name' (first at 8:7)"}},
    {"TwoDocuments", kBase + "---\nversion: 1\n", {"t.yaml:10:1: only one YAML document is allowed in a policy file"}},
    {"ComplexKey", kBase + "? [a]\n: b\n", {"t.yaml:10:3: a key must be a plain value, not a list"}},
};

INSTANTIATE_TEST_SUITE_P(Table, LoaderErrors, ::testing::ValuesIn(kErrorCases),
                         test::case_name);

TEST(Loader, YamlSyntaxErrorHasParserPosition) {
    const auto r = load("version: 1\nsite: [t\nmode: enforce\n");
    ASSERT_EQ(errors_of(r).size(), 1u);
    const auto& d = r.diagnostics.front();
    EXPECT_EQ(d.file, "t.yaml");
    EXPECT_GT(d.line, 0);
    EXPECT_EQ(d.format(), "t.yaml:3:5: YAML syntax error: end of sequence flow not found");
    EXPECT_FALSE(r.ok());
}

TEST(Loader, AllErrorsOfAFileAreReportedInOneRun) {
    const auto r = load(
        "version: 1\n"
        "site: t\n"
        "mdoe: enforce\n"
        "handsets:\n"
        "  networks: [192.168.20.0/24, 10.0.0.1/8]\n"
        "peers:\n"
        "  pbx:\n"
        "    - name: p\n"
        "      addresses: [203.0.113.1]\n"
        "sip:\n"
        "  max_headers: 5\n"
        "  ports: [0]\n"
        "site: u\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{
                                "t.yaml:3:1: mdoe: unknown key (did you mean 'mode'?)",
                                "t.yaml:5:31: handsets.networks[1]: \"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?)",
                                "t.yaml:11:16: sip.max_headers: \"5\" is out of range (16..256)",
                                "t.yaml:12:11: sip.ports[0]: \"0\" is not a port (expected 1..65535)",
                                "t.yaml:13:1: site: duplicate key 'site' (first at 2:1)",
                            }));
}

TEST(Loader, ErrorsNeverYieldAPolicy) {
    const auto r = load(kBase + "sip:\n  max_headers: 1\n");
    EXPECT_FALSE(r.policy.has_value());
}

TEST(Loader, AtMostAHundredErrorsAreShown) {
    std::string y = kBase;
    for (int i = 0; i < 150; ++i) y += "unknown_key_" + std::to_string(i) + ": 1\n";
    const auto errors = errors_of(load(y));
    ASSERT_EQ(errors.size(), 101u);
    // The note has no position: it comes first, then the first 100 in order.
    EXPECT_EQ(errors[0], "t.yaml: too many errors (150); only the first 100 are shown");
    EXPECT_EQ(errors[1], "t.yaml:10:1: unknown_key_0: unknown key");
    EXPECT_EQ(errors[100], "t.yaml:109:1: unknown_key_99: unknown key");
}

TEST(Loader, DiagnosticsAreInFileOrderThenPosition) {
    // The validator reports the unknown key first and the YAML layer the
    // duplicate key; the loader puts them in the order of the file.
    const auto r = load(kBase + "colour: blue\nsite: u\n");
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{"t.yaml:10:1: colour: unknown key",
                                                      "t.yaml:11:1: site: duplicate key 'site' (first at 2:1)"}));
}

// ---- abuse ---------------------------------------------------------------------------

TEST(LoaderLimits, DeepNestingIsRejected) {
    std::string y = "version: 1\nsite: t\nx: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
    const auto r = load(y);
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(errors_of(r).size(), 1u);
    EXPECT_EQ(errors_of(r)[0], "t.yaml:3:35: nesting deeper than 32 levels");
}

TEST(LoaderLimits, OversizedTextIsRejected) {
    const auto r = load(kBase + "# " + std::string(1024 * 1024, 'x') + "\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{"t.yaml: t.yaml is larger than 1048576 bytes"}));
}

TEST(LoaderLimits, RecursiveAliasIsRejected) {
    const auto r = load("version: 1\nsite: t\nx: &a [*a]\n");
    EXPECT_FALSE(r.ok());
}

TEST(LoaderLimits, BinaryGarbageGivesDiagnosticsNotCrash) {
    const std::string junk("\x00\xff{[:\"\t\x01-?", 11);
    const auto r = load(junk);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.diagnostics.empty());
}

}  // namespace
}  // namespace vg::config
