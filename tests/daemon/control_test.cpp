// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket with real Unix sockets in a temporary directory: the
// server is pumped by a poll() loop in the test thread (as the daemon's epoll
// loop would), clients are raw sockets or the client library in a thread.
// Time is a fake Timestamp passed in; timeouts are tested with tick(), never
// by sleeping.
#include "daemon/control.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vg::cli {
int cmd_control(int argc, char** argv);
}

namespace vg::daemon::control {
namespace {

using namespace std::chrono_literals;
using engine::Timestamp;

const Timestamp t0 = Timestamp{} + 1000s;

int run_cli(std::vector<std::string> args);   // the CLI, below

struct Rejected {
    Rejection why;
    std::string detail;
    std::int64_t uid;
};

class ControlTest : public testing::Test {
protected:
    void SetUp() override {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vg-ctl-XXXXXX";
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        options_.path = dir_ + "/run/control.sock";
    }
    void TearDown() override {
        server_.reset();
        std::filesystem::remove_all(dir_);
    }

    std::string handle(const Request& r) {
        ++handled_[r.command];
        last_json_ = r.json;
        switch (r.command) {
        case Command::status:
            return r.json ? "{\"site\":\"acme\"}\n" : "site acme\nmode enforce\n";
        case Command::calls:
            return big_answer_;
        case Command::handsets:
            throw std::runtime_error("boom");
        case Command::reload:
            return error_response("reload failed: policy.yaml:3:1: site: required", r.json);
        case Command::metrics:
            return "# HELP voipguard_up x\n# TYPE voipguard_up gauge\nvoipguard_up 1\n";
        case Command::report:
            last_since_ = r.since_s;
            return r.json ? "{\"since_s\":" + std::to_string(r.since_s) + "}\n" : "report\n";
        case Command::audit:
            return "no handsets in the inventory\n";
        }
        return {};
    }

    bool open_server(std::string* error = nullptr) {
        server_ = std::make_unique<Server>(
            options_, [this](const Request& r) { return handle(r); },
            [this](Rejection why, std::string_view detail, std::int64_t uid, std::int64_t) {
                rejected_.push_back({why, std::string(detail), uid});
            },
            [this](int fd, unsigned interest) { watched_[fd] = interest; });
        std::string e;
        const bool ok = server_->open(&e);
        if (error) *error = e;
        return ok;
    }

    // One round of the daemon's loop: poll the server's fds and dispatch.
    void pump(int timeout_ms = 20, Timestamp now = t0) {
        const std::vector<Watch> w = server_->fds();
        std::vector<pollfd> p;
        for (const Watch& x : w) {
            short ev = 0;
            if (x.interest & kRead) ev |= POLLIN;
            if (x.interest & kWrite) ev |= POLLOUT;
            p.push_back({x.fd, ev, 0});
        }
        if (::poll(p.data(), p.size(), timeout_ms) <= 0) return;
        for (const pollfd& x : p) {
            if (x.revents & (POLLIN | POLLHUP | POLLERR)) {
                server_->on_readable(x.fd, now);
            } else if (x.revents & POLLOUT) {
                server_->on_writable(x.fd, now);
            }
        }
    }

    // Runs `client` in a thread while pumping the server.
    template <typename F>
    void with_server_running(F client) {
        std::atomic<bool> done{false};
        std::thread th([&] {
            client();
            done = true;
        });
        for (int i = 0; i < 5000 && !done; ++i) pump(5);
        th.join();
    }

    int connect_raw() {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, options_.path.c_str(), options_.path.size() + 1);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }

    static void send_all(int fd, std::string_view s) {
        while (!s.empty()) {
            const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Reads what is there until EOF while pumping the server; stops at a
    // reset too (the server closed with unread request bytes).
    std::string read_all(int fd) {
        std::string out;
        for (int i = 0; i < 2000; ++i) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 0) > 0) {
                char buf[65536];
                const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                if (n <= 0) return out;
                out.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            pump(5);
        }
        ADD_FAILURE() << "no EOF from the server";
        return out;
    }

    std::string ask(std::string_view line) {
        const int fd = connect_raw();
        if (fd < 0) {
            ADD_FAILURE() << "connect: " << std::strerror(errno);
            return {};
        }
        send_all(fd, line);
        std::string r = read_all(fd);
        ::close(fd);
        return r;
    }

    std::string dir_;
    ServerOptions options_;
    std::unique_ptr<Server> server_;
    std::map<Command, int> handled_;
    std::int64_t last_since_ = 0;
    bool last_json_ = false;
    std::string big_answer_ = "no calls\n";
    std::vector<Rejected> rejected_;
    std::map<int, unsigned> watched_;
};

// ---------------------------------------------------------------------------
// Request parsing

TEST(ControlParse, CommandsWithAndWithoutJson_Parse) {
    Rejection why{};
    std::string detail;
    bool json = false;
    auto r = parse_request("status", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, Command::status);
    EXPECT_FALSE(r->json);
    r = parse_request("handsets json", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, Command::handsets);
    EXPECT_TRUE(r->json);
    r = parse_request("  reload\t json ", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, Command::reload);
    r = parse_request("audit json", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, Command::audit);
    EXPECT_TRUE(r->json);
}

TEST(ControlParse, Report_TakesAWindowInSeconds) {
    Rejection why{};
    std::string detail;
    bool json = false;
    auto r = parse_request("report", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command, Command::report);
    EXPECT_EQ(r->since_s, kReportDefaultSince);
    r = parse_request("report since=3600 json", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->since_s, 3600);
    EXPECT_TRUE(r->json);
    r = parse_request("report since=604800", why, detail, json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->since_s, kReportMaxSince);
    for (const char* bad : {"report since=0", "report since=604801", "report since=", "report since=1h",
                            "report since=99999999", "report since=-5 json"}) {
        EXPECT_FALSE(parse_request(bad, why, detail, json)) << bad;
        EXPECT_EQ(why, Rejection::bad_argument) << bad;
    }
    EXPECT_TRUE(json);   // the last one asked for JSON: its error is JSON
    // Only report takes an argument, and only since=.
    EXPECT_FALSE(parse_request("status since=60", why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
    EXPECT_FALSE(parse_request("report window=60", why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
    EXPECT_FALSE(parse_request("report since=60 since=60", why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
}

TEST_F(ControlTest, Report_BadWindowGetsAnErrorNamingIt) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("report since=0 json\n"),
              "{\"error\":\"report: 'since=0' is not since=SECONDS with 1 to 604800 seconds (7 days)\"}\n");
    EXPECT_EQ(ask("report since=3600 json\n"), "{\"since_s\":3600}\n");
    EXPECT_EQ(last_since_, 3600);
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::bad_argument);
}

TEST_F(ControlTest, Cli_ReportSendsTheWindowAndRefusesABadOne) {
    ASSERT_TRUE(open_server());
    int rc = -1;
    testing::internal::CaptureStdout();
    with_server_running([&] { rc = run_cli({"report", "--since", "7d", "--json", "--socket", options_.path}); });
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "{\"since_s\":604800}\n");
    EXPECT_EQ(rc, 0);
    testing::internal::CaptureStdout();
    with_server_running([&] { rc = run_cli({"report", "--socket", options_.path}); });
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "report\n");
    EXPECT_EQ(last_since_, kReportDefaultSince);
    for (const char* bad : {"8d", "1x", "", "0m"}) {
        testing::internal::CaptureStderr();
        EXPECT_EQ(run_cli({"report", "--since", bad, "--socket", options_.path}), 2) << bad;
        EXPECT_NE(testing::internal::GetCapturedStderr().find("voipguard report: --since: '"), std::string::npos) << bad;
    }
    testing::internal::CaptureStderr();
    EXPECT_EQ(run_cli({"report", "--since"}), 2);
    EXPECT_EQ(run_cli({"status", "--since", "1h"}), 2);
    EXPECT_NE(testing::internal::GetCapturedStderr().find("voipguard status: --since is for report only"), std::string::npos);
    EXPECT_EQ(handled_[Command::report], 2);
}

TEST(ControlParse, BadLines_AreRefusedWithAReason) {
    Rejection why{};
    std::string detail;
    bool json = false;
    EXPECT_FALSE(parse_request("", why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
    EXPECT_FALSE(parse_request("status extra", why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
    EXPECT_FALSE(parse_request("json", why, detail, json));
    EXPECT_EQ(why, Rejection::unknown_command);
    EXPECT_FALSE(parse_request("STATUS", why, detail, json));
    EXPECT_EQ(why, Rejection::unknown_command);
    EXPECT_EQ(detail, "STATUS");
    EXPECT_FALSE(parse_request("calls json", why, detail, json) == std::nullopt);
    EXPECT_FALSE(parse_request("stauts json", why, detail, json));
    EXPECT_TRUE(json);
    EXPECT_FALSE(parse_request(std::string_view("sta\0tus", 7), why, detail, json));
    EXPECT_EQ(why, Rejection::malformed);
    EXPECT_EQ(detail, std::string("sta\0tus", 7));   // as received; the log escapes it
}

TEST(ControlParse, ErrorResponse_TextAndJson) {
    EXPECT_EQ(error_response("no \"x\"", false), "error: no \"x\"\n");
    EXPECT_EQ(error_response("no \"x\"", true), "{\"error\":\"no \\\"x\\\"\"}\n");
}

// ---------------------------------------------------------------------------
// Server

TEST_F(ControlTest, Open_CreatesDirectory0750AndSocket0600) {
    ASSERT_TRUE(open_server());
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/run").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    ASSERT_EQ(::lstat(options_.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(ControlTest, Open_WithWideUmask_SocketIsStill0600) {
    const mode_t old = ::umask(0);
    const bool ok = open_server();
    ::umask(old);
    ASSERT_TRUE(ok);
    struct stat st {};
    ASSERT_EQ(::lstat(options_.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ControlTest, Open_WithOwner_SocketAndNewDirectoryBelongToIt) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the socket to another user";
    options_.owner = 65534;   // nobody
    options_.group = 65534;
    ASSERT_TRUE(open_server());
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/run").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
    ASSERT_EQ(::lstat(options_.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ControlTest, StatusRequest_GetsTheHandlersTextAnswerThenClose) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("status\n"), "site acme\nmode enforce\n");
    EXPECT_EQ(handled_[Command::status], 1);
    EXPECT_FALSE(last_json_);
    EXPECT_EQ(server_->client_count(), 0u);
    EXPECT_TRUE(rejected_.empty());
}

TEST_F(ControlTest, JsonRequest_HandlerSeesJsonAndAnswerIsJson) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("status json\r\n"), "{\"site\":\"acme\"}\n");
    EXPECT_TRUE(last_json_);
}

TEST_F(ControlTest, RequestEndedByEofWithoutNewline_IsAnswered) {
    ASSERT_TRUE(open_server());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "status");
    ::shutdown(fd, SHUT_WR);
    EXPECT_EQ(read_all(fd), "site acme\nmode enforce\n");
    ::close(fd);
}

TEST_F(ControlTest, RequestSplitAcrossWrites_IsAnswered) {
    ASSERT_TRUE(open_server());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "sta");
    pump(0);
    pump(0);
    send_all(fd, "tus\n");
    EXPECT_EQ(read_all(fd), "site acme\nmode enforce\n");
    ::close(fd);
}

TEST_F(ControlTest, OversizedLine_GetsErrorAndIsReported) {
    ASSERT_TRUE(open_server());
    const std::string r = ask(std::string(600, 'a') + "\n");
    EXPECT_EQ(r, "error: request too long (max 512 bytes)\n");
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::oversized);
    EXPECT_EQ(rejected_[0].uid, static_cast<std::int64_t>(::geteuid()));
    EXPECT_EQ(handled_.size(), 0u);
}

TEST_F(ControlTest, HugeStreamWithoutNewline_IsCutOffAtTheLimit) {
    ASSERT_TRUE(open_server());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    // More than the socket buffers hold: the server must stop reading at 514 bytes.
    const std::string chunk(4096, 'x');
    std::size_t queued = 0;
    for (int i = 0; i < 256; ++i) {
        const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        queued += static_cast<std::size_t>(n);
    }
    EXPECT_GT(queued, 514u);
    const std::string r = read_all(fd);
    ::close(fd);
    EXPECT_EQ(r, "error: request too long (max 512 bytes)\n");
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::oversized);
}

TEST_F(ControlTest, BinaryGarbage_GetsMalformedErrorWithEscapedDetail) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask(std::string("\x16\x03\x01\x02\x00\x01\x00\n", 8)),
              "error: malformed request (expected: COMMAND [json], report [since=SECONDS] [json])\n");
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::malformed);
    EXPECT_EQ(rejected_[0].detail, std::string("\x16\x03\x01\x02\x00\x01\x00", 7));
}

TEST_F(ControlTest, UnknownCommand_GetsErrorNamingIt) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("stauts\n"), "error: unknown command 'stauts' (expected status, calls, handsets, reload, metrics, report or audit)\n");
    EXPECT_EQ(ask("stauts json\n"),
              "{\"error\":\"unknown command 'stauts' (expected status, calls, handsets, reload, metrics, report or audit)\"}\n");
    ASSERT_EQ(rejected_.size(), 2u);
    EXPECT_EQ(rejected_[0].why, Rejection::unknown_command);
    EXPECT_EQ(rejected_[0].detail, "stauts");
}

TEST_F(ControlTest, HandlerThrows_ClientGetsInternalError) {
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("handsets\n"), "error: internal error\n");
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::handler_failed);
    EXPECT_EQ(rejected_[0].detail, "boom");
}

TEST_F(ControlTest, AnswerOverTheLimit_BecomesAnError) {
    options_.max_response = 1000;
    big_answer_ = std::string(1001, 'c');
    ASSERT_TRUE(open_server());
    EXPECT_EQ(ask("calls\n"), "error: answer too large\n");
}

TEST_F(ControlTest, TwentyConcurrentClients_SixteenServedFourRefused) {
    ASSERT_TRUE(open_server());
    std::vector<int> fds;
    for (int i = 0; i < 20; ++i) {
        const int fd = connect_raw();   // queued in the listen backlog (32)
        ASSERT_GE(fd, 0);
        send_all(fd, "status\n");
        fds.push_back(fd);
    }
    int served = 0, refused = 0;
    for (int fd : fds) {
        const std::string r = read_all(fd);
        if (r == "site acme\nmode enforce\n") ++served;
        if (r == "error: too many clients, try again\n") ++refused;
        ::close(fd);
    }
    EXPECT_EQ(served, 16);
    EXPECT_EQ(refused, 4);
    EXPECT_EQ(server_->client_count(), 0u);
    int too_many = 0;
    for (const auto& r : rejected_) too_many += r.why == Rejection::too_many_clients;
    EXPECT_EQ(too_many, 4);
    // Capacity is back.
    EXPECT_EQ(ask("status\n"), "site acme\nmode enforce\n");
}

TEST_F(ControlTest, TwentyClientLibraryRequestsInParallel_AllGetAnAnswer) {
    ASSERT_TRUE(open_server());
    std::atomic<int> ok{0}, busy{0};
    with_server_running([&] {
        std::vector<std::thread> threads;
        for (int i = 0; i < 20; ++i) {
            threads.emplace_back([&] {
                const ClientResult r = request(options_.path, "status", 10s);
                if (r.status == ClientResult::Status::ok && r.response == "site acme\nmode enforce\n") ++ok;
                if (r.status == ClientResult::Status::error_reply &&
                    r.response == "error: too many clients, try again\n")
                    ++busy;
            });
        }
        for (auto& t : threads) t.join();
    });
    EXPECT_EQ(ok + busy, 20);
    EXPECT_GE(ok, 16);
}

TEST_F(ControlTest, SlowClientNeverReading_DoesNotBlockOthersAndIsDroppedAfter5s) {
    big_answer_ = std::string(900 * 1024, 'c');   // more than the socket buffers hold
    ASSERT_TRUE(open_server());
    const int slow = connect_raw();
    ASSERT_GE(slow, 0);
    send_all(slow, "calls\n");
    for (int i = 0; i < 5; ++i) pump(5);
    ASSERT_EQ(server_->client_count(), 1u);
    const auto w = server_->fds();
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[1].interest, unsigned{kWrite});
    EXPECT_EQ(watched_[w[1].fd], unsigned{kWrite});

    for (int i = 0; i < 3; ++i) EXPECT_EQ(ask("status\n"), "site acme\nmode enforce\n");
    EXPECT_EQ(server_->client_count(), 1u);

    server_->tick(t0 + 4s);
    EXPECT_EQ(server_->client_count(), 1u);
    server_->tick(t0 + 5s);
    EXPECT_EQ(server_->client_count(), 0u);
    EXPECT_EQ(watched_[w[1].fd], unsigned{kNone});
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::response_timeout);

    // The slow client got part of the answer, then EOF.
    std::string got;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(slow, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(slow);
    EXPECT_GT(got.size(), 0u);
    EXPECT_LT(got.size(), big_answer_.size());
}

TEST_F(ControlTest, LargeAnswer_ReachesAReadingClientWhole) {
    big_answer_ = std::string(900 * 1024, 'c') + "\n";
    ASSERT_TRUE(open_server());
    ClientResult r;
    with_server_running([&] { r = request(options_.path, "calls", 10s); });
    EXPECT_EQ(r.status, ClientResult::Status::ok) << r.error;
    EXPECT_EQ(r.response, big_answer_);
}

TEST_F(ControlTest, IdleClient_IsDroppedAfter2s) {
    ASSERT_TRUE(open_server());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "sta");   // never finishes its line
    for (int i = 0; i < 3; ++i) pump(5);
    ASSERT_EQ(server_->client_count(), 1u);
    server_->tick(t0 + 1999ms);
    EXPECT_EQ(server_->client_count(), 1u);
    server_->tick(t0 + 2s);
    EXPECT_EQ(server_->client_count(), 0u);
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(rejected_[0].why, Rejection::request_timeout);
    EXPECT_EQ(rejected_[0].detail, "sta");
    EXPECT_EQ(read_all(fd), "error: timed out waiting for the request\n");
    ::close(fd);
}

TEST_F(ControlTest, ClientHangingUpWithoutRequest_IsClosedSilently) {
    ASSERT_TRUE(open_server());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    ::close(fd);
    for (int i = 0; i < 5; ++i) pump(5);
    EXPECT_EQ(server_->client_count(), 0u);
    EXPECT_TRUE(rejected_.empty());
}

TEST_F(ControlTest, WatchCallback_EveryClientFdAddedIsRemoved) {
    ASSERT_TRUE(open_server());
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(ask("status\n").empty());
    EXPECT_FALSE(watched_.empty());
    for (const auto& [fd, interest] : watched_) EXPECT_EQ(interest, unsigned{kNone}) << fd;
}

// ---------------------------------------------------------------------------
// Deferred answers (the daemon answers status and reload once its worker is
// done, without holding its loop)

class DeferredControlTest : public ControlTest {
protected:
    bool open_deferred() {
        server_ = std::make_unique<Server>(
            options_,
            [this](const Request& r, Server::Ticket t) -> std::optional<std::string> {
                if (r.command == Command::calls) return std::string("no calls\n");
                tickets_.push_back({t, r.json});
                return std::nullopt;
            },
            [this](Rejection why, std::string_view detail, std::int64_t uid, std::int64_t) {
                rejected_.push_back({why, std::string(detail), uid});
            },
            [this](int fd, unsigned interest) { watched_[fd] = interest; });
        return server_->open(nullptr);
    }
    // Pumps until the handler has seen `n` requests.
    void pump_until_tickets(std::size_t n) {
        for (int i = 0; i < 400 && tickets_.size() < n; ++i) pump(5);
        ASSERT_EQ(tickets_.size(), n);
    }
    std::vector<std::pair<Server::Ticket, bool>> tickets_;
};

TEST_F(DeferredControlTest, AnswerGivenLater_ReachesTheClientAndOthersAreServedMeanwhile) {
    ASSERT_TRUE(open_deferred());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "reload\n");
    pump_until_tickets(1);
    EXPECT_EQ(server_->waiting_count(), 1u);
    // While it waits, nothing of it is watched (only the listening socket
    // is), and other requests are answered.
    EXPECT_EQ(server_->fds().size(), 1u);
    ASSERT_EQ(watched_.size(), 1u);
    EXPECT_EQ(watched_.begin()->second, unsigned{kNone});
    EXPECT_EQ(ask("calls\n"), "no calls\n");
    EXPECT_TRUE(server_->respond(tickets_[0].first, "ok: policy reloaded\n", t0));
    EXPECT_EQ(read_all(fd), "ok: policy reloaded\n");
    ::close(fd);
    EXPECT_EQ(server_->waiting_count(), 0u);
    EXPECT_FALSE(server_->respond(tickets_[0].first, "again\n", t0));   // answered once
    EXPECT_TRUE(rejected_.empty());
}

TEST_F(DeferredControlTest, ClientThatShutItsWritingSide_StillGetsTheDeferredAnswer) {
    ASSERT_TRUE(open_deferred());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "status json");
    ::shutdown(fd, SHUT_WR);
    pump_until_tickets(1);
    EXPECT_TRUE(tickets_[0].second);
    for (int i = 0; i < 5; ++i) pump(5);   // EOF must not end or spin the wait
    EXPECT_EQ(server_->waiting_count(), 1u);
    EXPECT_TRUE(server_->respond(tickets_[0].first, "{\"ok\":true}\n", t0));
    EXPECT_EQ(read_all(fd), "{\"ok\":true}\n");
    ::close(fd);
}

TEST_F(DeferredControlTest, ClientGoneBeforeTheAnswer_TheAnswerIsDropped) {
    ASSERT_TRUE(open_deferred());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "reload\n");
    pump_until_tickets(1);
    ::close(fd);
    EXPECT_TRUE(server_->respond(tickets_[0].first, std::string(300 * 1024, 'x'), t0));
    for (int i = 0; i < 5; ++i) pump(5);
    EXPECT_EQ(server_->client_count(), 0u);
}

TEST_F(DeferredControlTest, AnswerThatNeverComes_TimesOutWithAnErrorInTheClientsFormat) {
    options_.handler_timeout = 30s;
    ASSERT_TRUE(open_deferred());
    const int text = connect_raw(), js = connect_raw();
    ASSERT_GE(text, 0);
    ASSERT_GE(js, 0);
    send_all(text, "reload\n");
    send_all(js, "reload json\n");
    pump_until_tickets(2);
    server_->tick(t0 + 29s);
    EXPECT_EQ(server_->waiting_count(), 2u);
    server_->tick(t0 + 30s);
    EXPECT_EQ(server_->waiting_count(), 0u);
    EXPECT_EQ(read_all(text), "error: timed out (the daemon goes on with the request)\n");
    EXPECT_EQ(read_all(js), "{\"error\":\"timed out (the daemon goes on with the request)\"}\n");
    ::close(text);
    ::close(js);
    ASSERT_EQ(rejected_.size(), 2u);
    EXPECT_EQ(rejected_[0].why, Rejection::handler_timeout);
    // The late answers find nobody.
    EXPECT_FALSE(server_->respond(tickets_[0].first, "late\n", t0 + 31s));
    EXPECT_FALSE(server_->respond(tickets_[1].first, "late\n", t0 + 31s));
}

TEST_F(DeferredControlTest, DeferredAnswerOverTheLimit_BecomesAnError) {
    options_.max_response = 64;
    ASSERT_TRUE(open_deferred());
    const int fd = connect_raw();
    ASSERT_GE(fd, 0);
    send_all(fd, "status\n");
    pump_until_tickets(1);
    EXPECT_TRUE(server_->respond(tickets_[0].first, std::string(65, 's'), t0));
    EXPECT_EQ(read_all(fd), "error: answer too large\n");
    ::close(fd);
}

TEST_F(ControlTest, StaleSocketFromCrashedInstance_IsReplaced) {
    ASSERT_EQ(::mkdir((dir_ + "/run").c_str(), 0750), 0);
    {
        // A socket file nobody listens on any more.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, options_.path.c_str(), options_.path.size() + 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
        ASSERT_EQ(::listen(fd, 1), 0);
        ::close(fd);
    }
    struct stat st {};
    ASSERT_EQ(::lstat(options_.path.c_str(), &st), 0);
    std::string error;
    ASSERT_TRUE(open_server(&error)) << error;
    EXPECT_EQ(ask("status\n"), "site acme\nmode enforce\n");
}

TEST_F(ControlTest, LiveSocketOfAnotherInstance_IsRefusedAndLeftAlone) {
    ASSERT_TRUE(open_server());
    Server second(options_, [](const Request&) { return std::string("second\n"); });
    std::string error;
    EXPECT_FALSE(second.open(&error));
    EXPECT_EQ(error, options_.path + " is in use: another voipguard is running");
    // The probe's connection is closed silently by the first instance.
    for (int i = 0; i < 5; ++i) pump(5);
    EXPECT_TRUE(rejected_.empty());
    EXPECT_EQ(ask("status\n"), "site acme\nmode enforce\n");
}

TEST_F(ControlTest, PathThatIsNotASocket_IsRefusedAndKept) {
    ASSERT_EQ(::mkdir((dir_ + "/run").c_str(), 0750), 0);
    { std::ofstream(options_.path) << "keep me\n"; }
    std::string error;
    EXPECT_FALSE(open_server(&error));
    EXPECT_EQ(error, options_.path + " exists and is not a socket; not replacing it");
    std::ifstream in(options_.path);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "keep me");
}

TEST_F(ControlTest, Destructor_RemovesItsSocketFile) {
    ASSERT_TRUE(open_server());
    server_.reset();
    struct stat st {};
    EXPECT_NE(::lstat(options_.path.c_str(), &st), 0);
}

TEST_F(ControlTest, TooLongPath_IsAnError) {
    options_.path = dir_ + "/" + std::string(120, 'p');
    std::string error;
    EXPECT_FALSE(open_server(&error));
    EXPECT_NE(error.find("too long"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------
// Client library and CLI

TEST_F(ControlTest, ClientWithoutDaemon_ReportsNotRunning) {
    const ClientResult r = request(options_.path, "status", 1s);
    EXPECT_EQ(r.status, ClientResult::Status::not_running);
    EXPECT_NE(r.error.find("is voipguard running?"), std::string::npos) << r.error;
}

int run_cli(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return vg::cli::cmd_control(static_cast<int>(args.size()), argv.data());
}

TEST_F(ControlTest, Cli_StatusJson_PrintsAnswerExit0) {
    ASSERT_TRUE(open_server());
    int rc = -1;
    testing::internal::CaptureStdout();
    with_server_running([&] { rc = run_cli({"status", "--json", "--socket", options_.path}); });
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out, "{\"site\":\"acme\"}\n");
}

TEST_F(ControlTest, Cli_Metrics_PrintsPrometheusTextAndRefusesJson) {
    ASSERT_TRUE(open_server());
    int rc = -1;
    testing::internal::CaptureStdout();
    with_server_running([&] { rc = run_cli({"metrics", "--socket", options_.path}); });
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out, "# HELP voipguard_up x\n# TYPE voipguard_up gauge\nvoipguard_up 1\n");
    EXPECT_EQ(handled_[Command::metrics], 1);
    testing::internal::CaptureStderr();
    EXPECT_EQ(run_cli({"metrics", "--json", "--socket", options_.path}), 2);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "voipguard metrics: no --json: the answer is Prometheus text\n");
}

TEST_F(ControlTest, Cli_ErrorAnswer_Exit1) {
    ASSERT_TRUE(open_server());
    int rc = -1;
    testing::internal::CaptureStderr();
    with_server_running([&] { rc = run_cli({"reload", "--socket=" + options_.path}); });
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(rc, 1);
    EXPECT_EQ(err, "error: reload failed: policy.yaml:3:1: site: required\n");
}

TEST_F(ControlTest, Cli_DaemonNotRunning_Exit1) {
    testing::internal::CaptureStderr();
    const int rc = run_cli({"status", "--socket", options_.path});
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(rc, 1);
    EXPECT_NE(err.find("voipguard status: cannot connect to " + options_.path), std::string::npos) << err;
}

TEST_F(ControlTest, Cli_BadUsage_Exit2) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(run_cli({"status", "--bogus"}), 2);
    EXPECT_EQ(run_cli({"status", "--socket"}), 2);
    EXPECT_EQ(run_cli({"status", "--timeout", "x"}), 2);
    EXPECT_EQ(run_cli({"stats"}), 2);
    (void)testing::internal::GetCapturedStderr();
    testing::internal::CaptureStdout();
    EXPECT_EQ(run_cli({"calls", "--help"}), 0);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("usage: voipguard calls"), std::string::npos);
}

}  // namespace
}  // namespace vg::daemon::control
