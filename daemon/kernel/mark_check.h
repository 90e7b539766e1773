// SPDX-License-Identifier: GPL-2.0-or-later
// Does another rule of the router write voipguard's mark values?
//
// The fast path trusts a conntrack mark that has the verified value under
// the mask, and our reject rule trusts a packet mark with the reset value.
// A router rule that can write those values (or copies packet data such as
// the DSCP into those bits) lets an attacker's flow pass unjudged. At start
// and reload the daemon reads the router's rules (iptables-save and
// ip6tables-save, all tables; `nft list ruleset`), skips its own chains and
// table, and classifies every rule that writes the packet or conntrack mark:
//
//   conflict: the rule can write exactly our verified or reset value under
//             our mask, or copies non-constant data (DSCP, a hash, shifted
//             bits) into bits of our mask. The daemon refuses to start
//             (VG_MARK_CONFLICT).
//   overlap:  the rule writes only other constant values into bits of our
//             mask, or copies the other mark bit for bit (CONNMARK
//             --save-mark/--restore-mark, "ct mark set meta mark": what it
//             brings was written by rules that are checked themselves). It
//             can clear or move our mark (the flow loses its fast path and is
//             queued again), not forge it (VG_MARK_OVERLAP, a warning).
//
// Marks written outside netfilter (tc's ctinfo and skbedit actions, eBPF)
// cannot be seen here; README says so.
//
// The parsers are pure functions of the tools' text output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/kernel/backend.h"
#include "daemon/kernel/rule_spec.h"

namespace vg::kernel {

struct MarkFinding {
    enum class Kind { conflict, overlap };
    Kind kind = Kind::overlap;
    std::string rule;   // as the tool printed it, e.g. "-t mangle -A PREROUTING -j MARK --set-xmark 0x5a0000/0xff0000"
    std::string why;    // "writes 0x5a0000 under 0xff0000 (our verified value) into the conntrack mark"
};

// `iptables-save` / `ip6tables-save` output (any tables). `name` is the
// rules' name prefix: the chains NAME-fwd, -in, -out, -post, -rst are ours.
std::vector<MarkFinding> find_mark_writers_iptables(std::string_view save_text, const std::string& name,
                                                    const MarkSignature& sig);
// `nft list ruleset` output. Our table (inet NAME) and chains named like the
// iptables backend's (iptables-nft shows them here too) are skipped.
std::vector<MarkFinding> find_mark_writers_nft(std::string_view ruleset, const std::string& name,
                                               const MarkSignature& sig);

struct MarkCheck {
    std::vector<MarkFinding> findings;
    std::vector<std::string> read;     // the sources read ("iptables-save", "ip6tables-save", "nft list ruleset")
    std::vector<std::string> errors;   // sources that exist but could not be read
    bool conflict() const;
};

// Runs the tools that exist (through `tools`' runner or command prefix) and
// classifies what they print.
MarkCheck check_router_marks(const BackendOptions& tools, const std::string& name, const MarkSignature& sig);

}  // namespace vg::kernel
