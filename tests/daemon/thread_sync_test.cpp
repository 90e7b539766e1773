// SPDX-License-Identifier: GPL-2.0-or-later
// daemon/thread_sync.h: the worker's lock lends a real-time waiter's
// priority to a nice-19 holder (no priority inversion), and a wake-up given
// before the wait is not lost.
#include "daemon/thread_sync.h"

#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace vg::daemon {
namespace {

using namespace std::chrono_literals;

// Field 18 of /proc/self/task/TID/stat: the task's effective priority as
// the scheduler uses it (20 + nice for normal tasks, -1 - rt_priority for
// real-time ones and for a task boosted to a real-time waiter's priority).
int effective_priority(pid_t tid) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = all.rfind(')');
    if (close == std::string::npos) return 1000;
    std::istringstream in(all.substr(close + 1));
    std::string field;
    // Fields 3.. follow the command name; the priority is field 18.
    int i = 2;
    while (i < 18 && (in >> field)) ++i;
    if (i != 18) return 1000;
    try {
        return std::stoi(field);
    } catch (const std::exception&) {
        return 1000;
    }
}

pid_t gettid_() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

TEST(PiMutex, LocksAndTriesLikeAMutex) {
    PiMutex m;
    {
        std::lock_guard<PiMutex> l(m);
        std::atomic<bool> got{true};
        std::thread t([&] { got = m.try_lock(); });
        t.join();
        EXPECT_FALSE(got.load());
    }
    EXPECT_TRUE(m.try_lock());
    m.unlock();
    // Two threads counting under it lose nothing.
    long n = 0;
    auto count = [&] {
        for (int i = 0; i < 100000; ++i) {
            std::lock_guard<PiMutex> l(m);
            ++n;
        }
    };
    std::thread a(count), b(count);
    a.join();
    b.join();
    EXPECT_EQ(n, 200000);
}

TEST(PiMutex, AHolderAtNice19RunsAtTheRealTimeWaitersPriority) {
    PiMutex m;
    if (!m.inherits()) GTEST_SKIP() << "the C library has no priority-inheritance mutexes";
    std::atomic<pid_t> holder_tid{0};
    std::atomic<bool> release{false}, locked{false};
    std::atomic<int> boosted{1000}, before{1000};
    std::thread holder([&] {
        holder_tid = gettid_();
        (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(holder_tid.load()), 19);
        std::lock_guard<PiMutex> l(m);
        before = effective_priority(holder_tid);
        locked = true;
        while (!release) std::this_thread::sleep_for(1ms);
    });
    while (!locked) std::this_thread::sleep_for(1ms);
    std::atomic<int> rt_error{-1};
    std::thread waiter([&] {
        sched_param sp{};
        sp.sched_priority = 5;
        rt_error = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        if (rt_error != 0) return;
        std::lock_guard<PiMutex> l(m);   // blocks until the holder lets go
    });
    while (rt_error.load() == -1) std::this_thread::sleep_for(1ms);
    if (rt_error != 0) {
        release = true;
        holder.join();
        waiter.join();
        GTEST_SKIP() << "cannot run a thread SCHED_FIFO here (needs CAP_SYS_NICE or RLIMIT_RTPRIO)";
    }
    // Until the holder is boosted (at once, once the waiter blocks).
    for (int i = 0; i < 5000 && boosted.load() != -6; ++i) {
        boosted = effective_priority(holder_tid);
        std::this_thread::sleep_for(1ms);
    }
    release = true;
    holder.join();
    waiter.join();
    EXPECT_EQ(before.load(), 39) << "nice 19 before anyone waits";
    EXPECT_EQ(boosted.load(), -6) << "SCHED_FIFO 5 lent to the holder while the waiter waits";
}

TEST(WakeFd, ASignalBeforeTheWaitIsNotLostAndOneWaitTakesAll) {
    WakeFd w;
    ASSERT_TRUE(w.ok());
    w.signal();
    w.signal();
    const auto t0 = std::chrono::steady_clock::now();
    w.wait(5000);   // returns at once: signalled before
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
    const auto t1 = std::chrono::steady_clock::now();
    w.wait(50);     // both taken: this one times out
    EXPECT_GE(std::chrono::steady_clock::now() - t1, 40ms);
    std::thread s([&] {
        std::this_thread::sleep_for(20ms);
        w.signal();
    });
    w.wait(-1);     // woken by the other thread
    s.join();
}

}  // namespace
}  // namespace vg::daemon
