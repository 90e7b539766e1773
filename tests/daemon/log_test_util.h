// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the logging tests: events as the engine reports them, and a Unix
// datagram socket standing in for /dev/log.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "filters/engine/events.h"

namespace vg::daemon::test {

inline net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

inline engine::Event toll_fraud_event() {
    engine::Event e;
    e.type = engine::EventType::toll_fraud;
    e.handset = ip("192.168.20.10");
    e.source = e.handset;
    e.source_port = 5060;
    e.destination = ip("198.51.100.10");
    e.destination_port = 5060;
    e.protocol = 17;
    e.method.assign("INVITE");
    e.number.assign("+88213000001");
    e.dialled.assign("0088213000001");
    e.rule.assign("deny_prefix:+882");
    e.call_id.assign("8f2d1c@192.168.20.10");
    e.user_agent.assign("Yealink SIP-T46S 66.86.0.15");
    return e;
}

inline engine::Event unlisted(const char* source) {
    engine::Event e;
    e.type = engine::EventType::unlisted_source;
    e.source = ip(source);
    return e;
}

// A Unix datagram socket standing in for /dev/log.
class SyslogListener {
public:
    SyslogListener() {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vg-log-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) return;
        dir_ = templ;
        path_ = dir_ + "/log";
        bind_socket();
    }
    // Closes the socket and binds a new one at the same path.
    void rebind() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
        bind_socket();
    }
    ~SyslogListener() {
        if (fd_ >= 0) ::close(fd_);
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    bool ok() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }
    const std::string& dir() const { return dir_; }

    // Every datagram sent so far (send() on the logger's side has returned,
    // so they are all queued: no waiting).
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) break;
            out.emplace_back(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

private:
    void bind_socket() {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    std::string dir_, path_;
    int fd_ = -1;
};

// "<PRI>Mmm dd hh:mm:ss voipguard[PID]: " -> the message, or "" if the header is wrong.
inline std::string message_of(const std::string& datagram, int pri) {
    const std::regex header("^<" + std::to_string(pri) +
                            ">[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] voipguard\\[" +
                            std::to_string(::getpid()) + "\\]: ");
    std::smatch m;
    if (!std::regex_search(datagram, m, header)) return "";
    return datagram.substr(static_cast<std::size_t>(m.length(0)));
}

}  // namespace vg::daemon::test
