// SPDX-License-Identifier: GPL-2.0-or-later
// Alerts (policy section `alerts`): a program the provider chooses - a mail
// script (msmtp), a webhook (curl, uclient-fetch) - run for chosen events.
//
//   alerts.command  fixed argv (no shell); argv[0] an absolute path
//   alerts.events   event IDs as in the log (VG_TOLL_FRAUD_BLOCKED, ...)
//
// The event goes to the program's standard input as one JSON object, the
// same object `logging.format: json` writes (log_structured.h), followed by
// a newline. The program runs with the daemon's (reduced) privileges, in a
// process group of its own, with a clean environment (PATH, VOIPGUARD_EVENT),
// standard output and error on /dev/null.
//
// Admission (AlertGate, pure, time injected): an event not listed is
// ignored; each event ID has a token bucket (`alerts.rate`, on the monotonic
// clock), and an alert over it is counted, not run. Running (AlertRunner):
// at most `max_running` programs at once and `max_queued` waiting; an alert
// that finds the queue full is counted as overflow. A program still running
// at `timeout` has its process group killed (SIGKILL). Failures - exit
// status not 0, killed, or not started at all - come back as Outcomes, which
// the daemon logs as VG_ALERT_FAILED (daemon/EVENTS.md).
//
// Never on the packet loop: submit() only queues a copy under a mutex. The
// runner's own thread starts the programs with posix_spawn (vfork semantics:
// the loop's memory is not copied), writes the JSON without blocking (it
// fits in the pipe), and reaps with waitpid(WNOHANG) every few milliseconds.
// It is a thread of its own rather than a job on the daemon's Worker: Worker
// jobs run one at a time, and a slow mail server must not hold up a rule
// install.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/thread_sync.h"

namespace vg::daemon {

using AlertClock = std::chrono::steady_clock;

// A token bucket (engine::TokenBucket works on the engine's Timestamp; this one on
// steady_clock, for the daemon): `burst` tokens, refilled at `count` per `per`.
class AlertBucket {
public:
    AlertBucket(std::uint32_t count, std::chrono::seconds per, std::uint32_t burst) noexcept;
    // Takes a token at `now` (monotonic); false when none is left.
    bool take(AlertClock::time_point now) noexcept;

private:
    double rate_per_ns_;
    double burst_;
    double tokens_;
    AlertClock::time_point last_{};
    bool started_ = false;
};

struct AlertRate {
    std::uint32_t count = 1;
    std::chrono::seconds per{60};
    std::uint32_t burst = 5;
};

// Which events become alerts.
class AlertGate {
public:
    enum class Verdict { not_selected, rate_limited, admitted };
    AlertGate(std::vector<std::string> events, AlertRate rate);
    Verdict admit(std::string_view event_id, AlertClock::time_point now);
    std::uint64_t rate_limited() const noexcept { return rate_limited_; }

private:
    AlertRate rate_;
    std::map<std::string, AlertBucket, std::less<>> buckets_;   // one per selected event ID
    std::uint64_t rate_limited_ = 0;
};

struct AlertOutcome {
    std::string event;        // VG_ID
    int exit_code = -1;       // -1: did not exit normally
    int term_signal = 0;
    bool timed_out = false;
    std::string error;        // could not be started: why
};

// "exit 3", "killed after timeout 10s", "spawn failed: ...", "signal 9".
std::string describe(const AlertOutcome& o);

class AlertRunner {
public:
    AlertRunner(std::vector<std::string> argv, std::chrono::milliseconds timeout, std::size_t max_running,
                std::size_t max_queued);
    ~AlertRunner();   // stop()
    AlertRunner(const AlertRunner&) = delete;
    AlertRunner& operator=(const AlertRunner&) = delete;

    bool start(std::string& error);
    // Kills what still runs (process groups, SIGKILL), reaps it, drops the queue.
    void stop();

    // Queues one alert; false (and counted as overflow) when `max_running`
    // run and `max_queued` wait. Never blocks for long (a mutex).
    bool submit(std::string event_id, std::string json);
    // The failures since the last call (the daemon logs them).
    std::vector<AlertOutcome> take_failures();

    std::uint64_t overflow() const;
    std::uint64_t started() const;
    std::uint64_t failed() const;
    std::size_t running() const;   // programs running now
    std::size_t queued() const;

private:
    struct Job {
        std::string event;
        std::string json;
    };
    struct Child {
        int pid = -1;
        std::string event;
        AlertClock::time_point deadline;
        bool killed = false;
    };
    void main();
    void spawn(Job job);
    void reap(bool block);

    std::vector<std::string> argv_;
    std::chrono::milliseconds timeout_;
    std::size_t max_running_;
    std::size_t max_queued_;

    // The loop submits and reads the counters; the runner's thread runs at
    // nice 19 (thread_sync.h: why not std::mutex and a condition variable).
    mutable PiMutex mutex_;
    WakeFd wake_;
    std::deque<Job> queue_;
    std::vector<Child> children_;   // touched by the thread only; size mirrored in running_
    std::size_t running_ = 0;
    std::vector<AlertOutcome> failures_;
    std::uint64_t overflow_ = 0;
    std::uint64_t started_ = 0;
    std::uint64_t failed_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace vg::daemon
