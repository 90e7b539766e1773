// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the policy tests: temporary directories, a fake resolver, and
// running `voipguard check` with its output captured.
#pragma once

#include "config/loader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vg::test {

// A directory under /tmp removed (with its files) at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // Writes `name` (relative) and returns its full path.
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

// Resolves "*.example.net" to 192.0.2.x / 2001:db8::x, fails for anything else.
config::ResolveResult fake_resolve(const std::string& host);
config::LoadOptions test_options();

// A valid policy of 9 lines (enforce, on_failure closed, one handset network,
// one PBX); tests append keys from line 10.
const std::string& base_policy();
// load_policy_text(text) as "t.yaml" with test_options().
config::LoadResult load(const std::string& text);

// A row of an error table: a policy text and the errors it must give, in
// order, exactly ("t.yaml:LINE:COL: key.path: message").
struct ErrorCase {
    const char* name;   // the test's name
    std::string text;
    std::vector<std::string> errors;
};
// Loads c.text: no policy, and exactly c.errors (gtest expectations).
void expect_errors(const ErrorCase& c);
// The test name of a row (INSTANTIATE_TEST_SUITE_P's name generator).
std::string case_name(const ::testing::TestParamInfo<ErrorCase>& info);

// Formatted diagnostics, errors only / warnings only.
std::vector<std::string> errors_of(const config::LoadResult& r);
std::vector<std::string> warnings_of(const config::LoadResult& r);

struct CheckRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};
// Calls vg::cli::cmd_check with argv = {"check", args...}.
CheckRun run_check(const std::vector<std::string>& args);

std::string read_file(const std::string& path);
std::string config_dir();   // the source tree's config/

}  // namespace vg::test
