// SPDX-License-Identifier: GPL-2.0-or-later
// Policies and events for the engine's tests: the test site's policy as YAML,
// compiled the way the daemon compiles a policy file (no includes, no DNS),
// and an EventSink that keeps every event for inspection. Shared by the
// whole-engine tests (engine_test.cpp) and the tests of its units (calls,
// handsets, scanner, egress), which build an EngineContext from the compiled
// policy and drive one unit with a time they choose.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "filters/engine/events.h"
#include "filters/engine/rules.h"

namespace vg::test {

// A site in the UK: handsets 192.168.20.0/24 and 2001:db8:20::/64, PBX
// signalling 203.0.113.10 (and 2001:db8:100::10), PBX media 203.0.113.64/27
// from ports 10000-20000, support 198.51.100.7 to tcp/22 and tcp/443,
// media.idle_timeout 60s, max_call_duration 4h, handsets stale after 1h,
// a firmware minimum for the Yealink SIP-T46S, toll-fraud prefixes and a
// limit of 2 concurrent calls per handset.
// `mode`: enforce | monitor; `extra`: top-level YAML added after `media:`;
// `limits`: more keys of toll_fraud.limits.per_handset (indented 6 spaces).
std::string site_policy(const std::string& mode = "enforce", const std::string& extra = "",
                        const std::string& limits = "");
// site_policy() with more keys in its `media:` section.
std::string site_policy_with_media(const std::string& keys);

// The policy compiled, or nullptr with a test failure naming every problem.
std::shared_ptr<const engine::CompiledPolicy> compile_policy(const std::string& yaml);

// Keeps every event and effect.
struct EventRecorder : engine::EventSink {
    std::vector<engine::Event> events;
    std::vector<engine::Effect> effects;
    void on_event(const engine::Event& e) override { events.push_back(e); }
    void on_effect(const engine::Effect& f) override { effects.push_back(f); }
    std::size_t count(engine::EventType t) const;
    // The last event of type t, or nullptr.
    const engine::Event* last(engine::EventType t) const;
    // Every event of type t, in order.
    std::vector<engine::Event> all(engine::EventType t) const;
    void clear() {
        events.clear();
        effects.clear();
    }
};

}  // namespace vg::test
