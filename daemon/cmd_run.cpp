// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard run --policy FILE [options]`: the daemon, in the foreground
// (procd and systemd supervise it).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/commands.h"
#include "daemon/daemon.h"
#include "filters/util/text.h"

namespace vg::cli {

namespace {

void usage(std::FILE* to) {
    std::fputs("usage: voipguard run --policy FILE [--queue N] [--backend auto|nftables|iptables]\n"
               "                     [--control PATH] [--log-stderr] [--user USER] [--mark VALUE[/MASK]]\n"
               "                     [--nflog-group N] [--stats-interval SECONDS]\n"
               "                     [--state FILE] [--state-interval SECONDS] [--max-dialogs N]\n"
               "                     [--nice N] [--realtime PRIO] [--realtime-budget PERCENT]\n"
               "Runs the firewall daemon in the foreground. SIGHUP reloads the policy, SIGTERM\n"
               "exits: with on_failure open it removes every kernel rule and set, with closed\n"
               "it leaves them as a barrier (voipguard uninstall removes it).\n"
               "  --policy FILE          the site policy (required)\n"
               "  --queue N              NFQUEUE number (default 0)\n"
               "  --backend NAME         kernel rules: auto (default), nftables or iptables\n"
               "  --control PATH         control socket (default /run/voipguard/control.sock)\n"
               "  --log-stderr           copy every log line to standard error\n"
               "  --user USER            run as USER after set-up (keeps CAP_NET_ADMIN, CAP_NET_RAW)\n"
               "  --mark VALUE[/MASK]    hex mark signature of verified flows under MASK (default\n"
               "                         0x5a0000/0xff0000; the reset value is its complement under\n"
               "                         MASK); no other rule of the router may write these values\n"
               "  --nflog-group N        NFLOG group of sampled kernel drops (default 5060)\n"
               "  --stats-interval S     seconds between VG_STATS lines (default 300, 0 = never)\n"
               "  --state FILE           keep the handsets and toll-fraud counters in FILE across\n"
               "                         restarts (none by default; the init scripts pass one)\n"
               "  --state-interval S     seconds between writes of --state (default 60; and at stop)\n"
               "  --max-dialogs N        SIP dialogs tracked at once (default 1024; a full table\n"
               "                         never pushes out a confirmed call, it refuses new ones)\n"
               "  --nice N               nice value of the packet loop, -20..19 (default -10, so\n"
               "                         that packets wait less for a CPU on a busy router; the\n"
               "                         workers for DNS and rule installs run at N+19, at most 19)\n"
               "  --realtime PRIO        real-time priority (SCHED_RR) of the packet loop, 1..49, or\n"
               "                         0 for none (default 5); the loop falls back to its nice\n"
               "                         value while it uses more than half a CPU (a flood), and the\n"
               "                         workers and the programs they start run at nice 19\n"
               "  --realtime-budget P    the share of one CPU, 1..100 percent, above which the\n"
               "                         real-time loop goes back to the fair scheduler (default 50)\n"
               "exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad policy or command line\n",
               to);
}

bool number(const char* text, std::uint64_t max, std::uint64_t& out, int base = 10) {
    if (text == nullptr || *text == '\0') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, base);
    if (errno != 0 || *end != '\0' || v > max || text[0] == '-') return false;
    out = v;
    return true;
}

}  // namespace

int cmd_run(int argc, char** argv) {
    daemon::RunOptions o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        std::uint64_t n = 0;
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else if (arg == "--policy") {
            const char* v = value();
            if (!v) goto missing;
            o.policy_path = v;
        } else if (arg == "--queue") {
            if (!number(value(), 65535, n)) goto bad;
            o.queue = static_cast<std::uint16_t>(n);
        } else if (arg == "--backend") {
            const char* v = value();
            if (!v) goto missing;
            o.backend = v;
            if (o.backend != "auto" && o.backend != "nftables" && o.backend != "iptables") goto bad;
        } else if (arg == "--control") {
            const char* v = value();
            if (!v) goto missing;
            o.control_path = v;
        } else if (arg == "--log-stderr") {
            o.log_stderr = true;
        } else if (arg == "--user") {
            const char* v = value();
            if (!v) goto missing;
            o.user = v;
        } else if (arg == "--mark") {
            const char* v = value();
            if (!v) goto missing;
            kernel::MarkSignature m;
            std::string error;
            if (!kernel::parse_mark_signature(v, m, error)) {
                std::fprintf(stderr, "voipguard run: --mark: %s\n", error.c_str());
                return 2;
            }
            o.mark_mask = m.mask;
            o.verified_mark = m.verified;
            o.reset_mark = m.reset;
        } else if (arg == "--nflog-group") {
            if (!number(value(), 65535, n)) goto bad;
            o.nflog_group = static_cast<std::uint16_t>(n);
        } else if (arg == "--state") {
            const char* v = value();
            if (!v || !*v) goto missing;
            o.state_path = v;
        } else if (arg == "--state-interval") {
            if (!number(value(), 86400, n) || n == 0) goto bad;
            o.state_interval = static_cast<unsigned>(n);
        } else if (arg == "--stats-interval") {
            if (!number(value(), 86400, n)) goto bad;
            o.stats_interval = static_cast<unsigned>(n);
        } else if (arg == "--nice") {
            const char* v = value();
            if (!v) goto missing;
            const bool negative = v[0] == '-';
            if (!number(negative ? v + 1 : v, negative ? 20 : 19, n)) goto bad;
            o.nice = negative ? -static_cast<int>(n) : static_cast<int>(n);
        } else if (arg == "--realtime") {
            if (!number(value(), 49, n)) goto bad;
            o.realtime = static_cast<int>(n);
        } else if (arg == "--realtime-budget") {
            if (!number(value(), 100, n) || n == 0) goto bad;
            o.realtime_budget = static_cast<unsigned>(n);
        } else if (arg == "--max-dialogs") {
            if (!number(value(), 1048576, n) || n == 0) goto bad;
            o.max_dialogs = static_cast<std::size_t>(n);
        } else {
            std::fprintf(stderr, "voipguard run: unknown argument '%s'\n", arg.c_str());
            usage(stderr);
            return 2;
        }
        continue;
    missing:
        std::fprintf(stderr, "voipguard run: %s needs a value\n", arg.c_str());
        return 2;
    bad:
        std::fprintf(stderr, "voipguard run: bad value for %s\n", arg.c_str());
        return 2;
    }
    if (o.policy_path.empty()) {
        std::fputs("voipguard run: --policy FILE is required\n", stderr);
        usage(stderr);
        return 2;
    }
    return daemon::run_daemon(o);
}

}  // namespace vg::cli
