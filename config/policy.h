// SPDX-License-Identifier: GPL-2.0-or-later
// The policy model: plain structs the engine and the daemon read. No YAML
// type appears here; config/loader.h builds a Policy from YAML files and
// config/schema.h documents every key (type, default, range). Every default
// below comes from the schema table: the loader fills each field from the
// file or from the table, never from the initialisers here.
#pragma once

#include "config/diagnostics.h"
#include "config/time_zone.h"
#include "filters/net/ip_address.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vg::config {

using Seconds = std::chrono::seconds;

enum class Mode { enforce, monitor };
enum class OnFailure { open, closed };
enum class Transport { udp, tcp };

// One entry of an `addresses:` list: an IP address, a CIDR prefix, or a host
// name. Host names keep their name so the daemon can refresh them
// (refresh_host_names() in config/loader.h); `resolved` holds the last good
// lookup.
struct AddressEntry {
    std::string text;                       // as written in the policy
    std::optional<net::Cidr> cidr;          // literal address (host prefix) or prefix
    std::string host;                       // host name, empty for literals
    std::string path;                       // key path where written ("peers.pbx[0].addresses[2]")
    std::vector<net::IpAddress> resolved;   // host names: last good lookup
    Origin origin;

    bool is_host() const { return !host.empty(); }
    // The prefixes this entry stands for now (host names: one host prefix per
    // resolved address).
    std::vector<net::Cidr> prefixes() const;
};

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    bool contains(std::uint16_t port) const { return port >= first && port <= last; }
};

// "tcp/443", "udp/161", "tcp/8000-8080".
struct ServicePort {
    Transport transport = Transport::tcp;
    PortRange ports;
};

struct PbxMedia {
    std::vector<AddressEntry> addresses;   // where this PBX's media may come from
    bool addresses_from_pbx = true;        // true when media.addresses was not set
    PortRange ports;
};

struct PbxPeer {
    std::string name;
    std::vector<AddressEntry> addresses;
    PbxMedia media;
    Origin origin;
};

// A support peer (inbound to listed handset ports) or an egress allow-list
// entry (outbound from handsets to listed ports).
struct ServicePeer {
    std::string name;
    std::vector<AddressEntry> addresses;
    std::vector<ServicePort> ports;
    Origin origin;
};

// "10/s burst 20": `count` events per `per`, bursts up to `burst`
// (burst defaults to count).
struct Rate {
    std::uint32_t count = 0;
    Seconds per{1};
    std::uint32_t burst = 0;
};

struct FirmwareMinimum {
    std::string match;                 // case-insensitive User-Agent substring
    std::string min_version;           // as written, e.g. "4.3.1"
    std::vector<std::uint32_t> min_version_parts;   // {4, 3, 1}
    Origin origin;
};

// An entry of the handset inventory (handsets.known): the AOR a handset
// registers ("201@pbx.example.net", or "201" for that user at any domain),
// where it is expected to register from and what it should say it is.
struct KnownHandset {
    std::string aor;                         // as written
    std::string user;                        // before '@' (the whole AOR when there is none)
    std::string domain;                      // after '@', lower case; "" = any
    std::optional<net::IpAddress> address;   // expected address; none = any
    std::string model;                       // case-insensitive User-Agent substring; "" = any
    Origin origin;
};

// A weekly window "mon-fri 08:00-18:00". days: bit 0 = Monday .. bit 6 = Sunday.
// end_minute may be 1440 ("24:00").
struct WeeklyWindow {
    std::uint8_t days = 0;
    std::uint16_t start_minute = 0;
    std::uint16_t end_minute = 0;
};

struct DialPrefix {
    std::string digits;   // "+881", "09"
    Origin origin;
    std::string label;    // from a prefix file's label column ("" = none)
};

// The prefixes of one prefix file, packed for lists of 100,000: the digits
// back to back (no string per entry), a line number each, each distinct
// label stored once. Read once by the loader and shared, never copied, by
// the policy (PrefixFile::prefixes); the engine's lists point into it.
class PrefixFileEntries {
public:
    void add(std::string_view digits, std::string_view label, int line);
    // After the last add(): releases spare capacity and the label index.
    void finish();

    std::size_t size() const { return lines_.size(); }
    std::string_view digits(std::size_t i) const {
        const std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
        return std::string_view(chars_).substr(begin, ends_[i] - begin);
    }
    std::string_view label(std::size_t i) const {   // "" = none
        return labels_of_.empty() || labels_of_[i] == 0 ? std::string_view() : labels_[labels_of_[i] - 1];
    }
    int line(std::size_t i) const { return static_cast<int>(lines_[i]); }
    std::size_t distinct_labels() const { return labels_.size(); }
    std::size_t memory_bytes() const;

private:
    std::string chars_;
    std::vector<std::uint32_t> ends_;        // end of entry i in chars_
    std::vector<std::uint32_t> lines_;
    std::vector<std::uint32_t> labels_of_;   // 1 + index into labels_, 0 = none; empty while no entry has one
    std::vector<std::string> labels_;
    std::map<std::string, std::uint32_t, std::less<>> label_index_;   // while adding
};

// A file of toll_fraud.deny_prefix_files / allow_prefix_files / callback.risk_prefix_files, as loaded.
struct PrefixFile {
    std::string file;        // as shown in diagnostics (relative names joined to the policy file's directory)
    Origin named_at;         // the entry of the policy that names it
    bool deny = true;        // false: allow_prefix_files (or, with `risk`, callback.risk_prefix_files)
    bool risk = false;       // toll_fraud.callback.risk_prefix_files
    std::size_t entries = 0; // prefixes read from it (duplicates included)
    std::size_t labelled = 0;   // of them, with a label
    // Its prefixes as written (duplicates included), with their lines.
    std::shared_ptr<const PrefixFileEntries> prefixes;
};

// A policy dial prefix in the form dialled numbers are compared in (the
// engine's prefix lists use this; `check --print` shows it): "+..." as it
// is; the international prefix becomes '+' ("00881" -> "+881", "00" alone
// -> "+", every international number); the national prefix becomes '+' and
// the country code ("09" -> "+449", "0" alone -> "+44"); anything else is
// kept as written and matches only numbers dialled without any prefix.
std::string normalised_prefix(std::string_view prefix, std::string_view country_code,
                              std::string_view national_prefix, std::string_view international_prefix);

// Toll-fraud destination profiles (toll_fraud.profiles): thresholds of one
// group of destinations. Each threshold has a warning level (an event) and a
// critical level (new calls blocked); 0 = that level is off.
enum class FraudThreshold : std::uint8_t {
    calls_per_minute,    // calls started in the last 60 s (sliding window, monotonic time)
    concurrent_calls,    // calls of the group in progress
    calls_per_day,       // calls started this local day (the policy's time zone)
    same_prefix_calls,   // calls in a row to numbers sharing their first same_prefix_digits digits
    minutes_per_day,     // minutes of answered calls this local day (running calls included)
    count_
};
constexpr std::size_t kFraudThresholdCount = static_cast<std::size_t>(FraudThreshold::count_);
// "calls_per_minute", ... (the policy key)
const char* to_string(FraudThreshold t);

struct FraudLevels {
    std::uint32_t warning = 0;
    std::uint32_t critical = 0;
    bool any() const { return warning != 0 || critical != 0; }
};

struct FraudProfile {
    std::string name;
    std::vector<DialPrefix> prefixes;
    std::vector<WeeklyWindow> hours;           // empty: the levels apply at all times
    std::uint32_t same_prefix_digits = 0;
    Seconds same_prefix_gap{0};
    Seconds max_call_warning{0};               // 0 = off
    Seconds max_call_critical{0};
    std::array<FraudLevels, kFraudThresholdCount> per_handset{};
    std::array<FraudLevels, kFraudThresholdCount> per_site{};
    Origin origin;
};

struct Policy {
    int version = 1;
    std::string site;
    Mode mode = Mode::enforce;
    OnFailure on_failure = OnFailure::open;
    std::vector<std::string> files;   // the site file first, then every included file

    struct Handsets {
        std::vector<net::Cidr> networks;
        std::vector<Origin> network_origins;   // parallel to networks
        // The voice interfaces; empty: from the routes (the daemon asks the
        // routing table at start and reload).
        std::vector<std::string> interfaces;
        Seconds stale_after{0};
        std::vector<FirmwareMinimum> firmware_minimums;
        // The passive password audit (filters/engine/password_audit.h).
        std::vector<std::string> weak_passwords;     // the policy's own candidates
        std::uint32_t password_audit_rate = 0;       // hashes per second; 0 = off
        // The interface audit's extra TCP ports (daemon/interface_audit.h), no duplicates.
        std::vector<std::uint16_t> audit_ports;
        // The inventory; empty: no inventory (no unknown/forgotten reports).
        std::vector<KnownHandset> known;
    } handsets;

    struct Peers {
        std::vector<PbxPeer> pbx;
        std::vector<ServicePeer> support;
    } peers;

    struct Media {
        Seconds idle_timeout{0};
        Seconds max_call_duration{0};
        bool rtcp = true;                 // also open RTP port + 1 / a=rtcp (RFC 3605)
        bool strict_source_port = false;  // media must come from the SDP port too
        bool static_allowance = false;    // TLS/SRTP: allow PBX media.addresses/ports without SDP
    } media;

    struct Egress {
        bool allow_list = true;           // false: open (other handset egress is not restricted)
        std::vector<ServicePeer> allow;
    } egress;

    struct Sip {
        std::vector<std::uint16_t> ports;
        std::uint32_t max_message_size = 0;
        std::uint32_t max_headers = 0;
        bool drop_malformed = true;
        std::vector<std::string> scanner_user_agents;   // effective list (built-ins + added, or replaced)
        bool drop_scanners = true;
        bool drop_unknown_methods = true;               // from handsets to the PBX (sip.unknown_methods)
        std::map<std::string, Rate> rate_limits;        // method (upper case) or "default" -> rate
        std::uint32_t max_tracked_sources = 0;
    } sip;

    struct TollFraud {
        bool enabled = true;
        std::string country_code;
        std::string national_prefix;
        std::string international_prefix;
        bool allow_list = false;                 // true: only allow_prefixes (and emergency numbers) may be called
        bool deny_builtin = true;                // add builtin_high_risk_prefixes() to deny_prefixes
        // Built-ins (if enabled) + listed inline; the prefix files' are in
        // prefix_files (deny == true), after these in matching order.
        std::vector<DialPrefix> deny_prefixes;
        // builtin_nanp_international_prefixes() when deny_builtin and
        // country_code is "1" (rule nanp_international), else empty.
        std::vector<DialPrefix> nanp_international;
        std::vector<DialPrefix> allow_prefixes;  // listed inline; the files' are in prefix_files (deny == false)
        std::vector<PrefixFile> prefix_files;    // deny_, allow_ and callback.risk_prefix_files, in load order
        // Distinct prefixes of the deny (or allow) list: inline, built-in and files.
        std::size_t distinct_prefixes(bool deny) const;
        // Dial-plan rule 11 (filters/engine/dialled_number.h): a number of
        // more digits than an extension dialled without any prefix is a
        // national number (NANP ten-digit dialling, closed numbering plans).
        bool unprefixed_is_national = false;
        std::vector<std::string> emergency_numbers;
        struct OutOfHours {
            bool enabled = false;                // true when business_hours is set
            std::string timezone;                // as written: an IANA name or a POSIX TZ rule
            TimeZone zone;                       // its rules, resolved when the policy is loaded
            std::string zone_source;             // which was used: "time zone Europe/London (from FILE)",
                                                 // "POSIX rule ...", "time zone UTC (built in, ...)"
            std::vector<WeeklyWindow> business_hours;
            std::vector<DialPrefix> deny_prefixes;
            std::uint32_t per_handset_calls_per_hour = 0;   // 0 = same as in hours
        } out_of_hours;
        struct Limits {
            std::uint32_t per_handset_concurrent_calls = 0;
            std::uint32_t per_handset_calls_per_hour = 0;
            std::uint32_t per_site_concurrent_calls = 0;   // 0 = no limit
            std::uint32_t per_site_calls_per_hour = 0;     // 0 = no limit
        } limits;
        // Destination profiles; a number belongs to the profile with its
        // longest matching prefix. Day windows and `hours` use
        // out_of_hours.zone (resolved whenever there are profiles).
        std::vector<FraudProfile> profiles;
        // Callbacks (Wangiri, filters/engine/callback_guard.h): an inbound
        // call from a risk prefix that rings briefly (or is answered and
        // ends at once) marks its caller; an outbound call to a marked number
        // within `window` is blocked (or warned about).
        struct Callback {
            bool enabled = true;
            bool block = true;                       // action: block; false: warn
            bool risk_builtin = true;                // builtin_high_risk_prefixes() are risk prefixes
            // Effective: built-ins (if risk_builtin), the deny list
            // (deny_prefixes with its files), risk_prefixes, the risk files.
            std::vector<DialPrefix> risk_prefixes;
            Seconds max_ring{10};                    // an unanswered call ended within this: marked
            Seconds short_call{5};                   // an answered call this short: marked; 0 = off
            Seconds window{3 * 86400};               // how long a mark lasts
        } callback;
    } toll_fraud;

    struct Dns {
        Seconds refresh{0};
    } dns;

    struct Logging {
        std::string level;        // debug | info | notice | warning | error
        std::string facility;     // daemon | local0 .. local7
        Seconds aggregate_window{0};
        std::string format = "rfc3164";   // rfc3164 | rfc5424 | json
        std::string socket = "/dev/log"; // read at start
        bool mask_numbers = true;         // telephone numbers masked in logs and control output
        std::uint32_t mask_keep_start = 4;   // digits left visible at the start
        std::uint32_t mask_keep_end = 2;     // and at the end
    } logging;

    struct Metrics {
        std::string file;         // "" = no metrics file
        Seconds interval{0};
    } metrics;

    struct Alerts {
        std::vector<std::string> command;   // argv; empty = no alerts
        std::vector<std::string> events;    // log IDs ("VG_TOLL_FRAUD_BLOCKED")
        Rate rate;                          // per event ID
        Seconds timeout{0};
        std::uint32_t max_running = 0;
        std::uint32_t max_queued = 0;
    } alerts;

    // Schema paths of the scalar keys that took their default value
    // ("sip.max_headers"); lets tools show what was not set explicitly.
    std::set<std::string> defaulted;
};

const char* to_string(Mode m);
const char* to_string(OnFailure f);
const char* to_string(Transport t);

}  // namespace vg::config
