// SPDX-License-Identifier: GPL-2.0-or-later
// Replays every entry of the catalogue of evasions (tests/data/evasion/)
// through the engine: each packet must get the verdict, reason and events
// its entry states. One test case per entry, named after it.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "tests/support/evasion_catalogue.h"
#include "tests/support/test_data.h"

namespace vg::engine {
namespace {

using test::evasion::Entry;
using test::evasion::Expect;

struct Recorder : EventSink {
    std::vector<Event> events;
    void on_event(const Event& e) override { events.push_back(e); }
};

const std::vector<Entry>& catalogue(std::string* error_out = nullptr) {
    static std::string error;
    static const std::vector<Entry> entries = test::evasion::load_catalogue(test::data_path("evasion"), error);
    if (error_out) *error_out = error;
    return entries;
}

std::vector<std::string> entry_names() {
    std::vector<std::string> names;
    for (const Entry& e : catalogue()) names.push_back(e.name);
    if (names.empty()) names.push_back("(catalogue did not load)");
    return names;
}

std::shared_ptr<const CompiledPolicy> policy(const std::string& file) {
    static std::map<std::string, std::shared_ptr<const CompiledPolicy>> cache;
    if (auto it = cache.find(file); it != cache.end()) return it->second;
    config::LoadOptions o;
    o.check_file_permissions = false;
    o.resolver = [](const std::string&) { return config::ResolveResult{{}, "no DNS in tests"}; };
    config::LoadResult r = config::load_policy_file(test::data_path("evasion/" + file), o);
    if (!r.ok()) {
        std::string all;
        for (const auto& d : r.diagnostics) all += d.format() + "\n";
        ADD_FAILURE() << "policy " << file << " does not load:\n" << all;
        return nullptr;
    }
    std::string error;
    auto c = CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
    EXPECT_NE(c, nullptr) << error;
    cache[file] = c;
    return c;
}

std::string got_text(const Decision& d) {
    std::string s = d.verdict == Verdict::drop ? (d.reset ? "reset" : "drop")
                    : d.verdict == Verdict::accept_verified ? "verified" : "accept";
    return s + "/" + std::string(reason_name(d.reason));
}

bool matches(const Expect& e, const Decision& d) {
    switch (e.kind) {
    case Expect::Kind::accept:
        if (d.verdict == Verdict::drop) return false;
        break;
    case Expect::Kind::verified:
        if (d.verdict != Verdict::accept_verified) return false;
        break;
    case Expect::Kind::drop:
        if (d.verdict != Verdict::drop || d.reset) return false;
        break;
    case Expect::Kind::reset:
        if (d.verdict != Verdict::drop || !d.reset) return false;
        break;
    }
    return e.reason.empty() || e.reason == reason_name(d.reason);
}

class Catalogue : public ::testing::TestWithParam<std::string> {};

TEST(CatalogueFile, Loads) {
    std::string error;
    const auto& entries = catalogue(&error);
    ASSERT_TRUE(error.empty()) << error;
    // The issue asks for at least 60 entries over UDP, TCP and IPv6.
    std::size_t tcp = 0, v6 = 0;
    for (const Entry& e : entries) {
        bool t = false, six = false;
        for (const auto& p : e.packets) {
            t = t || p.tcp;
            six = six || p.v6;
        }
        tcp += t;
        v6 += six;
    }
    EXPECT_GE(entries.size(), 60u);
    EXPECT_GE(tcp, 10u);
    EXPECT_GE(v6, 5u);
}

TEST_P(Catalogue, EveryPacketGetsItsVerdict) {
    std::string error;
    const auto& entries = catalogue(&error);
    ASSERT_TRUE(error.empty()) << error;
    const Entry* entry = nullptr;
    for (const Entry& e : entries)
        if (e.name == GetParam()) entry = &e;
    ASSERT_NE(entry, nullptr);
    auto rules = policy(entry->policy);
    ASSERT_NE(rules, nullptr);
    Engine engine(rules);
    // Wednesday 2 December 2026, 10:00 UTC: inside any business hours.
    Timestamp now = Timestamp{} + std::chrono::seconds(1796205600);
    for (const auto& p : entry->packets) {
        if (p.advance.count() > 0) {
            now += p.advance;
            Recorder ignored;
            engine.tick(Now::at(now), ignored);
        }
        const net::DecodedPacket decoded = net::decode_ip(p.bytes.data(), p.bytes.size());
        Recorder rec;
        const Decision d = engine.process(decoded, Now::at(now), rec);
        std::ostringstream events;
        for (const Event& ev : rec.events) events << " " << event_name(ev.type) << (ev.number.empty() ? "" : ":") << ev.number.view();
        EXPECT_TRUE(matches(p.expect, d)) << entry->file << ":" << p.line << ": [" << entry->name << "] expected "
                                          << p.expect.text() << ", got " << got_text(d) << " (events:" << events.str()
                                          << ")\n  why: " << entry->why;
        for (const std::string& want : p.expect.events) {
            bool found = false;
            for (const Event& ev : rec.events) {
                if (event_name(ev.type) != want) continue;
                const bool toll = ev.type == EventType::toll_fraud || ev.type == EventType::call_limit;
                if (toll && !p.expect.number.empty() && ev.number.view() != p.expect.number) continue;
                found = true;
            }
            EXPECT_TRUE(found) << entry->file << ":" << p.line << ": [" << entry->name << "] expected event " << want
                               << (p.expect.number.empty() ? "" : " number=" + p.expect.number)
                               << ", got:" << events.str();
        }
    }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string s;
    for (char c : info.param) s.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return s;
}

INSTANTIATE_TEST_SUITE_P(Evasion, Catalogue, ::testing::ValuesIn(entry_names()), param_name);

}  // namespace
}  // namespace vg::engine
