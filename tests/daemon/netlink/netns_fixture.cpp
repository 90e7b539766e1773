// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/daemon/netlink/netns_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace vg::test {

namespace {

void read_all(int fd, std::string* into) {
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            if (into != nullptr) into->append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return;
    }
}

}  // namespace

int run_command(const std::vector<std::string>& argv, std::string* out, std::string* err) {
    if (argv.empty()) return -1;
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    if (out != nullptr && pipe2(out_pipe, O_CLOEXEC) != 0) return -1;
    if (err != nullptr && pipe2(err_pipe, O_CLOEXEC) != 0) return -1;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, STDIN_FILENO);
        dup2(out != nullptr ? out_pipe[1] : devnull, STDOUT_FILENO);
        dup2(err != nullptr ? err_pipe[1] : devnull, STDERR_FILENO);
        execvp(args[0], args.data());
        _exit(127);
    }
    if (out != nullptr) close(out_pipe[1]);
    if (err != nullptr) close(err_pipe[1]);
    // Small outputs: read stdout, then stderr (a full stderr pipe would need
    // more than 64 KiB of error text).
    if (out != nullptr) {
        read_all(out_pipe[0], out);
        close(out_pipe[0]);
    }
    if (err != nullptr) {
        read_all(err_pipe[0], err);
        close(err_pipe[0]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string netns_unavailable_reason() {
    if (geteuid() != 0) return "needs root (network namespaces, iptables, netlink queue binding)";
    std::string out;
    if (run_command({"ip", "netns", "list"}, &out) != 0) return "`ip netns` is not available";
    if (run_command({"iptables", "--version"}) != 0) return "iptables is not available";
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return std::string("no NETLINK_NETFILTER sockets here: ") + std::strerror(errno);
    close(fd);
    return {};
}

TestNetns::TestNetns() {
    static std::atomic<unsigned> counter{0};
    name_ = "vgnl-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    std::string err;
    if (run_command({"ip", "netns", "add", name_}, nullptr, &err) != 0) {
        reason_ = "ip netns add " + name_ + " failed: " + err;
        return;
    }
    created_ = true;
    original_ns_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (original_ns_ < 0 || target < 0) {
        reason_ = "cannot open namespace files: " + std::string(std::strerror(errno));
        if (target >= 0) close(target);
        return;
    }
    if (setns(target, CLONE_NEWNET) != 0) {
        reason_ = "setns failed: " + std::string(std::strerror(errno));
        close(target);
        return;
    }
    close(target);
    entered_ = true;
    if (run_command({"ip", "link", "set", "lo", "up"}, nullptr, &err) != 0) {
        reason_ = "ip link set lo up failed: " + err;
        return;
    }
    ok_ = true;
}

TestNetns::~TestNetns() {
    if (entered_ && original_ns_ >= 0) setns(original_ns_, CLONE_NEWNET);
    if (original_ns_ >= 0) close(original_ns_);
    if (created_) run_command({"ip", "netns", "delete", name_});
}

int TestNetns::exec(const std::vector<std::string>& argv, std::string* out, std::string* err) const {
    std::vector<std::string> full = {"ip", "netns", "exec", name_};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, out, err);
}

bool TestNetns::must(const std::vector<std::string>& argv) const {
    std::string err;
    const int rc = exec(argv, nullptr, &err);
    if (rc == 0) return true;
    std::string line;
    for (const auto& a : argv) line += a + " ";
    ADD_FAILURE() << "command failed (" << rc << "): " << line << "\n" << err;
    return false;
}

UdpSocket::UdpSocket(bool v6) : v6_(v6) {
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0) close(fd_);
}

namespace {

socklen_t loopback(bool v6, std::uint16_t port, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof(ss));
    if (v6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        std::memcpy(&ss, &a, sizeof(a));
        return sizeof(a);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::memcpy(&ss, &a, sizeof(a));
    return sizeof(a);
}

}  // namespace

bool UdpSocket::bind(std::uint16_t port) {
    sockaddr_storage ss;
    const socklen_t len = loopback(v6_, port, ss);
    return fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&ss), len) == 0;
}

bool UdpSocket::send_to(std::uint16_t port, const std::string& data) {
    sockaddr_storage ss;
    const socklen_t len = loopback(v6_, port, ss);
    const ssize_t n = sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&ss), len);
    return n == static_cast<ssize_t>(data.size());
}

bool UdpSocket::receive(std::string& data, int timeout_ms) {
    if (!wait_readable(fd_, timeout_ms)) return false;
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) return false;
    data.assign(buf, static_cast<std::size_t>(n));
    return true;
}

bool wait_readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    for (;;) {
        const int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

}  // namespace vg::test
