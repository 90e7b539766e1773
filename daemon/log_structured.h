// SPDX-License-Identifier: GPL-2.0-or-later
// The structured log formats a SIEM reads (policy key logging.format):
//
//   rfc3164  "<PRI>Mmm dd hh:mm:ss voipguard[PID]: VG_ID key=value ..." (the default)
//   rfc5424  "<PRI>1 TIMESTAMP HOST voipguard PID VG_ID [voipguard@32473 key="value" ...] VG_ID"
//   json     "<PRI>Mmm dd hh:mm:ss voipguard[PID]: {"time":...,"event":"VG_ID","key":"value",...}"
//
// Every line is first written as key=value text by the catalogue
// (log_events.h); the structured forms are derived from that text by a
// parser of its grammar (log_format.h: values unquoted, or quoted with \"
// and \\ inside, bytes outside printable ASCII as \xNN). So the three
// formats carry the same fields, and a line added to the catalogue is
// structured without further work.
//
// Field values in rfc5424 and json: valid UTF-8 (printable characters,
// U+00A0 and up) is kept as it is; every other byte - C0 controls, DEL, the
// C1 controls U+0080..U+009F, bytes that are not valid UTF-8, and the
// characters that break or reorder a line (U+2028, U+2029, the bidirectional
// controls U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069, and
// U+FEFF) - is written as the four characters \xNN, and a backslash as two
// (\\), exactly as in the
// key=value format. On top of that each format escapes what its grammar
// needs: RFC 5424 §6.3.3 '"', '\' and ']'; JSON (RFC 8259) '"' and '\'. The
// output is therefore always valid UTF-8 and one line, whatever the packet
// held.
//
// Size: one datagram holds at most `max` bytes (RFC 5424 §6.1: receivers
// SHOULD accept 2048). A line that does not fit has its longest values cut
// (whole characters) and, if that is not enough, fields dropped from the
// end; a field truncated="key,key" names them (the first eight, then ",+N").
// The result is still well-formed.
//
// Part of the logging facade (daemon/logging.h); pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/log_severity.h"

namespace vg::daemon {

enum class LogFormat : std::uint8_t { rfc3164, rfc5424, json };

std::optional<LogFormat> parse_log_format(std::string_view name) noexcept;   // "rfc5424"
std::string_view log_format_name(LogFormat f) noexcept;

// The private enterprise number in the SD-ID "voipguard@32473". RFC 5424
// §7.2.2 requires an enterprise number after '@'; 32473 is the one RFC 5612
// reserves for documentation and examples. A provider with its own number
// can change it here; the central side matches on the name before '@'.
inline constexpr std::string_view kSdId = "voipguard@32473";

// A key=value line taken apart. Keys as written; values unescaped (the
// bytes the catalogue was given, passwords already masked).
struct ParsedLine {
    std::string id;   // the first word when it is not key=value ("VG_START"); may be empty
    std::vector<std::pair<std::string, std::string>> fields;
    std::string text;   // the words that are not key=value, joined by single spaces
};

// Never fails: what does not parse as key=value goes to `text`.
ParsedLine parse_line(std::string_view line);

// Appends `raw` as the value text described above (no format escaping).
void append_value_text(std::string& out, std::string_view raw);

struct LineContext {
    int priority = 0;                                // facility | severity
    Severity severity = Severity::info;
    std::chrono::system_clock::time_point time{};
    std::string_view hostname;                      // "" -> "-"
    std::string_view ident = "voipguard";
    long pid = 0;
};

// RFC 3339 UTC with microseconds: "2026-12-03T16:47:08.123456Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// The whole RFC 5424 datagram (header, structured data, MSG), at most `max` bytes.
std::string render_rfc5424(const LineContext& c, std::string_view line, std::size_t max);
// The JSON object (without the syslog header in front), at most `max` bytes.
std::string render_json(const LineContext& c, std::string_view line, std::size_t max);

}  // namespace vg::daemon
