// SPDX-License-Identifier: GPL-2.0-or-later
// After set-up the daemon keeps only what its loop needs: CAP_NET_ADMIN
// (queue verdicts, conntrack deletes, rule and set updates through
// iptables-restore / ipset / nft, which it runs as children) and CAP_NET_RAW
// (the same tools open raw netlink sockets). Every other capability is
// removed from the effective, permitted, inheritable and bounding sets, so a
// compromised daemon or a child it runs cannot regain them. Optionally the
// daemon switches to an unprivileged user; the two capabilities then stay
// ambient so the rule tools it runs still have them.
#pragma once

#include <cstdint>
#include <string>

namespace vg::daemon {

// Keeps CAP_NET_ADMIN and CAP_NET_RAW; with a non-empty `user`, also
// switches to that user (and its primary group, no supplementary groups).
// Returns false with a message when any step fails (the daemon then stops:
// running with more privileges than asked is not an option).
bool drop_privileges(const std::string& user, std::string& error);

// The capability sets of this process as /proc/self/status shows them
// (CapEff, CapPrm, CapBnd, CapAmb), for the log and the tests.
std::string capability_summary();

}  // namespace vg::daemon
