// SPDX-License-Identifier: GPL-2.0-or-later
// The sub-commands of the single `voipguard` binary. Each takes the arguments
// that follow its name (argv[0] is the sub-command name) and returns the
// process exit code: 0 ok, 1 runtime failure, 2 bad input (usage, policy,
// capture).
#pragma once

namespace vg::cli {

int cmd_check(int argc, char** argv);
int cmd_run(int argc, char** argv);
// status | calls | handsets | reload: talk to the running daemon.
int cmd_control(int argc, char** argv);
// Removes every kernel rule and set of voipguard's (the barrier included).
int cmd_uninstall(int argc, char** argv);
#ifdef VOIPGUARD_WITH_PCAP
int cmd_replay(int argc, char** argv);
#endif

}  // namespace vg::cli
