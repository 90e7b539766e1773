// SPDX-License-Identifier: GPL-2.0-or-later
// Validation: exact error text and positions for every kind of error, warnings,
// the model built from a valid policy, limits against abuse, host names.
#include "config/loader.h"
#include "config/schema.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vg::config {
namespace {

using test::errors_of;
using test::test_options;
using test::warnings_of;

// 9 lines; cases append from line 10.
const std::string kBase =
    "version: 1\n"
    "site: t\n"
    "on_failure: closed\n"
    "handsets:\n"
    "  networks: [192.168.20.0/24]\n"
    "peers:\n"
    "  pbx:\n"
    "    - name: pbx\n"
    "      addresses: [203.0.113.10]\n";

LoadResult load(const std::string& text) { return load_policy_text(text, "t.yaml", test_options()); }

TEST(Loader, BasePolicyIsValid) {
    const auto r = load(kBase);
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_TRUE(errors_of(r).empty());
}

struct ErrorCase {
    const char* name;
    std::string text;
    std::vector<std::string> errors;
};

class LoaderErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrors, ReportsExactTextAndPosition) {
    const auto& c = GetParam();
    const auto r = load(c.text);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), c.errors);
}

const ErrorCase kErrorCases[] = {
    {"UnknownKeyDidYouMean", kBase + "mdoe: enforce\n",
     {"t.yaml:10:1: mdoe: unknown key (did you mean 'mode'?)"}},
    {"UnknownKeyNoSuggestion", kBase + "colour: blue\n", {"t.yaml:10:1: colour: unknown key"}},
    {"UnknownNestedKey", kBase + "sip:\n  max_header: 10\n",
     {"t.yaml:11:3: sip.max_header: unknown key (did you mean 'max_headers'?)"}},
    {"UnknownKeyInListItem", kBase + "      adresses: [203.0.113.11]\n",
     {"t.yaml:10:7: peers.pbx[0].adresses: unknown key (did you mean 'addresses'?)"}},
    {"DuplicateKeyCitesFirst", kBase + "on_failure: open\n",
     {"t.yaml:10:1: on_failure: duplicate key 'on_failure' (first at 3:1)"}},
    {"DuplicateNestedKey", kBase + "      name: other\n",
     {"t.yaml:10:7: peers.pbx[0].name: duplicate key 'name' (first at 8:7)"}},
    {"WrongTypeMapExpected", kBase + "sip: [5060]\n", {"t.yaml:10:6: sip: expected a map, got a list"}},
    {"WrongTypeListExpected", kBase + "sip:\n  ports: 5060\n",
     {"t.yaml:11:10: sip.ports: expected a list of port, got a scalar"}},
    {"WrongTypeScalarExpected", kBase + "mode: [enforce]\n",
     {"t.yaml:10:7: mode: expected one of enforce, monitor, got a list"}},
    {"MissingValue", kBase + "mode:\n", {"t.yaml:10:1: mode: missing value (expected one of enforce, monitor)"}},
    {"NotAnInteger", kBase + "sip:\n  max_headers: many\n", {"t.yaml:11:16: sip.max_headers: \"many\" is not an integer"}},
    {"IntegerOutOfRange", kBase + "sip:\n  max_headers: 1000\n",
     {"t.yaml:11:16: sip.max_headers: \"1000\" is out of range (16..256)"}},
    {"IntegerBelowRange", kBase + "toll_fraud:\n  limits:\n    per_handset:\n      concurrent_calls: 0\n",
     {"t.yaml:13:25: toll_fraud.limits.per_handset.concurrent_calls: \"0\" is out of range (1..100)"}},
    {"BadEnumDidYouMean", kBase + "mode: enforcing\n",
     {"t.yaml:10:7: mode: \"enforcing\" is not one of enforce, monitor (did you mean 'enforce'?)"}},
    {"BadBoolean", kBase + "media:\n  rtcp: yes\n",
     {"t.yaml:11:9: media.rtcp: \"yes\" is not a boolean (expected true or false)"}},
    {"InvalidCidr", kBase + "egress:\n  allow:\n    - name: ntp\n      addresses: [192.0.2.300]\n      ports: [udp/123]\n",
     {"t.yaml:13:19: egress.allow[0].addresses[0]: \"192.0.2.300\" is not an IP address, network or host name"}},
    {"InvalidHandsetCidr",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/33]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:4:14: handsets.networks[0]: \"192.168.20.0/33\" is not an IP network (expected e.g. 192.0.2.0/24 or 2001:db8::/32)"}},
    {"CidrHostBitsSet",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.1/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:4:14: handsets.networks[0]: \"192.168.20.1/24\" has host bits set (did you mean 192.168.20.0/24?)"}},
    {"InvalidPort", kBase + "sip:\n  ports: [5060, 70000]\n",
     {"t.yaml:11:17: sip.ports[1]: \"70000\" is not a port (expected 1..65535)"}},
    {"InvalidPortRange", kBase + "      media:\n        ports: \"20000-10000\"\n",
     {"t.yaml:11:16: peers.pbx[0].media.ports: \"20000-10000\" is not a port range (expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535)"}},
    {"InvalidServicePort", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: [ssh/22]\n",
     {"t.yaml:13:15: peers.support[0].ports[0]: \"ssh/22\" is not a service port (expected tcp/PORT or udp/PORT, e.g. tcp/443)"}},
    {"InvalidRate", kBase + "sip:\n  rate_limits:\n    INVITE: 10/x\n",
     {"t.yaml:12:13: sip.rate_limits.INVITE: \"10/x\" is not a rate (expected N/s, N/min or N/h, optionally followed by \"burst M\", e.g. 10/s burst 20)"}},
    {"RateOutOfRange", kBase + "sip:\n  rate_limits:\n    INVITE: 0/s\n",
     {"t.yaml:12:13: sip.rate_limits.INVITE: \"0/s\" is out of range (1..100000 for N and M)"}},
    {"RateMapBadMethod", kBase + "sip:\n  rate_limits:\n    invite: 10/s\n",
     {"t.yaml:12:5: sip.rate_limits.invite: not a SIP method (expected an upper-case method such as INVITE, or 'default')"}},
    {"InvalidDuration", kBase + "media:\n  idle_timeout: 10x\n",
     {"t.yaml:11:17: media.idle_timeout: \"10x\" is not a duration (expected a whole number with s, m, h or d, e.g. 30s)"}},
    {"DurationOutOfRange", kBase + "media:\n  idle_timeout: 2s\n",
     {"t.yaml:11:17: media.idle_timeout: \"2s\" is out of range (5s..1h)"}},
    {"InvalidPrefix", kBase + "toll_fraud:\n  deny_prefixes: [\"+881\", \"+88a\"]\n",
     {"t.yaml:11:27: toll_fraud.deny_prefixes[1]: \"+88a\" is not a dialling prefix (expected digits with an optional leading +, e.g. +881)"}},
    {"InvalidCountryCode", kBase + "toll_fraud:\n  country_code: \"4444\"\n",
     {"t.yaml:11:17: toll_fraud.country_code: \"4444\" is not 1..3 digits"}},
    {"InvalidWeeklyWindow", kBase + "toll_fraud:\n  out_of_hours:\n    business_hours: [\"mon-fri 18:00-08:00\"]\n",
     {"t.yaml:12:22: toll_fraud.out_of_hours.business_hours[0]: \"mon-fri 18:00-08:00\" is not a weekly window (expected DAYS HH:MM-HH:MM, e.g. mon-fri 08:00-18:00)"}},
    {"InvalidTimezone", kBase + "toll_fraud:\n  out_of_hours:\n    timezone: \"../etc/passwd\"\n",
     {"t.yaml:12:15: toll_fraud.out_of_hours.timezone: \"../etc/passwd\" is not a time zone (expected an IANA name such as Europe/London or UTC, or a POSIX TZ rule such as GMT0BST,M3.5.0/1,M10.5.0)"}},
    {"InvalidFirmwareVersion", kBase.substr(0, 40) + "  firmware_minimums:\n    - match: Yealink\n      min_version: v96\n" + kBase.substr(40),
     {}},  // replaced below
    {"InvalidInterfaceName",
     "version: 1\nsite: s\nhandsets:\n  networks: [192.168.20.0/24]\n  interfaces: [lan0, \"eth0;rm\", "
     "abcdefghijklmnop, \"wg@x.2_a-b\"]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:5:22: handsets.interfaces[1]: \"eth0;rm\" is not an interface name (1..15 letters, digits, '.', '_', '-', '@')",
      "t.yaml:5:33: handsets.interfaces[2]: \"abcdefghijklmnop\" is not an interface name (1..15 letters, digits, '.', '_', '-', '@')"}},
    {"InvalidName",
     "version: 1\nsite: \"acme london\"\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:2:7: site: \"acme london\" is not a valid name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters)"}},
    {"EmptyPbxList", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx: []\n",
     {"t.yaml:6:8: peers.pbx: at least one PBX is required"}},
    {"NoPbxAtAll", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n",
     {"t.yaml:1:1: peers.pbx: required key is missing (at least one PBX is required)"}},
    {"PbxWithoutAddresses", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n",
     {"t.yaml:7:7: peers.pbx[0].addresses: required key is missing"}},
    {"SupportWithoutPorts", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n",
     {"t.yaml:11:7: peers.support[0].ports: required key is missing"}},
    {"SupportWithEmptyPorts", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: []\n",
     {"t.yaml:13:14: peers.support[0].ports: must not be empty"}},
    {"HandsetsOverlapPbxInEnforce",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [192.168.20.5]\n",
     {"t.yaml:4:14: handsets.networks[0]: 192.168.20.0/24 overlaps 192.168.20.5/32 of PBX 'p' (at t.yaml:8:19); in enforce mode the handset network may not contain a PBX address"}},
    {"HandsetsOverlapResolvedHostName",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.0.2.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [sip.example.net]\n",
     {}},  // filled below (address depends on the fake resolver)
    {"UnknownVersion",
     "version: 2\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:1:10: version: unsupported policy version 2 (this voipguard reads version 1)"}},
    {"MissingRequiredKeys", "version: 1\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:1:1: site: required key is missing", "t.yaml:1:1: handsets: required key is missing"}},
    {"MissingVersion",
     "site: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:1:1: version: required key is missing"}},
    {"EmptyDocument", "", {"t.yaml:1:1: the policy is empty (expected a map with version, site, handsets and peers)"}},
    {"NotAMap", "- a\n- b\n", {"t.yaml:1:1: the policy must be a map of keys, not a list"}},
    {"UnresolvableHostName", kBase + "  support:\n    - name: noc\n      addresses: [noc.invalid]\n      ports: [tcp/22]\n",
     {"t.yaml:12:19: peers.support[0].addresses[0]: host name 'noc.invalid' does not resolve (Name or service not known); a host name must resolve when the policy is loaded"}},
    {"DuplicatePeerName", kBase + "  support:\n    - name: pbx\n      addresses: [198.51.100.7]\n      ports: [tcp/22]\n",
     {"t.yaml:11:13: peers.support[0].name: duplicate peer name 'pbx' (first at 8:13)"}},
    {"TwoDocuments", kBase + "---\nversion: 1\n", {"t.yaml:10:1: only one YAML document is allowed in a policy file"}},
    {"ComplexKey", kBase + "? [a]\n: b\n", {"t.yaml:10:3: a key must be a plain value, not a list"}},
};

std::vector<ErrorCase> error_cases() {
    std::vector<ErrorCase> v(std::begin(kErrorCases), std::end(kErrorCases));
    for (auto& c : v) {
        if (std::string(c.name) == "InvalidFirmwareVersion") {
            c.text = kBase + "handsets_extra: 1\n";
            c.text = "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n  firmware_minimums:\n"
                     "    - match: Yealink\n      min_version: v96\npeers:\n  pbx:\n    - name: p\n"
                     "      addresses: [203.0.113.1]\n";
            c.errors = {"t.yaml:7:20: handsets.firmware_minimums[0].min_version: \"v96\" is not a version (expected "
                        "numbers separated by dots, e.g. 4.3.1)"};
        }
        if (std::string(c.name) == "HandsetsOverlapResolvedHostName") {
            const auto a = test::fake_resolve("sip.example.net").addresses.front().to_string();
            c.errors = {"t.yaml:4:14: handsets.networks[0]: 192.0.2.0/24 overlaps " + a + "/32 of PBX 'p' (at t.yaml:8:19); "
                        "in enforce mode the handset network may not contain a PBX address"};
        }
    }
    return v;
}

INSTANTIATE_TEST_SUITE_P(Table, LoaderErrors, ::testing::ValuesIn(error_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

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

TEST(Loader, MonitorModeAllowsHandsetsOverlappingPbx) {
    const auto r = load("version: 1\nsite: t\nmode: monitor\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [192.168.20.5]\n");
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
}

TEST(Loader, DiagnosticFormat) {
    Diagnostic d{Diagnostic::Severity::error, "p.yaml", 12, 5, "sip.rate_limits.INVITE", "bad"};
    EXPECT_EQ(d.format(), "p.yaml:12:5: sip.rate_limits.INVITE: bad");
    d.severity = Diagnostic::Severity::warning;
    EXPECT_EQ(d.format(), "p.yaml:12:5: warning: sip.rate_limits.INVITE: bad");
    d.line = 0;
    d.path.clear();
    EXPECT_EQ(d.format(), "p.yaml: warning: bad");
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

TEST(LoaderWarnings, MissingCountryCodeSaysWhatIsEnforcedAndWhatNeedsADialPlan) {
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

TEST(LoaderWarnings, MissingCountryCodeInAllowListModeSaysNationalNumbersAreDenied) {
    const auto r = load(kBase + "egress:\n  mode: allow_list\ntoll_fraud:\n  mode: allow_list\n  allow_prefixes: [\"+44\"]\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(warnings_of(r).size(), 1u);
    EXPECT_NE(warnings_of(r)[0].find("in allow_list mode they are denied unless an allow prefix matches them as dialled"),
              std::string::npos);
}

TEST(LoaderWarnings, OnFailureOpenWithEnforceIsExplained) {
    const auto r = load("version: 1\nsite: t\non_failure: open\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\negress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r),
              (std::vector<std::string>{
                  "t.yaml:3:13: warning: on_failure: 'open' with mode 'enforce': while the daemon is stopped or its queue "
                  "is full the kernel lets voice traffic through unchecked; set on_failure: closed to drop it instead "
                  "(calls then fail until the daemon is back)"}));
}

TEST(LoaderWarnings, DefaultOnFailureOpenIsWarnedAtTheTop) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n"
                        "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\negress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(other_warnings(r).size(), 1u);
    EXPECT_EQ(other_warnings(r)[0].rfind("t.yaml:1:1: warning: on_failure: 'open' (the default) with mode 'enforce'", 0), 0u);
}

TEST(LoaderWarnings, NoEgressAllowList) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{
                                  "t.yaml:1:1: warning: egress.mode: no egress allow-list: handsets may reach any "
                                  "destination except with SIP (which may reach only the PBX); set egress.mode: "
                                  "allow_list and list NTP, provisioning and firmware servers in egress.allow"}));
}

TEST(LoaderWarnings, TelnetSupportPort) {
    const auto r = load(kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: [tcp/22, tcp/23]\n"
                                "egress:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{
                                  "t.yaml:13:23: warning: peers.support[0].ports[1]: tcp/23 is telnet (clear-text "
                                  "passwords); prefer an encrypted service such as tcp/22 or tcp/443"}));
}

TEST(LoaderWarnings, MonitorModeHasNoEnforceWarnings) {
    const auto r = load(kBase + "mode: monitor\n");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(other_warnings(r).empty()) << ::testing::PrintToString(other_warnings(r));
}

TEST(LoaderWarnings, AllowListWithoutPrefixes) {
    const auto r = load(kBase + "egress:\n  mode: allow_list\ntoll_fraud:\n  mode: allow_list\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{"t.yaml:13:9: warning: toll_fraud.mode: allow_list with no "
                                                        "allow_prefixes: only emergency numbers can be called"}));
}

TEST(LoaderWarnings, WorldWritableFile) {
    test::TempDir dir;
    const auto path = dir.write("p.yaml", kBase + "egress:\n  mode: allow_list\n");
    ASSERT_EQ(chmod(path.c_str(), 0666), 0);
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(other_warnings(r), (std::vector<std::string>{path + ": warning: the policy file is writable by every user: "
                                                               "anyone on this system can change the firewall policy"}));
}

// ---- the model ---------------------------------------------------------------------

TEST(LoaderModel, DefaultsComeFromTheSchema) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.ok());
    const Policy& p = *r.policy;
    EXPECT_EQ(p.site, "t");
    EXPECT_EQ(p.mode, Mode::enforce);
    EXPECT_EQ(p.on_failure, OnFailure::closed);
    EXPECT_EQ(p.sip.ports, (std::vector<std::uint16_t>{5060}));
    EXPECT_EQ(p.sip.max_message_size, 8192u);
    EXPECT_EQ(p.sip.max_headers, 64u);
    EXPECT_TRUE(p.sip.drop_malformed);
    EXPECT_EQ(p.media.idle_timeout, std::chrono::seconds(60));
    EXPECT_EQ(p.media.max_call_duration, std::chrono::hours(4));
    EXPECT_EQ(p.handsets.stale_after, std::chrono::hours(24 * 30));
    EXPECT_EQ(p.dns.refresh, std::chrono::minutes(5));
    EXPECT_EQ(p.logging.level, "info");
    EXPECT_EQ(p.logging.facility, "daemon");
    EXPECT_EQ(p.toll_fraud.national_prefix, "0");
    EXPECT_EQ(p.toll_fraud.international_prefix, "00");
    EXPECT_EQ(p.toll_fraud.country_code, "");
    EXPECT_EQ(p.toll_fraud.limits.per_handset_concurrent_calls, 2u);
    EXPECT_EQ(p.toll_fraud.emergency_numbers, (std::vector<std::string>{"112", "911", "999"}));
    EXPECT_EQ(p.toll_fraud.deny_prefixes.size(), builtin_high_risk_prefixes().size());
    EXPECT_EQ(p.sip.scanner_user_agents.size(), builtin_scanner_user_agents().size());
    ASSERT_EQ(p.sip.rate_limits.count("INVITE"), 1u);
    EXPECT_EQ(p.sip.rate_limits.at("INVITE").count, 5u);
    EXPECT_EQ(p.sip.rate_limits.at("default").burst, 40u);
    ASSERT_EQ(p.peers.pbx.size(), 1u);
    EXPECT_TRUE(p.peers.pbx[0].media.addresses_from_pbx);
    EXPECT_EQ(p.peers.pbx[0].media.addresses.size(), 1u);
    EXPECT_EQ(p.peers.pbx[0].media.ports.first, 1024);
    EXPECT_EQ(p.peers.pbx[0].origin.to_string(), "t.yaml:8:7");
    EXPECT_TRUE(p.defaulted.count("sip.max_headers"));
    EXPECT_TRUE(p.defaulted.count("sip.ports"));
    EXPECT_FALSE(p.defaulted.count("on_failure"));
}

TEST(LoaderModel, ExplicitValuesAreParsed) {
    const auto r = load(kBase +
                        "  support:\n    - name: noc\n      addresses: [198.51.100.0/24]\n      ports: [tcp/443, udp/161, tcp/8000-8080]\n"
                        "sip:\n  rate_limits:\n    INVITE: 30/min burst 10\n  scanner_user_agents:\n    mode: replace\n"
                        "    patterns: [evil]\n"
                        "toll_fraud:\n  deny_builtin: false\n  deny_prefixes: [\"+881\", \"09\", \"+881\"]\n"
                        "  out_of_hours:\n    business_hours: [\"mon-fri 08:00-18:00\", \"sat,sun 10:00-24:00\"]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    const Policy& p = *r.policy;
    ASSERT_EQ(p.peers.support.size(), 1u);
    ASSERT_EQ(p.peers.support[0].ports.size(), 3u);
    EXPECT_EQ(p.peers.support[0].ports[1].transport, Transport::udp);
    EXPECT_EQ(p.peers.support[0].ports[2].ports.last, 8080);
    EXPECT_EQ(p.sip.rate_limits.at("INVITE").per, std::chrono::minutes(1));
    EXPECT_EQ(p.sip.rate_limits.at("INVITE").count, 30u);
    EXPECT_EQ(p.sip.rate_limits.at("REGISTER").count, 5u);   // other defaults kept
    EXPECT_EQ(p.sip.scanner_user_agents, (std::vector<std::string>{"evil"}));
    ASSERT_EQ(p.toll_fraud.deny_prefixes.size(), 2u);   // duplicates dropped, no built-ins
    EXPECT_EQ(p.toll_fraud.deny_prefixes[1].digits, "09");
    ASSERT_EQ(p.toll_fraud.out_of_hours.business_hours.size(), 2u);
    EXPECT_TRUE(p.toll_fraud.out_of_hours.enabled);
    EXPECT_EQ(p.toll_fraud.out_of_hours.business_hours[0].days, 0x1f);
    EXPECT_EQ(p.toll_fraud.out_of_hours.business_hours[1].days, 0x60);
    EXPECT_EQ(p.toll_fraud.out_of_hours.business_hours[1].end_minute, 1440);
}

// The schedule's time zone is resolved when the policy loads: a POSIX rule
// needs no files, an IANA name needs its zone file, and a missing one is an
// error at the key (never UTC in silence).
TEST(LoaderModel, TimeZoneIsResolvedWhenThePolicyLoads) {
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

TEST(LoaderModel, AnchorsAndAliasesWork) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n"
                        "    - name: p\n      addresses: &pbx [203.0.113.1, 203.0.113.2]\n      media:\n"
                        "        addresses: *pbx\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->peers.pbx[0].media.addresses.size(), 2u);
    EXPECT_FALSE(r.policy->peers.pbx[0].media.addresses_from_pbx);
}

// ---- host names ----------------------------------------------------------------------

TEST(LoaderHosts, HostNamesAreResolvedAndKept) {
    const auto r = load(kBase + "      media:\n        addresses: [media.example.net]\n");
    ASSERT_TRUE(r.ok());
    const auto& e = r.policy->peers.pbx[0].media.addresses[0];
    EXPECT_TRUE(e.is_host());
    EXPECT_EQ(e.host, "media.example.net");
    EXPECT_EQ(e.resolved, test::fake_resolve("media.example.net").addresses);
    EXPECT_EQ(e.prefixes().size(), 2u);
    EXPECT_EQ(e.path, "peers.pbx[0].media.addresses[0]");
}

TEST(LoaderHosts, NoResolveLeavesNamesUnresolved) {
    auto opt = test_options();
    opt.resolve_host_names = false;
    opt.resolver = [](const std::string&) -> ResolveResult {
        ADD_FAILURE() << "resolver called";
        return {};
    };
    const auto r = load_policy_text(kBase + "      media:\n        addresses: [nowhere.invalid]\n", "t.yaml", opt);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.policy->peers.pbx[0].media.addresses[0].resolved.empty());
}

TEST(LoaderHosts, RefreshKeepsLastGoodAddressesOnFailure) {
    auto r = load(kBase + "      media:\n        addresses: [media.example.net]\n");
    ASSERT_TRUE(r.ok());
    Policy p = *r.policy;
    const auto before = p.peers.pbx[0].media.addresses[0].resolved;
    const auto failed = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.error = "timeout";
        return rr;
    });
    EXPECT_FALSE(failed.changed);
    EXPECT_EQ(p.peers.pbx[0].media.addresses[0].resolved, before);
    EXPECT_EQ(failed.warnings.size(), 1u);
    EXPECT_EQ(failed.warnings[0].format(),
              "t.yaml:11:21: warning: peers.pbx[0].media.addresses[0]: host name 'media.example.net' does not resolve "
              "(timeout); keeping the last good addresses");

    const auto moved = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.addresses.push_back(*net::IpAddress::parse("192.0.2.99"));
        return rr;
    });
    EXPECT_TRUE(moved.changed);
    EXPECT_EQ(p.peers.pbx[0].media.addresses[0].resolved.size(), 1u);
    const auto same = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.addresses.push_back(*net::IpAddress::parse("192.0.2.99"));
        return rr;
    });
    EXPECT_FALSE(same.changed);
}

// ---- abuse ---------------------------------------------------------------------------

TEST(LoaderLimits, BillionLaughsIsRejectedQuickly) {
    // Every alias is walked where the schema expects it: 1000 PBX entries,
    // each with the same 200 addresses.
    std::string y = "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n"
                    "    - &p {name: p, addresses: &a [";
    for (int i = 0; i < 200; ++i) y += i ? ", 203.0.113.1" : "203.0.113.1";
    y += "]}\n";
    for (int i = 0; i < 1000; ++i) y += "    - *p\n";
    const auto start = std::chrono::steady_clock::now();
    const auto r = load(y);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok());
    EXPECT_LT(took, std::chrono::seconds(5));
    bool capped = false;
    for (const auto& e : errors_of(r)) capped |= e.find("more than 100000 values") != std::string::npos;
    EXPECT_TRUE(capped) << ::testing::PrintToString(errors_of(r));
}

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

TEST(LoaderLimits, IncludesCanBeDisabled) {
    auto opt = test_options();
    opt.allow_includes = false;
    const auto r = load_policy_text(kBase + "include: [x.yaml]\n", "t.yaml", opt);
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{"t.yaml:10:1: include: includes are not allowed here"}));
}

TEST(LoaderLimits, BinaryGarbageGivesDiagnosticsNotCrash) {
    const std::string junk("\x00\xff{[:\"\t\x01-?", 11);
    const auto r = load(junk);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.diagnostics.empty());
}

TEST(LoaderSummary, OneLine) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(summary_line(*r.policy),
              "site t: mode enforce, on_failure closed, 1 handset network, 1 PBX peer, 0 support peers, egress open, "
              "toll fraud on (6 deny prefixes, 0 allow prefixes, no country_code: international form only), 0 host "
              "names");
}

TEST(LoaderSummary, TollFraudEnforcementSaysWhatNeedsADialPlan) {
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
}

}  // namespace
}  // namespace vg::config
