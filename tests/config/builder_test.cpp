// SPDX-License-Identifier: GPL-2.0-or-later
// The Policy model built from a valid policy (config/builder.cpp): defaults
// from the schema, explicit values parsed, duplicates dropped, anchors and
// aliases.
#include "config/loader.h"
#include "config/schema.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vg::config {
namespace {

using test::errors_of;
using test::load;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

TEST(Builder, DefaultsComeFromTheSchema) {
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
    EXPECT_TRUE(p.toll_fraud.nanp_international.empty());   // no country code 1
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

TEST(Builder, ExplicitValuesAreParsed) {
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

TEST(Builder, NanpInternationalListOnlyForCountryCodeOne) {
    const auto na = load(kBase + "toll_fraud:\n  country_code: \"1\"\n  national_prefix: \"1\"\n"
                                 "  international_prefix: \"011\"\n");
    ASSERT_TRUE(na.ok()) << ::testing::PrintToString(errors_of(na));
    ASSERT_EQ(na.policy->toll_fraud.nanp_international.size(), builtin_nanp_international_prefixes().size());
    EXPECT_EQ(na.policy->toll_fraud.nanp_international[0].origin.file, "(built-in)");
    bool dominican = false, puerto_rico = false;
    for (const auto& b : builtin_nanp_international_prefixes()) {
        dominican = dominican || b.prefix == "+1809";
        puerto_rico = puerto_rico || b.prefix == "+1787" || b.prefix == "+1340";
    }
    EXPECT_TRUE(dominican);
    EXPECT_FALSE(puerto_rico);   // US territories are domestic-rate
    const auto off = load(kBase + "toll_fraud:\n  country_code: \"1\"\n  deny_builtin: false\n");
    ASSERT_TRUE(off.ok());
    EXPECT_TRUE(off.policy->toll_fraud.nanp_international.empty());
    const auto uk = load(kBase + "toll_fraud:\n  country_code: \"44\"\n");
    ASSERT_TRUE(uk.ok());
    EXPECT_TRUE(uk.policy->toll_fraud.nanp_international.empty());
}

TEST(Builder, AnchorsAndAliasesWork) {
    const auto r = load("version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n"
                        "    - name: p\n      addresses: &pbx [203.0.113.1, 203.0.113.2]\n      media:\n"
                        "        addresses: *pbx\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->peers.pbx[0].media.addresses.size(), 2u);
    EXPECT_FALSE(r.policy->peers.pbx[0].media.addresses_from_pbx);
}

}  // namespace
}  // namespace vg::config
