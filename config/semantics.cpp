// SPDX-License-Identifier: GPL-2.0-or-later
// Checks across keys and files, on the built Policy and the merged view they
// came from: at least one PBX, peer names unique over all files, host names
// that resolve (resolver.cpp), the schedule's time zone read now (its rules,
// so the engine never asks the C library), in enforce mode no PBX address
// inside a handset network; then the warnings (risky but legal settings).
// Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"
#include "config/time_zone.h"

#include <algorithm>
#include <functional>

#include <cstdlib>
#include <ctime>
#include <map>

namespace vg::config::detail {

namespace {

// Countries that observe daylight saving time, by country calling code, with
// the zone of their capital and its POSIX rule. Source: the IANA tz database
// (tzdata 2025b): the zones of each country in zone1970.tab and the POSIX
// rules in their TZif footers. `whole`: every region observes it; otherwise
// (1: Arizona, Hawaii, Saskatchewan; 61: Queensland, WA, NT) a fixed offset
// may be right, and only UTC is reported.
struct DstCountry {
    std::string_view code;
    std::string_view country;
    std::string_view zone;
    std::string_view rule;
    bool whole;
};
constexpr std::string_view kCet = "CET-1CEST,M3.5.0,M10.5.0/3";
constexpr std::string_view kEet = "EET-2EEST,M3.5.0/3,M10.5.0/4";
constexpr DstCountry kDstCountries[] = {
    {"1", "the United States and Canada", "America/New_York", "EST5EDT,M3.2.0,M11.1.0", false},
    {"30", "Greece", "Europe/Athens", kEet, true},
    {"31", "the Netherlands", "Europe/Amsterdam", kCet, true},
    {"32", "Belgium", "Europe/Brussels", kCet, true},
    {"33", "France", "Europe/Paris", kCet, true},
    {"34", "Spain", "Europe/Madrid", kCet, true},
    {"36", "Hungary", "Europe/Budapest", kCet, true},
    {"39", "Italy", "Europe/Rome", kCet, true},
    {"40", "Romania", "Europe/Bucharest", kEet, true},
    {"41", "Switzerland", "Europe/Zurich", kCet, true},
    {"43", "Austria", "Europe/Vienna", kCet, true},
    {"44", "the United Kingdom", "Europe/London", "GMT0BST,M3.5.0/1,M10.5.0", true},
    {"45", "Denmark", "Europe/Copenhagen", kCet, true},
    {"46", "Sweden", "Europe/Stockholm", kCet, true},
    {"47", "Norway", "Europe/Oslo", kCet, true},
    {"48", "Poland", "Europe/Warsaw", kCet, true},
    {"49", "Germany", "Europe/Berlin", kCet, true},
    {"61", "Australia", "Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3", false},
    {"64", "New Zealand", "Pacific/Auckland", "NZST-12NZDT,M9.5.0,M4.1.0/3", true},
    {"351", "Portugal", "Europe/Lisbon", "WET0WEST,M3.5.0/1,M10.5.0", true},
    {"352", "Luxembourg", "Europe/Luxembourg", kCet, true},
    {"353", "Ireland", "Europe/Dublin", "IST-1GMT0,M10.5.0,M3.5.0/1", true},
    {"356", "Malta", "Europe/Malta", kCet, true},
    {"357", "Cyprus", "Asia/Nicosia", kEet, true},
    {"358", "Finland", "Europe/Helsinki", kEet, true},
    {"359", "Bulgaria", "Europe/Sofia", kEet, true},
    {"370", "Lithuania", "Europe/Vilnius", kEet, true},
    {"371", "Latvia", "Europe/Riga", kEet, true},
    {"372", "Estonia", "Europe/Tallinn", kEet, true},
    {"380", "Ukraine", "Europe/Kyiv", kEet, true},
    {"385", "Croatia", "Europe/Zagreb", kCet, true},
    {"386", "Slovenia", "Europe/Ljubljana", kCet, true},
    {"420", "Czechia", "Europe/Prague", kCet, true},
    {"421", "Slovakia", "Europe/Bratislava", kCet, true},
};

// "an hour", "2 hours", "30 minutes", "1 hour 30 minutes".
std::string span(std::int32_t seconds) {
    if (seconds < 0) seconds = -seconds;
    const int h = seconds / 3600, m = (seconds % 3600) / 60;
    std::string s;
    if (h == 1) s = "an hour";
    else if (h > 1) s = std::to_string(h) + " hours";
    if (m != 0) s += (s.empty() ? "" : " ") + std::to_string(m) + " minutes";
    return s;
}

// A schedule in a zone without daylight saving for a country that has it.
void check_dst(View& view, const Policy& p, std::int64_t now,
               const std::function<void(const Val&, const std::string&, Diagnostic::Severity, std::string)>& at) {
    const auto& oh = p.toll_fraud.out_of_hours;
    if (!oh.enabled || p.toll_fraud.country_code.empty() || !oh.zone.fixed_offset_in_year_of(now)) return;
    const DstCountry* c = nullptr;
    for (const auto& d : kDstCountries)
        if (d.code == p.toll_fraud.country_code) c = &d;
    if (c == nullptr) return;
    const std::int32_t fixed = oh.zone.utc_offset(now);
    if (!c->whole && fixed != 0) return;
    std::string error;
    const auto local = TimeZone::from_posix(c->rule, error);
    if (!local) return;
    // Its offsets over the year: the smaller is standard time, the larger summer time.
    std::int32_t lo = local->utc_offset(now), hi = lo;
    for (int d = 0; d < 366; d += 7) {
        const auto o = local->utc_offset(now + std::int64_t{d} * 86400);
        lo = std::min(lo, o);
        hi = std::max(hi, o);
    }
    const Val tz = view.get("toll_fraud.out_of_hours.timezone");
    const Val where = tz.is_default() ? view.get("toll_fraud.out_of_hours.business_hours") : tz;
    std::string msg = quote_value(oh.timezone) + (tz.is_default() ? " (the default)" : "") +
                      " keeps one UTC offset all year, but country code " + std::string(c->code) + " (" +
                      std::string(c->country) +
                      ") observes daylight saving time: ";
    if (!c->whole)
        msg += "UTC is not the local time of any part of it and business hours will be off by hours; write the site's "
               "zone, e.g. " + std::string(c->zone) + ", or its POSIX rule, e.g. " + std::string(c->rule);
    else {
        msg += lo == fixed ? "business hours will be off by " + span(hi - fixed) + " in summer"
                           : "business hours will be off by " + span(lo - fixed) + " in winter and " +
                                 span(hi - fixed) + " in summer";
        msg += "; write " + std::string(c->zone) + ", or the POSIX rule " + std::string(c->rule) +
               " where the router has no tz database";
    }
    at(where, "toll_fraud.out_of_hours.timezone", kWarning, msg);
}

// A dial prefix that cannot match what it seems to (see config/REFERENCE.md,
// "Dial prefixes"): written without '+', the international or the national
// prefix it matches only numbers dialled without any prefix, as written.
void check_prefix(const Val& v, const std::string& path, const Policy::TollFraud& tf,
                  const std::function<void(const Val&, const std::string&, Diagnostic::Severity, std::string)>& at) {
    const std::string pre = text_of(v);
    const std::string& cc = tf.country_code;
    const std::string& nat = tf.national_prefix;
    const std::string& intl = tf.international_prefix;
    auto starts = [&](const std::string& s, const std::string& with) {
        return !with.empty() && s.compare(0, with.size(), with) == 0;
    };
    auto q = [](const std::string& s) { return "\"" + s + "\""; };
    if (pre.empty()) return;
    if (pre[0] == '+') {
        if (pre.size() < 2 || pre[1] != '0') return;
        const std::string rest = pre.substr(1);
        const std::string meant = starts(rest, intl) ? "+" + rest.substr(intl.size()) : rest;
        at(v, path, kError,
           q(pre) + " never matches: country codes never start with 0, so no number in international form starts "
                    "with +0; did you mean " + q(meant) + "?");
        return;
    }
    if (starts(pre, intl) || starts(pre, nat)) return;
    const std::string as_dialled = "matches only numbers dialled without any prefix, as written (" + q(pre + "...") + ")";
    if (cc.empty()) {
        at(v, path, kWarning,
           q(pre) + ": a prefix without '+' or the international prefix '" + intl + "' " + as_dialled +
               ", never a number dialled in international form; did you mean " + q("+" + pre) + "?");
        return;
    }
    const std::string without = q(pre) + ": a prefix without '+' or the national prefix '" + nat + "' ";
    if (tf.unprefixed_is_national) {
        // Every number dialled without a prefix is read as national
        // (+CC...), extensions are never judged: nothing is left to match.
        at(v, path, kError,
           without + "never matches with unprefixed_numbers: national (a number dialled without a prefix is read as " +
               q("+" + cc + "...") + "); did you mean " + q("+" + cc + pre) + "?");
        return;
    }
    if (cc == nat) {
        // North America: the national prefix is the country code ("1").
        at(v, path, kWarning,
           without + as_dialled + "; numbers dialled " + q(nat + pre + "...") + " or " + q("+" + cc + pre + "...") +
               " are matched as " + q("+" + cc + pre) + ": add " + q("+" + cc + pre) + " for them");
        return;
    }
    if (starts(pre, cc)) {
        // The site's own country in international form without its '+': its
        // numbers are always matched as +CC..., so this never matches one.
        at(v, path, kError,
           without + as_dialled + ", never a number of country code " + cc + " (dialled nationally or "
                     "internationally, they are matched as " + q("+" + cc + "...") + "); did you mean " + q("+" + pre) +
               " or " + q(nat + pre.substr(cc.size())) + "?");
        return;
    }
    at(v, path, kWarning,
       without + as_dialled + " (local numbers), never a national or international number; did you mean " +
           q("+" + pre) + " (international) or " + q(nat + pre) + " (national)?");
}

}  // namespace

void check_semantics(View& view, Policy& p, const LoadOptions& opt, std::vector<Diagnostic>& out) {
    const Layer& site = view.site();
    auto at = [&](const Val& v, const std::string& path, Diagnostic::Severity sev, std::string msg) {
        if (v.node && v.layer) out.push_back({sev, v.layer->file, v.node->line, v.node->column, path, std::move(msg)});
        else out.push_back({sev, site.file, site.root->line, site.root->column, path, std::move(msg)});
    };

    // At least one PBX after merging.
    if (p.peers.pbx.empty()) {
        const YNode* peers = find_in(site.root.get(), "peers");
        Val where{peers ? peers : site.root.get(), &site};
        at(where, "peers.pbx", kError,
               peers ? "at least one PBX is required" : "required key is missing (at least one PBX is required)");
    }

    // Peer names are unique over all files and lists.
    std::map<std::string, Val> names;
    for (const char* list : {"peers.pbx", "peers.support", "egress.allow"}) {
        for (const auto& it : view.items(list)) {
            const Val name = view.field(it, "name", std::string(list) + "[].name");
            if (!name.node || name.is_default()) continue;
            const auto [pos, inserted] = names.emplace(name.node->value, name);
            if (!inserted) {
                const Origin first = origin_of(pos->second);
                at(name, item_path(list, it.index) + ".name", kError,
                   "duplicate peer name '" + name.node->value + "' (first at " +
                       (first.file == name.layer->file ? std::to_string(first.line) + ":" + std::to_string(first.column)
                                                       : first.to_string()) +
                       ")");
            }
        }
    }

    // The handset inventory: an AOR once (a bare extension and a user@domain
    // of the same user overlap: the extension would take both); an
    // expected address inside the handset networks.
    {
        std::map<std::string, Val> aors;
        std::map<std::string, Val> users_anywhere;
        for (const auto& it : view.items("handsets.known")) {
            const std::string base = item_path("handsets.known", it.index);
            const Val aor = view.field(it, "aor", "handsets.known[].aor");
            const auto parsed = parse_aor(text_of(aor));
            if (aor.node && !aor.is_default() && parsed) {
                auto where = [&](const Val& first) {
                    const Origin o = origin_of(first);
                    return first.layer == aor.layer ? std::to_string(o.line) + ":" + std::to_string(o.column)
                                                    : o.to_string();
                };
                const std::string key = parsed->first + "@" + parsed->second;
                const auto [pos, inserted] = aors.emplace(key, aor);
                if (!inserted) {
                    at(aor, base + ".aor", kError,
                       "duplicate AOR '" + aor.node->value + "' (first at " + where(pos->second) + ")");
                } else if (parsed->second.empty()) {
                    users_anywhere.emplace(parsed->first, aor);
                }
            }
            const Val address = view.field(it, "address", "handsets.known[].address");
            if (address.node && !address.is_default()) {
                const auto a = net::IpAddress::parse(text_of(address));
                bool inside = false;
                for (const auto& n : p.handsets.networks) inside = inside || (a && n.contains(*a));
                if (a && !inside)
                    at(address, base + ".address", kError,
                       quote_value(text_of(address)) + " is not inside handsets.networks");
            }
        }
        for (const auto& it : view.items("handsets.known")) {
            const Val aor = view.field(it, "aor", "handsets.known[].aor");
            const auto parsed = parse_aor(text_of(aor));
            if (!parsed || parsed->second.empty()) continue;
            const auto pos = users_anywhere.find(parsed->first);
            if (pos != users_anywhere.end()) {
                const Origin o = origin_of(pos->second);
                at(aor, item_path("handsets.known", it.index) + ".aor", kError,
                   "AOR '" + text_of(aor) + "' overlaps the extension '" + parsed->first + "' (at " +
                       (pos->second.layer == aor.layer ? std::to_string(o.line) + ":" + std::to_string(o.column)
                                                       : o.to_string()) +
                       "), which stands for that user at any domain");
            }
        }
    }

    // sip.rate_limits: the engine keeps a limit for so many methods in all,
    // the defaults and every file's keys together; one more would go
    // unlimited, and "default" is looked up last. Reported at the first key
    // past the limit.
    {
        const auto rates = view.rate_map("sip.rate_limits");
        const std::size_t max = find_key("sip.rate_limits")->max_items;
        if (rates.size() > max) {
            const auto& [method, v] = rates[max];
            at(v, "sip.rate_limits." + method, kError,
               std::to_string(rates.size()) + " methods in sip.rate_limits with the defaults (default, INVITE, "
               "REGISTER) and every file's keys; at most " + std::to_string(max) + " are allowed");
        }
    }

    // Host names: resolved now; a name that never resolved is an error.
    if (opt.resolve_host_names) resolve_host_names(p, opt, out);

    // The schedule's time zone: its rules are read now, so the engine never
    // asks the C library (which would mean writing TZ into the environment).
    if (p.toll_fraud.out_of_hours.enabled || (p.toll_fraud.enabled && !p.toll_fraud.profiles.empty())) {
        std::string error;
        std::string dir = opt.zoneinfo_dir;
        if (dir.empty()) {
            const char* env = std::getenv("TZDIR");
            dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
        }
        if (auto z = load_time_zone(p.toll_fraud.out_of_hours.timezone, dir, error,
                                    &p.toll_fraud.out_of_hours.zone_source)) {
            p.toll_fraud.out_of_hours.zone = std::move(*z);
            check_dst(view, p, static_cast<std::int64_t>(std::time(nullptr)), at);
        } else
            at(view.get("toll_fraud.out_of_hours.timezone"), "toll_fraud.out_of_hours.timezone", kError,
               "unknown time zone '" + p.toll_fraud.out_of_hours.timezone + "': " + error);
    }

    // Dial prefixes that do not match what they seem to; a country code the
    // dial plan refuses (country codes never start with 0).
    if (p.toll_fraud.enabled) {
        for (const char* list : {"toll_fraud.deny_prefixes", "toll_fraud.allow_prefixes",
                                 "toll_fraud.out_of_hours.deny_prefixes", "toll_fraud.callback.risk_prefixes"})
            for (const auto& it : view.items(list)) check_prefix(it, item_path(list, it.index), p.toll_fraud, at);
        // The prefix files' entries, at their lines (at most 20 findings a file).
        for (const auto& f : view.prefix_files()) {
            const Layer file_layer{f.meta.file, {}, nullptr, false};
            YNode entry;
            entry.kind = YNode::Kind::scalar;
            entry.column = 1;
            int found = 0;
            auto capped = [&](const Val& v, const std::string& path, Diagnostic::Severity sev, std::string msg) {
                if (++found <= 20) at(v, path, sev, std::move(msg));
            };
            const PrefixFileEntries& entries = *f.meta.prefixes;
            for (std::size_t i = 0; i < entries.size(); ++i) {
                if (found > 20) break;
                entry.value = std::string(entries.digits(i));
                entry.line = entries.line(i);
                check_prefix(Val{&entry, &file_layer, -1}, "", p.toll_fraud, capped);
            }
        }
        if (p.toll_fraud.unprefixed_is_national && p.toll_fraud.country_code.empty())
            at(view.get("toll_fraud.unprefixed_numbers"), "toll_fraud.unprefixed_numbers", kError,
               "`national` needs toll_fraud.country_code: a number dialled without a prefix is read as the "
               "country code and its digits");
        if (!p.toll_fraud.country_code.empty() && p.toll_fraud.country_code[0] == '0')
            at(view.get("toll_fraud.country_code"), "toll_fraud.country_code", kError,
               quote_value(p.toll_fraud.country_code) + " is not a country calling code: they never start with 0 "
               "(the international prefix is toll_fraud.international_prefix); e.g. \"44\" for the United Kingdom");
    }

    // Destination profiles: unique names, a prefix in one profile only, no
    // warning level above its critical level.
    {
        auto pos_text = [&](const Val& first, const Val& here) {
            const Origin o = origin_of(first);
            return first.layer == here.layer ? std::to_string(o.line) + ":" + std::to_string(o.column) : o.to_string();
        };
        std::map<std::string, Val> profile_names;
        std::map<std::string, std::pair<Val, std::string>> profile_prefixes;
        const std::string item = "toll_fraud.profiles[]";
        for (const auto& it : view.items("toll_fraud.profiles")) {
            const std::string base = item_path("toll_fraud.profiles", it.index);
            const Val name = view.field(it, "name", item + ".name");
            if (name.node && !name.is_default()) {
                const auto [pos, inserted] = profile_names.emplace(name.node->value, name);
                if (!inserted)
                    at(name, base + ".name", kError,
                       "duplicate profile name '" + name.node->value + "' (first at " + pos_text(pos->second, name) + ")");
            }
            for (const auto& pv : view.field_items(it, "prefixes", item + ".prefixes")) {
                if (pv.is_default()) continue;
                const std::string t = text_of(pv);
                const auto [pos, inserted] = profile_prefixes.emplace(t, std::make_pair(pv, text_of(name)));
                if (!inserted && pos->second.second != text_of(name))
                    at(pv, base + ".prefixes[" + std::to_string(pv.index) + "]", kError,
                       "prefix \"" + t + "\" is already in profile '" + pos->second.second + "' (at " +
                           pos_text(pos->second.first, pv) + "); a number belongs to one profile");
            }
            auto check_pair = [&](const std::string& rel, bool duration) {
                const Val w = view.field(it, rel + ".warning", item + "." + rel + ".warning");
                const Val c = view.field(it, rel + ".critical", item + "." + rel + ".critical");
                std::int64_t wv = 0, cv = 0;
                if (duration) {
                    wv = parse_duration(text_of(w)).value_or(Seconds(0)).count();
                    cv = parse_duration(text_of(c)).value_or(Seconds(0)).count();
                } else {
                    wv = parse_integer(text_of(w)).value_or(0);
                    cv = parse_integer(text_of(c)).value_or(0);
                }
                if (wv == 0 || cv == 0 || wv <= cv) return;
                at(w.is_default() ? c : w, base + "." + rel + ".warning", kError,
                   "warning " + text_of(w) + " is above critical " + text_of(c) +
                       (c.is_default() ? std::string() : " (at " + pos_text(c, w) + ")") +
                       ": the warning would never come before the block");
            };
            check_pair("max_call_duration", true);
            for (const char* scope : {"per_handset", "per_site"})
                for (std::size_t t = 0; t < kFraudThresholdCount; ++t)
                    check_pair(std::string(scope) + "." + to_string(static_cast<FraudThreshold>(t)), false);
        }
    }

    // logging.socket: an absolute path that fits a sockaddr_un (108 bytes
    // with the terminating NUL).
    {
        const std::string& f = p.logging.socket;
        bool printable = !f.empty();
        for (char c : f)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) printable = false;
        if (!printable || f[0] != '/' || f.size() > 107)
            at(view.get("logging.socket"), "logging.socket", kError,
               quote_value(f) + " is not an absolute path of at most 107 bytes (a Unix socket, e.g. /dev/log)");
    }

    // logging.mask_keep_*: kept digits that leave a whole E.164 number (at
    // most 15 digits) visible mask nothing.
    if (p.logging.mask_numbers && p.logging.mask_keep_start + p.logging.mask_keep_end >= 15) {
        const char* key = view.get("logging.mask_keep_end").is_default() ? "logging.mask_keep_start"
                                                                          : "logging.mask_keep_end";
        at(view.get(key), key, kWarning,
           "mask_keep_start + mask_keep_end = " + std::to_string(p.logging.mask_keep_start + p.logging.mask_keep_end) +
               ": every number of up to 15 digits is shown whole (set logging.mask_numbers: false to say so)");
    }

    // metrics.file: an absolute path the node exporter's textfile collector
    // reads (it takes only *.prom files). Whether the directory exists is
    // the daemon's to find out: `check` may run on another machine.
    if (!p.metrics.file.empty()) {
        const std::string& f = p.metrics.file;
        bool printable = true;
        for (char c : f)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) printable = false;
        const bool prom = f.size() > 6 && f.compare(f.size() - 5, 5, ".prom") == 0 && f[f.size() - 6] != '/';
        if (f[0] != '/' || !printable || f.size() > 1024 || !prom)
            at(view.get("metrics.file"), "metrics.file", kError,
               quote_value(f) + " is not an absolute path of a .prom file (the textfile collector reads only *.prom, e.g. "
                         "/var/lib/prometheus/node-exporter/voipguard.prom)");
    }

    // alerts.command: run without a shell or a PATH search.
    if (!p.alerts.command.empty()) {
        const std::string& prog = p.alerts.command[0];
        bool printable = true;
        for (char c : prog)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) printable = false;
        if (prog.empty() || prog[0] != '/' || !printable || prog.size() > 4096)
            at(view.get("alerts.command"), "alerts.command", kError,
               quote_value(prog) + " is not an absolute path of a program (the command runs without a shell, e.g. "
                                   "/usr/libexec/voipguard/alert-mail)");
    }

    // Enforce: the handset networks may not contain a PBX address.
    if (p.mode == Mode::enforce) {
        for (std::size_t h = 0; h < p.handsets.networks.size(); ++h) {
            const auto& net = p.handsets.networks[h];
            const auto& ho = p.handsets.network_origins[h];
            for (const auto& pbx : p.peers.pbx) {
                for (const auto& a : pbx.addresses) {
                    for (const auto& c : a.prefixes()) {
                        if (!net.overlaps(c)) continue;
                        out.push_back({kError, ho.file, ho.line, ho.column, "handsets.networks[" + std::to_string(h) + "]",
                                       net.to_string() + " overlaps " + c.to_string() + " of PBX '" + pbx.name +
                                           "' (at " + a.origin.to_string() +
                                           "); in enforce mode the handset network may not contain a PBX address"});
                    }
                }
            }
        }
    }

    // Warnings: risky but legal.
    if (p.mode == Mode::enforce && p.on_failure == OnFailure::open) {
        const Val v = view.get("on_failure");
        at(v, "on_failure", kWarning,
           std::string(v.is_default() ? "'open' (the default) " : "'open' ") +
               "with mode 'enforce': while the daemon is stopped or its queue is full the kernel lets voice traffic "
               "through unchecked; set on_failure: closed to drop it instead (calls then fail until the daemon is back)");
    }
    if (p.mode == Mode::enforce && !p.egress.allow_list) {
        const Val v = view.get("egress.mode");
        at(v, "egress.mode", kWarning,
           "open: handsets may reach any destination except with SIP (which may reach only the PBX), and "
           "every flow they open gets its return traffic, which VoIP does not need; use egress.mode: allow_list "
           "(the default) and list DNS, NTP, provisioning and firmware servers in egress.allow");
    }
    for (const auto& it : view.items("peers.support")) {
        for (const auto& port : view.field_items(it, "ports", "peers.support[].ports")) {
            const auto sp = parse_service_port(text_of(port));
            if (!sp) continue;
            struct Risky {
                Transport t;
                std::uint16_t port;
                const char* what;
            };
            static constexpr Risky kRisky[] = {{Transport::tcp, 23, "telnet (clear-text passwords)"},
                                               {Transport::tcp, 21, "FTP (clear-text passwords)"},
                                               {Transport::udp, 69, "TFTP (no authentication)"},
                                               {Transport::tcp, 513, "rlogin (clear-text)"},
                                               {Transport::tcp, 514, "rsh (no authentication)"}};
            for (const auto& r : kRisky)
                if (sp->transport == r.t && sp->ports.contains(r.port))
                    at(port, item_path("peers.support", it.index) + ".ports[" + std::to_string(port.index) + "]",
                       kWarning,
                       std::string(to_string(r.t)) + "/" + std::to_string(r.port) + " is " + r.what +
                           "; prefer an encrypted service such as tcp/22 or tcp/443");
        }
    }
    if (p.toll_fraud.enabled && p.toll_fraud.allow_list && p.toll_fraud.distinct_prefixes(false) == 0) {
        at(view.get("toll_fraud.mode"), "toll_fraud.mode", kWarning,
           "allow_list with no allow_prefixes: only emergency numbers can be called");
    }
    if (p.toll_fraud.enabled && p.toll_fraud.country_code.empty()) {
        const Val v = view.get("toll_fraud");
        std::string msg =
            "not set: numbers dialled in international form (+..., or with the "
            "international prefix " + p.toll_fraud.international_prefix +
            "), the built-in high-risk list and every limit are enforced, but national numbers cannot be "
            "normalised";
        msg += p.toll_fraud.allow_list ? ": in allow_list mode they are denied unless an allow prefix matches them as "
                                         "dialled"
                                       : ": deny prefixes in national form match them only as dialled, `+` prefixes "
                                         "never";
        msg += "; set it to the site's country calling code (\"44\", \"1\")";
        at(v, "toll_fraud.country_code", kWarning, msg);
    }
}

}  // namespace vg::config::detail
