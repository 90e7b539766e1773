// SPDX-License-Identifier: GPL-2.0-or-later
// The text of a log line: key=value fields whose values are escaped so that
// packet text (attacker-controlled) can never split a line, forge a field or
// reach a terminal as control bytes, and passwords in URIs masked. Knows
// nothing of events: daemon/log_events.h says which fields each line has.
// Part of the logging facade (daemon/logging.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vg::config {
struct Policy;
}

namespace vg::daemon {

// Writes `value` so that a key=value parser gets it back and a log line can
// never be split or forged: bytes below 0x20, 0x7f and bytes >= 0x80 become
// \xNN, a backslash becomes \\; the value is put in double quotes (with \"
// inside) when it is empty or holds a space, '"' or '='.
void append_value(std::string& out, std::string_view value);
// The same escaping without the quoting decision, for terminal output of
// packet text (`voipguard calls` / `handsets`): bytes below 0x20, 0x7f and
// >= 0x80 become \xNN, a backslash \\, a double quote \". A Call-ID or
// User-Agent can then never carry a terminal escape sequence to the screen.
void append_escaped(std::string& out, std::string_view value);
std::string escape_text(std::string_view value);
// " key=value" (value escaped as above); nothing when `value` is empty.
void append_field(std::string& out, std::string_view key, std::string_view value);
void append_field(std::string& out, std::string_view key, std::uint64_t value);
// `name` as (part of) a field key: bytes that could end a key or make the
// line ambiguous (space, control and non-ASCII bytes, quotes, '=', '@', '/',
// '\', brackets, '|') become '_'.
void append_key(std::string& out, std::string_view name);

// Masks the password of every "user:password@" in `text` (URI user info,
// RFC 3986 §3.2.1, which RFC 3261 §19.1.1 keeps for SIP URIs) as "***":
// "sip:alice:secret@pbx" -> "sip:alice:***@pbx". Anything else is unchanged.
std::string mask_secrets(std::string_view text);

// logging.mask_numbers: telephone numbers in log lines, alerts and control
// output, shortened to their first keep_start and last keep_end digits
// ("+447912345678" -> "+4479xxxxxx78"). Off: shown whole.
struct NumberMask {
    bool enabled = false;
    unsigned keep_start = 4;
    unsigned keep_end = 2;
};
// The mask of a policy's logging section.
NumberMask number_mask_of(const config::Policy& policy);

// `number` (a number field, a Request-URI user part) with every digit after
// the first keep_start and before the last keep_end replaced by 'x'; other
// characters stay ('+', '*', '#', separators). A number of at most
// keep_start + keep_end digits (an extension, a service number) is unchanged.
std::string mask_number(std::string_view number, const NumberMask& mask);
// Free text (a `detail`, an AOR, a Request-URI): the user info before every
// '@' and after every "tel:" is masked as one number (so "+44.20.7946.0000"
// with visual separators is one number), and so is every other run of
// digits, '+', '*', '#', '-', '(' and ')' holding at least 7 digits (longer
// than a port, an IPv4 octet or a version part, which stay).
std::string mask_numbers_in_text(std::string_view text, const NumberMask& mask);

}  // namespace vg::daemon
