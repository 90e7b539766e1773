// SPDX-License-Identifier: GPL-2.0-or-later
// Validation of one policy file against the schema table (config/schema.h):
// unknown keys (with a "did you mean"), keys only the site file may set,
// types, ranges, list lengths and required keys, each reported at its line and
// column. Values are counted against LoadOptions::max_nodes (aliases
// expanded). Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"
#include "filters/util/text.h"

#include <algorithm>

namespace vg::config::detail {

namespace {

// The candidate nearest to `word` by edit distance (ignoring case), when it
// is near enough (2 edits, or a third of the word); "" otherwise.
std::string_view nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::string_view best;
    std::size_t best_d = 1000;
    for (auto c : candidates) {
        const auto d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    if (best.empty() || best_d > std::max<std::size_t>(2, word.size() / 3)) return {};
    return best;
}

// " (did you mean 'X'?)" for the nearest candidate, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
    const auto best = nearest(word, candidates);
    if (best.empty()) return "";
    return " (did you mean '" + std::string(best) + "'?)";
}

// Where else in the schema `key` is valid, for a key unknown under
// `pattern`: " (did you mean 'toll_fraud.out_of_hours'?)", or "". Places
// below the current map come first (the key was indented one level too
// little), then places above it (too much), then the rest; at most three.
std::string valid_elsewhere(std::string_view key, const std::string& pattern) {
    std::vector<std::string_view> places = places_of_key(key);
    if (places.empty()) return "";
    auto rank = [&](std::string_view place) {
        const auto dot = place.rfind('.');
        const std::string_view parent = dot == std::string_view::npos ? std::string_view() : place.substr(0, dot);
        if (pattern.empty() || parent.substr(0, pattern.size() + 1) == pattern + ".") return 0;
        if (std::string_view(pattern).substr(0, parent.size()) == parent) return 1;
        return 2;
    };
    std::stable_sort(places.begin(), places.end(),
                     [&](std::string_view a, std::string_view b) { return rank(a) < rank(b); });
    const std::size_t shown = std::min<std::size_t>(places.size(), 3);
    std::string s = places.size() > shown ? " (did you mean one of " : " (did you mean ";
    for (std::size_t i = 0; i < shown; ++i) {
        if (i > 0) s += i + 1 == shown && places.size() == shown ? " or " : ", ";
        s += "'" + std::string(places[i]) + "'";
    }
    if (places.size() > shown) s += ", ...";
    return s + "? '" + std::string(key) + "' is a key there, not here)";
}

class Validator {
public:
    Validator(const Layer& layer, const LoadOptions& opt, std::vector<Diagnostic>& out, std::size_t& visited)
        : layer_(layer), opt_(opt), out_(out), visited_(visited) {}

    void run() {
        const YNode& root = *layer_.root;
        if (root.is_null()) {
            error(root, "", "the policy is empty (expected a map with version, site, handsets and peers)");
            return;
        }
        if (!root.is_map()) {
            error(root, "", std::string("the policy must be a map of keys, not ") + root.kind_name());
            return;
        }
        check_map(root, "", "");
    }

private:
    void error(const YNode& n, const std::string& path, std::string msg) {
        out_.push_back({kError, layer_.file, n.line, n.column, path, std::move(msg)});
    }

    bool budget(const YNode& n) {
        if (++visited_ <= opt_.max_nodes) return true;
        if (!budget_reported_) {
            budget_reported_ = true;
            error(n, "", "the policy has more than " + std::to_string(opt_.max_nodes) +
                             " values (after alias expansion); refusing to go on");
        }
        return false;
    }

    void check_map(const YNode& n, const std::string& pattern, const std::string& path) {
        if (!n.is_map()) {
            error(n, path, std::string("expected a map, got ") + n.kind_name());
            return;
        }
        const auto children = child_keys(pattern);
        for (const auto& [kn, vn] : n.entries) {
            if (!budget(*vn)) return;
            const std::string& key = kn->value;
            const std::string child_pattern = join_path(pattern, key);
            const std::string child_path = join_path(path, key);
            const KeyInfo* info = find_key(child_pattern);
            if (!info) {
                if (const KeyHint* hint = find_key_hint(child_pattern)) {
                    error(*kn, child_path, "unknown key: " + std::string(hint->hint));
                    continue;
                }
                std::string where = did_you_mean(key, children);
                if (where.empty()) where = valid_elsewhere(key, pattern);
                error(*kn, child_path, "unknown key" + where);
                continue;
            }
            if (info->site_only() && !layer_.is_site) {
                error(*kn, child_path, "may only be set in the site file, not in an included file");
                continue;
            }
            if (info->path == "include" && !opt_.allow_includes) {
                error(*kn, child_path, "includes are not allowed here");
                continue;
            }
            if (vn->is_null()) {
                // `key:` with nothing after it: an empty section is fine, an
                // empty value is not (reported at the key, where it is missing).
                if (info->type != Type::map)
                    error(*kn, child_path, "missing value (expected " + type_name(*info) + ")");
                continue;
            }
            check(*vn, *info, child_pattern, child_path);
        }
        for (const auto& k : schema()) {
            if (!k.required()) continue;
            if (!layer_.is_site && !(k.flags & kPerFile)) continue;
            const auto dot = k.path.rfind('.');
            std::string parent = dot == std::string_view::npos ? "" : std::string(k.path.substr(0, dot));
            if (parent != pattern) continue;
            const auto name = dot == std::string_view::npos ? k.path : k.path.substr(dot + 1);
            if (!n.get(name)) error(n, join_path(path, name), "required key is missing");
        }
    }

    void check_count(const YNode& n, const KeyInfo& k, const std::string& path) {
        const auto count = n.items.size();
        if (count < k.min_items) {
            if (k.path == "peers.pbx") error(n, path, "at least one PBX is required");
            else error(n, path, "must not be empty");
        } else if (k.max_items != 0 && count > k.max_items) {
            error(n, path, "has " + std::to_string(count) + " entries, at most " + std::to_string(k.max_items) +
                               " are allowed");
        }
    }

    void check(const YNode& n, const KeyInfo& k, const std::string& pattern, const std::string& path) {
        switch (k.type) {
        case Type::map:
            check_map(n, pattern, path);
            return;
        case Type::map_list:
            if (!n.is_sequence()) {
                error(n, path, std::string("expected a list of maps, got ") + n.kind_name());
                return;
            }
            check_count(n, k, path);
            for (std::size_t i = 0; i < n.items.size(); ++i) {
                if (!budget(*n.items[i])) return;
                check_map(*n.items[i], pattern + "[]", path + "[" + std::to_string(i) + "]");
            }
            return;
        case Type::rate_map: {
            if (!n.is_map()) {
                error(n, path, std::string("expected a map of SIP methods to rates, got ") + n.kind_name());
                return;
            }
            if (k.max_items != 0 && n.entries.size() > k.max_items)
                error(n, path, "has " + std::to_string(n.entries.size()) + " entries, at most " +
                                   std::to_string(k.max_items) + " are allowed");
            const KeyInfo* item = find_key(pattern + ".*");
            for (const auto& [kn, vn] : n.entries) {
                if (!budget(*vn)) return;
                const std::string child_path = join_path(path, kn->value);
                if (!check_method(*kn, child_path)) continue;
                check_scalar(*vn, *item, child_path);
            }
            return;
        }
        default:
            break;
        }
        if (k.list) {
            if (!n.is_sequence()) {
                error(n, path, "expected a list of " + type_name(KeyInfo{k.path, k.type, false, "", 0, 0, k.choices,
                                                                           0, 0, 0, ""}) +
                                   ", got " + n.kind_name());
                return;
            }
            check_count(n, k, path);
            for (std::size_t i = 0; i < n.items.size(); ++i) {
                if (!budget(*n.items[i])) return;
                check_scalar(*n.items[i], k, path + "[" + std::to_string(i) + "]");
            }
            return;
        }
        check_scalar(n, k, path);
    }

    // A key of sip.rate_limits: a method voipguard knows, `default`, or an
    // extension method (upper-case letters; the engine limits requests whose
    // method is exactly that). A near miss of a known method is an error: it
    // would limit a method nobody sends and leave the one meant at its default.
    bool check_method(const YNode& kn, const std::string& path) {
        const std::string& m = kn.value;
        const auto& known = known_sip_methods();
        if (m == "default" || std::find(known.begin(), known.end(), m) != known.end()) return true;
        std::vector<std::string_view> candidates(known.begin(), known.end());
        candidates.push_back("default");
        bool upper = !m.empty() && m.size() <= 32;
        for (char c : m)
            if (!(c >= 'A' && c <= 'Z')) upper = false;
        const std::string_view near = nearest(m, candidates);
        if (!upper) {
            error(kn, path,
                  near.empty() ? "not a SIP method (expected an upper-case method such as INVITE, or 'default')"
                               : "not a SIP method (did you mean '" + std::string(near) +
                                     "'? method names are case-sensitive)");
            return false;
        }
        if (!near.empty()) {
            error(kn, path, "unknown SIP method (did you mean '" + std::string(near) + "'?): this rate would limit a "
                            "method nobody sends, and " + std::string(near) + " would keep its default");
            return false;
        }
        out_.push_back({kWarning, layer_.file, kn.line, kn.column, path,
                        "not a SIP method voipguard knows (INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, PRACK, SUBSCRIBE, "
                        "NOTIFY, PUBLISH, INFO, REFER, MESSAGE, UPDATE): the rate applies only to requests whose method "
                        "is exactly " + m + " (an extension method)"});
        return true;
    }

    // A network written with host bits ("10.0.0.1/8"): reported with the
    // network meant; true when it was one.
    bool host_bits_set(const YNode& n, const std::string& path) {
        const auto loose = net::Cidr::parse(n.value, false);
        if (!loose) return false;
        error(n, path, quote_value(n.value) + " has host bits set (did you mean " + loose->to_string() + "?)");
        return true;
    }

    // An IPv4-mapped IPv6 address or prefix ("::ffff:203.0.113.10"): IPv4
    // packets carry their addresses as IPv4, so it would never match one.
    // Reported with the IPv4 form meant; true when it was one.
    bool v4_mapped(const YNode& n, const std::string& path) {
        const auto c = net::Cidr::parse(n.value, false);
        if (!c || c->prefix < 96 || !c->network.is_v4_mapped()) return false;
        const net::IpAddress v4 = c->network.mapped_v4();
        const bool host = c->prefix == 128 && n.value.find('/') == std::string::npos;
        error(n, path, quote_value(n.value) + " is an IPv4-mapped IPv6 " + (host ? "address" : "prefix") +
                           ", which never matches an IPv4 packet; write the IPv4 form " +
                           (host ? v4.to_string() : net::Cidr{v4, c->prefix - 96}.to_string()));
        return true;
    }

    // A host name that the C library reads as an IPv4 address in a legacy
    // numeric form (getaddrinfo does, before it asks DNS): reported with the
    // address it stands for; true when it was one.
    bool legacy_ipv4(const YNode& n, const std::string& path) {
        const auto a = legacy_ipv4_address(n.value);
        if (!a) return false;
        error(n, path, quote_value(n.value) + " is read by the C library as the IPv4 address " + a->to_string() +
                           " (a legacy numeric form: hexadecimal, octal with a leading 0, or fewer than four parts); "
                           "write the address in dotted decimal without leading zeros");
        return true;
    }

    void check_range(const YNode& n, const KeyInfo& k, const std::string& path, std::int64_t v) {
        if ((k.min != 0 || k.max != 0) && (v < k.min || v > k.max))
            error(n, path, quote_value(n.value) + " is out of range (" + range_text(k) + ")");
    }

    void check_scalar(const YNode& n, const KeyInfo& k, const std::string& path) {
        KeyInfo item = k;
        item.list = false;
        if (n.is_null()) {
            error(n, path, "missing value (expected " + type_name(item) + ")");
            return;
        }
        if (!n.is_scalar()) {
            error(n, path, "expected " + type_name(item) + ", got " + n.kind_name());
            return;
        }
        const std::string& v = n.value;
        switch (k.type) {
        case Type::integer: {
            const auto i = parse_integer(v);
            if (!i) return error(n, path, quote_value(v) + " is not an integer");
            if (k.path == "version") {
                if (*i != 1)
                    error(n, path, "unsupported policy version " + std::to_string(*i) + " (this voipguard reads version 1)");
                return;
            }
            return check_range(n, k, path, *i);
        }
        case Type::boolean:
            if (!parse_boolean(v)) error(n, path, quote_value(v) + " is not a boolean (expected true or false)");
            return;
        case Type::string:
            return;
        case Type::name:
            if (!is_valid_name(v))
                error(n, path, quote_value(v) + " is not a valid name (letters, digits, '.', '_' and '-', starting with a "
                                           "letter or digit, at most 63 characters)");
            return;
        case Type::enumeration: {
            std::vector<std::string_view> choices;
            std::string_view c = k.choices;
            while (!c.empty()) {
                const auto bar = c.find('|');
                choices.push_back(c.substr(0, bar));
                if (bar == std::string_view::npos) break;
                c.remove_prefix(bar + 1);
            }
            if (std::find(choices.begin(), choices.end(), v) != choices.end()) return;
            return error(n, path, quote_value(v) + " is not " + type_name(item) + did_you_mean(v, choices));
        }
        case Type::duration: {
            const auto d = parse_duration(v);
            if (!d)
                return error(n, path, quote_value(v) + " is not a duration (expected a whole number with s, m, h or d, e.g. 30s)");
            return check_range(n, k, path, d->count());
        }
        case Type::rate: {
            const auto r = parse_rate(v);
            if (!r)
                return error(n, path, quote_value(v) + " is not a rate (expected N/s, N/min or N/h, optionally followed by "
                                                  "\"burst M\", e.g. 10/s burst 20)");
            if (r->count < k.min || r->count > k.max || r->burst < k.min || r->burst > k.max)
                return error(n, path, quote_value(v) + " is out of range (" + range_text(k) + " for N and M)");
            return;
        }
        case Type::port: {
            std::uint16_t p = 0;
            if (!text::parse_uint_as<std::uint16_t>(v, 65535, p) || p == 0)
                error(n, path, quote_value(v) + " is not a port (expected 1..65535)");
            return;
        }
        case Type::port_range:
            if (!parse_port_range(v))
                error(n, path, quote_value(v) + " is not a port range (expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535)");
            return;
        case Type::service_port:
            if (!parse_service_port(v))
                error(n, path, quote_value(v) + " is not a service port (expected tcp/PORT or udp/PORT, e.g. tcp/443)");
            return;
        case Type::cidr:
            if (v4_mapped(n, path) || net::Cidr::parse(v, true) || host_bits_set(n, path) || legacy_ipv4(n, path))
                return;
            return error(n, path, quote_value(v) + " is not an IP network (expected e.g. 192.0.2.0/24 or 2001:db8::/32)");
        case Type::address:
            if (v4_mapped(n, path) || net::Cidr::parse(v, true) || host_bits_set(n, path) || is_valid_host_name(v) ||
                legacy_ipv4(n, path))
                return;
            return error(n, path, quote_value(v) + " is not an IP address, network or host name");
        case Type::prefix:
            if (!is_valid_prefix(v))
                error(n, path, quote_value(v) + " is not a dialling prefix (expected digits with an optional leading +, e.g. +881)");
            return;
        case Type::digits:
            if (!is_valid_digits(v, static_cast<std::size_t>(k.max)) || v.size() < static_cast<std::size_t>(k.min))
                error(n, path, quote_value(v) + " is not " + range_text(k));
            return;
        case Type::number:
            if (is_valid_number(v)) return;
            if (v.find_first_of("*#") != std::string::npos)
                return error(n, path, quote_value(v) + " is a feature code, not an emergency number: emergency and "
                                      "service numbers are plain digits ('*' and '#' make a feature code, which can "
                                      "carry a destination, so it is never exempt)");
            return error(n, path, quote_value(v) + " is not an emergency number (1..15 digits)");
        case Type::timezone:
            if (!is_valid_timezone(v))
                error(n, path, quote_value(v) + " is not a time zone (expected an IANA name such as Europe/London or "
                               "UTC, or a POSIX TZ rule such as GMT0BST,M3.5.0/1,M10.5.0)");
            return;
        case Type::weekly_window:
            if (!parse_weekly_window(v))
                error(n, path, quote_value(v) + " is not a weekly window (expected DAYS HH:MM-HH:MM, e.g. mon-fri 08:00-18:00)");
            return;
        case Type::version_text:
            if (!parse_version_text(v))
                error(n, path, quote_value(v) + " is not a version (expected numbers separated by dots, e.g. 4.3.1)");
            return;
        case Type::password_text: {
            bool ok = !v.empty() && v.size() <= 64;
            for (char c : v)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ok = false;
            if (!ok) error(n, path, "a password must be 1..64 printable characters");
            return;
        }
        case Type::text_pattern: {
            bool ok = !v.empty() && v.size() <= 128;
            for (char c : v)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ok = false;
            if (!ok) error(n, path, "a pattern must be 1..128 printable characters");
            return;
        }
        case Type::file:
            if (v.empty() || v.size() > 255 || v.find('\0') != std::string::npos)
                error(n, path, quote_value(v) + " is not a file name");
            return;
        case Type::interface_name: {
            // IFNAMSIZ - 1; the characters Linux and OpenWrt use ("eth0.20", "wg@x").
            bool ok = !v.empty() && v.size() <= 15;
            for (char c : v)
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-' || c == '@'))
                    ok = false;
            if (!ok)
                error(n, path, quote_value(v) + " is not an interface name (1..15 letters, digits, '.', '_', '-', '@')");
            return;
        }
        case Type::aor:
            if (!parse_aor(v))
                error(n, path, quote_value(v) + " is not an AOR (expected user@domain or an extension, e.g. "
                                                "201@pbx.example.net or 201)");
            return;
        case Type::ip_address:
            if (v.find('/') == std::string::npos && v4_mapped(n, path)) return;
            if (!net::IpAddress::parse(v) && !legacy_ipv4(n, path))
                error(n, path, quote_value(v) + " is not an IP address (expected one address, e.g. 192.168.20.10)");
            return;
        case Type::map:
        case Type::map_list:
        case Type::rate_map:
            return;
        }
    }

    const Layer& layer_;
    const LoadOptions& opt_;
    std::vector<Diagnostic>& out_;
    std::size_t& visited_;
    bool budget_reported_ = false;
};

}  // namespace

void validate_layer(const Layer& layer, const LoadOptions& opt, std::vector<Diagnostic>& out, std::size_t& visited) {
    Validator(layer, opt, out, visited).run();
}

}  // namespace vg::config::detail
