// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard check` is the daemon's judge: for the schedule's time zone, a
// policy check accepts is one the daemon loads (daemon/policy_lifecycle.cpp,
// what `voipguard run` and a reload do), and one check refuses the daemon
// refuses too. Both read zone files where the C library would ($TZDIR, else
// /usr/share/zoneinfo); each case runs with TZDIR pointing at a directory of
// the test's own (one with a zone file, one empty).
#include "config/loader.h"
#include "daemon/policy_lifecycle.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace vg::daemon {
namespace {

// A TZif version 2 file (RFC 8536) without transitions: one local time type
// (GMT) and the footer rule, which then applies at every instant.
std::string tzif_with_rule(const std::string& rule) {
    auto header = [](std::string& s) {
        s += "TZif2";
        s += std::string(15, '\0');
        // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
        for (std::uint32_t v : {0u, 0u, 0u, 0u, 1u, 4u}) {
            for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
        }
    };
    auto block = [](std::string& s) {
        s += std::string(6, '\0');   // utoff 0, isdst 0, desigidx 0
        s += std::string("GMT\0", 4);
    };
    std::string s;
    header(s);
    block(s);
    header(s);
    block(s);
    return s + "\n" + rule + "\n";
}

class ScopedTzdir {
public:
    explicit ScopedTzdir(const std::string& dir) {
        if (const char* old = std::getenv("TZDIR")) saved_ = old, had_ = true;
        ::setenv("TZDIR", dir.c_str(), 1);
    }
    ~ScopedTzdir() {
        if (had_) ::setenv("TZDIR", saved_.c_str(), 1);
        else ::unsetenv("TZDIR");
    }

private:
    std::string saved_;
    bool had_ = false;
};

struct Case {
    const char* name;
    const char* timezone;
    bool with_database;
    bool valid;
    const char* source;   // what check says it used; "" when invalid
};

TEST(CheckAgreesWithTheDaemon, TimeZones) {
    test::TempDir d;
    std::filesystem::create_directories(d.path() + "/zoneinfo/Europe");
    std::filesystem::create_directories(d.path() + "/empty");
    d.write("zoneinfo/Europe/London", tzif_with_rule("GMT0BST,M3.5.0/1,M10.5.0"));
    const Case cases[] = {
        {"IANA name with a database", "Europe/London", true, true, "time zone Europe/London (from DB/Europe/London)"},
        {"IANA name without a database", "Europe/London", false, false, ""},
        {"UTC without a database", "UTC", false, true, "time zone UTC (built in, no file needed)"},
        {"POSIX rule, UK", "GMT0BST,M3.5.0/1,M10.5.0", false, true, "POSIX rule GMT0BST,M3.5.0/1,M10.5.0"},
        {"POSIX rule, central Europe", "CET-1CEST,M3.5.0,M10.5.0/3", false, true,
         "POSIX rule CET-1CEST,M3.5.0,M10.5.0/3"},
        {"misspelt name with a database", "Europe/Lodnon", true, false, ""},
        {"misspelt name without a database", "Erope/London", false, false, ""},
        {"misspelt rule", "GMT0BST,M3.5.0/1", false, false, ""},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const std::string db = d.path() + (c.with_database ? "/zoneinfo" : "/empty");
        const std::string policy =
            d.write("p.yaml", "version: 1\nsite: t\non_failure: closed\nhandsets:\n  networks: [192.168.20.0/24]\n"
                              "  interfaces: [lan0]\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n"
                              "toll_fraud:\n  country_code: \"44\"\n  out_of_hours:\n"
                              "    business_hours: [\"mon-fri 08:00-18:00\"]\n    timezone: \"" +
                                  std::string(c.timezone) + "\"\n");
        ScopedTzdir tzdir(db);
        const test::CheckRun check = test::run_check({policy});
        const LoadedPolicy daemon = load_policy(policy);
        EXPECT_EQ(check.exit_code == 0, c.valid) << check.err;
        EXPECT_EQ(daemon.rules != nullptr, c.valid) << ::testing::PrintToString(daemon.errors);
        if (c.valid) {
            std::string source = c.source;
            if (const auto at = source.find("DB"); at != std::string::npos) source.replace(at, 2, db);
            EXPECT_NE(check.out.find("\nout-of-hours schedule in " + source + "\n"), std::string::npos) << check.out;
            EXPECT_EQ(daemon.policy->toll_fraud.out_of_hours.zone_source, source);
            // The same rules: BST in July, GMT in November (UTC: neither).
            const bool uk = std::string(c.timezone) != "UTC" && std::string(c.timezone).rfind("CET", 0) != 0;
            if (uk) {
                EXPECT_EQ(daemon.policy->toll_fraud.out_of_hours.zone.utc_offset(1690000000), 3600);
                EXPECT_EQ(daemon.policy->toll_fraud.out_of_hours.zone.utc_offset(1700000000), 0);
            }
        } else {
            // Both name the key, with the same message.
            ASSERT_EQ(daemon.errors.size(), 1u) << ::testing::PrintToString(daemon.errors);
            EXPECT_NE(daemon.errors[0].find(":15:15: toll_fraud.out_of_hours.timezone: "), std::string::npos)
                << daemon.errors[0];
            EXPECT_NE(check.err.find(daemon.errors[0] + "\n"), std::string::npos) << check.err;
        }
    }
}

// A prefix file is read at every load (start and reload): edited to hold a
// bad line, the whole policy is refused, by check and by the daemon alike,
// with the file's line.
TEST(CheckAgrees, PrefixFileReadAgainAtReload) {
    test::TempDir d;
    d.write("lists/deny.txt", "+8816\n");
    const std::string policy =
        d.write("p.yaml", "version: 1\nsite: t\non_failure: closed\nhandsets:\n  networks: [192.168.20.0/24]\n"
                          "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n"
                          "toll_fraud:\n  deny_prefix_files: [lists/deny.txt]\n");
    const LoadedPolicy first = load_policy(policy);
    ASSERT_TRUE(first.rules) << ::testing::PrintToString(first.errors);
    EXPECT_TRUE(first.rules->deny.set.find("+8816"));
    EXPECT_FALSE(first.rules->deny.set.find("+8817"));

    d.write("lists/deny.txt", "+8816\n+8817\n");
    const LoadedPolicy second = load_policy(policy);
    ASSERT_TRUE(second.rules) << ::testing::PrintToString(second.errors);
    EXPECT_TRUE(second.rules->deny.set.find("+8817"));

    d.write("lists/deny.txt", "+8816\n+88l7\n");
    const LoadedPolicy bad = load_policy(policy);
    EXPECT_FALSE(bad.rules);
    ASSERT_EQ(bad.errors.size(), 1u) << ::testing::PrintToString(bad.errors);
    EXPECT_EQ(bad.errors[0], d.path() + "/lists/deny.txt:2:1: bad prefix \"+88l7\" (expected digits with an optional "
                                        "leading +, e.g. +881)");
    const test::CheckRun check = test::run_check({policy});
    EXPECT_NE(check.exit_code, 0);
    EXPECT_NE(check.err.find(bad.errors[0] + "\n"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace vg::daemon
