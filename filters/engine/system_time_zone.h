// SPDX-License-Identifier: GPL-2.0-or-later
// The policy's time zone through the C library, for WeeklySchedule.
//
// The C library knows one local time zone per process, taken from the TZ
// environment variable. select() sets TZ and calls tzset(); utc_offset() then
// calls localtime_r() and reads tm_gmtoff, which includes daylight saving.
//
// Thread safety and limits:
//  - select() writes the environment (setenv is not thread-safe): call it only
//    at start-up or reload, from the main thread, while no other thread calls
//    getenv, localtime* or mktime. utc_offset() only reads and may be called
//    from any thread afterwards.
//  - There is one zone per process: every SystemTimeZone reports the zone of
//    the last successful select(). A policy with one site time zone (the
//    usual case) needs nothing more.
//  - Accepted names: an IANA zone name ("Europe/London"), which needs the
//    zone file (TZDIR or /usr/share/zoneinfo; OpenWrt ships it only with the
//    zoneinfo-* packages), or a POSIX TZ rule ("GMT0BST,M3.5.0/1,M10.5.0", as
//    OpenWrt writes to /etc/TZ), which needs no files. The C library silently
//    treats an unknown zone as UTC, so select() checks that a named zone's file
//    exists and reports false otherwise.
#pragma once

#include <string_view>

#include "filters/engine/schedule.h"

namespace vg::engine {

class SystemTimeZone final : public UtcOffsetSource {
public:
    // Makes `zone` the process's local time zone. False (and nothing changed)
    // when the name is empty, too long, not a POSIX TZ rule and has no zone file.
    static bool select(std::string_view zone) noexcept;

    std::int32_t utc_offset(UnixSeconds utc) const noexcept override;
};

}  // namespace vg::engine
