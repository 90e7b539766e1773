// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/config/config_test_util.h"

#include "daemon/commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vg::test {

TempDir::TempDir() {
    char tmpl[] = "/tmp/vg-config-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const auto full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
    std::filesystem::permissions(full, std::filesystem::perms(0644));
    return full.string();
}

config::ResolveResult fake_resolve(const std::string& host) {
    config::ResolveResult r;
    const std::string suffix = ".example.net";
    if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
        unsigned sum = 0;
        for (char c : host) sum += static_cast<unsigned char>(c);
        r.addresses.push_back(*net::IpAddress::parse("192.0.2." + std::to_string(1 + sum % 200)));
        r.addresses.push_back(*net::IpAddress::parse("2001:db8::" + std::to_string(1 + sum % 200)));
    } else {
        r.error = "Name or service not known";
    }
    return r;
}

config::LoadOptions test_options() {
    config::LoadOptions o;
    o.resolver = fake_resolve;
    return o;
}

const std::string& base_policy() {
    static const std::string text =
        "version: 1\n"
        "site: t\n"
        "on_failure: closed\n"
        "handsets:\n"
        "  networks: [192.168.20.0/24]\n"
        "peers:\n"
        "  pbx:\n"
        "    - name: pbx\n"
        "      addresses: [203.0.113.10]\n";
    return text;
}

config::LoadResult load(const std::string& text) { return config::load_policy_text(text, "t.yaml", test_options()); }

void expect_errors(const ErrorCase& c) {
    const auto r = load(c.text);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), c.errors);
}

std::string case_name(const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; }

namespace {
std::vector<std::string> of(const config::LoadResult& r, config::Diagnostic::Severity s) {
    std::vector<std::string> out;
    for (const auto& d : r.diagnostics)
        if (d.severity == s) out.push_back(d.format());
    return out;
}
}  // namespace

std::vector<std::string> errors_of(const config::LoadResult& r) { return of(r, config::Diagnostic::Severity::error); }
std::vector<std::string> warnings_of(const config::LoadResult& r) {
    return of(r, config::Diagnostic::Severity::warning);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string config_dir() { return VG_CONFIG_DIR; }

CheckRun run_check(const std::vector<std::string>& args) {
    TempDir tmp;
    const std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
    std::vector<std::string> storage{"check"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);

    std::fflush(stdout);
    std::fflush(stderr);
    const int saved_out = dup(1), saved_err = dup(2);
    FILE* fo = std::fopen(out_path.c_str(), "w");
    FILE* fe = std::fopen(err_path.c_str(), "w");
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    CheckRun run;
    run.exit_code = vg::cli::cmd_check(static_cast<int>(storage.size()), argv.data());
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    std::fclose(fo);
    std::fclose(fe);
    run.out = read_file(out_path);
    run.err = read_file(err_path);
    return run;
}

}  // namespace vg::test
