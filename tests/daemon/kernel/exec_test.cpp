// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/exec.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace vg::kernel {
namespace {

using std::chrono::milliseconds;

TEST(RunProgram, ReportsTheExitCode) {
    EXPECT_EQ(run_program({"true"}).exit_code, 0);
    EXPECT_TRUE(run_program({"true"}).ok());
    const auto r = run_program({"false"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.error.empty());
    EXPECT_EQ(run_program({"sh", "-c", "exit 42"}).exit_code, 42);
}

TEST(RunProgram, FeedsStdinAndCapturesStdout) {
    ExecOptions o;
    o.input = "first line\nsecond line\n";
    const auto r = run_program({"cat"}, o);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out, o.input);
    EXPECT_EQ(r.err, "");
}

TEST(RunProgram, WithoutInputTheProgramSeesEndOfFile) {
    const auto r = run_program({"cat"});
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.out, "");
}

TEST(RunProgram, MovesMegabytesBothWaysWithoutDeadlock) {
    ExecOptions o;
    o.input.assign(4u << 20, 'x');
    for (std::size_t i = 0; i < o.input.size(); i += 100) o.input[i] = '\n';
    const auto r = run_program({"cat"}, o);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out.size(), o.input.size());
    EXPECT_TRUE(r.out == o.input);
}

TEST(RunProgram, CapturesStderrApart) {
    const auto r = run_program({"sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "to-out\n");
    EXPECT_EQ(r.err, "to-err\n");
}

TEST(RunProgram, PassesShellMetacharactersLiterally) {
    const std::string nasty = "$(touch /tmp/vg-exec-test-pwned) ; rm -rf / | `id` && * ? ~ > x < y 'q' \"d\" \\n";
    const auto r = run_program({"printf", "%s|%s", nasty, "two words"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out, nasty + "|two words");
    EXPECT_NE(access("/tmp/vg-exec-test-pwned", F_OK), 0);
}

TEST(RunProgram, AProgramNameIsNeverSplitOrExpanded) {
    const auto r = run_program({"true; echo injected"});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, "program not found: true; echo injected");
    EXPECT_EQ(r.out, "");
}

TEST(RunProgram, MissingProgramIsAnErrorNotAnExitCode) {
    const auto r = run_program({"vg-no-such-program-anywhere"});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.exit_code, -1);
    EXPECT_EQ(r.error, "program not found: vg-no-such-program-anywhere");
    EXPECT_FALSE(run_program({}).ok());
}

TEST(RunProgram, NonExecutableFileIsAnError) {
    const auto r = run_program({"/etc/hostname"});
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.error.empty());
}

TEST(RunProgram, KillsAProgramPastItsDeadline) {
    ExecOptions o;
    o.timeout = milliseconds(200);
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_program({"sleep", "30"}, o);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.ok());
    EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(RunProgram, ReportsTheSignalThatEndedTheProgram) {
    const auto r = run_program({"sh", "-c", "kill -9 $$"});
    EXPECT_EQ(r.term_signal, SIGKILL);
    EXPECT_EQ(r.exit_code, -1);
    EXPECT_FALSE(r.ok());
}

TEST(RunProgram, AProgramThatIgnoresStdinDoesNotKillTheCaller) {
    ExecOptions o;
    o.input.assign(8u << 20, 'y');
    const auto r = run_program({"true"}, o);
    // Still here (no SIGPIPE), and the program's own status counts.
    EXPECT_EQ(r.exit_code, 0);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

TEST(RunProgram, TruncatesOutputBeyondTheLimit) {
    ExecOptions o;
    o.input.assign(100000, 'z');
    o.max_output = 1000;
    const auto r = run_program({"cat"}, o);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.size(), 1000u);
    EXPECT_TRUE(r.output_truncated);
}

TEST(RunProgram, TheProgramGetsNoOtherFileDescriptors) {
    // Only 0, 1, 2 (and the directory handle of ls itself) are open.
    const auto r = run_program({"ls", "/proc/self/fd"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out, "0\n1\n2\n3\n");
}

TEST(RunProgram, WorksForACallerWithoutStandardStreams) {
    // Daemons started with fd 0..2 closed get pipes there; the program must
    // still see its stdin, stdout and stderr.
    const int saved_in = dup(STDIN_FILENO);
    const int saved_out = dup(STDOUT_FILENO);
    ASSERT_GE(saved_in, 0);
    ASSERT_GE(saved_out, 0);
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
    ExecOptions o;
    o.input = "through";
    const auto r = run_program({"sh", "-c", "cat; echo err >&2"}, o);
    dup2(saved_in, STDIN_FILENO);
    dup2(saved_out, STDOUT_FILENO);
    close(saved_in);
    close(saved_out);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out, "through");
    EXPECT_EQ(r.err, "err\n");
}

TEST(FindProgram, SearchesPathAndSbinDirectories) {
    EXPECT_EQ(find_program("sh").front(), '/');
    EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
    EXPECT_EQ(find_program("vg-no-such-program-anywhere"), "");
    EXPECT_EQ(find_program(""), "");
}

TEST(Describe, NamesTheCommandTheStatusAndTheFirstErrorLine) {
    ExecResult r;
    r.exit_code = 2;
    r.err = "\niptables-restore: line 3 failed\nmore\n";
    EXPECT_EQ(describe({"iptables-restore", "--noflush"}, r), "iptables-restore --noflush: exit 2: iptables-restore: line 3 failed");
    ExecResult t;
    t.timed_out = true;
    EXPECT_EQ(describe({"nft", "-f", "-"}, t), "nft -f -: timed out");
    ExecResult e;
    e.error = "program not found: nft";
    EXPECT_EQ(describe({"nft"}, e), "nft: program not found: nft");
}

TEST(MakeRunner, PutsThePrefixInFrontOfEveryCommand) {
    const auto run = make_runner({"printf", "%s,"});
    const auto r = run({"a b", "c"}, {});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.out, "a b,c,");
    const auto plain = make_runner();
    EXPECT_EQ(plain({"cat"}, "in").out, "in");
}

}  // namespace
}  // namespace vg::kernel
