// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/alerts.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vg::daemon {

// ---------------------------------------------------------------- AlertBucket

AlertBucket::AlertBucket(std::uint32_t count, std::chrono::seconds per, std::uint32_t burst) noexcept
    : rate_per_ns_(per.count() > 0 ? static_cast<double>(count) / (static_cast<double>(per.count()) * 1e9) : 0.0),
      burst_(static_cast<double>(std::max<std::uint32_t>(burst, 1))),
      tokens_(burst_) {}

bool AlertBucket::take(AlertClock::time_point now) noexcept {
    if (started_ && now > last_) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + static_cast<double>(ns) * rate_per_ns_);
    }
    if (!started_ || now > last_) last_ = now;   // monotonic: a clock that goes back is ignored
    started_ = true;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

// ---------------------------------------------------------------- AlertGate

AlertGate::AlertGate(std::vector<std::string> events, AlertRate rate) : rate_(rate) {
    for (auto& e : events) buckets_.emplace(std::move(e), AlertBucket(rate.count, rate.per, rate.burst));
}

AlertGate::Verdict AlertGate::admit(std::string_view event_id, AlertClock::time_point now) {
    auto it = buckets_.find(event_id);
    if (it == buckets_.end()) return Verdict::not_selected;
    if (!it->second.take(now)) {
        ++rate_limited_;
        return Verdict::rate_limited;
    }
    return Verdict::admitted;
}

std::string describe(const AlertOutcome& o) {
    if (!o.error.empty()) return "not started: " + o.error;
    if (o.timed_out) return "killed at the timeout";
    if (o.term_signal != 0) return "signal " + std::to_string(o.term_signal);
    return "exit " + std::to_string(o.exit_code);
}

// ---------------------------------------------------------------- AlertRunner

AlertRunner::AlertRunner(std::vector<std::string> argv, std::chrono::milliseconds timeout, std::size_t max_running,
                         std::size_t max_queued)
    : argv_(std::move(argv)), timeout_(timeout), max_running_(std::max<std::size_t>(max_running, 1)),
      max_queued_(max_queued) {}

AlertRunner::~AlertRunner() { stop(); }

bool AlertRunner::start(std::string& error) {
    if (thread_.joinable()) return true;
    if (argv_.empty() || argv_[0].empty() || argv_[0][0] != '/') {
        error = "alerts.command: the program must be an absolute path";
        return false;
    }
    if (!wake_.ok()) {
        error = std::string("alerts: eventfd: ") + std::strerror(wake_.error());
        return false;
    }
    {
        std::lock_guard<PiMutex> lock(mutex_);
        stopping_ = false;
    }
    try {
        thread_ = std::thread([this] { main(); });
    } catch (const std::system_error& e) {
        error = std::string("alerts: cannot start its thread: ") + e.what();
        return false;
    }
    return true;
}

void AlertRunner::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard<PiMutex> lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    wake_.signal();
    thread_.join();
}

bool AlertRunner::submit(std::string event_id, std::string json) {
    {
        std::lock_guard<PiMutex> lock(mutex_);
        if (stopping_ || !thread_.joinable() || queue_.size() + running_ >= max_running_ + max_queued_) {
            ++overflow_;
            return false;
        }
        queue_.push_back(Job{std::move(event_id), std::move(json)});
    }
    wake_.signal();
    return true;
}

std::vector<AlertOutcome> AlertRunner::take_failures() {
    std::lock_guard<PiMutex> lock(mutex_);
    std::vector<AlertOutcome> out;
    out.swap(failures_);
    return out;
}

std::uint64_t AlertRunner::overflow() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return overflow_;
}
std::uint64_t AlertRunner::started() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return started_;
}
std::uint64_t AlertRunner::failed() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return failed_;
}
std::size_t AlertRunner::running() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return running_;
}
std::size_t AlertRunner::queued() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return queue_.size();
}

void AlertRunner::main() {
    // Named, and 19 nice levels below the loop as the workers are: the
    // programs inherit it, and a mail script must not take the loop's CPU.
    pthread_setname_np(pthread_self(), "vg-alerts");
    errno = 0;
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    const int current = ::getpriority(PRIO_PROCESS, tid);
    if (errno == 0) (void)::setpriority(PRIO_PROCESS, tid, std::min(current + 19, 19));
    // A program that exits before reading its input must not end the daemon.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    for (;;) {
        std::vector<Job> to_start;
        {
            std::unique_lock<PiMutex> lock(mutex_);
            if (stopping_) break;
            while (running_ < max_running_ && !queue_.empty()) {
                to_start.push_back(std::move(queue_.front()));
                queue_.pop_front();
                ++running_;
            }
        }
        for (auto& j : to_start) spawn(std::move(j));
        reap(false);
        std::unique_lock<PiMutex> lock(mutex_);
        if (stopping_) break;
        // Children are polled: a short wait while any runs, else until work
        // comes (a signal given meanwhile ends the wait at once).
        const bool idle = children_.empty() && queue_.empty();
        const bool polling = !idle && (queue_.empty() || running_ >= max_running_);
        lock.unlock();
        if (idle) wake_.wait(-1);
        else if (polling) wake_.wait(20);
    }
    for (auto& c : children_)
        if (!c.killed) kill(-c.pid, SIGKILL);
    reap(true);
}

void AlertRunner::spawn(Job job) {
    AlertOutcome failure;
    failure.event = job.event;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        failure.error = std::string("pipe: ") + std::strerror(errno);
    } else {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        sigdelset(&all, SIGKILL);
        sigdelset(&all, SIGSTOP);
        // Own process group (killed as a whole), no blocked signals, default
        // dispositions (the daemon blocks signals for its signalfd).
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        std::vector<char*> argv;
        for (auto& a : argv_) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::string path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        std::string ev = "VOIPGUARD_EVENT=" + job.event;
        char* envp[] = {path.data(), ev.data(), nullptr};
        pid_t pid = -1;
        const int rc = posix_spawn(&pid, argv_[0].c_str(), &fa, &attr, argv.data(), envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(fds[0]);
        if (rc != 0) {
            failure.error = argv_[0] + ": " + std::strerror(rc);
            close(fds[1]);
        } else {
            // The object is at most a few kilobytes: it fits in the pipe, the
            // write never waits. A program that does not read gets EOF later.
            fcntl(fds[1], F_SETFL, O_NONBLOCK);
            std::string data = job.json + "\n";
            const char* p = data.data();
            std::size_t left = data.size();
            while (left > 0) {
                const ssize_t n = write(fds[1], p, left);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                p += n;
                left -= static_cast<std::size_t>(n);
            }
            close(fds[1]);
            std::lock_guard<PiMutex> lock(mutex_);
            ++started_;
            children_.push_back(Child{pid, std::move(job.event), AlertClock::now() + timeout_, false});
            return;
        }
    }
    std::lock_guard<PiMutex> lock(mutex_);
    --running_;
    ++failed_;
    failures_.push_back(std::move(failure));
}

void AlertRunner::reap(bool block) {
    const auto now = AlertClock::now();
    for (std::size_t i = 0; i < children_.size();) {
        Child& c = children_[i];
        int status = 0;
        pid_t r;
        do r = waitpid(c.pid, &status, block ? 0 : WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            if (!c.killed && now >= c.deadline) {
                kill(-c.pid, SIGKILL);   // the whole group: a script's own children too
                c.killed = true;
            }
            ++i;
            continue;
        }
        AlertOutcome o;
        o.event = c.event;
        if (r < 0) o.error = std::string("waitpid: ") + std::strerror(errno);
        else if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) o.term_signal = WTERMSIG(status);
        o.timed_out = c.killed;
        const bool failed = !o.error.empty() || o.timed_out || o.exit_code != 0;
        children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
        std::lock_guard<PiMutex> lock(mutex_);
        --running_;
        if (failed) {
            ++failed_;
            failures_.push_back(std::move(o));
        }
    }
}

}  // namespace vg::daemon
