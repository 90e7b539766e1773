// SPDX-License-Identifier: GPL-2.0-or-later
// Host names in a policy's addresses: system_resolve (getaddrinfo(3)); at
// load every name must resolve (an error otherwise); the daemon's refresh
// every dns.refresh keeps the last good addresses of a name that fails (a
// warning) and says whether any address set changed. A name is looked up once
// per load or refresh however often it is written. Part of the loader (see
// config/loader_internal.h).
#include "config/loader_internal.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>

namespace vg::config {

using detail::kError;
using detail::kWarning;

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

// Looks up every host-name entry of `p` (each name once) and hands it with
// its lookup to `use`: the PBXs' signalling and media addresses, support
// peers, egress destinations.
template <typename Use>
void for_each_lookup(Policy& p, const Resolver& resolver, Use use) {
    std::map<std::string, ResolveResult> cache;
    auto visit = [&](std::vector<AddressEntry>& entries) {
        for (auto& e : entries) {
            if (!e.is_host()) continue;
            auto it = cache.find(e.host);
            if (it == cache.end()) it = cache.emplace(e.host, resolver(e.host)).first;
            use(e, it->second);
        }
    };
    for (auto& pbx : p.peers.pbx) {
        visit(pbx.addresses);
        visit(pbx.media.addresses);
    }
    for (auto& s : p.peers.support) visit(s.addresses);
    for (auto& s : p.egress.allow) visit(s.addresses);
}

bool failed(const ResolveResult& r) { return !r.error.empty() || r.addresses.empty(); }

// "host name 'x' does not resolve (why); <consequence>" at the entry.
Diagnostic not_resolving(Diagnostic::Severity sev, const AddressEntry& e, const ResolveResult& r,
                         const char* consequence) {
    return {sev, e.origin.file, e.origin.line, e.origin.column, e.path,
            "host name '" + e.host + "' does not resolve (" + (r.error.empty() ? std::string("no addresses") : r.error) +
                "); " + consequence};
}

// A media list copied from the PBX addresses repeats their diagnostics: one each.
void drop_repeats(std::vector<Diagnostic>& v, std::size_t from) {
    std::set<std::string> seen;
    v.erase(std::remove_if(v.begin() + static_cast<std::ptrdiff_t>(from), v.end(),
                           [&](const Diagnostic& d) { return !seen.insert(d.format()).second; }),
            v.end());
}

}  // namespace

namespace detail {

void resolve_host_names(Policy& p, const LoadOptions& opt, std::vector<Diagnostic>& out) {
    const Resolver resolver = opt.resolver ? opt.resolver : Resolver(system_resolve);
    const std::size_t first = out.size();
    for_each_lookup(p, resolver, [&](AddressEntry& e, const ResolveResult& r) {
        if (failed(r)) out.push_back(not_resolving(kError, e, r, "a host name must resolve when the policy is loaded"));
        else e.resolved = r.addresses;
    });
    drop_repeats(out, first);
}

}  // namespace detail

RefreshResult refresh_host_names(Policy& policy, const Resolver& resolver) {
    RefreshResult result;
    for_each_lookup(policy, resolver, [&](AddressEntry& e, const ResolveResult& r) {
        if (failed(r)) {
            result.warnings.push_back(not_resolving(kWarning, e, r, "keeping the last good addresses"));
            return;
        }
        auto fresh = r.addresses;
        std::sort(fresh.begin(), fresh.end());
        auto old = e.resolved;
        std::sort(old.begin(), old.end());
        if (fresh != old) {
            result.changed = true;
            e.resolved = r.addresses;
        }
    });
    drop_repeats(result.warnings, 0);
    return result;
}

}  // namespace vg::config
