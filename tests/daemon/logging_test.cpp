// SPDX-License-Identifier: GPL-2.0-or-later
// The logging front end (daemon/logging.cpp): what reaches syslog, captured
// on a Unix datagram socket standing in for /dev/log: events and daemon lines
// with their severity and facility, the level filter, reconfiguration,
// aggregation on a fake clock, lost lines reported, the stderr copy; and the
// logging settings taken from the policy. The parts have their own tests
// (log_severity_test, log_format_test, log_events_test, log_aggregator_test,
// log_syslog_sink_test).
#include "daemon/logging.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/policy.h"
#include "tests/daemon/log_test_util.h"

namespace vg::daemon {
namespace {

using engine::Event;
using engine::Timestamp;
using test::message_of;
using test::SyslogListener;
using test::toll_fraud_event;
using test::unlisted;
using namespace std::chrono_literals;

const Timestamp t0 = Timestamp{} + 1000s;

LogOptions syslog_options(const SyslogListener& l) {
    LogOptions o;
    o.site = "acme-london";
    o.level = Severity::debug;
    o.facility = *parse_facility("local3");
    o.syslog_path = l.path();
    return o;
}

TEST(Logging, ApplyPolicy_TakesSiteLevelFacilityAndWindow) {
    config::Policy p;
    p.site = "acme-london";
    p.logging.level = "warning";
    p.logging.facility = "local3";
    p.logging.aggregate_window = std::chrono::seconds(30);
    LogOptions o;
    ASSERT_TRUE(apply_policy(o, p));
    EXPECT_EQ(o.site, "acme-london");
    EXPECT_EQ(o.level, Severity::warning);
    EXPECT_EQ(o.facility, 19 << 3);
    EXPECT_EQ(o.aggregate_window, std::chrono::seconds(30));
    p.logging.facility = "kern";
    std::string error;
    EXPECT_FALSE(apply_policy(o, p, &error));
    EXPECT_EQ(error, "logging.facility: unknown facility \"kern\"");
}

TEST(LoggingSyslog, TollFraudEvent_ArrivesAsRfc3164LineWithFacilityAndSeverity) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    Event e = toll_fraud_event();
    e.time = t0;
    log.on_event(e);
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    // local3 (19) * 8 + warning (4)
    EXPECT_EQ(message_of(got[0], 19 * 8 + 4), format_event(e, "acme-london", NumberMask{})) << got[0];
    EXPECT_EQ(log.lines_lost(), 0u);
}

TEST(LoggingSyslog, EventsBelowTheLevel_AreNotSent) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    LogOptions o = syslog_options(l);
    o.level = Severity::warning;
    Log log(o);
    Event e = unlisted("203.0.113.7");   // info
    log.on_event(e);
    log.kernel_drop({"203.0.113.7", 5060, "192.168.20.10", 5060, "udp", "unlisted_source", {}, {}}, t0);
    EXPECT_TRUE(l.drain().empty());
    EXPECT_FALSE(log.enabled(Severity::notice));
    EXPECT_TRUE(log.enabled(Severity::warning));
    log.on_event(toll_fraud_event());   // warning
    EXPECT_EQ(l.drain().size(), 1u);
}

TEST(LoggingSyslog, Reconfigure_ChangesLevelFacilityAndSite) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    LogOptions o = syslog_options(l);
    o.site = "acme-paris";
    o.facility = *parse_facility("local7");
    o.level = Severity::error;
    log.reconfigure(o);
    log.on_event(toll_fraud_event());
    EXPECT_TRUE(l.drain().empty());
    log.reload_failed("/etc/voipguard/policy.yaml", {"policy.yaml:3:1: site: required"});
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 23 * 8 + 3),
              "VG_RELOAD_FAILED site=acme-paris policy=/etc/voipguard/policy.yaml errors=1 "
              "error1=\"policy.yaml:3:1: site: required\" (old policy kept)")
        << got[0];
}

TEST(LoggingSyslog, FormatFromThePolicyAndReload_ChangesTheDatagrams) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    config::Policy p;
    p.site = "acme-london";
    p.logging.level = "info";
    p.logging.facility = "daemon";
    p.logging.format = "json";
    LogOptions o = syslog_options(l);
    ASSERT_TRUE(apply_policy(o, p));
    EXPECT_EQ(o.format, LogFormat::json);
    o.syslog_path = l.path();   // apply_policy took logging.socket (/dev/log)
    Log log(o);
    log.on_event(toll_fraud_event());
    auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].find("voipguard["), std::string::npos) << got[0];
    EXPECT_NE(got[0].find("]: {\"time\":\""), std::string::npos) << got[0];
    EXPECT_NE(got[0].find("\"event\":\"VG_TOLL_FRAUD_BLOCKED\",\"site\":\"acme-london\""), std::string::npos) << got[0];
    EXPECT_EQ(got[0].back(), '}');
    o.format = LogFormat::rfc5424;
    log.reconfigure(o);
    log.shutdown("signal");
    got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].rfind("<29>1 ", 0), 0u) << got[0];
    EXPECT_NE(got[0].find(" voipguard "), std::string::npos) << got[0];
    EXPECT_NE(got[0].find(" VG_SHUTDOWN [voipguard@32473 site=\"acme-london\" reason=\"signal\"] VG_SHUTDOWN"),
              std::string::npos)
        << got[0];
    p.logging.format = "xml";
    std::string error;
    EXPECT_FALSE(apply_policy(o, p, &error));
    EXPECT_EQ(error, "logging.format: unknown format \"xml\"");
}

TEST(LoggingSyslog, FloodFromOneSource_IsOneLineThenOneSummary) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    for (int i = 0; i < 10000; ++i) {
        Event e = unlisted("203.0.113.7");
        e.source_port = static_cast<std::uint16_t>(1024 + i);
        e.time = t0 + std::chrono::milliseconds(i);
        log.on_event(e);
    }
    auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6), "VG_DROP_UNLISTED_SOURCE site=acme-london src=203.0.113.7 src_port=1024");
    log.flush(t0 + 30s);
    EXPECT_TRUE(l.drain().empty());
    log.flush(t0 + 60s);
    got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6),
              "VG_DROP_UNLISTED_SOURCE site=acme-london src=203.0.113.7 (suppressed 9999 more in 60 s)");
}

TEST(LoggingSyslog, DaemonLines_HaveTheirIdsAndFields) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    log.start({"0.1.0", "enforce", "nftables", "open", "/etc/voipguard/policy.yaml"});
    log.backend("iptables", "nft_queue module not available");
    log.reload_ok("/etc/voipguard/policy.yaml", 0);
    StatsInfo s;
    s.calls = 3;
    s.pinholes = 12;
    s.accepted = 1000;
    s.dropped = 20;
    s.drops_by_reason = {{"unlisted_source", 15}, {"sip_scanner", 5}, {"toll_fraud", 0}};
    s.kernel_drops = 7;
    log.stats(s);
    log.shutdown("SIGTERM");
    log.kernel_drop({"203.0.113.7", 5060, "192.168.20.10", 5060, "udp", "unlisted_source", "INVITE", "friendly scanner"},
                    t0);
    log.control_rejected("unknown_command", "stauts", 0, 4242, t0);
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 5),
              "VG_START site=acme-london version=0.1.0 mode=enforce backend=nftables on_failure=open "
              "policy=/etc/voipguard/policy.yaml level=debug");
    EXPECT_EQ(message_of(got[1], 19 * 8 + 6),
              "VG_BACKEND site=acme-london backend=iptables why=\"nft_queue module not available\"");
    EXPECT_EQ(message_of(got[2], 19 * 8 + 5), "VG_RELOAD_OK site=acme-london policy=/etc/voipguard/policy.yaml warnings=0");
    EXPECT_EQ(message_of(got[3], 19 * 8 + 6),
              "VG_STATS site=acme-london calls=3 pinholes=12 handsets=0 accepted=1000 dropped=20 "
              "drop_unlisted_source=15 drop_sip_scanner=5 queue_drops=0 enobufs=0 kernel_drops=7");
    EXPECT_EQ(message_of(got[4], 19 * 8 + 5), "VG_SHUTDOWN site=acme-london reason=SIGTERM");
    EXPECT_EQ(message_of(got[5], 19 * 8 + 6),
              "VG_KERNEL_DROP site=acme-london src=203.0.113.7 src_port=5060 dst=192.168.20.10 dst_port=5060 "
              "proto=udp reason=unlisted_source method=INVITE ua=\"friendly scanner\"");
    EXPECT_EQ(message_of(got[6], 19 * 8 + 5),
              "VG_CONTROL_REJECTED site=acme-london reason=unknown_command uid=0 pid=4242 detail=stauts");
}

TEST(LoggingSyslog, ControlRejectedWithBinaryDetail_IsEscapedAndAggregatedPerReason) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    for (int i = 0; i < 50; ++i) log.control_rejected("malformed", std::string("\x00\xff\n", 3), 1000, 77, t0);
    log.control_rejected("oversized", "aaaa", 1000, 78, t0);
    auto got = l.drain();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 5),
              "VG_CONTROL_REJECTED site=acme-london reason=malformed uid=1000 pid=77 detail=\\x00\\xff\\x0a");
    log.flush(t0 + 60s);
    got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 5),
              "VG_CONTROL_REJECTED site=acme-london reason=malformed (suppressed 49 more in 60 s)");
}

TEST(LoggingSyslog, NoSyslogListening_CountsLostLinesAndReportsThem) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    LogOptions o = syslog_options(l);
    o.syslog_path = l.dir() + "/nobody-listens";
    o.to_stderr = true;
    Log log(o);
    testing::internal::CaptureStderr();
    log.on_event(toll_fraud_event());
    log.shutdown("test");
    log.flush(t0);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(log.lines_lost(), 3u);   // the two lines and VG_LOG_LOST itself
    EXPECT_NE(err.find(" warning: VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10"), std::string::npos)
        << err;
    EXPECT_NE(err.find(" notice: VG_SHUTDOWN site=acme-london reason=test\n"), std::string::npos) << err;
    EXPECT_NE(err.find(" warning: VG_LOG_LOST site=acme-london lines=2\n"), std::string::npos) << err;
}

TEST(LoggingSyslog, FormatCharactersInPacketText_AreNotInterpreted) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    Event e = unlisted("203.0.113.7");
    e.user_agent.assign("%s%n{}{:>99999}%%");
    log.on_event(e);
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6),
              "VG_DROP_UNLISTED_SOURCE site=acme-london src=203.0.113.7 ua=%s%n{}{:>99999}%%");
}

TEST(LoggingSyslog, FlushAll_SummarisesEveryOpenWindowAtShutdown) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    for (int i = 0; i < 3; ++i)
        log.kernel_drop({"203.0.113.7", 5060, "192.168.20.10", 5060, "udp", "unlisted_source", {}, {}}, t0);
    ASSERT_EQ(l.drain().size(), 1u);
    log.flush(t0 + 10s);   // the window is not over
    EXPECT_TRUE(l.drain().empty());
    log.flush_all(t0 + 10s);
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6),
              "VG_KERNEL_DROP site=acme-london src=203.0.113.7 (suppressed 2 more in 10 s)");
}

}  // namespace
}  // namespace vg::daemon
