// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel rule backends: what turns a RuleSpec into netfilter rules. Two exist
// because kernels differ (see ARCHITECTURE.md, "Kernel facts"): nftables needs
// the nft_queue module for its `queue` statement, iptables needs xt_NFQUEUE
// and ipset. probe() finds out what this kernel has; choose_backend() picks
// one and says why, for the start-up log.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/kernel/exec.h"
#include "daemon/kernel/rule_spec.h"

namespace vg::kernel {

// Packets and bytes the kernel rules counted since install() (they survive
// update()s that rewrite the rules).
struct Counters {
    bool ok = false;                        // false: the kernel could not be read
    std::uint64_t inbound_drop_packets = 0;   // monitor mode: would have been dropped
    std::uint64_t inbound_drop_bytes = 0;
    std::uint64_t egress_drop_packets = 0;    // egress allow-list
    std::uint64_t egress_drop_bytes = 0;
    std::uint64_t queued_packets = 0;         // sent to the NFQUEUE
    std::uint64_t queued_bytes = 0;
    std::uint64_t forged_drop_packets = 0;    // handset source on a non-voice interface
    std::uint64_t forged_drop_bytes = 0;
    std::uint64_t foreign_drop_packets = 0;   // non-handset source from a voice interface to PBX/SIP
    std::uint64_t foreign_drop_bytes = 0;

    // Adds the packet and byte counts (not `ok`).
    Counters& operator+=(const Counters& other) {
        inbound_drop_packets += other.inbound_drop_packets;
        inbound_drop_bytes += other.inbound_drop_bytes;
        egress_drop_packets += other.egress_drop_packets;
        egress_drop_bytes += other.egress_drop_bytes;
        queued_packets += other.queued_packets;
        queued_bytes += other.queued_bytes;
        forged_drop_packets += other.forged_drop_packets;
        forged_drop_bytes += other.forged_drop_bytes;
        foreign_drop_packets += other.foreign_drop_packets;
        foreign_drop_bytes += other.foreign_drop_bytes;
        return *this;
    }
};

class RuleBackend {
public:
    virtual ~RuleBackend() = default;

    // "nftables" or "iptables".
    virtual std::string name() const = 0;
    // Installs the rules: all or nothing. Rules and sets a previous instance
    // left behind (after a crash or a stop that left them on purpose) are
    // replaced, never duplicated, without a moment without rules; the
    // router's own rules are not touched. On failure the kernel keeps what
    // it had: the previous rules (this or an earlier instance's) stay and go
    // on working, never removed because the new ones could not be written.
    virtual bool install(const RuleSpec& spec, std::string& error) = 0;
    // Reload: swaps the sets atomically, and rewrites the rules only when
    // they must change. On failure the previous rules keep working.
    virtual bool update(const RuleSpec& spec, std::string& error) = 0;
    // Removes everything the backend installs (also what a previous instance
    // left). Succeeds when there is nothing to remove.
    virtual bool remove(std::string& error) = 0;
    virtual Counters counters() = 0;
};

struct BackendOptions {
    // Put in front of every command, e.g. {"ip", "netns", "exec", "vg-test-1"}.
    std::vector<std::string> command_prefix;
    // Runs the commands; empty: run_program() behind command_prefix.
    CommandRunner runner;
    std::chrono::milliseconds timeout{30000};
    // iptables backend: also program ip6tables (off on kernels without IPv6;
    // install() then refuses a spec with IPv6 handset networks).
    bool ipv6 = true;
    // Tool names (e.g. "iptables-legacy-restore" to force the legacy tools).
    std::string iptables_save = "iptables-save";
    std::string iptables_restore = "iptables-restore";
    std::string ip6tables_save = "ip6tables-save";
    std::string ip6tables_restore = "ip6tables-restore";
    std::string ipset = "ipset";
    std::string nft = "nft";
    // iptables-restore -w: how long to wait for the xtables lock another
    // tool (fw3, iptables-legacy, a firewall reload) holds before giving up
    // (the running rules then stay); 0: no -w.
    unsigned xtables_wait_seconds = 5;
};

// The runner the options ask for.
CommandRunner runner_for(const BackendOptions& options);

struct ProbeResult {
    bool nfnetlink_queue = false;            // loaded or built in
    bool nfnetlink_queue_loadable = false;   // a module file exists for this kernel
    bool nft = false;                        // `nft --version` ran
    std::string nft_version;
    bool nft_queue = false;                  // the kernel took a rule with the queue statement
    bool nft_concat_intervals = false;       // ... and an interval set of concatenations (kernel 5.6+)
    std::string nft_error;                   // first line of nft's complaint
    bool iptables = false;                   // iptables-restore/-save and the targets and matches we use
    std::string iptables_version;            // "iptables v1.8.9 (nf_tables)"
    std::string iptables_error;
    bool ip6tables = false;
    std::string ip6tables_error;
    bool ipset = false;                      // ipset ran and created a set
    std::string ipset_version;
    bool conntrack_netlink = false;          // ctnetlink answered (conntrack flush/mark needs it)
    std::string conntrack_error;

    bool queue_available() const { return nfnetlink_queue || nfnetlink_queue_loadable; }
    bool nftables_usable() const { return queue_available() && nft && nft_queue && nft_concat_intervals; }
    bool iptables_usable() const { return queue_available() && iptables && ipset; }
    // One line for the log.
    std::string summary() const;
};

struct ProbeOptions {
    std::vector<std::string> command_prefix;
    CommandRunner runner;                    // empty: run_program() behind command_prefix
    std::string scratch_name = "vgprobe";    // scratch table / chain / set names; removed again
    BackendOptions tools;                    // tool names
};

// Finds out what the kernel supports, by creating and deleting scratch
// objects (an nft table, an iptables chain in the mangle table, ipset sets)
// whose names start with `scratch_name`. Needs CAP_NET_ADMIN.
ProbeResult probe(const ProbeOptions& options = {});

enum class BackendKind { none, nftables, iptables };
const char* to_string(BackendKind kind);

// `requested`: "auto", "nftables" or "iptables". auto: native nftables when
// the kernel takes the queue statement, else iptables + ipset. Returns none
// when the requested backend cannot work here; `why` says why either way.
BackendKind choose_backend(const ProbeResult& probe, std::string_view requested, std::string& why);

// The NFLOG prefix of the kernel's drop samples: "NAME-drop-in" (towards the
// handsets), "NAME-drop-out" (egress allow-list), "NAME-forged-src" or
// "NAME-foreign-src" (voice interface binding): `what` = "drop-in", ...
std::string nflog_prefix(const std::string& name, const char* what);
// "0x20000000".
std::string mark_text(std::uint32_t mark);

// A backend of the given kind (nullptr for none) for rules named `name`
// (RuleSpec::name; install() refuses a spec with another name).
std::unique_ptr<RuleBackend> make_backend(BackendKind kind, const std::string& name, BackendOptions options = {});

}  // namespace vg::kernel
