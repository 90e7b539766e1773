// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's worker (daemon/worker.h): jobs run off the caller's thread,
// their completions on the caller's, in order; a full queue refuses; a stop
// abandons a job that does not finish (a DNS lookup that never returns).
#include "daemon/worker.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vg::daemon {
namespace {

using namespace std::chrono_literals;

// Waits (poll on the eventfd, as the daemon's epoll does) and runs
// completions until `n` have run in all; false if they did not come.
bool run_until(Worker& w, std::size_t n, std::size_t& ran) {
    for (int i = 0; i < 1000 && ran < n; ++i) {
        pollfd p{w.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) ran += w.run_completions();
    }
    return ran == n;
}

// A gate a job waits at until the test opens it.
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    void wait() {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return open; });
    }
    void release() {
        {
            std::lock_guard<std::mutex> l(m);
            open = true;
        }
        cv.notify_all();
    }
};

TEST(Worker, JobsRunOnTheWorkerThreadAndCompletionsOnTheCallersInOrder) {
    Worker w("vg-test");
    std::string error;
    ASSERT_TRUE(w.start(error)) << error;
    const std::thread::id caller = std::this_thread::get_id();
    std::vector<int> order;
    std::atomic<int> off_thread{0};
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(w.post([&, i]() -> Worker::Completion {
            if (std::this_thread::get_id() != caller) ++off_thread;
            return [&, i] {
                EXPECT_EQ(std::this_thread::get_id(), caller);
                order.push_back(i);
            };
        }));
    }
    std::size_t ran = 0;
    ASSERT_TRUE(run_until(w, 20, ran));
    EXPECT_EQ(off_thread.load(), 20);
    std::vector<int> expected;
    for (int i = 0; i < 20; ++i) expected.push_back(i);
    EXPECT_EQ(order, expected);
    EXPECT_EQ(w.pending(), 0u);
    EXPECT_TRUE(w.stop());
}

TEST(Worker, NothingIsAppliedUntilTheCallerRunsTheCompletions) {
    Worker w("vg-test");
    std::string error;
    ASSERT_TRUE(w.start(error)) << error;
    int applied = 0;
    std::atomic<bool> done{false};
    ASSERT_TRUE(w.post([&]() -> Worker::Completion {
        done = true;
        return [&] { ++applied; };
    }));
    while (!done) std::this_thread::sleep_for(1ms);
    pollfd p{w.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);   // the caller is told
    EXPECT_EQ(applied, 0);               // but nothing ran behind its back
    EXPECT_EQ(w.run_completions(), 1u);
    EXPECT_EQ(applied, 1);
    EXPECT_EQ(::poll(&p, 1, 0), 0);      // and the eventfd is quiet again
}

TEST(Worker, AFullQueueRefusesAndAcceptsAgainOnceItDrains) {
    Worker w("vg-test", 2);
    std::string error;
    ASSERT_TRUE(w.start(error)) << error;
    Gate gate;
    std::atomic<bool> started{false};
    ASSERT_TRUE(w.post([&]() -> Worker::Completion {
        started = true;
        gate.wait();
        return [] {};
    }));
    while (!started) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(w.post([]() -> Worker::Completion { return [] {}; }));
    EXPECT_TRUE(w.post([]() -> Worker::Completion { return [] {}; }));
    EXPECT_FALSE(w.post([]() -> Worker::Completion { return [] {}; }));   // two wait already
    gate.release();
    std::size_t ran = 0;
    ASSERT_TRUE(run_until(w, 3, ran));
    EXPECT_TRUE(w.post([]() -> Worker::Completion { return [] {}; }));
}

TEST(Worker, AJobThatThrowsLosesItsResultNotTheWorker) {
    Worker w("vg-test");
    std::string error;
    ASSERT_TRUE(w.start(error)) << error;
    ASSERT_TRUE(w.post([]() -> Worker::Completion { throw std::runtime_error("boom"); }));
    int applied = 0;
    ASSERT_TRUE(w.post([&]() -> Worker::Completion { return [&] { ++applied; }; }));
    std::size_t ran = 0;
    ASSERT_TRUE(run_until(w, 1, ran));
    EXPECT_EQ(applied, 1);
}

TEST(Worker, StopAbandonsAJobThatDoesNotFinishAndDropsItsResult) {
    auto gate = std::make_shared<Gate>();   // outlives the abandoned job
    auto applied = std::make_shared<std::atomic<int>>(0);
    auto finished = std::make_shared<std::atomic<bool>>(false);
    {
        Worker w("vg-test");
        std::string error;
        ASSERT_TRUE(w.start(error)) << error;
        std::atomic<bool> started{false};
        ASSERT_TRUE(w.post([gate, applied, finished, &started]() -> Worker::Completion {
            started = true;
            gate->wait();   // a lookup that never answers
            *finished = true;
            return [applied] { ++*applied; };
        }));
        ASSERT_TRUE(w.post([applied]() -> Worker::Completion { return [applied] { ++*applied; }; }));
        while (!started) std::this_thread::sleep_for(1ms);
        const auto t = std::chrono::steady_clock::now();
        EXPECT_FALSE(w.stop(50ms));   // abandoned
        EXPECT_LT(std::chrono::steady_clock::now() - t, 30s);
        EXPECT_FALSE(w.running());
        EXPECT_FALSE(w.post([]() -> Worker::Completion { return [] {}; }));
    }
    gate->release();   // the abandoned job returns after the Worker is gone
    for (int i = 0; i < 5000 && !*finished; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(*finished);
    EXPECT_EQ(*applied, 0);   // neither its completion nor the queued job ran
}

TEST(Worker, RunsBelowTheCallersPriority) {
    Worker w("vg-test", 8, 10);
    std::string error;
    ASSERT_TRUE(w.start(error)) << error;
    errno = 0;
    const int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
    ASSERT_EQ(errno, 0);
    std::atomic<int> theirs{-100};
    ASSERT_TRUE(w.post([&]() -> Worker::Completion {
        theirs = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
        return [] {};
    }));
    std::size_t ran = 0;
    ASSERT_TRUE(run_until(w, 1, ran));
    EXPECT_EQ(theirs.load(), std::min(mine + 10, 19));
}

}  // namespace
}  // namespace vg::daemon
