// SPDX-License-Identifier: GPL-2.0-or-later
// The syslog sink: RFC 3164 lines (or RFC 5424 / JSON, log_structured.h), one datagram each, to a Unix datagram
// socket (/dev/log by default), without ever blocking. syslog(3) is not used:
// it always writes _PATH_LOG, cannot be pointed at a test socket, and its
// send() blocks while the syslog daemon is slow. Lines the socket does not
// take (full, or no syslog daemon) are counted, not retried. Part of the
// logging facade (daemon/logging.h), which puts it behind spdlog.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "daemon/log_severity.h"
#include "daemon/log_structured.h"

namespace vg::daemon {

// RFC 3164 §4.1 header "<PRI>Mmm dd hh:mm:ss TAG[PID]: " in local time, the
// day padded with a space ("Jan  5").
std::string rfc3164_header(int priority, std::time_t time, std::string_view ident, long pid);

class SyslogSink {
public:
    // Longer datagrams are cut: small syslog daemons read 1 KiB or less per
    // datagram (busybox syslogd 256 bytes by default). Event lines are
    // usually far shorter; only one whose fields are all long and full of
    // escaped bytes comes near this.
    static constexpr std::size_t kMaxDatagram = 1024;
    // RFC 5424 and JSON lines: RFC 5424 §6.1 says receivers SHOULD accept
    // 2048 bytes (rsyslog and syslog-ng take 8 KiB by default). A longer
    // line has its longest values cut and stays well-formed
    // (log_structured.h), never cut in the middle.
    static constexpr std::size_t kMaxStructured = 2048;

    // `facility` as in <syslog.h> (LOG_DAEMON == 3 << 3). The socket is
    // connected at the first line, and again after a send fails.
    // `format`: rfc3164 (the key=value line after an RFC 3164 header),
    // rfc5424 or json (log_structured.h).
    SyslogSink(std::string path, std::string ident, int facility, LogFormat format = LogFormat::rfc3164);
    ~SyslogSink();
    SyslogSink(const SyslogSink&) = delete;
    SyslogSink& operator=(const SyslogSink&) = delete;

    // One line at a time (the caller serialises send()); false, and counted
    // in lost(), when the socket did not take it.
    bool send(Severity severity, std::chrono::system_clock::time_point time, std::string_view message);

    // Any thread.
    void set_facility(int facility) noexcept { facility_.store(facility, std::memory_order_relaxed); }
    void set_format(LogFormat format) noexcept { format_.store(format, std::memory_order_relaxed); }
    std::uint64_t lost() const noexcept { return lost_.load(std::memory_order_relaxed); }

private:
    bool connect_socket();
    bool send_datagram();

    const std::string path_;
    const std::string ident_;
    std::atomic<int> facility_;
    std::atomic<LogFormat> format_;
    std::string hostname_;   // RFC 5424 HOSTNAME and the JSON "host", read at start
    const pid_t pid_;
    int fd_ = -1;
    std::string buf_;
    // size_t: lock-free on 32-bit routers too (MIPS has no 64-bit atomics).
    std::atomic<std::size_t> lost_{0};
};

}  // namespace vg::daemon
