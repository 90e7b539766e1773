// SPDX-License-Identifier: GPL-2.0-or-later
// The interface audit's probing over loopback: a port that answers with a
// banner, a closed port, a cancelled audit. (Filtered ports and the real
// handset ports: the e2e scenario 35.)
#include "daemon/interface_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace vg::daemon::audit {
namespace {

// A listening socket on 127.0.0.1 and a free port; `listen` false: bound
// only, so a connect to it is refused.
struct Port {
    int fd = -1;
    std::uint16_t port = 0;
    explicit Port(bool listening) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        if (listening) {
            EXPECT_EQ(::listen(fd, 8), 0);
        }
    }
    ~Port() { ::close(fd); }
};

Target loopback() { return Target{*net::IpAddress::parse("127.0.0.1"), "201@pbx", "test phone"}; }

TEST(AuditProbe, BannerOfAnOpenPortAndAClosedPort) {
    Port open(true), closed(false);
    // The server: accepts once, sends a banner, closes.
    std::thread server([&] {
        const int c = ::accept(open.fd, nullptr, nullptr);
        if (c < 0) return;
        const std::string banner = "SSH-2.0-vgtest_1.0\r\n";
        (void)::send(c, banner.data(), banner.size(), MSG_NOSIGNAL);
        ::close(c);
    });
    Limits l;
    // Generous: a loaded machine; nothing here waits for a timeout.
    l.probe_timeout = std::chrono::seconds(20);
    l.total = std::chrono::seconds(60);
    const Report r = run_audit({loopback()}, {open.port, closed.port}, l, nullptr, monotonic_now);
    server.join();
    ASSERT_EQ(r.findings.size(), 2u);
    EXPECT_EQ(r.findings[0].port, open.port);
    EXPECT_EQ(r.findings[0].state, PortState::open);
    EXPECT_EQ(r.findings[0].banner, "SSH-2.0-vgtest_1.0");
    EXPECT_EQ(r.findings[1].port, closed.port);
    EXPECT_EQ(r.findings[1].state, PortState::closed);
    EXPECT_EQ(r.findings[1].banner, "");
    EXPECT_FALSE(r.cancelled);
    EXPECT_EQ(r.count(PortState::open), 1u);
}

TEST(AuditProbe, CancelledBeforeItStartsProbesNothing) {
    Port open(true);
    std::atomic<bool> cancel{true};
    const Report r = run_audit({loopback(), loopback()}, {open.port}, Limits{}, &cancel, monotonic_now);
    ASSERT_EQ(r.findings.size(), 2u);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.count(PortState::not_probed), 2u);
}

TEST(AuditProbe, NoTargetsNoPorts) {
    const Report r = run_audit({}, {23}, Limits{}, nullptr, monotonic_now);
    EXPECT_TRUE(r.findings.empty());
    const Report r2 = run_audit({loopback()}, {}, Limits{}, nullptr, monotonic_now);
    EXPECT_TRUE(r2.findings.empty());
}

}  // namespace
}  // namespace vg::daemon::audit
