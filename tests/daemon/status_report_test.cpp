// SPDX-License-Identifier: GPL-2.0-or-later
// What `voipguard status|calls|handsets` answer (daemon/status_report.h):
// the figures the daemon gathered, text and JSON; kernel counters that could
// not be read are said to be so, never shown as a silent zero only.
#include "daemon/status_report.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/engine_policy.h"

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
    EXPECT_EQ(text.find("could not be read"), std::string::npos) << text;
    const std::string js = render_status(view_, true);
    EXPECT_NE(js.find("\"inbound_drop_packets\":17"), std::string::npos) << js;
    EXPECT_NE(js.find("\"counters_read\":true"), std::string::npos) << js;
    EXPECT_NE(js.find("\"conntrack_deleted\":5"), std::string::npos) << js;
    EXPECT_NE(js.find("\"reloads_ok\":2"), std::string::npos) << js;
    EXPECT_NE(js.find("\"alerts\":{\"started\":3,\"failed\":0,\"rate_limited\":0,\"queue_full\":2}"),
              std::string::npos)
        << js;
    EXPECT_NE(js.find("\"voice_interfaces\":[\"lan1\",\"lan2\"]"), std::string::npos) << js;
    EXPECT_EQ(js.back(), '\n');
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
    EXPECT_EQ(render_calls(*engine_, false), "no active calls\n");
    EXPECT_EQ(render_calls(*engine_, true), "{\"calls\":[]}\n");
    const engine::Now now = engine::Now::at(engine::Timestamp{} + std::chrono::seconds(100));
    EXPECT_EQ(render_handsets(*engine_, now, false), "no handsets seen\n");
    EXPECT_EQ(render_handsets(*engine_, now, true), "{\"handsets\":[]}\n");
}

}  // namespace
}  // namespace vg::daemon
