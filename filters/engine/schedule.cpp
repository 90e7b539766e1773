// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/schedule.h"

#include "filters/util/text.h"

namespace vg::engine {

LocalTime to_local(UnixSeconds utc, std::int32_t utc_offset_seconds) noexcept {
    const std::int64_t local = utc + utc_offset_seconds;
    std::int64_t days = local / 86400;
    std::int64_t secs = local % 86400;
    if (secs < 0) {  // floor division for times before the epoch
        secs += 86400;
        --days;
    }
    // 1970-01-01 was a Thursday (tm_wday 4).
    std::int64_t wday = (days + 4) % 7;
    if (wday < 0) wday += 7;
    return {static_cast<Weekday>(wday), static_cast<std::uint16_t>(secs / 60)};
}

std::optional<std::uint16_t> parse_clock_time(std::string_view s) noexcept {
    if (s.size() != 5 || s[2] != ':') return std::nullopt;
    unsigned h = 0, m = 0;
    if (!text::parse_uint_as<unsigned>(s.substr(0, 2), 24, h)) return std::nullopt;
    if (!text::parse_uint_as<unsigned>(s.substr(3, 2), 59, m)) return std::nullopt;
    if (h == 24 && m != 0) return std::nullopt;
    return static_cast<std::uint16_t>(h * 60 + m);
}

namespace {

std::optional<unsigned> parse_day(std::string_view s) noexcept {
    static constexpr std::string_view kNames[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    for (unsigned i = 0; i < 7; ++i)
        if (text::iequals(s, kNames[i])) return i;
    return std::nullopt;
}

}  // namespace

std::optional<WeekdaySet> parse_weekdays(std::string_view s) noexcept {
    WeekdaySet set = 0;
    for (;;) {
        const std::size_t comma = s.find(',');
        const std::string_view item = text::trim_wsp(s.substr(0, comma));
        const std::size_t dash = item.find('-');
        const auto first = parse_day(text::trim_wsp(item.substr(0, dash)));
        if (!first) return std::nullopt;
        unsigned last = *first;
        if (dash != std::string_view::npos) {
            const auto l = parse_day(text::trim_wsp(item.substr(dash + 1)));
            if (!l) return std::nullopt;
            last = *l;
        }
        for (unsigned d = *first;; d = (d + 1) % 7) {
            set = static_cast<WeekdaySet>(set | (1u << d));
            if (d == last) break;
        }
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return set;
}

bool WeeklySchedule::add(WeekdaySet days, std::uint16_t start, std::uint16_t end) noexcept {
    if ((days & kEveryDay) == 0 || start >= kMinutesPerDay || end > kMinutesPerDay || start == end ||
        count_ >= kMaxWindows)
        return false;
    windows_[count_++] = Window{static_cast<WeekdaySet>(days & kEveryDay), start, end};
    return true;
}

bool WeeklySchedule::contains(LocalTime t) const noexcept {
    const WeekdaySet today = day_bit(t.day);
    const WeekdaySet yesterday = day_bit(static_cast<Weekday>((static_cast<unsigned>(t.day) + 6) % 7));
    for (std::size_t i = 0; i < count_; ++i) {
        const Window& w = windows_[i];
        if (w.start < w.end) {
            if ((w.days & today) && t.minute >= w.start && t.minute < w.end) return true;
        } else {
            if ((w.days & today) && t.minute >= w.start) return true;     // evening part
            if ((w.days & yesterday) && t.minute < w.end) return true;   // morning part
        }
    }
    return false;
}

}  // namespace vg::engine
