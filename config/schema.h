// SPDX-License-Identifier: GPL-2.0-or-later
// The one table of every policy key: path, type, default, range, merge rule
// and description. It drives validation (unknown keys, types, ranges,
// required keys), the effective-policy printer of `voipguard check --print`
// and config/REFERENCE.md (`voipguard check --reference`); a test compares
// that file with reference_markdown().
//
// Paths: "sip.max_headers" is a key in a map; "peers.pbx[].name" a key in each
// item of a list of maps; "sip.rate_limits.*" every key of a free-form map.
#pragma once

#include "config/policy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vg::config {

enum class Type {
    map,            // a section with fixed keys
    map_list,       // a list of maps (peers.pbx); item keys are "path[].key"
    rate_map,       // free keys (SIP methods or "default") -> rate
    integer,
    boolean,
    string,
    name,           // [A-Za-z0-9][A-Za-z0-9._-]*, at most 63 characters
    enumeration,
    duration,       // 30s, 5m, 2h, 1d
    rate,           // 10/s burst 20
    port,           // 1..65535
    port_range,     // "10000-20000" or a single port
    service_port,   // tcp/443, udp/161, tcp/8000-8080
    cidr,           // 192.0.2.0/24, 2001:db8::/32, or a bare address
    address,        // IP address, CIDR prefix or host name
    prefix,         // dialling prefix: digits with an optional leading '+'
    digits,         // digits only
    number,         // emergency / service number: digits only (with '*' or '#' it is a feature code)
    timezone,       // IANA time zone name ("Europe/London", "UTC")
    weekly_window,  // "mon-fri 08:00-18:00"
    version_text,   // firmware version "4.3.1"
    text_pattern,   // User-Agent substring
    password_text,  // a candidate password: 1..64 printable characters
    file,           // include file name
    interface_name, // network interface: 1..15 of [A-Za-z0-9._@-]
    aor,            // "201@pbx.example.net" or an extension "201"
    ip_address,     // one IPv4 or IPv6 address, no prefix
};

enum KeyFlags : unsigned {
    kRequired = 1u << 0,        // must be present (in the site file / list item)
    kSiteOnly = 1u << 1,        // may not be set in an included file
    kAppend = 1u << 2,          // lists: includes and site file are concatenated
    kDescriptiveDefault = 1u << 3,   // `dflt` is prose, not a YAML value
    kPerFile = 1u << 4,         // every file has its own (version, include)
};

struct KeyInfo {
    std::string_view path;
    Type type;
    bool list;                   // the value is a list of `type`
    std::string_view dflt;       // default as YAML text (or prose); "" = none
    std::int64_t min;            // integer value / duration seconds; 0,0 = no range
    std::int64_t max;
    std::string_view choices;    // enumeration: "enforce|monitor"
    unsigned flags;
    std::uint32_t min_items;     // lists
    std::uint32_t max_items;
    std::string_view description;

    bool required() const { return (flags & kRequired) != 0; }
    bool site_only() const { return (flags & kSiteOnly) != 0; }
    bool append() const { return (flags & kAppend) != 0; }
    bool leaf() const { return type != Type::map && type != Type::map_list && type != Type::rate_map; }
};

// Every key, in document order (parents before children).
const std::vector<KeyInfo>& schema();
// The entry for a pattern path ("peers.pbx[].name"), or nullptr.
const KeyInfo* find_key(std::string_view pattern);
// Names of the direct children of a map / map_list pattern ("" = the root).
std::vector<std::string_view> child_keys(std::string_view pattern);

// Where a key name is valid: the patterns whose last part is `name`
// ("out_of_hours" -> "toll_fraud.out_of_hours"), in table order.
std::vector<std::string_view> places_of_key(std::string_view name);

// Keys that do not exist but are natural guesses ("logging.server"), each
// with where that setting lives instead: the unknown-key error says it, and
// the reference lists them.
struct KeyHint {
    std::string_view pattern;   // as find_key() spells paths
    std::string_view hint;
};
const std::vector<KeyHint>& key_hints();
const KeyHint* find_key_hint(std::string_view pattern);

// The SIP methods voipguard knows (sip.unknown_methods; keys of sip.rate_limits).
const std::vector<std::string_view>& known_sip_methods();

// Human name of a type for messages and docs ("duration", "list of CIDR").
std::string type_name(const KeyInfo& key);
// "8..256", "1s..1h", "" when there is no range.
std::string range_text(const KeyInfo& key);

// The key reference (config/REFERENCE.md), generated from the table.
std::string reference_markdown();

// Built-in lists (documented in the reference with their sources).
struct BuiltinPrefix {
    std::string_view prefix;
    std::string_view what;
    std::string_view source;
};
const std::vector<BuiltinPrefix>& builtin_high_risk_prefixes();
// NANP area codes billed at international rates ("+1809"), denied when
// deny_builtin is on and the site's country code is 1.
const std::vector<BuiltinPrefix>& builtin_nanp_international_prefixes();
const std::vector<std::string_view>& builtin_scanner_user_agents();
// The password audit's built-in candidates (handsets.password_audit_rate):
// common weak passwords and vendors' documented defaults, each with where it
// is documented.
struct BuiltinWeakPassword {
    std::string_view password;
    bool vendor_default;        // false: a common weak password
    std::string_view source;
};
const std::vector<BuiltinWeakPassword>& builtin_weak_passwords();

// ---- value parsers (shared by the loader and the tests) --------------------
// Each returns nullopt (or false) on malformed text; the range check is the
// caller's.
std::optional<std::int64_t> parse_integer(std::string_view s);
std::optional<bool> parse_boolean(std::string_view s);
std::optional<Seconds> parse_duration(std::string_view s);
std::optional<Rate> parse_rate(std::string_view s);
std::optional<PortRange> parse_port_range(std::string_view s);
std::optional<ServicePort> parse_service_port(std::string_view s);
std::optional<WeeklyWindow> parse_weekly_window(std::string_view s);
std::optional<std::vector<std::uint32_t>> parse_version_text(std::string_view s);
bool is_valid_name(std::string_view s);
bool is_valid_prefix(std::string_view s);
bool is_valid_digits(std::string_view s, std::size_t max_len);
// An emergency / service number: 1..15 digits.
bool is_valid_number(std::string_view s);
bool is_valid_timezone(std::string_view s);
// RFC 1123 host name with at least one dot or a single label; not an IP,
// and no number as its last label (hexadecimal "0x1f" included): the C
// library reads "0x7f.0.0.1" as 127.0.0.1 (see legacy_ipv4_address).
bool is_valid_host_name(std::string_view s);
// The address the C library (inet_aton, and getaddrinfo before DNS) reads in
// text that is not a dotted-decimal address: "0x7f.0.0.1" -> 127.0.0.1,
// "203.0.113.010" -> 203.0.113.8 (octal), "10.1" -> 10.0.0.1; nullopt for
// anything else.
std::optional<net::IpAddress> legacy_ipv4_address(std::string_view s);
// An AOR of handsets.known: "user@domain" -> {user, lower-case domain},
// an extension "201" -> {"201", ""}.
std::optional<std::pair<std::string, std::string>> parse_aor(std::string_view s);
// "30s", "5m", "2h", "1d" (largest unit that divides evenly).
std::string format_duration(Seconds d);

// Levenshtein distance, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace vg::config
