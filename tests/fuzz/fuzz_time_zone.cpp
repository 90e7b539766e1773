// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the time-zone parsers (config/time_zone.h). Input that
// starts with "TZif" is a zone file, anything else a POSIX TZ rule. A zone
// that parses is asked for its offset at instants from the input and at the
// extremes; every offset must be within a day of UTC.
#include "config/time_zone.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto zone = bytes.substr(0, 4) == "TZif" ? vg::config::TimeZone::from_tzif(bytes, error)
                                                   : vg::config::TimeZone::from_posix(bytes, error);
    if (!zone) {
        if (error.empty()) std::abort();   // every refusal says why
        return 0;
    }
    auto check = [&](std::int64_t t) {
        const std::int32_t off = zone->utc_offset(t);
        if (off < -26 * 3600 || off > 26 * 3600) std::abort();
    };
    for (std::int64_t t : {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                           std::int64_t{0}, std::int64_t{-1}, std::int64_t{1700000000}, std::int64_t{4102444800}})
        check(t);
    for (std::size_t i = 0; i + 8 <= size && i < 256; i += 8) {
        std::int64_t t = 0;
        std::memcpy(&t, data + i, 8);
        check(t);
        check(t % 8000000000LL);   // within a few centuries of 1970
    }
    return 0;
}
