// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/policy_lifecycle.h"

#include <algorithm>
#include <utility>

#include "config/loader.h"
#include "daemon/kernel/mark_check.h"
#include "daemon/log_events.h"
#include "daemon/netlink/route.h"

namespace vg::daemon {

LoadedPolicy load_policy(const std::string& path) {
    LoadedPolicy out;
    config::LoadResult r = config::load_policy_file(path);
    for (const config::Diagnostic& d : r.diagnostics) {
        if (d.severity == config::Diagnostic::Severity::error) out.errors.push_back(d.format());
        else ++out.warnings;
    }
    if (!r.ok()) return out;
    out.policy = std::make_shared<config::Policy>(std::move(*r.policy));
    std::string error;
    out.rules = engine::CompiledPolicy::compile(out.policy, error);
    if (!out.rules) out.errors.push_back(path + ": " + error);
    return out;
}

RefreshOutcome refresh_policy(const config::Policy& current) {
    RefreshOutcome out;
    auto copy = std::make_shared<config::Policy>(current);
    const config::RefreshResult rr = config::refresh_host_names(*copy, config::system_resolve);
    for (const config::Diagnostic& d : rr.warnings)
        out.log.push_back({Severity::warning, failed_line("VG_DNS_REFRESH_FAILED", current.site, d.format())});
    if (!rr.changed) return out;
    out.changed = true;
    out.rules = engine::CompiledPolicy::compile(copy, out.error);
    if (out.rules) out.policy = std::move(copy);
    return out;
}

kernel::RuleSpec KernelRules::base_spec() const {
    kernel::RuleSpec base;
    base.name = opt_.name;
    base.mark_mask = opt_.mark_mask;
    base.verified_mark = opt_.verified_mark;
    base.reset_mark = opt_.reset_mark;
    base.nflog_group = opt_.nflog_group;
    return base;
}

bool KernelRules::spec_for(const config::Policy& p, kernel::RuleSpec& out, std::string& error) const {
    out = kernel::rule_spec_from_policy(p, opt_.queue, base_spec());
    if (!out.voice_interfaces.empty()) return true;
    // handsets.interfaces is empty: what the routes say, now.
    std::vector<netlink::RoutedNetwork> routed;
    if (!netlink::interfaces_from_routes(p.handsets.networks, routed, error)) {
        error = "handsets.interfaces is not set and the routes cannot be read (" + error + ")";
        return false;
    }
    for (const auto& r : routed) {
        if (r.interface.empty()) {
            error = "handsets.networks: " + r.why + ": the network cannot be bound to a voice interface; set "
                    "handsets.interfaces";
            return false;
        }
        if (std::find(out.voice_interfaces.begin(), out.voice_interfaces.end(), r.interface) == out.voice_interfaces.end())
            out.voice_interfaces.push_back(r.interface);
    }
    return true;
}

bool KernelRules::check_marks(const std::string& site, std::vector<LogLine>& log, std::string& error) const {
    kernel::MarkSignature sig;
    sig.mask = opt_.mark_mask;
    sig.verified = opt_.verified_mark;
    sig.reset = opt_.reset_mark;
    const kernel::MarkCheck c = kernel::check_router_marks(kernel::BackendOptions{}, opt_.name, sig);
    for (const std::string& e : c.errors) {
        std::string line = "VG_MARK_CHECK_FAILED";
        append_field(line, "site", site);
        append_field(line, "error", e);
        log.push_back({Severity::warning, std::move(line)});
    }
    std::size_t conflicts = 0;
    for (const kernel::MarkFinding& f : c.findings) {
        const bool conflict = f.kind == kernel::MarkFinding::Kind::conflict;
        std::string line = conflict ? "VG_MARK_CONFLICT" : "VG_MARK_OVERLAP";
        append_field(line, "site", site);
        append_field(line, "mark", kernel::mark_text(sig.verified) + "/" + kernel::mark_text(sig.mask));
        append_field(line, "rule", f.rule);
        append_field(line, "why", f.why);
        log.push_back({conflict ? Severity::error : Severity::warning, std::move(line)});
        if (conflict) ++conflicts;
    }
    if (conflicts == 0) return true;
    error = std::to_string(conflicts) + " rule" + (conflicts == 1 ? "" : "s") + " of the router can write voipguard's mark " +
            kernel::mark_text(sig.verified) + "/" + kernel::mark_text(sig.mask) +
            " (see VG_MARK_CONFLICT in the log); choose another --mark VALUE/MASK";
    return false;
}

RulesResult KernelRules::install(const config::Policy& p, const std::string& site) {
    RulesResult r;
    if (!check_marks(site, r.log, r.error)) return r;
    kernel::RuleSpec spec;
    if (!spec_for(p, spec, r.error) || !backend_->install(spec, r.error)) {
        r.error = "kernel rules: " + r.error;
        return r;
    }
    r.ok = true;
    r.voice_interfaces = spec.voice_interfaces;
    return r;
}

RulesResult KernelRules::update(const config::Policy& p) {
    RulesResult r;
    kernel::RuleSpec spec;
    if (!spec_for(p, spec, r.error) || !backend_->update(spec, r.error)) return r;
    r.ok = true;
    r.voice_interfaces = spec.voice_interfaces;
    return r;
}

bool KernelRules::leave(const config::Policy& p, bool install_barrier, const std::string& site,
                        std::vector<LogLine>& log, std::string& what) {
    std::string error;
    if (p.on_failure == config::OnFailure::open) {
        if (backend_->remove(error)) {
            what = "rules removed (on_failure open)";
            return true;
        }
        log.push_back({Severity::error, failed_line("VG_RULES_REMOVE_FAILED", site, error)});
        what = "rules not all removed";
        return false;
    }
    std::string line = "VG_BARRIER";
    append_field(line, "site", site);
    bool ok = true;
    if (install_barrier) {
        kernel::RuleSpec spec;
        if (!spec_for(p, spec, error)) spec = kernel::rule_spec_from_policy(p, opt_.queue, base_spec());
        ok = backend_->install(spec, error);
    }
    append_field(line, "action", !install_barrier ? "kept" : ok ? "installed" : "failed");
    if (!ok) append_field(line, "error", error);
    log.push_back({ok ? Severity::notice : Severity::error, std::move(line)});
    what = !ok ? "barrier not installed: " + error : "barrier left (on_failure closed)";
    return ok;
}

}  // namespace vg::daemon
