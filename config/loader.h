// SPDX-License-Identifier: GPL-2.0-or-later
// Loading a policy: YAML text -> validated Policy, or every problem found.
//
// The loader never throws and never returns half a policy: LoadResult holds a
// complete Policy when there is no error, and no Policy otherwise. Warnings
// (risky but legal settings) come with a Policy.
//
// Includes (see config/REFERENCE.md, "Includes"): `include: [a.yaml]` names
// files relative to the including file. Included files come first in the order
// listed, then the including file; single values: the last file wins (the site
// file overrides its includes); lists marked "append" (peers, prefixes,
// patterns, firmware minimums) are concatenated; `sip.rate_limits` merges per
// method; `site`, `handsets.networks` and `handsets.stale_after` may only be set
// in the site file; a peer name used twice is an error citing both places;
// include loops, files included twice and includes deeper than 8 levels are
// errors.
//
// The implementation is in parts, one file a concern: includes.cpp (files and
// includes), validator.cpp (the schema), merged_view.cpp (how files merge),
// builder.cpp (the Policy), semantics.cpp (checks across keys, warnings),
// resolver.cpp (host names), printer.cpp (`check --print`, summary lines),
// loader.cpp (the pipeline). config/loader_internal.h, internal to config/,
// is how they see each other.
#pragma once

#include "config/diagnostics.h"
#include "config/policy.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg::config {

struct ResolveResult {
    std::vector<net::IpAddress> addresses;
    std::string error;   // set when the lookup failed
};

// Resolves a host name to its addresses (IPv4 and IPv6).
using Resolver = std::function<ResolveResult(const std::string& host)>;

// getaddrinfo(3)-based resolver.
ResolveResult system_resolve(const std::string& host);

struct LoadOptions {
    // Used for host names in `addresses`; empty = system_resolve.
    Resolver resolver;
    // false: host names are checked for syntax only and left unresolved (for
    // `voipguard check --no-resolve` on a machine without the site's DNS).
    bool resolve_host_names = true;
    // false: an `include` key is an error (fuzzing, policies from untrusted input).
    bool allow_includes = true;
    // Warn when a policy file is writable by everyone.
    bool check_file_permissions = true;
    // Render the effective policy (LoadResult::effective_yaml) for `check --print`.
    bool render_effective = false;
    // Where IANA time zone files are read (toll_fraud.out_of_hours.timezone);
    // empty: $TZDIR when set (as for the C library), else /usr/share/zoneinfo.
    std::string zoneinfo_dir;

    // Limits against abuse.
    std::size_t max_file_size = 1024 * 1024;
    int max_depth = 32;                // nesting of maps/lists
    std::size_t max_nodes = 100000;    // values visited, aliases expanded
    int max_include_depth = 8;
};

struct LoadResult {
    std::optional<Policy> policy;
    std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
    std::string effective_yaml;            // with LoadOptions::render_effective

    bool ok() const { return policy.has_value(); }
};

LoadResult load_policy_file(const std::string& path, const LoadOptions& options = {});
// `name` is used in diagnostics and as the base for relative includes.
LoadResult load_policy_text(std::string_view yaml, const std::string& name, const LoadOptions& options = {});

// For the daemon, every `dns.refresh`: resolves every host name of the policy
// again. A failed lookup keeps the last good addresses and yields a warning
// naming where the host name is written. Returns true when any address set
// changed (the daemon then updates its kernel sets).
struct RefreshResult {
    bool changed = false;
    std::vector<Diagnostic> warnings;
};
RefreshResult refresh_host_names(Policy& policy, const Resolver& resolver);

// What the toll-fraud guard enforces with this policy, one statement per
// line (`check --print`): what is judged, the lists, what needs a dial plan,
// the limits.
std::vector<std::string> toll_fraud_enforcement(const Policy& p);
// One line: "site acme-london: mode enforce, on_failure open, 1 handset network, ...".
std::string summary_line(const Policy& policy);
// What handsets may reach besides the PBX and the support peers, in one line
// (`check`): "egress: allow-list, 2 destinations (dns udp/53 192.0.2.53, ...);
// return traffic only for those".
std::string egress_line(const Policy& policy);

}  // namespace vg::config
