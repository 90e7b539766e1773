// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/interface_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace vg::daemon::audit {

namespace {

// After the first bytes of a banner, this much silence ends the read: a
// telnet server's negotiation or a login prompt has no line end to wait for.
constexpr Duration kQuietAfterData = std::chrono::milliseconds(300);
// The poll() wait is at most this long, so a cancel is seen soon.
constexpr Duration kMaxWait = std::chrono::milliseconds(100);

enum class Phase : std::uint8_t { connecting, reading };

struct Probe {
    std::size_t finding = 0;   // index into Report::findings
    Service service = Service::other;
    int fd = -1;
    Phase phase = Phase::connecting;
    Timestamp deadline{};
    std::string received;
};

// A connect error that means "refused": a TCP reset answered the SYN.
PortState state_of_error(int err) noexcept { return err == ECONNREFUSED ? PortState::closed : PortState::filtered; }

// Starts a non-blocking connect. Sets `state` and returns -1 when it failed at once.
int start_connect(const net::IpAddress& a, std::uint16_t port, PortState& state) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, a.bytes(), 4);
        len = sizeof(sockaddr_in);
    } else if (a.is_v6()) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, a.bytes(), 16);
        len = sizeof(sockaddr_in6);
    } else {
        state = PortState::filtered;
        return -1;
    }
    const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        state = PortState::not_probed;   // out of descriptors: nothing was sent
        return -1;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 || errno == EINPROGRESS) return fd;
    state = state_of_error(errno);
    ::close(fd);
    return -1;
}

int poll_timeout_ms(Timestamp now, Timestamp until) {
    Duration d = until - now;
    if (d < Duration::zero()) d = Duration::zero();
    if (d > kMaxWait) d = kMaxWait;
    // Round up: a wait of 0.4 ms must not become a busy loop of 0 ms polls.
    return static_cast<int>((std::chrono::duration_cast<std::chrono::microseconds>(d).count() + 999) / 1000);
}

}  // namespace

Timestamp monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Timestamp{} + std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

Report run_audit(std::vector<Target> targets, const std::vector<std::uint16_t>& ports, const Limits& limits,
                 const std::atomic<bool>* cancel, const Clock& clock) {
    Report r;
    r.targets = std::move(targets);
    r.ports = ports;
    r.limits = limits;
    const std::size_t nt = r.targets.size(), np = ports.size();
    r.findings.resize(nt * np);
    for (std::size_t t = 0; t < nt; ++t) {
        for (std::size_t p = 0; p < np; ++p) {
            Finding& f = r.findings[t * np + p];
            f.target = t;
            f.port = ports[p];
        }
    }
    const Timestamp start = clock();
    Scheduler sched(limits, nt * np, start);
    std::vector<Probe> flight;
    std::vector<pollfd> pfds;

    const auto finish = [&](std::size_t i, PortState state) {
        Probe& pr = flight[i];
        Finding& f = r.findings[pr.finding];
        f.state = state;
        if (state == PortState::open) f.banner = banner_text(pr.service, pr.received);
        if (pr.fd >= 0) ::close(pr.fd);
        flight.erase(flight.begin() + static_cast<std::ptrdiff_t>(i));
        sched.finished();
    };
    // Connected: send the service's request, or finish when nothing is to be read.
    const auto connected = [&](std::size_t i, Timestamp now) -> bool {
        Probe& pr = flight[i];
        if (pr.service == Service::https) {
            finish(i, PortState::open);
            return false;
        }
        const std::string_view req = request_for(pr.service);
        if (!req.empty()) (void)::send(pr.fd, req.data(), req.size(), MSG_NOSIGNAL);
        pr.phase = Phase::reading;
        pr.deadline = now + limits.probe_timeout;
        return true;
    };

    for (;;) {
        Timestamp now = clock();
        if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
            r.cancelled = true;
            break;
        }
        while (auto k = sched.next(now)) {
            const ProbeIndex ix = probe_index(*k, nt);
            const std::size_t fi = ix.target * np + ix.port;
            Probe pr;
            pr.finding = fi;
            pr.service = service_of(ports[ix.port]);
            PortState st = PortState::filtered;
            pr.fd = start_connect(r.targets[ix.target].address, ports[ix.port], st);
            if (pr.fd < 0) {
                r.findings[fi].state = st;
                sched.finished();
                continue;
            }
            pr.deadline = now + limits.probe_timeout;
            flight.push_back(std::move(pr));
        }
        if (sched.done(now) && flight.empty()) break;

        // Probes past their deadline.
        for (std::size_t i = 0; i < flight.size();) {
            if (now < flight[i].deadline) {
                ++i;
                continue;
            }
            finish(i, flight[i].phase == Phase::connecting ? PortState::filtered : PortState::open);
        }

        Timestamp wake = now + kMaxWait;
        if (const auto s = sched.next_slot(now); s && *s < wake) wake = *s;
        pfds.clear();
        for (const Probe& pr : flight) {
            wake = std::min(wake, pr.deadline);
            pfds.push_back(pollfd{pr.fd, static_cast<short>(pr.phase == Phase::connecting ? POLLOUT : POLLIN), 0});
        }
        const int n = ::poll(pfds.data(), pfds.size(), poll_timeout_ms(now, wake));
        if (n <= 0) continue;
        now = clock();
        // Walk backwards: finish() removes from `flight`, whose order matches pfds.
        for (std::size_t j = pfds.size(); j-- > 0;) {
            if (pfds[j].revents == 0) continue;
            Probe& pr = flight[j];
            if (pr.phase == Phase::connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                if (::getsockopt(pr.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                if (err != 0) {
                    finish(j, state_of_error(err));
                    continue;
                }
                (void)connected(j, now);
                continue;
            }
            char buf[512];
            const std::size_t room = kMaxRead - std::min(kMaxRead, pr.received.size());
            const ssize_t got = ::recv(pr.fd, buf, std::min(room, sizeof buf), 0);
            if (got > 0) {
                pr.received.append(buf, static_cast<std::size_t>(got));
                if (banner_complete(pr.service, pr.received)) {
                    finish(j, PortState::open);
                    continue;
                }
                pr.deadline = std::min(pr.deadline, now + kQuietAfterData);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                finish(j, PortState::open);   // closed or reset after accepting: it answered
            }
        }
    }
    for (Probe& pr : flight) {
        if (pr.fd >= 0) ::close(pr.fd);
        r.findings[pr.finding].state = PortState::not_probed;
    }
    r.elapsed = clock() - start;
    return r;
}

}  // namespace vg::daemon::audit
