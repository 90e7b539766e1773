// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/schedule.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
#include <string>

#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>

#include "config/time_zone.h"

namespace vg::engine {
namespace {

using test::case_name;

// 2024-06-03 00:00:00 UTC was a Monday.
constexpr UnixSeconds kMonday20240603 = 1717372800;

constexpr UnixSeconds at(int day_offset, int hour, int minute) {
    return kMonday20240603 + day_offset * 86400 + hour * 3600 + minute * 60;
}

std::uint16_t hm(const char* s) { return parse_clock_time(s).value_or(9999); }

TEST(ToLocal, EpochIsThursdayMidnight) {
    const LocalTime t = to_local(0, 0);
    EXPECT_EQ(t.day, Weekday::thursday);
    EXPECT_EQ(t.minute, 0);
}

TEST(ToLocal, OffsetMovesAcrossMidnightAndWeekday) {
    // Monday 23:30 UTC is Tuesday 00:30 at UTC+1 and Monday 18:30 at UTC-5.
    EXPECT_EQ(to_local(at(0, 23, 30), 3600).day, Weekday::tuesday);
    EXPECT_EQ(to_local(at(0, 23, 30), 3600).minute, 30);
    EXPECT_EQ(to_local(at(0, 23, 30), -5 * 3600).day, Weekday::monday);
    EXPECT_EQ(to_local(at(0, 23, 30), -5 * 3600).minute, 18 * 60 + 30);
}

TEST(ToLocal, TimesBeforeTheEpochUseFloorDivision) {
    const LocalTime t = to_local(-60, 0);  // 1969-12-31 23:59, a Wednesday
    EXPECT_EQ(t.day, Weekday::wednesday);
    EXPECT_EQ(t.minute, 23 * 60 + 59);
}

TEST(ParseClockTime, AcceptsHhMmUpTo2400) {
    EXPECT_EQ(parse_clock_time("00:00"), 0);
    EXPECT_EQ(parse_clock_time("08:30"), 510);
    EXPECT_EQ(parse_clock_time("23:59"), 1439);
    EXPECT_EQ(parse_clock_time("24:00"), 1440);
    for (const char* bad : {"24:01", "25:00", "8:00", "08:60", "0800", "08:0a", ""})
        EXPECT_FALSE(parse_clock_time(bad)) << bad;
}

TEST(ParseWeekdays, AcceptsNamesRangesAndWrappingRanges) {
    EXPECT_EQ(parse_weekdays("mon-fri"), kMondayToFriday);
    EXPECT_EQ(parse_weekdays("Sat,Sun"), kWeekend);
    EXPECT_EQ(parse_weekdays("sun-sat"), kEveryDay);
    EXPECT_EQ(parse_weekdays("fri-mon"), WeekdaySet(day_bit(Weekday::friday) | kWeekend | day_bit(Weekday::monday)));
    EXPECT_EQ(parse_weekdays("wed"), day_bit(Weekday::wednesday));
    EXPECT_EQ(parse_weekdays("mon-fri, sun"), WeekdaySet(kMondayToFriday | day_bit(Weekday::sunday)));
    for (const char* bad : {"", "monday", "mon-", "mon,,tue", "xyz"}) EXPECT_FALSE(parse_weekdays(bad)) << bad;
}

TEST(WeeklySchedule, AddRejectsInvalidWindows) {
    WeeklySchedule s;
    EXPECT_FALSE(s.add(0, 0, 60));
    EXPECT_FALSE(s.add(kEveryDay, 60, 60));
    EXPECT_FALSE(s.add(kEveryDay, 1440, 60));
    EXPECT_FALSE(s.add(kEveryDay, 0, 1441));
    EXPECT_TRUE(s.add(kEveryDay, 0, 1440));
    for (std::size_t i = 1; i < WeeklySchedule::kMaxWindows; ++i) EXPECT_TRUE(s.add(kWeekend, 0, 60));
    EXPECT_FALSE(s.add(kWeekend, 0, 60));
}

// The policy allows 32 windows (toll_fraud.out_of_hours.business_hours):
// the schedule keeps them all, the last one included.
TEST(WeeklySchedule, HoldsThirtyTwoWindows) {
    WeeklySchedule s;
    for (std::uint16_t i = 0; i < 32; ++i)
        EXPECT_TRUE(s.add(day_bit(Weekday::monday), static_cast<std::uint16_t>(i * 45), static_cast<std::uint16_t>(i * 45 + 30)));
    EXPECT_EQ(s.size(), 32u);
    EXPECT_TRUE(s.contains(LocalTime{Weekday::monday, 31 * 45 + 10}));
    EXPECT_FALSE(s.contains(LocalTime{Weekday::monday, 31 * 45 + 40}));
}

TEST(WeeklySchedule, EmptyScheduleContainsNothing) {
    WeeklySchedule s;
    EXPECT_FALSE(s.contains(at(0, 12, 0), 0));
}

struct WindowRow {
    const char* what;
    int day;  // days after Monday 2024-06-03 (0 = Mon ... 6 = Sun, 7 = next Mon)
    int hour;
    int minute;
    std::int32_t offset;
    bool expected;
};
std::ostream& operator<<(std::ostream& os, const WindowRow& r) { return os << r.what; }

// Office hours Mon-Fri 08:00-18:00.
class OfficeHours : public ::testing::TestWithParam<WindowRow> {};

TEST_P(OfficeHours, ContainsOnlyWeekdayDaytime) {
    WeeklySchedule s;
    ASSERT_TRUE(s.add(kMondayToFriday, hm("08:00"), hm("18:00")));
    const WindowRow& r = GetParam();
    EXPECT_EQ(s.contains(at(r.day, r.hour, r.minute), r.offset), r.expected) << r.what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, OfficeHours,
    ::testing::Values(WindowRow{"Mon 07:59 out", 0, 7, 59, 0, false}, WindowRow{"Mon 08:00 in", 0, 8, 0, 0, true},
                      WindowRow{"Tue 17:59 in", 1, 17, 59, 0, true}, WindowRow{"Tue 18:00 out", 1, 18, 0, 0, false},
                      WindowRow{"Sat 10:00 out", 5, 10, 0, 0, false}, WindowRow{"Sun 12:00 out", 6, 12, 0, 0, false},
                      WindowRow{"Fri 17:30 UTC is 18:30 at +1: out", 4, 17, 30, 3600, false},
                      WindowRow{"Mon 07:30 UTC is 08:30 at +1: in", 0, 7, 30, 3600, true},
                      WindowRow{"Mon 12:00 UTC is 23:00 at +11: out", 0, 12, 0, 11 * 3600, false},
                      WindowRow{"Mon 03:00 UTC is Sun 22:00 at -5: out", 0, 3, 0, -5 * 3600, false}),
    [](const auto& pi) { return case_name(pi); });

// Out of hours across midnight: Mon-Fri 18:00-08:00.
class NightWindow : public ::testing::TestWithParam<WindowRow> {};

TEST_P(NightWindow, CrossesMidnightFromTheListedDay) {
    WeeklySchedule s;
    ASSERT_TRUE(s.add(kMondayToFriday, hm("18:00"), hm("08:00")));
    const WindowRow& r = GetParam();
    EXPECT_EQ(s.contains(at(r.day, r.hour, r.minute), r.offset), r.expected) << r.what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, NightWindow,
    ::testing::Values(WindowRow{"Mon 17:59 out", 0, 17, 59, 0, false}, WindowRow{"Mon 18:00 in", 0, 18, 0, 0, true},
                      WindowRow{"Mon 23:59 in", 0, 23, 59, 0, true}, WindowRow{"Tue 00:00 in", 1, 0, 0, 0, true},
                      WindowRow{"Tue 07:59 in", 1, 7, 59, 0, true}, WindowRow{"Tue 08:00 out", 1, 8, 0, 0, false},
                      WindowRow{"Tue 12:00 out", 1, 12, 0, 0, false}, WindowRow{"Fri 23:00 in", 4, 23, 0, 0, true},
                      WindowRow{"Sat 07:59 in (Friday night)", 5, 7, 59, 0, true},
                      WindowRow{"Sat 08:00 out", 5, 8, 0, 0, false}, WindowRow{"Sat 20:00 out", 5, 20, 0, 0, false},
                      WindowRow{"Mon 07:00 out (Sunday not listed)", 7, 7, 0, 0, false},
                      WindowRow{"Mon 17:30 UTC is 18:30 at +1: in", 0, 17, 30, 3600, true},
                      WindowRow{"Tue 07:30 UTC is 08:30 at +1: out", 1, 7, 30, 3600, false}),
    [](const auto& pi) { return case_name(pi); });

TEST(WeeklySchedule, NightsPlusWholeWeekendsCoverEverythingOutsideOfficeHours) {
    WeeklySchedule out_of_hours;
    ASSERT_TRUE(out_of_hours.add(kMondayToFriday, hm("18:00"), hm("08:00")));
    ASSERT_TRUE(out_of_hours.add(kWeekend, hm("00:00"), hm("24:00")));
    WeeklySchedule office;
    ASSERT_TRUE(office.add(kMondayToFriday, hm("08:00"), hm("18:00")));
    // No minute of the week (Mon 00:00 .. Sun 23:59) is in both. The only
    // minutes in neither are Monday 00:00-08:00: that is Sunday's night, and
    // the night rule starts on Mon-Fri only (the weekend window ends at
    // Sunday 24:00). A policy wanting it adds "sun 18:00-08:00".
    int neither = 0;
    for (int m = 0; m < 7 * 1440; ++m) {
        const UnixSeconds t = kMonday20240603 + m * 60;
        const bool a = out_of_hours.contains(t, 0), b = office.contains(t, 0);
        ASSERT_FALSE(a && b) << m;
        if (!a && !b) ++neither;
    }
    EXPECT_EQ(neither, 8 * 60);
}

TEST(WeeklySchedule, FixedOffsetSourceIsUsed) {
    WeeklySchedule s;
    ASSERT_TRUE(s.add(kMondayToFriday, hm("08:00"), hm("18:00")));
    const FixedUtcOffset cet(3600);
    EXPECT_TRUE(s.contains(at(0, 7, 30), cet));
    EXPECT_FALSE(s.contains(at(0, 7, 30), FixedUtcOffset(0)));
}

// With the policy's zone (config/time_zone.h, tested against the C library
// in tests/config): office hours follow daylight saving.
TEST(ScheduleInAZone, OfficeHoursFollowDaylightSaving) {
    std::string error;
    const auto berlin = config::TimeZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3", error);
    ASSERT_TRUE(berlin) << error;
    WeeklySchedule s;
    ASSERT_TRUE(s.add(kMondayToFriday, hm("08:00"), hm("18:00")));
    // Monday 06:30 UTC in summer is 08:30 CEST: open.
    EXPECT_TRUE(s.contains(at(0, 6, 30), berlin->utc_offset(at(0, 6, 30))));
    // Monday 2024-01-08 06:30 UTC is 07:30 CET: closed; 07:30 UTC is 08:30: open.
    EXPECT_FALSE(s.contains(1704695400, berlin->utc_offset(1704695400)));
    EXPECT_TRUE(s.contains(1704699000, berlin->utc_offset(1704699000)));
}

}  // namespace
}  // namespace vg::engine
