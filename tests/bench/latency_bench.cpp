// SPDX-License-Identifier: GPL-2.0-or-later
// vg_latency_probe: the two ends of the verdict-latency benchmark
// (tests/bench/latency). The sender writes its clock into every datagram just
// before sending it; the receiver takes the kernel's receive timestamp
// (SO_TIMESTAMPNS) and keeps the difference. Sender and receiver run in
// network namespaces of the same machine, so they share CLOCK_REALTIME: the
// difference is the packet's time through the router - its wait in the queue,
// the daemon's verdict, and a few microseconds of forwarding that the same
// measurement through a router without voipguard shows.
//
//   vg_latency_probe send --bind ADDR --to ADDR:PORT --rate PPS --seconds S --payload FILE
//       FILE is a datagram with the marker @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ (30
//       characters), replaced in each copy by its sequence number and send
//       time ("SSSSSSSSS-NNNNNNNNNNNNNNNNNNNN": 9 + 1 + 20 digits). Prints
//       {"sent":N,"seconds":S} when done.
//   vg_latency_probe recv --bind ADDR:PORT
//       Until SIGTERM or SIGINT, then prints {"received":N,"p50_us":..,
//       "p99_us":..,"p999_us":..,"max_us":..,"over_1ms":N,"over_5ms":N}
//       and then the ten worst packets, "worst SEND_TIME_NS LATENCY_US".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr const char* kMarker = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
constexpr std::size_t kMarkerLen = 30;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool parse_endpoint(const std::string& s, sockaddr_in& out, bool need_port) {
    out = sockaddr_in{};
    out.sin_family = AF_INET;
    std::string host = s;
    const auto colon = s.rfind(':');
    if (colon != std::string::npos) {
        host = s.substr(0, colon);
        const long port = std::strtol(s.c_str() + colon + 1, nullptr, 10);
        if (port <= 0 || port > 65535) return false;
        out.sin_port = htons(static_cast<std::uint16_t>(port));
    } else if (need_port) {
        return false;
    }
    return inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1;
}

int usage() {
    std::fprintf(stderr,
                 "usage: vg_latency_probe send --bind ADDR --to ADDR:PORT --rate PPS --seconds S --payload FILE\n"
                 "       vg_latency_probe recv --bind ADDR:PORT\n");
    return 2;
}

int do_send(int argc, char** argv) {
    std::string bind_s, to_s, payload_path;
    double rate = 0, seconds = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--bind") bind_s = v;
        else if (k == "--to") to_s = v;
        else if (k == "--rate") rate = std::atof(v.c_str());
        else if (k == "--seconds") seconds = std::atof(v.c_str());
        else if (k == "--payload") payload_path = v;
        else return usage();
    }
    sockaddr_in src{}, dst{};
    if (!parse_endpoint(bind_s, src, false) || !parse_endpoint(to_s, dst, true) || rate <= 0 || seconds <= 0)
        return usage();
    std::ifstream f(payload_path, std::ios::binary);
    std::string payload((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto at = payload.find(kMarker);
    if (!f || at == std::string::npos) {
        std::fprintf(stderr, "vg_latency_probe: %s: no marker in the payload\n", payload_path.c_str());
        return 2;
    }
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        std::perror("vg_latency_probe: bind");
        return 1;
    }
    const std::int64_t interval = static_cast<std::int64_t>(1e9 / rate);
    const std::uint64_t total = static_cast<std::uint64_t>(rate * seconds);
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    std::uint64_t sent = 0;
    char stamp[kMarkerLen + 1];
    for (std::uint64_t seq = 0; seq < total && !g_stop; ++seq) {
        std::int64_t ns = next.tv_nsec + interval;
        next.tv_sec += static_cast<time_t>(ns / 1000000000);
        next.tv_nsec = static_cast<long>(ns % 1000000000);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR && !g_stop) {
        }
        std::snprintf(stamp, sizeof stamp, "%09" PRIu64 "-%020" PRId64, seq % 1000000000, realtime_ns());
        std::memcpy(&payload[at], stamp, kMarkerLen);
        if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) ==
            static_cast<ssize_t>(payload.size()))
            ++sent;
    }
    std::printf("{\"sent\":%" PRIu64 ",\"seconds\":%.3f}\n", sent, seconds);
    close(fd);
    return 0;
}

int do_recv(int argc, char** argv) {
    std::string bind_s;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--bind") bind_s = argv[i + 1];
        else return usage();
    }
    sockaddr_in addr{};
    if (!parse_endpoint(bind_s, addr, true)) return usage();
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int on = 1, buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("vg_latency_probe: bind");
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    std::vector<std::int64_t> lat;   // nanoseconds
    lat.reserve(1 << 20);
    // The worst packets, with their send time (to find what the router was
    // doing then): (latency, send time) pairs, the ten largest.
    std::vector<std::pair<std::int64_t, std::int64_t>> worst;
    std::uint64_t unreadable = 0;
    char data[4096];
    char control[256];
    while (!g_stop) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        iovec iov{data, sizeof data};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        const ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
        if (n <= 0) continue;
        std::int64_t rx = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                rx = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
            }
        }
        // The stamp: 9 digits, '-', 20 digits, somewhere in the datagram.
        const std::string_view d(data, static_cast<std::size_t>(n));
        std::int64_t tx = 0;
        for (std::size_t i = 9; i + 21 <= d.size(); ++i) {
            if (d[i] != '-') continue;
            bool digits = true;
            for (std::size_t k = i - 9; k < i + 21 && digits; ++k)
                if (k != i) digits = d[k] >= '0' && d[k] <= '9';
            if (!digits) continue;
            tx = std::strtoll(std::string(d.substr(i + 1, 20)).c_str(), nullptr, 10);
            break;
        }
        if (rx == 0 || tx == 0 || rx < tx) {
            ++unreadable;
            continue;
        }
        lat.push_back(rx - tx);
        worst.emplace_back(rx - tx, tx);
        if (worst.size() > 64) {
            std::sort(worst.rbegin(), worst.rend());
            worst.resize(10);
        }
    }
    std::sort(worst.rbegin(), worst.rend());
    if (worst.size() > 10) worst.resize(10);
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) -> double {
        if (lat.empty()) return 0;
        const std::size_t i = std::min(lat.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lat.size())));
        return static_cast<double>(lat[i]) / 1000.0;
    };
    const auto over = [&](std::int64_t ns) {
        return static_cast<std::size_t>(lat.end() - std::upper_bound(lat.begin(), lat.end(), ns));
    };
    std::printf("{\"received\":%zu,\"unreadable\":%" PRIu64
                ",\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"over_1ms\":%zu,\"over_5ms\":%zu}\n",
                lat.size(), unreadable, pct(0.5), pct(0.99), pct(0.999), lat.empty() ? 0.0 : lat.back() / 1000.0,
                over(1000000), over(5000000));
    // Then one line per worst packet: "worst SEND_TIME_NS LATENCY_US".
    for (const auto& [l, t] : worst) std::printf("worst %" PRId64 " %.1f\n", t, static_cast<double>(l) / 1000.0);
    close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    if (argc < 2) return usage();
    const std::string cmd = argv[1];
    if (cmd == "send") return do_send(argc, argv);
    if (cmd == "recv") return do_recv(argc, argv);
    return usage();
}
