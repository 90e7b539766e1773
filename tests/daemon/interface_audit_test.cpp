// SPDX-License-Identifier: GPL-2.0-or-later
// The interface audit's pure part (daemon/interface_audit.h): the ports, the
// banner parsing (every input also cut at every byte), the schedule's rate,
// in-flight and time bounds on an injected clock, and the report's text.
#include "daemon/interface_audit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vg::daemon::audit {
namespace {

using namespace std::chrono_literals;

Timestamp at(Duration d) { return Timestamp{} + 1000s + d; }

TEST(AuditPorts, ManagementPortsFirstThenThePolicysWithoutDuplicates) {
    EXPECT_EQ(ports_to_probe({}), (std::vector<std::uint16_t>{23, 22, 80, 8080, 443}));
    EXPECT_EQ(ports_to_probe({8443, 22, 5000, 8443, 0}), (std::vector<std::uint16_t>{23, 22, 80, 8080, 443, 8443, 5000}));
    EXPECT_EQ(service_name(service_of(23)), "telnet");
    EXPECT_EQ(service_name(service_of(22)), "ssh");
    EXPECT_EQ(service_name(service_of(80)), "http");
    EXPECT_EQ(service_name(service_of(8080)), "http");
    EXPECT_EQ(service_name(service_of(443)), "https");
    EXPECT_EQ(service_name(service_of(5000)), "tcp");
}

TEST(AuditBanner, HttpServerHeaderOfTheHeadResponse) {
    EXPECT_EQ(request_for(Service::http), "HEAD / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(request_for(Service::ssh), "");
    const std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: Yealink embed httpd\r\n\r\n";
    EXPECT_EQ(banner_text(Service::http, r), "Yealink embed httpd");
    EXPECT_TRUE(banner_complete(Service::http, r));
    EXPECT_FALSE(banner_complete(Service::http, r.substr(0, r.size() - 2)));
    // Case-insensitive name, no space after the colon, bare LF line ends.
    EXPECT_EQ(banner_text(Service::http, "HTTP/1.0 401 Unauthorized\nSERVER:lighttpd/1.4.35\n\n"), "lighttpd/1.4.35");
    // No Server header: open, no banner; a Server "header" in the body is not one.
    EXPECT_EQ(banner_text(Service::http, "HTTP/1.0 200 OK\r\nDate: x\r\n\r\nServer: body\r\n"), "");
    // Not HTTP at all: its first line.
    EXPECT_EQ(banner_text(Service::http, "\r\nwelcome to the phone\r\n"), "welcome to the phone");
    EXPECT_EQ(banner_text(Service::http, ""), "");
}

TEST(AuditBanner, SshIdentificationLine) {
    EXPECT_EQ(banner_text(Service::ssh, "SSH-2.0-dropbear_2019.78\r\n"), "SSH-2.0-dropbear_2019.78");
    EXPECT_TRUE(banner_complete(Service::ssh, "SSH-2.0-dropbear_2019.78\r\n"));
    EXPECT_FALSE(banner_complete(Service::ssh, "SSH-2.0-dropbear"));
    // RFC 4253 §4.2: other lines may come first.
    const std::string pre = "Authorised users only\r\nSSH-2.0-OpenSSH_7.4\r\n";
    EXPECT_EQ(banner_text(Service::ssh, pre), "SSH-2.0-OpenSSH_7.4");
    EXPECT_TRUE(banner_complete(Service::ssh, pre));
    EXPECT_FALSE(banner_complete(Service::ssh, "Authorised users only\r\n"));
    EXPECT_EQ(banner_text(Service::ssh, "Authorised users only\r\n"), "Authorised users only");
}

TEST(AuditBanner, TelnetNegotiationAndItsPrompt) {
    const std::string iac = "\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01\xff\xfb\x03";   // DO TTYPE, DO TSPEED, WILL ECHO, WILL SGA
    EXPECT_EQ(banner_text(Service::telnet, iac), "telnet negotiation");
    EXPECT_EQ(banner_text(Service::telnet, iac + "\r\nYealink login: "), "telnet negotiation, Yealink login:");
    // A subnegotiation (IAC SB ... IAC SE) and an escaped 255 are not text.
    EXPECT_EQ(banner_text(Service::telnet, std::string("\xff\xfa\x18\x01\xff\xf0", 6) + "login"),
              "telnet negotiation, login");
    EXPECT_EQ(banner_text(Service::telnet, "BusyBox on phone\r\nlogin: "), "BusyBox on phone");
    EXPECT_FALSE(banner_complete(Service::telnet, iac));   // waits for text (or the quiet time)
    EXPECT_TRUE(banner_complete(Service::telnet, iac + "Welcome\r\n"));
    // On another port a telnet server is recognised too.
    EXPECT_EQ(banner_text(Service::other, iac), "telnet negotiation");
}

TEST(AuditBanner, HttpsIsOpenWithoutBanner) {
    EXPECT_TRUE(banner_complete(Service::https, ""));
    EXPECT_EQ(banner_text(Service::https, "\x16\x03\x01"), "");
}

TEST(AuditBanner, UntrustedBytesCannotReachTheTerminal) {
    // An escape sequence, a NUL and a newline in a Server value; UTF-8 bytes.
    const std::string r = std::string("HTTP/1.0 200 OK\r\nServer: evil\x1b[2J\x00httpd\xc3\xa9 \r\n\r\n", 39);
    EXPECT_EQ(banner_text(Service::http, r), "evil[2Jhttpd");
    EXPECT_EQ(sanitise("  a\tb  "), "a b");
    EXPECT_EQ(sanitise(std::string(200, 'x')).size(), kMaxBanner);
    EXPECT_EQ(sanitise("\x01\x02\x7f"), "");
}

TEST(AuditBanner, EveryCutOfEveryAnswerIsHandled) {
    const std::vector<std::pair<Service, std::string>> answers = {
        {Service::http, "HTTP/1.1 200 OK\r\nServer: Yealink embed httpd\r\n\r\n"},
        {Service::ssh, "pre\r\nSSH-2.0-dropbear\r\n"},
        {Service::telnet, std::string("\xff\xfa\x18\x01\xff\xf0\xff\xfd\x01login: ", 15)},
        {Service::other, "\r\n\r\nhello\r\n"},
    };
    for (const auto& [service, full] : answers) {
        for (std::size_t n = 0; n <= full.size(); ++n) {
            const std::string cut = full.substr(0, n);
            const std::string b = banner_text(service, cut);
            EXPECT_LE(b.size(), kMaxBanner);
            for (char c : b) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "cut " << n;
            (void)banner_complete(service, cut);
        }
    }
    // The cut answers that are complete give the full answer's banner.
    EXPECT_EQ(banner_text(Service::http, answers[0].second), "Yealink embed httpd");
    EXPECT_EQ(banner_text(Service::ssh, answers[1].second), "SSH-2.0-dropbear");
    EXPECT_EQ(banner_text(Service::telnet, answers[2].second), "telnet negotiation, login:");
}

// ---- the schedule ---------------------------------------------------------------

TEST(AuditScheduler, StartsAtMostConnectsPerSecondEvenlySpaced) {
    Limits l;
    l.max_in_flight = 1000;
    l.connects_per_second = 25;
    Scheduler s(l, 100, at(0s));
    EXPECT_EQ(s.next(at(0s)), std::optional<std::size_t>(0));
    EXPECT_EQ(s.next(at(0s)), std::nullopt);
    EXPECT_EQ(s.next_slot(at(0s)), std::optional<Timestamp>(at(40ms)));
    EXPECT_EQ(s.next(at(39ms)), std::nullopt);
    EXPECT_EQ(s.next(at(40ms)), std::optional<std::size_t>(1));
    // The slots follow the rate from the audit's start.
    std::size_t started = 2;
    for (Duration t = 41ms; t <= 1000ms; t += 1ms) {
        while (s.next(at(t))) ++started;
    }
    EXPECT_EQ(started, 26u);   // slots 0, 40, ..., 1000 ms
    // Over any stretch of time a probe loop polling every millisecond never
    // starts more than the rate allows.
    Scheduler s2(l, 1000, at(0s));
    std::vector<Duration> starts;
    for (Duration t = 0ms; t <= 10s; t += 1ms) {
        while (s2.next(at(t))) starts.push_back(t);
    }
    for (std::size_t i = 25; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 25], 1000ms);
}

TEST(AuditScheduler, NoMoreThanMaxInFlight) {
    Limits l;
    l.max_in_flight = 3;
    l.connects_per_second = 1000;
    Scheduler s(l, 10, at(0s));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(s.next(at(5ms)), std::optional<std::size_t>(i));
    EXPECT_EQ(s.next(at(5ms)), std::nullopt);
    EXPECT_EQ(s.next_slot(at(5ms)), std::nullopt);   // nothing to wait for but a finished probe
    EXPECT_EQ(s.in_flight(), 3u);
    s.finished();
    EXPECT_EQ(s.next(at(5ms)), std::optional<std::size_t>(3));
    EXPECT_EQ(s.next(at(5ms)), std::nullopt);
    EXPECT_FALSE(s.done(at(5ms)));
}

TEST(AuditScheduler, NothingStartsThatCouldNotFinishWithinTheBound) {
    Limits l;
    l.max_in_flight = 100;
    l.connects_per_second = 1;
    l.probe_timeout = 1500ms;
    l.total = 10s;
    Scheduler s(l, 20, at(0s));
    EXPECT_EQ(s.last_start(), at(7s));
    EXPECT_EQ(s.end(), at(10s));
    std::size_t started = 0;
    for (Duration t = 0ms; t <= 20s; t += 100ms) {
        while (s.next(at(t))) {
            ++started;
            s.finished();
        }
    }
    EXPECT_EQ(started, 8u);   // at 0, 1, ..., 7 s
    EXPECT_EQ(s.next_slot(at(7s)), std::nullopt);
    EXPECT_TRUE(s.done(at(7s)));   // the next slot (8 s) is past the last start
}

TEST(AuditScheduler, LateLoopStartsNothingAfterTheLastStart) {
    Limits l;
    l.total = 10s;
    l.probe_timeout = 1s;
    Scheduler s(l, 5, at(0s));
    // The loop was held up (a busy CPU) until after the last start: no slot
    // to wait for either (a slot in the past would make the loop spin).
    EXPECT_EQ(s.next_slot(at(8s)), std::optional<Timestamp>(at(0s)));
    EXPECT_EQ(s.next(at(8001ms)), std::nullopt);
    EXPECT_EQ(s.next_slot(at(8001ms)), std::nullopt);
    EXPECT_TRUE(s.done(at(8001ms)));
}

TEST(AuditScheduler, BoundShorterThanTwoTimeoutsStartsOnlyAtOnce) {
    Limits l;
    l.total = 1s;
    l.probe_timeout = 1500ms;
    l.connects_per_second = 10;
    Scheduler s(l, 5, at(0s));
    EXPECT_EQ(s.next(at(0s)), std::optional<std::size_t>(0));
    EXPECT_EQ(s.next(at(100ms)), std::nullopt);
    s.finished();
    EXPECT_TRUE(s.done(at(100ms)));
}

TEST(AuditScheduler, EmptyPlanIsDoneAtOnce) {
    Scheduler s(Limits{}, 0, at(0s));
    EXPECT_EQ(s.next(at(0s)), std::nullopt);
    EXPECT_TRUE(s.done(at(0s)));
}

TEST(AuditScheduler, ZeroLimitsAreTreatedAsOne) {
    Limits l;
    l.max_in_flight = 0;
    l.connects_per_second = 0;
    Scheduler s(l, 3, at(0s));
    EXPECT_EQ(s.next(at(0s)), std::optional<std::size_t>(0));
    EXPECT_EQ(s.next(at(5s)), std::nullopt);   // one in flight
    s.finished();
    EXPECT_EQ(s.next(at(5s)), std::optional<std::size_t>(1));
}

TEST(AuditPlan, PortByPortSoOneHandsetIsNotHitAtOnce) {
    EXPECT_EQ(probe_index(0, 3).target, 0u);
    EXPECT_EQ(probe_index(1, 3).target, 1u);
    EXPECT_EQ(probe_index(3, 3).target, 0u);
    EXPECT_EQ(probe_index(3, 3).port, 1u);
    EXPECT_EQ(probe_index(5, 0).port, 0u);
}

// ---- the report -----------------------------------------------------------------

Report sample() {
    Report r;
    r.targets.push_back(Target{*net::IpAddress::parse("192.168.20.10"), "201@pbx", "Yealink SIP-T46S 66.86.0.15"});
    r.targets.push_back(Target{*net::IpAddress::parse("192.168.20.11"), "20\x1b"
                                                                         "2@pbx",
                               ""});
    r.ports = {23, 80};
    r.findings = {{0, 23, PortState::open, "telnet negotiation"},
                  {0, 80, PortState::open, "Yealink embed httpd"},
                  {1, 23, PortState::closed, ""},
                  {1, 80, PortState::not_probed, ""}};
    r.elapsed = 2500ms;
    return r;
}

TEST(AuditReport, TableWithSummary) {
    const std::string t = render_report(sample(), false);
    EXPECT_EQ(t,
              "HANDSET        AOR          USER-AGENT                   PORT       STATE   BANNER\n"
              "192.168.20.10  201@pbx      Yealink SIP-T46S 66.86.0.15  23/telnet  open    telnet negotiation\n"
              "192.168.20.10  201@pbx      Yealink SIP-T46S 66.86.0.15  80/http    open    Yealink embed httpd\n"
              "192.168.20.11  20\\x1b2@pbx                               23/telnet  closed\n"
              "2 handsets, 4 probes: 2 open, 1 closed, 0 filtered, 1 not probed; 2.5 s (at most 16 in flight, "
              "25/s, 1500 ms per step, 60 s bound), cut by the time bound\n");
}

TEST(AuditReport, Json) {
    const std::string j = render_report(sample(), true);
    EXPECT_EQ(j.rfind("{\"audit\":{\"handsets\":2,\"ports\":[23,80],\"probes\":4,\"open\":2,\"closed\":1,"
                      "\"filtered\":0,\"not_probed\":1,\"elapsed_ms\":2500,\"complete\":false",
                      0),
              0u)
        << j;
    EXPECT_NE(j.find("{\"address\":\"192.168.20.10\",\"aor\":\"201@pbx\",\"user_agent\":\"Yealink SIP-T46S "
                     "66.86.0.15\",\"port\":80,\"service\":\"http\",\"state\":\"open\",\"banner\":\"Yealink embed "
                     "httpd\"}"),
              std::string::npos)
        << j;
    EXPECT_NE(j.find("\"aor\":\"20\\u001b2@pbx\""), std::string::npos) << j;
    EXPECT_EQ(j.find("not_probed\"}"), std::string::npos) << "not probed rows are counted, not listed";
    EXPECT_EQ(j.substr(j.size() - 3), "]}\n");
}

TEST(AuditReport, EmptyInventory) {
    Report r;
    EXPECT_EQ(render_report(r, false),
              "no handsets in the inventory: nothing to audit (handsets appear when they send SIP)\n");
    EXPECT_NE(render_report(r, true).find("\"complete\":true"), std::string::npos);
}

}  // namespace
}  // namespace vg::daemon::audit
