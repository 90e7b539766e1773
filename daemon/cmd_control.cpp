// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard status|calls|handsets|reload|audit [--json] [--socket PATH] [--timeout SECONDS]`
// `voipguard report [--since DURATION] [--json] [--socket PATH] [--timeout SECONDS]`
// and `voipguard metrics [--socket PATH] [--timeout SECONDS]` (Prometheus text):
// ask the running daemon over its control socket and print the answer.
// Exit 0 when it answered, 1 when it is not running or answered with an
// error, 2 for a wrong command line.
#include "daemon/control.h"
#include "daemon/site_report.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace vg::cli {

namespace {

void usage(std::FILE* to, std::string_view command) {
    const bool report = command == "report";
    std::fprintf(to,
                 "usage: voipguard %.*s%s [--json] [--socket PATH] [--timeout SECONDS]\n"
                 "Asks the running voipguard daemon over its control socket.\n"
                 "  status     version, site, mode, counters\n"
                 "  calls      the calls in progress\n"
                 "  handsets   the handset inventory\n"
                 "  reload     load the policy again (like SIGHUP); exit 1 if it is refused\n"
                 "  audit      probe every handset's management ports from the router (telnet, ssh,\n"
                 "             http, https, handsets.audit_ports) and report which answer (at most 60 s)\n"
                 "  metrics    the counters in Prometheus text format (no --json)\n"
                 "  report     what happened at this site and what needs doing: handsets to fix,\n"
                 "             calls and blocked calls, scanners, kernel drops, reloads, blind spots\n"
                 "%s"
                 "  --json          answer as JSON\n"
                 "  --socket PATH   control socket (default %s)\n"
                 "  --timeout SECS  give up after this long (default 10; reload and audit 90: a reload\n"
                 "                  waits for DNS and the kernel's rule tools, an audit for the handsets,\n"
                 "                  the daemon's traffic does not)\n"
                 "exit codes: 0 answered, 1 daemon not running or error answer, 2 usage\n",
                 static_cast<int>(command.size()), command.data(), report ? " [--since DURATION]" : "",
                 report ? "  --since DURATION  the window, 1m to 7d (e.g. 1h, 24h, 7d; default 24h),\n"
                          "                  counted in whole hours\n"
                        : "",
                 daemon::control::kDefaultSocketPath);
}

bool parse_seconds(std::string_view s, long& out) {
    if (s.empty() || s.size() > 6) return false;
    long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v < 1 || v > 3600) return false;
    out = v;
    return true;
}

}  // namespace

// argv[0] is the command: status, calls, handsets, reload, metrics or audit.
int cmd_control(int argc, char** argv) {
    using daemon::control::ClientResult;
    const std::string_view command = argc > 0 && argv[0] != nullptr ? argv[0] : "";
    if (!daemon::control::parse_command(command)) {
        std::fprintf(stderr, "voipguard: unknown control command '%.*s'\n", static_cast<int>(command.size()),
                     command.data());
        return 2;
    }
    bool json = false;
    std::string path = daemon::control::kDefaultSocketPath;
    // The daemon answers a reload once the policy is loaded (DNS) and its
    // rules are installed, an audit when its probes are done (at most 60 s);
    // it gives up on a deferred answer after 90 s.
    long timeout_s = command == "reload" || command == "audit" ? 90 : 10;
    std::int64_t since_s = daemon::control::kReportDefaultSince;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
        if (arg == "-h" || arg == "--help") {
            usage(stdout, command);
            return 0;
        }
        if (arg == "--json") {
            if (command == "metrics") {
                std::fprintf(stderr, "voipguard metrics: no --json: the answer is Prometheus text\n");
                return 2;
            }
            json = true;
        } else if (arg == "--socket" || arg == "--timeout") {
            if (i + 1 >= argc || argv[i + 1] == nullptr) {
                std::fprintf(stderr, "voipguard %.*s: %.*s needs a value\n", static_cast<int>(command.size()),
                             command.data(), static_cast<int>(arg.size()), arg.data());
                return 2;
            }
            const std::string_view value = argv[++i];
            if (arg == "--socket") {
                path = value;
            } else if (!parse_seconds(value, timeout_s)) {
                std::fprintf(stderr, "voipguard %.*s: --timeout: '%.*s' is not a number of seconds (1..3600)\n",
                             static_cast<int>(command.size()), command.data(), static_cast<int>(value.size()),
                             value.data());
                return 2;
            }
        } else if (arg == "--since" || arg.rfind("--since=", 0) == 0) {
            if (command != "report") {
                std::fprintf(stderr, "voipguard %.*s: --since is for report only\n", static_cast<int>(command.size()),
                             command.data());
                return 2;
            }
            std::string_view value;
            if (arg == "--since") {
                if (i + 1 >= argc || argv[i + 1] == nullptr) {
                    std::fprintf(stderr, "voipguard report: --since needs a value (e.g. 1h, 24h, 7d)\n");
                    return 2;
                }
                value = argv[++i];
            } else {
                value = arg.substr(8);
            }
            std::string error;
            const std::optional<std::int64_t> s = daemon::parse_report_window(value, error);
            if (!s) {
                std::fprintf(stderr, "voipguard report: --since: %s\n", error.c_str());
                return 2;
            }
            since_s = *s;
        } else if (arg.rfind("--socket=", 0) == 0) {
            path = arg.substr(9);
        } else {
            std::fprintf(stderr, "voipguard %.*s: unknown argument '%.*s'\n", static_cast<int>(command.size()),
                         command.data(), static_cast<int>(arg.size()), arg.data());
            usage(stderr, command);
            return 2;
        }
    }
    if (path.empty()) {
        std::fprintf(stderr, "voipguard %.*s: --socket: empty path\n", static_cast<int>(command.size()),
                     command.data());
        return 2;
    }

    std::string line(command);
    if (command == "report") line += " since=" + std::to_string(since_s);
    if (json) line += " json";
    const ClientResult r = daemon::control::request(path, line, std::chrono::seconds(timeout_s));
    switch (r.status) {
    case ClientResult::Status::ok:
        std::fwrite(r.response.data(), 1, r.response.size(), stdout);
        std::fflush(stdout);
        return 0;
    case ClientResult::Status::error_reply:
        // JSON stays on stdout for scripts; a text error goes to stderr.
        std::fwrite(r.response.data(), 1, r.response.size(), json ? stdout : stderr);
        std::fflush(json ? stdout : stderr);
        return 1;
    case ClientResult::Status::not_running:
    case ClientResult::Status::failed:
        break;
    }
    std::fprintf(stderr, "voipguard %.*s: %s\n", static_cast<int>(command.size()), command.data(), r.error.c_str());
    return 1;
}

}  // namespace vg::cli
