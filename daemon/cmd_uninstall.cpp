// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard uninstall [--socket PATH] [--force] [--quiet]`: removes every
// kernel rule, chain, table and set of voipguard's (both backends), in
// particular the barrier that a daemon with `on_failure: closed` leaves when
// it stops or cannot start (README "While voipguard is not running"). Used
// by package removal; with a daemon still answering on its control socket
// it refuses (its rules would go from under it) unless --force.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "daemon/commands.h"
#include "daemon/control.h"
#include "daemon/kernel/backend.h"

namespace vg::cli {

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: voipguard uninstall [--socket PATH] [--force] [--quiet]\n"
                 "Removes every kernel rule, chain, table and set of voipguard (nftables table\n"
                 "inet voipguard; iptables and ip6tables chains voipguard-*; ipset sets\n"
                 "voipguard-*), among them the barrier a stopped daemon with on_failure: closed\n"
                 "leaves. The voice network is then open: stop protecting it on purpose only.\n"
                 "  --socket PATH   the daemon's control socket (default %s): while a daemon\n"
                 "                  answers there, uninstall refuses\n"
                 "  --force         remove even while a daemon answers\n"
                 "  --quiet         say nothing when it worked\n"
                 "exit codes: 0 nothing of voipguard's is left, 1 a daemon is running or a removal\n"
                 "failed, 2 usage\n",
                 daemon::control::kDefaultSocketPath);
}

}  // namespace

int cmd_uninstall(int argc, char** argv) {
    std::string socket = daemon::control::kDefaultSocketPath;
    bool force = false, quiet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
        if (arg == "-h" || arg == "--help") {
            usage(stdout);
            return 0;
        } else if (arg == "--force") {
            force = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else if (arg == "--socket" && i + 1 < argc) {
            socket = argv[++i];
        } else {
            std::fprintf(stderr, "voipguard uninstall: unknown argument '%.*s'\n", static_cast<int>(arg.size()),
                         arg.data());
            usage(stderr);
            return 2;
        }
    }
    if (!force) {
        const auto r = daemon::control::request(socket, "status", std::chrono::seconds(2));
        if (r.status == daemon::control::ClientResult::Status::ok ||
            r.status == daemon::control::ClientResult::Status::error_reply) {
            std::fprintf(stderr,
                         "voipguard uninstall: a voipguard daemon answers on %s: stop it first "
                         "(or --force)\n",
                         socket.c_str());
            return 1;
        }
    }

    // What is installed does not depend on what this kernel can run now:
    // every backend whose tools are here removes what it finds (nothing is
    // not an error).
    const std::string name = "voipguard";
    int failures = 0;
    const auto remove = [&](kernel::BackendKind kind, const kernel::BackendOptions& options, const char* what) {
        auto backend = kernel::make_backend(kind, name, options);
        std::string error;
        if (backend->remove(error)) {
            if (!quiet) std::printf("voipguard uninstall: %s: nothing of voipguard's is left\n", what);
            return;
        }
        std::fprintf(stderr, "voipguard uninstall: %s: %s\n", what, error.c_str());
        ++failures;
    };
    kernel::BackendOptions options;
    if (!kernel::find_program(options.nft).empty()) remove(kernel::BackendKind::nftables, options, "nftables");
    if (!kernel::find_program(options.iptables_save).empty() && !kernel::find_program(options.ipset).empty()) {
        options.ipv6 = !kernel::find_program(options.ip6tables_save).empty();
        remove(kernel::BackendKind::iptables, options, "iptables + ipset");
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace vg::cli
