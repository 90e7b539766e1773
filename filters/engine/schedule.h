// SPDX-License-Identifier: GPL-2.0-or-later
// Weekly schedules for out-of-hours rules ("international calls only
// Mon-Fri 08:00-18:00", "block everything but emergency 18:00-08:00 and at
// weekends").
//
// A WeeklySchedule is a set of windows; each window is a set of weekdays and
// a start-end range of minutes of the local day. The evaluation is pure: it
// takes a UTC time and the local time zone's UTC offset at that time, either
// as a number or from a UtcOffsetSource (FixedUtcOffset here). The policy's
// zone, daylight saving included, is config::TimeZone (config/time_zone.h).
//
// Window rules (times are local wall-clock minutes, 0 = 00:00, 1440 = 24:00):
//  - start < end: the window covers [start, end) on each listed day.
//        Mon-Fri 08:00-18:00: Tue 08:00 in, Tue 17:59 in, Tue 18:00 out, Sat 10:00 out.
//  - start > end: the window crosses midnight; it starts on each listed day
//    and ends the next day. The day set names the day the window starts.
//        Mon-Fri 18:00-08:00: Fri 23:00 in, Sat 07:59 in (Friday's night),
//        Sat 08:00 out, Mon 07:00 out (Sunday is not listed), Mon 18:00 in.
//  - 00:00-24:00 is the whole day. start == end is rejected (ambiguous:
//    empty or the whole day).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/engine/timestamp.h"

namespace vg::engine {

// Days as in struct tm's tm_wday.
enum class Weekday : std::uint8_t { sunday = 0, monday, tuesday, wednesday, thursday, friday, saturday };

// A set of weekdays, bit (1 << tm_wday).
using WeekdaySet = std::uint8_t;
constexpr WeekdaySet day_bit(Weekday d) noexcept { return static_cast<WeekdaySet>(1u << static_cast<unsigned>(d)); }
constexpr WeekdaySet kMondayToFriday = 0x3e;
constexpr WeekdaySet kWeekend = 0x41;
constexpr WeekdaySet kEveryDay = 0x7f;

constexpr std::uint16_t kMinutesPerDay = 1440;

struct LocalTime {
    Weekday day;
    std::uint16_t minute;  // 0..1439
};

// Local weekday and minute of `utc` shifted by `utc_offset_seconds`
// (east of Greenwich positive, +3600 for CET). Times before 1970 work too.
LocalTime to_local(UnixSeconds utc, std::int32_t utc_offset_seconds) noexcept;

// "HH:MM" with HH 00..24 and MM 00..59; "24:00" is 1440, the end of the day.
std::optional<std::uint16_t> parse_clock_time(std::string_view text) noexcept;
// Comma-separated days or ranges of three-letter English day names, any case:
// "mon-fri", "sat,sun", "mon-fri,sun", "fri-mon" (wraps: Fri, Sat, Sun, Mon).
std::optional<WeekdaySet> parse_weekdays(std::string_view text) noexcept;

class UtcOffsetSource {
public:
    virtual ~UtcOffsetSource() = default;
    // Seconds to add to UTC to get local time, at instant `utc`.
    virtual std::int32_t utc_offset(UnixSeconds utc) const noexcept = 0;
};

class FixedUtcOffset final : public UtcOffsetSource {
public:
    explicit FixedUtcOffset(std::int32_t seconds) noexcept : seconds_(seconds) {}
    std::int32_t utc_offset(UnixSeconds) const noexcept override { return seconds_; }

private:
    std::int32_t seconds_;
};

class WeeklySchedule {
public:
    // What the policy allows a schedule (toll_fraud.out_of_hours.business_hours,
    // toll_fraud.profiles[].hours in config/schema.cpp).
    static constexpr std::size_t kMaxWindows = 32;

    struct Window {
        WeekdaySet days;
        std::uint16_t start;  // minute of the day, 0..1439
        std::uint16_t end;    // minute of the day, 1..1440, != start
    };

    // False when days is empty, start > 1439, end > 1440, start == end, or
    // the schedule already has kMaxWindows windows.
    bool add(WeekdaySet days, std::uint16_t start_minute, std::uint16_t end_minute) noexcept;

    // Whether local (day, minute) falls in any window.
    bool contains(LocalTime t) const noexcept;
    bool contains(UnixSeconds utc, std::int32_t utc_offset_seconds) const noexcept {
        return contains(to_local(utc, utc_offset_seconds));
    }
    bool contains(UnixSeconds utc, const UtcOffsetSource& zone) const noexcept {
        return contains(utc, zone.utc_offset(utc));
    }

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const Window& window(std::size_t i) const noexcept { return windows_[i]; }
    void clear() noexcept { count_ = 0; }

private:
    Window windows_[kMaxWindows] = {};
    std::uint8_t count_ = 0;
};

}  // namespace vg::engine
