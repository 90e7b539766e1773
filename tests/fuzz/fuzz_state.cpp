// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target for the state loader (filters/engine/state_file.h): any bytes
// go into a fresh engine; the loader must reject them or restore a state the
// engine can run with, save again and load again. A CRC-32 guards the file,
// which a fuzzer rarely guesses: when the first input byte is odd, the rest
// gets its checksum appended (so the fields behind it are reached).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "filters/engine/site_history.h"
#include "filters/engine/state_file.h"

namespace {

using namespace vg;

const char* kPolicy = R"(
version: 1
site: fuzz
handsets:
  networks: [192.168.20.0/24]
  stale_after: 1h
  firmware_minimums:
    - match: "Yealink"
      min_version: 66.86.0.15
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
  support:
    - name: noc
      addresses: [198.51.100.7]
      ports: ["tcp/22"]
media:
  idle_timeout: 30s
  max_call_duration: 1h
sip:
  rate_limits:
    INVITE: 5/s burst 5
toll_fraud:
  country_code: "44"
  deny_prefixes: ["+881", "09"]
  limits:
    per_handset:
      concurrent_calls: 2
      calls_per_hour: 10
)";

std::shared_ptr<const engine::CompiledPolicy> rules() {
    static std::shared_ptr<const engine::CompiledPolicy> compiled = [] {
        config::LoadOptions o;
        o.allow_includes = false;
        o.check_file_permissions = false;
        o.resolve_host_names = false;
        config::LoadResult r = config::load_policy_text(kPolicy, "fuzz.yaml", o);
        if (!r.ok()) __builtin_trap();
        std::string error;
        auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
        if (!c) __builtin_trap();
        return c;
    }();
    return compiled;
}

struct NullSink : engine::EventSink {
    void on_event(const engine::Event&) override {}
    void on_effect(const engine::Effect&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::vector<std::uint8_t> bytes(data + 1, data + size);
    if (data[0] & 1) {
        const std::uint32_t c = engine::crc32(bytes.data(), bytes.size());
        for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(c >> (8 * i)));
    }
    const engine::Now now{engine::Timestamp{} + std::chrono::seconds(100), 1700000000};
    engine::EngineLimits limits;
    limits.max_handsets = 64;
    engine::Engine e(rules(), limits);
    // The report's history (version 2 files) comes along.
    auto history = std::make_unique<engine::SiteHistory>();
    const engine::StateLoad l = engine::load_state(e, bytes.data(), bytes.size(), "fuzz", now, history.get());
    NullSink sink;
    if (!l.ok()) {
        if (e.handset_count() != 0) __builtin_trap();   // a rejected file changed the engine
        if (history->hours_kept() != 0) __builtin_trap();   // or the history
        return 0;
    }
    (void)history->summarize(now.wall, engine::SiteHistory::kMaxWindow);
    e.tick(now, sink);
    const std::vector<std::uint8_t> again = engine::save_state(e, "fuzz", now, history.get());
    engine::Engine e2(rules(), limits);
    auto history2 = std::make_unique<engine::SiteHistory>();
    if (!engine::load_state(e2, again.data(), again.size(), "fuzz", now, history2.get()).ok()) __builtin_trap();
    if (e2.handset_count() != e.handset_count()) __builtin_trap();
    if (history2->hours_kept() > history->hours_kept()) __builtin_trap();
    return 0;
}
