// SPDX-License-Identifier: GPL-2.0-or-later
// Checks across keys and files (config/semantics.cpp): a PBX after merging,
// unique peer names, handset networks apart from the PBX in enforce mode (what
// monitor mode allows), the warnings with their exact text, the schedule's
// time zone resolved at load. (A world-writable policy file is warned about
// by includes.cpp, tested here with the other warnings.)
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace vg::config {
namespace {

using test::errors_of;
using test::load;
using test::test_options;
using test::warnings_of;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

// A policy whose handsets.known lists `entries` (line 7 on).
std::string known_policy(const std::string& entries) {
    std::string s = kBase;
    const std::string networks = "  networks: [192.168.20.0/24]\n";
    s.replace(s.find(networks), networks.size(), networks + "  known:\n" + entries);
    return s;
}

class SemanticsErrors : public ::testing::TestWithParam<test::ErrorCase> {};

TEST_P(SemanticsErrors, ReportsExactTextAndPosition) { test::expect_errors(GetParam()); }

const test::ErrorCase kErrorCases[] = {
    {"NoPbxAtAll", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n",
     {"t.yaml:1:1: peers.pbx: required key is missing (at least one PBX is required)"}},
    {"NoPbxInPeers", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  support: []\n",
     {"t.yaml:6:3: peers.pbx: at least one PBX is required"}},
    {"HandsetsOverlapPbxInEnforce",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [192.168.20.5]\n",
     {"t.yaml:4:14: handsets.networks[0]: 192.168.20.0/24 overlaps 192.168.20.5/32 of PBX 'p' (at t.yaml:8:19); in "
      "enforce mode the handset network may not contain a PBX address"}},
    {"DuplicatePeerName", kBase + "  support:\n    - name: pbx\n      addresses: [198.51.100.7]\n      ports: [tcp/22]\n",
     {"t.yaml:11:13: peers.support[0].name: duplicate peer name 'pbx' (first at 8:13)"}},
    {"ProfileWarningAboveCritical",
     kBase + "toll_fraud:\n  profiles:\n    - name: intl\n      prefixes: [\"+\"]\n      per_handset:\n"
             "        calls_per_day: {warning: 50, critical: 40}\n",
     {"t.yaml:15:34: toll_fraud.profiles[0].per_handset.calls_per_day.warning: warning 50 is above critical 40 (at "
      "15:48): the warning would never come before the block"}},
    {"ProfileDurationWarningAboveCritical",
     kBase + "toll_fraud:\n  profiles:\n    - name: intl\n      prefixes: [\"+\"]\n"
             "      max_call_duration: {warning: 2h, critical: 1h}\n",
     {"t.yaml:14:36: toll_fraud.profiles[0].max_call_duration.warning: warning 2h is above critical 1h (at 14:50): "
      "the warning would never come before the block"}},
    {"ProfilePrefixInTwoProfiles",
     kBase + "toll_fraud:\n  profiles:\n    - name: a\n      prefixes: [\"+53\"]\n    - name: b\n"
             "      prefixes: [\"+1\", \"+53\"]\n",
     {"t.yaml:15:24: toll_fraud.profiles[1].prefixes[1]: prefix \"+53\" is already in profile 'a' (at 13:18); a "
      "number belongs to one profile"}},
    {"ProfileNameTwice",
     kBase + "toll_fraud:\n  profiles:\n    - name: a\n      prefixes: [\"+53\"]\n    - name: a\n"
             "      prefixes: [\"+1\"]\n",
     {"t.yaml:14:13: toll_fraud.profiles[1].name: duplicate profile name 'a' (first at 12:13)"}},
    // handsets.known (validator and semantics): positions of the entries' values.
    {"KnownAorTwice", known_policy("    - aor: 201@pbx.example.net\n    - aor: 201@PBX.example.net\n"),
     {"t.yaml:8:12: handsets.known[1].aor: duplicate AOR '201@PBX.example.net' (first at 7:12)"}},
    {"KnownExtensionOverlapsAnAor", known_policy("    - aor: \"201\"\n    - aor: 201@pbx.example.net\n"),
     {"t.yaml:8:12: handsets.known[1].aor: AOR '201@pbx.example.net' overlaps the extension '201' (at 7:12), which "
      "stands for that user at any domain"}},
    {"KnownBadAor", known_policy("    - aor: \"201 x@pbx\"\n"),
     {"t.yaml:7:12: handsets.known[0].aor: \"201 x@pbx\" is not an AOR (expected user@domain or an extension, e.g. "
      "201@pbx.example.net or 201)"}},
    {"KnownBadAddress", known_policy("    - aor: \"201\"\n      address: 192.168.20.300\n"),
     {"t.yaml:8:16: handsets.known[0].address: \"192.168.20.300\" is not an IP address (expected one address, e.g. "
      "192.168.20.10)"}},
    {"KnownAddressIsAPrefix", known_policy("    - aor: \"201\"\n      address: 192.168.20.0/24\n"),
     {"t.yaml:8:16: handsets.known[0].address: \"192.168.20.0/24\" is not an IP address (expected one address, e.g. "
      "192.168.20.10)"}},
    {"KnownAddressOutsideTheHandsetNetworks", known_policy("    - aor: \"201\"\n      address: 10.1.2.3\n"),
     {"t.yaml:8:16: handsets.known[0].address: \"10.1.2.3\" is not inside handsets.networks"}},
    {"KnownWithoutAor", known_policy("    - address: 192.168.20.10\n"),
     {"t.yaml:7:7: handsets.known[0].aor: required key is missing"}},
    {"MetricsFileRelative", kBase + "metrics:\n  file: voipguard.prom\n",
     {"t.yaml:11:9: metrics.file: \"voipguard.prom\" is not an absolute path of a .prom file (the textfile "
      "collector reads only *.prom, e.g. /var/lib/prometheus/node-exporter/voipguard.prom)"}},
    {"MetricsFileNotProm", kBase + "metrics:\n  file: /var/prometheus/voipguard.txt\n",
     {"t.yaml:11:9: metrics.file: \"/var/prometheus/voipguard.txt\" is not an absolute path of a .prom file (the "
      "textfile collector reads only *.prom, e.g. /var/lib/prometheus/node-exporter/voipguard.prom)"}},
    {"MetricsFileOnlySuffix", kBase + "metrics:\n  file: /var/prometheus/.prom\n",
     {"t.yaml:11:9: metrics.file: \"/var/prometheus/.prom\" is not an absolute path of a .prom file (the "
      "textfile collector reads only *.prom, e.g. /var/lib/prometheus/node-exporter/voipguard.prom)"}},
    {"LoggingSocketRelative", kBase + "logging:\n  socket: dev/log\n",
     {"t.yaml:11:11: logging.socket: \"dev/log\" is not an absolute path of at most 107 bytes (a Unix socket, "
      "e.g. /dev/log)"}},
    {"LoggingMaskKeepStartOutOfRange", kBase + "logging:\n  mask_keep_start: 17\n", {"t.yaml:11:20: logging.mask_keep_start: \"17\" is out of range (0..16)"}},
    {"LoggingMaskNumbersNotBoolean", kBase + "logging:\n  mask_numbers: partly\n", {"t.yaml:11:17: logging.mask_numbers: \"partly\" is not a boolean (expected true or false)"}},
    {"AlertsCommandRelative", kBase + "alerts:\n  command: [alert-mail, noc@example.net]\n",
     {"t.yaml:11:12: alerts.command: \"alert-mail\" is not an absolute path of a program (the command runs "
      "without a shell, e.g. /usr/libexec/voipguard/alert-mail)"}},
};

INSTANTIATE_TEST_SUITE_P(Table, SemanticsErrors, ::testing::ValuesIn(kErrorCases),
                         test::case_name);

// Kept digits that leave every number whole: said where they are set.
TEST(SemanticsWarnings, MaskKeepingWholeNumbersIsWarned) {
    const auto r = load(kBase + "logging:\n  mask_keep_start: 10\n  mask_keep_end: 6\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    // (The base policy has no country code: that warning comes too.)
    auto about_mask = [](const std::vector<std::string>& w) {
        std::vector<std::string> out;
        for (const auto& x : w)
            if (x.find("mask_keep") != std::string::npos) out.push_back(x);
        return out;
    };
    EXPECT_EQ(about_mask(warnings_of(r)),
              (std::vector<std::string>{"t.yaml:12:18: warning: logging.mask_keep_end: mask_keep_start + mask_keep_end "
                                        "= 16: every number of up to 15 digits is shown whole (set "
                                        "logging.mask_numbers: false to say so)"}));
    const auto off = load(kBase + "logging:\n  mask_numbers: false\n  mask_keep_start: 10\n  mask_keep_end: 6\n");
    EXPECT_TRUE(about_mask(warnings_of(off)).empty()) << ::testing::PrintToString(warnings_of(off));
    EXPECT_FALSE(off.policy->logging.mask_numbers);
    const auto dflt = load(kBase);
    EXPECT_TRUE(dflt.policy->logging.mask_numbers);
    EXPECT_EQ(dflt.policy->logging.mask_keep_start, 4u);
    EXPECT_EQ(dflt.policy->logging.mask_keep_end, 2u);
}

// `n` extension methods (XEXTA, XEXTB, ... XEXTAA, ...; the first one
// `from` places along) at 10/s, one a line.
std::string rate_keys(int n, int from = 0) {
    std::string s;
    for (int i = from; i < from + n; ++i) {
        std::string m;
        for (int k = i;; k = k / 26 - 1) {
            m.insert(0, 1, static_cast<char>('A' + k % 26));
            if (k < 26) break;
        }
        s += "    XEXT" + m + ": 10/s\n";
    }
    return s;
}

// The engine limits so many methods in all (the three defaults count): one
// more would go unlimited ("default" first of all, looked up last). Refused
// at the first key past the limit, in one file or over includes.
TEST(Semantics, RateLimitsBeyondWhatTheEngineHoldsAreRefused) {
    const auto fits = load(kBase + "sip:\n  rate_limits:\n" + rate_keys(61));
    ASSERT_TRUE(fits.ok()) << ::testing::PrintToString(errors_of(fits));
    EXPECT_EQ(fits.policy->sip.rate_limits.size(), 64u);

    const auto over = load(kBase + "sip:\n  rate_limits:\n" + rate_keys(62));
    EXPECT_FALSE(over.ok());
    EXPECT_EQ(errors_of(over), (std::vector<std::string>{
                                   "t.yaml:73:13: sip.rate_limits.XEXTBJ: 65 methods in sip.rate_limits with the defaults "
                                   "(default, INVITE, REGISTER) and every file's keys; at most 64 are allowed"}));

    test::TempDir d;
    d.write("more.yaml", "version: 1\nsip:\n  rate_limits:\n" + rate_keys(40, 100));
    const std::string site = d.write("site.yaml", kBase + "include: [more.yaml]\nsip:\n  rate_limits:\n" + rate_keys(40));
    const auto merged = load_policy_file(site, test_options());
    EXPECT_FALSE(merged.ok());
    ASSERT_EQ(errors_of(merged).size(), 1u);
    EXPECT_NE(errors_of(merged)[0].find("83 methods in sip.rate_limits"), std::string::npos) << errors_of(merged)[0];
}

TEST(Semantics, HandsetsOverlapAResolvedHostName) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.0.2.0/24]\npeers:\n  pbx:\n    - name: p\n"
                        "      addresses: [sip.example.net]\n");
    const auto a = test::fake_resolve("sip.example.net").addresses.front().to_string();
    EXPECT_EQ(errors_of(r),
              std::vector<std::string>{"t.yaml:4:14: handsets.networks[0]: 192.0.2.0/24 overlaps " + a +
                                       "/32 of PBX 'p' (at t.yaml:8:19); in enforce mode the handset network may not "
                                       "contain a PBX address"});
}

TEST(Semantics, MonitorModeAllowsHandsetsOverlappingPbx) {
    const auto r = load("version: 1\nsite: t\nmode: monitor\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [192.168.20.5]\n");
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
}

// ---- warnings ------------------------------------------------------------------

// The warnings other than the one about a missing dial plan (most test
// policies have no country_code; that warning has its own test).
std::vector<std::string> other_warnings(const LoadResult& r) {
    std::vector<std::string> out;
    for (auto& w : warnings_of(r))
        if (w.find("warning: toll_fraud.country_code: not set") == std::string::npos) out.push_back(w);
    return out;
}

TEST(SemanticsWarnings, MissingCountryCodeSaysWhatIsEnforcedAndWhatNeedsADialPlan) {
    const auto r = load(kBase + "egress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(warnings_of(r),
              (std::vector<std::string>{
                  "t.yaml:1:1: warning: toll_fraud.country_code: not set: numbers dialled in international form (+..., "
                  "or with the international prefix 00), the built-in high-risk list and every limit are enforced, but "
                  "national numbers cannot be normalised: deny prefixes in national form match them only as dialled, "
                  "`+` prefixes never; set it to the site's country calling code (\"44\", \"1\")"}));
    const auto with = load(kBase + "egress:\n  mode: allow_list\ntoll_fraud:\n  country_code: \"44\"\n");
    ASSERT_TRUE(with.ok());
    EXPECT_TRUE(warnings_of(with).empty()) << ::testing::PrintToString(warnings_of(with));
}

TEST(SemanticsWarnings, MissingCountryCodeInAllowListModeSaysNationalNumbersAreDenied) {
    const auto r = load(kBase + "egress:\n  mode: allow_list\ntoll_fraud:\n  mode: allow_list\n  allow_prefixes: [\"+44\"]\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(warnings_of(r).size(), 1u);
    EXPECT_NE(warnings_of(r)[0].find("in allow_list mode they are denied unless an allow prefix matches them as dialled"),
              std::string::npos);
}

TEST(SemanticsWarnings, OnFailureOpenWithEnforceIsExplained) {
    const auto r = load("version: 1\nsite: t\non_failure: open\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\negress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r),
              (std::vector<std::string>{
                  "t.yaml:3:13: warning: on_failure: 'open' with mode 'enforce': while the daemon is stopped or its queue "
                  "is full the kernel lets voice traffic through unchecked; set on_failure: closed to drop it instead "
                  "(calls then fail until the daemon is back)"}));
}

TEST(SemanticsWarnings, DefaultOnFailureOpenIsWarnedAtTheTop) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\negress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(other_warnings(r).size(), 1u);
    EXPECT_EQ(other_warnings(r)[0].rfind("t.yaml:1:1: warning: on_failure: 'open' (the default) with mode 'enforce'", 0), 0u);
}

TEST(SemanticsWarnings, OpenEgressIsWarnedTheDefaultAllowListIsNot) {
    const auto quiet = load(kBase);
    ASSERT_TRUE(quiet.ok());
    EXPECT_TRUE(other_warnings(quiet).empty()) << ::testing::PrintToString(other_warnings(quiet));
    const auto r = load(kBase + "egress:\n  mode: open\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(other_warnings(r).size(), 1u);
    EXPECT_NE(other_warnings(r)[0].find(
                  "warning: egress.mode: open: handsets may reach any destination except with SIP "
                  "(which may reach only the PBX), and every flow they open gets its return traffic, which VoIP "
                  "does not need"),
              std::string::npos)
        << other_warnings(r)[0];
}

TEST(SemanticsWarnings, TelnetSupportPort) {
    const auto r = load(kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: [tcp/22, tcp/23]\n"
                                "egress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{
                                  "t.yaml:13:23: warning: peers.support[0].ports[1]: tcp/23 is telnet (clear-text "
                                  "passwords); prefer an encrypted service such as tcp/22 or tcp/443"}));
}

TEST(SemanticsWarnings, MonitorModeHasNoEnforceWarnings) {
    const auto r = load(kBase + "mode: monitor\n");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(other_warnings(r).empty()) << ::testing::PrintToString(other_warnings(r));
}

TEST(SemanticsWarnings, AllowListWithoutPrefixes) {
    const auto r = load(kBase + "egress:\n  mode: allow_list\ntoll_fraud:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{"t.yaml:13:9: warning: toll_fraud.mode: allow_list with no "
                                                        "allow_prefixes: only emergency numbers can be called"}));
}

TEST(SemanticsWarnings, WorldWritableFile) {
    test::TempDir dir;
    const auto path = dir.write("p.yaml", kBase + "egress:\n  mode: allow_list\n");
    ASSERT_EQ(chmod(path.c_str(), 0666), 0);
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{path + ": warning: the policy file is writable by every user: "
                                                               "anyone on this system can change the firewall policy"}));
}

// The schedule's time zone is resolved when the policy loads: a POSIX rule
// needs no files, an IANA name needs its zone file, and a missing one is an
// error at the key (never UTC in silence).
TEST(Semantics, TimeZoneIsResolvedWhenThePolicyLoads) {
    const std::string base = "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n"
                             "    - name: p\n      addresses: [203.0.113.1]\n"
                             "toll_fraud:\n  out_of_hours:\n    business_hours: [\"mon-fri 08:00-18:00\"]\n";
    LoadOptions o = test_options();
    o.zoneinfo_dir = "/nonexistent";
    auto r = load_policy_text(base + "    timezone: \"GMT0BST,M3.5.0/1,M10.5.0\"\n", "t.yaml", o);
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->toll_fraud.out_of_hours.zone.utc_offset(1690000000), 3600);   // July: BST
    EXPECT_EQ(r.policy->toll_fraud.out_of_hours.zone.utc_offset(1700000000), 0);      // November: GMT
    r = load_policy_text(base + "    timezone: Europe/London\n", "t.yaml", o);
    EXPECT_EQ(errors_of(r),
              std::vector<std::string>{"t.yaml:12:15: toll_fraud.out_of_hours.timezone: unknown time zone "
                                       "'Europe/London': no zone file /nonexistent/Europe/London (install the tz "
                                       "database, on OpenWrt a zoneinfo package, or write the zone's POSIX rule as "
                                       "in /etc/TZ, e.g. GMT0BST,M3.5.0/1,M10.5.0)"});
    r = load_policy_text(base, "t.yaml", o);   // the default, UTC, needs no file
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->toll_fraud.out_of_hours.zone.utc_offset(1690000000), 0);
}

}  // namespace
}  // namespace vg::config
