// SPDX-License-Identifier: GPL-2.0-or-later
// voipguard: one binary, several sub-commands (see README "Command line").
#include <cstdio>
#include <cstring>
#include <string_view>

#include "daemon/commands.h"

#ifndef VOIPGUARD_VERSION
#error "VOIPGUARD_VERSION must be defined by the build"
#endif

namespace {

constexpr const char* kUsage =
    "usage: voipguard COMMAND [ARGS]\n"
    "\n"
    "VoIP firewall for business routers: stateful SIP/RTP inspection of the\n"
    "voice network from one YAML policy.\n"
    "\n"
    "commands:\n"
    "  run --policy FILE [OPTIONS]      the daemon (foreground; run --help for options)\n"
    "  check [--print] [--quiet] FILE   validate a policy; exit 0 if usable, 2 if not\n"
#ifdef VOIPGUARD_WITH_PCAP
    "  replay --policy FILE [--inside CIDR]... [--json] PCAP...\n"
    "                                   judge the packets of captures with a policy\n"
#endif
    "  status [--json]                  the running daemon: policy, backend, counters\n"
    "  calls [--json]                   active calls and their media pinholes\n"
    "  handsets [--json]                handset inventory, firmware and stale flags\n"
    "  reload [--json]                  reload the policy (as SIGHUP does)\n"
    "  metrics                          the counters as Prometheus text\n"
    "  report [--since DURATION] [--json]\n"
    "                                   what happened at the site and what needs doing\n"
    "                                   (1m to 7d, default 24h)\n"
    "  audit [--json]                   probe the handsets' management ports from the router\n"
    "                                   (these seven take --socket PATH)\n"
    "  uninstall [--force] [--quiet]    remove every kernel rule and set of voipguard's\n"
    "                                   (the barrier on_failure: closed leaves included)\n"
    "\n"
    "options:\n"
    "  -h, --help      this text (COMMAND --help for a command's own options)\n"
    "  -V, --version   print the version and exit\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 bad input (usage, policy)\n";

struct Command {
    const char* name;
    int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"run", vg::cli::cmd_run},
    {"check", vg::cli::cmd_check},
    {"status", vg::cli::cmd_control},
    {"calls", vg::cli::cmd_control},
    {"handsets", vg::cli::cmd_control},
    {"reload", vg::cli::cmd_control},
    {"metrics", vg::cli::cmd_control},
    {"report", vg::cli::cmd_control},
    {"audit", vg::cli::cmd_control},
    {"uninstall", vg::cli::cmd_uninstall},
#ifdef VOIPGUARD_WITH_PCAP
    {"replay", vg::cli::cmd_replay},
#endif
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const std::string_view first = argv[1];
    if (first == "-h" || first == "--help" || first == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (first == "-V" || first == "--version" || first == "version") {
        std::printf("voipguard %s\n", VOIPGUARD_VERSION);
        return 0;
    }
    for (const Command& c : kCommands) {
        if (first == c.name) return c.run(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "voipguard: unknown command '%s'\n\n%s", argv[1], kUsage);
    return 2;
}
