// SPDX-License-Identifier: GPL-2.0-or-later
// The policy's life in the daemon, apart from the loop: loading and compiling
// a policy file, and the kernel rules that go with it - installed at a start
// or a reload, updated at a DNS refresh, and what stays in the kernel when no
// daemon serves the queue (on_failure; README "While voipguard is not
// running").
//
// None of this may run on the packet loop once it serves the queue: loading
// resolves host names (DNS), the rule backends fork iptables-restore, ipset
// or nft, and the routes and the router's marks are read from the kernel. The
// daemon (daemon.cpp) runs these on its workers (worker.h) and applies their
// results on the loop. So nothing here logs: results carry their log lines,
// written by the loop. A KernelRules object is used by one thread at a time:
// the loop before the workers start and after they stop, the kernel worker
// in between.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "daemon/daemon.h"
#include "daemon/kernel/backend.h"
#include "daemon/kernel/rule_spec.h"
#include "daemon/logging.h"
#include "filters/engine/rules.h"

namespace vg::daemon {

// A loaded, validated and compiled policy.
struct LoadedPolicy {
    std::shared_ptr<config::Policy> policy;
    std::shared_ptr<const engine::CompiledPolicy> rules;
    std::vector<std::string> errors;
    std::size_t warnings = 0;
};

// Loads, validates and compiles `path`, resolving its host names (blocks on
// DNS). `rules` is null when it failed; `errors` says why.
LoadedPolicy load_policy(const std::string& path);

// A line for the log, written by the loop.
struct LogLine {
    Severity severity = Severity::info;
    std::string text;
};

// What installing (or updating) a policy's rules gave.
struct RulesResult {
    bool ok = false;
    std::string error;
    std::vector<std::string> voice_interfaces;   // of the rules installed
    std::vector<LogLine> log;                    // mark check findings
};

// Which hosts a DNS refresh looked up, and what changed.
struct RefreshOutcome {
    std::shared_ptr<config::Policy> policy;   // the refreshed copy (when changed)
    std::shared_ptr<const engine::CompiledPolicy> rules;
    bool changed = false;
    std::string error;                        // changed, but not compiled
    std::vector<LogLine> log;                 // lookups that failed
};

// Looks the policy's host names up again (blocks on DNS) in a copy of
// `current`; compiled when an address changed.
RefreshOutcome refresh_policy(const config::Policy& current);

class KernelRules {
public:
    KernelRules(const RunOptions& options, std::unique_ptr<kernel::RuleBackend> backend)
        : opt_(options), backend_(std::move(backend)) {}

    std::string name() const { return backend_->name(); }

    // The rule spec of a policy; the voice interfaces from the routes when
    // the policy does not list them. False with `error` when a handset
    // network cannot be bound to an interface.
    bool spec_for(const config::Policy& p, kernel::RuleSpec& out, std::string& error) const;
    // No other rule of the router may write our mark values (or copy packet
    // data into our mask): it would give an attacker's flow the fast path.
    // False with `error` on a conflict; the findings are in `log`.
    bool check_marks(const std::string& site, std::vector<LogLine>& log, std::string& error) const;

    // Start and reload: the marks checked, then a full install (which also
    // puts back rules a firewall reload deleted). On failure the previous
    // rules stay.
    RulesResult install(const config::Policy& p, const std::string& site);
    // The start: `spec` (its marks checked by the caller) installed.
    bool install_spec(const kernel::RuleSpec& spec, std::string& error) { return backend_->install(spec, error); }
    // DNS refresh: the sets swapped, the rules rewritten only if they must.
    RulesResult update(const config::Policy& p);
    kernel::Counters counters() { return backend_->counters(); }

    // What stays in the kernel while no daemon serves the queue. closed: the
    // barrier, voipguard's own rules with nothing bound to their queue (with
    // `install_barrier` (re)installed from `p`: at a failed start what the
    // policy says without the host names that do not resolve and the
    // handset networks the routes cannot bind; if that fails, what the
    // kernel has stays). open: every rule and set goes. `what` says what
    // happened (for the shutdown line); false when it did not work.
    bool leave(const config::Policy& p, bool install_barrier, const std::string& site, std::vector<LogLine>& log,
               std::string& what);

private:
    kernel::RuleSpec base_spec() const;

    RunOptions opt_;
    std::unique_ptr<kernel::RuleBackend> backend_;
};

}  // namespace vg::daemon
