// SPDX-License-Identifier: GPL-2.0-or-later
// Network namespaces for the kernel tests of daemon/netlink: a fresh named
// namespace per test (`ip netns add`), entered by the test thread with
// setns(), left and deleted again by the destructor, also when an assertion
// ends the test early. Commands run with fixed argument vectors
// (fork + execvp), never through a shell.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vg::test {

// Runs argv[0] with argv (PATH lookup), waits, returns the exit status (-1 if
// it could not run or was killed). stdout goes to `out` when given; stderr
// goes to `err` when given, otherwise to /dev/null.
int run_command(const std::vector<std::string>& argv, std::string* out = nullptr, std::string* err = nullptr);

// Why the kernel tests cannot run here, or "" when they can: not root, no
// `ip netns`, or no NETLINK_NETFILTER sockets (for instance under qemu-user).
std::string netns_unavailable_reason();

class TestNetns {
public:
    // Creates the namespace, brings lo up and enters it (this thread).
    // On failure ok() is false and reason() says why.
    TestNetns();
    ~TestNetns();
    TestNetns(const TestNetns&) = delete;
    TestNetns& operator=(const TestNetns&) = delete;

    bool ok() const noexcept { return ok_; }
    const std::string& reason() const noexcept { return reason_; }
    const std::string& name() const noexcept { return name_; }

    // Runs argv inside the namespace (`ip netns exec NAME argv...`).
    int exec(const std::vector<std::string>& argv, std::string* out = nullptr, std::string* err = nullptr) const;
    // Runs argv and reports a failure as a GoogleTest failure; true if it exited 0.
    bool must(const std::vector<std::string>& argv) const;

private:
    std::string name_;
    std::string reason_;
    int original_ns_ = -1;
    bool created_ = false;
    bool entered_ = false;
    bool ok_ = false;
};

// A UDP socket on loopback inside the current namespace.
class UdpSocket {
public:
    explicit UdpSocket(bool v6 = false);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    bool bind(std::uint16_t port);  // to 127.0.0.1 or ::1
    bool send_to(std::uint16_t port, const std::string& data);
    // Waits up to timeout_ms for one datagram; false if none came.
    bool receive(std::string& data, int timeout_ms);
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
    bool v6_ = false;
};

// Waits until `fd` is readable (true) or timeout_ms passed (false).
bool wait_readable(int fd, int timeout_ms);

}  // namespace vg::test
