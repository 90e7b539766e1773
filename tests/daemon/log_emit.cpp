// SPDX-License-Identifier: GPL-2.0-or-later
// vg_log_emit SOCKET FORMAT UA_HEX LONG_HEX: sends three lines through the
// daemon's logging front end (daemon/logging.h) and its syslog sink to the
// Unix datagram socket SOCKET, in FORMAT (rfc3164, rfc5424 or json), for
// tests/daemon/syslog_formats_test.py, which has rsyslog parse them:
//   1. VG_TOLL_FRAUD_BLOCKED, an engine event whose User-Agent is UA_HEX
//      (hex-encoded bytes: the test chooses hostile ones; at most 64);
//   2. VG_TEST_LONG with detail=LONG_HEX (a value of any length, as a line
//      of the catalogue can carry), and ua=UA_HEX;
//   3. VG_RELOAD_FAILED with two errors and its "(old policy kept)" text.
// Exit 0 when the socket took all three, 1 otherwise, 2 for bad arguments.
#include <cstdio>
#include <string>
#include <string_view>

#include "daemon/logging.h"

namespace {

bool unhex(std::string_view hex, std::string& out) {
    if (hex.size() % 2 != 0) return false;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace vg;
    std::string ua, long_value;
    const auto format = argc == 5 ? daemon::parse_log_format(argv[2]) : std::nullopt;
    if (!format || !unhex(argv[3], ua) || !unhex(argv[4], long_value) || ua.size() > 64) {
        std::fprintf(stderr, "usage: vg_log_emit SOCKET rfc3164|rfc5424|json UA_HEX LONG_HEX\n");
        return 2;
    }
    daemon::LogOptions o;
    o.site = "acme-london";
    o.level = daemon::Severity::debug;
    o.facility = 19 << 3;   // local3
    o.syslog_path = argv[1];
    o.format = *format;
    daemon::Log log(o);

    engine::Event e;
    e.type = engine::EventType::toll_fraud;
    e.handset = net::IpAddress::parse("192.168.20.10").value();
    e.destination = net::IpAddress::parse("203.0.113.10").value();
    e.destination_port = 5060;
    e.protocol = 17;
    engine::assign_truncated(e.method, "INVITE");
    engine::assign_truncated(e.number, "+88213000001");
    engine::assign_truncated(e.rule, "deny_prefix:+882");
    engine::assign_truncated(e.user_agent, ua);
    log.on_event(e);

    std::string line = "VG_TEST_LONG";
    daemon::append_field(line, "site", o.site);
    daemon::append_field(line, "ua", ua);
    daemon::append_field(line, "detail", long_value);
    log.write(daemon::Severity::notice, line);

    log.reload_failed("/etc/voipguard/policy.yaml",
                      {"policy.yaml:12:5: sip.rate_limits.INVITE: \"10/x\" is not a rate", "peers.pbx: [x] \\ y"});
    log.flush_all(engine::Timestamp{});
    return log.lines_lost() == 0 ? 0 : 1;
}
