// SPDX-License-Identifier: GPL-2.0-or-later
// RFC 3164 datagrams to a Unix socket, non-blocking (see log_syslog_sink.h).
// Every syslog daemon voipguard meets listens on a datagram /dev/log
// (systemd-journald, rsyslog, syslog-ng, busybox syslogd, OpenWrt logd).
#include "daemon/log_syslog_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vg::daemon {

std::string rfc3164_header(int priority, std::time_t time, std::string_view ident, long pid) {
    std::tm tm{};
    ::localtime_r(&time, &tm);
    char stamp[32];
    if (std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0) stamp[0] = '\0';
    std::string head = "<" + std::to_string(priority) + ">" + stamp + " ";
    head.append(ident);
    head += "[" + std::to_string(pid) + "]: ";
    return head;
}

SyslogSink::SyslogSink(std::string path, std::string ident, int facility, LogFormat format)
    : path_(std::move(path)), ident_(std::move(ident)), facility_(facility), format_(format), pid_(::getpid()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
}

SyslogSink::~SyslogSink() {
    if (fd_ >= 0) ::close(fd_);
}

bool SyslogSink::send(Severity severity, std::chrono::system_clock::time_point time, std::string_view message) {
    const int pri = facility_.load(std::memory_order_relaxed) | syslog_priority(severity);
    const LogFormat format = format_.load(std::memory_order_relaxed);
    if (format == LogFormat::rfc5424) {
        const LineContext c{pri, severity, time, hostname_, ident_, static_cast<long>(pid_)};
        buf_ = render_rfc5424(c, message, kMaxStructured);
    } else {
        buf_ = rfc3164_header(pri, std::chrono::system_clock::to_time_t(time), ident_, static_cast<long>(pid_));
        if (format == LogFormat::json) {
            const LineContext c{pri, severity, time, hostname_, ident_, static_cast<long>(pid_)};
            buf_ += render_json(c, message, kMaxStructured > buf_.size() ? kMaxStructured - buf_.size() : 0);
        } else {
            if (buf_.size() > kMaxDatagram) buf_.resize(kMaxDatagram);
            buf_.append(message.substr(0, kMaxDatagram - buf_.size()));
        }
    }
    if (send_datagram()) return true;
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool SyslogSink::connect_socket() {
    if (fd_ >= 0) return true;
    sockaddr_un addr{};
    if (path_.empty() || path_.size() >= sizeof addr.sun_path) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return false;
    }
    fd_ = fd;
    return true;
}

bool SyslogSink::send_datagram() {
    // Two tries: the first send after the syslog daemon restarted fails
    // (the old socket is gone), the reconnected one goes through.
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!connect_socket()) return false;
        if (::send(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR) return false;
        ::close(fd_);
        fd_ = -1;
    }
    return false;
}

}  // namespace vg::daemon
