// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/time_zone.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "filters/util/text.h"

namespace vg::config {

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int32_t kHour = 3600;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = floor_div(y, 400);
    const std::int64_t yoe = y - era * 400;                                   // 0..399
    const std::int64_t mp = m > 2 ? m - 3 : m + 9;                            // March = 0
    const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;                      // 0..365
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // 0..146096
    return era * 146097 + doe - 719468;
}

// The year a day (since 1970-01-01) falls in.
std::int64_t year_of_day(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The day (since 1970-01-01) a rule names in year `y`.
std::int64_t rule_day(const TimeZone::Rule& r, std::int64_t y) noexcept {
    const std::int64_t jan1 = days_from_civil(y, 1, 1);
    switch (r.kind) {
    case TimeZone::Rule::Kind::julian_no_leap:
        // 1..365, February 29 never counted: day 60 is March 1.
        return jan1 + r.day - 1 + (is_leap(y) && r.day >= 60 ? 1 : 0);
    case TimeZone::Rule::Kind::zero_based_day:
        return jan1 + r.day;
    case TimeZone::Rule::Kind::month_week_day: {
        const std::int64_t first = days_from_civil(y, r.month, 1);
        const std::int64_t next = r.month == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, r.month + 1u, 1);
        std::int64_t wday = (first + 4) % 7;   // 1970-01-01 was a Thursday
        if (wday < 0) wday += 7;
        std::int64_t day = first + (r.day - wday + 7) % 7 + (r.week - 1) * 7;
        while (day >= next) day -= 7;          // week 5: the last such day
        return day;
    }
    }
    return jan1;
}

// A small cursor over the rule text.
struct Cursor {
    std::string_view s;
    std::size_t i = 0;
    bool end() const noexcept { return i >= s.size(); }
    char peek() const noexcept { return end() ? '\0' : s[i]; }
    bool eat(char c) noexcept {
        if (peek() != c) return false;
        ++i;
        return true;
    }
    bool number(unsigned max_digits, unsigned max_value, unsigned& out) noexcept {
        const std::size_t start = i;
        std::uint64_t v = 0;
        while (!end() && text::is_digit(s[i]) && i - start < max_digits) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        if (i == start || v > max_value) return false;
        out = static_cast<unsigned>(v);
        return true;
    }
};

// A zone abbreviation: three or more letters, or <...> with letters,
// digits, '+' and '-'.
bool parse_name(Cursor& c) noexcept {
    std::size_t n = 0;
    if (c.eat('<')) {
        while (!c.end() && (text::is_alnum(c.peek()) || c.peek() == '+' || c.peek() == '-')) ++c.i, ++n;
        return c.eat('>') && n >= 3;
    }
    while (!c.end() && text::is_alpha(c.peek())) ++c.i, ++n;
    return n >= 3;
}

// [+-]hh[:mm[:ss]], hours up to `max_hours`; seconds, sign as written.
bool parse_hms(Cursor& c, unsigned max_hours, std::int32_t& out) noexcept {
    int sign = 1;
    if (c.eat('-')) sign = -1;
    else c.eat('+');
    unsigned h = 0, m = 0, s = 0;
    if (!c.number(3, max_hours, h)) return false;
    if (c.eat(':')) {
        if (!c.number(2, 59, m)) return false;
        if (c.eat(':') && !c.number(2, 59, s)) return false;
    }
    out = sign * static_cast<std::int32_t>(h * 3600 + m * 60 + s);
    return true;
}

bool parse_rule(Cursor& c, TimeZone::Rule& r) noexcept {
    unsigned a = 0, b = 0, d = 0;
    if (c.eat('J')) {
        if (!c.number(3, 365, a) || a < 1) return false;
        r.kind = TimeZone::Rule::Kind::julian_no_leap;
        r.day = static_cast<std::uint16_t>(a);
    } else if (c.eat('M')) {
        if (!c.number(2, 12, a) || a < 1 || !c.eat('.') || !c.number(1, 5, b) || b < 1 || !c.eat('.') ||
            !c.number(1, 6, d))
            return false;
        r.kind = TimeZone::Rule::Kind::month_week_day;
        r.month = static_cast<std::uint8_t>(a);
        r.week = static_cast<std::uint8_t>(b);
        r.day = static_cast<std::uint16_t>(d);
    } else {
        if (!c.number(3, 365, a)) return false;
        r.kind = TimeZone::Rule::Kind::zero_based_day;
        r.day = static_cast<std::uint16_t>(a);
    }
    r.time = 2 * kHour;
    if (c.eat('/') && !parse_hms(c, 167, r.time)) return false;
    return true;
}

bool parse_posix(std::string_view text, TimeZone::Posix& p, std::string& error) {
    Cursor c{text};
    std::int32_t west = 0;
    if (!parse_name(c)) {
        error = "expected a zone name of three or more letters (or <+03>) at the start";
        return false;
    }
    if (!parse_hms(c, 24, west)) {
        error = "expected the standard time's offset (hours west of UTC, e.g. GMT0 or CET-1)";
        return false;
    }
    p.std_offset = -west;
    p.has_dst = false;
    if (c.end()) return true;
    if (!parse_name(c)) {
        error = "expected a daylight-saving zone name after the offset";
        return false;
    }
    p.has_dst = true;
    p.dst_offset = p.std_offset + kHour;
    if (!c.end() && c.peek() != ',') {
        if (!parse_hms(c, 24, west)) {
            error = "expected the daylight-saving offset";
            return false;
        }
        p.dst_offset = -west;
    }
    if (c.end()) {
        // No rules: the US rules, as glibc applies them.
        p.start = TimeZone::Rule{TimeZone::Rule::Kind::month_week_day, 0, 3, 2, 2 * kHour};
        p.end = TimeZone::Rule{TimeZone::Rule::Kind::month_week_day, 0, 11, 1, 2 * kHour};
        return true;
    }
    if (!c.eat(',') || !parse_rule(c, p.start) || !c.eat(',') || !parse_rule(c, p.end)) {
        error = "expected ,START[/TIME],END[/TIME] (Jn, n or Mm.w.d) after the daylight-saving name";
        return false;
    }
    if (!c.end()) {
        error = "unexpected text after the rules";
        return false;
    }
    return true;
}

// Big-endian reader over the file.
struct Reader {
    std::string_view b;
    std::size_t at = 0;
    bool has(std::size_t n) const noexcept { return at <= b.size() && b.size() - at >= n; }
    std::uint32_t u32() noexcept {
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(b[at++]);
        return v;
    }
    std::int64_t i64() noexcept {
        std::uint64_t v = 0;
        for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<unsigned char>(b[at++]);
        return static_cast<std::int64_t>(v);
    }
    std::uint8_t u8() noexcept { return static_cast<unsigned char>(b[at++]); }
};

struct Header {
    char version = 0;
    std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool read_header(Reader& r, Header& h, std::string& error) {
    if (!r.has(44) || r.b.substr(r.at, 4) != "TZif") {
        error = "not a TZif file (no TZif header)";
        return false;
    }
    h.version = r.b[r.at + 4];
    r.at += 20;
    h.isutcnt = r.u32();
    h.isstdcnt = r.u32();
    h.leapcnt = r.u32();
    h.timecnt = r.u32();
    h.typecnt = r.u32();
    h.charcnt = r.u32();
    if (h.typecnt == 0 || h.typecnt > TimeZone::kMaxTypes) {
        error = "TZif file has no local time types, or too many";
        return false;
    }
    if (h.timecnt > TimeZone::kMaxTransitions) {
        error = "TZif file has too many transitions";
        return false;
    }
    if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) ||
        h.leapcnt > 1000 || h.charcnt > 65536) {
        error = "TZif header counts are inconsistent";
        return false;
    }
    return true;
}

std::size_t block_size(const Header& h, std::size_t time_size) noexcept {
    return std::size_t{h.timecnt} * time_size + h.timecnt + std::size_t{h.typecnt} * 6 + h.charcnt +
           std::size_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

std::int32_t TimeZone::Posix::offset_at(std::int64_t utc) const noexcept {
    if (!has_dst) return std_offset;
    // Years beyond a million are outside every calendar rule's use, and their
    // arithmetic would overflow: they take the rule of the nearest such year.
    constexpr std::int64_t kLimit = std::int64_t{1} << 45;
    utc = std::clamp(utc, -kLimit, kLimit);
    const std::int64_t year = year_of_day(floor_div(utc + std_offset, kDay));
    // The start is given in local standard time, the end in daylight time.
    const std::int64_t on = rule_day(start, year) * kDay + start.time - std_offset;
    const std::int64_t off = rule_day(end, year) * kDay + end.time - dst_offset;
    // Northern hemisphere: on < off within the year; southern: the other way.
    const bool dst = on < off ? (utc >= on && utc < off) : !(utc >= off && utc < on);
    return dst ? dst_offset : std_offset;
}

std::optional<TimeZone> TimeZone::from_posix(std::string_view rule, std::string& error) {
    TimeZone z;
    if (!parse_posix(rule, z.footer_, error)) return std::nullopt;
    z.posix_rule_ = std::string(rule);
    return z;
}

std::optional<TimeZone> TimeZone::from_tzif(std::string_view bytes, std::string& error) {
    if (bytes.size() > kMaxFileSize) {
        error = "TZif file too large";
        return std::nullopt;
    }
    Reader r{bytes};
    Header h;
    if (!read_header(r, h, error)) return std::nullopt;
    std::size_t time_size = 4;
    if (h.version >= '2') {
        // Version 2 and later repeat the data with 64-bit times after the
        // version 1 block, then a footer.
        const std::size_t v1 = block_size(h, 4);
        if (!r.has(v1)) {
            error = "TZif file truncated";
            return std::nullopt;
        }
        r.at += v1;
        if (!read_header(r, h, error)) return std::nullopt;
        time_size = 8;
    } else if (h.version != '\0') {
        error = "TZif file of an unknown version";
        return std::nullopt;
    }
    if (!r.has(block_size(h, time_size))) {
        error = "TZif file truncated";
        return std::nullopt;
    }
    TimeZone z;
    z.transitions_.resize(h.timecnt);
    for (Transition& t : z.transitions_)
        t.at = time_size == 8 ? r.i64() : static_cast<std::int32_t>(r.u32());
    for (Transition& t : z.transitions_) {
        t.type = r.u8();
        if (t.type >= h.typecnt) {
            error = "TZif transition names a local time type that does not exist";
            return std::nullopt;
        }
    }
    for (std::size_t i = 1; i < z.transitions_.size(); ++i)
        if (z.transitions_[i].at <= z.transitions_[i - 1].at) {
            error = "TZif transitions are not in ascending order";
            return std::nullopt;
        }
    z.types_.resize(h.typecnt);
    for (std::int32_t& off : z.types_) {
        off = static_cast<std::int32_t>(r.u32());
        r.at += 2;   // isdst, abbreviation index
        if (off < -26 * kHour || off > 26 * kHour) {
            error = "TZif local time type has an impossible UTC offset";
            return std::nullopt;
        }
    }
    r.at += h.charcnt + std::size_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
    z.has_footer_ = false;
    if (time_size == 8) {
        const std::string_view rest = bytes.substr(r.at);
        if (rest.size() < 2 || rest.front() != '\n') {
            error = "TZif footer missing";
            return std::nullopt;
        }
        const std::size_t nl = rest.find('\n', 1);
        if (nl == std::string_view::npos) {
            error = "TZif footer not terminated";
            return std::nullopt;
        }
        const std::string_view rule = rest.substr(1, nl - 1);
        if (!rule.empty()) {
            std::string why;
            if (!parse_posix(rule, z.footer_, why)) {
                error = "TZif footer: " + why;
                return std::nullopt;
            }
            z.has_footer_ = true;
            z.posix_rule_ = std::string(rule);
        }
    }
    if (z.transitions_.empty() && !z.has_footer_) {
        // One local time type and nothing else (a version 1 "UTC").
        z.footer_.std_offset = z.types_[0];
        z.has_footer_ = true;
    }
    return z;
}

std::int32_t TimeZone::utc_offset(std::int64_t utc) const noexcept {
    if (transitions_.empty()) return footer_.offset_at(utc);
    if (utc < transitions_.front().at) return types_[0];
    if (utc >= transitions_.back().at) return has_footer_ ? footer_.offset_at(utc) : types_[transitions_.back().type];
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc,
                                     [](std::int64_t t, const Transition& x) { return t < x.at; });
    return types_[std::prev(it)->type];
}

bool TimeZone::fixed_offset_in_year_of(std::int64_t utc) const noexcept {
    const std::int64_t year = year_of_day(floor_div(utc, kDay));
    const std::int32_t first = utc_offset(days_from_civil(year, 1, 1) * kDay);
    for (unsigned m = 1; m <= 12; ++m)
        for (unsigned d : {1u, 15u})
            if (utc_offset(days_from_civil(year, m, d) * kDay + 12 * kHour) != first) return false;
    return true;
}

bool is_time_zone_name(std::string_view s) noexcept {
    if (s.empty() || s.size() > 64 || s.back() == '/') return false;
    if (s.find("..") != std::string_view::npos || s.find("//") != std::string_view::npos) return false;
    for (char c : s)
        if (!text::is_alnum(c) && c != '/' && c != '_' && c != '-' && c != '+') return false;
    return text::is_alpha(s[0]);
}

std::optional<TimeZone> load_time_zone(std::string_view name, const std::string& zoneinfo_dir, std::string& error,
                                       std::string* source) {
    auto said = [&](std::string what) {
        if (source != nullptr) *source = std::move(what);
    };
    if (is_time_zone_name(name)) {
        const std::string path = zoneinfo_dir + "/" + std::string(name);
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::string bytes;
            char buf[4096];
            while (in.read(buf, sizeof buf) || in.gcount() > 0) {
                bytes.append(buf, static_cast<std::size_t>(in.gcount()));
                if (bytes.size() > TimeZone::kMaxFileSize) break;
            }
            std::string why;
            if (auto z = TimeZone::from_tzif(bytes, why)) {
                said("time zone " + std::string(name) + " (from " + path + ")");
                return z;
            }
            error = path + ": " + why;
            return std::nullopt;
        }
        if (name == "UTC" || name == "Etc/UTC" || name == "GMT" || name == "Etc/GMT") {
            said("time zone " + std::string(name) + " (built in, no file needed)");
            return TimeZone{};
        }
    }
    std::string why;
    if (auto z = TimeZone::from_posix(name, why)) {
        said("POSIX rule " + std::string(name));
        return z;
    }
    if (is_time_zone_name(name))
        error = "no zone file " + zoneinfo_dir + "/" + std::string(name) +
                " (install the tz database, on OpenWrt a zoneinfo package, or write the zone's POSIX rule as in "
                "/etc/TZ, e.g. GMT0BST,M3.5.0/1,M10.5.0)";
    else
        error = "not a POSIX TZ rule: " + why;
    return std::nullopt;
}

}  // namespace vg::config
