// SPDX-License-Identifier: GPL-2.0-or-later
// One file against the schema table (config/validator.cpp): unknown keys with
// a suggestion, types, ranges, list lengths, required keys, keys that are
// switched off; every error with its exact text and position; the budget of
// values against alias bombs.
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <time.h>

#include <chrono>

namespace vg::config {
namespace {

using test::ErrorCase;
using test::errors_of;
using test::load;
using test::test_options;

// CPU time of the calling thread: the work it did, however long other
// processes kept it waiting (wall-clock time counts that too).
std::chrono::duration<double> thread_cpu_time() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

class ValidatorErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ValidatorErrors, ReportsExactTextAndPosition) { test::expect_errors(GetParam()); }

const ErrorCase kErrorCases[] = {
    {"UnknownKeyDidYouMean", kBase + "mdoe: enforce\n",
     {"t.yaml:10:1: mdoe: unknown key (did you mean 'mode'?)"}},
    {"UnknownKeyNoSuggestion", kBase + "colour: blue\n", {"t.yaml:10:1: colour: unknown key"}},
    {"UnknownNestedKey", kBase + "sip:\n  max_header: 10\n",
     {"t.yaml:11:3: sip.max_header: unknown key (did you mean 'max_headers'?)"}},
    {"UnknownKeyInListItem", kBase + "      adresses: [203.0.113.11]\n",
     {"t.yaml:10:7: peers.pbx[0].adresses: unknown key (did you mean 'addresses'?)"}},
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
    {"BadEnumNoSuggestion", kBase + "mode: block\n", {"t.yaml:10:7: mode: \"block\" is not one of enforce, monitor"}},
    {"BadBoolean", kBase + "media:\n  rtcp: yes\n",
     {"t.yaml:11:9: media.rtcp: \"yes\" is not a boolean (expected true or false)"}},
    {"InvalidCidr", kBase + "egress:\n  allow:\n    - name: ntp\n      addresses: [192.0.2.300]\n      ports: [udp/123]\n",
     {"t.yaml:13:19: egress.allow[0].addresses[0]: \"192.0.2.300\" is not an IP address, network or host name"}},
    {"AddressHostBitsSet", kBase + "egress:\n  allow:\n    - name: ntp\n      addresses: [192.0.2.1/24]\n      ports: [udp/123]\n",
     {"t.yaml:13:19: egress.allow[0].addresses[0]: \"192.0.2.1/24\" has host bits set (did you mean 192.0.2.0/24?)"}},
    {"InvalidHandsetCidr",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/33]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:4:14: handsets.networks[0]: \"192.168.20.0/33\" is not an IP network (expected e.g. 192.0.2.0/24 or 2001:db8::/32)"}},
    {"CidrHostBitsSet",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.1/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:4:14: handsets.networks[0]: \"192.168.20.1/24\" has host bits set (did you mean 192.168.20.0/24?)"}},
    {"InvalidPort", kBase + "sip:\n  ports: [5060, 70000]\n",
     {"t.yaml:11:17: sip.ports[1]: \"70000\" is not a port (expected 1..65535)"}},
    {"InvalidAuditPort",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n  audit_ports: [8443, 0]\npeers:\n  pbx:\n"
     "    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:5:23: handsets.audit_ports[1]: \"0\" is not a port (expected 1..65535)"}},
    {"InvalidPortRange", kBase + "      media:\n        ports: \"20000-10000\"\n",
     {"t.yaml:11:16: peers.pbx[0].media.ports: \"20000-10000\" is not a port range (expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535)"}},
    {"InvalidServicePort", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: [ssh/22]\n",
     {"t.yaml:13:15: peers.support[0].ports[0]: \"ssh/22\" is not a service port (expected tcp/PORT or udp/PORT, e.g. tcp/443)"}},
    {"InvalidRate", kBase + "sip:\n  rate_limits:\n    INVITE: 10/x\n",
     {"t.yaml:12:13: sip.rate_limits.INVITE: \"10/x\" is not a rate (expected N/s, N/min or N/h, optionally followed by \"burst M\", e.g. 10/s burst 20)"}},
    {"RateOutOfRange", kBase + "sip:\n  rate_limits:\n    INVITE: 0/s\n",
     {"t.yaml:12:13: sip.rate_limits.INVITE: \"0/s\" is out of range (1..100000 for N and M)"}},
    {"RateMapBadMethod", kBase + "sip:\n  rate_limits:\n    invite: 10/s\n",
     {"t.yaml:12:5: sip.rate_limits.invite: not a SIP method (did you mean 'INVITE'? method names are case-sensitive)"}},
    {"RateMapNotAMethod", kBase + "sip:\n  rate_limits:\n    x-y: 10/s\n",
     {"t.yaml:12:5: sip.rate_limits.x-y: not a SIP method (expected an upper-case method such as INVITE, or 'default')"}},
    {"InvalidDuration", kBase + "media:\n  idle_timeout: 10x\n",
     {"t.yaml:11:17: media.idle_timeout: \"10x\" is not a duration (expected a whole number with s, m, h or d, e.g. 30s)"}},
    {"DurationOutOfRange", kBase + "media:\n  idle_timeout: 2s\n",
     {"t.yaml:11:17: media.idle_timeout: \"2s\" is out of range (5s..1h)"}},
    // handsets.stale_after: a minute at least (an unplugged phone reported soon, not between two registrations).
    {"StaleAfterBelowAMinute", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n  stale_after: 59s\n"
                               "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:5:16: handsets.stale_after: \"59s\" is out of range (1m..365d)"}},
    {"InvalidPrefix", kBase + "toll_fraud:\n  deny_prefixes: [\"+881\", \"+88a\"]\n",
     {"t.yaml:11:27: toll_fraud.deny_prefixes[1]: \"+88a\" is not a dialling prefix (expected digits with an optional leading +, e.g. +881)"}},
    {"InvalidCountryCode", kBase + "toll_fraud:\n  country_code: \"4444\"\n",
     {"t.yaml:11:17: toll_fraud.country_code: \"4444\" is not 1..3 digits"}},
    {"InvalidWeeklyWindow", kBase + "toll_fraud:\n  out_of_hours:\n    business_hours: [\"mon-fri 18:00-08:00\"]\n",
     {"t.yaml:12:22: toll_fraud.out_of_hours.business_hours[0]: \"mon-fri 18:00-08:00\" is not a weekly window (expected DAYS HH:MM-HH:MM, e.g. mon-fri 08:00-18:00)"}},
    {"InvalidTimezone", kBase + "toll_fraud:\n  out_of_hours:\n    timezone: \"../etc/passwd\"\n",
     {"t.yaml:12:15: toll_fraud.out_of_hours.timezone: \"../etc/passwd\" is not a time zone (expected an IANA name such as Europe/London or UTC, or a POSIX TZ rule such as GMT0BST,M3.5.0/1,M10.5.0)"}},
    {"InvalidFirmwareVersion",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\n  firmware_minimums:\n"
     "    - match: Yealink\n      min_version: v96\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:7:20: handsets.firmware_minimums[0].min_version: \"v96\" is not a version (expected numbers separated by "
      "dots, e.g. 4.3.1)"}},
    {"InvalidInterfaceName",
     "version: 1\nsite: s\nhandsets:\n  networks: [192.168.20.0/24]\n  interfaces: [lan0, \"eth0;rm\", "
     "abcdefghijklmnop, \"wg@x.2_a-b\"]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:5:22: handsets.interfaces[1]: \"eth0;rm\" is not an interface name (1..15 letters, digits, '.', '_', '-', '@')",
      "t.yaml:5:33: handsets.interfaces[2]: \"abcdefghijklmnop\" is not an interface name (1..15 letters, digits, '.', '_', '-', '@')"}},
    {"InvalidName",
     "version: 1\nsite: \"acme london\"\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n",
     {"t.yaml:2:7: site: \"acme london\" is not a valid name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters)"}},
    // Emergency numbers are exempt from every rule: plain digits only (a
    // feature code can carry a destination), 15 at most.
    {"EmergencyNumberFeatureCode", kBase + "toll_fraud:\n  emergency_numbers: [\"112\", \"*99#\"]\n",
     {"t.yaml:11:30: toll_fraud.emergency_numbers[1]: \"*99#\" is a feature code, not an emergency number: emergency "
      "and service numbers are plain digits ('*' and '#' make a feature code, which can carry a destination, so it is "
      "never exempt)"}},
    {"EmergencyNumberTooLong", kBase + "toll_fraud:\n  emergency_numbers: [\"1234567890123456\"]\n",
     {"t.yaml:11:23: toll_fraud.emergency_numbers[0]: \"1234567890123456\" is not an emergency number (1..15 digits)"}},
    // inet_pton reads a C string: what follows a NUL escape must not vanish.
    {"AddressWithNul",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n"
     "      addresses: [\"203.0.113.10\\0junk\"]\n",
     {"t.yaml:8:19: peers.pbx[0].addresses[0]: \"203.0.113.10?junk\" is not an IP address, network or host name"}},
    // IPv4 packets carry IPv4 addresses: a mapped one never matches.
    {"MappedPbxAddress",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n"
     "      addresses: [\"::ffff:203.0.113.10\"]\n",
     {"t.yaml:8:19: peers.pbx[0].addresses[0]: \"::ffff:203.0.113.10\" is an IPv4-mapped IPv6 address, which never "
      "matches an IPv4 packet; write the IPv4 form 203.0.113.10"}},
    {"MappedHandsetNetwork",
     "version: 1\nsite: t\nhandsets:\n  networks: [\"::ffff:192.168.20.0/120\"]\npeers:\n  pbx:\n    - name: p\n"
     "      addresses: [203.0.113.1]\n",
     {"t.yaml:4:14: handsets.networks[0]: \"::ffff:192.168.20.0/120\" is an IPv4-mapped IPv6 prefix, which never "
      "matches an IPv4 packet; write the IPv4 form 192.168.20.0/24"}},
    // getaddrinfo reads these as addresses without asking DNS.
    {"HostNameInLegacyHexForm",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n"
     "      addresses: [0x7f.0.0.1, 0xcb.0.113.010]\n",
     {"t.yaml:8:19: peers.pbx[0].addresses[0]: \"0x7f.0.0.1\" is read by the C library as the IPv4 address 127.0.0.1 "
      "(a legacy numeric form: hexadecimal, octal with a leading 0, or fewer than four parts); write the address in "
      "dotted decimal without leading zeros",
      "t.yaml:8:31: peers.pbx[0].addresses[1]: \"0xcb.0.113.010\" is read by the C library as the IPv4 address "
      "203.0.113.8 (a legacy numeric form: hexadecimal, octal with a leading 0, or fewer than four parts); write the "
      "address in dotted decimal without leading zeros"}},
    {"AddressInLegacyOctalForm",
     "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n"
     "      addresses: [203.0.113.010]\n",
     {"t.yaml:8:19: peers.pbx[0].addresses[0]: \"203.0.113.010\" is read by the C library as the IPv4 address "
      "203.0.113.8 (a legacy numeric form: hexadecimal, octal with a leading 0, or fewer than four parts); write the "
      "address in dotted decimal without leading zeros"}},
    {"EmptyPbxList", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx: []\n",
     {"t.yaml:6:8: peers.pbx: at least one PBX is required"}},
    {"PbxWithoutAddresses", "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n",
     {"t.yaml:7:7: peers.pbx[0].addresses: required key is missing"}},
    {"SupportWithoutPorts", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n",
     {"t.yaml:11:7: peers.support[0].ports: required key is missing"}},
    {"SupportWithEmptyPorts", kBase + "  support:\n    - name: noc\n      addresses: [198.51.100.7]\n      ports: []\n",
     {"t.yaml:13:14: peers.support[0].ports: must not be empty"}},
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
};

INSTANTIATE_TEST_SUITE_P(Table, ValidatorErrors, ::testing::ValuesIn(kErrorCases),
                         test::case_name);

TEST(Validator, IncludesCanBeSwitchedOff) {
    auto opt = test_options();
    opt.allow_includes = false;
    const auto r = load_policy_text(kBase + "include: [x.yaml]\n", "t.yaml", opt);
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{"t.yaml:10:1: include: includes are not allowed here"}));
}

TEST(Validator, BillionLaughsIsRejectedQuickly) {
    // Every alias is walked where the schema expects it: 1000 PBX entries,
    // each with the same 200 addresses.
    std::string y = "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n"
                    "    - &p {name: p, addresses: &a [";
    for (int i = 0; i < 200; ++i) y += i ? ", 203.0.113.1" : "203.0.113.1";
    y += "]}\n";
    for (int i = 0; i < 1000; ++i) y += "    - *p\n";
    // Quickly in CPU time: wall-clock time also counts the time other
    // processes had the CPU (under qemu-user on a busy machine, more than 5 s).
    const auto start = thread_cpu_time();
    const auto r = load(y);
    const double took = (thread_cpu_time() - start).count();
    EXPECT_FALSE(r.ok());
    EXPECT_LT(took, 5.0) << "seconds of CPU time";
    bool capped = false;
    for (const auto& e : errors_of(r)) capped |= e.find("more than 100000 values") != std::string::npos;
    EXPECT_TRUE(capped) << ::testing::PrintToString(errors_of(r));
}

TEST(Validator, ValueBudgetIsCountedAndReportedOnce) {
    auto opt = test_options();
    // The base policy has 12 values (keys' values and list items), sip and
    // its ports list 2 more: the budget runs out at the first port.
    opt.max_nodes = 14;
    const auto r = load_policy_text(kBase + "sip:\n  ports: [5060, 5061, 5062, 5063, 5064, 5065]\n", "t.yaml", opt);
    EXPECT_EQ(errors_of(r),
              (std::vector<std::string>{"t.yaml:11:11: the policy has more than 14 values (after alias expansion); "
                                        "refusing to go on"}));
    opt.max_nodes = 20;
    EXPECT_TRUE(load_policy_text(kBase + "sip:\n  ports: [5060, 5061, 5062, 5063, 5064, 5065]\n", "t.yaml", opt).ok());
}

}  // namespace
}  // namespace vg::config
