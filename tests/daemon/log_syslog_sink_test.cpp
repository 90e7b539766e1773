// SPDX-License-Identifier: GPL-2.0-or-later
// The syslog sink (daemon/log_syslog_sink.cpp): RFC 3164 datagrams with the
// facility and severity, cut at 1 KiB, counted when nobody takes them, and
// going to a restarted syslog daemon's new socket; captured on a Unix
// datagram socket standing in for /dev/log.
#include "daemon/log_syslog_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>

#include "tests/daemon/log_test_util.h"

namespace vg::daemon {
namespace {

using test::message_of;
using test::SyslogListener;

constexpr int kLocal3 = 19 << 3;

std::chrono::system_clock::time_point now() { return std::chrono::system_clock::now(); }

TEST(LogSyslogSink, Header_IsRfc3164WithTheDayPaddedWithASpace) {
    // 2026-01-05 12:00:00 UTC: the 5th in every time zone from UTC-12 to UTC+11.
    const std::time_t t = 1767614400;
    const std::string h = rfc3164_header(kLocal3 | 4, t, "voipguard", 4242);
    EXPECT_EQ(h.rfind("<156>Jan  5 ", 0), 0u) << h;
    EXPECT_EQ(h.size(), std::string("<156>Jan  5 12:00:00 voipguard[4242]: ").size()) << h;
    EXPECT_EQ(h.substr(h.size() - 18), " voipguard[4242]: ") << h;
}

TEST(LogSyslogSink, Line_ArrivesAsOneDatagramWithFacilityAndSeverity) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    SyslogSink sink(l.path(), "voipguard", kLocal3);
    EXPECT_TRUE(sink.send(Severity::warning, now(), "VG_TEST a=1"));
    EXPECT_TRUE(sink.send(Severity::debug, now(), "VG_TEST a=2"));
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 4), "VG_TEST a=1") << got[0];
    EXPECT_EQ(message_of(got[1], 19 * 8 + 7), "VG_TEST a=2") << got[1];
    EXPECT_EQ(sink.lost(), 0u);
}

TEST(LogSyslogSink, SetFacility_AppliesToTheNextLine) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    SyslogSink sink(l.path(), "voipguard", kLocal3);
    sink.set_facility(3 << 3);   // daemon
    EXPECT_TRUE(sink.send(Severity::error, now(), "VG_TEST"));
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 3 * 8 + 3), "VG_TEST") << got[0];
}

TEST(LogSyslogSink, OverlongLine_IsCutTo1024ByteDatagram) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    SyslogSink sink(l.path(), "voipguard", kLocal3);
    EXPECT_TRUE(sink.send(Severity::info, now(), "VG_TEST " + std::string(3000, 'x')));
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].size(), SyslogSink::kMaxDatagram);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6).rfind("VG_TEST xxx", 0), 0u);
}

TEST(LogSyslogSink, NoSyslogListening_LinesAreCountedAsLost) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    SyslogSink sink(l.dir() + "/nobody-listens", "voipguard", kLocal3);
    EXPECT_FALSE(sink.send(Severity::info, now(), "VG_TEST 1"));
    EXPECT_FALSE(sink.send(Severity::info, now(), "VG_TEST 2"));
    EXPECT_EQ(sink.lost(), 2u);
    SyslogSink unnamed("", "voipguard", kLocal3);
    EXPECT_FALSE(unnamed.send(Severity::info, now(), "VG_TEST"));
    EXPECT_EQ(unnamed.lost(), 1u);
}

TEST(LogSyslogSink, SyslogRestarted_NextLineGoesToTheNewSocket) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    SyslogSink sink(l.path(), "voipguard", kLocal3);
    EXPECT_TRUE(sink.send(Severity::notice, now(), "VG_TEST one"));
    ASSERT_EQ(l.drain().size(), 1u);
    // The syslog daemon restarts: its socket goes away and a new one is
    // bound at the same path.
    l.rebind();
    ASSERT_TRUE(l.ok());
    EXPECT_TRUE(sink.send(Severity::notice, now(), "VG_TEST two"));
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 5), "VG_TEST two");
    EXPECT_EQ(sink.lost(), 0u);
}

}  // namespace
}  // namespace vg::daemon
