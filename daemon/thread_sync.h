// SPDX-License-Identifier: GPL-2.0-or-later
// Locks and wake-ups between the packet loop and its helper threads that
// never make the loop wait for a thread of lower priority.
//
// The loop runs real-time (SCHED_RR, loop_priority.h) or at nice -10; the
// workers and the alert runner run 19 nice levels below it. With a plain
// mutex that is a priority inversion waiting to happen: a worker that holds
// the queue's lock and loses its CPU to the router's other work (at nice 19
// it may not get it back for 100 ms under load) makes the loop wait for it
// at its next post() or run_completions(). The latency benchmark saw it: a
// loop step of 128 ms that was nothing but the loop taking a worker's lock.
// A PiMutex (PTHREAD_PRIO_INHERIT) lends the loop's priority to the thread
// that holds it for as long as the loop waits, so the holder runs at once and
// the wait is the few instructions of the critical section.
//
// Condition variables have a lock of their own inside (libstdc++'s
// condition_variable_any a plain mutex; glibc's pthread_cond_signal an
// internal one): a thread that waits on one and is preempted inside can hold
// up the loop's notify the same way. So the loop wakes its threads through a
// WakeFd, an eventfd: signalling one is a system call that never waits.
#pragma once

#include <pthread.h>

namespace vg::daemon {

// A mutex with priority inheritance where the C library has it (glibc;
// musl 1.2), else a plain one. BasicLockable/Lockable: std::unique_lock and
// std::lock_guard take it.
class PiMutex {
public:
    PiMutex() noexcept;
    ~PiMutex();
    PiMutex(const PiMutex&) = delete;
    PiMutex& operator=(const PiMutex&) = delete;

    void lock() noexcept;
    bool try_lock() noexcept;
    void unlock() noexcept;
    // Whether the holder inherits the priority of a waiter.
    bool inherits() const noexcept { return inherits_; }

private:
    pthread_mutex_t m_;
    bool inherits_ = false;
};

// One thread waits, any thread signals; a signal given before the wait is
// not lost (the eventfd's counter keeps it), and one wait takes all signals
// given so far. Spurious returns are possible (the waiter checks its state
// under its lock and waits again).
class WakeFd {
public:
    WakeFd() noexcept;
    ~WakeFd();
    WakeFd(const WakeFd&) = delete;
    WakeFd& operator=(const WakeFd&) = delete;

    bool ok() const noexcept { return fd_ >= 0; }
    // The errno of the eventfd that could not be made (0 when ok()).
    int error() const noexcept { return error_; }
    // Never waits.
    void signal() noexcept;
    // Until signalled or `timeout_ms` passed (negative: no limit).
    void wait(int timeout_ms) noexcept;

private:
    int fd_ = -1;
    int error_ = 0;
};

}  // namespace vg::daemon
