// SPDX-License-Identifier: GPL-2.0-or-later
// UDP load generator and counter of the end-to-end benchmark (tests/bench/e2e):
// a paced sender and a receiver that counts what arrived, so that the loss is
// measured where the packets were meant to go.
//
//   udp_blast send --bind ADDR[:PORT] --to ADDR:PORT --rate PPS --seconds S
//                  [--payload FILE]... [--size BYTES] [--rtp] [--batch N] [--burst N]
//   udp_blast recv --bind ADDR:PORT [--seconds MAX] [--idle S]
//
// send: PPS datagrams per second for S seconds (sendmmsg, at most --batch per
// call). The datagrams are the --payload files in turn (e.g. a SIP OPTIONS and
// a NOTIFY), or --size bytes of filler; --rtp makes the first 12 bytes of each
// datagram an RTP header (version 2, PCMU, sequence number and timestamp
// counting up, fixed SSRC), as a G.711 stream has (--rtp --size 172: 20 ms of
// audio per packet). Pacing: packet i is due at
// start + i / PPS; a sender that fell behind (descheduled) catches up with at
// most 10 ms worth of packets (or one batch) and lets the rest of the schedule
// slip, so a late sender never sends one huge burst; the slipped packets are
// counted and the rate actually offered is in the output. --burst N (at most
// --batch) waits until N packets are due and sends them in one call: fewer
// wake-ups and system calls per packet, for measuring what the path costs
// rather than what the pacing does (default 1: each packet when it is due).
//   {"sent":N,"seconds":S,"rate":R,"slipped":N,"errors":N,"cpu_ns":N,"user_ns":N,"system_ns":N}
// errors counts datagrams the kernel refused (ENOBUFS, EPERM from a firewall
// rule on the sending host, ...); they are not in "sent". cpu_ns is the CPU
// time of the process over the sending (CLOCK_PROCESS_CPUTIME_ID, exact),
// user_ns and system_ns its split as getrusage has it (from clock-tick
// samples on most kernels): on veth, the kernel forwards a datagram, through
// every namespace on its way, in the softirq that its sendmmsg raised, so
// the forwarding is in the sender's system time (or in ksoftirqd's).
//
// recv: counts the datagrams arriving at ADDR:PORT. Prints "ready" once bound
// (the caller starts the sender after it), then ends after --seconds, on
// SIGINT/SIGTERM, or - once SIGUSR1 said that the sender is done - after
// --idle seconds without a datagram (the packets still queued on the way
// arrive meanwhile), and prints
//   {"received":N,"bytes":N,"socket_drops":N,"first_to_last":S,"cpu_ns":N}
// (cpu_ns: the receiver's CPU time from "ready" to the end, as for send)
// socket_drops: datagrams the kernel dropped because this socket's receive
// buffer was full (SO_RXQ_OVFL) - part of the loss, reported apart so a slow
// receiver is told from a slow forwarder.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_sender_done = 0;

void on_signal(int) { g_stop = 1; }
void on_sender_done(int) { g_sender_done = 1; }

double now_seconds() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU time of this process, nanoseconds.
long long cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// User and system time of this process (getrusage), nanoseconds.
void rusage_ns(long long& user, long long& system) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    user = static_cast<long long>(u.ru_utime.tv_sec) * 1000000000LL + u.ru_utime.tv_usec * 1000LL;
    system = static_cast<long long>(u.ru_stime.tv_sec) * 1000000000LL + u.ru_stime.tv_usec * 1000LL;
}

void sleep_seconds(double s) {
    if (s <= 0) return;
    timespec ts;
    ts.tv_sec = static_cast<time_t>(s);
    ts.tv_nsec = static_cast<long>((s - static_cast<double>(ts.tv_sec)) * 1e9);
    nanosleep(&ts, nullptr);
}

bool parse_unsigned(const std::string& s, unsigned long max, unsigned long& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v > max) return false;
    out = v;
    return true;
}

bool parse_seconds(const std::string& s, double& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (errno != 0 || *end != '\0' || !(v >= 0) || v > 86400) return false;
    out = v;
    return true;
}

// "ADDR" or "ADDR:PORT" (IPv4 dotted quad) into an address.
bool parse_endpoint(const std::string& text, bool port_required, sockaddr_in& out) {
    std::memset(&out, 0, sizeof out);
    out.sin_family = AF_INET;
    std::string addr = text;
    const std::string::size_type colon = text.rfind(':');
    if (colon != std::string::npos) {
        unsigned long port = 0;
        if (!parse_unsigned(text.substr(colon + 1), 65535, port)) return false;
        out.sin_port = htons(static_cast<std::uint16_t>(port));
        addr = text.substr(0, colon);
    } else if (port_required) {
        return false;
    }
    return inet_pton(AF_INET, addr.c_str(), &out.sin_addr) == 1;
}

int usage() {
    std::fprintf(stderr,
                 "usage: udp_blast send --bind ADDR[:PORT] --to ADDR:PORT --rate PPS --seconds S\n"
                 "                      [--payload FILE]... [--size BYTES] [--rtp] [--batch N] [--burst N]\n"
                 "       udp_blast recv --bind ADDR:PORT [--seconds MAX] [--idle S]\n");
    return 2;
}

void set_buffer(int fd, int force_opt, int opt, int bytes) {
    // Past [rw]mem_max needs CAP_NET_ADMIN (the *FORCE options); else the plain one.
    if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0)
        setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

// -- send ---------------------------------------------------------------------

struct SendOptions {
    sockaddr_in bind_addr{};
    sockaddr_in to{};
    bool have_bind = false;
    bool have_to = false;
    double rate = 0;
    double seconds = 0;
    std::vector<std::string> payloads;
    std::size_t size = 0;
    bool rtp = false;
    unsigned batch = 32;
    unsigned burst = 1;
};

constexpr std::size_t kRtpHeader = 12;

void put_rtp_header(std::string& d, std::uint16_t seq, std::uint32_t stamp) {
    const std::uint32_t ssrc = htonl(0x56474231u);
    const std::uint16_t seq_be = htons(seq);
    const std::uint32_t stamp_be = htonl(stamp);
    d[0] = static_cast<char>(0x80);   // version 2, no padding/extension/CSRC
    d[1] = 0;                         // payload type 0 (PCMU), no marker
    std::memcpy(&d[2], &seq_be, 2);
    std::memcpy(&d[4], &stamp_be, 4);
    std::memcpy(&d[8], &ssrc, 4);
}

int run_send(const SendOptions& o) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        std::perror("udp_blast: socket");
        return 1;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 * 1024 * 1024);
    if (o.have_bind && bind(fd, reinterpret_cast<const sockaddr*>(&o.bind_addr), sizeof o.bind_addr) < 0) {
        std::perror("udp_blast: bind");
        return 1;
    }
    // Not connected: an ICMP port unreachable coming back (no receiver yet)
    // would fail the next send of a connected socket.
    sockaddr_in to = o.to;

    // One datagram buffer per slot of a batch; the payloads in turn.
    std::vector<std::string> kinds = o.payloads;
    if (kinds.empty()) kinds.emplace_back(std::max(o.size, o.rtp ? kRtpHeader : std::size_t{1}), 'v');
    for (auto& k : kinds)
        if (o.rtp && k.size() < kRtpHeader) k.resize(kRtpHeader, '\0');
    const unsigned batch = o.batch;
    std::vector<std::string> data(batch);
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);

    // Sleep precisely (the default 50 us timer slack would make the pacing lumpy).
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    const std::uint64_t total = static_cast<std::uint64_t>(o.rate * o.seconds + 0.5);
    const std::uint64_t catch_up = std::max<std::uint64_t>(batch, static_cast<std::uint64_t>(o.rate * 0.010));
    std::uint64_t scheduled = 0;   // packets due so far (sent + slipped + refused)
    std::uint64_t sent = 0;
    std::uint64_t slipped = 0;
    std::uint64_t errors = 0;
    std::uint64_t next_kind = 0;
    std::uint16_t seq = 0;
    std::uint32_t stamp = 0;
    long long user0 = 0, system0 = 0;
    rusage_ns(user0, system0);
    const long long cpu0 = cpu_ns();
    const double start = now_seconds();
    double end = start;
    while (scheduled < total && !g_stop) {
        const double now = now_seconds();
        std::uint64_t due = std::min<std::uint64_t>(total, static_cast<std::uint64_t>((now - start) * o.rate) + 1);
        // Wait for the next packet (the next --burst packets) to be due.
        const std::uint64_t need = std::min<std::uint64_t>(total, scheduled + o.burst);
        if (due < need) {
            sleep_seconds(static_cast<double>(need - 1) / o.rate - (now - start));
            continue;
        }
        if (due - scheduled > catch_up) {
            const std::uint64_t skip = due - scheduled - catch_up;
            slipped += skip;
            scheduled += skip;
        }
        const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(batch, due - scheduled));
        for (unsigned i = 0; i < n; ++i) {
            data[i] = kinds[next_kind++ % kinds.size()];
            if (o.rtp) {
                put_rtp_header(data[i], seq, stamp);
                ++seq;
                stamp += 160;   // 20 ms of 8 kHz audio per packet
            }
            iov[i].iov_base = &data[i][0];
            iov[i].iov_len = data[i].size();
            std::memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_name = &to;
            msgs[i].msg_hdr.msg_namelen = sizeof to;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        unsigned done = 0;
        while (done < n) {
            const int r = sendmmsg(fd, &msgs[done], n - done, 0);
            if (r < 0) {
                if (errno == EINTR) {
                    if (g_stop) break;
                    continue;
                }
                ++errors;   // this datagram was refused; go on with the next
                ++done;
                continue;
            }
            done += static_cast<unsigned>(r);
            sent += static_cast<unsigned>(r);
        }
        scheduled += n;
        end = now_seconds();
    }
    const long long cpu1 = cpu_ns();
    long long user1 = 0, system1 = 0;
    rusage_ns(user1, system1);
    close(fd);
    const double elapsed = std::max(end - start, 1e-9);
    std::printf("{\"sent\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"slipped\":%llu,\"errors\":%llu,"
                "\"cpu_ns\":%lld,\"user_ns\":%lld,\"system_ns\":%lld}\n",
                static_cast<unsigned long long>(sent), elapsed, static_cast<double>(sent) / elapsed,
                static_cast<unsigned long long>(slipped), static_cast<unsigned long long>(errors), cpu1 - cpu0,
                user1 - user0, system1 - system0);
    return 0;
}

// -- recv ---------------------------------------------------------------------

struct RecvOptions {
    sockaddr_in bind_addr{};
    bool have_bind = false;
    double seconds = 60;
    double idle = 0.3;   // after SIGUSR1
};

int run_recv(const RecvOptions& o) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        std::perror("udp_blast: socket");
        return 1;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, 32 * 1024 * 1024);
    timeval tv{0, 50 * 1000};   // wake up to check the deadlines
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&o.bind_addr), sizeof o.bind_addr) < 0) {
        std::perror("udp_blast: bind");
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    const long long cpu0 = cpu_ns();

    constexpr unsigned kBatch = 256;
    constexpr std::size_t kSlot = 2048;   // longer datagrams are counted, their tail cut
    std::vector<char> bufs(kBatch * kSlot);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    // Room for the SO_RXQ_OVFL control message of each datagram.
    constexpr std::size_t kCtl = CMSG_SPACE(sizeof(std::uint32_t));
    std::vector<char> ctl(kBatch * kCtl);

    std::uint64_t received = 0;
    std::uint64_t bytes = 0;
    std::uint32_t drops = 0;
    const double start = now_seconds();
    double first = 0;
    double last = 0;
    double done_at = 0;   // when SIGUSR1 was seen
    while (!g_stop) {
        for (unsigned i = 0; i < kBatch; ++i) {
            iov[i].iov_base = &bufs[i * kSlot];
            iov[i].iov_len = kSlot;
            std::memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = &ctl[i * kCtl];
            msgs[i].msg_hdr.msg_controllen = kCtl;
        }
        const int r = recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
        const double now = now_seconds();
        if (r > 0) {
            if (received == 0) first = now;
            last = now;
            received += static_cast<unsigned>(r);
            for (int i = 0; i < r; ++i) {
                bytes += msgs[static_cast<unsigned>(i)].msg_len;
                msghdr& h = msgs[static_cast<unsigned>(i)].msg_hdr;
                for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
                        c->cmsg_len >= CMSG_LEN(sizeof(std::uint32_t))) {
                        std::uint32_t v = 0;
                        std::memcpy(&v, CMSG_DATA(c), sizeof v);
                        drops = std::max(drops, v);   // a running total per socket
                    }
                }
            }
        } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            std::perror("udp_blast: recvmmsg");
            close(fd);
            return 1;
        }
        if (now - start >= o.seconds) break;
        if (g_sender_done && done_at == 0) done_at = now;
        if (done_at > 0 && now - std::max(last, done_at) >= o.idle) break;
    }
    close(fd);
    std::printf("{\"received\":%llu,\"bytes\":%llu,\"socket_drops\":%u,\"first_to_last\":%.6f,"
                "\"cpu_ns\":%lld}\n",
                static_cast<unsigned long long>(received), static_cast<unsigned long long>(bytes), drops,
                received > 0 ? last - first : 0.0, cpu_ns() - cpu0);
    return 0;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return !out.empty() && out.size() <= 65507;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string mode = argv[1];
    if (mode != "send" && mode != "recv") return usage();

    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   // no SA_RESTART: a blocked call returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_sender_done;
    sigaction(SIGUSR1, &sa, nullptr);

    SendOptions so;
    RecvOptions ro;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rtp") {
            so.rtp = true;
            continue;
        }
        if (i + 1 >= argc) return usage();
        const std::string v = argv[++i];
        unsigned long n = 0;
        bool ok = true;
        if (a == "--bind") {
            ok = parse_endpoint(v, mode == "recv", mode == "recv" ? ro.bind_addr : so.bind_addr);
            so.have_bind = ro.have_bind = ok;
        } else if (a == "--to") {
            ok = parse_endpoint(v, true, so.to);
            so.have_to = ok;
        } else if (a == "--rate") {
            ok = parse_unsigned(v, 100000000, n) && n > 0;
            so.rate = static_cast<double>(n);
        } else if (a == "--seconds") {
            ok = parse_seconds(v, mode == "recv" ? ro.seconds : so.seconds);
        } else if (a == "--idle") {
            ok = parse_seconds(v, ro.idle);
        } else if (a == "--payload") {
            std::string p;
            ok = read_file(v, p);
            if (!ok) std::fprintf(stderr, "udp_blast: cannot read %s (or empty, or too long)\n", v.c_str());
            so.payloads.push_back(p);
        } else if (a == "--size") {
            ok = parse_unsigned(v, 65507, n) && n > 0;
            so.size = n;
        } else if (a == "--batch") {
            ok = parse_unsigned(v, 1024, n) && n > 0;
            so.batch = static_cast<unsigned>(n);
        } else if (a == "--burst") {
            ok = parse_unsigned(v, 1024, n) && n > 0;
            so.burst = static_cast<unsigned>(n);
        } else {
            ok = false;
        }
        if (!ok) return usage();
    }
    if (mode == "send") {
        if (!so.have_to || so.rate <= 0 || so.burst > so.batch) return usage();
        return run_send(so);
    }
    if (!ro.have_bind) return usage();
    return run_recv(ro);
}
