// SPDX-License-Identifier: GPL-2.0-or-later
// Alerts (daemon/alerts.h): the per-event token bucket and the selection
// with injected time; the runner with real programs (shell scripts the test
// writes): the JSON on stdin, a failing exit, a program killed at the
// timeout with its process group, and a full queue.
#include "daemon/alerts.h"

#include "config/schema.h"
#include "daemon/log_events.h"
#include "daemon/log_structured.h"
#include "filters/engine/events.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vg::daemon {
namespace {

using namespace std::chrono_literals;

const AlertClock::time_point t0{std::chrono::hours(1000)};

TEST(AlertBucket, BurstThenRefillAtTheRate) {
    AlertBucket b(1, std::chrono::seconds(60), 3);   // 1 per minute, burst 3
    EXPECT_TRUE(b.take(t0));
    EXPECT_TRUE(b.take(t0));
    EXPECT_TRUE(b.take(t0));
    EXPECT_FALSE(b.take(t0));
    EXPECT_FALSE(b.take(t0 + 59s));
    EXPECT_TRUE(b.take(t0 + 60s));
    EXPECT_FALSE(b.take(t0 + 61s));
    // Refills up to the burst, not beyond.
    EXPECT_TRUE(b.take(t0 + 1h));
    EXPECT_TRUE(b.take(t0 + 1h));
    EXPECT_TRUE(b.take(t0 + 1h));
    EXPECT_FALSE(b.take(t0 + 1h));
}

TEST(AlertBucket, ClockGoingBackGivesNothing) {
    AlertBucket b(1, std::chrono::seconds(1), 1);
    EXPECT_TRUE(b.take(t0 + 10s));
    EXPECT_FALSE(b.take(t0));          // earlier: no refill
    EXPECT_FALSE(b.take(t0 + 10s));    // back where it was: still nothing earned
    EXPECT_TRUE(b.take(t0 + 11s));
}

TEST(AlertGate, OnlySelectedEventsEachWithItsOwnBucket) {
    AlertGate g({"VG_TOLL_FRAUD_BLOCKED", "VG_SCANNER"}, AlertRate{1, std::chrono::seconds(60), 2});
    EXPECT_EQ(g.admit("VG_WEAK_CREDENTIAL", t0), AlertGate::Verdict::not_selected);
    EXPECT_EQ(g.admit("VG_TOLL_FRAUD_BLOCKED", t0), AlertGate::Verdict::admitted);
    EXPECT_EQ(g.admit("VG_TOLL_FRAUD_BLOCKED", t0), AlertGate::Verdict::admitted);
    EXPECT_EQ(g.admit("VG_TOLL_FRAUD_BLOCKED", t0 + 1s), AlertGate::Verdict::rate_limited);
    // Another type is not held back by the first one's bucket.
    EXPECT_EQ(g.admit("VG_SCANNER", t0 + 1s), AlertGate::Verdict::admitted);
    EXPECT_EQ(g.rate_limited(), 1u);
    EXPECT_EQ(g.admit("VG_TOLL_FRAUD_BLOCKED", t0 + 31s), AlertGate::Verdict::rate_limited);
    EXPECT_EQ(g.admit("VG_TOLL_FRAUD_BLOCKED", t0 + 61s), AlertGate::Verdict::admitted);
    EXPECT_EQ(g.rate_limited(), 2u);
}

// alerts.events offers every engine event and the daemon's VG_RELOAD_FAILED
// and VG_HANDSET_OPEN_INTERFACE (the interface audit's finding).
TEST(AlertsSchema, EventChoicesAreTheLogIds) {
    const config::KeyInfo* key = nullptr;
    for (const auto& k : config::schema())
        if (k.path == "alerts.events") key = &k;
    ASSERT_NE(key, nullptr);
    std::vector<std::string> choices;
    std::string_view rest = key->choices;
    while (!rest.empty()) {
        const auto bar = rest.find('|');
        choices.emplace_back(rest.substr(0, bar));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    std::vector<std::string> expected;
    for (std::size_t t = 0; t < engine::kEventTypeCount; ++t)
        expected.emplace_back(engine::event_id(static_cast<engine::EventType>(t)));
    expected.emplace_back(kReloadFailedLine.id);
    expected.emplace_back(kOpenInterfaceLine.id);
    std::sort(choices.begin(), choices.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(choices, expected);
}

TEST(AlertRunner, RefusesARelativeProgram) {
    AlertRunner r({"sh", "-c", "true"}, 1s, 1, 1);
    std::string error;
    EXPECT_FALSE(r.start(error));
    EXPECT_NE(error.find("absolute"), std::string::npos) << error;
    EXPECT_FALSE(r.submit("VG_X", "{}"));
    EXPECT_EQ(r.overflow(), 1u);
}

// --- with real programs ---------------------------------------------------------

struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vg-alerts-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()) != nullptr) path = buf.data();
    }
    ~TempDir() {
        if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
    }
    std::string script(const std::string& name, const std::string& body) const {
        const std::string p = path + "/" + name;
        std::ofstream(p) << "#!/bin/sh\n" << body;
        chmod(p.c_str(), 0755);
        return p;
    }
};

std::string read_all(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// Gone, or a zombie nobody has reaped yet (it was killed all the same).
bool dead(pid_t pid) {
    if (kill(pid, 0) != 0) return true;
    const std::string stat = read_all("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// Polls `cond` for up to a minute (the machine may be loaded).
template <class F>
bool eventually(F cond) {
    for (int i = 0; i < 6000; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return cond();
}

std::vector<AlertOutcome> wait_failures(AlertRunner& r, std::size_t n) {
    std::vector<AlertOutcome> all;
    eventually([&] {
        for (auto& f : r.take_failures()) all.push_back(std::move(f));
        return all.size() >= n;
    });
    return all;
}

TEST(AlertRunner, ProgramGetsTheEventAsJsonOnStdinAndACleanEnvironment) {
    TempDir d;
    ASSERT_FALSE(d.path.empty());
    const std::string out = d.path + "/got";
    const std::string prog = d.script("ok.sh", "cat > '" + out + ".tmp'\nenv > '" + out + ".env'\necho \"$1\" > '" +
                                                   out + ".arg'\nmv '" + out + ".tmp' '" + out + "'\n");
    AlertRunner r({prog, "--to", "noc@example.net"}, 60s, 2, 4);
    std::string error;
    ASSERT_TRUE(r.start(error)) << error;

    LineContext c;
    c.severity = Severity::error;
    c.hostname = "router1";
    const std::string json =
        render_json(c, "VG_TOLL_FRAUD_BLOCKED site=acme handset=192.168.20.10 number=+88213000001", 4096);
    ASSERT_TRUE(r.submit("VG_TOLL_FRAUD_BLOCKED", json));
    ASSERT_TRUE(eventually([&] { return exists(out); }));
    EXPECT_EQ(read_all(out), json + "\n");
    EXPECT_NE(json.find("\"event\":\"VG_TOLL_FRAUD_BLOCKED\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"number\":\"+88213000001\""), std::string::npos) << json;
    EXPECT_EQ(read_all(out + ".arg"), "--to\n");
    const std::string env = read_all(out + ".env");
    EXPECT_NE(env.find("VOIPGUARD_EVENT=VG_TOLL_FRAUD_BLOCKED"), std::string::npos) << env;
    EXPECT_EQ(env.find("HOME="), std::string::npos) << env;
    ASSERT_TRUE(eventually([&] { return r.running() == 0; }));
    EXPECT_EQ(r.started(), 1u);
    EXPECT_EQ(r.failed(), 0u);
    EXPECT_TRUE(r.take_failures().empty());
}

TEST(AlertRunner, NonZeroExitIsAFailure) {
    TempDir d;
    ASSERT_FALSE(d.path.empty());
    const std::string prog = d.script("fail.sh", "cat >/dev/null\nexit 3\n");
    AlertRunner r({prog}, 60s, 1, 1);
    std::string error;
    ASSERT_TRUE(r.start(error)) << error;
    ASSERT_TRUE(r.submit("VG_SCANNER", "{}"));
    const auto f = wait_failures(r, 1);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].event, "VG_SCANNER");
    EXPECT_EQ(f[0].exit_code, 3);
    EXPECT_FALSE(f[0].timed_out);
    EXPECT_EQ(describe(f[0]), "exit 3");
    EXPECT_EQ(r.failed(), 1u);
}

TEST(AlertRunner, MissingProgramIsAFailure) {
    TempDir d;
    ASSERT_FALSE(d.path.empty());
    AlertRunner r({d.path + "/no-such-program"}, 60s, 1, 1);
    std::string error;
    ASSERT_TRUE(r.start(error)) << error;
    ASSERT_TRUE(r.submit("VG_SCANNER", "{}"));
    const auto f = wait_failures(r, 1);
    ASSERT_EQ(f.size(), 1u);
    // posix_spawn reports the exec failure itself (glibc), or the child exits 127.
    EXPECT_TRUE(!f[0].error.empty() || f[0].exit_code == 127) << describe(f[0]);
}

TEST(AlertRunner, HangingProgramIsKilledWithItsGroupAndOthersStillRun) {
    TempDir d;
    ASSERT_FALSE(d.path.empty());
    // The script leaves a child of its own: the kill must reach it too.
    const std::string hang = d.script("hang.sh", "sleep 600 &\necho $! > '" + d.path + "/child'\nwait\n");
    const std::string ok = d.script("ok.sh", "cat > '" + d.path + "/ok'\n");
    // Two runners share nothing; the second shows alerts go on while one hangs.
    AlertRunner r({hang}, 1s, 2, 2);
    std::string error;
    ASSERT_TRUE(r.start(error)) << error;
    ASSERT_TRUE(r.submit("VG_RELOAD_FAILED", "{}"));
    ASSERT_TRUE(eventually([&] { return exists(d.path + "/child"); }));
    const auto f = wait_failures(r, 1);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_TRUE(f[0].timed_out);
    EXPECT_EQ(f[0].term_signal, SIGKILL);
    EXPECT_EQ(describe(f[0]), "killed at the timeout");
    std::string child_text = read_all(d.path + "/child");
    const pid_t child = static_cast<pid_t>(std::atol(child_text.c_str()));
    ASSERT_GT(child, 1);
    // The grandchild got SIGKILL too (it is reparented and reaped by init).
    EXPECT_TRUE(eventually([&] { return dead(child); })) << "sleep " << child << " survived";
    // The runner goes on.
    AlertRunner r2({ok}, 60s, 1, 1);
    ASSERT_TRUE(r2.start(error)) << error;
    EXPECT_EQ(r.running(), 0u);
    ASSERT_TRUE(r.submit("VG_RELOAD_FAILED", "{}"));   // hangs again, in the background
    ASSERT_TRUE(r2.submit("VG_SCANNER", "{\"event\":\"VG_SCANNER\"}"));
    EXPECT_TRUE(eventually([&] { return exists(d.path + "/ok"); }));
    r.stop();   // kills the second hang now, without waiting for its timeout
    EXPECT_EQ(r.running(), 0u);
}

TEST(AlertRunner, FullQueueOverflowsAndIsCounted) {
    TempDir d;
    ASSERT_FALSE(d.path.empty());
    const std::string gate = d.path + "/open";
    // Waits until the test opens the gate, so that N run and M wait.
    const std::string prog = d.script("wait.sh", "cat >/dev/null\nwhile [ ! -e '" + gate + "' ]; do sleep 0.05; done\n");
    constexpr std::size_t N = 2, Q = 1;
    AlertRunner r({prog}, 600s, N, Q);
    std::string error;
    ASSERT_TRUE(r.start(error)) << error;
    for (std::size_t i = 0; i < N + Q; ++i) EXPECT_TRUE(r.submit("VG_SCANNER", "{}")) << i;
    EXPECT_FALSE(r.submit("VG_SCANNER", "{}"));
    EXPECT_EQ(r.overflow(), 1u);
    ASSERT_TRUE(eventually([&] { return r.running() == N && r.queued() == Q; }));
    EXPECT_FALSE(r.submit("VG_SCANNER", "{}"));
    EXPECT_EQ(r.overflow(), 2u);
    std::ofstream(gate) << "";
    ASSERT_TRUE(eventually([&] { return r.running() == 0 && r.queued() == 0; }));
    EXPECT_EQ(r.started(), N + Q);
    EXPECT_EQ(r.failed(), 0u);
    EXPECT_TRUE(r.submit("VG_SCANNER", "{}"));   // room again
}

}  // namespace
}  // namespace vg::daemon
