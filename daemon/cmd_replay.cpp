// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay --policy FILE [--map CAPTURE_CIDR=POLICY_CIDR]...
// [--inside CIDR]... [--json] [--quiet] [--no-resolve] PCAP...`
#include <cstdio>
#include <iostream>
#include <string>

#include "config/loader.h"
#include "daemon/commands.h"
#include "daemon/replay.h"

namespace vg::cli {

namespace {

void usage(std::FILE* to) {
    std::fputs("usage: voipguard replay --policy FILE [--map CAPTURE_CIDR=POLICY_CIDR]... [--inside CIDR]...\n"
               "                        [--json] [--quiet] [--no-resolve] PCAP...\n"
               "Runs the inspection engine over captures (pcap or pcapng; Ethernet, VLAN, Linux cooked,\n"
               "raw IP, loopback) with the capture's timestamps as the clock, and prints each packet's\n"
               "verdict and reason, then a summary.\n"
               "  --policy FILE   the policy to judge with (required)\n"
               "  --map CAPTURE_CIDR=POLICY_CIDR\n"
               "                  replay the capture as if taken at the policy's site: its addresses in\n"
               "                  CAPTURE_CIDR become the policy's in POLICY_CIDR, host bits kept (same\n"
               "                  prefix length), in IP headers and in the SIP/SDP text (repeatable; IPv4, IPv6)\n"
               "  --inside CIDR   also treat CIDR as a handset network (the capture's addressing)\n"
               "  --json          one JSON object per packet, then {\"summary\": {...}}\n"
               "  --quiet         the summary only\n"
               "  --no-resolve    do not look up host names in the policy\n"
               "exit codes: 0 done, 2 bad policy, unreadable capture or bad command line\n",
               to);
}

}  // namespace

int cmd_replay(int argc, char** argv) {
    daemon::ReplayOptions options;
    config::LoadOptions load;
    std::string policy_file;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "voipguard replay: %s needs a value\n", name);
                return nullptr;
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else if (arg == "--policy") {
            const char* v = value("--policy");
            if (!v) return 2;
            policy_file = v;
        } else if (arg == "--inside") {
            const char* v = value("--inside");
            if (!v) return 2;
            const auto c = net::Cidr::parse(v);
            if (!c) {
                std::fprintf(stderr, "voipguard replay: --inside: \"%s\" is not an address or CIDR\n", v);
                return 2;
            }
            options.inside.push_back(*c);
        } else if (arg == "--map") {
            const char* v = value("--map");
            if (!v) return 2;
            std::string error;
            if (!options.map.add(v, error)) {
                std::fprintf(stderr, "voipguard replay: --map: %s\n", error.c_str());
                return 2;
            }
        } else if (arg == "--json") {
            options.json = true;
        } else if (arg == "--quiet" || arg == "-q") {
            options.quiet = true;
        } else if (arg == "--no-resolve") {
            load.resolve_host_names = false;
            options.no_resolve = true;
        } else if (arg.size() > 1 && arg[0] == '-') {
            std::fprintf(stderr, "voipguard replay: unknown option '%s'\n", arg.c_str());
            usage(stderr);
            return 2;
        } else {
            options.captures.push_back(arg);
        }
    }
    if (policy_file.empty() || options.captures.empty()) {
        std::fputs(policy_file.empty() ? "voipguard replay: --policy FILE is required\n"
                                       : "voipguard replay: no capture given\n",
                   stderr);
        usage(stderr);
        return 2;
    }
    const config::LoadResult r = config::load_policy_file(policy_file, load);
    for (const config::Diagnostic& d : r.diagnostics)
        if (d.severity == config::Diagnostic::Severity::error || !r.ok()) std::fprintf(stderr, "%s\n", d.format().c_str());
    if (!r.ok()) return 2;
    return daemon::run_replay(*r.policy, options, std::cout, std::cerr);
}

}  // namespace vg::cli
