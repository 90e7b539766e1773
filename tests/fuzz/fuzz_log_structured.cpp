// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the RFC 5424 and JSON forms of a log line
// (daemon/log_structured.h). The first byte chooses the size limit; the rest
// is (a) a value the catalogue logs, which parse_line must give back exactly
// from its key=value line, and (b) a line taken as it is. Both renderings must
// stay within the limit, be one line of valid UTF-8, and hold no NUL.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/log_format.h"
#include "daemon/log_structured.h"

namespace {

bool valid_utf8_one_line(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n' || c == '\r' || c == 0) return false;
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += n;
    }
    return true;
}

void check(const vg::daemon::LineContext& c, std::string_view line, std::size_t max) {
    for (const std::string& out : {vg::daemon::render_rfc5424(c, line, max), vg::daemon::render_json(c, line, max)}) {
        if (out.size() > max || !valid_utf8_one_line(out)) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg::daemon;
    if (size == 0) return 0;
    // 480 (what RFC 5424 receivers must take) .. 2048.
    const std::size_t max = 480 + static_cast<std::size_t>(data[0]) * 6;
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    LineContext c;
    c.hostname = "router1";
    c.pid = 4242;

    std::string line = "VG_FUZZ";
    append_field(line, "site", "acme");
    append_field(line, "value", input);
    const ParsedLine p = parse_line(line);
    if (!input.empty()) {
        if (p.id != "VG_FUZZ" || p.fields.size() != 2 || p.fields[1].second != input || !p.text.empty())
            __builtin_trap();
    }
    check(c, line, max);
    check(c, input, max);
    return 0;
}
