// SPDX-License-Identifier: GPL-2.0-or-later
// Building the Policy model (config/policy.h) from the merged view of a
// policy's files that the validator accepted: every key's effective value or
// default, parsed into its type; lists de-duplicated where the model says so
// (ports, prefixes, scanner patterns), the built-in lists added; each entry
// keeps where it was written (Origin), and Policy::defaulted names the keys no
// file sets. Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"
#include "filters/util/text.h"

#include <algorithm>
#include <unordered_set>

namespace vg::config::detail {

namespace {

class Builder {
public:
    Builder(View& view, Policy& p) : v_(view), p_(p) {}

    std::string scalar(std::string_view pattern) { return text_of(v_.get(pattern)); }
    std::string field(const Val& item, std::string_view rel, std::string_view pattern) {
        const Val val = v_.field(item, rel, pattern);
        return text_of(val);
    }
    std::uint32_t u32(std::string_view pattern) {
        return static_cast<std::uint32_t>(parse_integer(scalar(pattern)).value_or(0));
    }
    bool boolean(std::string_view pattern) { return parse_boolean(scalar(pattern)).value_or(false); }
    Seconds duration(std::string_view pattern) { return parse_duration(scalar(pattern)).value_or(Seconds(0)); }

    std::vector<AddressEntry> addresses(const std::vector<Val>& vals, const std::string& base) {
        std::vector<AddressEntry> out;
        for (const auto& a : vals) {
            AddressEntry e;
            e.text = text_of(a);
            e.path = item_path(base, a.index);
            e.origin = origin_of(a);
            if (auto c = net::Cidr::parse(e.text, true)) e.cidr = *c;
            else e.host = e.text;
            out.push_back(std::move(e));
        }
        return out;
    }

    std::vector<ServicePort> service_ports(const std::vector<Val>& vals) {
        std::vector<ServicePort> out;
        for (const auto& s : vals)
            if (auto sp = parse_service_port(text_of(s))) out.push_back(*sp);
        return out;
    }

    std::vector<ServicePeer> service_peers(std::string_view pattern) {
        std::vector<ServicePeer> out;
        const std::string item = std::string(pattern) + "[]";
        for (const auto& it : v_.items(pattern)) {
            ServicePeer peer;
            peer.name = field(it, "name", item + ".name");
            peer.addresses = addresses(v_.field_items(it, "addresses", item + ".addresses"),
                                       item_path(pattern, it.index) + ".addresses");
            peer.ports = service_ports(v_.field_items(it, "ports", item + ".ports"));
            peer.origin = origin_of(it);
            out.push_back(std::move(peer));
        }
        return out;
    }

    std::vector<DialPrefix> prefixes(std::string_view pattern) {
        std::vector<DialPrefix> out;
        std::unordered_set<std::string> seen;
        for (const auto& it : v_.items(pattern)) {
            auto t = text_of(it);
            if (seen.insert(t).second) out.push_back(DialPrefix{std::move(t), origin_of(it), {}});
        }
        return out;
    }

    void build() {
        p_.version = 1;
        p_.site = scalar("site");
        p_.mode = scalar("mode") == "monitor" ? Mode::monitor : Mode::enforce;
        p_.on_failure = scalar("on_failure") == "closed" ? OnFailure::closed : OnFailure::open;
        p_.files.push_back(v_.site().file);
        for (std::size_t i = 0; i + 1 < v_.layers().size(); ++i) p_.files.push_back(v_.layers()[i].file);

        for (const auto& n : v_.items("handsets.networks")) {
            if (auto c = net::Cidr::parse(text_of(n), true)) {
                p_.handsets.networks.push_back(*c);
                p_.handsets.network_origins.push_back(origin_of(n));
            }
        }
        for (const auto& n : v_.items("handsets.interfaces")) p_.handsets.interfaces.push_back(text_of(n));
        p_.handsets.stale_after = duration("handsets.stale_after");
        for (const auto& it : v_.items("handsets.firmware_minimums")) {
            FirmwareMinimum fm;
            fm.match = field(it, "match", "handsets.firmware_minimums[].match");
            fm.min_version = field(it, "min_version", "handsets.firmware_minimums[].min_version");
            fm.min_version_parts = parse_version_text(fm.min_version).value_or(std::vector<std::uint32_t>{});
            fm.origin = origin_of(it);
            p_.handsets.firmware_minimums.push_back(std::move(fm));
        }
        for (const auto& it : v_.items("handsets.weak_passwords")) p_.handsets.weak_passwords.push_back(text_of(it));
        p_.handsets.password_audit_rate = u32("handsets.password_audit_rate");
        for (const auto& it : v_.items("handsets.audit_ports")) {
            std::uint16_t port = 0;
            auto& ports = p_.handsets.audit_ports;
            if (text::parse_uint_as<std::uint16_t>(text_of(it), 65535, port) &&
                std::find(ports.begin(), ports.end(), port) == ports.end())
                ports.push_back(port);
        }
        for (const auto& it : v_.items("handsets.known")) {
            KnownHandset k;
            k.aor = field(it, "aor", "handsets.known[].aor");
            if (auto a = parse_aor(k.aor)) {
                k.user = std::move(a->first);
                k.domain = std::move(a->second);
            }
            const std::string address = field(it, "address", "handsets.known[].address");
            if (!address.empty()) k.address = net::IpAddress::parse(address);
            k.model = field(it, "model", "handsets.known[].model");
            k.origin = origin_of(it);
            p_.handsets.known.push_back(std::move(k));
        }

        for (const auto& it : v_.items("peers.pbx")) {
            PbxPeer pbx;
            pbx.name = field(it, "name", "peers.pbx[].name");
            pbx.addresses = addresses(v_.field_items(it, "addresses", "peers.pbx[].addresses"),
                                      item_path("peers.pbx", it.index) + ".addresses");
            const auto media = v_.field_items(it, "media.addresses", "peers.pbx[].media.addresses");
            pbx.media.addresses_from_pbx = media.empty();
            pbx.media.addresses = media.empty() ? pbx.addresses
                                                : addresses(media, item_path("peers.pbx", it.index) + ".media.addresses");
            pbx.media.ports = parse_port_range(field(it, "media.ports", "peers.pbx[].media.ports")).value_or(PortRange{});
            pbx.origin = origin_of(it);
            p_.peers.pbx.push_back(std::move(pbx));
        }
        p_.peers.support = service_peers("peers.support");

        p_.media.idle_timeout = duration("media.idle_timeout");
        p_.media.max_call_duration = duration("media.max_call_duration");
        p_.media.rtcp = boolean("media.rtcp");
        p_.media.strict_source_port = boolean("media.strict_source_port");
        p_.media.static_allowance = boolean("media.static_allowance");

        p_.egress.allow_list = scalar("egress.mode") == "allow_list";
        p_.egress.allow = service_peers("egress.allow");

        for (const auto& it : v_.items("sip.ports")) {
            std::uint16_t port = 0;
            if (text::parse_uint_as<std::uint16_t>(text_of(it), 65535, port) &&
                std::find(p_.sip.ports.begin(), p_.sip.ports.end(), port) == p_.sip.ports.end())
                p_.sip.ports.push_back(port);
        }
        p_.sip.max_message_size = u32("sip.max_message_size");
        p_.sip.max_headers = u32("sip.max_headers");
        p_.sip.drop_malformed = scalar("sip.on_malformed") == "drop";
        p_.sip.drop_scanners = scalar("sip.on_scanner") == "drop";
        p_.sip.drop_unknown_methods = scalar("sip.unknown_methods") == "drop";
        if (scalar("sip.scanner_user_agents.mode") == "add")
            for (auto s : builtin_scanner_user_agents()) p_.sip.scanner_user_agents.emplace_back(s);
        for (const auto& it : v_.items("sip.scanner_user_agents.patterns")) {
            const auto t = text_of(it);
            if (std::find(p_.sip.scanner_user_agents.begin(), p_.sip.scanner_user_agents.end(), t) ==
                p_.sip.scanner_user_agents.end())
                p_.sip.scanner_user_agents.push_back(t);
        }
        for (const auto& [method, val] : v_.rate_map("sip.rate_limits"))
            if (auto r = parse_rate(text_of(val))) p_.sip.rate_limits[method] = *r;
        p_.sip.max_tracked_sources = u32("sip.max_tracked_sources");

        auto& tf = p_.toll_fraud;
        tf.enabled = boolean("toll_fraud.enabled");
        tf.country_code = scalar("toll_fraud.country_code");
        tf.national_prefix = scalar("toll_fraud.national_prefix");
        tf.international_prefix = scalar("toll_fraud.international_prefix");
        tf.allow_list = scalar("toll_fraud.mode") == "allow_list";
        tf.deny_builtin = boolean("toll_fraud.deny_builtin");
        tf.callback.risk_builtin = boolean("toll_fraud.callback.risk_builtin");
        if (tf.deny_builtin)
            for (const auto& b : builtin_high_risk_prefixes())
                tf.deny_prefixes.push_back(DialPrefix{std::string(b.prefix), Origin{"(built-in)", 0, 0}, {}});
        if (tf.deny_builtin && tf.country_code == "1")
            for (const auto& b : builtin_nanp_international_prefixes())
                tf.nanp_international.push_back(DialPrefix{std::string(b.prefix), Origin{"(built-in)", 0, 0}, {}});
        {
            // Inline prefixes (built-ins first); the files' stay in their
            // packed form, shared with the loader (a file may hold 100,000).
            std::unordered_set<std::string> deny_seen;
            for (const auto& d : tf.deny_prefixes) deny_seen.insert(d.digits);
            for (auto& d : prefixes("toll_fraud.deny_prefixes"))
                if (deny_seen.insert(d.digits).second) tf.deny_prefixes.push_back(std::move(d));
            tf.allow_prefixes = prefixes("toll_fraud.allow_prefixes");
            // Callback risk prefixes given inline: the built-ins, the
            // policy's own and the deny list's; the deny and risk files'
            // are added where the engine compiles the list (rules.cpp).
            std::unordered_set<std::string> risk_seen;
            auto& risk = tf.callback.risk_prefixes;
            if (tf.callback.risk_builtin)
                for (const auto& b : builtin_high_risk_prefixes())
                    if (risk_seen.insert(std::string(b.prefix)).second)
                        risk.push_back(DialPrefix{std::string(b.prefix), Origin{"(built-in)", 0, 0}, {}});
            for (auto& d : prefixes("toll_fraud.callback.risk_prefixes"))
                if (risk_seen.insert(d.digits).second) risk.push_back(std::move(d));
            for (const auto& d : tf.deny_prefixes)
                if (risk_seen.insert(d.digits).second) risk.push_back(d);
            for (const auto& f : v_.prefix_files()) tf.prefix_files.push_back(f.meta);
        }
        tf.callback.enabled = boolean("toll_fraud.callback.enabled");
        tf.callback.block = scalar("toll_fraud.callback.action") == "block";
        tf.callback.max_ring = duration("toll_fraud.callback.max_ring");
        tf.callback.short_call = duration("toll_fraud.callback.short_call");
        tf.callback.window = duration("toll_fraud.callback.window");
        tf.unprefixed_is_national = scalar("toll_fraud.unprefixed_numbers") == "national";
        for (const auto& it : v_.items("toll_fraud.emergency_numbers")) tf.emergency_numbers.push_back(text_of(it));
        tf.out_of_hours.timezone = scalar("toll_fraud.out_of_hours.timezone");
        for (const auto& it : v_.items("toll_fraud.out_of_hours.business_hours"))
            if (auto w = parse_weekly_window(text_of(it))) tf.out_of_hours.business_hours.push_back(*w);
        tf.out_of_hours.enabled = !tf.out_of_hours.business_hours.empty();
        tf.out_of_hours.deny_prefixes = prefixes("toll_fraud.out_of_hours.deny_prefixes");
        tf.out_of_hours.per_handset_calls_per_hour = u32("toll_fraud.out_of_hours.calls_per_hour");
        tf.limits.per_handset_concurrent_calls = u32("toll_fraud.limits.per_handset.concurrent_calls");
        tf.limits.per_handset_calls_per_hour = u32("toll_fraud.limits.per_handset.calls_per_hour");
        tf.limits.per_site_concurrent_calls = u32("toll_fraud.limits.per_site.concurrent_calls");
        tf.limits.per_site_calls_per_hour = u32("toll_fraud.limits.per_site.calls_per_hour");
        for (const auto& it : v_.items("toll_fraud.profiles")) {
            const std::string item = "toll_fraud.profiles[]";
            FraudProfile fp;
            fp.name = field(it, "name", item + ".name");
            for (const auto& pv : v_.field_items(it, "prefixes", item + ".prefixes")) {
                const auto t = text_of(pv);
                if (std::none_of(fp.prefixes.begin(), fp.prefixes.end(), [&](const DialPrefix& d) { return d.digits == t; }))
                    fp.prefixes.push_back(DialPrefix{t, origin_of(pv), {}});
            }
            for (const auto& w : v_.field_items(it, "hours", item + ".hours"))
                if (auto ww = parse_weekly_window(text_of(w))) fp.hours.push_back(*ww);
            fp.same_prefix_digits = static_cast<std::uint32_t>(
                parse_integer(field(it, "same_prefix_digits", item + ".same_prefix_digits")).value_or(8));
            fp.same_prefix_gap =
                parse_duration(field(it, "same_prefix_gap", item + ".same_prefix_gap")).value_or(Seconds(600));
            fp.max_call_warning = parse_duration(field(it, "max_call_duration.warning", item + ".max_call_duration.warning"))
                                      .value_or(Seconds(0));
            fp.max_call_critical =
                parse_duration(field(it, "max_call_duration.critical", item + ".max_call_duration.critical"))
                    .value_or(Seconds(0));
            for (const char* scope : {"per_handset", "per_site"}) {
                auto& levels = std::string_view(scope) == "per_handset" ? fp.per_handset : fp.per_site;
                for (std::size_t t = 0; t < kFraudThresholdCount; ++t) {
                    const std::string rel = std::string(scope) + "." + to_string(static_cast<FraudThreshold>(t));
                    auto level = [&](const char* which) {
                        return static_cast<std::uint32_t>(
                            parse_integer(field(it, rel + "." + which, item + "." + rel + "." + which)).value_or(0));
                    };
                    levels[t].warning = level("warning");
                    levels[t].critical = level("critical");
                }
            }
            fp.origin = origin_of(it);
            tf.profiles.push_back(std::move(fp));
        }

        p_.dns.refresh = duration("dns.refresh");
        p_.logging.level = scalar("logging.level");
        p_.logging.facility = scalar("logging.facility");
        p_.logging.aggregate_window = duration("logging.aggregate_window");
        p_.logging.format = scalar("logging.format");
        p_.logging.socket = scalar("logging.socket");
        p_.logging.mask_numbers = boolean("logging.mask_numbers");
        p_.logging.mask_keep_start = u32("logging.mask_keep_start");
        p_.logging.mask_keep_end = u32("logging.mask_keep_end");
        p_.metrics.file = scalar("metrics.file");
        p_.metrics.interval = duration("metrics.interval");
        for (const auto& n : v_.items("alerts.command")) p_.alerts.command.push_back(text_of(n));
        for (const auto& n : v_.items("alerts.events")) p_.alerts.events.push_back(text_of(n));
        if (auto r = parse_rate(scalar("alerts.rate"))) p_.alerts.rate = *r;
        p_.alerts.timeout = duration("alerts.timeout");
        p_.alerts.max_running = u32("alerts.max_running");
        p_.alerts.max_queued = u32("alerts.max_queued");

        for (const auto& k : schema()) {
            if (!k.leaf() && k.type != Type::map_list && k.type != Type::rate_map) continue;
            if (k.path.find('[') != std::string_view::npos || k.path.find('*') != std::string_view::npos) continue;
            bool set = false;
            for (const auto& layer : v_.layers())
                if (const YNode* n = find_in(layer.root.get(), k.path); n && !n->is_null()) set = true;
            if (!set) p_.defaulted.insert(std::string(k.path));
        }
    }

private:
    View& v_;
    Policy& p_;
};

}  // namespace

void build_policy(View& view, Policy& p) { Builder(view, p).build(); }

}  // namespace vg::config::detail
