// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/schema.h"

#include "config/time_zone.h"

#include "filters/util/text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <sstream>

namespace vg::config {

namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

// clang-format off
// The thresholds of one scope of a destination profile (toll_fraud.profiles[].per_handset / per_site).
#define VG_FRAUD_LEVELS(scope, name, max, what)                                                                       \
    {"toll_fraud.profiles[]." scope "." name, Type::map, false, "", 0, 0, "", 0, 0, 0, what},                         \
    {"toll_fraud.profiles[]." scope "." name ".warning", Type::integer, false, "0", 0, max, "", 0, 0, 0,              \
     "Report a call that reaches this value; 0 = off."},                                                               \
    {"toll_fraud.profiles[]." scope "." name ".critical", Type::integer, false, "0", 0, max, "", 0, 0, 0,             \
     "Drop a new call that would go above this value; 0 = off. Not below `warning`."},
#define VG_FRAUD_SCOPE(scope, text, who)                                                                              \
    {"toll_fraud.profiles[]." scope, Type::map, false, "", 0, 0, "", 0, 0, 0, text},                                  \
    VG_FRAUD_LEVELS(scope, "calls_per_minute", 32,                                                                    \
                    "Calls of the group started by " who " in the last 60 seconds, the new one included (at most 32).") \
    VG_FRAUD_LEVELS(scope, "concurrent_calls", 1000,                                                                  \
                    "Calls of the group of " who " in progress, the new one included.")                              \
    VG_FRAUD_LEVELS(scope, "calls_per_day", 100000,                                                                   \
                    "Calls of the group started by " who " this local day, the new one included.")                  \
    VG_FRAUD_LEVELS(scope, "same_prefix_calls", 1000,                                                                 \
                    "Calls of the group by " who " in a row whose numbers share their first `same_prefix_digits` "   \
                    "digits, each within `same_prefix_gap` of the previous one, the new one included.")             \
    VG_FRAUD_LEVELS(scope, "minutes_per_day", 100000,                                                                 \
                    "Minutes of answered calls of the group of " who " this local day (ended calls count on the "   \
                    "day they end, running ones as far as they have run). A new call is dropped while the "          \
                    "minutes are at `critical` or above; running calls are not ended for it.")

// The profiles of a policy that sets none (reasoning in REFERENCE.md, "Destination profiles").
constexpr const char* kDefaultProfiles =
    "[{name: national, prefixes: [\"0\"], "
    "per_handset: {calls_per_minute: {warning: 4, critical: 8}, calls_per_day: {warning: 80, critical: 200}, "
    "same_prefix_calls: {warning: 12, critical: 30}, minutes_per_day: {warning: 360, critical: 600}}}, "
    "{name: international, prefixes: [\"+\"], max_call_duration: {warning: 1h, critical: 3h}, "
    "per_handset: {calls_per_minute: {warning: 2, critical: 4}, concurrent_calls: {warning: 2}, "
    "calls_per_day: {warning: 10, critical: 25}, same_prefix_calls: {warning: 3, critical: 6}, "
    "minutes_per_day: {warning: 90, critical: 240}}}]";
const std::vector<KeyInfo> kSchema = {
    {"version", Type::integer, false, "", 1, 1, "", kRequired | kPerFile, 0, 0,
     "Policy format version. Every file (included files too) must say `version: 1`; other versions are rejected."},
    {"include", Type::file, true, "[]", 0, 0, "", kPerFile, 0, 16,
     "Other policy files merged into this one, relative to the directory of this file. See \"Includes\" below."},
    {"site", Type::name, false, "", 0, 0, "", kRequired | kSiteOnly, 0, 0,
     "Site name (letters, digits, `.`, `_`, `-`; at most 63 characters). Appears in every log line."},
    {"mode", Type::enumeration, false, "enforce", 0, 0, "enforce|monitor", 0, 0, 0,
     "`enforce`: drop what the policy does not allow. `monitor`: log what would be dropped, drop nothing."},
    {"on_failure", Type::enumeration, false, "open", 0, 0, "open|closed", 0, 0, 0,
     "Kernel behaviour when the daemon is not running or its queue is full. `open`: voice traffic passes unchecked "
     "(calls keep working, no protection). `closed`: it is dropped (no protection gap, but calls fail until the daemon is back)."},

    {"handsets", Type::map, false, "", 0, 0, "", kRequired, 0, 0,
     "The protected voice network."},
    {"handsets.networks", Type::cidr, true, "", 0, 0, "", kRequired | kSiteOnly, 1, 64,
     "The handset network(s), IPv4 and/or IPv6 prefixes. In `enforce` mode they may not overlap any PBX address."},
    {"handsets.interfaces", Type::interface_name, true, "[]", 0, 0, "", kSiteOnly, 0, 16,
     "The voice interface(s) the handset networks are attached to (\"lan0\", \"br-voice\", \"eth1.20\"). A packet with a "
     "handset source address arriving on any other interface is forged and dropped in the kernel (`VG_FORGED_SOURCE`); "
     "one from these interfaces with a source outside the handset networks, to the PBX or a SIP port, is dropped too "
     "(`VG_FOREIGN_SOURCE`). Empty: what the routes say, read at start and reload (each network's route in the main "
     "table; a network reached only through the default route, or not at all, is an error then)."},
    {"handsets.stale_after", Type::duration, false, "30d", kMinute, 365 * kDay, "", kSiteOnly, 0, 0,
     "A handset that has not registered for this long is reported as unused. Short values (minutes) suit sites "
     "whose phones register every minute or so (behind NAT) and want to hear of an unplugged phone soon; keep it "
     "above the phones' registration interval, or every phone is reported between two registrations."},
    {"handsets.firmware_minimums", Type::map_list, false, "[]", 0, 0, "", kAppend, 0, 256,
     "Minimum firmware versions, checked passively against the SIP User-Agent and reported to syslog."},
    {"handsets.firmware_minimums[].match", Type::text_pattern, false, "", 0, 0, "", kRequired, 0, 0,
     "Vendor/model pattern: a case-insensitive substring of the User-Agent (\"Yealink SIP-T54W\")."},
    {"handsets.firmware_minimums[].min_version", Type::version_text, false, "", 0, 0, "", kRequired, 0, 0,
     "Minimum version, dot-separated numbers (\"96.86.0.70\"); compared with the first version number after the pattern."},
    {"handsets.password_audit_rate", Type::integer, false, "1000", 0, 100000, "", 0, 0, 0,
     "The passive password audit: for every new nonce a handset authenticates with (the `Authorization` / "
     "`Proxy-Authorization: Digest` of its REGISTER or INVITE), the router tests a bounded list of weak "
     "candidates offline against the response it sent: the user name itself, reversed, repeated twice and "
     "followed by `123`, the built-in common and vendor-default passwords (listed below with their sources) and "
     "`handsets.weak_passwords`. A match is `VG_WEAK_CREDENTIAL` (the rule that matched, never the password) and "
     "shows in `voipguard handsets`. The audit never changes a verdict. This is its CPU budget, in hashes per "
     "second for the whole router (MD5 or SHA-256; a candidate costs 2, or 3 with `-sess`), with at most 64 "
     "hashes per packet: when it is spent a check waits for the handset's next message with the same nonce "
     "(counted as deferred). Reading a credentials header costs about as much as a hash and is bounded the same way: "
     "with the budget spent a REGISTER flood is not even parsed, a header that leads to no hashing (malformed, a "
     "nonce already checked) costs one, and a nonce the handset's finished check covered is recognised without "
     "parsing. 1000/s is about 0.2 ms of CPU per second on an x86 core (`tests/bench/run`, "
     "`audit.*`); a slow router CPU pays proportionally more, within the same bound. 0 turns the audit off. MD5, MD5-sess, SHA-256 and SHA-256-sess with "
     "`qop=auth` or no qop are tested; `qop=auth-int` (it needs the body), other algorithms and hidden user "
     "names (`userhash`) are skipped and counted."},
    {"handsets.weak_passwords", Type::password_text, true, "[]", 0, 0, "", kAppend, 0, 256,
     "More candidates for the password audit, besides the built-in ones: the site's or the provider's old "
     "provisioning passwords, the company name. Tested after the built-ins; a match says `policy list entry`. "
     "Anyone who can read the policy reads these: they are weak passwords to find, never real ones."},
    {"handsets.audit_ports", Type::port, true, "[]", 0, 0, "", kAppend, 0, 16,
     "More TCP ports for the interface audit (`voipguard audit`), besides the management ports it always probes "
     "(telnet 23, ssh 22, http 80 and 8080, https 443): a vendor's provisioning or debug port (`[8443, 5000]`). "
     "The audit runs only when the engineer asks for it; it connects from the router to every handset of the "
     "inventory and reports which ports answer (`VG_HANDSET_OPEN_INTERFACE`)."},
    {"handsets.known", Type::map_list, false, "[]", 0, 0, "", kAppend, 0, 1024,
     "The handset inventory: every handset the site should have. When it lists any, a REGISTER for an AOR it does "
     "not list is `VG_UNKNOWN_HANDSET` (a phone nobody accounts for: one forgotten in a cupboard, or a stolen "
     "account registering from a new device), a listed AOR registering from another address or with another "
     "model is `VG_HANDSET_MISMATCH`, and a listed handset that has not registered for `handsets.stale_after` "
     "(or never since the list was loaded) is `VG_HANDSET_FORGOTTEN`, again every `stale_after` while it stays "
     "away; `voipguard handsets` shows each handset as known, not as listed or unknown and lists the forgotten "
     "ones. Nothing is "
     "blocked for it. There is no MAC address key: the engine sees IP packets, and a MAC address is no proof on "
     "the handsets' own segment (anyone there can take another's); the AOR, the address and the model are what "
     "the engine can compare."},
    {"handsets.known[].aor", Type::aor, false, "", 0, 0, "", kRequired, 0, 0,
     "The AOR the handset registers (the `To` of its REGISTER): `user@domain` (the domain compared without case), "
     "or a bare extension (`201`) for that user at any domain. Unique in the list."},
    {"handsets.known[].address", Type::ip_address, false, "any", 0, 0, "", kDescriptiveDefault, 0, 0,
     "The address it should register from (a DHCP reservation), inside `handsets.networks`."},
    {"handsets.known[].model", Type::text_pattern, false, "any", 0, 0, "", kDescriptiveDefault, 0, 0,
     "What its User-Agent should contain (case-insensitive), e.g. \"Yealink SIP-T54W\". A REGISTER without a "
     "User-Agent does not show it either."},

    {"peers", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "The allow-listed peers. Every inbound packet for the handsets that does not come from one of them is dropped."},
    {"peers.pbx", Type::map_list, false, "", 0, 0, "", kAppend, 1, 64,
     "The Cloud PBX(s). At least one is required (in the site file or an included file)."},
    {"peers.pbx[].name", Type::name, false, "", 0, 0, "", kRequired, 0, 0,
     "Name used in logs; unique among all peers of the policy."},
    {"peers.pbx[].addresses", Type::address, true, "", 0, 0, "", kRequired, 1, 256,
     "SIP signalling addresses: IP addresses, CIDR prefixes (IPv4/IPv6) or host names."},
    {"peers.pbx[].media", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Where this PBX's media (RTP/RTCP) may come from."},
    {"peers.pbx[].media.addresses", Type::address, true, "the PBX's addresses", 0, 0, "", kDescriptiveDefault, 1, 256,
     "Media sources. Pinholes open only for SDP addresses inside this list; when it is absent, only for the PBX's own "
     "addresses (like the kernel SIP helper's direct-media default)."},
    {"peers.pbx[].media.ports", Type::port_range, false, "1024-65535", 0, 0, "", 0, 0, 0,
     "Port range of this PBX's media; SDP ports outside it are refused."},
    {"peers.support", Type::map_list, false, "[]", 0, 0, "", kAppend, 0, 64,
     "Remote-support providers: they may reach only the listed handset ports."},
    {"peers.support[].name", Type::name, false, "", 0, 0, "", kRequired, 0, 0,
     "Name used in logs; unique among all peers of the policy."},
    {"peers.support[].addresses", Type::address, true, "", 0, 0, "", kRequired, 1, 256,
     "Source addresses: IP addresses, CIDR prefixes or host names."},
    {"peers.support[].ports", Type::service_port, true, "", 0, 0, "", kRequired, 1, 64,
     "The only handset ports they may reach: `tcp/PORT`, `udp/PORT` or a range `tcp/8000-8080`."},

    {"media", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Media pinholes opened from SDP offers/answers."},
    {"media.idle_timeout", Type::duration, false, "60s", 5, kHour, "", 0, 0, 0,
     "A pinhole without packets for this long is closed."},
    {"media.max_call_duration", Type::duration, false, "4h", kMinute, 2 * kDay, "", 0, 0, 0,
     "A call's pinholes are closed after this long even without a BYE."},
    {"media.rtcp", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "Also open the RTCP port (RTP port + 1, or `a=rtcp` of RFC 3605; nothing extra with `a=rtcp-mux`)."},
    {"media.strict_source_port", Type::boolean, false, "false", 0, 0, "", 0, 0, 0,
     "Media must come from exactly the address and port the PBX's SDP named, and a re-offer that moves the media "
     "ends the old endpoint's flows (off: from any address of the PBX's `media.addresses`, on a port of its "
     "`media.ports`: media farms may send from another server than the one their SDP names, and NATed PBXs from "
     "another port)."},
    {"media.static_allowance", Type::boolean, false, "false", 0, 0, "", 0, 0, 0,
     "Opt-in for TLS/SRTP deployments where SDP cannot be read: allow media from every PBX's `media.addresses` and "
     "`media.ports` to the handsets, and the handsets' media to them, at all times. Counted as "
     "`media_static_allowance` in the status's `blind` section: no pinhole stands behind that media."},

    {"egress", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Traffic from the handsets. SIP from handsets may always reach only the PBX(s)."},
    {"egress.mode", Type::enumeration, false, "allow_list", 0, 0, "open|allow_list", 0, 0, 0,
     "`allow_list`: besides SIP and media with the PBX and the support peers, handsets reach only `egress.allow`, and "
     "only those flows get return traffic. `open`: other handset traffic is not restricted and every flow a handset "
     "opens gets its return traffic (a warning: not required for VoIP, and a way in)."},
    {"egress.allow", Type::map_list, false, "[]", 0, 0, "", kAppend, 0, 256,
     "Destinations handsets may reach besides the PBX and the support peers (with `mode: allow_list`): DNS, NTP, "
     "provisioning and firmware servers."},
    {"egress.allow[].name", Type::name, false, "", 0, 0, "", kRequired, 0, 0,
     "Name used in logs; unique among all peers of the policy."},
    {"egress.allow[].addresses", Type::address, true, "", 0, 0, "", kRequired, 1, 256,
     "Destination addresses: IP addresses, CIDR prefixes or host names."},
    {"egress.allow[].ports", Type::service_port, true, "", 0, 0, "", kRequired, 1, 64,
     "Destination ports: `udp/123`, `tcp/443`, ..."},

    {"sip", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "SIP inspection."},
    {"sip.ports", Type::port, true, "[5060]", 0, 0, "", 0, 1, 16,
     "SIP ports to inspect (UDP and TCP)."},
    {"sip.max_message_size", Type::integer, false, "8192", 1024, 65535, "", 0, 0, 0,
     "Larger SIP messages are treated as malformed (bytes)."},
    {"sip.max_headers", Type::integer, false, "64", 16, 256, "", 0, 0, 0,
     "Messages with more header lines are treated as malformed."},
    {"sip.on_malformed", Type::enumeration, false, "drop", 0, 0, "drop|log", 0, 0, 0,
     "Action on a malformed SIP message: `drop`, or `log` and let it through."},
    {"sip.on_scanner", Type::enumeration, false, "drop", 0, 0, "drop|log", 0, 0, 0,
     "Action on a message whose User-Agent matches a scanner pattern."},
    {"sip.unknown_methods", Type::enumeration, false, "drop", 0, 0, "drop|accept", 0, 0, 0,
     "Requests from a handset to the PBX whose method voipguard does not know (anything but INVITE, ACK, BYE, "
     "CANCEL, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, PUBLISH, INFO, REFER, MESSAGE and UPDATE, in any case): "
     "`drop` (the engine cannot tell what the PBX will make of them, so it fails closed) or `accept`."},
    {"sip.scanner_user_agents", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "User-Agent patterns of SIP scanners (case-insensitive substrings)."},
    {"sip.scanner_user_agents.mode", Type::enumeration, false, "add", 0, 0, "add|replace", 0, 0, 0,
     "`add`: the built-in list plus `patterns`. `replace`: only `patterns`."},
    {"sip.scanner_user_agents.patterns", Type::text_pattern, true, "[]", 0, 0, "", kAppend, 0, 256,
     "Extra (or, with `mode: replace`, the only) scanner patterns."},
    {"sip.rate_limits", Type::rate_map, false, "{default: 20/s burst 40, INVITE: 5/s burst 10, REGISTER: 5/s burst 10}",
     0, 0, "", 0, 0, 64,
     "Rate limits on SIP requests towards the handsets, per method and per pair of source and handset (a "
     "flood aimed at one handset, even from a forged PBX address, does not starve the others); each method also "
     "has a site-wide ceiling of 20 times its rate and burst. Keys are SIP methods in upper case or `default` "
     "(every other method); the keys given replace the same keys of the default, the others keep their default. "
     "A near miss of a method voipguard knows (`INVIET`, `invite`) is an error; another upper-case name is an "
     "extension method, limited when a request has exactly that method (a warning). "
     "NAT keep-alives on the SIP flow between a handset and its PBX (CRLF, spaces, a short token, zero bytes, a "
     "STUN Binding) are limited at the `default` rate, in both directions, in buckets of their own. At most 64 "
     "methods in all: the three defaults count, and so do the keys of every included file."},
    {"sip.rate_limits.*", Type::rate, false, "", 1, 100000, "", 0, 0, 0,
     "`N/s`, `N/min` or `N/h`, optionally `burst M` (the bucket size; default M = N). N and M: 1..100000."},
    {"sip.max_tracked_sources", Type::integer, false, "4096", 64, 1048576, "", 0, 0, 0,
     "Most (source, handset, method) rate-limit buckets kept at once; the least recently used are forgotten "
     "first (a forgotten one starts full again)."},

    {"toll_fraud", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Outbound INVITE guard. Dialled numbers are normalised to `+<country code><number>` with the prefixes below."},
    {"toll_fraud.enabled", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "Check outbound INVITEs from the handsets."},
    {"toll_fraud.country_code", Type::digits, false, "none", 1, 3, "", kDescriptiveDefault, 0, 0,
     "The site's country calling code (\"44\"). Without it, national numbers are not normalised and `+` prefixes "
     "match only numbers dialled in international form."},
    {"toll_fraud.national_prefix", Type::digits, false, "\"0\"", 1, 3, "", 0, 0, 0,
     "Trunk prefix of national numbers (\"0\"; \"1\" in North America)."},
    {"toll_fraud.international_prefix", Type::digits, false, "\"00\"", 1, 4, "", 0, 0, 0,
     "International call prefix (\"00\"; \"011\" in North America)."},
    {"toll_fraud.unprefixed_numbers", Type::enumeration, false, "local", 0, 0, "local|national", 0, 0, 0,
     "How a number dialled without any prefix and longer than an extension (more than 6 digits) is read. `local`: "
     "a local number of the caller's area, matched only by prefixes written without a prefix. `national`: a "
     "national number, `+`, the country code and the digits (needs `country_code`): for ten-digit dialling in North "
     "America (`2015550123` is `+12015550123`) and closed numbering plans, where it puts such numbers under the "
     "`+1`/national prefixes of the deny and allow lists and profiles, and reads inbound caller numbers the same "
     "way for `callback`."},
    {"toll_fraud.mode", Type::enumeration, false, "deny_list", 0, 0, "deny_list|allow_list", 0, 0, 0,
     "`deny_list`: every number except denied prefixes. `allow_list`: only `allow_prefixes` (and emergency numbers)."},
    {"toll_fraud.deny_builtin", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "Also deny the built-in high-risk destinations (see below); with `country_code: \"1\"` also the NANP "
     "area codes billed at international rates (rule `nanp_international`)."},
    {"toll_fraud.deny_prefixes", Type::prefix, true, "[]", 0, 0, "", kAppend, 0, 1024,
     "Denied destination prefixes: digits with an optional leading `+` (`+881`, `09`); `+` alone denies every international number."},
    {"toll_fraud.allow_prefixes", Type::prefix, true, "[]", 0, 0, "", kAppend, 0, 1024,
     "Allowed prefixes. With `mode: deny_list` they are exceptions to the deny list (the longest match wins)."},
    {"toll_fraud.deny_prefix_files", Type::file, true, "[]", 0, 0, "", kAppend, 0, 16,
     "Files of denied prefixes, added to `deny_prefixes` (a provider's list shipped to its fleet): one prefix "
     "per line, or `prefix,label` (CSV; the label names the destination in `check --print`); `#` starts a "
     "comment, blank lines are skipped. Relative names are relative to the policy file that names them. Each "
     "entry is checked like an inline prefix; errors say `FILE:LINE`. At most 250000 entries and 8 MiB per "
     "file. They are read when the policy loads and on every reload: a bad or missing file refuses the whole "
     "policy (a reload keeps the old one)."},
    {"toll_fraud.allow_prefix_files", Type::file, true, "[]", 0, 0, "", kAppend, 0, 16,
     "Files of allowed prefixes, added to `allow_prefixes` (the same format and limits as `deny_prefix_files`)."},
    {"toll_fraud.emergency_numbers", Type::number, true, "[\"112\", \"911\", \"999\"]", 0, 0, "", 0, 1, 32,
     "Numbers that are never blocked or limited: 1..15 digits each, matched as dialled (`112`, `999`). `*` and "
     "`#` are refused: they make a feature code, which can carry a destination (`*21*0088...`), so a feature code "
     "is never exempt."},
    {"toll_fraud.out_of_hours", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Stricter rules outside business hours (fraud peaks at nights and weekends)."},
    {"toll_fraud.out_of_hours.timezone", Type::timezone, false, "UTC", 0, 0, "", 0, 0, 0,
     "Time zone of the schedule: an IANA name (\"Europe/London\", read from the tz database) or a POSIX TZ rule "
     "(\"GMT0BST,M3.5.0/1,M10.5.0\", as in OpenWrt's /etc/TZ; needs no files). `check` says which it used, "
     "and warns when the zone keeps one UTC offset all year (UTC, GMT, a rule without daylight saving) while the "
     "country of `country_code` observes daylight saving (the EU countries, the UK, Switzerland, Norway, Ukraine, "
     "New Zealand; for the United States, Canada and Australia, where some regions keep one offset, only UTC), "
     "per the IANA tz database 2025b."},
    {"toll_fraud.out_of_hours.business_hours", Type::weekly_window, true, "[]", 0, 0, "", 0, 0, 32,
     "Weekly business hours, `DAYS HH:MM-HH:MM` (`mon-fri 08:00-18:00`, `sat 09:00-13:00`); days mon..sun. "
     "Empty: no out-of-hours rules."},
    {"toll_fraud.out_of_hours.deny_prefixes", Type::prefix, true, "[]", 0, 0, "", kAppend, 0, 1024,
     "Prefixes denied outside business hours in addition to the deny list (`+` = every international number)."},
    {"toll_fraud.out_of_hours.calls_per_hour", Type::integer, false, "0", 0, 10000, "", 0, 0, 0,
     "Per-handset calls per hour outside business hours; 0 = the same as `limits.per_handset.calls_per_hour`."},
    {"toll_fraud.limits", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Call limits."},
    {"toll_fraud.limits.per_handset", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Limits for each handset."},
    {"toll_fraud.limits.per_handset.concurrent_calls", Type::integer, false, "2", 1, 100, "", 0, 0, 0,
     "Concurrent outbound calls per handset."},
    {"toll_fraud.limits.per_handset.calls_per_hour", Type::integer, false, "30", 1, 10000, "", 0, 0, 0,
     "Outbound calls per handset in any 60 minutes. A reload keeps what each handset used (a raised limit adds "
     "the difference), so a reload mid-attack hands out no fresh budget."},
    {"toll_fraud.limits.per_site", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Limits for the whole site."},
    {"toll_fraud.limits.per_site.concurrent_calls", Type::integer, false, "0", 0, 100000, "", 0, 0, 0,
     "Concurrent outbound calls of the site; 0 = no limit."},
    {"toll_fraud.limits.per_site.calls_per_hour", Type::integer, false, "0", 0, 1000000, "", 0, 0, 0,
     "Outbound calls of the site in any 60 minutes; 0 = no limit."},
    {"toll_fraud.profiles", Type::map_list, false, kDefaultProfiles, 0, 0, "", 0, 0, 16,
     "Destination profiles: groups of destinations (`national`, `mobile`, `international`, `high_risk`) with "
     "thresholds, each with a `warning` level (event `VG_FRAUD_THRESHOLD_WARNING`) and a `critical` level (new calls "
     "of the group are dropped, reason `fraud_threshold`, event `VG_FRAUD_THRESHOLD_CRITICAL`); 0 = that level is off. "
     "A dialled number belongs to the profile with its longest matching prefix (in normalised form: `0` is the "
     "whole country, `07` its mobiles, `+` every other country); numbers no prefix matches, extensions and emergency "
     "numbers belong to none. Only outbound calls from handsets count (REGISTERs, and calls from the PBX to a "
     "handset or a ring group, never do). Day windows are the local day in `out_of_hours.timezone`; per-minute "
     "windows slide on monotonic time. A level counts the call being judged: `calls_per_day: {critical: 40}` lets "
     "the 40th call of the day through and drops the 41st; `warning: 20` reports the 20th and each one after. "
     "The whole list replaces the default (the last file that sets it wins); `profiles: []` turns profiles off. "
     "See \"Destination profiles\" below for the default's reasoning."},
    {"toll_fraud.profiles[].name", Type::name, false, "", 0, 0, "", kRequired, 0, 0,
     "Name of the group, in events and in `voipguard calls`; unique among the profiles."},
    {"toll_fraud.profiles[].prefixes", Type::prefix, true, "", 0, 0, "", kRequired, 1, 1024,
     "Destination prefixes of the group, written like `deny_prefixes` (`07`, `+44`, `+`); a prefix may belong to "
     "one profile only."},
    {"toll_fraud.profiles[].hours", Type::weekly_window, true, "[]", 0, 0, "", 0, 0, 32,
     "When the levels apply, `DAYS HH:MM-HH:MM` in `out_of_hours.timezone` (`sat-sun 00:00-24:00`, "
     "`mon-fri 18:00-24:00`). Calls are counted at all times; outside these windows they are neither reported "
     "nor dropped for the group's levels. Empty: always."},
    {"toll_fraud.profiles[].same_prefix_digits", Type::integer, false, "8", 2, 15, "", 0, 0, 0,
     "`same_prefix_calls` compares the first this many digits of the normalised number (country code "
     "included): 8 is a country code and an area or operator code and the first digits of the subscriber "
     "number, the span a revenue-share range is sold in."},
    {"toll_fraud.profiles[].same_prefix_gap", Type::duration, false, "10m", kMinute, kDay, "", 0, 0, 0,
     "A call of the group more than this long after the previous one starts a new `same_prefix_calls` run, "
     "as does a call of the group to other first digits."},
    {"toll_fraud.profiles[].max_call_duration", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Longest answered call of the group. At `critical` the call is ended as `media.max_call_duration` ends "
     "calls: its pinholes close (their kernel fast path is deleted) and `VG_CALL_ENDED detail=fraud_threshold` "
     "is logged after `VG_FRAUD_THRESHOLD_CRITICAL`."},
    {"toll_fraud.profiles[].max_call_duration.warning", Type::duration, false, "0s", 0, 2 * kDay, "", 0, 0, 0,
     "Reported once per call when it has lasted this long; 0s = off."},
    {"toll_fraud.profiles[].max_call_duration.critical", Type::duration, false, "0s", 0, 2 * kDay, "", 0, 0, 0,
     "The call is ended when it has lasted this long; 0s = off."},
    VG_FRAUD_SCOPE("per_handset", "Thresholds counted for each handset: against its address and the digest user "
                   "name it authenticates with (as the limits are), the higher count deciding.",
                   "one handset")
    VG_FRAUD_SCOPE("per_site", "Thresholds counted for the whole site (every handset together).", "the site")

    {"toll_fraud.callback", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Callback (Wangiri) fraud: a call from a high-cost number rings a handset once and hangs up, hoping to be "
     "called back at the caller's premium rate. An inbound call (the PBX calling a handset) whose caller number "
     "(From and P-Asserted-Identity user parts, normalised with the dial plan) matches a risk prefix marks that "
     "number when it ends unanswered within `max_ring` (CANCEL, or a failure response such as 487) or is answered "
     "and ends within `short_call`. An outbound INVITE from any handset to a marked number (compared in normalised "
     "form, whichever way it is dialled: `+`, the international prefix, national) within `window` is dropped "
     "(reason `callback`, event `VG_CALLBACK_BLOCKED`) or, with `action: warn`, reported "
     "(`VG_CALLBACK_WARNING`) and judged as any other call. See \"Callbacks\" below."},
    {"toll_fraud.callback.enabled", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "Mark callers and check callbacks."},
    {"toll_fraud.callback.action", Type::enumeration, false, "block", 0, 0, "block|warn", 0, 0, 0,
     "`block`: drop a callback to a marked number. `warn`: report it, let the other rules decide."},
    {"toll_fraud.callback.risk_builtin", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "The built-in high-risk destinations (see \"Built-in high-risk destinations\") are risk prefixes, whatever "
     "`deny_builtin` says. The deny list (`deny_prefixes` and `deny_prefix_files`) always is."},
    {"toll_fraud.callback.risk_prefixes", Type::prefix, true, "[]", 0, 0, "", kAppend, 0, 1024,
     "More risk prefixes, written like `deny_prefixes` (`+882`, `+` for every international caller). A caller "
     "whose number an `allow_prefixes` entry longer than its risk prefix matches is never marked."},
    {"toll_fraud.callback.risk_prefix_files", Type::file, true, "[]", 0, 0, "", kAppend, 0, 16,
     "Files of risk prefixes, added to `risk_prefixes` (the same format and limits as `deny_prefix_files`)."},
    {"toll_fraud.callback.max_ring", Type::duration, false, "10s", 1, 5 * kMinute, "", 0, 0, 0,
     "An unanswered inbound call from a risk prefix that ends (CANCEL, failure response) within this long of its "
     "INVITE marks its caller. 10s is two ring cycles (the European cadence rings every 4 to 5 s, the North "
     "American every 6 s): a one-ring call is well inside it, a caller who waits for an answer is not."},
    {"toll_fraud.callback.short_call", Type::duration, false, "5s", 0, 5 * kMinute, "", 0, 0, 0,
     "An answered inbound call from a risk prefix that ends within this long of its answer marks its caller (a "
     "recorded 'please call back' or silence, then hang-up); 0s = off."},
    {"toll_fraud.callback.window", Type::duration, false, "3d", kMinute, 30 * kDay, "", 0, 0, 0,
     "How long a number stays marked, on monotonic time from the end of the call that marked it (a new such "
     "call marks it again). 3 days: a missed call on a Friday evening is seen and returned on Monday morning."},

    {"dns", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Host names in `addresses`."},
    {"dns.refresh", Type::duration, false, "5m", 30, kDay, "", 0, 0, 0,
     "Host names are resolved at start and refreshed this often. A failed refresh keeps the last good addresses "
     "and logs a warning; a name that never resolved is an error at start."},

    {"logging", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Syslog output."},
    {"logging.level", Type::enumeration, false, "info", 0, 0, "debug|info|notice|warning|error", 0, 0, 0,
     "Lowest level logged."},
    {"logging.facility", Type::enumeration, false, "daemon", 0, 0,
     "daemon|local0|local1|local2|local3|local4|local5|local6|local7", 0, 0, 0,
     "Syslog facility."},
    {"logging.aggregate_window", Type::duration, false, "60s", 1, kHour, "", 0, 0, 0,
     "Repeated drop/anomaly events are summarised once per window (\"... suppressed 4123 more in 60s\")."},
    {"logging.format", Type::enumeration, false, "rfc3164", 0, 0, "rfc3164|rfc5424|json", 0, 0, 0,
     "How each line is written to the syslog socket. `rfc3164`: the classic header and the `VG_ID key=value ...` "
     "text (every syslog daemon reads it; OpenWrt's logd and busybox syslogd only this). `rfc5424`: an RFC 5424 "
     "header (RFC 3339 time in UTC, host, `voipguard`, PID, the event ID as MSGID) and the fields as structured "
     "data `[voipguard@32473 key=\"value\" ...]` (32473: the documentation enterprise number of RFC 5612); the "
     "local syslog daemon must parse RFC 5424 on its socket (rsyslog: `useSpecialParser=\"off\"` and "
     "`parseHostname=\"on\"`; see packaging/syslog/README.md). `json`: the classic header followed by one JSON "
     "object per line (`time`, `host`, `ident`, `pid` (a number), `severity`, `event`, then the fields, all other "
     "values strings), which passes "
     "through any syslog daemon. In `rfc5424` and `json` values keep valid UTF-8 (`rfc3164` writes every byte "
     "outside printable ASCII as `\\xNN`); control characters, line separators, bidirectional controls and bytes "
     "that are not UTF-8 are `\\xNN` in every format. "
     "The default stays `rfc3164`: it is what existing collectors parse and what every router's syslog takes."},

    {"logging.mask_numbers", Type::boolean, false, "true", 0, 0, "", 0, 0, 0,
     "Telephone numbers are masked wherever voipguard shows them: the `number` and `dialled` fields of log "
     "lines, numbers in `detail` (a Request-URI, an AOR) and in the alert JSON built from those lines, the "
     "numbers and AORs of `voipguard calls` and `handsets`, and `voipguard replay`. Only the first "
     "`mask_keep_start` and the last `mask_keep_end` digits stay: `number=+4479xxxxxx78`; a number of no more "
     "digits than those two together (an extension, `112`) stays whole. The rule and the listed prefix that "
     "matched stay unmasked (`rule=deny_prefix:+882`: the prefix is the policy, not a person's data). "
     "On by default: a managed-service provider collects every site's log in one central store, where a "
     "dialled number is personal data kept for months (data minimisation, GDPR Art. 5(1)(c)); the country "
     "code, the network prefix and the matched rule are what a fraud alert needs. An engineer investigating "
     "a case sets `false` on that site for the investigation (or reads the call records of the PBX)."},
    {"logging.mask_keep_start", Type::integer, false, "4", 0, 16, "", 0, 0, 0,
     "Digits left visible at the start of a masked number (a leading `+` is not counted): 4 keeps a 1-3 digit "
     "country code and the start of the network prefix."},
    {"logging.mask_keep_end", Type::integer, false, "2", 0, 8, "", 0, 0, 0,
     "Digits left visible at the end of a masked number (to tell numbers apart in one investigation)."},
    {"logging.socket", Type::string, false, "/dev/log", 0, 0, "", 0, 0, 0,
     "The Unix datagram socket the lines are sent to (absolute path, at most 107 bytes). Read at start: a "
     "reload that changes it takes effect at the next restart. `/dev/log` suits `rfc3164` and `json`; for "
     "`rfc5424` give the syslog daemon a socket of its own that it reads as RFC 5424 (the system socket's "
     "parser of rsyslog, and journald on systemd hosts, do not keep structured data; see "
     "packaging/syslog/rsyslog-voipguard.conf)."},

    {"metrics", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "Prometheus metrics written to a file for the node exporter's textfile collector (`voipguard metrics` "
     "answers the same text over the control socket at any time)."},
    {"metrics.file", Type::string, false, "none (no file is written)", 0, 0, "", kDescriptiveDefault, 0, 0,
     "Absolute path of the file, ending in `.prom` (the only files the collector reads), in a directory that "
     "exists: `/var/lib/prometheus/node-exporter/voipguard.prom` for Debian's prometheus-node-exporter, "
     "`/var/prometheus/voipguard.prom` for OpenWrt's prometheus-node-exporter-lua (package "
     "prometheus-node-exporter-lua-textfile). Written atomically (a temporary file in the same directory, then "
     "rename) on the daemon's worker thread, never on the packet loop; removed at a clean stop, and when a reload "
     "moves or removes the key. Off by default: most routers run no "
     "exporter, and each write reads the kernel counters (a run of the rule tool, as `status` does); pull "
     "sites can use `voipguard metrics` instead."},
    {"metrics.interval", Type::duration, false, "30s", 5, kHour, "", 0, 0, 0,
     "How often the file is rewritten. 30s: twice per default Prometheus scrape of a minute, and the kernel "
     "counters are read no more often than that on a router's slow CPU; the collector exposes the file's age "
     "(`node_textfile_mtime_seconds`) to alert on a daemon that stopped writing."},

    {"alerts", Type::map, false, "", 0, 0, "", 0, 0, 0,
     "A program run for chosen events, so that a provider hears of them without a log server: a mail script "
     "(msmtp) or a webhook (curl, OpenWrt's uclient-fetch); examples in packaging/alerts/. The event is written "
     "to the program's standard input as one JSON object and a newline: the object `logging.format: json` logs "
     "(`time`, `host`, `ident`, `pid`, `severity`, `event`, then the line's fields as strings). The program runs with "
     "the daemon's reduced privileges, in a process group of its own, with an environment of only `PATH` and "
     "`VOIPGUARD_EVENT` (the event ID), output discarded. It is started from a thread of its own, never from the "
     "packet loop. A program that exits with a status other than 0, is killed at `timeout`, or cannot be "
     "started is logged as `VG_ALERT_FAILED`; alerts over `rate` or beyond `max_running` + `max_queued` are "
     "counted and logged as `VG_ALERT_DROPPED`."},
    {"alerts.command", Type::string, true, "[] (no alerts)", 0, 0, "", kDescriptiveDefault, 0, 32,
     "The program and its arguments, as a list (no shell: `[/usr/libexec/voipguard/alert-mail, noc@example.net]`). "
     "The first item is an absolute path."},
    {"alerts.events", Type::enumeration, true, "[VG_TOLL_FRAUD_BLOCKED, VG_FRAUD_THRESHOLD_CRITICAL, "
     "VG_WEAK_CREDENTIAL, VG_RELOAD_FAILED]", 0, 0,
     "VG_SCANNER_DETECTED|VG_TOLL_FRAUD_BLOCKED|VG_CALL_LIMIT_BLOCKED|VG_MALFORMED|VG_SIP_RATE_LIMITED|"
     "VG_DROP_UNLISTED_SOURCE|VG_ROGUE_SIP_DESTINATION|VG_MEDIA_INJECTION|VG_MEDIA_ADDRESS_NOT_ALLOWED|"
     "VG_SUPPORT_PORT_DENIED|VG_EGRESS_DENIED|VG_FIRMWARE_OUTDATED|VG_HANDSET_STALE|VG_HANDSET_REGISTERED|"
     "VG_CALL_STARTED|VG_CALL_ENDED|VG_PINHOLE_OPENED|VG_PINHOLE_CLOSED|VG_TABLE_EVICTION|VG_SIP_STREAM_CUT|"
     "VG_SIP_UNKNOWN_METHOD|VG_MEDIA_DESTINATION_DENIED|VG_TLS_UNINSPECTED|VG_FORGED_SOURCE|VG_FOREIGN_SOURCE|"
     "VG_FRAUD_THRESHOLD_WARNING|VG_FRAUD_THRESHOLD_CRITICAL|VG_MEDIA_PORT_NOT_ALLOWED|VG_WEAK_CREDENTIAL|"
     "VG_HANDSET_UA_CHANGED|VG_AOR_SECOND_ADDRESS|VG_REGISTER_OUT_OF_HOURS|VG_OUTDATED_FIRMWARE_CALL|VG_CLEARTEXT_PROVISIONING|"
     "VG_CALLBACK_MARKED|VG_CALLBACK_BLOCKED|VG_CALLBACK_WARNING|"
     "VG_UNKNOWN_HANDSET|VG_HANDSET_MISMATCH|VG_HANDSET_FORGOTTEN|VG_HANDSET_OPEN_INTERFACE|"
     "VG_RELOAD_FAILED",
     0, 0, 64,
     "The events that run the program, by their log ID (daemon/EVENTS.md): any engine event, "
     "`VG_RELOAD_FAILED`, and `VG_HANDSET_OPEN_INTERFACE` (what `voipguard audit` found). A policy that fails at start is reported by the service manager, not by an alert."},
    {"alerts.rate", Type::rate, false, "10/h burst 5", 1, 3600, "", 0, 0, 0,
     "Alerts per event ID (a token bucket on the monotonic clock, one per ID): a scanner that keeps scanning "
     "sends `burst` mails, then one per `rate`. Those over it are counted in `VG_ALERT_DROPPED`."},
    {"alerts.timeout", Type::duration, false, "20s", 1, 300, "", 0, 0, 0,
     "A program still running after this is killed with its process group (SIGKILL) and `VG_ALERT_FAILED` logged."},
    {"alerts.max_running", Type::integer, false, "2", 1, 16, "", 0, 0, 0,
     "Programs running at once; further alerts wait."},
    {"alerts.max_queued", Type::integer, false, "16", 0, 256, "", 0, 0, 0,
     "Alerts that may wait for a program to finish; beyond that they are dropped and counted."},
};
#undef VG_FRAUD_SCOPE
#undef VG_FRAUD_LEVELS
// clang-format on

// Built-in high-risk destinations. Only ITU-T assigned international
// non-geographic codes: calls to them are rarely legitimate from an office and
// are a classic target of international revenue share fraud.
const std::vector<BuiltinPrefix> kHighRisk = {
    {"+870", "Inmarsat (satellite)", "ITU-T E.164 assigned country codes"},
    {"+881", "Global Mobile Satellite System (satellite)", "ITU-T E.164 assigned country codes"},
    {"+882", "International Networks", "ITU-T E.164 assigned country codes"},
    {"+883", "International Networks", "ITU-T E.164 assigned country codes"},
    {"+979", "International Premium Rate Service", "ITU-T E.164 assigned country codes (ITU-T E.169.3)"},
    {"+808", "International Shared Cost Service", "ITU-T E.164 assigned country codes (ITU-T E.169.2)"},
};

// NANP area codes of countries other than the United States and Canada: a
// site with country code 1 reaches them with "1" + ten digits (or ten digits
// alone), like a domestic long-distance call, but the carrier bills them at
// international rates, which is what callback (Wangiri) and revenue-share
// fraud relies on. US territories (340 US Virgin Islands, 670 Northern
// Mariana Islands, 671 Guam, 684 American Samoa, 787/939 Puerto Rico) are
// domestic-rate and not listed.
constexpr std::string_view kNanpa = "NANPA, NANP area codes by country (nationalnanpa.com)";
const std::vector<BuiltinPrefix> kNanpInternational = {
    {"+1242", "Bahamas", kNanpa},
    {"+1246", "Barbados", kNanpa},
    {"+1264", "Anguilla", kNanpa},
    {"+1268", "Antigua and Barbuda", kNanpa},
    {"+1284", "British Virgin Islands", kNanpa},
    {"+1345", "Cayman Islands", kNanpa},
    {"+1441", "Bermuda", kNanpa},
    {"+1473", "Grenada", kNanpa},
    {"+1649", "Turks and Caicos Islands", kNanpa},
    {"+1658", "Jamaica", kNanpa},
    {"+1664", "Montserrat", kNanpa},
    {"+1721", "Sint Maarten", kNanpa},
    {"+1758", "Saint Lucia", kNanpa},
    {"+1767", "Dominica", kNanpa},
    {"+1784", "Saint Vincent and the Grenadines", kNanpa},
    {"+1809", "Dominican Republic", kNanpa},
    {"+1829", "Dominican Republic", kNanpa},
    {"+1849", "Dominican Republic", kNanpa},
    {"+1868", "Trinidad and Tobago", kNanpa},
    {"+1869", "Saint Kitts and Nevis", kNanpa},
    {"+1876", "Jamaica", kNanpa},
};

// The password audit's built-in candidates. Common weak ones first (the
// digit runs every keypad makes easy), then vendors' documented defaults:
// only passwords a vendor's own public documentation gives as the factory
// setting of a phone's SIP account or its web/admin login (phones are often
// provisioned with the admin password reused for the SIP account).
const std::vector<BuiltinWeakPassword> kWeakPasswords = {
    {"1234", false, "common weak password"},
    {"0000", false, "common weak password"},
    {"1111", false, "common weak password"},
    {"12345", false, "common weak password"},
    {"123456", false, "common weak password"},
    {"12345678", false, "common weak password"},
    {"password", false, "common weak password"},
    {"admin", false, "common weak password (and Yealink, Grandstream, Fanvil web admin default: the vendors' "
                     "administrator guides, \"admin\"/\"admin\")"},
    {"secret", false, "common weak password"},
    {"456", true, "Polycom UC Software Administrator Guide: default administrator password"},
    {"123", true, "Polycom UC Software Administrator Guide: default user password"},
    {"22222", true, "Aastra/Mitel 6700i and 6800i SIP Phone Administrator Guide: default administrator password"},
    {"cisco", true, "Cisco Unified IP Phone 7940/7960 SIP administration guide: default phone password"},
    {"adminpass", true, "Panasonic KX-UT / KX-TGP series Administrator Guide: default administrator password"},
};

const std::vector<std::string_view> kScanners = {
    "friendly-scanner", "sipvicious", "sipcli",  "sip-scan",   "sipsak",  "smap",
    "iWar",             "VaxSIPUserAgent", "pplsip", "sundayaddr", "sipptk",
};

// Natural guesses for keys that do not exist (see schema.h).
constexpr std::string_view kRemoteSyslog =
    "voipguard logs to the local syslog only; forwarding to a remote server is the syslog daemon's job: on OpenWrt set "
    "log_ip (and log_port, log_proto) in /etc/config/system, elsewhere forward with rsyslog (example: "
    "packaging/syslog/rsyslog-voipguard.conf)";
constexpr std::string_view kLogFile =
    "voipguard logs to syslog only; where the lines are stored is the syslog daemon's setting (OpenWrt: log_file and "
    "log_size in /etc/config/system, `logread` to read them)";
constexpr std::string_view kDnsServers =
    "host names are resolved by the system's resolver (/etc/resolv.conf); set the DNS servers there (OpenWrt: the "
    "WAN interface's dns option in /etc/config/network); dns.refresh is how often voipguard asks again";
constexpr std::string_view kPeerPorts =
    "the SIP ports are the same for every peer: set them in sip.ports; media ports are media.ports of the PBX";
const std::vector<KeyHint> kKeyHints = {
    {"logging.server", kRemoteSyslog},
    {"logging.host", kRemoteSyslog},
    {"logging.remote", kRemoteSyslog},
    {"logging.syslog", kRemoteSyslog},
    {"logging.syslog_server", kRemoteSyslog},
    {"logging.target", kRemoteSyslog},
    {"logging.address", kRemoteSyslog},
    {"logging.port", kRemoteSyslog},
    {"logging.log_ip", kRemoteSyslog},
    {"logging.file", kLogFile},
    {"logging.path", kLogFile},
    {"dns.servers", kDnsServers},
    {"dns.server", kDnsServers},
    {"dns.nameservers", kDnsServers},
    {"peers.pbx[].port", kPeerPorts},
    {"peers.pbx[].ports", kPeerPorts},
    {"peers.pbx[].sip_port", kPeerPorts},
    {"toll_fraud.whitelist", "allowed destinations are toll_fraud.allow_prefixes"},
    {"toll_fraud.blacklist", "denied destinations are toll_fraud.deny_prefixes"},
    {"toll_fraud.block_prefixes", "denied destinations are toll_fraud.deny_prefixes"},
    {"handsets.vlan", "name the voice VLAN's interface in handsets.interfaces (\"eth0.20\", \"br-voice\")"},
};

const std::vector<std::string_view> kSipMethods = {"INVITE", "ACK",       "BYE",    "CANCEL",  "OPTIONS",
                                                   "REGISTER", "PRACK",   "SUBSCRIBE", "NOTIFY", "PUBLISH",
                                                   "INFO",   "REFER",     "MESSAGE", "UPDATE"};

std::string_view parent_of(std::string_view pattern) {
    const auto dot = pattern.rfind('.');
    if (dot == std::string_view::npos) return {};
    return pattern.substr(0, dot);
}

}  // namespace

const std::vector<KeyInfo>& schema() { return kSchema; }

const KeyInfo* find_key(std::string_view pattern) {
    for (const auto& k : kSchema)
        if (k.path == pattern) return &k;
    return nullptr;
}

std::vector<std::string_view> child_keys(std::string_view pattern) {
    std::vector<std::string_view> out;
    for (const auto& k : kSchema) {
        if (parent_of(k.path) != pattern) continue;
        const auto dot = k.path.rfind('.');
        out.push_back(dot == std::string_view::npos ? k.path : k.path.substr(dot + 1));
    }
    return out;
}

std::vector<std::string_view> places_of_key(std::string_view name) {
    std::vector<std::string_view> out;
    for (const auto& k : kSchema) {
        const auto dot = k.path.rfind('.');
        if ((dot == std::string_view::npos ? k.path : k.path.substr(dot + 1)) == name) out.push_back(k.path);
    }
    return out;
}

const std::vector<KeyHint>& key_hints() { return kKeyHints; }

const KeyHint* find_key_hint(std::string_view pattern) {
    for (const auto& h : kKeyHints)
        if (h.pattern == pattern) return &h;
    return nullptr;
}

const std::vector<std::string_view>& known_sip_methods() { return kSipMethods; }

namespace {
std::string scalar_type_name(Type t) {
    switch (t) {
    case Type::map: return "map";
    case Type::map_list: return "list of maps";
    case Type::rate_map: return "map of rates";
    case Type::integer: return "integer";
    case Type::boolean: return "boolean";
    case Type::string: return "string";
    case Type::name: return "name";
    case Type::enumeration: return "enumeration";
    case Type::duration: return "duration";
    case Type::rate: return "rate";
    case Type::port: return "port";
    case Type::port_range: return "port range";
    case Type::service_port: return "service port";
    case Type::cidr: return "CIDR";
    case Type::address: return "address";
    case Type::prefix: return "dialling prefix";
    case Type::digits: return "digits";
    case Type::number: return "number";
    case Type::timezone: return "time zone";
    case Type::weekly_window: return "weekly window";
    case Type::version_text: return "version";
    case Type::text_pattern: return "pattern";
    case Type::password_text: return "password";
    case Type::file: return "file name";
    case Type::interface_name: return "interface name";
    case Type::aor: return "AOR";
    case Type::ip_address: return "IP address";
    }
    return "?";
}
}  // namespace

std::string type_name(const KeyInfo& key) {
    std::string s = scalar_type_name(key.type);
    if (key.type == Type::enumeration) {
        s = "one of ";
        std::string c(key.choices);
        std::replace(c.begin(), c.end(), '|', ',');
        for (std::size_t i = 0; i < c.size(); ++i) {
            if (c[i] == ',') s += ", ";
            else s += c[i];
        }
    }
    return key.list ? "list of " + s : s;
}

std::string range_text(const KeyInfo& key) {
    std::string r;
    if (key.min != 0 || key.max != 0) {
        if (key.type == Type::duration)
            r = format_duration(Seconds(key.min)) + ".." + format_duration(Seconds(key.max));
        else if (key.type == Type::digits)
            r = std::to_string(key.min) + ".." + std::to_string(key.max) + " digits";
        else
            r = std::to_string(key.min) + ".." + std::to_string(key.max);
    } else if (key.type == Type::port) {
        r = "1..65535";
    }
    if (key.list || key.type == Type::map_list || key.type == Type::rate_map) {
        if (key.max_items != 0) {
            std::string items = std::to_string(key.min_items) + ".." + std::to_string(key.max_items) + " entries";
            r = r.empty() ? items : r + "; " + items;
        }
    }
    return r;
}

std::string reference_markdown() {
    std::ostringstream o;
    o << "<!-- SPDX-License-Identifier: GPL-2.0-or-later -->\n"
         "<!-- Generated by `voipguard check --reference` from config/schema.cpp; a test keeps them equal. -->\n"
         "# voipguard policy key reference\n\n"
         "One YAML policy per site. `voipguard check FILE` validates it (exit 0 valid, 2 invalid) and\n"
         "`voipguard check --print FILE` shows the effective policy with every default marked `# default`.\n"
         "Errors read `FILE:LINE:COL: key.path: message`; unknown and duplicate keys are errors. An unknown\n"
         "key names the key it resembles at that level (`mdoe`: did you mean `mode`?), else the places where a\n"
         "key of that name is valid (a key indented one level too little or too much: `out_of_hours`: did you\n"
         "mean `toll_fraud.out_of_hours`?), else, for a natural guess, where that setting lives (\"Keys that do\n"
         "not exist\" below). A tab in the indentation is reported where it is (YAML indents with spaces).\n\n"
         "Value syntax:\n\n"
         "- duration: a whole number with a unit `s`, `m`, `h` or `d` (`30s`, `5m`, `2h`, `1d`).\n"
         "- rate: `N/s`, `N/min` or `N/h`, optionally followed by `burst M` (`10/s burst 20`).\n"
         "- port range: `FIRST-LAST` (`\"10000-20000\"`) or a single port.\n"
         "- service port: `tcp/PORT` or `udp/PORT`, or a range (`tcp/8000-8080`).\n"
         "- address: an IPv4/IPv6 address, a CIDR prefix (`203.0.113.0/28`, `2001:db8::/48`) or a host name\n"
         "  (`sip.example.net`), resolved at start and every `dns.refresh`. IPv4 is written in dotted decimal:\n"
         "  the legacy forms the C library also reads as addresses (`0x7f.0.0.1`, `203.0.113.010` in octal,\n"
         "  `10.1`) are refused, and so is a host name whose last label is a number. An IPv4-mapped IPv6\n"
         "  address or prefix (`::ffff:203.0.113.10`) is refused too (it never matches an IPv4 packet): write\n"
         "  the IPv4 form.\n"
         "- dialling prefix: digits with an optional leading `+` (`+881`, `09`).\n"
         "- Paths: `peers.pbx[].name` is a key of each entry of the `peers.pbx` list.\n\n"
         "## Includes\n\n"
         "`include: [provider.yaml]` merges other policy files, named relative to the including file, into\n"
         "the policy. Rules:\n\n"
         "1. Every file needs `version: 1`. Included files may include further files (at most 8 levels deep);\n"
         "   a file that includes itself, directly or through others, is an error (`include loop`), and so is\n"
         "   a file included twice.\n"
         "2. Order: the included files in the order listed, then the including file. For a key that holds one\n"
         "   value, the last file that sets it wins, so the site file overrides its includes.\n"
         "3. Keys marked *merge: append* (peer lists, prefix and pattern lists, firmware minimums) are\n"
         "   concatenated over all files instead. A peer name used twice is an error citing both places.\n"
         "4. `sip.rate_limits` merges per method: a file overrides only the methods it lists.\n"
         "5. Keys marked *site file only* (`site`, `handsets.networks`, `handsets.interfaces`, `handsets.stale_after`) may not be set\n"
         "   in an included file.\n"
         "6. After merging, the policy must have at least one PBX; required keys of the site file must be in\n"
         "   the site file itself.\n\n"
         "YAML anchors and aliases may be used inside a file; merge keys (`<<`) are not supported. A policy\n"
         "file is at most 1 MiB, nested at most 32 levels, and at most 100000 values after alias expansion.\n\n"
         "## Dial prefixes\n\n"
         "Dialled numbers are compared in one form: a number dialled with `+` or the international prefix\n"
         "becomes `+<country code><number>`, one dialled with the national prefix `+<the site's country\n"
         "code><number>`. The prefixes of `deny_prefixes`, `allow_prefixes` and `out_of_hours.deny_prefixes`\n"
         "are converted the same way: with country code 44, `\"+881\"` stays, `\"00881\"` is `+881`, `\"09\"`\n"
         "is `+449`, `\"00\"` alone is `+` (every international number) and `\"0\"` alone is `+44`.\n"
         "`voipguard check --print` shows every list as it is matched.\n\n"
         "A prefix written without `+`, the international or the national prefix is kept as written and\n"
         "matches only numbers dialled without any prefix (local numbers; ten-digit numbers in North\n"
         "America). `check` reports it, an error when it can never match what it seems to mean:\n\n"
         "- error: it starts with the site's own country code (`\"447\"` with country code 44). The site's\n"
         "  numbers are always matched as `+44...`, dialled nationally or internationally, so it never\n"
         "  matches one: did you mean `\"+447\"` or `\"07\"`?\n"
         "- error: `+0...`. Country codes never start with 0: it matches nothing.\n"
         "- warning: any other (`\"881\"`). It matches local numbers as dialled, which may be meant, but\n"
         "  never a national or international number: did you mean `\"+881\"` or `\"0881\"`? In North\n"
         "  America (national prefix `1`, the country code) `\"900\"` matches ten-digit dialling, and\n"
         "  `\"+1900\"` is needed as well for `1 900...` and `+1 900...`.\n"
         "- error: any such prefix with `unprefixed_numbers: national`, which reads every number dialled\n"
         "  without a prefix as `+<country code>...` (`\"+1900\"` alone then covers all three forms).\n"
         "- warning: without `country_code`, any prefix not in international form (see `country_code`).\n\n"
         "## Keys\n";
    for (const auto& k : kSchema) {
        o << "\n### `" << k.path << "`\n\n";
        o << "- type: " << type_name(k) << "\n";
        if (k.required()) o << "- required\n";
        if (!k.dflt.empty()) {
            if (k.flags & kDescriptiveDefault) o << "- default: " << k.dflt << "\n";
            else o << "- default: `" << k.dflt << "`\n";
        }
        const auto r = range_text(k);
        if (!r.empty()) o << "- range: " << r << "\n";
        if (k.append()) o << "- merge: append\n";
        if (k.site_only()) o << "- site file only\n";
        o << "\n" << k.description << "\n";
    }
    o << "\n## Keys that do not exist\n\n"
         "Natural guesses that are not keys; `voipguard check` says where the setting lives instead:\n\n";
    for (std::size_t i = 0; i < kKeyHints.size();) {
        o << "-";
        std::size_t j = i;
        for (; j < kKeyHints.size() && kKeyHints[j].hint == kKeyHints[i].hint; ++j)
            o << (j == i ? " `" : ", `") << kKeyHints[j].pattern << "`";
        o << ": " << kKeyHints[i].hint << ".\n";
        i = j;
    }
    o << "\n## Built-in high-risk destinations (`toll_fraud.deny_builtin`)\n\n"
         "| prefix | what | source |\n|---|---|---|\n";
    for (const auto& p : kHighRisk) o << "| `" << p.prefix << "` | " << p.what << " | " << p.source << " |\n";
    o << "\nWith `country_code: \"1\"` (North America) the built-in list also holds the NANP area codes of\n"
         "other countries, dialled like domestic long distance (`1 809 ...`, or ten digits `809 ...`) but\n"
         "billed at international rates. They are denied with the rule `nanp_international:+1809` (a ten-digit\n"
         "number dialled without a prefix is read as `+1` and its ten digits for this list only). US\n"
         "territories (340, 670, 671, 684, 787, 939) are domestic-rate and not listed; an `allow_prefixes`\n"
         "entry longer than the area code (`+1809555`) makes an exception:\n\n"
         "| prefix | what | source |\n|---|---|---|\n";
    for (const auto& p : kNanpInternational)
        o << "| `" << p.prefix << "` | " << p.what << " | " << p.source << " |\n";
    o << "\nCountry-specific lists (destinations your provider sees abused) belong in a provider-wide include\n"
         "(`toll_fraud.deny_prefixes`, merge: append).\n";
    o << "\n## Destination profiles (`toll_fraud.profiles`)\n\n"
         "A policy that sets no `profiles` gets two, shown as the key's default above. The levels are\n"
         "estimates for an office, not measurements: a busy office user places 10 to 20 outbound calls a\n"
         "day, a sales desk up to 60, nearly all national or mobile, each a few minutes long; international\n"
         "calls are a few a day at most. They are set two to four times above that, so a normal day never\n"
         "reaches them, and low enough that a hijacked handset is stopped within minutes to an hour:\n\n"
         "| profile | threshold | warning | critical | why |\n|---|---|---|---|---|\n"
         "| national (`0`) | per_handset.calls_per_minute | 4 | 8 | a person dials, waits for the ring and hangs up: "
         "two or three calls a minute at most; eight is a machine |\n"
         "| national | per_handset.calls_per_day | 80 | 200 | three times a sales desk's day |\n"
         "| national | per_handset.same_prefix_calls | 12 | 30 | calling round one company's numbers in a row, each "
         "within 10 minutes, rarely passes a dozen |\n"
         "| national | per_handset.minutes_per_day | 360 | 600 | six hours on the phone is a full day; ten is not a person |\n"
         "| international (`+`) | per_handset.calls_per_minute | 2 | 4 | as above, for numbers abroad |\n"
         "| international | per_handset.concurrent_calls | 2 | - | two calls abroad at once from one phone is worth a "
         "look; `limits.per_handset.concurrent_calls` already stops a third |\n"
         "| international | per_handset.calls_per_day | 10 | 25 | an office user calls abroad a few times a day |\n"
         "| international | per_handset.same_prefix_calls | 3 | 6 | revenue-share fraud dials numbers of one sold "
         "range back to back; a person calls one foreign office again once or twice |\n"
         "| international | per_handset.minutes_per_day | 90 | 240 | long calls abroad add up fast; four hours is a "
         "fraud night's first hours |\n"
         "| international | max_call_duration | 1h | 3h | a fraudulent call is held as long as the carrier lets it run |\n\n"
         "No per-site levels are set by default: a site's volume depends on its size (2 to 250 handsets),\n"
         "so the operator sets them (`per_site`), next to `limits.per_site`. Nothing counts but outbound\n"
         "calls the guard admits: a re-registration storm after a WAN outage, or the PBX ringing a group\n"
         "of 30 handsets, never comes near a level. A generated office week (20 handsets, tests/filters/\n"
         "engine/site_week_test.cpp: 210 to 260 calls a weekday) raises no warning under these levels,\n"
         "and a Saturday-night burst of back-to-back calls to one range abroad is warned at its third\n"
         "call and blocked at its seventh.\n\n"
         "Counters per handset live in a table of `EngineLimits::max_limit_keys` (handset, profile) entries\n"
         "(2048 by default), the least recently used first out. Each call refreshes its handset's address\n"
         "entry, so a flood of calls with made-up digest user names pushes out idle entries, never the\n"
         "flooding handset's own; an evicted entry starts again from zero (`VG_TABLE_EVICTION\n"
         "detail=fraud_counters`), and the per-site counters, which are never evicted, are the backstop.\n"
         "A reload keeps the counters of profiles whose name it keeps.\n";
    o << "\n## Callbacks (`toll_fraud.callback`)\n\n"
         "Wangiri (\"one ring and cut\") fraud rings a phone once from a number on a premium or high-cost\n"
         "range and hangs up; whoever calls the missed call back pays the caller's rate. voipguard marks the\n"
         "caller of an inbound call when its number (From or P-Asserted-Identity, normalised like a dialled\n"
         "number) is on the risk list and the call ends within `max_ring` without an answer (CANCEL, 487) or\n"
         "within `short_call` of its answer (a ring group's handsets cancelled together mark it once). An outbound call to a marked number from any handset within\n"
         "`window` is a callback: `VG_CALLBACK_BLOCKED` (reason `callback`) or, with `action: warn`,\n"
         "`VG_CALLBACK_WARNING`. The comparison is on the whole normalised number, so `+88212345678`,\n"
         "`0088212345678` and the national form of a number of the site's own country are the same number.\n\n"
         "The risk list is the built-in high-risk list (`risk_builtin`), the deny list with its files,\n"
         "`risk_prefixes` and `risk_prefix_files`. With the default deny list such callbacks are denied by\n"
         "their prefix anyway; the callback check runs first so that the event names the call that baited it.\n"
         "Its own value is where the deny list does not reach: a risk prefix such as `+` (every caller from\n"
         "abroad) marks only the numbers that actually rang once, where denying `+` would stop every call abroad.\n\n"
         "Defaults: `max_ring: 10s` is two ring cycles, `short_call: 5s` a recorded message or silence,\n"
         "`window: 3d` covers a missed call on Friday evening returned on Monday morning; a call back after\n"
         "three days is rare and the mark would otherwise deny a legitimate number for longer than needed.\n\n"
         "Marks live in a table of `EngineLimits::max_callback_marks` numbers (1024 by default, 132 bytes\n"
         "each on 64-bit), keyed by a keyed hash of the number under the daemon's random secret. Windows run on\n"
         "monotonic time: setting the clock does not end or extend them. They are not kept across a restart.\n\n"
         "What an attacker can do with this table:\n\n"
         "- Deny service to a number: caller IDs are rarely verified, so anyone can ring a handset once\n"
         "  \"from\" a partner's number and stop the site calling that partner for `window`. Only numbers on\n"
         "  the risk list can be marked. An `allow_prefixes` entry longer than the risk prefix exempts a\n"
         "  number (list the partners you call on such ranges), and `action: warn` reports without blocking.\n"
         "- Flush a real mark: a burst of one-ring calls from distinct risk numbers fills the table, and the\n"
         "  oldest marks nobody has called back go first (`VG_TABLE_EVICTION detail=callback_marks`). A\n"
         "  number a handset already tried to call back is pushed out only after every other one. Each\n"
         "  flooding call is a real call through the PBX's trunk, paid for and logged (`VG_CALLBACK_MARKED`).\n"
         "- Spoof the inbound side: the caller numbers are read only from the PBX's INVITEs to handsets (a\n"
         "  packet from elsewhere is dropped before it is read), so only what the trunk delivers marks.\n";
    o << "\n## Built-in scanner User-Agent patterns (`sip.scanner_user_agents`)\n\n"
         "Case-insensitive substrings of the User-Agent header sent by well-known SIP scanning tools:\n\n";
    for (const auto& s : kScanners) o << "- `" << s << "`\n";
    o << "\n## Built-in password audit candidates (`handsets.password_audit_rate`)\n\n"
         "Besides the user name itself, reversed, repeated twice and followed by `123`, and\n"
         "`handsets.weak_passwords`, the audit tests these (a match names the kind, never the password):\n\n"
         "| password | kind | source |\n|---|---|---|\n";
    for (const auto& w : kWeakPasswords)
        o << "| `" << w.password << "` | " << (w.vendor_default ? "vendor default" : "common weak password") << " | "
          << w.source << " |\n";
    return o.str();
}

const std::vector<BuiltinPrefix>& builtin_high_risk_prefixes() { return kHighRisk; }
const std::vector<BuiltinPrefix>& builtin_nanp_international_prefixes() { return kNanpInternational; }
const std::vector<std::string_view>& builtin_scanner_user_agents() { return kScanners; }
const std::vector<BuiltinWeakPassword>& builtin_weak_passwords() { return kWeakPasswords; }

// ---- value parsers ----------------------------------------------------------

std::optional<std::int64_t> parse_integer(std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    std::uint64_t v = 0;
    if (!text::parse_uint(s, 1000000000000ull, v)) return std::nullopt;
    return neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
}

std::optional<bool> parse_boolean(std::string_view s) {
    if (s == "true") return true;
    if (s == "false") return false;
    return std::nullopt;
}

std::optional<Seconds> parse_duration(std::string_view s) {
    if (s.size() < 2) return std::nullopt;
    const char unit = s.back();
    std::int64_t mult = 0;
    switch (unit) {
    case 's': mult = 1; break;
    case 'm': mult = kMinute; break;
    case 'h': mult = kHour; break;
    case 'd': mult = kDay; break;
    default: return std::nullopt;
    }
    std::uint64_t v = 0;
    if (!text::parse_uint(s.substr(0, s.size() - 1), 100000000ull, v)) return std::nullopt;
    return Seconds(static_cast<std::int64_t>(v) * mult);
}

std::optional<Rate> parse_rate(std::string_view s) {
    s = text::trim_wsp(s);
    const auto slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::uint32_t count = 0;
    if (!text::parse_uint_as<std::uint32_t>(s.substr(0, slash), 1000000000u, count)) return std::nullopt;
    std::string_view rest = s.substr(slash + 1);
    std::size_t i = 0;
    while (i < rest.size() && text::is_alpha(rest[i])) ++i;
    const auto unit = rest.substr(0, i);
    Rate r;
    if (unit == "s") r.per = Seconds(1);
    else if (unit == "min") r.per = Seconds(kMinute);
    else if (unit == "h") r.per = Seconds(kHour);
    else return std::nullopt;
    r.count = count;
    r.burst = count;
    rest = rest.substr(i);
    if (!rest.empty()) {
        if (!text::is_wsp(rest[0])) return std::nullopt;
        rest = text::trim_wsp(rest);
        if (!text::starts_with(rest, "burst")) return std::nullopt;
        rest.remove_prefix(5);
        if (rest.empty() || !text::is_wsp(rest[0])) return std::nullopt;
        rest = text::trim_wsp(rest);
        if (!text::parse_uint_as<std::uint32_t>(rest, 1000000000u, r.burst)) return std::nullopt;
    }
    return r;
}

std::optional<PortRange> parse_port_range(std::string_view s) {
    const auto dash = s.find('-');
    std::uint16_t a = 0, b = 0;
    if (dash == std::string_view::npos) {
        if (!text::parse_uint_as<std::uint16_t>(s, 65535, a) || a == 0) return std::nullopt;
        return PortRange{a, a};
    }
    if (!text::parse_uint_as<std::uint16_t>(s.substr(0, dash), 65535, a) ||
        !text::parse_uint_as<std::uint16_t>(s.substr(dash + 1), 65535, b))
        return std::nullopt;
    if (a == 0 || b < a) return std::nullopt;
    return PortRange{a, b};
}

std::optional<ServicePort> parse_service_port(std::string_view s) {
    ServicePort sp;
    if (text::starts_with(s, "tcp/")) sp.transport = Transport::tcp;
    else if (text::starts_with(s, "udp/")) sp.transport = Transport::udp;
    else return std::nullopt;
    const auto r = parse_port_range(s.substr(4));
    if (!r) return std::nullopt;
    sp.ports = *r;
    return sp;
}

namespace {
int day_index(std::string_view d) {
    static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int i = 0; i < 7; ++i)
        if (text::iequals(d, kDays[i])) return i;
    return -1;
}
std::optional<std::uint16_t> parse_clock(std::string_view s) {
    if (s.size() != 5 || s[2] != ':') return std::nullopt;
    std::uint16_t h = 0, m = 0;
    if (!text::parse_uint_as<std::uint16_t>(s.substr(0, 2), 24, h) ||
        !text::parse_uint_as<std::uint16_t>(s.substr(3, 2), 59, m))
        return std::nullopt;
    if (h == 24 && m != 0) return std::nullopt;
    return static_cast<std::uint16_t>(h * 60 + m);
}
}  // namespace

std::optional<WeeklyWindow> parse_weekly_window(std::string_view s) {
    s = text::trim_wsp(s);
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    const auto days = s.substr(0, sp);
    const auto times = text::trim_wsp(s.substr(sp + 1));
    WeeklyWindow w;
    // "mon-fri", "sat", "mon,wed,fri"
    std::size_t pos = 0;
    while (pos <= days.size()) {
        auto comma = days.find(',', pos);
        if (comma == std::string_view::npos) comma = days.size();
        const auto part = days.substr(pos, comma - pos);
        const auto dash = part.find('-');
        int a = -1, b = -1;
        if (dash == std::string_view::npos) {
            a = b = day_index(part);
        } else {
            a = day_index(part.substr(0, dash));
            b = day_index(part.substr(dash + 1));
        }
        if (a < 0 || b < 0 || b < a) return std::nullopt;
        for (int d = a; d <= b; ++d) w.days = static_cast<std::uint8_t>(w.days | (1u << d));
        pos = comma + 1;
    }
    const auto dash = times.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto from = parse_clock(times.substr(0, dash));
    const auto to = parse_clock(times.substr(dash + 1));
    if (!from || !to || *from >= *to) return std::nullopt;
    w.start_minute = *from;
    w.end_minute = *to;
    return w;
}

std::optional<std::vector<std::uint32_t>> parse_version_text(std::string_view s) {
    std::vector<std::uint32_t> parts;
    std::size_t pos = 0;
    while (true) {
        auto dot = s.find('.', pos);
        if (dot == std::string_view::npos) dot = s.size();
        std::uint32_t v = 0;
        if (!text::parse_uint_as<std::uint32_t>(s.substr(pos, dot - pos), 999999999u, v)) return std::nullopt;
        parts.push_back(v);
        if (parts.size() > 8) return std::nullopt;
        if (dot == s.size()) break;
        pos = dot + 1;
    }
    return parts;
}

bool is_valid_name(std::string_view s) {
    if (s.empty() || s.size() > 63 || !text::is_alnum(s[0])) return false;
    for (char c : s)
        if (!text::is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

bool is_valid_prefix(std::string_view s) {
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    else if (s.empty()) return false;
    if (s.size() > 15) return false;
    for (char c : s)
        if (!text::is_digit(c)) return false;
    return true;
}

bool is_valid_digits(std::string_view s, std::size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    for (char c : s)
        if (!text::is_digit(c)) return false;
    return true;
}

bool is_valid_number(std::string_view s) { return is_valid_digits(s, 15); }

bool is_valid_timezone(std::string_view s) {
    std::string error;
    return is_time_zone_name(s) || TimeZone::from_posix(s, error).has_value();
}

bool is_valid_host_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    if (s.back() == '.') s.remove_suffix(1);
    std::size_t pos = 0;
    std::string_view last;
    while (pos <= s.size()) {
        auto dot = s.find('.', pos);
        if (dot == std::string_view::npos) dot = s.size();
        const auto label = s.substr(pos, dot - pos);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!text::is_alnum(c) && c != '-') return false;
        last = label;
        pos = dot + 1;
    }
    // A number as the last label ("300.1.2.3", "0x7f.0.0.1", "203.0.113.010")
    // makes an address, bad or in a legacy form that getaddrinfo reads
    // without asking DNS; no top-level domain is a number.
    std::string_view digits = last;
    if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        digits.remove_prefix(2);
        for (char c : digits)
            if (!text::is_hex(c)) return true;
        return false;
    }
    for (char c : digits)
        if (!text::is_digit(c)) return true;
    return false;
}

std::optional<net::IpAddress> legacy_ipv4_address(std::string_view s) {
    if (s.empty() || s.find('\0') != std::string_view::npos || net::IpAddress::parse(s)) return std::nullopt;
    in_addr a{};
    if (inet_aton(std::string(s).c_str(), &a) == 0) return std::nullopt;
    return net::IpAddress::v4(ntohl(a.s_addr));
}

std::optional<std::pair<std::string, std::string>> parse_aor(std::string_view s) {
    const auto at = s.find('@');
    const std::string_view user = s.substr(0, at);
    // RFC 3261 §25.1 user: unreserved, escaped and user-unreserved characters.
    if (user.empty() || user.size() > 64) return std::nullopt;
    for (char c : user)
        if (!text::is_alnum(c) && std::string_view("-_.!~*'()&=+$,;?/%#").find(c) == std::string_view::npos)
            return std::nullopt;
    if (at == std::string_view::npos) return std::make_pair(std::string(user), std::string());
    std::string_view domain = s.substr(at + 1);
    const bool literal = domain.size() > 2 && domain.front() == '[' && domain.back() == ']';
    if (literal ? !net::IpAddress::parse(domain.substr(1, domain.size() - 2))
                : !is_valid_host_name(domain) && !net::IpAddress::parse(domain))
        return std::nullopt;
    std::string d(domain);
    for (char& c : d) c = text::ascii_lower(c);
    return std::make_pair(std::string(user), std::move(d));
}

std::string format_duration(Seconds d) {
    const auto n = d.count();
    if (n != 0 && n % kDay == 0) return std::to_string(n / kDay) + "d";
    if (n != 0 && n % kHour == 0) return std::to_string(n / kHour) + "h";
    if (n != 0 && n % kMinute == 0) return std::to_string(n / kMinute) + "m";
    return std::to_string(n) + "s";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t sub = prev[j - 1] + (text::ascii_lower(a[i - 1]) == text::ascii_lower(b[j - 1]) ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace vg::config
