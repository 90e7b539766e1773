// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

extern char** environ;   // the environment the tools inherit, as execv() passed it

namespace vg::kernel {

namespace {

using Clock = std::chrono::steady_clock;

bool is_executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return true;
}

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// A copy of `fd` at 3 or above (close on exec): the spawn's dup2() onto
// 0..2 cannot then clobber one another when the daemon itself was started
// without standard streams. -1 on failure.
int above_stderr(int fd) {
    if (fd > STDERR_FILENO) return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
}

std::string first_line(const std::string& s) {
    std::size_t start = 0;
    while (start < s.size()) {
        std::size_t end = s.find('\n', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) return s.substr(start, end - start);
        start = end + 1;
    }
    return {};
}

}  // namespace

std::string find_program(const std::string& name) {
    if (name.empty()) return {};
    if (name.find('/') != std::string::npos) return is_executable(name) ? name : std::string{};
    std::string dirs;
    if (const char* path = std::getenv("PATH")) dirs = path;
    dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        const std::string dir = dirs.substr(start, end - start);
        // Relative PATH entries ("", ".") would make the result depend on
        // the working directory: skipped.
        if (!dir.empty() && dir[0] == '/') {
            const std::string candidate = dir + "/" + name;
            if (is_executable(candidate)) return candidate;
        }
        start = end + 1;
    }
    return {};
}

ExecResult run_program(const std::vector<std::string>& argv, const ExecOptions& options) {
    ExecResult r;
    if (argv.empty() || argv[0].empty()) {
        r.error = "no program given";
        return r;
    }
    const std::string path = find_program(argv[0]);
    if (path.empty()) {
        r.error = "program not found: " + argv[0];
        return r;
    }
    std::vector<char*> cargv;
    cargv.reserve(argv.size() + 1);
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    Fd in_r, in_w, out_r, out_w, err_r, err_w;
    if (!make_pipe(in_r, in_w) || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w)) {
        r.error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    for (Fd* fd : {&in_r, &out_w, &err_w}) {
        const int moved = above_stderr(fd->get());
        if (moved < 0) {
            r.error = std::string("fcntl: ") + std::strerror(errno);
            return r;
        }
        if (moved != fd->get()) fd->reset(moved);
    }

    // posix_spawn, not fork: the C library starts the child with
    // CLONE_VM | CLONE_VFORK (glibc, musl), so the daemon's page tables are
    // neither copied nor write-protected. A fork() from the kernel worker
    // would hold the process's memory map lock while it copies them, and
    // every page the packet loop then writes would take a copy-on-write
    // fault: the loop would stall for each tool the worker runs.
    // Only the three standard streams reach the program (every other
    // descriptor of the daemon is close-on-exec); it gets the default signal
    // mask and dispositions (the daemon blocks or ignores some).
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, in_r.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_w.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_w.get(), STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
#endif
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int spawn_error = posix_spawn(&pid, path.c_str(), &actions, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (spawn_error != 0) {
        // The C library reports a failed exec here (the child never ran
        // the program).
        r.error = argv[0] + ": " + std::strerror(spawn_error);
        return r;
    }

    in_r.reset();
    out_w.reset();
    err_w.reset();

    // Writing to a program that exited must not raise SIGPIPE in the daemon:
    // block it for this thread while feeding stdin, and consume one that
    // became pending here.
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    const bool sigpipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
    bool got_epipe = false;

    set_nonblocking(in_w.get());
    set_nonblocking(out_r.get());
    set_nonblocking(err_r.get());
    std::size_t written = 0;
    if (options.input.empty()) in_w.reset();

    const auto deadline = Clock::now() + options.timeout;
    char buf[16384];
    auto drain = [&](Fd& fd, std::string& into) {
        for (;;) {
            const ssize_t got = read(fd.get(), buf, sizeof buf);
            if (got > 0) {
                const std::size_t room = options.max_output > into.size() ? options.max_output - into.size() : 0;
                const auto take = std::min(room, static_cast<std::size_t>(got));
                into.append(buf, take);
                if (take < static_cast<std::size_t>(got)) r.output_truncated = true;
                continue;
            }
            if (got == 0) {
                fd.reset();
                return;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) fd.reset();
            return;
        }
    };

    while (out_r.get() >= 0 || err_r.get() >= 0 || in_w.get() >= 0) {
        const auto now = Clock::now();
        if (now >= deadline) {
            r.timed_out = true;
            break;
        }
        pollfd fds[3];
        nfds_t count = 0;
        int out_i = -1, err_i = -1, in_i = -1;
        if (out_r.get() >= 0) {
            out_i = static_cast<int>(count);
            fds[count++] = pollfd{out_r.get(), POLLIN, 0};
        }
        if (err_r.get() >= 0) {
            err_i = static_cast<int>(count);
            fds[count++] = pollfd{err_r.get(), POLLIN, 0};
        }
        if (in_w.get() >= 0) {
            in_i = static_cast<int>(count);
            fds[count++] = pollfd{in_w.get(), POLLOUT, 0};
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        const int rc = poll(fds, count, static_cast<int>(std::min<long long>(left + 1, 1000)));
        if (rc < 0) {
            if (errno == EINTR) continue;
            r.error = std::string("poll: ") + std::strerror(errno);
            break;
        }
        if (out_i >= 0 && fds[out_i].revents != 0) drain(out_r, r.out);
        if (err_i >= 0 && fds[err_i].revents != 0) drain(err_r, r.err);
        if (in_i >= 0 && fds[in_i].revents != 0) {
            if (fds[in_i].revents & (POLLERR | POLLHUP)) {
                in_w.reset();
            } else {
                const ssize_t put =
                    write(in_w.get(), options.input.data() + written, options.input.size() - written);
                if (put > 0) {
                    written += static_cast<std::size_t>(put);
                    if (written == options.input.size()) in_w.reset();
                } else if (put < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                    if (errno == EPIPE) got_epipe = true;
                    in_w.reset();
                }
            }
        }
    }
    in_w.reset();
    out_r.reset();
    err_r.reset();

    if (got_epipe && !sigpipe_was_pending) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

    // The streams are closed; the program should be gone or going. Wait for
    // it until the deadline, then kill it.
    int status = 0;
    bool reaped = false;
    while (!r.timed_out && r.error.empty()) {
        const pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = true;
            break;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            // ECHILD: SIGCHLD is ignored, so the exit status is lost.
            r.error = std::string("waitpid: ") + std::strerror(errno);
            return r;
        }
        if (Clock::now() >= deadline) {
            r.timed_out = true;
            break;
        }
        const timespec pause{0, 2 * 1000 * 1000};
        nanosleep(&pause, nullptr);
    }
    if (!reaped) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (WIFEXITED(status)) {
        r.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.term_signal = WTERMSIG(status);
    }
    return r;
}

std::string describe(const std::vector<std::string>& argv, const ExecResult& result) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    s += ": ";
    if (!result.error.empty()) return s + result.error;
    if (result.timed_out) return s + "timed out";
    if (result.term_signal != 0) s += "killed by signal " + std::to_string(result.term_signal);
    else s += "exit " + std::to_string(result.exit_code);
    std::string detail = first_line(result.err);
    if (detail.empty()) detail = first_line(result.out);
    if (!detail.empty()) s += ": " + detail;
    return s;
}

CommandRunner make_runner(std::vector<std::string> prefix, std::chrono::milliseconds timeout) {
    return [prefix = std::move(prefix), timeout](const std::vector<std::string>& argv, const std::string& input) {
        std::vector<std::string> full = prefix;
        full.insert(full.end(), argv.begin(), argv.end());
        ExecOptions o;
        o.input = input;
        o.timeout = timeout;
        return run_program(full, o);
    };
}

}  // namespace vg::kernel
