// SPDX-License-Identifier: GPL-2.0-or-later
// Slow work off the packet loop.
//
// The loop that answers the queue must never wait: a verdict that waits is a
// call's audio that stutters, or a queue that overflows and drops. What may
// take milliseconds to seconds - DNS lookups, forking iptables-restore / nft
// / ipset (rule installs, counter reads), conntrack table dumps - runs on a
// Worker: one thread with a FIFO of jobs. A job runs on the worker thread and
// returns what to do with its result; that completion runs on the loop's
// thread, in run_completions(), when the loop sees fd() readable. So results
// are applied atomically with respect to packets: between two drains, never
// in the middle of one, and nothing the loop owns is touched by the worker.
//
// Jobs must not touch the loop's state (the engine, the log, the control
// server); they get copies of what they need and hand back values. Jobs of
// one worker run one at a time, in order, so a worker that owns a resource
// (the rule backend, a conntrack socket) serialises its use.
//
// The thread runs 19 nice levels below the loop (at most nice 19, the
// lowest short of SCHED_IDLE; the programs it starts inherit it): on a router's one or two cores, an
// iptables-restore must not take the CPU from the loop, yet it must still
// run when the CPU is busy (SCHED_IDLE could starve a reload for as long as
// the router is loaded).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/thread_sync.h"

namespace vg::daemon {

class Worker {
public:
    using Completion = std::function<void()>;   // runs on the loop
    using Job = std::function<Completion()>;    // runs on the worker

    // `name`: the thread's name (top, ps -T), at most 15 characters.
    explicit Worker(std::string name, std::size_t max_jobs = 64, int nice_increment = 19);
    ~Worker();   // stop()
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Creates the eventfd and starts the thread. False with `error` set.
    bool start(std::string& error);
    // Drops the queued jobs and the completions not yet run, and waits up to
    // `grace` for the running job to finish. A job that takes longer (a DNS
    // lookup of a server that never answers) is abandoned: the thread is
    // detached, ends when its job returns and touches nothing of the
    // Worker's then (its result is dropped). True when the thread ended
    // (or never ran): nothing of it runs any more.
    bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

    // Readable when completions wait; the loop watches it (EPOLLIN).
    int fd() const noexcept { return event_fd_; }

    // Queues `job`. False when `max_jobs` are waiting or the worker is not
    // running (the caller decides: retry later, or answer "busy").
    bool post(Job job);
    // Runs the completions of finished jobs, in the order the jobs ran.
    // Returns how many ran. Call on the loop when fd() is readable.
    std::size_t run_completions();

    // Jobs queued or running, and completions not yet run.
    std::size_t pending() const;
    bool running() const noexcept { return thread_.joinable(); }

private:
    // Shared with the thread, so that an abandoned thread outlives nothing
    // it uses.
    struct State {
        PiMutex mutex;
        WakeFd wake;                          // jobs, or stop
        std::condition_variable_any exited;   // the thread is leaving (waited for at a stop only)
        std::deque<Job> jobs;
        std::vector<Completion> done;
        std::size_t busy = 0;             // jobs running (0 or 1)
        bool stopping = false;
        bool gone = false;                // the thread left main()
        int event_fd = -1;                // written under `mutex`, closed under it
    };
    static void main(std::shared_ptr<State> state, std::string name, int nice_increment);

    std::string name_;
    std::size_t max_jobs_;
    int nice_increment_;
    int event_fd_ = -1;
    std::thread thread_;
    std::shared_ptr<State> state_;
};

}  // namespace vg::daemon
