// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/loader.h"

#include "config/schema.h"
#include "config/yaml_tree.h"
#include "filters/util/text.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace vg::config {

using detail::YNode;
using detail::YNodeP;

// ---- small public helpers ------------------------------------------------------

std::string Origin::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::format() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += ": ";
    if (severity == Severity::warning) s += "warning: ";
    if (!path.empty()) s += path + ": ";
    return s + message;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

const char* to_string(Mode m) { return m == Mode::enforce ? "enforce" : "monitor"; }
const char* to_string(OnFailure f) { return f == OnFailure::open ? "open" : "closed"; }
const char* to_string(Transport t) { return t == Transport::tcp ? "tcp" : "udp"; }

std::vector<net::Cidr> AddressEntry::prefixes() const {
    if (cidr) return {*cidr};
    std::vector<net::Cidr> out;
    for (const auto& a : resolved) out.push_back(net::Cidr{a, a.bit_length()});
    return out;
}

ResolveResult system_resolve(const std::string& host) {
    ResolveResult r;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        r.error = gai_strerror(rc);
        return r;
    }
    for (addrinfo* p = res; p; p = p->ai_next) {
        char buf[NI_MAXHOST];
        if (getnameinfo(p->ai_addr, p->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0) continue;
        if (auto a = net::IpAddress::parse(buf)) {
            if (std::find(r.addresses.begin(), r.addresses.end(), *a) == r.addresses.end()) r.addresses.push_back(*a);
        }
    }
    freeaddrinfo(res);
    if (r.addresses.empty()) r.error = "no addresses";
    return r;
}

namespace {

constexpr auto kError = Diagnostic::Severity::error;
constexpr auto kWarning = Diagnostic::Severity::warning;

// Quoted value for messages, shortened and without control characters.
std::string quote_value(std::string_view v) {
    std::string s = "\"";
    for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
        const char c = v[i];
        s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    if (v.size() > 64) s += "...";
    return s + "\"";
}

std::string join_path(std::string_view base, std::string_view key) {
    if (base.empty()) return std::string(key);
    return std::string(base) + "." + std::string(key);
}

// One parsed file of the policy.
struct Layer {
    std::string file;   // as shown in diagnostics
    std::filesystem::path dir;
    YNodeP root;
    bool is_site = false;
};

// A value found in the layers, or a default (layer == nullptr).
struct Val {
    const YNode* node = nullptr;
    const Layer* layer = nullptr;
    int index = -1;   // position in its own file's list
    bool is_default() const { return layer == nullptr; }
};

// ---- validation --------------------------------------------------------------

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
                std::string msg = "unknown key";
                std::string_view best;
                std::size_t best_d = 1000;
                for (auto c : children) {
                    const auto d = edit_distance(key, c);
                    if (d < best_d) {
                        best_d = d;
                        best = c;
                    }
                }
                if (!best.empty() && best_d <= std::max<std::size_t>(2, key.size() / 3))
                    msg += " (did you mean '" + std::string(best) + "'?)";
                error(*kn, child_path, msg);
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
                bool method = !kn->value.empty() && kn->value.size() <= 32;
                for (char c : kn->value)
                    if (!(c >= 'A' && c <= 'Z')) method = false;
                if (kn->value != "default" && !method) {
                    error(*kn, child_path, "not a SIP method (expected an upper-case method such as INVITE, or 'default')");
                    continue;
                }
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
            std::string msg = quote_value(v) + " is not " + type_name(item);
            std::string_view best;
            std::size_t best_d = 1000;
            for (auto ch : choices) {
                const auto d = edit_distance(v, ch);
                if (d < best_d) {
                    best_d = d;
                    best = ch;
                }
            }
            if (best_d <= std::max<std::size_t>(2, v.size() / 3)) msg += " (did you mean '" + std::string(best) + "'?)";
            return error(n, path, msg);
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
            if (net::Cidr::parse(v, true)) return;
            if (auto loose = net::Cidr::parse(v, false))
                return error(n, path, quote_value(v) + " has host bits set (did you mean " + loose->to_string() + "?)");
            return error(n, path, quote_value(v) + " is not an IP network (expected e.g. 192.0.2.0/24 or 2001:db8::/32)");
        case Type::address:
            if (net::Cidr::parse(v, true)) return;
            if (auto loose = net::Cidr::parse(v, false))
                return error(n, path, quote_value(v) + " has host bits set (did you mean " + loose->to_string() + "?)");
            if (is_valid_host_name(v)) return;
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
            if (!is_valid_number(v)) error(n, path, quote_value(v) + " is not a phone number (1..15 digits, * or #)");
            return;
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

// ---- loading files and includes -------------------------------------------------

class Loader {
public:
    explicit Loader(const LoadOptions& opt) : opt_(opt) {}

    std::vector<Diagnostic> diags;
    std::vector<Layer> layers;   // merge order: includes first, the site file last

    // Reads, parses and validates one file and its includes.
    void load_text(std::string_view text, const std::string& file, const std::filesystem::path& dir, bool is_site,
                   int depth) {
        auto parsed = detail::parse_yaml(text, file, opt_.max_depth);
        diags.insert(diags.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
        if (!parsed.root) return;
        Layer layer{file, dir, parsed.root, is_site};
        Validator(layer, opt_, diags, visited_).run();
        if (const YNode* inc = layer.root->is_map() ? layer.root->get("include") : nullptr;
            inc && inc->is_sequence() && opt_.allow_includes) {
            for (std::size_t i = 0; i < inc->items.size() && i < 16; ++i) {
                const YNode& item = *inc->items[i];
                if (!item.is_scalar() || item.value.empty()) continue;
                include(item, file, dir, "include[" + std::to_string(i) + "]", depth + 1);
            }
        }
        layers.push_back(std::move(layer));
    }

    void load_file(const std::string& path, const std::string& shown, bool is_site, int depth, const YNode* from,
                   const std::string& from_file, const std::string& from_path) {
        auto fail = [&](const std::string& msg) {
            if (from) diags.push_back({kError, from_file, from->line, from->column, from_path, msg});
            else diags.push_back({kError, shown, 0, 0, "", msg});
        };
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return fail("cannot read " + shown + ": " + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) return fail("cannot read " + shown + ": not a regular file");
        if (static_cast<std::uint64_t>(st.st_size) > opt_.max_file_size)
            return fail(shown + " is larger than " + std::to_string(opt_.max_file_size) + " bytes");
        std::ifstream in(path, std::ios::binary);
        if (!in) return fail("cannot read " + shown + ": " + std::strerror(errno));
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.size() > opt_.max_file_size)
            return fail(shown + " is larger than " + std::to_string(opt_.max_file_size) + " bytes");
        if (opt_.check_file_permissions && (st.st_mode & S_IWOTH))
            diags.push_back({kWarning, shown, 0, 0, "",
                             "the policy file is writable by every user: anyone on this system can change the firewall policy"});
        const auto canon = std::filesystem::weakly_canonical(path).string();
        chain_.push_back(canon);
        seen_[canon] = from ? Origin{from_file, from->line, from->column} : Origin{shown, 0, 0};
        load_text(text, shown, std::filesystem::path(path).parent_path(), is_site, depth);
        chain_.pop_back();
    }

    void begin_text(const std::string& name) {
        std::error_code ec;
        const auto canon = std::filesystem::weakly_canonical(name, ec).string();
        chain_.push_back(canon);
        seen_[canon] = Origin{name, 0, 0};
    }

private:
    void include(const YNode& item, const std::string& from_file, const std::filesystem::path& dir,
                 const std::string& path, int depth) {
        if (depth > opt_.max_include_depth) {
            diags.push_back({kError, from_file, item.line, item.column, path,
                             "includes nested deeper than " + std::to_string(opt_.max_include_depth) + " levels"});
            return;
        }
        const std::filesystem::path target = dir / item.value;
        const std::string shown = target.lexically_normal().string();
        std::error_code ec;
        const auto canon = std::filesystem::weakly_canonical(target, ec).string();
        if (std::find(chain_.begin(), chain_.end(), canon) != chain_.end()) {
            diags.push_back({kError, from_file, item.line, item.column, path,
                             "include loop: " + quote_value(item.value) + " includes itself (directly or through other files)"});
            return;
        }
        if (auto it = seen_.find(canon); it != seen_.end()) {
            diags.push_back({kError, from_file, item.line, item.column, path,
                             quote_value(item.value) + " is already included (at " + it->second.to_string() + ")"});
            return;
        }
        load_file(target.string(), shown, false, depth, &item, from_file, path);
    }

    const LoadOptions& opt_;
    std::size_t visited_ = 0;
    std::vector<std::string> chain_;
    std::map<std::string, Origin> seen_;
};

// ---- merged view over the layers ---------------------------------------------------

const YNode* find_in(const YNode* n, std::string_view dotted) {
    while (n && !dotted.empty()) {
        if (!n->is_map()) return nullptr;
        const auto dot = dotted.find('.');
        n = n->get(dotted.substr(0, dot));
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }
    return n;
}

class View {
public:
    explicit View(const std::vector<Layer>& layers) : layers_(layers) {}

    const Layer& site() const { return layers_.back(); }
    const std::vector<Layer>& layers() const { return layers_; }

    // Default value of a key as a node (nullptr if none or descriptive).
    const YNode* default_node(std::string_view pattern) {
        const KeyInfo* k = find_key(pattern);
        if (!k || k->dflt.empty() || (k->flags & kDescriptiveDefault)) return nullptr;
        auto it = defaults_.find(std::string(pattern));
        if (it == defaults_.end()) {
            auto parsed = detail::parse_yaml(k->dflt, "(default)", 8);
            it = defaults_.emplace(std::string(pattern), parsed.root).first;
        }
        return it->second.get();
    }

    // A top-level key (no list in the path): the last file that sets it, else the default.
    Val get(std::string_view pattern) {
        for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
            if (const YNode* n = find_in(it->root.get(), pattern); n && !n->is_null()) return Val{n, &*it};
        return Val{default_node(pattern), nullptr};
    }

    // A key inside one list item.
    Val field(const Val& item, std::string_view rel, std::string_view pattern) {
        if (const YNode* n = find_in(item.node, rel); n && !n->is_null()) return Val{n, item.layer};
        return Val{default_node(pattern), nullptr};
    }

    // The effective items of a list: appended over all files, or from the last
    // file that sets it, or the default.
    std::vector<Val> items(std::string_view pattern) {
        const KeyInfo* k = find_key(pattern);
        std::vector<Val> out;
        if (k && k->append()) {
            bool any = false;
            for (const auto& layer : layers_) {
                const YNode* n = find_in(layer.root.get(), pattern);
                if (!n || !n->is_sequence()) continue;
                any = true;
                for (std::size_t i = 0; i < n->items.size(); ++i)
                    out.push_back(Val{n->items[i].get(), &layer, static_cast<int>(i)});
            }
            if (any) return out;
        } else {
            const Val v = get(pattern);
            if (v.node && v.node->is_sequence() && !v.is_default()) {
                for (std::size_t i = 0; i < v.node->items.size(); ++i)
                    out.push_back(Val{v.node->items[i].get(), v.layer, static_cast<int>(i)});
                return out;
            }
        }
        if (const YNode* d = default_node(pattern); d && d->is_sequence())
            for (std::size_t i = 0; i < d->items.size(); ++i) out.push_back(Val{d->items[i].get(), nullptr, static_cast<int>(i)});
        return out;
    }

    std::vector<Val> field_items(const Val& item, std::string_view rel, std::string_view pattern) {
        std::vector<Val> out;
        const Val v = field(item, rel, pattern);
        if (v.node && v.node->is_sequence())
            for (std::size_t i = 0; i < v.node->items.size(); ++i)
                out.push_back(Val{v.node->items[i].get(), v.layer, static_cast<int>(i)});
        return out;
    }

    // sip.rate_limits: the default map, then each file's keys on top.
    std::vector<std::pair<std::string, Val>> rate_map(std::string_view pattern) {
        std::vector<std::pair<std::string, Val>> out;
        auto put = [&](const std::string& key, const Val& v) {
            for (auto& e : out)
                if (e.first == key) {
                    e.second = v;
                    return;
                }
            out.emplace_back(key, v);
        };
        if (const YNode* d = default_node(pattern); d && d->is_map())
            for (const auto& [k, v] : d->entries) put(k->value, Val{v.get(), nullptr});
        for (const auto& layer : layers_) {
            const YNode* n = find_in(layer.root.get(), pattern);
            if (!n || !n->is_map()) continue;
            for (const auto& [k, v] : n->entries) put(k->value, Val{v.get(), &layer});
        }
        return out;
    }

private:
    const std::vector<Layer>& layers_;
    std::map<std::string, YNodeP> defaults_;
};

Origin origin_of(const Val& v) {
    if (!v.layer || !v.node) return Origin{"(default)", 0, 0};
    return Origin{v.layer->file, v.node->line, v.node->column};
}

std::string text_of(const Val& v) { return v.node && v.node->is_scalar() ? v.node->value : std::string(); }

std::string item_path(std::string_view list, int index) {
    return std::string(list) + "[" + std::to_string(index) + "]";
}

// ---- building the Policy ----------------------------------------------------------

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
            e.path = base + "[" + std::to_string(a.index) + "]";
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
        for (const auto& it : v_.items(pattern)) {
            const auto t = text_of(it);
            if (std::none_of(out.begin(), out.end(), [&](const DialPrefix& d) { return d.digits == t; }))
                out.push_back(DialPrefix{t, origin_of(it)});
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
        if (tf.deny_builtin)
            for (const auto& b : builtin_high_risk_prefixes())
                tf.deny_prefixes.push_back(DialPrefix{std::string(b.prefix), Origin{"(built-in)", 0, 0}});
        for (auto& d : prefixes("toll_fraud.deny_prefixes"))
            if (std::none_of(tf.deny_prefixes.begin(), tf.deny_prefixes.end(),
                             [&](const DialPrefix& x) { return x.digits == d.digits; }))
                tf.deny_prefixes.push_back(std::move(d));
        tf.allow_prefixes = prefixes("toll_fraud.allow_prefixes");
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

        p_.dns.refresh = duration("dns.refresh");
        p_.logging.level = scalar("logging.level");
        p_.logging.facility = scalar("logging.facility");
        p_.logging.aggregate_window = duration("logging.aggregate_window");

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

// ---- checks across keys and files ---------------------------------------------------

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

    // Host names: resolved now; a name that never resolved is an error.
    if (opt.resolve_host_names) {
        const Resolver resolver = opt.resolver ? opt.resolver : Resolver(system_resolve);
        std::map<std::string, ResolveResult> cache;
        auto resolve_all = [&](std::vector<AddressEntry>& entries) {
            for (auto& e : entries) {
                if (!e.is_host()) continue;
                auto it = cache.find(e.host);
                if (it == cache.end()) it = cache.emplace(e.host, resolver(e.host)).first;
                if (!it->second.error.empty() || it->second.addresses.empty()) {
                    out.push_back({kError, e.origin.file, e.origin.line, e.origin.column, e.path,
                                   "host name '" + e.host + "' does not resolve (" +
                                       (it->second.error.empty() ? std::string("no addresses") : it->second.error) +
                                       "); a host name must resolve when the policy is loaded"});
                } else {
                    e.resolved = it->second.addresses;
                }
            }
        };
        for (auto& pbx : p.peers.pbx) {
            resolve_all(pbx.addresses);
            resolve_all(pbx.media.addresses);
        }
        for (auto& s : p.peers.support) resolve_all(s.addresses);
        for (auto& s : p.egress.allow) resolve_all(s.addresses);
        // Drop duplicate errors for a media list copied from the PBX addresses.
        std::set<std::string> seen;
        out.erase(std::remove_if(out.begin(), out.end(),
                                 [&](const Diagnostic& d) { return !seen.insert(d.format()).second; }),
                  out.end());
    }

    // The schedule's time zone: its rules are read now, so the engine never
    // asks the C library (which would mean writing TZ into the environment).
    if (p.toll_fraud.out_of_hours.enabled) {
        std::string error;
        std::string dir = opt.zoneinfo_dir;
        if (dir.empty()) {
            const char* env = std::getenv("TZDIR");
            dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
        }
        if (auto z = load_time_zone(p.toll_fraud.out_of_hours.timezone, dir, error))
            p.toll_fraud.out_of_hours.zone = std::move(*z);
        else
            at(view.get("toll_fraud.out_of_hours.timezone"), "toll_fraud.out_of_hours.timezone", kError,
               "unknown time zone '" + p.toll_fraud.out_of_hours.timezone + "': " + error);
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
           "no egress allow-list: handsets may reach any destination except with SIP (which may reach only the PBX); "
           "set egress.mode: allow_list and list NTP, provisioning and firmware servers in egress.allow");
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
    if (p.toll_fraud.enabled && p.toll_fraud.allow_list && p.toll_fraud.allow_prefixes.empty()) {
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

// ---- effective policy as YAML (check --print) ---------------------------------------

std::string yaml_scalar(const std::string& s, bool force_quote = false) {
    bool plain = !force_quote && !s.empty() && s[0] != '-';
    for (char c : s)
        if (!(text::is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-')) plain = false;
    if (plain) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

class Printer {
public:
    explicit Printer(View& view) : v_(view) {}

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
                    for (std::size_t i = 0; i < vals.size(); ++i)
                        o_ << (i ? ", " : "") << yaml_scalar(text_of(vals[i]), digits);
                    o_ << "]" << (dflt ? "  # default" : "") << "\n";
                } else {
                    const Val sv = scalar_val();
                    o_ << lead << key << ": " << yaml_scalar(text_of(sv), digits) << (sv.is_default() ? "  # default" : "")
                       << "\n";
                }
            }
            }
        }
    }

    View& v_;
    std::ostringstream o_;
};

LoadResult finish(Loader& loader, const LoadOptions& opt) {
    LoadResult r;
    r.diagnostics = std::move(loader.diags);
    if (!has_errors(r.diagnostics) && !loader.layers.empty()) {
        try {
            View view(loader.layers);
            Policy p;
            Builder(view, p).build();
            check_semantics(view, p, opt, r.diagnostics);
            if (!has_errors(r.diagnostics)) {
                if (opt.render_effective) r.effective_yaml = Printer(view).run();
                r.policy = std::move(p);
            }
        } catch (const std::exception& e) {
            r.diagnostics.push_back({kError, loader.layers.back().file, 0, 0, "", std::string("internal error: ") + e.what()});
        }
    }
    // Past this many errors the rest is noise (and a flood on a router's log).
    constexpr std::size_t kMaxErrors = 100;
    std::size_t errors = 0;
    std::vector<Diagnostic> kept;
    for (auto& d : r.diagnostics) {
        if (d.severity == kError && ++errors > kMaxErrors) continue;
        kept.push_back(std::move(d));
    }
    if (errors > kMaxErrors)
        kept.push_back({kError, kept.front().file, 0, 0, "",
                        "too many errors (" + std::to_string(errors) + "); only the first " + std::to_string(kMaxErrors) +
                            " are shown"});
    r.diagnostics = std::move(kept);
    // File order of first appearance, then position.
    std::map<std::string, std::size_t> rank;
    for (const auto& d : r.diagnostics) rank.emplace(d.file, rank.size());
    std::stable_sort(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& a, const Diagnostic& b) {
        return std::make_tuple(rank[a.file], a.line, a.column) < std::make_tuple(rank[b.file], b.line, b.column);
    });
    return r;
}

}  // namespace

LoadResult load_policy_file(const std::string& path, const LoadOptions& options) {
    try {
        Loader loader(options);
        loader.load_file(path, path, true, 0, nullptr, "", "");
        return finish(loader, options);
    } catch (const std::exception& e) {
        LoadResult r;
        r.diagnostics.push_back({kError, path, 0, 0, "", std::string("cannot load: ") + e.what()});
        return r;
    }
}

LoadResult load_policy_text(std::string_view yaml, const std::string& name, const LoadOptions& options) {
    try {
        Loader loader(options);
        if (yaml.size() > options.max_file_size) {
            LoadResult r;
            r.diagnostics.push_back({kError, name, 0, 0, "",
                                     name + " is larger than " + std::to_string(options.max_file_size) + " bytes"});
            return r;
        }
        loader.begin_text(name);
        loader.load_text(yaml, name, std::filesystem::path(name).parent_path(), true, 0);
        return finish(loader, options);
    } catch (const std::exception& e) {
        LoadResult r;
        r.diagnostics.push_back({kError, name, 0, 0, "", std::string("cannot load: ") + e.what()});
        return r;
    }
}

RefreshResult refresh_host_names(Policy& policy, const Resolver& resolver) {
    RefreshResult r;
    std::map<std::string, ResolveResult> cache;
    auto refresh = [&](std::vector<AddressEntry>& entries) {
        for (auto& e : entries) {
            if (!e.is_host()) continue;
            auto it = cache.find(e.host);
            if (it == cache.end()) it = cache.emplace(e.host, resolver(e.host)).first;
            if (!it->second.error.empty() || it->second.addresses.empty()) {
                r.warnings.push_back({kWarning, e.origin.file, e.origin.line, e.origin.column, e.path,
                                      "host name '" + e.host + "' does not resolve (" +
                                          (it->second.error.empty() ? std::string("no addresses") : it->second.error) +
                                          "); keeping the last good addresses"});
                continue;
            }
            auto fresh = it->second.addresses;
            std::sort(fresh.begin(), fresh.end());
            auto old = e.resolved;
            std::sort(old.begin(), old.end());
            if (fresh != old) {
                r.changed = true;
                e.resolved = it->second.addresses;
            }
        }
    };
    for (auto& pbx : policy.peers.pbx) {
        refresh(pbx.addresses);
        refresh(pbx.media.addresses);
    }
    for (auto& s : policy.peers.support) refresh(s.addresses);
    for (auto& s : policy.egress.allow) refresh(s.addresses);
    std::set<std::string> seen;
    r.warnings.erase(std::remove_if(r.warnings.begin(), r.warnings.end(),
                                    [&](const Diagnostic& d) { return !seen.insert(d.format()).second; }),
                     r.warnings.end());
    return r;
}

std::vector<std::string> toll_fraud_enforcement(const Policy& p) {
    std::vector<std::string> out;
    const Policy::TollFraud& tf = p.toll_fraud;
    if (!tf.enabled) {
        out.push_back("off: outbound INVITEs, REFERs and redirects are not checked");
        return out;
    }
    auto join = [](const std::vector<DialPrefix>& v, std::size_t max) {
        std::string s;
        for (std::size_t i = 0; i < v.size() && i < max; ++i) s += (i ? " " : "") + v[i].digits;
        if (v.size() > max) s += " ...";
        return s;
    };
    std::size_t builtin = 0;
    for (const auto& d : tf.deny_prefixes) builtin += d.origin.file == "(built-in)";
    out.push_back("judged: INVITE Request-URI and To, every Refer-To of a REFER, every Contact of a 3xx a handset "
                  "sends; every reading of the dial string (escapes, separators, terminators, feature codes, digits "
                  "only); a dial string is denied if any reading is");
    if (tf.allow_list)
        out.push_back("mode allow_list: only numbers matching " + join(tf.allow_prefixes, 12) +
                      " (and emergency numbers, extensions) may be called; what cannot be classified is denied");
    else
        out.push_back("deny list: " + std::to_string(tf.deny_prefixes.size()) + " prefixes (" + std::to_string(builtin) +
                      " built-in): " + join(tf.deny_prefixes, 12) +
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
                      ": national and international numbers are both normalised to +" + tf.country_code + "...");
    if (tf.out_of_hours.enabled)
        out.push_back("out of hours (" + tf.out_of_hours.timezone + "): also denied " +
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
