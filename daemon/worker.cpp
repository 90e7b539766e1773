// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <utility>

namespace vg::daemon {

Worker::Worker(std::string name, std::size_t max_jobs, int nice_increment)
    : name_(std::move(name)), max_jobs_(max_jobs), nice_increment_(nice_increment) {}

Worker::~Worker() { (void)stop(); }

bool Worker::start(std::string& error) {
    if (thread_.joinable()) return true;
    event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) {
        error = "worker " + name_ + ": eventfd: " + std::strerror(errno);
        return false;
    }
    state_ = std::make_shared<State>();
    state_->event_fd = event_fd_;
    if (!state_->wake.ok()) {
        error = "worker " + name_ + ": eventfd: " + std::strerror(state_->wake.error());
        ::close(event_fd_);
        event_fd_ = -1;
        state_.reset();
        return false;
    }
    try {
        thread_ = std::thread(&Worker::main, state_, name_, nice_increment_);
    } catch (const std::system_error& e) {
        error = "worker " + name_ + ": " + e.what();
        ::close(event_fd_);
        event_fd_ = -1;
        state_.reset();
        return false;
    }
    return true;
}

bool Worker::stop(std::chrono::milliseconds grace) {
    if (!state_) return true;
    bool gone = false;
    {
        std::unique_lock<PiMutex> lock(state_->mutex);
        state_->stopping = true;
        state_->jobs.clear();
        state_->done.clear();
        // The thread never writes the eventfd once `stopping` is set (it
        // checks under this lock), so it can be closed now.
        state_->event_fd = -1;
        state_->wake.signal();
        gone = state_->exited.wait_for(lock, grace, [this] { return state_->gone; });
    }
    if (thread_.joinable()) {
        if (gone) thread_.join();
        else thread_.detach();   // its job still runs; it exits when the job returns
    }
    state_.reset();
    if (event_fd_ >= 0) {
        ::close(event_fd_);
        event_fd_ = -1;
    }
    return gone;
}

bool Worker::post(Job job) {
    if (!state_) return false;
    {
        std::lock_guard<PiMutex> lock(state_->mutex);
        if (state_->stopping || state_->jobs.size() >= max_jobs_) return false;
        state_->jobs.push_back(std::move(job));
    }
    state_->wake.signal();
    return true;
}

std::size_t Worker::run_completions() {
    if (!state_) return 0;
    std::uint64_t n = 0;
    while (::read(event_fd_, &n, sizeof n) > 0) {
    }
    std::vector<Completion> ready;
    {
        std::lock_guard<PiMutex> lock(state_->mutex);
        ready.swap(state_->done);
    }
    for (Completion& c : ready)
        if (c) c();
    return ready.size();
}

std::size_t Worker::pending() const {
    if (!state_) return 0;
    std::lock_guard<PiMutex> lock(state_->mutex);
    return state_->jobs.size() + state_->busy + state_->done.size();
}

void Worker::main(std::shared_ptr<State> state, std::string name, int nice_increment) {
    // The kernel takes names of at most 15 characters.
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    if (nice_increment != 0) {
        // Per thread on Linux (a thread is a task); programs it forks inherit it.
        const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
        errno = 0;
        const int current = ::getpriority(PRIO_PROCESS, tid);
        if (errno == 0) (void)::setpriority(PRIO_PROCESS, tid, current + nice_increment);
    }
    std::unique_lock<PiMutex> lock(state->mutex);
    for (;;) {
        if (state->stopping) break;
        if (state->jobs.empty()) {
            lock.unlock();
            state->wake.wait(-1);
            lock.lock();
            continue;
        }
        Job job = std::move(state->jobs.front());
        state->jobs.pop_front();
        state->busy = 1;
        lock.unlock();
        Completion done;
        try {
            done = job();
        } catch (...) {
            // A job reports failures through its completion; one that throws
            // anyway loses its result rather than the daemon.
            done = nullptr;
        }
        job = nullptr;
        lock.lock();
        state->busy = 0;
        if (state->stopping) break;
        if (done) {
            state->done.push_back(std::move(done));
            const std::uint64_t one = 1;
            (void)!::write(state->event_fd, &one, sizeof one);
        }
    }
    state->gone = true;
    state->exited.notify_all();
}

}  // namespace vg::daemon
