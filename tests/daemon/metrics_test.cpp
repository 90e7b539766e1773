// SPDX-License-Identifier: GPL-2.0-or-later
// The Prometheus metrics (daemon/metrics.h): rendered from the status view of
// an engine that judged real packets; every family with HELP and TYPE, names
// and labels as Prometheus wants them, label values from fixed sets only,
// series of an unread kernel left out; and the atomic file write.
// tests/daemon/metrics_promtool.sh holds the output to promtool's own check.
#include "daemon/metrics.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::daemon {
namespace {

namespace sp = test::sip_packets;

class MetricsTest : public testing::Test {
protected:
    void SetUp() override {
        rules_ = test::compile_policy(test::site_policy());
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<engine::Engine>(rules_);
        view_.version = "9.9.9";
        view_.policy = &rules_->p();
        view_.engine = engine_.get();
        view_.backend = "nftables";
        view_.uptime_s = 42;
        view_.now = now_;
    }
    // A handset registers with the PBX; an unlisted source knocks (one
    // accept, one drop, events of both kinds).
    void traffic() {
        engine::CountingSink sink;
        const std::string reg = sp::request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1);
        engine_->process(jar_.udp("192.168.20.10", 5060, "203.0.113.10", 5060, reg), now_, sink);
        const std::string ok = sp::response(200, "OK", "REGISTER", 1, "reg1", "t1", "",
                                            "Contact: <sip:201@192.168.20.10:5060>;expires=3600\r\n");
        engine_->process(jar_.udp("203.0.113.10", 5060, "192.168.20.10", 5060, ok), now_, sink);
        const std::string invite = sp::request("INVITE", "sip:201@192.168.20.10", "scan1", "x", "", 1, "",
                                               "friendly-scanner");
        engine_->process(jar_.udp("198.18.0.9", 5060, "192.168.20.10", 5060, invite), now_, sink);
        for (std::size_t i = 0; i < engine::kEventTypeCount; ++i)
            view_.events[i] = sink.count(static_cast<engine::EventType>(i));
    }

    engine::Now now_ = engine::Now::at(engine::Timestamp{} + std::chrono::seconds(1000));
    test::PacketJar jar_;
    std::shared_ptr<const engine::CompiledPolicy> rules_;
    std::unique_ptr<engine::Engine> engine_;
    StatusView view_;
};

// name{labels} value -> value, for every sample.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.rfind(' ');
        out[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return out;
}

TEST_F(MetricsTest, EveryFamilyHasHelpAndTypeBeforeItsSamplesAndFollowsTheNamingRules) {
    traffic();
    view_.counters.ok = true;
    const std::string text = render_metrics(view_);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    const std::regex help(R"(# HELP (voipguard_[a-z_]+) [^\n\\]+)");
    const std::regex type(R"(# TYPE (voipguard_[a-z_]+) (counter|gauge))");
    const std::regex sample(R"((voipguard_[a-z_]+)(\{([a-z_]+="[^"\\\n]*",?)+\})? [0-9]+)");
    std::map<std::string, std::string> types;
    std::set<std::string> helped;
    std::istringstream in(text);
    std::string line, current;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, m, help)) {
            EXPECT_TRUE(helped.insert(m[1]).second) << "family twice: " << m[1];
            current = m[1];
        } else if (std::regex_match(line, m, type)) {
            EXPECT_EQ(m[1], current) << "TYPE without its HELP: " << line;
            types[m[1]] = m[2];
            const bool total = current.size() > 6 && current.compare(current.size() - 6, 6, "_total") == 0;
            EXPECT_EQ(total, m[2] == "counter") << "counters and only counters end in _total: " << current;
        } else {
            ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample line: " << line;
            EXPECT_EQ(m[1], current) << "sample outside its family: " << line;
        }
    }
    EXPECT_GE(types.size(), 30u);
}

TEST_F(MetricsTest, FiguresComeFromTheEngineAndTheView) {
    traffic();
    view_.counters.ok = true;
    view_.counters.inbound_drop_packets = 17;
    view_.counters.inbound_drop_bytes = 1700;
    view_.reloads_ok = 2;
    view_.reloads_failed = 1;
    view_.conntrack_deleted = 5;
    view_.alerts.started = 4;
    view_.alerts.failed = 1;
    view_.alerts.rate_limited = 6;
    netlink::KernelQueueStats kq;
    kq.queue_dropped = 3;
    view_.kernel_queue = kq;
    const auto s = samples(render_metrics(view_));
    EXPECT_EQ(s.at("voipguard_build_info{version=\"9.9.9\"}"), "1");
    EXPECT_EQ(s.at("voipguard_policy_info{mode=\"enforce\",on_failure=\"open\",backend=\"nftables\"}"), "1");
    EXPECT_EQ(s.at("voipguard_packets_total"), "3");
    EXPECT_EQ(s.at("voipguard_verdicts_total{verdict=\"drop\"}"), "1");
    EXPECT_EQ(s.at("voipguard_verdict_reasons_total{reason=\"unlisted_source\",verdict=\"drop\"}"), "1");
    EXPECT_EQ(s.at("voipguard_verdict_reasons_total{reason=\"sip_scanner\",verdict=\"drop\"}"), "0");
    EXPECT_EQ(s.at("voipguard_verdict_reasons_total{reason=\"sip_inspected\",verdict=\"accept\"}"), "2");
    EXPECT_EQ(s.at("voipguard_events_total{type=\"scanner\"}"), "1");
    EXPECT_EQ(s.at("voipguard_events_total{type=\"handset_registered\"}"), "1");
    EXPECT_EQ(s.at("voipguard_events_total{type=\"toll_fraud\"}"), "0");
    EXPECT_EQ(s.at("voipguard_handsets{state=\"registered\"}"), "1");
    EXPECT_EQ(s.at("voipguard_handsets{state=\"stale\"}"), "0");
    EXPECT_EQ(s.at("voipguard_table_entries{table=\"handsets\"}"), "1");
    EXPECT_EQ(s.at("voipguard_table_capacity_entries{table=\"dialogs\"}"),
              std::to_string(engine::EngineLimits{}.max_dialogs));
    EXPECT_EQ(s.at("voipguard_table_capacity_entries{table=\"callback_marks\"}"),
              std::to_string(engine::EngineLimits{}.max_callback_marks));
    EXPECT_EQ(s.at("voipguard_table_entries{table=\"callback_marks\"}"), "0");
    EXPECT_EQ(s.at("voipguard_table_evictions_total{table=\"callback_marks\"}"), "0");
    EXPECT_EQ(s.at("voipguard_kernel_dropped_packets_total{rule=\"inbound\"}"), "17");
    EXPECT_EQ(s.at("voipguard_kernel_dropped_bytes_total{rule=\"inbound\"}"), "1700");
    EXPECT_EQ(s.at("voipguard_queue_kernel_dropped_packets_total{cause=\"queue_full\"}"), "3");
    EXPECT_EQ(s.at("voipguard_reloads_total{result=\"ok\"}"), "2");
    EXPECT_EQ(s.at("voipguard_reloads_total{result=\"failed\"}"), "1");
    EXPECT_EQ(s.at("voipguard_conntrack_deleted_total"), "5");
    EXPECT_EQ(s.at("voipguard_alerts_started_total"), "4");
    EXPECT_EQ(s.at("voipguard_alerts_failed_total"), "1");
    EXPECT_EQ(s.at("voipguard_alerts_dropped_total{reason=\"rate_limited\"}"), "6");
    EXPECT_EQ(s.at("voipguard_alerts_dropped_total{reason=\"queue_full\"}"), "0");
    EXPECT_EQ(s.at("voipguard_uptime_seconds"), "42");
}

TEST_F(MetricsTest, HandsetWithoutRegistrationIsUnregisteredAfterItExpires) {
    traffic();
    view_.now = engine::Now::at(engine::Timestamp{} + std::chrono::seconds(1000 + 7200));
    const auto s = samples(render_metrics(view_));
    EXPECT_EQ(s.at("voipguard_handsets{state=\"registered\"}"), "0");
    EXPECT_EQ(s.at("voipguard_handsets{state=\"unregistered\"}"), "1");
}

TEST_F(MetricsTest, KernelSeriesAreLeftOutWhenTheyCouldNotBeRead) {
    view_.counters = kernel::Counters{};
    view_.kernel_queue.reset();
    const std::string text = render_metrics(view_);
    const auto s = samples(text);
    EXPECT_EQ(s.at("voipguard_kernel_counters_ok"), "0");
    EXPECT_EQ(text.find("voipguard_kernel_dropped_packets_total"), std::string::npos);
    EXPECT_EQ(text.find("voipguard_queue_kernel_dropped_packets_total"), std::string::npos);
    EXPECT_EQ(text.find("voipguard_queue_waiting_packets"), std::string::npos);
}

TEST_F(MetricsTest, LabelValuesNeverComeFromPackets) {
    // A Call-ID, number and User-Agent that would break the format if they
    // reached a label: none of them may appear.
    const std::size_t series_before = samples(render_metrics(view_)).size();
    engine::CountingSink sink;
    const std::string evil = "evil\"}\n1{";
    const std::string invite =
        sp::request("INVITE", "sip:+88212345@pbx.example.net", evil, "f1", "", 1, "", "UA\"} 1\nx");
    engine_->process(jar_.udp("192.168.20.10", 5060, "203.0.113.10", 5060, invite), now_, sink);
    const std::string text = render_metrics(view_);
    EXPECT_EQ(text.find("evil"), std::string::npos);
    EXPECT_EQ(text.find("88212345"), std::string::npos);
    EXPECT_EQ(text.find("UA\""), std::string::npos);
    // The same series whatever the traffic: bounded cardinality.
    EXPECT_EQ(samples(text).size(), series_before);
}

TEST_F(MetricsTest, VersionLabelIsEscaped) {
    view_.version = "1.0\"\\\nx";
    EXPECT_NE(render_metrics(view_).find("voipguard_build_info{version=\"1.0\\\"\\\\\\nx\"} 1\n"), std::string::npos);
}

class MetricsFileTest : public testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vg_metrics_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)std::system(("rm -rf '" + dir_ + "'").c_str()); }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::string dir_;
};

TEST_F(MetricsFileTest, WriteReplacesTheFileWholeReadableByOthersAndLeavesNoTemporaryFile) {
    const std::string path = dir_ + "/voipguard.prom";
    std::string error;
    const mode_t old = ::umask(077);
    ASSERT_TRUE(write_file_atomically(path, "a 1\n", error)) << error;
    ASSERT_TRUE(write_file_atomically(path, "b 2\n", error)) << error;
    ::umask(old);
    EXPECT_EQ(read(path), "b 2\n");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
}

TEST_F(MetricsFileTest, WriteIntoAMissingDirectoryFailsWithThePathAndChangesNothing) {
    const std::string path = dir_ + "/missing/voipguard.prom";
    std::string error;
    EXPECT_FALSE(write_file_atomically(path, "a 1\n", error));
    EXPECT_NE(error.find(dir_ + "/missing/voipguard.prom.tmp: No such file or directory"), std::string::npos) << error;
}

TEST_F(MetricsFileTest, FailedRenameKeepsTheOldFileAndRemovesTheTemporaryOne) {
    // The target is a directory: rename(2) refuses, the temporary file goes.
    const std::string path = dir_ + "/voipguard.prom";
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((path + "/x").c_str(), 0755), 0);
    std::string error;
    EXPECT_FALSE(write_file_atomically(path, "a 1\n", error));
    EXPECT_NE(error.find(path + ": "), std::string::npos) << error;
    EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
    EXPECT_EQ(::access((path + "/x").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace vg::daemon
