// SPDX-License-Identifier: GPL-2.0-or-later
// What `voipguard report` answers (daemon/site_report.h): the text form puts
// what needs doing first and stays on one screen; the JSON form parses and
// has its stable keys; packet text is escaped; --since values are checked.
#include "daemon/site_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "tests/support/mini_json.h"

namespace vg::daemon {
namespace {

using engine::EventType;
using test::Json;

constexpr std::int64_t kNow = 1700000000 / 3600 * 3600 + 1800;

engine::Event event(EventType t) {
    engine::Event e;
    e.type = t;
    return e;
}

class SiteReportTest : public testing::Test {
protected:
    void SetUp() override {
        view_.version = "9.9.9";
        view_.site = "acme-london";
        view_.now = kNow;
        view_.uptime_s = 3 * 86400 + 4 * 3600;
        view_.kernel_counters_read = true;
    }
    // A small site's bad day: a scan, toll fraud blocked, a weak password,
    // outdated firmware, a failed reload.
    void bad_day() {
        for (int i = 0; i < 40; ++i) {
            engine::Event s = event(EventType::scanner);
            s.source = *net::IpAddress::parse(i < 30 ? "203.0.113.9" : "198.51.100.7");
            history_->note(s, kNow - 3000 + i);
        }
        for (int i = 0; i < 3; ++i) {
            engine::Event f = event(EventType::toll_fraud);
            f.rule.assign("deny_prefix:+882");
            history_->note(f, kNow - 600);
        }
        engine::Event c = event(EventType::fraud_threshold_critical);
        c.rule.assign("per_handset.calls_per_day");
        c.group.assign("international");
        history_->note(c, kNow - 500);
        for (int i = 0; i < 12; ++i) history_->note(event(EventType::call_started), kNow - 4000);
        engine::Event ua = event(EventType::handset_user_agent_changed);
        ua.handset = *net::IpAddress::parse("192.168.20.14");
        ua.user_agent.assign("friendly\x1b[31m-scanner");
        history_->note(ua, kNow - 100);
        history_->note_reload(true, kNow - 50);
        history_->note_reload(false, kNow - 40);
        engine::KernelDropTotals k;
        k.inbound = 1234;
        k.egress = 3;
        history_->note_kernel(k, kNow - 10);
        view_.history = history_->summarize(kNow, 86400);
        view_.handsets_total = 5;
        view_.handsets_registered = 4;
        ReportHandset weak;
        weak.address = "192.168.20.11";
        weak.aor = "201@pbx.example.net";
        weak.user_agent = "Yealink SIP-T46S 66.86.0.15";
        weak.weak_password = "extension_number";
        weak.registered = true;
        ReportHandset old;
        old.address = "192.168.20.12";
        old.aor = "202@pbx.example.net";
        old.user_agent = "Grandstream GXP1625 1.0.1.1";
        old.firmware_outdated = true;
        view_.handsets = {weak, old};
        view_.calls_active = 1;
        view_.tls_flows_since_start = 0;
    }
    std::unique_ptr<engine::SiteHistory> history_ = std::make_unique<engine::SiteHistory>();
    ReportView view_;
};

TEST_F(SiteReportTest, AQuietSiteNeedsNothing) {
    view_.history = history_->summarize(kNow, 3600);
    const std::string text = render_report(view_, false);
    EXPECT_NE(text.find("voipguard report, site acme-london: last 1h"), std::string::npos) << text;
    EXPECT_NE(text.find("up 3d 4h"), std::string::npos) << text;
    EXPECT_NE(text.find("Needs attention: nothing\n"), std::string::npos) << text;
    const Json j = Json::parse(render_report(view_, true));
    EXPECT_EQ(j["attention"].arr.size(), 0u);
    EXPECT_EQ(j["since_s"].u64(), 3600u);
}

TEST_F(SiteReportTest, TextPutsWhatNeedsDoingFirstAndFitsAScreen) {
    bad_day();
    const std::string text = render_report(view_, false);
    const std::size_t attention = text.find("Needs attention:\n");
    ASSERT_NE(attention, std::string::npos) << text;
    const std::size_t calls = text.find("\ncalls ");
    ASSERT_NE(calls, std::string::npos) << text;
    EXPECT_LT(attention, calls);
    EXPECT_NE(text.find("  ! 4 call(s) blocked"), std::string::npos) << text;
    EXPECT_NE(text.find("most: deny_prefix:+882, 3"), std::string::npos) << text;
    EXPECT_NE(text.find("1 handset(s) with a weak password"), std::string::npos) << text;
    EXPECT_NE(text.find("1 handset(s) with firmware below the minimum"), std::string::npos) << text;
    EXPECT_NE(text.find("40 scanner detection(s) from 2 source(s), most from 203.0.113.9"), std::string::npos) << text;
    EXPECT_NE(text.find("1 failed reload(s)"), std::string::npos) << text;
    EXPECT_NE(text.find("192.168.20.11  201@pbx.example.net  \"Yealink SIP-T46S 66.86.0.15\"  weak password (extension_number)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("12 answered, 1 active now, 4 blocked"), std::string::npos) << text;
    EXPECT_NE(text.find("blocked by destination group: - 3, international 1"), std::string::npos) << text;
    EXPECT_NE(text.find("scanning  40 detection(s) from 2 source(s): 203.0.113.9 30, 198.51.100.7 10"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kernel    dropped 1234 inbound"), std::string::npos) << text;
    EXPECT_NE(text.find("reloads   1 ok, 1 failed"), std::string::npos) << text;
    // The packet's escape sequence does not reach the terminal.
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    // One screen: 24 lines of at most 160 characters (a wide terminal wraps less).
    EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 24) << text;
}

TEST_F(SiteReportTest, JsonParsesWithItsStableKeys) {
    bad_day();
    const std::string out = render_report(view_, true);
    const Json j = Json::parse(out);
    for (const char* k : {"version", "site", "generated_at", "since_s", "from", "hours_with_data", "uptime_s",
                          "attention", "handsets", "calls", "scanning", "kernel", "reloads", "blind", "events"})
        EXPECT_TRUE(j.has(k)) << k;
    EXPECT_EQ(j["site"].str, "acme-london");
    EXPECT_EQ(j["generated_at"].u64(), static_cast<std::uint64_t>(kNow));
    EXPECT_EQ(j["since_s"].u64(), 86400u);
    EXPECT_EQ(j["calls"]["blocked"].u64(), 4u);
    EXPECT_EQ(j["calls"]["toll_fraud"].u64(), 3u);
    EXPECT_EQ(j["calls"]["answered"].u64(), 12u);
    EXPECT_EQ(j["calls"]["blocked_by_reason"][0]["reason"].str, "deny_prefix:+882");
    EXPECT_EQ(j["calls"]["blocked_by_reason"][0]["count"].u64(), 3u);
    EXPECT_EQ(j["calls"]["blocked_by_group"][1]["group"].str, "international");
    EXPECT_EQ(j["scanning"]["detections"].u64(), 40u);
    EXPECT_EQ(j["scanning"]["top"][0]["source"].str, "203.0.113.9");
    EXPECT_EQ(j["scanning"]["top"][0]["count"].u64(), 30u);
    EXPECT_EQ(j["kernel"]["inbound_drop_packets"].u64(), 1234u);
    EXPECT_TRUE(j["kernel"]["counters_read"].b);
    EXPECT_EQ(j["reloads"]["failed"].u64(), 1u);
    EXPECT_EQ(j["handsets"]["total"].u64(), 5u);
    EXPECT_EQ(j["handsets"]["needing_attention"][0]["weak_password"].str, "extension_number");
    EXPECT_TRUE(j["handsets"]["needing_attention"][1]["firmware_outdated"].b);
    EXPECT_EQ(j["handsets"]["findings"][0]["type"].str, "handset_user_agent_changed");
    EXPECT_EQ(j["handsets"]["findings"][0]["detail"].str, "friendly\x1b[31m-scanner");   // escaped, parsed back
    EXPECT_EQ(j["events"]["scanner"].u64(), 40u);
    EXPECT_EQ(j["blind"]["tls_connections"].u64(), 0u);
    bool kinds_ok = false;
    for (const Json& a : j["attention"].arr) kinds_ok = kinds_ok || a["kind"].str == "blocked_calls";
    EXPECT_TRUE(kinds_ok);
    EXPECT_EQ(j["attention"][0]["kind"].str, "blocked_calls");
    EXPECT_EQ(out.back(), '\n');
}

TEST_F(SiteReportTest, TlsIsReportedAsABlindSpot) {
    history_->note(event(EventType::tls_uninspected), kNow - 10);
    view_.history = history_->summarize(kNow, 3600);
    view_.tls_flows_since_start = 7;
    view_.static_allowance = true;
    view_.static_allowance_flows_since_start = 2;
    const std::string text = render_report(view_, false);
    EXPECT_NE(text.find("1 SIP-over-TLS connection(s) not inspected, in 1 hour(s)"), std::string::npos) << text;
    EXPECT_NE(text.find("(7 since start; their duration is not known)"), std::string::npos) << text;
    EXPECT_NE(text.find("media.static_allowance on: 2 media flow(s)"), std::string::npos) << text;
    const Json j = Json::parse(render_report(view_, true));
    EXPECT_EQ(j["blind"]["tls_connections"].u64(), 1u);
    EXPECT_EQ(j["blind"]["tls_hours"].u64(), 1u);
    EXPECT_EQ(j["blind"]["tls_connections_since_start"].u64(), 7u);
    EXPECT_TRUE(j["blind"]["static_allowance"].b);
}

TEST_F(SiteReportTest, ManyHandsetsAreCutToOneScreen) {
    for (int i = 0; i < 40; ++i) {
        ReportHandset h;
        h.address = "192.168.20." + std::to_string(100 + i);
        h.stale = true;
        view_.handsets.push_back(h);
    }
    view_.handsets_total = 40;
    view_.history = history_->summarize(kNow, 3600);
    const std::string text = render_report(view_, false);
    EXPECT_NE(text.find("... 32 more (voipguard handsets)"), std::string::npos) << text;
    EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 24) << text;
    // JSON lists them all.
    EXPECT_EQ(Json::parse(render_report(view_, true))["handsets"]["needing_attention"].arr.size(), 40u);
}

TEST_F(SiteReportTest, WindowsParseAndBadOnesAreNamed) {
    std::string error;
    EXPECT_EQ(parse_report_window("1h", error), 3600);
    EXPECT_EQ(parse_report_window("24h", error), 86400);
    EXPECT_EQ(parse_report_window("7d", error), 7 * 86400);
    EXPECT_EQ(parse_report_window("90m", error), 5400);
    EXPECT_EQ(parse_report_window("3600", error), 3600);
    EXPECT_EQ(parse_report_window("3600s", error), 3600);
    for (const char* bad : {"", "h", "1x", "-1h", "1.5h", "1h2", " 1h", "1H"}) {
        EXPECT_FALSE(parse_report_window(bad, error)) << bad;
        EXPECT_NE(error.find("is not a duration"), std::string::npos) << bad << ": " << error;
    }
    for (const char* far : {"8d", "0h", "59s", "999999999d"}) {
        EXPECT_FALSE(parse_report_window(far, error)) << far;
        EXPECT_NE(error.find("outside 1m to 7d"), std::string::npos) << far << ": " << error;
    }
}

TEST(MiniJson, RejectsWhatIsNotJson) {
    for (const char* bad : {"{", "{\"a\":1,}", "[1 2]", "{\"a\":01}", "\"\x01\"", "{} x", "{\"a\":1,\"a\":2}"})
        EXPECT_THROW(Json::parse(bad), std::runtime_error) << bad;
    EXPECT_EQ(Json::parse("{\"a\":[1,true,null,\"\\u00e9\"]}")["a"][3].str, "\xc3\xa9");
}

}  // namespace
}  // namespace vg::daemon
