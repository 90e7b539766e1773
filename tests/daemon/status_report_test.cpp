// SPDX-License-Identifier: GPL-2.0-or-later
// What `voipguard status|calls|handsets` answer (daemon/status_report.h):
// the figures the daemon gathered, text and JSON; kernel counters that could
// not be read are said to be so, never shown as a silent zero only.
#include "daemon/status_report.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/log_events.h"
#include "filters/net/packet.h"
#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::daemon {
namespace {

class StatusReportTest : public testing::Test {
protected:
    void SetUp() override {
        rules_ = test::compile_policy(test::site_policy());
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<engine::Engine>(rules_);
        view_.version = "9.9.9";
        view_.policy_path = "/etc/voipguard/policy.yaml";
        view_.policy = &rules_->p();
        view_.engine = engine_.get();
        view_.backend = "iptables";
        view_.backend_reason = "the kernel has no nft_queue";
        view_.voice_interfaces = {"lan1", "lan2"};
        view_.uptime_s = 42;
        view_.queue = 3;
    }
    std::shared_ptr<const engine::CompiledPolicy> rules_;
    std::unique_ptr<engine::Engine> engine_;
    StatusView view_;
};

TEST_F(StatusReportTest, CountersReadAreShownInTextAndJson) {
    view_.counters.ok = true;
    view_.counters.inbound_drop_packets = 17;
    view_.counters.queued_packets = 1234;
    view_.conntrack_deleted = 5;
    view_.reloads_ok = 2;
    view_.alerts.started = 3;
    view_.alerts.queue_full = 2;
    const std::string text = render_status(view_, false);
    EXPECT_NE(text.find("voipguard 9.9.9"), std::string::npos) << text;
    EXPECT_NE(text.find("backend iptables (the kernel has no nft_queue), up 42 s"), std::string::npos) << text;
    EXPECT_NE(text.find("voice interfaces: lan1,lan2"), std::string::npos) << text;
    EXPECT_NE(text.find("kernel: 17 inbound drops"), std::string::npos) << text;
    EXPECT_NE(text.find("1234 queued\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\ncallback marks 0 (0 pushed out)\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("could not be read"), std::string::npos) << text;
    const std::string js = render_status(view_, true);
    EXPECT_NE(js.find("\"inbound_drop_packets\":17"), std::string::npos) << js;
    EXPECT_NE(js.find("\"counters_read\":true"), std::string::npos) << js;
    EXPECT_NE(js.find("\"conntrack_deleted\":5"), std::string::npos) << js;
    EXPECT_NE(js.find("\"reloads_ok\":2"), std::string::npos) << js;
    EXPECT_NE(js.find("\"alerts\":{\"started\":3,\"failed\":0,\"rate_limited\":0,\"queue_full\":2}"),
              std::string::npos)
        << js;
    EXPECT_NE(js.find("\"egress_flows\":0,\"callback_marks\":0},\"callback_marks\":0,"), std::string::npos) << js;
    EXPECT_NE(js.find("\"voice_interfaces\":[\"lan1\",\"lan2\"]"), std::string::npos) << js;
    EXPECT_EQ(js.back(), '\n');
}

TEST_F(StatusReportTest, ARunningInterfaceAuditIsShown) {
    EXPECT_EQ(render_status(view_, false).find("interface audit"), std::string::npos);
    EXPECT_NE(render_status(view_, true).find("\"interface_audit\":{\"running\":false,\"running_s\":0}"),
              std::string::npos);
    view_.audit_running = true;
    view_.audit_running_s = 12;
    EXPECT_NE(render_status(view_, false).find("\ninterface audit: running for 12 s (voipguard audit)\n"),
              std::string::npos)
        << render_status(view_, false);
    EXPECT_NE(render_status(view_, true).find("\"interface_audit\":{\"running\":true,\"running_s\":12}}\n"),
              std::string::npos)
        << render_status(view_, true);
}

TEST_F(StatusReportTest, CountersNotReadAreSaidToBeSo) {
    view_.counters = kernel::Counters{};
    EXPECT_NE(render_status(view_, false).find("(the counters could not be read)"), std::string::npos);
    EXPECT_NE(render_status(view_, true).find("\"counters_read\":false"), std::string::npos);
}

// The loop's steps: counted, the longest kept with its name and time; a
// shorter step later does not replace it.
TEST(LoopStats, KeepsTheLongestStepAndCountsTheSlowOnes) {
    LoopStats l;
    l.note("queue", 40, 1000);
    l.note("kernel_results", 7200, 2000);
    l.note("control", 1500, 3000);
    l.note("queue", 1000, 4000);   // 1 ms is not over 1 ms
    EXPECT_EQ(l.steps, 4u);
    EXPECT_EQ(l.steps_over_1ms, 2u);
    EXPECT_EQ(l.steps_over_5ms, 1u);
    EXPECT_EQ(l.longest_us, 7200u);
    EXPECT_STREQ(l.longest_in, "kernel_results");
    EXPECT_EQ(l.longest_at_ms, 2000);
}

TEST_F(StatusReportTest, LoopStepsAreShownInTextAndJson) {
    EXPECT_NE(render_status(view_, false).find("loop: longest step 0 us, 0 of 0 steps over 1 ms, fair scheduler, 0 % CPU\n"),
              std::string::npos);
    view_.loop.note("queue", 20, 5);
    view_.loop.note("kernel_results", 2500, 1700000000123);
    view_.loop.realtime_priority = 5;
    view_.loop.cpu_percent = 3;
    std::string text = render_status(view_, false);
    EXPECT_NE(text.find("loop: longest step 2500 us (kernel_results), 1 of 2 steps over 1 ms, real-time priority 5, "
                        "3 % CPU\n"),
              std::string::npos)
        << text;
    const std::string js = render_status(view_, true);
    EXPECT_NE(js.find("\"loop\":{\"steps\":2,\"steps_over_1ms\":1,\"steps_over_5ms\":0,\"longest_step_us\":2500,"
                      "\"longest_step\":\"kernel_results\",\"longest_step_at_ms\":1700000000123,"
                      "\"realtime_priority\":5,\"cpu_percent\":3,\"realtime_demotions\":0}"),
              std::string::npos)
        << js;
    // A flood put the loop back on the fair scheduler.
    view_.loop.realtime_priority = 0;
    view_.loop.cpu_percent = 80;
    view_.loop.realtime_demotions = 1;
    text = render_status(view_, false);
    EXPECT_NE(text.find(", fair scheduler, 80 % CPU (back to the fair scheduler 1 times under load)\n"), std::string::npos)
        << text;
}

TEST_F(StatusReportTest, NoCallsAndNoHandsetsSayWhatTheyMean) {
    EXPECT_EQ(render_calls(*engine_, false, NumberMask{}), "no active calls\n");
    EXPECT_EQ(render_calls(*engine_, true, NumberMask{}), "{\"calls\":[]}\n");
    const engine::Now now = engine::Now::at(engine::Timestamp{} + std::chrono::seconds(100));
    EXPECT_EQ(render_handsets(*engine_, now, false, NumberMask{}), "no handsets seen\n");
    EXPECT_EQ(render_handsets(*engine_, now, true, NumberMask{}), "{\"handsets\":[],\"known\":[]}\n");
}

TEST_F(StatusReportTest, TheInventoryShowsKnownUnknownAndForgottenHandsets) {
    std::string yaml = test::site_policy();
    yaml.replace(yaml.find("  stale_after: 1h\n"), 0,
                 "  known:\n    - aor: 201@pbx.example.net\n      address: 192.168.20.10\n"
                 "      model: Yealink\n    - aor: \"202\"\n    - aor: 203@pbx.example.net\n");
    rules_ = test::compile_policy(yaml);
    ASSERT_NE(rules_, nullptr);
    engine_ = std::make_unique<engine::Engine>(rules_);
    test::PacketJar jar;
    test::EventRecorder rec;
    engine::Timestamp t = engine::Timestamp{} + std::chrono::hours(10);
    auto registers = [&](const char* handset, const std::string& user) {
        using namespace test::sip_packets;
        std::string msg = request("REGISTER", "sip:pbx.example.net", std::string("r-") + user, "f1", "", 1, "",
                                  "Yealink SIP-T46S 66.86.0.15");
        msg.replace(msg.find("To: <sip:pbx.example.net>"), 25, "To: <sip:" + user + "@pbx.example.net>");
        engine_->process(jar.udp(handset, 5060, "203.0.113.10", 5060, msg), engine::Now::at(t), rec);
    };
    engine_->tick(engine::Now::at(t), rec);   // the list is loaded: 202 and 203 are away from now
    registers("192.168.20.10", "201");
    registers("192.168.20.11", "203");
    registers("192.168.20.13", "201");   // 201's account from another address
    t += std::chrono::minutes(30);
    registers("192.168.20.12", "209");
    registers("192.168.20.10", "201");
    t += std::chrono::minutes(31);
    engine_->tick(engine::Now::at(t), rec);
    const engine::Now now{t, 1700000000};
    const std::string text = render_handsets(*engine_, now, false, NumberMask{});
    EXPECT_NE(text.find("192.168.20.10  201@pbx.example.net  \"Yealink SIP-T46S 66.86.0.15\"  not registered  KNOWN"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("192.168.20.12  209@pbx.example.net  \"Yealink SIP-T46S 66.86.0.15\"  not registered  UNKNOWN"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("192.168.20.13  201@pbx.example.net  \"Yealink SIP-T46S 66.86.0.15\"  not registered  "
                        "STALE  KNOWN AOR, NOT AS LISTED"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("inventory: 3 known, 1 registering, 2 forgotten or never seen\n"
                        "  202  NEVER SEEN\n"
                        "  203@pbx.example.net  FORGOTTEN (last registered from 192.168.20.11, 3660 s ago)\n"),
              std::string::npos)
        << text;
    const std::string js = render_handsets(*engine_, now, true, NumberMask{});
    EXPECT_NE(js.find("\"address\":\"192.168.20.12\",\"aor\":\"209@pbx.example.net\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"inventory\":\"unknown\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"inventory\":\"known\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"inventory\":\"mismatch\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"known\":[{\"aor\":\"201@pbx.example.net\",\"address\":\"192.168.20.10\",\"model\":\"Yealink\","
                      "\"status\":\"registering\",\"last_register\":1699998140,\"last_address\":\"192.168.20.10\"},"
                      "{\"aor\":\"202\",\"address\":\"\",\"model\":\"\",\"status\":\"never_seen\",\"last_register\":0,"
                      "\"last_address\":\"\"},"
                      "{\"aor\":\"203@pbx.example.net\",\"address\":\"\",\"model\":\"\",\"status\":\"forgotten\","
                      "\"last_register\":1699996340,\"last_address\":\"192.168.20.11\"}]}\n"),
              std::string::npos)
        << js;
}

// A running call with a destination profile: its profile, duration and the
// levels it is at 80 % of or more (the critical one when that close, else
// the warning one), per handset and per site, text and JSON.
class CallsNearTest : public testing::Test {
protected:
    void make(const std::string& profiles) {
        std::string yaml = test::site_policy("enforce", "", "      calls_per_hour: 1000\n");
        yaml.replace(yaml.find("toll_fraud:\n") + 12, 0, "  profiles:\n" + profiles);
        rules_ = test::compile_policy(yaml);
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<engine::Engine>(rules_);
    }
    void feed(const test::Bytes& b) {
        packets_.push_back(b);
        const net::DecodedPacket p = net::decode_ip(packets_.back().data(), packets_.back().size());
        engine_->process(p, engine::Now::at(now_), rec_);
    }
    void out(const std::string& m) { feed(test::sip_packets::v4udp("192.168.20.10", 5060, "203.0.113.10", 5060, m)); }
    void in(const std::string& m) { feed(test::sip_packets::v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, m)); }
    void call(const std::string& id, const std::string& number) {
        out(test::sip_packets::request("INVITE", "sip:" + number + "@pbx.example.net", id, "f1", "", 1));
    }
    void advance(std::chrono::seconds d) {
        now_ += d;
        engine_->tick(engine::Now::at(now_), rec_);
    }
    std::shared_ptr<const engine::CompiledPolicy> rules_;
    std::unique_ptr<engine::Engine> engine_;
    test::EventRecorder rec_;
    engine::Timestamp now_ = engine::Timestamp{} + std::chrono::seconds(1700000000);
    std::vector<test::Bytes> packets_;
};

TEST_F(CallsNearTest, ARunningCallShowsTheLevelsItIsNear) {
    make("    - name: intl\n      prefixes: [\"+\"]\n"
         "      max_call_duration: {warning: 10m, critical: 20m}\n"
         "      per_handset:\n        calls_per_day: {warning: 4, critical: 5}\n"
         "        minutes_per_day: {critical: 10}\n"
         "      per_site:\n        concurrent_calls: {critical: 2}\n");
    for (const char* id : {"c1", "c2", "c3"}) {
        call(id, "0033123450001");
        out(test::sip_packets::request("CANCEL", "sip:0033123450001@pbx.example.net", id, "f1", "", 1));
    }
    call("live", "0033123450002");
    in(test::sip_packets::response(200, "OK", "INVITE", 1, "live", "t1"));
    advance(std::chrono::seconds(540));

    const std::string text = render_calls(*engine_, false, NumberMask{});
    EXPECT_NE(text.find("live  192.168.20.10 -> +33123450002  confirmed  profile intl  540s  near "
                        "max_call_duration.warning 540/600s, per_handset.calls_per_day.critical 4/5, "
                        "per_handset.minutes_per_day.critical 9/10\n"),
              std::string::npos)
        << text;
    const std::string js = render_calls(*engine_, true, NumberMask{});
    EXPECT_NE(js.find("\"profile\":\"intl\",\"duration\":540,\"near\":["
                      "{\"threshold\":\"max_call_duration\",\"level\":\"warning\",\"value\":540,\"limit\":600},"
                      "{\"threshold\":\"per_handset.calls_per_day\",\"level\":\"critical\",\"value\":4,\"limit\":5},"
                      "{\"threshold\":\"per_handset.minutes_per_day\",\"level\":\"critical\",\"value\":9,\"limit\":10}]"),
              std::string::npos)
        << js;
    // The levels move with the counters: one more running call of the site
    // brings per_site.concurrent_calls to its critical level.
    call("live2", "0033123450003");
    in(test::sip_packets::response(200, "OK", "INVITE", 1, "live2", "t2"));
    advance(std::chrono::seconds(1));
    EXPECT_NE(render_calls(*engine_, false, NumberMask{}).find("per_site.concurrent_calls.critical 2/2"), std::string::npos)
        << render_calls(*engine_, false, NumberMask{});
}

TEST_F(CallsNearTest, ACallFarFromItsLevelsShowsNone) {
    make("    - name: intl\n      prefixes: [\"+\"]\n      per_handset:\n        calls_per_day: {warning: 10}\n");
    call("live", "0033123450002");
    in(test::sip_packets::response(200, "OK", "INVITE", 1, "live", "t1"));
    advance(std::chrono::seconds(30));
    const std::string text = render_calls(*engine_, false, NumberMask{});
    EXPECT_NE(text.find("profile intl  30s"), std::string::npos) << text;
    EXPECT_EQ(text.find("near"), std::string::npos) << text;
    EXPECT_NE(render_calls(*engine_, true, NumberMask{}).find("\"near\":[]"), std::string::npos);
}

// The callback events as the daemon logs them (the examples of EVENTS.md).
TEST_F(CallsNearTest, CallbackEventsAsLogged) {
    make("    - name: intl\n      prefixes: [\"+\"]\n");
    const std::string id = "4711@pbx.example.net";
    in("INVITE sip:201@192.168.20.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKw1\r\n"
       "From: <sip:+88213000001@pbx.example.net>;tag=p1\r\nTo: <sip:201@pbx.example.net>\r\nCall-ID: " + id +
       "\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    advance(std::chrono::seconds(3));
    in("CANCEL sip:201@192.168.20.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKw1\r\n"
       "From: <sip:+88213000001@pbx.example.net>;tag=p1\r\nTo: <sip:201@pbx.example.net>\r\nCall-ID: " + id +
       "\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    ASSERT_NE(rec_.last(engine::EventType::callback_marked), nullptr);
    const engine::Event marked = *rec_.last(engine::EventType::callback_marked);   // a copy: rec_ grows
    const engine::Event* m = &marked;
    EXPECT_EQ(format_event(*m, "acme-london", NumberMask{}),
              "VG_CALLBACK_MARKED site=acme-london handset=192.168.20.10 number=+88213000001 "
              "rule=callback_risk:+882 call_id=4711@pbx.example.net detail=\"inbound:f7045b71 cancel:3s handset:192.168.20.10\"");
    advance(std::chrono::seconds(1260));
    call("a91@192.168.20.10", "0088213000001");
    const engine::Event* b = rec_.last(engine::EventType::callback_blocked);
    ASSERT_NE(b, nullptr);
    const std::string line = format_event(*b, "acme-london", NumberMask{});
    EXPECT_EQ(line, "VG_CALLBACK_BLOCKED site=acme-london handset=192.168.20.10 src_port=5060 dst=203.0.113.10 "
                    "dst_port=5060 proto=udp method=INVITE number=+88213000001 dialled=0088213000001 "
                    "rule=callback:+882 call_id=a91@192.168.20.10 ua=\"Yealink SIP-T46S 66.86.0.15\" detail=\"" +
                        std::string(m->detail.view()) + "\" count=1260");
}

}  // namespace
}  // namespace vg::daemon
