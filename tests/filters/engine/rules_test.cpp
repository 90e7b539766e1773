// SPDX-License-Identifier: GPL-2.0-or-later
// CompiledPolicy::compile (rules.h): a policy the loader accepts is compiled
// whole, up to every limit the schema documents (emergency numbers, scanner
// patterns, rate limits, business-hours windows), and what does not fit the
// engine's tables fails the compile with the key named, never dropped.
#include "filters/engine/rules.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "config/loader.h"
#include "filters/engine/scanner.h"
#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;

// site_policy() with its emergency numbers replaced by `list` (YAML flow list).
std::string with_emergency_numbers(const std::string& list) {
    std::string s = test::site_policy();
    const std::string line = "  emergency_numbers: [\"999\", \"112\"]\n";
    s.replace(s.find(line), line.size(), "  emergency_numbers: " + list + "\n");
    return s;
}

// The site's policy, loaded, for compiling after a change the loader would
// refuse (what compile() must refuse too).
config::Policy loaded_site_policy(const std::string& extra = "") {
    config::LoadOptions o;
    o.allow_includes = false;
    o.check_file_permissions = false;
    config::LoadResult r = config::load_policy_text(test::site_policy("enforce", extra), "test.yaml", o);
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::move(*r.policy) : config::Policy{};
}

std::string compile_error(config::Policy p) {
    std::string error;
    EXPECT_EQ(CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(p)), error), nullptr);
    return error;
}

// "mon HH:MM-HH:MM" windows, `n` of them, 45 minutes apart, 30 long.
std::string windows(int n) {
    std::string s = "[";
    auto hhmm = [](int m) {
        const auto two = [](int v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
        return two(m / 60) + ":" + two(m % 60);
    };
    for (int i = 0; i < n; ++i) s += std::string(i ? ", " : "") + "\"mon " + hhmm(i * 45) + "-" + hhmm(i * 45 + 30) + "\"";
    return s + "]";
}

// Monday 2024-06-03 00:00 UTC.
constexpr UnixSeconds kMonday = 1717372800;

TEST(CompiledPolicy, EveryEmergencyNumberTheSchemaAllowsIsExempt) {
    // 32 numbers (the schema's most), the longest 15 digits.
    std::string list = "[\"112\", \"999\", \"123456789\", \"123456789012345\"";
    for (int i = 0; i < 28; ++i) list += ", \"" + std::to_string(1000001 + i) + "\"";
    const auto c = test::compile_policy(with_emergency_numbers(list + "]"));
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->dial_plan);
    for (const char* n : {"112", "999", "123456789", "123456789012345", "1000001", "1000028"}) {
        EXPECT_TRUE(c->dial_plan->is_service_number(n)) << n;
        EXPECT_EQ(normalise_number(n, *c->dial_plan).cls, NumberClass::service) << n;
    }
}

TEST(CompiledPolicy, AnEmergencyNumberThePlanRefusesFailsTheCompile) {
    config::Policy p = loaded_site_policy();
    p.toll_fraud.emergency_numbers.push_back("*99#");
    EXPECT_EQ(compile_error(p),
              "toll_fraud.emergency_numbers: \"*99#\" does not fit the dial plan (at most 32 numbers of 1..15 digits)");
    config::Policy q = loaded_site_policy();
    for (int i = 0; i < 31; ++i) q.toll_fraud.emergency_numbers.push_back(std::to_string(100000 + i));
    EXPECT_EQ(compile_error(q),
              "toll_fraud.emergency_numbers: \"100030\" does not fit the dial plan (at most 32 numbers of 1..15 digits)");
}

TEST(CompiledPolicy, EveryScannerPatternTheSchemaAllowsIsKept) {
    std::string patterns;
    for (int i = 0; i < 256; ++i)
        patterns += std::string(i ? ", " : "") + "\"tool-" + std::to_string(i) + "-" + std::string(110, 'x') + "\"";
    const auto c = test::compile_policy(test::site_policy("enforce", "sip:\n  scanner_user_agents:\n    patterns: [" +
                                                                        patterns + "]\n"));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->scanners.size(), 11u + 256);
    const std::string last = "tool-255-" + std::string(110, 'x');
    const auto hit = c->scanners.match("UA " + last);
    ASSERT_TRUE(hit);
    EXPECT_EQ(c->scanners.name(*hit), last);
}

TEST(CompiledPolicy, AScannerPatternTheSetRefusesFailsTheCompile) {
    config::Policy p = loaded_site_policy();
    p.sip.scanner_user_agents.push_back(std::string(129, 'a'));
    EXPECT_EQ(compile_error(p), "sip.scanner_user_agents: pattern \"" + std::string(129, 'a') +
                                    "\" not accepted (1..128 characters)");
}

// 64 methods in all: "default" is the 64th and is enforced.
TEST(CompiledPolicy, TheDefaultRateIsEnforcedWithTheMostMethods) {
    std::string keys;
    for (int i = 0; i < 61; ++i) keys += "    XEXT" + std::string(1, static_cast<char>('A' + i / 26)) +
                                         static_cast<char>('A' + i % 26) + ": 10/s\n";
    const auto c = test::compile_policy(test::site_policy("enforce", "sip:\n  rate_limits:\n" + keys));
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->rates.size(), kMaxMethodRates);
    EXPECT_EQ(c->rates.back().method, "default");

    EngineContext ctx(c);
    SipRateLimiter limiter(ctx, 4096);
    test::PacketJar jar;
    test::EventRecorder rec;
    const Timestamp now = Timestamp{} + 100s;
    unsigned passed = 0;
    for (int i = 0; i < 50; ++i) {
        const std::string msg =
            test::sip_packets::request("OPTIONS", "sip:201@192.168.20.10", "cid-" + std::to_string(i), "f1", "", 1);
        const net::DecodedPacket& pkt = jar.udp("203.0.113.10", 5060, "192.168.20.10", 5060, msg);
        passed += limiter.admit(pkt, jar.sip(pkt), now, rec);
    }
    EXPECT_EQ(passed, 40u);   // default: 20/s burst 40
    ASSERT_NE(rec.last(EventType::rate_limited), nullptr);
    EXPECT_EQ(rec.last(EventType::rate_limited)->rule, "default");
}

TEST(CompiledPolicy, MoreRatesThanTheLimiterHoldsFailTheCompile) {
    config::Policy p = loaded_site_policy();
    for (int i = 0; p.sip.rate_limits.size() <= kMaxMethodRates; ++i)
        p.sip.rate_limits["XEXT" + std::string(1, static_cast<char>('A' + i))] = config::Rate{10, config::Seconds(1), 10};
    EXPECT_EQ(compile_error(p), "sip.rate_limits: 65 methods with the defaults, at most 64 are allowed");
}

TEST(CompiledPolicy, EveryBusinessHoursWindowTheSchemaAllowsIsApplied) {
    // (toll_fraud is the last section of the site's policy.)
    const auto c =
        test::compile_policy(test::site_policy() + "  out_of_hours:\n    business_hours: " + windows(32) + "\n");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->business_hours.schedule.size(), 32u);
    EXPECT_TRUE(c->in_business_hours(kMonday + 31 * 45 * 60 + 10 * 60));
    EXPECT_FALSE(c->in_business_hours(kMonday + 31 * 45 * 60 + 40 * 60));
}

TEST(CompiledPolicy, AWindowTheScheduleRefusesFailsTheCompileNamingTheKey) {
    config::Policy p = loaded_site_policy();
    p.toll_fraud.out_of_hours.enabled = true;
    p.toll_fraud.out_of_hours.business_hours.assign(33, config::WeeklyWindow{1, 60, 120});
    EXPECT_EQ(compile_error(p), "toll_fraud.out_of_hours.business_hours[32]: window not accepted (at most 32 windows, "
                                "start and end different)");
}

}  // namespace
}  // namespace vg::engine
