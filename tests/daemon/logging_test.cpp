// SPDX-License-Identifier: GPL-2.0-or-later
// The logging facade: line format (escaping, quoting, masking, only the
// fields that are set), aggregation on a fake clock, and what reaches syslog,
// captured on a Unix datagram socket standing in for /dev/log.
#include "daemon/logging.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "config/policy.h"
#include "daemon/json.h"

namespace vg::daemon {
namespace {

using engine::Event;
using engine::EventType;
using engine::Timestamp;
using namespace std::chrono_literals;

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

Event toll_fraud_event() {
    Event e;
    e.type = EventType::toll_fraud;
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

Event unlisted(const char* source) {
    Event e;
    e.type = EventType::unlisted_source;
    e.source = ip(source);
    return e;
}

std::string value(std::string_view v) {
    std::string out;
    append_value(out, v);
    return out;
}

// ---------------------------------------------------------------------------
// Formatting

TEST(LoggingFormat, TollFraudEvent_HasIdSiteAndFieldsInFixedOrder) {
    EXPECT_EQ(format_event(toll_fraud_event(), "acme-london"),
              "VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 src_port=5060 dst=198.51.100.10 "
              "dst_port=5060 proto=udp method=INVITE number=+88213000001 dialled=0088213000001 "
              "rule=deny_prefix:+882 call_id=8f2d1c@192.168.20.10 ua=\"Yealink SIP-T46S 66.86.0.15\"");
}

TEST(LoggingFormat, EventWithOnlySource_PrintsOnlyIdSiteAndSource) {
    EXPECT_EQ(format_event(unlisted("203.0.113.7"), "s1"), "VG_DROP_UNLISTED_SOURCE site=s1 src=203.0.113.7");
}

TEST(LoggingFormat, CountAndHandsetPort_PrintedWhenNonZero) {
    Event e;
    e.type = EventType::pinhole_closed;
    e.handset = ip("2001:db8::10");
    e.handset_port = 40000;
    e.destination = e.handset;   // the handset's address is not repeated as dst
    e.destination_port = 40000;
    e.protocol = 17;
    e.count = 3;
    EXPECT_EQ(format_event(e, "s"),
              "VG_PINHOLE_CLOSED site=s handset=2001:db8::10 handset_port=40000 dst_port=40000 proto=udp count=3");
}

TEST(LoggingFormat, UnknownProtocol_PrintedAsNumber) {
    Event e = unlisted("203.0.113.7");
    e.protocol = 47;
    EXPECT_EQ(format_event(e, "s"), "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 proto=47");
}

// `voipguard calls` / `handsets` print Call-IDs and User-Agents from packets:
// a terminal escape sequence (ESC [ ... ) must reach the screen as text.
TEST(EscapeText, TerminalControlBytesQuotesAndBackslashesBecomeVisibleText) {
    const std::string ua = "evil\x1b[2J\x1b]0;pwned\x07 \"q\" \\ caf\xc3\xa9\x7f";
    const std::string out = escape_text(ua);
    EXPECT_EQ(out, "evil\\x1b[2J\\x1b]0;pwned\\x07 \\\"q\\\" \\\\ caf\\xc3\\xa9\\x7f");
    for (char c : out) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
    }
    EXPECT_EQ(escape_text("a81@192.168.20.10"), "a81@192.168.20.10");
    std::string appended = "x";
    append_escaped(appended, std::string_view("\0\n", 2));
    EXPECT_EQ(appended, "x\\x00\\x0a");
}

// The --json output of the same commands stays valid JSON with any bytes.
TEST(JsonEscape, ControlBytesHighBytesAndQuotesAreEscaped) {
    std::string o = "{";
    json::field(o, "user_agent", "a\x1b[31m\"b\"\\\xff\xc3\xa9\t\x01");
    o += "}";
    EXPECT_EQ(o, "{\"user_agent\":\"a\\u001b[31m\\\"b\\\"\\\\\\u00ff\\u00c3\\u00a9\\t\\u0001\"}");
    for (char c : o) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
    }
}

TEST(LoggingFormat, PlainValue_IsNotQuoted) { EXPECT_EQ(value("friendly-scanner"), "friendly-scanner"); }

TEST(LoggingFormat, ValueWithSpace_IsQuoted) { EXPECT_EQ(value("Yealink T46"), "\"Yealink T46\""); }

TEST(LoggingFormat, ValueWithQuoteOrEquals_IsQuotedAndQuoteEscaped) {
    EXPECT_EQ(value("a\"b"), "\"a\\\"b\"");
    EXPECT_EQ(value("k=v"), "\"k=v\"");
}

TEST(LoggingFormat, EmptyValue_IsQuoted) { EXPECT_EQ(value(""), "\"\""); }

TEST(LoggingFormat, ControlAndNonAsciiBytes_AreHexEscaped) {
    EXPECT_EQ(value(std::string_view("a\nb\rc\td\0e\x7f", 10)), "a\\x0ab\\x0dc\\x09d\\x00e\\x7f");
    EXPECT_EQ(value("caf\xc3\xa9"), "caf\\xc3\\xa9");
}

TEST(LoggingFormat, Backslash_IsDoubled) { EXPECT_EQ(value("a\\x0a"), "a\\\\x0a"); }

TEST(LoggingFormat, UserAgentWithNewline_CannotStartAForgedLine) {
    Event e = unlisted("203.0.113.7");
    e.user_agent.assign("x\nVG_START site=evil");
    const std::string line = format_event(e, "s");
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line, "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 ua=\"x\\x0aVG_START site=evil\"");
}

TEST(LoggingFormat, UnbalancedQuoteInValue_CannotCloseTheQuote) {
    Event e = unlisted("203.0.113.7");
    e.user_agent.assign("a\" rule=forged \"");
    EXPECT_EQ(format_event(e, "s"), "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 ua=\"a\\\" rule=forged \\\"\"");
}

TEST(LoggingFormat, SiteWithSpace_IsQuoted) {
    EXPECT_EQ(format_event(unlisted("203.0.113.7"), "acme london"),
              "VG_DROP_UNLISTED_SOURCE site=\"acme london\" src=203.0.113.7");
}

TEST(LoggingMask, SipUriPassword_IsMasked) {
    EXPECT_EQ(mask_secrets("sip:alice:secret@pbx.example.net"), "sip:alice:***@pbx.example.net");
    EXPECT_EQ(mask_secrets("SIPS:alice:s3cr=t,x@pbx;transport=tls"), "SIPS:alice:***@pbx;transport=tls");
}

TEST(LoggingMask, UriWithoutPassword_IsUnchanged) {
    EXPECT_EQ(mask_secrets("sip:alice@pbx.example.net"), "sip:alice@pbx.example.net");
    EXPECT_EQ(mask_secrets("sip:pbx.example.net:5060"), "sip:pbx.example.net:5060");
    EXPECT_EQ(mask_secrets("tel:+442071234567"), "tel:+442071234567");
    EXPECT_EQ(mask_secrets("alice@pbx"), "alice@pbx");
    EXPECT_EQ(mask_secrets("sip:alice:@pbx"), "sip:alice:@pbx");
}

TEST(LoggingMask, UserPasswordWithoutOrWithOtherScheme_IsMasked) {
    EXPECT_EQ(mask_secrets("alice:pw@pbx"), "alice:***@pbx");
    EXPECT_EQ(mask_secrets("https://admin:admin@192.168.20.10/"), "https://admin:***@192.168.20.10/");
}

TEST(LoggingMask, SeveralUrisInText_AreAllMasked) {
    EXPECT_EQ(mask_secrets("<sip:bob:pw1@h1>;tag=1, \"x\" <sip:carol:pw2@h2>"),
              "<sip:bob:***@h1>;tag=1, \"x\" <sip:carol:***@h2>");
}

TEST(LoggingMask, DetailAndDialledOfEvent_AreMasked) {
    Event e;
    e.type = EventType::rogue_sip_destination;
    e.handset = ip("192.168.20.11");
    e.detail.assign("sip:201:hunter2@203.0.113.50");
    e.dialled.assign("x:y@z");
    const std::string line = format_event(e, "s");
    EXPECT_EQ(line, "VG_ROGUE_SIP_DESTINATION site=s handset=192.168.20.11 dialled=x:***@z detail=sip:201:***@203.0.113.50");
    EXPECT_EQ(line.find("hunter2"), std::string::npos);
}

TEST(LoggingNames, SeverityAndFacilityNames_Parse) {
    EXPECT_EQ(parse_severity("notice"), Severity::notice);
    EXPECT_FALSE(parse_severity("warn").has_value());
    EXPECT_EQ(parse_facility("daemon"), 3 << 3);
    EXPECT_EQ(parse_facility("local0"), 16 << 3);
    EXPECT_EQ(parse_facility("local7"), 23 << 3);
    EXPECT_FALSE(parse_facility("user").has_value());
    EXPECT_EQ(syslog_priority(Severity::warning), 4);
    EXPECT_EQ(syslog_priority(Severity::debug), 7);
}

TEST(LoggingNames, ApplyPolicy_TakesSiteLevelFacilityAndWindow) {
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

// ---------------------------------------------------------------------------
// Aggregation (fake clock: Timestamp values, no sleeping)

const Timestamp t0 = Timestamp{} + 1000s;

TEST(LoggingAggregator, FirstEvent_IsAdmittedRepeatsAreCounted) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    for (int i = 0; i < 4123; ++i) EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, t0 + 1s));
    EXPECT_TRUE(a.admit("VG_X", " src=2", Severity::info, t0 + 2s));   // another key
    EXPECT_TRUE(a.admit("VG_Y", " src=1", Severity::info, t0 + 2s));   // another ID
    EXPECT_TRUE(a.flush(t0 + 59s).empty());                              // window not over yet
    const auto s = a.flush(t0 + 60s);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].id, "VG_X");
    EXPECT_EQ(s[0].key_fields, " src=1");
    EXPECT_EQ(s[0].suppressed, 4123u);
    EXPECT_EQ(s[0].elapsed, 60s);
    EXPECT_FALSE(s[0].overflow);
    EXPECT_EQ(format_summary(s[0], "acme"), "VG_X site=acme src=1 (suppressed 4123 more in 60 s)");
}

TEST(LoggingAggregator, SustainedFlood_GivesOneSummaryPerWindow) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    Timestamp now = t0;
    for (int window = 0; window < 3; ++window) {
        for (int i = 0; i < 100; ++i) EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, now + 1s));
        now += 60s;
        const auto s = a.flush(now);
        ASSERT_EQ(s.size(), 1u);
        EXPECT_EQ(s[0].suppressed, 100u);
    }
    // A quiet window ends silently and forgets the key; its next event is logged at once.
    EXPECT_TRUE(a.flush(now + 60s).empty());
    EXPECT_EQ(a.tracked_keys(), 0u);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, now + 61s));
}

TEST(LoggingAggregator, SingleEvent_EndsWithoutSummary) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
    EXPECT_TRUE(a.flush(t0 + 60s).empty());
    EXPECT_EQ(a.tracked_keys(), 0u);
}

TEST(LoggingAggregator, KeysBeyondTheBound_GoToOtherBucketPerId) {
    Aggregator a(60s, 4);
    int admitted = 0;
    for (int i = 0; i < 10; ++i) admitted += a.admit("VG_X", " src=" + std::to_string(i), Severity::info, t0);
    for (int i = 0; i < 3; ++i) admitted += a.admit("VG_Y", " src=" + std::to_string(i), Severity::warning, t0);
    EXPECT_EQ(admitted, 4);
    EXPECT_EQ(a.tracked_keys(), 4u);
    const auto s = a.flush(t0 + 60s);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_TRUE(s[0].overflow);
    EXPECT_EQ(s[0].id, "VG_X");
    EXPECT_EQ(s[0].suppressed, 6u);
    EXPECT_EQ(s[1].id, "VG_Y");
    EXPECT_EQ(s[1].suppressed, 3u);
    EXPECT_EQ(s[1].severity, Severity::warning);
    EXPECT_EQ(format_summary(s[0], "acme"),
              "VG_X site=acme aggregate=other (suppressed 6 more in 60 s, too many keys to aggregate separately)");
    // The tracked keys had no repeats and are gone: new keys are tracked again.
    EXPECT_EQ(a.tracked_keys(), 0u);
    EXPECT_TRUE(a.admit("VG_X", " src=99", Severity::info, t0 + 61s));
}

TEST(LoggingAggregator, MillionDistinctKeys_StayBounded) {
    Aggregator a(60s, 1024);
    for (int i = 0; i < 1000000; ++i) (void)a.admit("VG_X", std::to_string(i), Severity::info, t0);
    EXPECT_EQ(a.tracked_keys(), 1024u);
}

TEST(LoggingAggregator, FlushAll_SummarisesOpenWindows) {
    Aggregator a(60s);
    EXPECT_TRUE(a.admit("VG_X", " src=1", Severity::info, t0));
    EXPECT_FALSE(a.admit("VG_X", " src=1", Severity::info, t0 + 1s));
    const auto s = a.flush_all(t0 + 10s);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].suppressed, 1u);
    EXPECT_EQ(a.tracked_keys(), 0u);
}

TEST(LoggingAggregator, ZeroWindow_AdmitsEverything) {
    Aggregator a(0s);
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
    EXPECT_TRUE(a.admit("VG_X", "", Severity::info, t0));
}

TEST(LoggingAggregator, EventKeys_FollowTheDocumentedFields) {
    Event e = toll_fraud_event();
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10");
    e.type = EventType::scanner;
    e.source = ip("203.0.113.7");
    EXPECT_EQ(event_key_fields(e), " src=203.0.113.7");
    e.type = EventType::pinhole_opened;
    e.handset_port = 40000;
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10 handset_port=40000");
    e.type = EventType::call_ended;
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10 call_id=8f2d1c@192.168.20.10");
}

// ---------------------------------------------------------------------------
// EVENTS.md

std::string read_events_md() {
    std::ifstream in(std::string(VG_SOURCE_DIR) + "/daemon/EVENTS.md");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(LoggingDocs, EveryEngineEventType_IsInEventsMdWithItsSeverity) {
    const std::string doc = read_events_md();
    ASSERT_FALSE(doc.empty());
    for (std::size_t i = 0; i < engine::kEventTypeCount; ++i) {
        const auto t = static_cast<EventType>(i);
        const std::string id(engine::event_id(t));
        const std::string row = "| `" + id + "` | " + std::string(severity_name(event_severity(t))) + " |";
        EXPECT_NE(doc.find(row), std::string::npos) << "EVENTS.md has no row starting " << row;
        EXPECT_NE(doc.find("\n" + id + " site="), std::string::npos) << "EVENTS.md has no example of " << id;
    }
}

TEST(LoggingDocs, EveryDaemonId_IsInEventsMd) {
    const std::string doc = read_events_md();
    for (const char* id : {"VG_START", "VG_BACKEND", "VG_RELOAD_OK", "VG_RELOAD_FAILED", "VG_STATS", "VG_SHUTDOWN",
                           "VG_KERNEL_DROP", "VG_CONTROL_REJECTED", "VG_LOG_LOST"}) {
        EXPECT_NE(doc.find(std::string("| `") + id + "` |"), std::string::npos) << id;
        EXPECT_NE(doc.find(std::string("\n") + id + " site="), std::string::npos) << id;
    }
}

// ---------------------------------------------------------------------------
// The front end and the syslog sink

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

LogOptions syslog_options(const SyslogListener& l) {
    LogOptions o;
    o.site = "acme-london";
    o.level = Severity::debug;
    o.facility = *parse_facility("local3");
    o.syslog_path = l.path();
    return o;
}

// "<PRI>Mmm dd hh:mm:ss voipguard[PID]: " -> the message, or "" if the header is wrong.
std::string message_of(const std::string& datagram, int pri) {
    const std::regex header("^<" + std::to_string(pri) +
                            ">[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] voipguard\\[" +
                            std::to_string(::getpid()) + "\\]: ");
    std::smatch m;
    if (!std::regex_search(datagram, m, header)) return "";
    return datagram.substr(static_cast<std::size_t>(m.length(0)));
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
    EXPECT_EQ(message_of(got[0], 19 * 8 + 4), format_event(e, "acme-london")) << got[0];
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

TEST(LoggingSyslog, ReloadFailed_ShowsTheFirstThreeErrorsMasked) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    log.reload_failed("p.yaml", {"e1 sip:a:pw@h", "e2", "e3", "e4"});
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 3),
              "VG_RELOAD_FAILED site=acme-london policy=p.yaml errors=4 error1=\"e1 sip:a:***@h\" error2=e2 "
              "error3=e3 (old policy kept)");
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

TEST(LoggingSyslog, SyslogRestarted_NextLineGoesToTheNewSocket) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    log.shutdown("one");
    ASSERT_EQ(l.drain().size(), 1u);
    // The syslog daemon restarts: its socket goes away and a new one is
    // bound at the same path.
    l.rebind();
    ASSERT_TRUE(l.ok());
    log.shutdown("two");
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 5), "VG_SHUTDOWN site=acme-london reason=two");
    EXPECT_EQ(log.lines_lost(), 0u);
}

TEST(LoggingSyslog, OverlongLine_IsCutTo1024ByteDatagram) {
    SyslogListener l;
    ASSERT_TRUE(l.ok());
    Log log(syslog_options(l));
    log.write(Severity::info, "VG_TEST " + std::string(3000, 'x'));
    const auto got = l.drain();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].size(), 1024u);
    EXPECT_EQ(message_of(got[0], 19 * 8 + 6).rfind("VG_TEST xxx", 0), 0u);
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

}  // namespace
}  // namespace vg::daemon
