// SPDX-License-Identifier: GPL-2.0-or-later
// The least an NFQUEUE program can do: bind a queue, receive each packet
// (copied whole, as a SIP inspector needs it) and accept everything with
// batch verdicts (NFQNL_MSG_VERDICT_BATCH: one message accepts every queued
// packet up to an id). Whatever rate this sustains is the upper bound of any
// NFQUEUE daemon on the same machine, voipguard included; the end-to-end
// benchmark compares voipguard with it.
//
//   vg_nfq_trivial [--queue N] [--copy-range BYTES] [--batch N] [--maxlen N]
//                  [--rcvbuf BYTES] [--fail-open]
//
// Runs until SIGINT/SIGTERM, then prints one line:
//   packets=N verdicts=N enobufs=N errors=N
// (verdicts = batch verdict messages sent; enobufs = times the kernel said it
// dropped messages because the socket buffer was full; errors = netlink
// error messages received).
//
// libmnl + libnetfilter_queue's nlmsg helpers (the same API the daemon uses).
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

struct Options {
    std::uint16_t queue = 0;
    std::uint32_t copy_range = 0xffff;
    unsigned batch = 64;            // most packets per verdict
    std::uint32_t maxlen = 4096;    // queue length in the kernel
    int rcvbuf = 8 * 1024 * 1024;
    bool fail_open = false;
};

struct Batch {
    std::uint32_t last_id = 0;
    unsigned pending = 0;
    std::uint64_t packets = 0;
};

int on_packet(const nlmsghdr* nlh, void* data) {
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return MNL_CB_OK;
    nfqnl_msg_packet_hdr hdr;
    std::memcpy(&hdr, mnl_attr_get_payload(attr[NFQA_PACKET_HDR]), sizeof hdr);
    auto* b = static_cast<Batch*>(data);
    b->last_id = ntohl(hdr.packet_id);
    ++b->pending;
    ++b->packets;
    return MNL_CB_OK;
}

bool send_config(mnl_socket* nl, const Options& o) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, o.queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        std::perror("nfq_trivial: bind queue");
        return false;
    }
    nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, o.queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(o.copy_range));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, o.maxlen);
    std::uint32_t flags = NFQA_CFG_F_GSO | (o.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0u);
    std::uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        std::perror("nfq_trivial: queue parameters");
        return false;
    }
    return true;
}

bool send_verdict(mnl_socket* nl, const Options& o, Batch& b, char* buf) {
    nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, o.queue);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(b.last_id), NF_ACCEPT);
    b.pending = 0;
    return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0;
}

bool parse_number(const char* s, unsigned long max, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        unsigned long v = 0;
        const bool has_value = i + 1 < argc;
        if (a == "--queue" && has_value && parse_number(argv[i + 1], 65535, v)) {
            o.queue = static_cast<std::uint16_t>(v);
        } else if (a == "--copy-range" && has_value && parse_number(argv[i + 1], 0xffff, v)) {
            o.copy_range = static_cast<std::uint32_t>(v);
        } else if (a == "--batch" && has_value && parse_number(argv[i + 1], 65536, v) && v > 0) {
            o.batch = static_cast<unsigned>(v);
        } else if (a == "--maxlen" && has_value && parse_number(argv[i + 1], 1u << 20, v) && v > 0) {
            o.maxlen = static_cast<std::uint32_t>(v);
        } else if (a == "--rcvbuf" && has_value && parse_number(argv[i + 1], 1u << 30, v)) {
            o.rcvbuf = static_cast<int>(v);
        } else if (a == "--fail-open") {
            o.fail_open = true;
            continue;
        } else {
            std::fprintf(stderr,
                         "usage: vg_nfq_trivial [--queue N] [--copy-range BYTES] [--batch N] [--maxlen N] "
                         "[--rcvbuf BYTES] [--fail-open]\n");
            return 2;
        }
        ++i;
    }

    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   // no SA_RESTART: a blocked recv returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        std::perror("nfq_trivial: netlink socket");
        return 1;
    }
    const int fd = mnl_socket_get_fd(nl);
    const unsigned portid = mnl_socket_get_portid(nl);
    // Past rmem_max needs CAP_NET_ADMIN (SO_RCVBUFFORCE); fall back quietly.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf, sizeof o.rcvbuf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof o.rcvbuf);
    if (!send_config(nl, o)) return 1;

    const std::size_t size = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
    std::vector<char> buf(size);
    std::vector<char> out(MNL_SOCKET_BUFFER_SIZE);
    Batch b;
    std::uint64_t verdicts = 0;
    std::uint64_t enobufs = 0;
    std::uint64_t errors = 0;   // netlink error messages (NLMSG_ERROR) received
    int status = 0;
    while (!g_stop) {
        // Block for the first packet, then take whatever is queued already
        // (up to --batch packets) before one verdict accepts them all.
        const int flags = b.pending == 0 ? 0 : MSG_DONTWAIT;
        const ssize_t n = recv(fd, buf.data(), buf.size(), flags);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!send_verdict(nl, o, b, out.data())) {
                    std::perror("nfq_trivial: verdict");
                    status = 1;
                    break;
                }
                ++verdicts;
                continue;
            }
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {   // the kernel dropped messages: count and go on
                ++enobufs;
                continue;
            }
            std::perror("nfq_trivial: recv");
            status = 1;
            break;
        }
        if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), 0, portid, on_packet, &b) < 0) ++errors;
        if (b.pending >= o.batch) {
            if (!send_verdict(nl, o, b, out.data())) {
                std::perror("nfq_trivial: verdict");
                status = 1;
                break;
            }
            ++verdicts;
        }
    }
    if (b.pending > 0 && send_verdict(nl, o, b, out.data())) ++verdicts;
    mnl_socket_close(nl);
    std::printf("packets=%llu verdicts=%llu enobufs=%llu errors=%llu\n", static_cast<unsigned long long>(b.packets),
                static_cast<unsigned long long>(verdicts), static_cast<unsigned long long>(enobufs),
                static_cast<unsigned long long>(errors));
    return status;
}
