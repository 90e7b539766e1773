// SPDX-License-Identifier: GPL-2.0-or-later
// Destination profiles (filters/engine/fraud_profiles.h) through the whole
// engine, with a fake clock: every threshold and window, both levels, the
// scopes, hours, day boundaries in the policy's zone, eviction, and what must
// never count (REGISTERs, calls to a ring group).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using namespace test::sip_packets;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kPbx = "203.0.113.10";
constexpr const char* kPbxMedia = "203.0.113.70";

// The test site with `profiles` (YAML lines of a list, indented 4) as its
// toll_fraud.profiles; `tz`: out_of_hours.timezone.
std::string with_profiles(const std::string& profiles, const std::string& mode = "enforce",
                          const std::string& tz = "") {
    std::string s = test::site_policy(mode, "", "      calls_per_hour: 10000\n");
    std::string block = "  profiles:\n" + profiles;
    if (!tz.empty()) block += "  out_of_hours:\n    timezone: \"" + tz + "\"\n";
    s.replace(s.find("toll_fraud:\n") + 12, 0, block);
    // Room for the concurrent tests.
    s.replace(s.find("      concurrent_calls: 2"), 25, "      concurrent_calls: 20");
    return s;
}

class FraudProfilesTest : public ::testing::Test {
protected:
    void make(const std::string& yaml, EngineLimits limits = {}) {
        rules_ = test::compile_policy(yaml);
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<Engine>(rules_, limits);
        rec_.clear();
    }
    Decision feed(const Bytes& b) {
        packets_.push_back(b);
        const net::DecodedPacket p = net::decode_ip(packets_.back().data(), packets_.back().size());
        return engine_->process(p, Now::at(now_), rec_);
    }
    Decision out_sip(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(handset, 5060, kPbx, 5060, msg));
    }
    Decision in_sip(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(kPbx, 5060, handset, 5060, msg));
    }
    Decision call(const std::string& id, const std::string& number, const char* handset = kHandset,
                  const std::string& extra = "") {
        return out_sip(request("INVITE", "sip:" + number + "@pbx.example.net", id, "f1", "", 1, "",
                               "Yealink SIP-T46S 66.86.0.15", extra),
                       handset);
    }
    void answer(const std::string& id, const char* handset = kHandset) {
        EXPECT_EQ(in_sip(response(200, "OK", "INVITE", 1, id, "t1"), handset).verdict, Verdict::accept);
    }
    void hang_up(const std::string& id, const char* handset = kHandset) {
        out_sip(request("BYE", "sip:x@pbx.example.net", id, "f1", "t1", 2), handset);
        in_sip(response(200, "OK", "BYE", 2, id, "t1"), handset);
    }
    void cancel(const std::string& id, const std::string& number, const char* handset = kHandset) {
        out_sip(request("CANCEL", "sip:" + number + "@pbx.example.net", id, "f1", "", 1), handset);
    }
    // A call that is placed and cancelled at once (counts, then ends).
    Decision quick(const std::string& id, const std::string& number, const char* handset = kHandset) {
        const Decision d = call(id, number, handset);
        if (d.verdict == Verdict::accept) cancel(id, number, handset);
        return d;
    }
    void advance(Duration d) {
        now_ += d;
        engine_->tick(Now::at(now_), rec_);
    }
    std::size_t warnings() const { return rec_.count(EventType::fraud_threshold_warning); }
    std::size_t criticals() const { return rec_.count(EventType::fraud_threshold_critical); }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<Engine> engine_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 1700000000s;   // Tuesday 2023-11-14 22:13:20 UTC
    std::vector<Bytes> packets_;
};

const char* kIntl = "    - name: international\n      prefixes: [\"+\"]\n";

TEST_F(FraudProfilesTest, DefaultProfilesSplitNationalFromInternational) {
    make(test::site_policy());
    const CompiledPolicy& r = *rules_;
    ASSERT_EQ(r.profiles.size(), 2u);
    ASSERT_NE(r.profile_for("+442079460000"), nullptr);
    EXPECT_EQ(r.profile_for("+442079460000")->name, "national");
    EXPECT_EQ(r.profile_for("+447700900123")->name, "national");
    EXPECT_EQ(r.profile_for("+33123456789")->name, "international");
    EXPECT_EQ(r.profile_for("202"), nullptr);
}

TEST_F(FraudProfilesTest, LongestPrefixPicksTheGroup) {
    make(with_profiles(std::string(kIntl) + "    - name: mobile\n      prefixes: [\"07\"]\n"
                       "    - name: high_risk\n      prefixes: [\"+53\", \"+252\"]\n"
                       "    - name: national\n      prefixes: [\"0\"]\n"));
    EXPECT_EQ(rules_->profile_for("+447700900123")->name, "mobile");
    EXPECT_EQ(rules_->profile_for("+442079460000")->name, "national");
    EXPECT_EQ(rules_->profile_for("+5351234567")->name, "high_risk");
    EXPECT_EQ(rules_->profile_for("+4930123456")->name, "international");
}

TEST_F(FraudProfilesTest, CallsPerMinuteWarnsThenBlocksAndSlides) {
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_minute: {warning: 2, critical: 3}\n"));
    EXPECT_EQ(quick("m1", "0033123450001").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 0u);
    EXPECT_EQ(quick("m2", "0033123450002").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 1u);
    now_ += 10s;
    EXPECT_EQ(quick("m3", "0033123450003").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 2u);
    const Decision d = quick("m4", "0033123450004");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::fraud_threshold);
    const Event* e = rec_.last(EventType::fraud_threshold_critical);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->handset.to_string(), kHandset);
    EXPECT_EQ(e->group.view(), "international");
    EXPECT_EQ(e->threshold.view(), "per_handset.calls_per_minute");
    EXPECT_EQ(e->value, 4u);
    EXPECT_EQ(e->level, 3u);
    EXPECT_EQ(e->number.view(), "+33123450004");
    EXPECT_EQ(e->rule.view(), "fraud_threshold:international");
    const Event* w = rec_.last(EventType::fraud_threshold_warning);
    EXPECT_EQ(w->value, 3u);
    EXPECT_EQ(w->level, 2u);
    // The window slides: 50 s after the first call it is still full ...
    now_ += 40s;
    EXPECT_EQ(quick("m5", "0033123450005").reason, Reason::fraud_threshold);
    // ... and one call has left it after 60 s.
    now_ += 11s;
    EXPECT_EQ(quick("m6", "0033123450006").verdict, Verdict::accept);
    // A national call is not in the group.
    EXPECT_EQ(quick("n1", "02079460000").verdict, Verdict::accept);
    // Another handset has its own counters.
    EXPECT_EQ(quick("o1", "0033123450007", kHandset2).verdict, Verdict::accept);
}

TEST_F(FraudProfilesTest, ConcurrentCallsCountCallsInProgress) {
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        concurrent_calls: {warning: 2, critical: 2}\n"));
    EXPECT_EQ(call("c1", "0033123450001").verdict, Verdict::accept);
    answer("c1");
    EXPECT_EQ(call("c2", "0033123450002").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 1u);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_warning)->threshold.view(), "per_handset.concurrent_calls");
    EXPECT_EQ(call("c3", "0033123450003").reason, Reason::fraud_threshold);
    hang_up("c1");
    EXPECT_EQ(call("c4", "0033123450004").verdict, Verdict::accept);
}

TEST_F(FraudProfilesTest, CallsPerDayRestartAtLocalMidnightInThePolicyZone) {
    // CET: UTC+1 in November. Tuesday 22:13 UTC is 23:13 local.
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_day: {warning: 2, critical: 3}\n",
                       "enforce", "CET-1CEST,M3.5.0,M10.5.0/3"));
    EXPECT_EQ(quick("d1", "0033123450001").verdict, Verdict::accept);
    now_ += 5min;
    EXPECT_EQ(quick("d2", "0034123450002").verdict, Verdict::accept);
    now_ += 5min;
    EXPECT_EQ(quick("d3", "0035123450003").verdict, Verdict::accept);
    now_ += 5min;
    EXPECT_EQ(quick("d4", "0036123450004").reason, Reason::fraud_threshold);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_critical)->threshold.view(), "per_handset.calls_per_day");
    // 23:58 local (22:58 UTC): still the same day.
    now_ = Timestamp{} + 1700000000s + 45min;
    EXPECT_EQ(quick("d5", "0037123450005").reason, Reason::fraud_threshold);
    // 00:01 local, 23:01 UTC: a new day in the policy's zone (not yet in UTC).
    now_ += 3min;
    EXPECT_EQ(quick("d6", "0038123450006").verdict, Verdict::accept);
}

TEST_F(FraudProfilesTest, SamePrefixCallsCountARunOfOneRange) {
    make(with_profiles(std::string(kIntl) +
                       "      same_prefix_digits: 6\n      same_prefix_gap: 5m\n"
                       "      per_handset:\n        same_prefix_calls: {warning: 2, critical: 3}\n"));
    EXPECT_EQ(quick("s1", "005351234001").verdict, Verdict::accept);
    EXPECT_EQ(quick("s2", "005351234002").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 1u);
    EXPECT_EQ(quick("s3", "005351239003").verdict, Verdict::accept);   // 535123: the same first 6 digits
    EXPECT_EQ(quick("s4", "005351234004").reason, Reason::fraud_threshold);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_critical)->threshold.view(), "per_handset.same_prefix_calls");
    // Another range starts a new run; a national call in between changes nothing.
    EXPECT_EQ(quick("n1", "02079460000").verdict, Verdict::accept);
    EXPECT_EQ(quick("s5", "0025261234005").verdict, Verdict::accept);
    EXPECT_EQ(quick("s6", "005351234006").verdict, Verdict::accept);
    EXPECT_EQ(quick("s7", "005351234007").verdict, Verdict::accept);
    EXPECT_EQ(quick("s8", "005351234008").verdict, Verdict::accept);
    EXPECT_EQ(quick("s9", "005351234009").reason, Reason::fraud_threshold);
    // A pause longer than the gap ends the run.
    now_ += 6min;
    EXPECT_EQ(quick("s10", "005351234010").verdict, Verdict::accept);
}

TEST_F(FraudProfilesTest, MinutesPerDayCountAnsweredCallsRunningOrEnded) {
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        minutes_per_day: {warning: 5, critical: 10}\n"));
    now_ = Timestamp{} + 1699920000s;   // Tuesday 00:00 UTC
    EXPECT_EQ(call("t1", "0033123450001").verdict, Verdict::accept);
    answer("t1");
    advance(6min);
    // The running call's 6 minutes count: a new call warns.
    EXPECT_EQ(quick("t2", "0033123450002").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 1u);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_warning)->value, 6u);
    advance(5min);
    hang_up("t1");
    EXPECT_EQ(quick("t3", "0033123450003").reason, Reason::fraud_threshold);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_critical)->threshold.view(), "per_handset.minutes_per_day");
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_critical)->value, 11u);
    // Unanswered calls add nothing; the next day starts at zero.
    now_ += 24h;
    EXPECT_EQ(quick("t4", "0033123450004").verdict, Verdict::accept);
}

TEST_F(FraudProfilesTest, MaxCallDurationWarnsOnceThenEndsTheCallAndClosesItsPinholes) {
    make(with_profiles(std::string(kIntl) + "      max_call_duration: {warning: 10m, critical: 20m}\n"));
    EXPECT_EQ(out_sip(request("INVITE", "sip:0033123450001@pbx.example.net", "x1", "f1", "", 1,
                              sdp(kHandset, 40000)))
                  .verdict,
              Verdict::accept);
    EXPECT_EQ(in_sip(response(200, "OK", "INVITE", 1, "x1", "t1", sdp(kPbxMedia, 12000))).verdict, Verdict::accept);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    // Media flows (the RTP pinhole is verified: it does not time out idle).
    EXPECT_EQ(feed(v4udp(kPbxMedia, 12000, kHandset, 40000, rtp())).verdict, Verdict::accept_verified);
    advance(9min);
    EXPECT_EQ(warnings(), 0u);
    advance(2min);
    advance(2min);
    EXPECT_EQ(warnings(), 1u);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_warning)->threshold.view(), "max_call_duration");
    EXPECT_EQ(engine_->active_calls(), 1u);
    rec_.clear();
    advance(8min);
    EXPECT_EQ(criticals(), 1u);
    const Event* e = rec_.last(EventType::fraud_threshold_critical);
    EXPECT_EQ(e->level, 1200u);
    EXPECT_GE(e->value, 1200u);
    EXPECT_EQ(e->call_id.view(), "x1");
    ASSERT_NE(rec_.last(EventType::call_ended), nullptr);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "fraud_threshold");
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    // The RTP pinhole closed with its verified flow's kernel entry.
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 1u);
    ASSERT_EQ(rec_.effects.size(), 1u);
    EXPECT_EQ(rec_.effects[0].kind, EffectKind::close_flow);
    EXPECT_EQ(rec_.effects[0].handset_port, 40000u);
}

TEST_F(FraudProfilesTest, MonitorModeReportsButDropsNothing) {
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_day: {critical: 1}\n", "monitor"));
    EXPECT_EQ(quick("a1", "0033123450001").verdict, Verdict::accept);
    const Decision d = quick("a2", "0033123450002");
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_TRUE(d.monitored);
    EXPECT_EQ(d.reason, Reason::fraud_threshold);
    EXPECT_TRUE(rec_.last(EventType::fraud_threshold_critical)->monitor);
}

TEST_F(FraudProfilesTest, HoursLimitWhenTheLevelsApply) {
    make(with_profiles(std::string(kIntl) + "      hours: [\"sat-sun 00:00-24:00\"]\n"
                                            "      per_handset:\n        calls_per_day: {warning: 1, critical: 1}\n"));
    // Tuesday: counted, neither reported nor blocked.
    EXPECT_EQ(quick("h1", "0033123450001").verdict, Verdict::accept);
    EXPECT_EQ(quick("h2", "0033123450002").verdict, Verdict::accept);
    EXPECT_EQ(warnings() + criticals(), 0u);
    // Saturday 2023-11-18 10:00 UTC.
    now_ = Timestamp{} + 1700301600s;
    EXPECT_EQ(quick("h3", "0033123450003").verdict, Verdict::accept);
    EXPECT_EQ(warnings(), 1u);
    EXPECT_EQ(quick("h4", "0033123450004").reason, Reason::fraud_threshold);
}

TEST_F(FraudProfilesTest, PerSiteCountsEveryHandsetTogether) {
    make(with_profiles(std::string(kIntl) + "      per_site:\n        calls_per_day: {warning: 2, critical: 2}\n"));
    EXPECT_EQ(quick("p1", "0033123450001", kHandset).verdict, Verdict::accept);
    EXPECT_EQ(quick("p2", "0033123450002", kHandset2).verdict, Verdict::accept);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_warning)->threshold.view(), "per_site.calls_per_day");
    EXPECT_EQ(quick("p3", "0033123450003", "192.168.20.12").reason, Reason::fraud_threshold);
    EXPECT_EQ(rec_.last(EventType::fraud_threshold_critical)->threshold.view(), "per_site.calls_per_day");
}

TEST_F(FraudProfilesTest, ThePerHandsetCountFollowsTheDigestAccountAcrossAddresses) {
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_day: {critical: 2}\n"));
    const std::string auth = "Proxy-Authorization: Digest username=\"201\", realm=\"pbx\"\r\n";
    EXPECT_EQ(call("u1", "0033123450001", kHandset, auth).verdict, Verdict::accept);
    EXPECT_EQ(call("u2", "0033123450002", kHandset2, auth).verdict, Verdict::accept);
    EXPECT_EQ(call("u3", "0033123450003", "192.168.20.12", auth).reason, Reason::fraud_threshold);
}

TEST_F(FraudProfilesTest, RegistrationStormsAndRingGroupsCountNothing) {
    make(with_profiles(std::string(kIntl) + "    - name: national\n      prefixes: [\"0\"]\n"
                                            "      per_handset:\n        calls_per_minute: {warning: 1, critical: 1}\n"
                                            "      per_site:\n        calls_per_minute: {warning: 1, critical: 1}\n"
                                            "        concurrent_calls: {warning: 1, critical: 1}\n"));
    // Every handset registers again after a WAN outage, three times over.
    for (int round = 0; round < 3; ++round)
        for (int h = 10; h < 40; ++h) {
            const std::string ip = "192.168.20." + std::to_string(h);
            out_sip(request("REGISTER", "sip:pbx.example.net", "r" + std::to_string(h) + "-" + std::to_string(round),
                            "rf", "", static_cast<unsigned>(round + 1)),
                    ip.c_str());
        }
    // The PBX rings a group of 30 handsets for one caller from 02079460000.
    for (int h = 10; h < 40; ++h) {
        const std::string ip = "192.168.20." + std::to_string(h);
        EXPECT_EQ(in_sip(request("INVITE", "sip:2" + std::to_string(h) + "@" + ip, "ring" + std::to_string(h), "p1",
                                 "", 1, "", "PBX"),
                         ip.c_str())
                      .verdict,
                  Verdict::accept);
    }
    EXPECT_EQ(warnings() + criticals(), 0u);
    // The first outbound national call is the first the profile counts.
    EXPECT_EQ(quick("o1", "02079460000").verdict, Verdict::accept);
    // Its value 1 reaches warning 1 of per_handset.calls_per_minute,
    // per_site.calls_per_minute and per_site.concurrent_calls.
    EXPECT_EQ(warnings(), 3u);
    EXPECT_EQ(criticals(), 0u);
}

TEST_F(FraudProfilesTest, AFloodOfForgedAccountsEvictsIdleCountersNotTheFloodersOwn) {
    EngineLimits small;
    small.max_limit_keys = 16;
    make(with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_day: {critical: 30}\n"), small);
    // An idle handset's counter, then a flood of calls with a new digest
    // user name each from one handset.
    EXPECT_EQ(quick("i1", "0033123450000", kHandset2).verdict, Verdict::accept);
    int accepted = 0;
    for (int i = 0; i < 50; ++i) {
        const std::string auth = "Authorization: Digest username=\"u" + std::to_string(i) + "\"\r\n";
        const std::string id = "f" + std::to_string(i);
        const Decision d = call(id, "00331234" + std::to_string(50000 + i), kHandset, auth);
        if (d.verdict == Verdict::accept) {
            ++accepted;
            cancel(id, "x");
        }
        now_ += 1s;
    }
    // 31 (key, profile) entries in a table of 16: the idle ones went, the
    // handset's address counter stayed (each call refreshed it): 30 calls,
    // then blocks.
    EXPECT_EQ(accepted, 30);
    EXPECT_GT(rec_.count(EventType::table_eviction), 0u);
    bool named = false;
    for (const Event& e : rec_.all(EventType::table_eviction)) named = named || e.detail.view() == "fraud_counters";
    EXPECT_TRUE(named);
}

TEST_F(FraudProfilesTest, EmergencyNumbersAndExtensionsBelongToNoProfile) {
    make(with_profiles("    - name: all\n      prefixes: [\"+\", \"0\"]\n"
                       "      per_handset:\n        calls_per_day: {critical: 1}\n"));
    EXPECT_EQ(quick("e0", "02079460000").verdict, Verdict::accept);
    EXPECT_EQ(quick("e1", "999").verdict, Verdict::accept);
    EXPECT_EQ(quick("e2", "202").verdict, Verdict::accept);
    EXPECT_EQ(quick("e3", "02079460001").reason, Reason::fraud_threshold);
}

TEST_F(FraudProfilesTest, AReloadKeepsTheCountsOfProfilesByName) {
    const std::string yaml =
        with_profiles(std::string(kIntl) + "      per_handset:\n        calls_per_day: {critical: 2}\n");
    make(yaml);
    EXPECT_EQ(quick("r1", "0033123450001").verdict, Verdict::accept);
    EXPECT_EQ(quick("r2", "0033123450002").verdict, Verdict::accept);
    engine_->reload(test::compile_policy(yaml), Now::at(now_), rec_);
    EXPECT_EQ(quick("r3", "0033123450003").reason, Reason::fraud_threshold);
}

// toll_fraud.unprefixed_numbers (dialled_number.h, rule 11): in North
// America a ten-digit number dialled without the "1" is a national number.
// Read as "local" (the default) it matched neither the national profile nor a
// "+1..." deny prefix; read as national it is "+1" and its ten digits, the
// same number as "1 900 ..." and "+1 900 ...".
void swap_text(std::string& s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
}

std::string north_america(const std::string& unprefixed) {
    std::string s = with_profiles("    - name: national\n      prefixes: [\"1\"]\n"
                                  "      per_handset:\n        calls_per_day: {critical: 2}\n");
    swap_text(s, "country_code: \"44\"", "country_code: \"1\"");
    swap_text(s, "national_prefix: \"0\"", "national_prefix: \"1\"");
    swap_text(s, "international_prefix: \"00\"", "international_prefix: \"011\"");
    swap_text(s, "[\"+881\", \"+882\", \"+883\", \"09\"]", "[\"+1900\"]");
    if (!unprefixed.empty()) swap_text(s, "toll_fraud:\n", "toll_fraud:\n  unprefixed_numbers: " + unprefixed + "\n");
    return s;
}

TEST_F(FraudProfilesTest, TenDigitDiallingIsNationalWhenThePolicySaysSo) {
    make(north_america("national"));
    ASSERT_TRUE(rules_->dial_plan->unprefixed_is_national());
    EXPECT_EQ(quick("u1", "9005550123").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "deny_prefix:+1900");
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->number.view(), "+19005550123");
    // The national profile counts ten-digit calls like "1" + ten digits.
    EXPECT_EQ(quick("u2", "2015550123").verdict, Verdict::accept);
    EXPECT_EQ(quick("u3", "12015550124").verdict, Verdict::accept);
    EXPECT_EQ(quick("u4", "2015550125").reason, Reason::fraud_threshold);
}

TEST_F(FraudProfilesTest, TenDigitDiallingStaysLocalByDefault) {
    make(north_america(""));
    ASSERT_FALSE(rules_->dial_plan->unprefixed_is_national());
    EXPECT_EQ(quick("u1", "9005550123").verdict, Verdict::accept);   // "local 9005550123": no +1900
    EXPECT_EQ(quick("u2", "2015550123").verdict, Verdict::accept);
    EXPECT_EQ(quick("u3", "2015550124").verdict, Verdict::accept);
    EXPECT_EQ(quick("u4", "2015550125").verdict, Verdict::accept);   // no profile counts them
}

}  // namespace
}  // namespace vg::engine
