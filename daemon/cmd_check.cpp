// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard check [--print] [--quiet] [--no-resolve] FILE` and
// `voipguard check --reference`: validate a policy the way the daemon loads it.
// Exit 0 when it is valid (warnings included), 2 when it is not or the
// command line is wrong.
#include "daemon/commands.h"

#include "config/loader.h"
#include "config/schema.h"
#include "daemon/netlink/route.h"
#include "filters/engine/rules.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace vg::cli {

namespace {

void usage(std::FILE* to) {
    std::fputs("usage: voipguard check [--print] [--quiet] [--no-resolve] FILE\n"
               "       voipguard check --reference\n"
               "Validates a policy file. Prints \"ok\" and a summary when it is valid (exit 0),\n"
               "every error as FILE:LINE:COL: key.path: message when it is not (exit 2).\n"
               "  --print       also print the effective policy, defaults marked \"# default\"\n"
               "  --quiet       print nothing on success except warnings\n"
               "  --no-resolve  do not look up host names (check syntax only)\n"
               "  --reference   print the key reference (Markdown) and exit\n",
               to);
}

// handsets.interfaces left empty means "what the routes say": --print shows
// what they say on this machine (the daemon reads them again at start).
std::string with_routed_interfaces(std::string yaml, const config::Policy& p) {
    if (!p.handsets.interfaces.empty()) return yaml;
    const std::string line = "\n  interfaces: []  # default\n";
    const auto at = yaml.find(line);
    if (at == std::string::npos) return yaml;
    std::vector<netlink::RoutedNetwork> routed;
    std::string error;
    std::string comment;
    if (!netlink::interfaces_from_routes(p.handsets.networks, routed, error)) {
        comment = "from routes at start (cannot read them here: " + error + ")";
    } else {
        std::string bound, unbound;
        for (const auto& r : routed) {
            if (r.interface.empty()) unbound += (unbound.empty() ? "" : ", ") + r.network.to_string();
            else bound += (bound.empty() ? "" : ", ") + r.interface + " (" + r.network.to_string() + ")";
        }
        comment = unbound.empty() ? "from routes: " + bound
                                  : "from routes at start (no route here for " + unbound + ")";
    }
    yaml.replace(at, line.size(), "\n  interfaces: []  # default: " + comment + "\n");
    return yaml;
}

}  // namespace

int cmd_check(int argc, char** argv) {
    bool print = false, quiet = false, reference = false;
    config::LoadOptions options;
    const char* file = nullptr;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i] ? argv[i] : "";
        if (!options_done && arg == "--") {
            options_done = true;
        } else if (!options_done && (arg == "--help" || arg == "-h")) {
            usage(stdout);
            return 0;
        } else if (!options_done && arg == "--print") {
            print = true;
        } else if (!options_done && (arg == "--quiet" || arg == "-q")) {
            quiet = true;
        } else if (!options_done && arg == "--no-resolve") {
            options.resolve_host_names = false;
        } else if (!options_done && arg == "--reference") {
            reference = true;
        } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
            std::fprintf(stderr, "voipguard check: unknown option '%s'\n", arg.c_str());
            usage(stderr);
            return 2;
        } else if (file) {
            std::fprintf(stderr, "voipguard check: one policy file only (got '%s' and '%s')\n", file, arg.c_str());
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (reference) {
        if (file || print || quiet) {
            std::fputs("voipguard check: --reference takes no other argument\n", stderr);
            return 2;
        }
        std::fputs(config::reference_markdown().c_str(), stdout);
        return 0;
    }
    if (!file) {
        std::fputs("voipguard check: no policy file given\n", stderr);
        usage(stderr);
        return 2;
    }
    options.render_effective = print;
    const config::LoadResult r = config::load_policy_file(file, options);
    for (const auto& d : r.diagnostics)
        std::fprintf(stderr, "%s\n", d.format().c_str());
    if (!r.ok()) {
        std::size_t errors = 0;
        for (const auto& d : r.diagnostics)
            if (d.severity == config::Diagnostic::Severity::error) ++errors;
        std::fprintf(stderr, "%s: %zu error%s, policy not valid\n", file, errors, errors == 1 ? "" : "s");
        return 2;
    }
    // What the daemon does next with a loaded policy (daemon/policy_lifecycle.cpp):
    // compile it for the engine. A policy check passes must not fail there.
    std::string compile_error;
    if (!engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(*r.policy), compile_error)) {
        std::fprintf(stderr, "%s: the daemon would refuse it: %s\n%s: 1 error, policy not valid\n", file,
                     compile_error.c_str(), file);
        return 2;
    }
    if (print) {
        std::fputs(with_routed_interfaces(r.effective_yaml, *r.policy).c_str(), stdout);
        std::fputs("# toll-fraud guard, as enforced:\n", stdout);
        for (const std::string& line : config::toll_fraud_enforcement(*r.policy))
            std::printf("#   %s\n", line.c_str());
    }
    if (!quiet) {
        std::printf("ok\n%s\n%s\n", config::summary_line(*r.policy).c_str(), config::egress_line(*r.policy).c_str());
        const auto& oh = r.policy->toll_fraud.out_of_hours;
        if (oh.enabled) std::printf("out-of-hours schedule in %s\n", oh.zone_source.c_str());
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace vg::cli
