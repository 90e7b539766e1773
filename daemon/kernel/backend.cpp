// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/backend.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon/kernel/iptables_backend.h"
#include "daemon/kernel/nftables_backend.h"
#include "filters/util/text.h"

namespace vg::kernel {

namespace {

std::string first_line(const std::string& s) {
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) {
        const auto t = text::trim_wsp(line);
        if (!t.empty()) return std::string(t);
    }
    return {};
}

bool file_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

bool file_mentions(const std::string& path, const std::string& needle) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.find(needle) != std::string::npos) return true;
    return false;
}

// A module file for the running kernel: modules.builtin / modules.dep of
// depmod, or OpenWrt's flat /lib/modules/VERSION/NAME.ko.
bool module_available(const std::string& module) {
    utsname u{};
    if (uname(&u) != 0) return false;
    const std::string dir = std::string("/lib/modules/") + u.release + "/";
    const std::string ko = "/" + module + ".ko";
    return file_exists(dir + module + ".ko") || file_mentions(dir + "modules.builtin", ko) ||
           file_mentions(dir + "modules.dep", ko);
}

// Asks ctnetlink for its statistics (IPCTNL_MSG_CT_GET_STATS): an answer or
// an ack means conntrack is reachable over netlink.
bool probe_ctnetlink(std::string& error) {
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) {
        error = std::string("netlink socket: ") + std::strerror(errno);
        return false;
    }
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(sizeof(nfgenmsg));
    h.nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS);
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h.nlmsg_seq = 1;
    nfgenmsg g{};
    g.nfgen_family = AF_UNSPEC;
    g.version = NFNETLINK_V0;
    unsigned char req[NLMSG_SPACE(sizeof(nfgenmsg))] = {};
    std::memcpy(req, &h, sizeof h);
    std::memcpy(req + NLMSG_HDRLEN, &g, sizeof g);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, req, h.nlmsg_len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
        error = std::string("netlink send: ") + std::strerror(errno);
        close(fd);
        return false;
    }
    bool answered = false;
    for (int round = 0; round < 8; ++round) {
        unsigned char buf[8192];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = std::string("netlink receive: ") + std::strerror(errno);
            break;
        }
        std::size_t off = 0;
        bool done = false;
        while (off + sizeof(nlmsghdr) <= static_cast<std::size_t>(n)) {
            nlmsghdr m;
            std::memcpy(&m, buf + off, sizeof m);
            if (m.nlmsg_len < sizeof(nlmsghdr) || off + m.nlmsg_len > static_cast<std::size_t>(n)) break;
            if (m.nlmsg_type == NLMSG_ERROR && m.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
                nlmsgerr e;
                std::memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof e);
                if (e.error == 0) {
                    answered = true;
                } else {
                    error = std::string("ctnetlink: ") + std::strerror(-e.error);
                    answered = false;
                }
                done = true;
                break;
            }
            if (m.nlmsg_type == NLMSG_DONE) {
                done = true;
                break;
            }
            answered = true;
            off += NLMSG_ALIGN(m.nlmsg_len);
        }
        if (done) break;
    }
    close(fd);
    if (answered) error.clear();
    return answered;
}

}  // namespace

CommandRunner runner_for(const BackendOptions& options) {
    if (options.runner) return options.runner;
    return make_runner(options.command_prefix, options.timeout);
}

std::string nflog_prefix(const std::string& name, const char* what) { return name + "-" + what; }

std::string mark_text(std::uint32_t mark) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(mark));
    return buf;
}

std::string ProbeResult::summary() const {
    const auto yn = [](bool b) { return b ? "yes" : "no"; };
    std::string s = "nfnetlink_queue ";
    s += nfnetlink_queue ? "loaded" : nfnetlink_queue_loadable ? "loadable" : "missing";
    s += ", nft ";
    if (nft) {
        s += nft_version + " (queue statement " + yn(nft_queue) + ", concatenated intervals " +
             yn(nft_concat_intervals) + ")";
    } else {
        s += "missing";
    }
    s += ", iptables ";
    s += iptables ? iptables_version : std::string("no");
    s += ", ip6tables ";
    s += yn(ip6tables);
    s += ", ipset ";
    s += ipset ? ipset_version : std::string("no");
    s += ", ctnetlink ";
    s += yn(conntrack_netlink);
    return s;
}

ProbeResult probe(const ProbeOptions& options) {
    ProbeResult p;
    BackendOptions tools = options.tools;
    tools.command_prefix = options.command_prefix;
    if (options.runner) tools.runner = options.runner;
    const CommandRunner run = runner_for(tools);
    const std::string& scratch = options.scratch_name;

    p.nfnetlink_queue = file_exists("/proc/net/netfilter/nfnetlink_queue");
    p.nfnetlink_queue_loadable = p.nfnetlink_queue || module_available("nfnetlink_queue");

    // nftables: a scratch table, created and deleted in one transaction; the
    // kernel still checks every expression on the way.
    ExecResult r = run({tools.nft, "--version"}, {});
    if (r.ok()) {
        p.nft = true;
        p.nft_version = first_line(r.out);
        const std::string head = "table inet " + scratch + " {}\ndelete table inet " + scratch + "\n";
        const std::string tail = "delete table inet " + scratch + "\n";
        r = run({tools.nft, "-f", "-"},
                head + "table inet " + scratch + " {\n\tchain c {\n\t\tmeta l4proto udp queue num 0 bypass\n\t}\n}\n" +
                    tail);
        p.nft_queue = r.ok();
        if (!r.ok()) p.nft_error = "queue statement: " + first_line(r.err.empty() ? r.error : r.err);
        r = run({tools.nft, "-f", "-"},
                head + "table inet " + scratch +
                    " {\n\tset s {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tflags interval\n"
                    "\t\telements = { 192.0.2.0/24 . tcp . 1-2 }\n\t}\n}\n" +
                    tail);
        p.nft_concat_intervals = r.ok();
        if (!r.ok() && p.nft_error.empty())
            p.nft_error = "concatenated intervals: " + first_line(r.err.empty() ? r.error : r.err);
    } else {
        p.nft_error = first_line(r.error.empty() ? r.err : r.error);
    }

    // ipset: scratch sets of the two types the backend uses.
    r = run({tools.ipset, "version"}, {});
    if (r.ok()) {
        p.ipset_version = first_line(r.out);
        r = run({tools.ipset, "restore"}, "create -exist " + scratch + "4 hash:net family inet\n" + "create -exist " +
                                              scratch + "6 hash:net family inet6\n" + "create -exist " + scratch +
                                              "p4 hash:net,port family inet\n" + "create -exist " + scratch +
                                              "p6 hash:net,port family inet6\n");
        p.ipset = r.ok();
    }

    // iptables / ip6tables: a scratch chain in the mangle table (and one in
    // the filter table) with every match and target the backend uses, then
    // the chains are deleted again.
    struct Fam {
        const std::string& save;
        const std::string& restore;
        const char* v;
        bool* ok;
        std::string* error;
    };
    const Fam fams[] = {{tools.iptables_save, tools.iptables_restore, "4", &p.iptables, &p.iptables_error},
                        {tools.ip6tables_save, tools.ip6tables_restore, "6", &p.ip6tables, &p.ip6tables_error}};
    for (const auto& f : fams) {
        r = run({f.restore, "--version"}, {});
        if (!r.ok()) {
            *f.error = first_line(r.error.empty() ? r.err : r.error);
            continue;
        }
        if (f.v[0] == '4') p.iptables_version = first_line(r.out);
        std::string rules = "*mangle\n:" + scratch + " - [0:0]\n";
        const std::string chain = "-A " + scratch;
        rules += chain + " -p udp -m multiport --ports 5060 -m comment --comment " + scratch +
                 " -j NFQUEUE --queue-num 0 --queue-bypass\n";
        rules += chain + " -m connmark --mark 0x1/0x1 -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY"
                         " -j RETURN\n";
        rules += chain + " -p udp -m udp --sport 1:2 -m limit --limit 1/second --limit-burst 1 -j NFLOG"
                         " --nflog-group 1 --nflog-prefix " +
                 scratch + "\n";
        rules += chain + " -m mark --mark 0x1/0x1 -j CONNMARK --save-mark --nfmask 0x1 --ctmask 0x1\n";
        rules += chain + " -j MARK --set-xmark 0x1/0x1\n";
        if (p.ipset) {
            rules += chain + " -m set --match-set " + scratch + f.v + " src -m set ! --match-set " + scratch + f.v +
                     " dst -j DROP\n";
            rules += chain + " -m set --match-set " + scratch + "p" + f.v + " src,dst -j RETURN\n";
        }
        rules += "COMMIT\n";
        // The reset rule for cut TCP streams: REJECT, in the filter table.
        rules += "*filter\n:" + scratch + " - [0:0]\n" + chain +
                 " -p tcp -m mark --mark 0x1/0x1 -j REJECT --reject-with tcp-reset\nCOMMIT\n";
        // -w: another tool holding the xtables lock is waited for, as the
        // backend does.
        std::vector<std::string> restore{f.restore};
        if (tools.xtables_wait_seconds > 0) {
            restore.push_back("-w");
            restore.push_back(std::to_string(tools.xtables_wait_seconds));
        }
        restore.push_back("--noflush");
        r = run(restore, rules);
        *f.ok = r.ok();
        if (!r.ok()) *f.error = first_line(r.error.empty() ? r.err : r.error);
        run(restore, "*mangle\n-F " + scratch + "\n-X " + scratch + "\nCOMMIT\n");
        run(restore, "*filter\n-F " + scratch + "\n-X " + scratch + "\nCOMMIT\n");
        // The chain may not exist (creation failed): that is fine.
    }
    if (p.ipset || !p.ipset_version.empty()) {
        for (const char* s : {"4", "6", "p4", "p6"}) run({tools.ipset, "destroy", scratch + s}, {});
    }

    p.conntrack_netlink = probe_ctnetlink(p.conntrack_error);
    return p;
}

const char* to_string(BackendKind kind) {
    switch (kind) {
    case BackendKind::nftables: return "nftables";
    case BackendKind::iptables: return "iptables";
    case BackendKind::none: break;
    }
    return "none";
}

namespace {

std::string why_not_nftables(const ProbeResult& p) {
    if (!p.queue_available()) return "nfnetlink_queue is not available";
    if (!p.nft) return "nft is not installed";
    if (!p.nft_queue)
        return "the kernel refuses the nft queue statement (nft_queue / kmod-nft-queue missing" +
               (p.nft_error.empty() ? std::string(")") : "; " + p.nft_error + ")");
    if (!p.nft_concat_intervals)
        return "the kernel refuses interval sets of concatenations (Linux 5.6+ needed" +
               (p.nft_error.empty() ? std::string(")") : "; " + p.nft_error + ")");
    return {};
}

std::string why_not_iptables(const ProbeResult& p) {
    if (!p.queue_available()) return "nfnetlink_queue is not available";
    if (!p.ipset)
        return p.ipset_version.empty() ? "ipset is not installed" : "ipset is not available (the kernel refused a set)";
    if (!p.iptables)
        return "iptables-restore with NFQUEUE is not available" +
               (p.iptables_error.empty() ? std::string() : " (" + p.iptables_error + ")");
    return {};
}

std::string iptables_detail(const ProbeResult& p) {
    std::string s = p.iptables_version + " and " + p.ipset_version;
    if (!p.ip6tables)
        s += "; no ip6tables, IPv6 is not filtered" + (p.ip6tables_error.empty() ? std::string() : " (" +
                                                                                                    p.ip6tables_error + ")");
    return s;
}

}  // namespace

BackendKind choose_backend(const ProbeResult& p, std::string_view requested, std::string& why) {
    if (requested == "nftables") {
        if (p.nftables_usable()) {
            why = "nftables (as configured): " + p.nft_version;
            return BackendKind::nftables;
        }
        why = "nftables was requested, but " + why_not_nftables(p);
        return BackendKind::none;
    }
    if (requested == "iptables") {
        if (p.iptables_usable()) {
            why = "iptables + ipset (as configured): " + iptables_detail(p);
            return BackendKind::iptables;
        }
        why = "iptables was requested, but " + why_not_iptables(p);
        return BackendKind::none;
    }
    if (requested != "auto") {
        why = "unknown rule backend \"" + std::string(requested) + "\" (auto, nftables or iptables)";
        return BackendKind::none;
    }
    if (p.nftables_usable()) {
        why = "nftables: the kernel takes the queue statement (" + p.nft_version + ")";
        return BackendKind::nftables;
    }
    if (p.iptables_usable()) {
        why = "iptables + ipset, because for nftables " + why_not_nftables(p) + ": " + iptables_detail(p);
        return BackendKind::iptables;
    }
    why = "no usable rule backend: nftables: " + why_not_nftables(p) + "; iptables: " + why_not_iptables(p);
    return BackendKind::none;
}

std::unique_ptr<RuleBackend> make_backend(BackendKind kind, const std::string& name, BackendOptions options) {
    switch (kind) {
    case BackendKind::nftables: return std::make_unique<NftablesBackend>(name, std::move(options));
    case BackendKind::iptables: return std::make_unique<IptablesBackend>(name, std::move(options));
    case BackendKind::none: break;
    }
    return nullptr;
}

}  // namespace vg::kernel
