// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/system_time_zone.h"

#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "filters/util/text.h"

namespace vg::engine {

namespace {

// An IANA name: letters, digits, '/', '_', '-', '+', no "..", not absolute.
bool is_zone_name(std::string_view s) noexcept {
    if (s.empty() || s.front() == '/' || s.find("..") != std::string_view::npos) return false;
    for (char c : s)
        if (!(text::is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '+')) return false;
    return true;
}

// A POSIX TZ rule names a standard offset, so it has a digit right after the
// zone abbreviation ("GMT0", "CET-1CEST,...", "<+03>-3"). IANA names with
// digits ("Etc/GMT+5") contain a '/', rules do not before their first ','.
bool looks_like_posix_rule(std::string_view s) noexcept {
    const std::string_view head = s.substr(0, s.find(','));
    if (head.find('/') != std::string_view::npos) return false;
    for (char c : head)
        if (text::is_digit(c)) return true;
    return false;
}

bool zone_file_exists(std::string_view name) noexcept {
    const char* dir = std::getenv("TZDIR");
    if (dir == nullptr || *dir == '\0') dir = "/usr/share/zoneinfo";
    char path[512];
    const std::size_t dl = std::strlen(dir);
    if (dl + 1 + name.size() + 1 > sizeof path) return false;
    std::memcpy(path, dir, dl);
    path[dl] = '/';
    std::memcpy(path + dl + 1, name.data(), name.size());
    path[dl + 1 + name.size()] = '\0';
    return access(path, R_OK) == 0;
}

}  // namespace

bool SystemTimeZone::select(std::string_view zone) noexcept {
    char value[256];
    if (zone.empty() || zone.size() >= sizeof value) return false;
    const bool posix = looks_like_posix_rule(zone);
    if (!posix && !(is_zone_name(zone) && zone_file_exists(zone))) return false;
    std::memcpy(value, zone.data(), zone.size());
    value[zone.size()] = '\0';
    if (setenv("TZ", value, 1) != 0) return false;
    tzset();
    return true;
}

std::int32_t SystemTimeZone::utc_offset(UnixSeconds utc) const noexcept {
    const time_t t = static_cast<time_t>(utc);
    struct tm tm_local;
    if (localtime_r(&t, &tm_local) == nullptr) return 0;
    return static_cast<std::int32_t>(tm_local.tm_gmtoff);
}

}  // namespace vg::engine
