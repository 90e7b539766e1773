// SPDX-License-Identifier: GPL-2.0-or-later
// The mistakes a first policy makes and `voipguard check` names, each with
// its exact text and position: dial prefixes that cannot match what they
// seem to, misspelt SIP methods in rate limits, a schedule without daylight
// saving in a country that has it, tabs in the indentation, keys at the
// wrong level, and keys that are natural guesses but do not exist.
#include "config/loader.h"
#include "config/schema.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

using test::ErrorCase;
using test::errors_of;
using test::load;
using test::warnings_of;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

// Warnings other than the ones every enforce policy without an egress
// allow-list, or without a country code, gets.
std::vector<std::string> own_warnings(const LoadResult& r) {
    std::vector<std::string> out;
    for (const auto& w : warnings_of(r))
        if (w.find("warning: egress.mode:") == std::string::npos &&
            w.find("warning: toll_fraud.country_code: not set") == std::string::npos)
            out.push_back(w);
    return out;
}

class MistakeErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(MistakeErrors, ReportsExactTextAndPosition) { test::expect_errors(GetParam()); }

const ErrorCase kErrorCases[] = {
    // 1. Dial prefixes.
    {"OwnCountryCodeWithoutPlus", kBase + "toll_fraud:\n  country_code: \"44\"\n  deny_prefixes: [\"+881\", \"447\"]\n",
     {"t.yaml:12:27: toll_fraud.deny_prefixes[1]: \"447\": a prefix without '+' or the national prefix '0' matches "
      "only numbers dialled without any prefix, as written (\"447...\"), never a number of country code 44 (dialled "
      "nationally or internationally, they are matched as \"+44...\"); did you mean \"+447\" or \"07\"?"}},
    {"OwnCountryCodeInAllowAndOutOfHoursLists",
     kBase + "toll_fraud:\n  country_code: \"49\"\n  allow_prefixes: [\"49\"]\n  out_of_hours:\n"
             "    business_hours: [\"mon-fri 08:00-18:00\"]\n    timezone: \"CET-1CEST,M3.5.0,M10.5.0/3\"\n"
             "    deny_prefixes: [\"4915\"]\n",
     {"t.yaml:12:20: toll_fraud.allow_prefixes[0]: \"49\": a prefix without '+' or the national prefix '0' matches "
      "only numbers dialled without any prefix, as written (\"49...\"), never a number of country code 49 (dialled "
      "nationally or internationally, they are matched as \"+49...\"); did you mean \"+49\" or \"0\"?",
      "t.yaml:16:21: toll_fraud.out_of_hours.deny_prefixes[0]: \"4915\": a prefix without '+' or the national prefix "
      "'0' matches only numbers dialled without any prefix, as written (\"4915...\"), never a number of country code "
      "49 (dialled nationally or internationally, they are matched as \"+49...\"); did you mean \"+4915\" or "
      "\"015\"?"}},
    {"CallbackValues",
     kBase + "toll_fraud:\n  callback:\n    window: 0s\n    max_ring: 6m\n    action: drop\n"
             "    risk_prefixes: [\"+88x\"]\n",
     {"t.yaml:12:13: toll_fraud.callback.window: \"0s\" is out of range (1m..30d)",
      "t.yaml:13:15: toll_fraud.callback.max_ring: \"6m\" is out of range (1s..5m)",
      "t.yaml:14:13: toll_fraud.callback.action: \"drop\" is not one of block, warn",
      "t.yaml:15:21: toll_fraud.callback.risk_prefixes[0]: \"+88x\" is not a dialling prefix (expected digits with "
      "an optional leading +, e.g. +881)"}},
    {"CallbackRiskPrefixesAreCheckedLikeDenyPrefixes",
     kBase + "toll_fraud:\n  country_code: \"44\"\n  callback:\n    risk_prefixes: [\"+09\"]\n",
     {"t.yaml:13:21: toll_fraud.callback.risk_prefixes[0]: \"+09\" never matches: country codes never start with 0, "
      "so no number in international form starts with +0; did you mean \"09\"?"}},
    {"UnprefixedPrefixNeverMatchesWithNationalReading",
     kBase + "toll_fraud:\n  country_code: \"1\"\n  national_prefix: \"1\"\n  unprefixed_numbers: national\n"
             "  deny_prefixes: [\"900\"]\n",
     {"t.yaml:14:19: toll_fraud.deny_prefixes[0]: \"900\": a prefix without '+' or the national prefix '1' never "
      "matches with unprefixed_numbers: national (a number dialled without a prefix is read as \"+1...\"); did you "
      "mean \"+1900\"?"}},
    {"UnprefixedNationalNeedsACountryCode", kBase + "toll_fraud:\n  unprefixed_numbers: national\n",
     {"t.yaml:11:23: toll_fraud.unprefixed_numbers: `national` needs toll_fraud.country_code: a number dialled "
      "without a prefix is read as the country code and its digits"}},
    {"PlusZeroNeverMatches", kBase + "toll_fraud:\n  country_code: \"44\"\n  deny_prefixes: [\"+09\", \"+00881\"]\n",
     {"t.yaml:12:19: toll_fraud.deny_prefixes[0]: \"+09\" never matches: country codes never start with 0, so no "
      "number in international form starts with +0; did you mean \"09\"?",
      "t.yaml:12:26: toll_fraud.deny_prefixes[1]: \"+00881\" never matches: country codes never start with 0, so no "
      "number in international form starts with +0; did you mean \"+881\"?"}},
    {"CountryCodeStartingWithZero", kBase + "toll_fraud:\n  country_code: \"044\"\n",
     {"t.yaml:11:17: toll_fraud.country_code: \"044\" is not a country calling code: they never start with 0 (the "
      "international prefix is toll_fraud.international_prefix); e.g. \"44\" for the United Kingdom"}},
    // 2. SIP methods in rate limits.
    {"MisspeltMethod", kBase + "sip:\n  rate_limits:\n    INVIET: 5/s\n",
     {"t.yaml:12:5: sip.rate_limits.INVIET: unknown SIP method (did you mean 'INVITE'?): this rate would limit a "
      "method nobody sends, and INVITE would keep its default"}},
    {"LowerCaseMethod", kBase + "sip:\n  rate_limits:\n    register: 5/s\n",
     {"t.yaml:12:5: sip.rate_limits.register: not a SIP method (did you mean 'REGISTER'? method names are "
      "case-sensitive)"}},
    {"UpperCaseDefault", kBase + "sip:\n  rate_limits:\n    DEFAULT: 5/s\n",
     {"t.yaml:12:5: sip.rate_limits.DEFAULT: unknown SIP method (did you mean 'default'?): this rate would limit a "
      "method nobody sends, and default would keep its default"}},
    // 6. Tabs in the indentation, named where they are, not where yaml-cpp gives up.
    {"TabIndentedKey", kBase + "sip:\n\tmax_headers: 100\n",
     {"t.yaml:11:1: tab character in the indentation; YAML indents with spaces"}},
    {"TabAfterSpaces", kBase + "toll_fraud:\n  country_code: \"44\"\n  \tdeny_prefixes: [\"+881\"]\n",
     {"t.yaml:12:3: tab character in the indentation; YAML indents with spaces"}},
    // 7. Keys at the wrong level.
    {"KeyIndentedTooLittle", kBase + "toll_fraud:\n  country_code: \"44\"\nout_of_hours:\n  deny_prefixes: [\"+\"]\n",
     {"t.yaml:12:1: out_of_hours: unknown key (did you mean 'toll_fraud.out_of_hours'? 'out_of_hours' is a key there, "
      "not here)"}},
    {"KeyIndentedTooMuch", kBase + "toll_fraud:\n  out_of_hours:\n    business_hours: [\"mon-fri 08:00-18:00\"]\n"
                                   "    country_code: \"44\"\n",
     {"t.yaml:13:5: toll_fraud.out_of_hours.country_code: unknown key (did you mean 'toll_fraud.country_code'? "
      "'country_code' is a key there, not here)"}},
    {"KeyValidInSeveralPlaces", kBase + "egress:\n  mode: allow_list\n  name: ntp\n",
     {"t.yaml:12:3: egress.name: unknown key (did you mean one of 'egress.allow[].name', 'peers.pbx[].name', "
      "'peers.support[].name', ...? 'name' is a key there, not here)"}},
    // The engine's dial plan takes a trunk prefix of at most 3 digits: the
    // schema says so at the key (it once let 4 through to the daemon).
    {"NationalPrefixTooLong", kBase + "toll_fraud:\n  national_prefix: \"0000\"\n",
     {"t.yaml:11:20: toll_fraud.national_prefix: \"0000\" is not 1..3 digits"}},
    {"MisspeltKeyAtTheRightLevelWins", kBase + "toll_fraud:\n  out_of_hours:\n    timezon: UTC\n",
     {"t.yaml:12:5: toll_fraud.out_of_hours.timezon: unknown key (did you mean 'timezone'?)"}},
    // 8. Natural guesses.
    {"LoggingServer", kBase + "logging:\n  server: 192.0.2.50\n",
     {"t.yaml:11:3: logging.server: unknown key: voipguard logs to the local syslog only; forwarding to a remote "
      "server is the syslog daemon's job: on OpenWrt set log_ip (and log_port, log_proto) in /etc/config/system, "
      "elsewhere forward with rsyslog (example: packaging/syslog/rsyslog-voipguard.conf)"}},
    {"DnsServers", kBase + "dns:\n  servers: [192.0.2.53]\n",
     {"t.yaml:11:3: dns.servers: unknown key: host names are resolved by the system's resolver (/etc/resolv.conf); "
      "set the DNS servers there (OpenWrt: the WAN interface's dns option in /etc/config/network); dns.refresh is "
      "how often voipguard asks again"}},
    {"PbxPort", kBase + "      port: 5080\n",
     {"t.yaml:10:7: peers.pbx[0].port: unknown key: the SIP ports are the same for every peer: set them in "
      "sip.ports; media ports are media.ports of the PBX"}},
};

INSTANTIATE_TEST_SUITE_P(Table, MistakeErrors, ::testing::ValuesIn(kErrorCases), test::case_name);

// Every natural guess is a key that really does not exist, at a place that does.
TEST(Mistakes, KeyHintsAreNotKeys) {
    for (const auto& h : key_hints()) {
        EXPECT_EQ(find_key(h.pattern), nullptr) << h.pattern;
        const auto dot = h.pattern.rfind('.');
        ASSERT_NE(dot, std::string_view::npos) << h.pattern;
        std::string_view parent = h.pattern.substr(0, dot);
        if (parent.size() > 2 && parent.substr(parent.size() - 2) == "[]") parent.remove_suffix(2);
        EXPECT_NE(find_key(parent), nullptr) << h.pattern;
    }
}

// Prefixes that match numbers dialled without any prefix: what they match,
// what was probably meant; a warning, since local numbers may be meant.
TEST(Mistakes, LocalFormPrefixesAreWarnings) {
    auto r = load(kBase + "toll_fraud:\n  country_code: \"44\"\n  deny_prefixes: [\"881\"]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:12:19: warning: toll_fraud.deny_prefixes[0]: \"881\": a prefix without '+' or the national "
                  "prefix '0' matches only numbers dialled without any prefix, as written (\"881...\") (local numbers), "
                  "never a national or international number; did you mean \"+881\" (international) or \"0881\" "
                  "(national)?"});
    // North America: ten-digit dialling reaches "900..." as written, but
    // "1 900..." is matched as +1900.
    r = load(kBase + "toll_fraud:\n  country_code: \"1\"\n  national_prefix: \"1\"\n  international_prefix: \"011\"\n"
                     "  deny_prefixes: [\"900\", \"1900\", \"011881\"]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:14:19: warning: toll_fraud.deny_prefixes[0]: \"900\": a prefix without '+' or the national "
                  "prefix '1' matches only numbers dialled without any prefix, as written (\"900...\"); numbers "
                  "dialled \"1900...\" or \"+1900...\" are matched as \"+1900\": add \"+1900\" for them"});
    // Without a country code.
    r = load(kBase + "toll_fraud:\n  deny_prefixes: [\"447\"]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    const auto w = own_warnings(r);
    ASSERT_EQ(w.size(), 1u) << ::testing::PrintToString(w);
    EXPECT_EQ(w[0], "t.yaml:11:19: warning: toll_fraud.deny_prefixes[0]: \"447\": a prefix without '+' or the "
                    "international prefix '00' matches only numbers dialled without any prefix, as written "
                    "(\"447...\"), never a number dialled in international form; did you mean \"+447\"?");
}

TEST(Mistakes, WellFormedPrefixesSayNothing) {
    const auto r = load(kBase + "toll_fraud:\n  country_code: \"44\"\n"
                                "  deny_prefixes: [\"+447\", \"07\", \"00447\", \"0\", \"00\", \"+\", \"09\"]\n"
                                "  allow_prefixes: [\"+4420\"]\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r), std::vector<std::string>{});
}

// A prefix from an included file is reported where it is written.
TEST(Mistakes, PrefixInAnIncludedFileIsReportedThere) {
    test::TempDir d;
    d.write("provider.yaml", "version: 1\ntoll_fraud:\n  deny_prefixes: [\"+881\",\n    \"447\"]\n");
    const auto site = d.write("site.yaml", kBase + "include: [provider.yaml]\ntoll_fraud:\n  country_code: \"44\"\n");
    const auto r = load_policy_file(site, test::test_options());
    EXPECT_EQ(errors_of(r),
              std::vector<std::string>{
                  d.path() + "/provider.yaml:4:5: toll_fraud.deny_prefixes[1]: \"447\": a prefix without '+' or the "
                             "national prefix '0' matches only numbers dialled without any prefix, as written "
                             "(\"447...\"), never a number of country code 44 (dialled nationally or internationally, "
                             "they are matched as \"+44...\"); did you mean \"+447\" or \"07\"?"});
}

TEST(Mistakes, ExtensionMethodIsAWarning) {
    const auto r = load(kBase + "sip:\n  rate_limits:\n    KEEPALIVE: 5/s\n    INVITE: 2/s\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:12:5: warning: sip.rate_limits.KEEPALIVE: not a SIP method voipguard knows (INVITE, ACK, BYE, "
                  "CANCEL, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, PUBLISH, INFO, REFER, MESSAGE, UPDATE): the "
                  "rate applies only to requests whose method is exactly KEEPALIVE (an extension method)"});
    EXPECT_EQ(r.policy->sip.rate_limits.at("KEEPALIVE").count, 5u);
}

// 3. A schedule in a zone without daylight saving, for a country with it.
const std::string kSchedule = "toll_fraud:\n  country_code: \"CC\"\n  out_of_hours:\n"
                              "    business_hours: [\"mon-fri 08:00-18:00\"]\n";

std::string with_zone(const std::string& cc, const std::string& zone) {
    std::string s = kBase + kSchedule;
    s.replace(s.find("CC"), 2, cc);
    if (!zone.empty()) s += "    timezone: \"" + zone + "\"\n";
    return s;
}

TEST(Mistakes, FixedZoneInADaylightSavingCountryIsAWarning) {
    auto r = load(with_zone("44", "GMT"));
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:14:15: warning: toll_fraud.out_of_hours.timezone: \"GMT\" keeps one UTC offset all year, but "
                  "country code 44 (the United Kingdom) observes daylight saving time: business hours will be off by "
                  "an hour in summer; write Europe/London, or the POSIX rule GMT0BST,M3.5.0/1,M10.5.0 where the "
                  "router has no tz database"});
    // The default (UTC), reported at the schedule.
    r = load(with_zone("49", ""));
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:13:21: warning: toll_fraud.out_of_hours.timezone: \"UTC\" (the default) keeps one UTC offset "
                  "all year, but country code 49 (Germany) observes daylight saving time: business hours will be off "
                  "by an hour in winter and 2 hours in summer; write Europe/Berlin, or the POSIX rule "
                  "CET-1CEST,M3.5.0,M10.5.0/3 where the router has no tz database"});
    // A POSIX rule without daylight saving.
    r = load(with_zone("33", "CET-1"));
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    ASSERT_EQ(own_warnings(r).size(), 1u);
    EXPECT_NE(own_warnings(r)[0].find("\"CET-1\" keeps one UTC offset all year, but country code 33 (France) "
                                      "observes daylight saving time: business hours will be off by an hour in "
                                      "summer; write Europe/Paris"),
              std::string::npos)
        << own_warnings(r)[0];
    // Countries where some regions keep one offset: only UTC is reported.
    r = load(with_zone("1", "UTC"));
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(own_warnings(r),
              std::vector<std::string>{
                  "t.yaml:14:15: warning: toll_fraud.out_of_hours.timezone: \"UTC\" keeps one UTC offset all year, but "
                  "country code 1 (the United States and Canada) observes daylight saving time: UTC is not the local "
                  "time of any part of it and business hours will be off by hours; write the site's zone, e.g. "
                  "America/New_York, or its POSIX rule, e.g. EST5EDT,M3.2.0,M11.1.0"});
}

TEST(Mistakes, ZonesThatAreRightSayNothing) {
    for (const auto& [cc, zone] : std::vector<std::pair<std::string, std::string>>{
             {"44", "GMT0BST,M3.5.0/1,M10.5.0"},   // with daylight saving
             {"1", "MST7"},                        // Arizona keeps one offset
             {"81", "JST-9"},                      // Japan has no daylight saving
             {"354", "GMT"},                       // neither has Iceland
             {"64", "NZST-12NZDT,M9.5.0,M4.1.0/3"}}) {
        const auto r = load(with_zone(cc, zone));
        ASSERT_TRUE(r.ok()) << cc << " " << zone << ::testing::PrintToString(errors_of(r));
        EXPECT_EQ(own_warnings(r), std::vector<std::string>{}) << cc << " " << zone;
    }
}

// A tab elsewhere than in the indentation, and tabs yaml-cpp accepts, are left alone.
TEST(Mistakes, TabsOutsideTheIndentationAreNotReported) {
    const auto r = load(kBase + "mode: monitor\t# a comment after a tab\n\t# an indented comment\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
}

}  // namespace
}  // namespace vg::config
