// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/engine_policy.h"

#include <gtest/gtest.h>

#include <utility>

#include "config/loader.h"

namespace vg::test {

namespace {

const char* kSitePolicy = R"(
version: 1
site: test-site
mode: MODE
handsets:
  networks: [192.168.20.0/24, "2001:db8:20::/64"]
  stale_after: 1h
  firmware_minimums:
    - match: "Yealink SIP-T46S"
      min_version: 66.86.0.15
peers:
  pbx:
    - name: cloud-pbx
      addresses: [203.0.113.10, "2001:db8:100::10"]
      media:
        addresses: [203.0.113.64/27, "2001:db8:100::/64"]
        ports: "10000-20000"
  support:
    - name: msp
      addresses: [198.51.100.7]
      ports: ["tcp/22", "tcp/443"]
media:
  idle_timeout: 60s
  max_call_duration: 4h
EXTRA
toll_fraud:
  country_code: "44"
  national_prefix: "0"
  international_prefix: "00"
  deny_prefixes: ["+881", "+882", "+883", "09"]
  emergency_numbers: ["999", "112"]
  limits:
    per_handset:
      concurrent_calls: 2
LIMITS
)";

}  // namespace

std::string site_policy(const std::string& mode, const std::string& extra, const std::string& limits) {
    std::string s = kSitePolicy;
    s.replace(s.find("MODE"), 4, mode);
    s.replace(s.find("EXTRA"), 5, extra);
    s.replace(s.find("LIMITS"), 6, limits);
    return s;
}

std::string site_policy_with_media(const std::string& keys) {
    std::string s = site_policy();
    s.replace(s.find("  max_call_duration: 4h\n"), 0, keys);
    return s;
}

std::shared_ptr<const engine::CompiledPolicy> compile_policy(const std::string& yaml) {
    config::LoadOptions o;
    o.allow_includes = false;
    o.check_file_permissions = false;
    o.resolver = [](const std::string&) { return config::ResolveResult{{}, "no DNS in tests"}; };
    config::LoadResult r = config::load_policy_text(yaml, "test.yaml", o);
    if (!r.ok()) {
        std::string all;
        for (const auto& d : r.diagnostics) all += d.format() + "\n";
        ADD_FAILURE() << "policy does not load:\n" << all;
        return nullptr;
    }
    std::string error;
    auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
    EXPECT_NE(c, nullptr) << error;
    return c;
}

std::size_t EventRecorder::count(engine::EventType t) const {
    std::size_t n = 0;
    for (const engine::Event& e : events) n += e.type == t;
    return n;
}

const engine::Event* EventRecorder::last(engine::EventType t) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->type == t) return &*it;
    return nullptr;
}

std::vector<engine::Event> EventRecorder::all(engine::EventType t) const {
    std::vector<engine::Event> out;
    for (const engine::Event& e : events)
        if (e.type == t) out.push_back(e);
    return out;
}

}  // namespace vg::test
