// SPDX-License-Identifier: GPL-2.0-or-later
// Time zones as data. The C library is the oracle: for POSIX rules and for
// the zone files of the system's tz database, utc_offset() must equal the
// tm_gmtoff localtime_r() reports under the same TZ, at instants around every
// transition from 1900 to 2100 and across ordinary days. Only this test
// sets TZ; the code under test never reads the environment.
#include "config/time_zone.h"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace vg::config {
namespace {

std::string zoneinfo_dir() {
    const char* d = std::getenv("TZDIR");
    return d != nullptr && *d != '\0' ? d : "/usr/share/zoneinfo";
}

std::optional<std::string> read_zone_file(const std::string& name) {
    std::ifstream f(zoneinfo_dir() + "/" + name, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// The C library's answer under TZ=`tz` (restored afterwards).
class LibcZone {
public:
    explicit LibcZone(const std::string& tz) {
        if (const char* old = std::getenv("TZ")) saved_ = old;
        setenv("TZ", tz.c_str(), 1);
        tzset();
    }
    ~LibcZone() {
        if (saved_) setenv("TZ", saved_->c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }
    LibcZone(const LibcZone&) = delete;
    LibcZone& operator=(const LibcZone&) = delete;
    static std::int32_t offset(std::int64_t utc) {
        const time_t t = static_cast<time_t>(utc);
        struct tm tm_local {};
        localtime_r(&t, &tm_local);
        return static_cast<std::int32_t>(tm_local.tm_gmtoff);
    }

private:
    std::optional<std::string> saved_;
};

// Instants to compare: some hours of some days in each year from
// `first_year` to 2100, and both sides of every change of offset the oracle shows.
std::vector<std::int64_t> sample_instants(std::int64_t first_year) {
    std::vector<std::int64_t> out;
    constexpr std::int64_t kYear = 31556952;   // mean Gregorian year
    for (std::int64_t y = first_year - 1970; y <= 130; ++y)
        for (std::int64_t d = 0; d < 365; d += 7)
            for (std::int64_t h = 0; h < 24; h += 5) out.push_back(y * kYear + d * 86400 + h * 3600 + 1800);
    return out;
}

void expect_same_as_libc(const TimeZone& z, const std::string& tz, std::int64_t first_year = 1900) {
    LibcZone libc(tz);
    std::int64_t mismatches = 0;
    const std::vector<std::int64_t> instants = sample_instants(first_year);
    std::int32_t prev = LibcZone::offset(instants.front());
    std::int64_t prev_t = instants.front();
    for (const std::int64_t t : instants) {
        const std::int32_t want = LibcZone::offset(t);
        if (want != prev) {
            // Narrow down the change to the second and compare both sides.
            std::int64_t lo = prev_t, hi = t;
            while (hi - lo > 1) {
                const std::int64_t mid = lo + (hi - lo) / 2;
                (LibcZone::offset(mid) == prev ? lo : hi) = mid;
            }
            for (const std::int64_t u : {lo - 1, lo, hi, hi + 1})
                if (z.utc_offset(u) != LibcZone::offset(u) && ++mismatches <= 5)
                    ADD_FAILURE() << tz << " at " << u << ": " << z.utc_offset(u) << " != libc " << LibcZone::offset(u);
        }
        if (z.utc_offset(t) != want && ++mismatches <= 5)
            ADD_FAILURE() << tz << " at " << t << ": " << z.utc_offset(t) << " != libc " << want;
        prev = want;
        prev_t = t;
    }
    EXPECT_EQ(mismatches, 0) << tz;
}

TEST(TimeZone, DefaultIsUtc) {
    const TimeZone z;
    EXPECT_EQ(z.utc_offset(0), 0);
    EXPECT_EQ(z.utc_offset(1700000000), 0);
}

TEST(TimeZone, PosixRulesAgreeWithTheCLibrary) {
    // glibc applies a rule's daylight saving from 1970 only (a rule knows no
    // history), so earlier years are not compared; the first hours of 1970
    // are still 1969 in zones west of Greenwich.
    struct Case {
        const char* rule;
        std::int64_t from;
    };
    for (const Case c : {Case{"GMT0BST,M3.5.0/1,M10.5.0", 1970}, {"CET-1CEST,M3.5.0,M10.5.0/3", 1970},
                         {"EST5EDT,M3.2.0,M11.1.0", 1971}, {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 1970},
                         {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1970}, {"NZST-12NZDT,M9.5.0,M4.1.0/3", 1970},
                         {"<-04>4<-03>,M9.1.6/24,M4.1.6/24", 1971}, {"IST-5:30", 1900}, {"UTC0", 1900},
                         {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 1971}, {"XXX3YYY,J60/2,300/4", 1971}, {"<+0545>-5:45", 1900},
                         // Without rules glibc takes them from the zone file
                         // "posixrules" (New York's, with its history): the
                         // same as M3.2.0,M11.1.0 since 2007.
                         {"EST5EDT", 2007}}) {
        std::string error;
        const auto z = TimeZone::from_posix(c.rule, error);
        ASSERT_TRUE(z) << c.rule << ": " << error;
        expect_same_as_libc(*z, c.rule, c.from);
    }
}

TEST(TimeZone, KnownOffsetsOfARule) {
    std::string error;
    const auto london = TimeZone::from_posix("GMT0BST,M3.5.0/1,M10.5.0", error);
    ASSERT_TRUE(london) << error;
    EXPECT_EQ(london->utc_offset(1700000000), 0);          // 2023-11-14: GMT
    EXPECT_EQ(london->utc_offset(1690000000), 3600);       // 2023-07-22: BST
    EXPECT_EQ(london->utc_offset(1679792399), 0);          // 2023-03-26 00:59:59 UTC, last second of GMT
    EXPECT_EQ(london->utc_offset(1679792400), 3600);       // 01:00 UTC: BST begins
    const auto india = TimeZone::from_posix("IST-5:30", error);
    ASSERT_TRUE(india) << error;
    EXPECT_EQ(india->utc_offset(0), 5 * 3600 + 1800);
}

// Daylight saving all year (RFC 8536 §3.3.1): from January 1, 00:00
// standard time, to December 31, 25:00 daylight time, which is the next
// January 1 again. glibc judges the last hours of each year by the UTC year
// and returns standard time there; the rule (and the tz reference code)
// says daylight time.
TEST(TimeZone, DaylightSavingAllYear) {
    std::string error;
    const auto z = TimeZone::from_posix("EST5EDT,0/0,J365/25", error);
    ASSERT_TRUE(z) << error;
    for (std::int64_t t = 63000000; t < 63200000; t += 3599) EXPECT_EQ(z->utc_offset(t), -4 * 3600) << t;
    for (std::int64_t t = 1700000000; t < 1740000000; t += 86399) EXPECT_EQ(z->utc_offset(t), -4 * 3600) << t;
}

TEST(TimeZone, BadRulesAreRefusedWithAReason) {
    for (const char* rule : {"", "GM0", "GMT", "GMT+25", "GMT0BST,M3.5.0", "GMT0BST,M13.1.0,M10.5.0",
                             "GMT0BST,M3.6.0,M10.5.0", "GMT0BST,M3.5.7,M10.5.0", "GMT0BST,J0,J100",
                             "GMT0BST,366,J100", "GMT0BST,M3.5.0/168,M10.5.0", "GMT0 BST", "<AB>1", "<ABC1",
                             "GMT0BST,M3.5.0,M10.5.0x", "Europe/London", "GMT0BST-1:60"}) {
        std::string error;
        EXPECT_FALSE(TimeZone::from_posix(rule, error)) << rule;
        EXPECT_FALSE(error.empty()) << rule;
    }
}

TEST(TimeZone, ZoneFilesAgreeWithTheCLibrary) {
    int compared = 0;
    for (const char* name : {"Europe/London", "Europe/Berlin", "Europe/Dublin", "America/New_York",
                             "America/Sao_Paulo", "America/Santiago", "Australia/Sydney", "Australia/Lord_Howe",
                             "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Apia",
                             "Africa/Casablanca", "Antarctica/Troll", "America/St_Johns", "UTC"}) {
        const auto bytes = read_zone_file(name);
        if (!bytes) continue;
        std::string error;
        const auto z = TimeZone::from_tzif(*bytes, error);
        ASSERT_TRUE(z) << name << ": " << error;
        expect_same_as_libc(*z, name);
        ++compared;
    }
    if (compared == 0) GTEST_SKIP() << "no tz database in " << zoneinfo_dir() << " (Debian package tzdata)";
}

TEST(TimeZone, PolicyNamesResolveToFilesOrRules) {
    std::string error;
    // UTC needs no zone file (OpenWrt ships none by default).
    const auto utc = load_time_zone("UTC", "/nonexistent", error);
    ASSERT_TRUE(utc) << error;
    EXPECT_EQ(utc->utc_offset(1690000000), 0);
    // A POSIX rule needs no file either.
    const auto rule = load_time_zone("GMT0BST,M3.5.0/1,M10.5.0", "/nonexistent", error);
    ASSERT_TRUE(rule) << error;
    EXPECT_EQ(rule->utc_offset(1690000000), 3600);
    // A name without its file is an error that says what to do.
    EXPECT_FALSE(load_time_zone("Europe/London", "/nonexistent", error));
    EXPECT_NE(error.find("no zone file /nonexistent/Europe/London"), std::string::npos) << error;
    EXPECT_NE(error.find("POSIX rule"), std::string::npos) << error;
    // Names that would leave the zone directory are neither files nor rules.
    for (const char* bad : {"../../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd", "", "Mars/Olympus_Mons"}) {
        EXPECT_FALSE(load_time_zone(bad, zoneinfo_dir(), error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
    if (read_zone_file("Europe/London")) {
        const auto london = load_time_zone("Europe/London", zoneinfo_dir(), error);
        ASSERT_TRUE(london) << error;
        EXPECT_EQ(london->utc_offset(1690000000), 3600);
        // A file that is not a zone file is refused, not read as UTC.
        if (read_zone_file("leapseconds")) {   // a text file of the tz database
            EXPECT_FALSE(load_time_zone("leapseconds", zoneinfo_dir(), error));
            EXPECT_NE(error.find("TZif"), std::string::npos) << error;
        }
    }
}

TEST(TimeZone, CorruptZoneFilesAreRefused) {
    const auto good = read_zone_file("Europe/London");
    if (!good) GTEST_SKIP() << "no Europe/London in " << zoneinfo_dir() << " (Debian package tzdata)";
    std::string error;
    ASSERT_TRUE(TimeZone::from_tzif(*good, error)) << error;
    // Every truncation is refused, never read past the end.
    for (std::size_t n = 0; n < good->size(); n += 7) {
        EXPECT_FALSE(TimeZone::from_tzif(std::string_view(*good).substr(0, n), error)) << "truncated at " << n;
    }
    std::string bad = *good;
    bad[0] = 'X';
    EXPECT_FALSE(TimeZone::from_tzif(bad, error));
    EXPECT_NE(error.find("TZif"), std::string::npos);
    // A transition count beyond the bound (version 1 header, offset 32).
    bad = *good;
    bad[32] = '\x7f';
    EXPECT_FALSE(TimeZone::from_tzif(bad, error));
}

}  // namespace
}  // namespace vg::config
