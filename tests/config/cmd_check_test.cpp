// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard check`: output, exit codes, --print, bad command lines.
#include "config/loader.h"
#include "config/schema.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/rules.h"
#include "filters/engine/scanner_patterns.h"
#include "filters/engine/schedule.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace vg::config {
namespace {

using test::run_check;

std::string example(const std::string& name) { return test::config_dir() + "/examples/" + name; }

// Where the loader reads IANA zones, as the C library would.
std::string zoneinfo() {
    const char* d = std::getenv("TZDIR");
    return d != nullptr && *d != '\0' ? d : "/usr/share/zoneinfo";
}

TEST(CmdCheck, ValidPolicyPrintsOkAndSummary) {
    const auto run = run_check({example("office.yaml")});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out, "ok\nsite acme-london: mode enforce, on_failure closed, 1 handset network, 1 PBX peer, "
                       "1 support peer, egress allow-list (4 entries), toll fraud on (7 deny prefixes, 0 allow prefixes, "
                       "country code 44, out-of-hours rules), 0 host names\negress: allow-list, 4 destinations (dns "
                       "udp/53,tcp/53 192.0.2.53, ntp udp/123 192.0.2.123, provisioning tcp/443 198.51.100.80, "
                       "firmware tcp/443 198.51.100.81); return traffic only for those\nout-of-hours schedule in time zone "
                       "Europe/London (from " + zoneinfo() + "/Europe/London)\n");
    EXPECT_EQ(run.err, "");
}

TEST(CmdCheck, InvalidPolicyPrintsErrorsAndExits2) {
    test::TempDir d;
    const auto path = d.write("bad.yaml", "version: 1\nsite: t\nmdoe: x\nhandsets:\n  networks: [192.168.20.0/33]\n");
    const auto run = run_check({"--no-resolve", path});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, path + ":3:1: mdoe: unknown key (did you mean 'mode'?)\n" + path +
                           ":5:14: handsets.networks[0]: \"192.168.20.0/33\" is not an IP network (expected e.g. "
                           "192.0.2.0/24 or 2001:db8::/32)\n" +
                           path + ": 2 errors, policy not valid\n");
}

// What check accepts the daemon compiles whole: the schema's limits are what
// the engine's tables hold.
TEST(CmdCheck, SchemaLimitsAreWhatTheEngineHolds) {
    EXPECT_EQ(find_key("toll_fraud.emergency_numbers")->max_items, engine::DialPlan::kMaxServiceNumbers);
    EXPECT_EQ(engine::DialPlan::kMaxServiceLength, 15u);   // is_valid_number
    EXPECT_EQ(find_key("sip.rate_limits")->max_items, engine::kMaxMethodRates);
    EXPECT_EQ(find_key("toll_fraud.out_of_hours.business_hours")->max_items, engine::WeeklySchedule::kMaxWindows);
    EXPECT_EQ(find_key("toll_fraud.profiles[].hours")->max_items, engine::WeeklySchedule::kMaxWindows);
    EXPECT_EQ(engine::ScannerPatternSet::kMaxPatternLength, 128u);   // the validator's text_pattern
}

// A policy at every such limit passes check, compile included (the daemon
// refused 17 business-hours windows while check documented 32).
TEST(CmdCheck, APolicyAtEveryLimitPasses) {
    std::string emergency = "[\"112\", \"123456789012345\"";
    for (int i = 0; i < 30; ++i) emergency += ", \"" + std::to_string(1000001 + i) + "\"";
    // 32 windows on Monday, 45 minutes apart, 30 long.
    auto hhmm = [](int m) {
        const auto two = [](int v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
        return two(m / 60) + ":" + two(m % 60);
    };
    std::string hours;
    for (int i = 0; i < 32; ++i)
        hours += std::string(i ? ", " : "") + "\"mon " + hhmm(i * 45) + "-" + hhmm(i * 45 + 30) + "\"";
    std::string patterns;
    for (int i = 0; i < 256; ++i) patterns += std::string(i ? ", " : "") + "\"tool-" + std::to_string(i) + std::string(100, 'x') + "\"";
    std::string rates;
    for (int i = 0; i < 61; ++i)
        rates += "    XEXT" + std::string(1, static_cast<char>('A' + i / 26)) + static_cast<char>('A' + i % 26) + ": 10/s\n";
    test::TempDir d;
    const auto path = d.write("limits.yaml", test::base_policy() + "toll_fraud:\n  country_code: \"44\"\n"
                                             "  emergency_numbers: " + emergency + "]\n"
                                             "  out_of_hours:\n    timezone: Europe/London\n"
                                             "    business_hours: [" + hours + "]\n"
                                             "sip:\n  scanner_user_agents:\n    patterns: [" + patterns + "]\n"
                                             "  rate_limits:\n" + rates);
    const auto run = run_check({"--quiet", "--no-resolve", path});
    EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(CmdCheck, WarningsKeepExitZero) {
    const auto run = run_check({"--quiet", example("minimal.yaml")});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err.find(example("minimal.yaml") + ":4:1: warning: on_failure: "), std::string::npos) << run.err;
    // The default egress allow-list is not warned about.
    EXPECT_EQ(run.err.find("egress"), std::string::npos) << run.err;
}

TEST(CmdCheck, PrintShowsEffectivePolicyWithDefaultsMarked) {
    const auto run = run_check({"--print", example("minimal.yaml")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("site: example-minimal\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("mode: enforce  # default\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  max_headers: 64  # default\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("    INVITE: \"5/s burst 10\"  # default\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  pbx:\n    - name: cloud-pbx\n      addresses: [203.0.113.10]\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("        # addresses: (default: the PBX's addresses)\n"), std::string::npos) << run.out;
    // handsets.interfaces unset: what this machine's routes say (which
    // depends on the machine: bound or not).
    EXPECT_NE(run.out.find("\n  interfaces: []  # default: from routes"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("\nok\n"), std::string::npos);
    const auto full = run_check({"--print", "--no-resolve", example("full.yaml")});
    ASSERT_EQ(full.exit_code, 0) << full.err;
    EXPECT_NE(full.out.find("\n  interfaces: [lan0]\n"), std::string::npos) << full.out;
}

TEST(CmdCheck, PrintSaysWhatTheTollFraudGuardEnforces) {
    // minimal.yaml has no country_code: what is enforced all the same, and
    // what needs a dial plan.
    const auto run = run_check({"--print", example("minimal.yaml")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("# toll-fraud guard, as enforced:\n#   judged: INVITE Request-URI and To, every Refer-To"),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("#   deny list: 6 prefixes (6 built-in): +870 +881 +882 +883 +979 +808\n"), std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("#   no country_code: numbers in international form"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("#   limits (always, with or without a dial plan)"), std::string::npos) << run.out;
    EXPECT_NE(run.err.find("warning: toll_fraud.country_code: not set"), std::string::npos) << run.err;
    const auto office = run_check({"--print", example("office.yaml")});
    ASSERT_EQ(office.exit_code, 0) << office.err;
    EXPECT_NE(office.out.find("#   dial plan: country code 44, national prefix 0, international prefix 00"),
              std::string::npos)
        << office.out;
}

TEST(CmdCheck, PrintedPolicyLoadsAgainWithTheSameModel) {
    for (const char* name : {"minimal.yaml", "office.yaml", "site.yaml", "ipv6.yaml", "full.yaml", "demo.yaml"}) {
        LoadOptions o = test::test_options();
        o.render_effective = true;
        const auto first = load_policy_file(example(name), o);
        ASSERT_TRUE(first.ok()) << name;
        const auto again = load_policy_text(first.effective_yaml, "printed.yaml", test::test_options());
        ASSERT_TRUE(again.ok()) << name << "\n" << ::testing::PrintToString(test::errors_of(again)) << first.effective_yaml;
        std::string expected = summary_line(*first.policy);
        if (const auto files = expected.find(", 2 files"); files != std::string::npos) expected.erase(files);
        EXPECT_EQ(summary_line(*again.policy), expected) << name;
        EXPECT_EQ(again.policy->toll_fraud.deny_prefixes.size(), first.policy->toll_fraud.deny_prefixes.size());
    }
}

TEST(CmdCheck, PrintMarksIncludedPeers) {
    const auto run = run_check({"--print", example("site.yaml")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto provider = (std::filesystem::path(test::config_dir()) / "examples/provider.yaml").lexically_normal();
    EXPECT_NE(run.out.find("    # from " + provider.string() + "\n    - name: cloud-pbx\n"),
              std::string::npos)
        << run.out;
}

TEST(CmdCheck, ReferenceOption) {
    const auto run = run_check({"--reference"});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out, reference_markdown());
}

TEST(CmdCheck, Help) {
    const auto run = run_check({"--help"});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_EQ(run.out.rfind("usage: voipguard check", 0), 0u);
}

struct BadLine {
    std::vector<std::string> args;
    const char* first_line;
};
class CmdCheckBadCommandLine : public ::testing::TestWithParam<BadLine> {};
TEST_P(CmdCheckBadCommandLine, Exits2WithAMessage) {
    const auto run = run_check(GetParam().args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err.substr(0, run.err.find('\n')), GetParam().first_line);
}
INSTANTIATE_TEST_SUITE_P(Table, CmdCheckBadCommandLine,
                         ::testing::Values(BadLine{{}, "voipguard check: no policy file given"},
                                           BadLine{{"--bogus", "x.yaml"}, "voipguard check: unknown option '--bogus'"},
                                           BadLine{{"a.yaml", "b.yaml"},
                                                   "voipguard check: one policy file only (got 'a.yaml' and 'b.yaml')"},
                                           BadLine{{"--reference", "a.yaml"},
                                                   "voipguard check: --reference takes no other argument"},
                                           BadLine{{"/nonexistent/policy.yaml"},
                                                   "/nonexistent/policy.yaml: cannot read /nonexistent/policy.yaml: No "
                                                   "such file or directory"}));

}  // namespace
}  // namespace vg::config
