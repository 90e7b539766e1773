// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the policy tests: temporary directories, a fake resolver, and
// running `voipguard check` with its output captured.
#pragma once

#include "config/loader.h"

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
