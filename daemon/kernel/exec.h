// SPDX-License-Identifier: GPL-2.0-or-later
// Running the netfilter tools (iptables-restore, ipset, nft, ...): a fixed
// argument vector, never a shell, optional text on stdin, stdout and stderr
// captured, and a deadline after which the program is killed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace vg::kernel {

struct ExecResult {
    int exit_code = -1;     // exit status; -1 when it did not exit normally
    int term_signal = 0;    // the signal that ended it, if any
    bool timed_out = false;
    bool output_truncated = false;
    std::string out;
    std::string err;
    std::string error;      // it could not be run at all: why

    bool ok() const { return error.empty() && !timed_out && exit_code == 0; }
};

struct ExecOptions {
    std::string input;                              // written to stdin, then stdin is closed
    std::chrono::milliseconds timeout{30000};
    std::size_t max_output = std::size_t{32} << 20;   // per stream; the rest is read and discarded
};

// Runs argv[0] (looked up in the absolute directories of PATH and then
// /usr/sbin, /sbin, /usr/bin, /bin unless it contains a '/') with the given arguments. Never throws for a
// failure of the program; `error` says when it could not be started. The
// caller must not ignore SIGCHLD (the exit status would be lost). Safe to
// call from any thread: the program is started with posix_spawn (vfork
// semantics: the process's memory is neither copied nor write-protected, so
// its other threads - the packet loop - never stall for it), and SIGPIPE is
// blocked for the calling thread while stdin is fed.
ExecResult run_program(const std::vector<std::string>& argv, const ExecOptions& options = {});

// Full path of an executable program, or "" when there is none. Names with a
// '/' are returned as they are when executable.
std::string find_program(const std::string& name);

// One line for logs: "iptables-restore --noflush: exit 1: line 3 failed".
std::string describe(const std::vector<std::string>& argv, const ExecResult& result);

// What the backends call to run a command; tests substitute a fake.
using CommandRunner = std::function<ExecResult(const std::vector<std::string>& argv, const std::string& input)>;

// A runner that prefixes every command with `prefix` (for example
// {"ip", "netns", "exec", "vg-test-1"}) and runs it with run_program().
CommandRunner make_runner(std::vector<std::string> prefix = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds{30000});

}  // namespace vg::kernel
