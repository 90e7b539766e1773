// SPDX-License-Identifier: GPL-2.0-or-later
// A time zone as data: the UTC offset at any instant, computed from the
// zone's rules without asking the C library.
//
// The C library knows one local zone per process, set through the TZ
// environment variable: selecting the policy's zone that way wrote the
// environment while compiling a policy (a failed reload could leave the new
// zone behind, and setenv races every other thread). A TimeZone is built once
// when the policy is loaded and is then read-only.
//
// Two sources:
//  - A POSIX TZ rule (POSIX.1-2017 §8.3, as OpenWrt writes to /etc/TZ):
//    "GMT0BST,M3.5.0/1,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/3",
//    "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "EST5" (no daylight saving).
//    POSIX offsets count west of Greenwich (EST5 is UTC-5). Rule times may
//    be -167..167 hours (RFC 8536 §3.3.1). With a daylight-saving name and
//    no rules, the US rules M3.2.0,M11.1.0 apply, as in glibc.
//  - The contents of a TZif file (RFC 8536, versions 1 to 4, as in
//    /usr/share/zoneinfo): its transitions, then the POSIX rule of its
//    footer for instants after the last one. Leap-second records are read
//    past and not applied (the "right/" zones would be off by their count).
//
// utc_offset() is what localtime_r() would put in tm_gmtoff for that zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg::config {

class TimeZone {
public:
    // UTC itself.
    TimeZone() = default;

    // nullopt with `error` set when the text is not a valid rule.
    static std::optional<TimeZone> from_posix(std::string_view rule, std::string& error);
    // nullopt with `error` set when the bytes are not a valid TZif file.
    static std::optional<TimeZone> from_tzif(std::string_view bytes, std::string& error);

    // Seconds to add to UTC to get local time at `utc` (seconds since the
    // Unix epoch), daylight saving included.
    std::int32_t utc_offset(std::int64_t utc) const noexcept;

    // Transitions held (for the footprint; 0 for a POSIX rule).
    std::size_t transition_count() const noexcept { return transitions_.size(); }
    // The POSIX rule as written (from_posix) or the footer of a TZif file
    // ("GMT0BST,M3.5.0/1,M10.5.0"); empty for UTC() and files without one.
    const std::string& posix_rule() const noexcept { return posix_rule_; }
    // True when the offset is the same all through the year of `utc` (no
    // daylight saving then): sampled on the 1st and 15th of every month.
    bool fixed_offset_in_year_of(std::int64_t utc) const noexcept;

    // Bounds against hostile or corrupt files. The largest zone of the tz
    // database has fewer than 250 transitions before its footer applies.
    static constexpr std::size_t kMaxTransitions = 2000;
    static constexpr std::size_t kMaxTypes = 256;
    static constexpr std::size_t kMaxFileSize = 256 * 1024;

    // A parsed POSIX rule (public for the tests).
    struct Rule {
        enum class Kind : std::uint8_t { julian_no_leap, zero_based_day, month_week_day };
        Kind kind = Kind::month_week_day;
        std::uint16_t day = 0;        // Jn: 1..365; n: 0..365; Mm.w.d: d (0 = Sunday)
        std::uint8_t month = 0;       // Mm.w.d: 1..12
        std::uint8_t week = 0;        // Mm.w.d: 1..5 (5 = the last)
        std::int32_t time = 7200;     // seconds after local midnight, -167h..167h
    };
    struct Posix {
        std::int32_t std_offset = 0;  // seconds east of UTC
        bool has_dst = false;
        std::int32_t dst_offset = 0;
        Rule start;                   // in local standard time
        Rule end;                     // in local daylight time
        std::int32_t offset_at(std::int64_t utc) const noexcept;
    };

private:
    struct Transition {
        std::int64_t at = 0;          // UTC seconds
        std::uint8_t type = 0;
    };
    std::vector<Transition> transitions_;   // ascending
    std::vector<std::int32_t> types_;       // UTC offsets of the local time types
    Posix footer_;                          // after the last transition (or the whole zone for a rule)
    bool has_footer_ = true;                // a TZif file with an empty footer has none
    std::string posix_rule_;
};

// The zone a policy names: a file of the tz database under `zoneinfo_dir`
// when the name is one ("Europe/London"), else a POSIX TZ rule. "UTC",
// "Etc/UTC", "GMT" and "Etc/GMT" need no file (OpenWrt ships none by
// default). nullopt with `error` set when neither reading works.
// `source`, when given, says which was used (for `voipguard check`):
// "time zone Europe/London (from /usr/share/zoneinfo/Europe/London)",
// "time zone UTC (built in, no file needed)" or "POSIX rule EST5EDT,M3.2.0,M11.1.0".
std::optional<TimeZone> load_time_zone(std::string_view name, const std::string& zoneinfo_dir, std::string& error,
                                       std::string* source = nullptr);

// A tz database name as the policy may write it: letters, digits, '/', '_',
// '-', '+', starting with a letter, no "..", at most 64 characters.
bool is_time_zone_name(std::string_view name) noexcept;

}  // namespace vg::config
