// SPDX-License-Identifier: GPL-2.0-or-later
// What a loaded policy says, in words: the effective policy as YAML for
// `voipguard check --print` (every key of the schema in order, its value from
// the merged files or its default, defaults and included files marked), the
// one-line summary of `check` and the daemon's start, and what the toll-fraud
// guard enforces with it. Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"
#include "filters/util/text.h"

#include <sstream>

namespace vg::config {

namespace detail {

namespace {

std::string yaml_scalar(const std::string& s, bool force_quote = false) {
    bool plain = !force_quote && !s.empty() && s[0] != '-';
    for (char c : s)
        if (!(text::is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-')) plain = false;
    if (plain) return s;
    // Control characters escaped (YAML 1.2 §5.7), so a value prints on its
    // own line and reads back as it was.
    std::string q = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            q += '\\';
            q += c;
        } else if (c == '\n') {
            q += "\\n";
        } else if (c == '\t') {
            q += "\\t";
        } else if (c == '\r') {
            q += "\\r";
        } else if (u < 0x20 || u == 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            q += "\\x";
            q += kHex[u >> 4];
            q += kHex[u & 0xf];
        } else {
            q += c;
        }
    }
    return q + "\"";
}

class Printer {
public:
    Printer(View& view, const Policy& p) : v_(view), p_(p) {}

    std::string run() {
        o_ << "# effective policy of " << v_.site().file;
        if (v_.layers().size() > 1) {
            o_ << " (merged with";
            for (std::size_t i = 0; i + 1 < v_.layers().size(); ++i) o_ << " " << v_.layers()[i].file;
            o_ << ")";
        }
        o_ << "\n";
        section("", 0, nullptr);
        return o_.str();
    }

private:
    static std::string pad(int n) { return std::string(static_cast<std::size_t>(n), ' '); }

    // What a key's value means beyond itself, for its comment: the prefixes
    // as they are matched, the built-in list, where the time zone came from.
    std::string note(std::string_view kp, const std::vector<Val>& vals) const {
        const Policy::TollFraud& tf = p_.toll_fraud;
        if (kp == "toll_fraud.deny_prefixes" || kp == "toll_fraud.allow_prefixes" ||
            kp == "toll_fraud.out_of_hours.deny_prefixes" || kp == "toll_fraud.callback.risk_prefixes") {
            std::string matched;
            bool differs = false;
            for (const auto& v : vals) {
                const std::string as = normalised_prefix(text_of(v), tf.country_code, tf.national_prefix,
                                                         tf.international_prefix);
                differs = differs || as != text_of(v);
                matched += (matched.empty() ? "" : " ") + as;
            }
            return differs ? "matched as " + matched : "";
        }
        if (kp == "toll_fraud.deny_prefix_files" || kp == "toll_fraud.allow_prefix_files" ||
            kp == "toll_fraud.callback.risk_prefix_files") {
            // How many entries each file gave, read from where.
            const bool deny = kp == "toll_fraud.deny_prefix_files";
            const bool risk = kp == "toll_fraud.callback.risk_prefix_files";
            std::string s;
            for (const auto& f : tf.prefix_files) {
                if (f.deny != deny || f.risk != risk) continue;
                s += (s.empty() ? "" : "; ") + f.file + ": " + std::to_string(f.entries) +
                     (f.entries == 1 ? " prefix" : " prefixes") +
                     (f.labelled ? " (" + std::to_string(f.labelled) + " labelled)" : "") + ", named at " +
                     f.named_at.to_string();
            }
            return s;
        }
        if (kp == "toll_fraud.deny_builtin" && tf.deny_builtin) {
            std::string b;
            for (const auto& x : builtin_high_risk_prefixes()) b += " " + std::string(x.prefix);
            if (!tf.nanp_international.empty()) b += "; NANP billed internationally:";
            for (const auto& x : tf.nanp_international) b += " " + x.digits;
            return "built in:" + b;
        }
        if (kp == "toll_fraud.out_of_hours.timezone" && tf.out_of_hours.enabled) {
            // Read from a zone file here: the router needs the same file,
            // or the rule the file ends with.
            const auto& oh = tf.out_of_hours;
            if (oh.zone_source.find(" (from ") != std::string::npos && !oh.zone.posix_rule().empty())
                return oh.zone_source + "; without that file: POSIX rule " + oh.zone.posix_rule();
            return oh.zone_source;
        }
        return "";
    }

    static std::string comment(bool dflt, const std::string& note) {
        if (!dflt && note.empty()) return "";
        if (!dflt) return "  # " + note;
        return note.empty() ? "  # default" : "  # default; " + note;
    }

    // Prints the keys of a map pattern. `item` is set inside a list item.
    void section(const std::string& pattern, int indent, const Val* item, std::string first_prefix = "") {
        for (auto key : child_keys(pattern)) {
            const std::string kp = join_path(pattern, key);
            const KeyInfo* k = find_key(kp);
            if (!k || k->path == "include") continue;
            std::string lead = pad(indent);
            if (!first_prefix.empty()) {
                lead = first_prefix;
                first_prefix.clear();
            }
            // Path relative to the list item for lookups inside items.
            std::string rel;
            if (item) {
                const auto cut = kp.find("[].");
                rel = kp.substr(cut + 3);
            }
            auto scalar_val = [&]() { return item ? v_.field(*item, rel, kp) : v_.get(kp); };
            auto list_vals = [&]() { return item ? v_.field_items(*item, rel, kp) : v_.items(kp); };
            switch (k->type) {
            case Type::map:
                o_ << lead << key << ":\n";
                section(kp, indent + 2, item);
                break;
            case Type::map_list: {
                const auto items = list_vals();
                if (items.empty()) {
                    o_ << lead << key << ": []" << (v_.get(kp).is_default() ? "  # default" : "") << "\n";
                    break;
                }
                o_ << lead << key << ":\n";
                for (const auto& it : items) {
                    if (it.layer && it.layer != &v_.site()) o_ << pad(indent + 2) << "# from " << it.layer->file << "\n";
                    section(kp + "[]", indent + 4, &it, pad(indent + 2) + "- ");
                }
                break;
            }
            case Type::rate_map: {
                o_ << lead << key << ":\n";
                for (const auto& [m, val] : v_.rate_map(kp))
                    o_ << pad(indent + 2) << m << ": " << yaml_scalar(text_of(val))
                       << (val.is_default() ? "  # default" : "") << "\n";
                break;
            }
            default: {
                if (k->flags & kDescriptiveDefault) {
                    const Val sv = scalar_val();
                    if (!sv.node) {
                        o_ << lead << "# " << key << ": (default: " << k->dflt << ")\n";
                        break;
                    }
                }
                const bool digits = k->type == Type::digits || k->type == Type::prefix || k->type == Type::number;
                if (k->list) {
                    const auto vals = list_vals();
                    const bool dflt = vals.empty() ? true : vals.front().is_default();
                    o_ << lead << key << ": [";
                    if (kp == "toll_fraud.deny_prefix_files" || kp == "toll_fraud.allow_prefix_files" ||
                        kp == "toll_fraud.callback.risk_prefix_files") {
                        // As resolved (relative to the file that named each),
                        // so that the printed policy reads the same files.
                        bool first = true;
                        for (const auto& f : p_.toll_fraud.prefix_files)
                            if (f.deny == (kp == "toll_fraud.deny_prefix_files") &&
                                f.risk == (kp == "toll_fraud.callback.risk_prefix_files")) {
                                o_ << (first ? "" : ", ") << yaml_scalar(f.file, false);
                                first = false;
                            }
                    } else
                        for (std::size_t i = 0; i < vals.size(); ++i)
                            o_ << (i ? ", " : "") << yaml_scalar(text_of(vals[i]), digits);
                    o_ << "]" << comment(dflt, note(kp, vals)) << "\n";
                } else {
                    const Val sv = scalar_val();
                    o_ << lead << key << ": " << yaml_scalar(text_of(sv), digits)
                       << comment(sv.is_default(), note(kp, {sv})) << "\n";
                }
            }
            }
        }
    }

    View& v_;
    const Policy& p_;
    std::ostringstream o_;
};

}  // namespace

std::string effective_yaml(View& view, const Policy& p) { return Printer(view, p).run(); }

}  // namespace detail

std::vector<std::string> toll_fraud_enforcement(const Policy& p) {
    std::vector<std::string> out;
    const Policy::TollFraud& tf = p.toll_fraud;
    if (!tf.enabled) {
        out.push_back("off: outbound INVITEs, REFERs and redirects are not checked");
        return out;
    }
    // As matched, with what was written when it differs: "+449 (09)".
    auto join = [&tf](const std::vector<DialPrefix>& v, std::size_t max) {
        std::string s;
        for (std::size_t i = 0; i < v.size() && i < max; ++i) {
            const std::string as =
                normalised_prefix(v[i].digits, tf.country_code, tf.national_prefix, tf.international_prefix);
            s += (i ? " " : "") + as + (as == v[i].digits ? "" : " (" + v[i].digits + ")");
        }
        if (v.size() > max) s += " ...";
        return s;
    };
    std::size_t builtin = 0;
    for (const auto& d : tf.deny_prefixes) builtin += d.origin.file == "(built-in)";
    std::string from_files;
    for (const auto& f : tf.prefix_files)
        if (f.deny == !tf.allow_list && !f.risk)
            from_files += ", " + std::to_string(f.entries) + " from " + f.file;
    out.push_back("judged: INVITE Request-URI and To, every Refer-To of a REFER, every Contact of a 3xx a handset "
                  "sends; every reading of the dial string (escapes, separators, terminators, feature codes, digits "
                  "only); a dial string is denied if any reading is");
    if (tf.allow_list)
        out.push_back("mode allow_list: only numbers matching " + join(tf.allow_prefixes, 12) +
                      (from_files.empty() ? "" : " (" + from_files.substr(2) + ")") +
                      " (and emergency numbers, extensions) may be called; what cannot be classified is denied");
    else
        out.push_back("deny list: " + std::to_string(tf.distinct_prefixes(true)) + " prefixes (" + std::to_string(builtin) +
                      " built-in" + from_files + "): " + join(tf.deny_prefixes, 12) +
                      (tf.allow_prefixes.empty() ? "" : "; exceptions: " + join(tf.allow_prefixes, 12)));
    if (tf.country_code.empty())
        out.push_back("no country_code: numbers in international form (+, or the international prefix " +
                      tf.international_prefix +
                      ") are matched; national numbers are not normalised (national-form prefixes match them only "
                      "as dialled, + prefixes never): set toll_fraud.country_code to enforce them");
    else
        out.push_back("dial plan: country code " + tf.country_code + ", national prefix " +
                      (tf.national_prefix.empty() ? std::string("(none)") : tf.national_prefix) +
                      ", international prefix " + tf.international_prefix +
                      ": national and international numbers are both normalised to +" + tf.country_code + "..." +
                      (tf.unprefixed_is_national ? "; so are numbers dialled without a prefix (unprefixed_numbers: national)"
                                                 : ""));
    if (tf.callback.enabled) {
        std::size_t risk_files = 0;
        for (const auto& f : tf.prefix_files) risk_files += f.risk ? f.entries : 0;
        out.push_back("callbacks: a call from one of " + std::to_string(tf.callback.risk_prefixes.size()) +
                      " risk prefixes (" + (tf.callback.risk_builtin ? "built-ins, " : "") + "the deny list" +
                      (risk_files ? ", " + std::to_string(risk_files) + " from files" : "") + "): " +
                      join(tf.callback.risk_prefixes, 12) + " that rings at most " +
                      format_duration(tf.callback.max_ring) + " unanswered" +
                      (tf.callback.short_call.count() ? " or is answered for at most " + format_duration(tf.callback.short_call)
                                                      : std::string()) +
                      " marks its caller for " + format_duration(tf.callback.window) + "; calling it back is " +
                      (tf.callback.block ? "blocked" : "reported"));
    }
    if (tf.out_of_hours.enabled)
        out.push_back("out of hours, in " + tf.out_of_hours.zone_source + ": also denied " +
                      join(tf.out_of_hours.deny_prefixes, 12) +
                      (tf.out_of_hours.per_handset_calls_per_hour
                           ? ", " + std::to_string(tf.out_of_hours.per_handset_calls_per_hour) + " calls/hour per handset"
                           : std::string()));
    const auto& l = tf.limits;
    auto lim = [](std::uint32_t v, const char* what) {
        return v == 0 ? std::string("no ") + what + " limit" : std::to_string(v) + " " + what;
    };
    out.push_back("limits (always, with or without a dial plan): per handset (its address and its digest user) " +
                  lim(l.per_handset_concurrent_calls, "concurrent") + ", " +
                  lim(l.per_handset_calls_per_hour, "calls/hour") + "; per site " +
                  lim(l.per_site_concurrent_calls, "concurrent") + ", " + lim(l.per_site_calls_per_hour, "calls/hour") +
                  "; only outbound calls count, transfers and redirects count per hour");
    std::string em;
    for (const auto& e : tf.emergency_numbers) em += (em.empty() ? "" : " ") + e;
    out.push_back("never blocked or limited: " + em);
    return out;
}

std::string egress_line(const Policy& p) {
    if (!p.egress.allow_list)
        return "egress: open, handsets may reach any destination (SIP only the PBX); return traffic for every flow "
               "they open";
    const std::size_t count = p.egress.allow.size();
    std::string s = "egress: allow-list, " + std::to_string(count) + (count == 1 ? " destination" : " destinations");
    std::string list;
    for (const ServicePeer& e : p.egress.allow) {
        std::string item = e.name;
        std::string ports;
        for (const ServicePort& sp : e.ports) {
            ports += ports.empty() ? "" : ",";
            ports += (sp.transport == Transport::udp ? "udp/" : "tcp/") + std::to_string(sp.ports.first);
            if (sp.ports.last != sp.ports.first) ports += "-" + std::to_string(sp.ports.last);
        }
        if (!ports.empty()) item += " " + ports;
        std::string addrs;
        for (const AddressEntry& a : e.addresses) addrs += (addrs.empty() ? "" : ",") + a.text;
        if (!addrs.empty()) item += " " + addrs;
        list += (list.empty() ? "" : ", ") + item;
    }
    if (!list.empty()) s += " (" + list + ")";
    s += count == 0 ? "; handsets reach only the PBX and the support peers, no return traffic for anything else"
                    : "; return traffic only for those";
    return s;
}

std::string summary_line(const Policy& p) {
    std::size_t hosts = 0;
    auto count_hosts = [&](const std::vector<AddressEntry>& a) {
        for (const auto& e : a) hosts += e.is_host() ? 1 : 0;
    };
    for (const auto& x : p.peers.pbx) count_hosts(x.addresses);
    for (const auto& x : p.peers.support) count_hosts(x.addresses);
    for (const auto& x : p.egress.allow) count_hosts(x.addresses);
    auto n = [](std::size_t count, const char* one, const char* many) {
        return std::to_string(count) + " " + (count == 1 ? one : many);
    };
    std::string s = "site " + p.site + ": mode " + to_string(p.mode) + ", on_failure " + to_string(p.on_failure) + ", " +
                    n(p.handsets.networks.size(), "handset network", "handset networks") + ", " +
                    n(p.peers.pbx.size(), "PBX peer", "PBX peers") + ", " +
                    n(p.peers.support.size(), "support peer", "support peers") + ", egress " +
                    (p.egress.allow_list ? "allow-list (" + n(p.egress.allow.size(), "entry", "entries") + ")"
                                         : std::string("open")) +
                    ", ";
    const Policy::TollFraud& tf = p.toll_fraud;
    if (tf.enabled)
        s += "toll fraud on (" +
             (tf.allow_list ? "allow list of " + n(tf.allow_prefixes.size(), "prefix", "prefixes")
                            : n(tf.deny_prefixes.size(), "deny prefix", "deny prefixes") + ", " +
                                  n(tf.allow_prefixes.size(), "allow prefix", "allow prefixes")) +
             (tf.country_code.empty() ? ", no country_code: international form only"
                                      : ", country code " + tf.country_code) +
             (tf.out_of_hours.enabled ? ", out-of-hours rules" : "") + ")";
    else
        s += "toll fraud off";
    s += ", " + n(hosts, "host name", "host names");
    if (p.files.size() > 1) s += ", " + n(p.files.size(), "file", "files");
    return s;
}

}  // namespace vg::config
