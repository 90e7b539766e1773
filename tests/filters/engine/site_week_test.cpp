// SPDX-License-Identifier: GPL-2.0-or-later
// A week of a 20-handset office's outbound calls, generated here (a fixed
// seed: the same week every run) and replayed through the engine with a
// fake clock, under the default destination profiles (config/REFERENCE.md,
// "Destination profiles"): Monday to Friday business hours, mostly national
// and mobile numbers, a few international ones, realistic durations; a
// quiet weekend but for a hijacked handset that dials high-risk international
// numbers back to back on Saturday night. The normal days must raise no
// warning and no block; the burst must raise a warning and then a block.
// The figures per day are printed so they can be quoted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;

constexpr const char* kPbx = "203.0.113.10";
constexpr std::int64_t kMonday = 1699833600;   // Monday 2023-11-13 00:00 UTC (= local: London, GMT)
constexpr int kHandsets = 20;
constexpr int kHijacked = 13;                  // 192.168.20.23

// A generator whose output does not depend on the standard library's
// distributions (they differ between implementations).
class Dice {
public:
    explicit Dice(std::uint32_t seed) : g_(seed) {}
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(g_() % n); }
    int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1))); }
    bool chance(int percent) { return below(100) < static_cast<std::uint32_t>(percent); }

private:
    std::mt19937 g_;
};

struct PlannedCall {
    std::int64_t start = 0;      // UTC seconds
    int handset = 0;             // 0..19
    std::string number;          // as dialled
    bool answered = false;
    int ring = 0;                // seconds before the answer or the CANCEL
    int talk = 0;                // seconds after the answer
    bool international = false;
};

std::string digits(Dice& d, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + d.below(10)));
    return s;
}

// One weekday's calls of one handset: 6 to 18 calls between 08:30 and 17:30
// (fewer at lunch), one after the other with a pause of 30 s to 40 min;
// 20 % unanswered (rings 15-30 s); talk times mostly 1-6 min, one in ten
// 10-40 min. Destinations: 55 % national geographic, 35 % mobile, 7 % the
// company's own national numbers, 3 % international (France, Germany, the US).
void plan_day(Dice& d, int handset, std::int64_t day_start, std::vector<PlannedCall>& out) {
    const int n = d.between(6, 18);
    std::int64_t t = day_start + 8 * 3600 + 30 * 60 + d.between(0, 3600);
    const std::int64_t end = day_start + 17 * 3600 + 30 * 60;
    for (int i = 0; i < n && t < end; ++i) {
        PlannedCall c;
        c.start = t;
        c.handset = handset;
        const int kind = d.between(1, 100);
        if (kind <= 55) {
            static const char* kAreas[] = {"020", "0161", "0113", "0121", "0131", "0117"};
            c.number = std::string(kAreas[d.below(6)]) + digits(d, 7);
        } else if (kind <= 90) {
            c.number = "07" + digits(d, 9);
        } else if (kind <= 97) {
            c.number = "0207946" + digits(d, 4);
        } else {
            static const char* kAbroad[] = {"0033", "0049", "001"};
            c.number = std::string(kAbroad[d.below(3)]) + digits(d, 9);
            c.international = true;
        }
        c.answered = !d.chance(20);
        c.ring = d.between(c.answered ? 3 : 15, c.answered ? 20 : 30);
        c.talk = c.answered ? (d.chance(10) ? d.between(600, 2400) : d.between(60, 360)) : 0;
        out.push_back(c);
        t += c.ring + c.talk + d.between(30, 40 * 60);
        // Lunch: fewer calls between 12:00 and 13:30.
        if (t > day_start + 12 * 3600 && t < day_start + 13 * 3600 + 1800 && d.chance(60)) t += 45 * 60;
    }
}

struct DayFigures {
    int calls = 0;          // INVITEs placed
    int accepted = 0;
    int international = 0;
    int warnings = 0;
    int blocks = 0;         // fraud_threshold_critical
    int other_drops = 0;    // toll_fraud / call_limit
};

class SiteWeekTest : public ::testing::Test {
protected:
    void SetUp() override {
        rules_ = test::compile_policy(test::site_policy());
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<Engine>(rules_);
    }
    static std::string ip(int handset) { return "192.168.20." + std::to_string(10 + handset); }
    Decision send(const std::string& from, const std::string& to, const std::string& msg) {
        const test::Bytes b = v4udp(from.c_str(), 5060, to.c_str(), 5060, msg);
        const net::DecodedPacket p = net::decode_ip(b.data(), b.size());
        return engine_->process(p, Now::at(Timestamp{} + std::chrono::seconds(now_)), rec_);
    }
    void clock_to(std::int64_t t) {
        // The daemon ticks about once a second; every 10 s is enough here.
        while (now_ + 10 < t) {
            now_ += 10;
            engine_->tick(Now::at(Timestamp{} + std::chrono::seconds(now_)), rec_);
        }
        now_ = std::max(now_, t);
        engine_->tick(Now::at(Timestamp{} + std::chrono::seconds(now_)), rec_);
    }
    int day_of(std::int64_t t) const { return static_cast<int>((t - kMonday) / 86400); }

    // Places one call at `c.start` and plays it to its end. Returns the
    // INVITE's decision.
    Decision place(const PlannedCall& c, const std::string& id) {
        clock_to(c.start);
        const std::string h = ip(c.handset);
        const std::string ruri = "sip:" + c.number + "@pbx.example.net";
        const Decision d = send(h, kPbx, request("INVITE", ruri, id, "f1", "", 1));
        if (d.verdict != Verdict::accept) return d;
        send(kPbx, h, response(180, "Ringing", "INVITE", 1, id, "t1"));
        clock_to(c.start + c.ring);
        if (!c.answered) {
            send(h, kPbx, request("CANCEL", ruri, id, "f1", "", 1));
            return d;
        }
        send(kPbx, h, response(200, "OK", "INVITE", 1, id, "t1"));
        send(h, kPbx, request("ACK", ruri, id, "f1", "t1", 1));
        clock_to(c.start + c.ring + c.talk);
        send(h, kPbx, request("BYE", ruri, id, "f1", "t1", 2));
        send(kPbx, h, response(200, "OK", "BYE", 2, id, "t1"));
        return d;
    }
    void record(DayFigures* days, std::int64_t t, const Decision& d, bool international, std::size_t w0,
                std::size_t c0) {
        DayFigures& f = days[day_of(t)];
        ++f.calls;
        if (d.verdict == Verdict::accept) ++f.accepted;
        if (international) ++f.international;
        if (d.reason == Reason::toll_fraud || d.reason == Reason::call_limit) ++f.other_drops;
        f.warnings += static_cast<int>(rec_.count(EventType::fraud_threshold_warning) - w0);
        f.blocks += static_cast<int>(rec_.count(EventType::fraud_threshold_critical) - c0);
    }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<Engine> engine_;
    test::EventRecorder rec_;
    std::int64_t now_ = kMonday;
};

TEST_F(SiteWeekTest, NormalWeekIsQuietAndTheSaturdayNightBurstIsWarnedThenBlocked) {
    Dice dice(20231113);
    std::vector<PlannedCall> plan;
    for (int day = 0; day < 5; ++day)
        for (int h = 0; h < kHandsets; ++h) plan_day(dice, h, kMonday + day * 86400, plan);
    // The weekend: a handful of calls on Saturday morning.
    for (int i = 0; i < 4; ++i) {
        PlannedCall c;
        c.start = kMonday + 5 * 86400 + 10 * 3600 + i * 1800;
        c.handset = i;
        c.number = "07" + digits(dice, 9);
        c.answered = true;
        c.ring = 8;
        c.talk = dice.between(60, 300);
        plan.push_back(c);
    }
    std::stable_sort(plan.begin(), plan.end(), [](const PlannedCall& a, const PlannedCall& b) {
        return a.start < b.start;
    });

    DayFigures days[7];
    // Calls of one handset never overlap in the plan, but calls of different
    // handsets do: play them in start order, each to its end, with the
    // clock never going back (a call's later packets come when they come).
    // To keep the engine's view honest the calls are played as a timeline of
    // packets.
    struct Step {
        std::int64_t t;
        int call;
        int what;   // 0 INVITE, 1 answer or CANCEL, 2 BYE
    };
    std::vector<Step> steps;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        steps.push_back({plan[i].start, static_cast<int>(i), 0});
        steps.push_back({plan[i].start + plan[i].ring, static_cast<int>(i), 1});
        if (plan[i].answered) steps.push_back({plan[i].start + plan[i].ring + plan[i].talk, static_cast<int>(i), 2});
    }
    std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.t < b.t; });
    std::vector<bool> live(plan.size(), false);
    for (const Step& s : steps) {
        const PlannedCall& c = plan[static_cast<std::size_t>(s.call)];
        const std::string id = "wk" + std::to_string(s.call);
        const std::string h = ip(c.handset);
        const std::string ruri = "sip:" + c.number + "@pbx.example.net";
        clock_to(s.t);
        if (s.what == 0) {
            const std::size_t w0 = rec_.count(EventType::fraud_threshold_warning);
            const std::size_t c0 = rec_.count(EventType::fraud_threshold_critical);
            const Decision d = send(h, kPbx, request("INVITE", ruri, id, "f1", "", 1));
            live[static_cast<std::size_t>(s.call)] = d.verdict == Verdict::accept;
            if (d.verdict == Verdict::accept) send(kPbx, h, response(180, "Ringing", "INVITE", 1, id, "t1"));
            record(days, s.t, d, c.international, w0, c0);
        } else if (!live[static_cast<std::size_t>(s.call)]) {
            continue;
        } else if (s.what == 1) {
            if (!c.answered) {
                send(h, kPbx, request("CANCEL", ruri, id, "f1", "", 1));
                continue;
            }
            send(kPbx, h, response(200, "OK", "INVITE", 1, id, "t1"));
            send(h, kPbx, request("ACK", ruri, id, "f1", "t1", 1));
        } else {
            send(h, kPbx, request("BYE", ruri, id, "f1", "t1", 2));
            send(kPbx, h, response(200, "OK", "BYE", 2, id, "t1"));
        }
    }

    // Saturday 23:00: the hijacked handset dials +53 5 1234 5xxx (Cuba,
    // a classic revenue-share range) back to back for two hours: each call
    // answered after 10 s and held 3 minutes, the next 5 s later; a refused
    // one is tried again 30 s later with the next number.
    const std::int64_t burst_start = kMonday + 5 * 86400 + 23 * 3600;
    const std::int64_t burst_end = burst_start + 2 * 3600;
    std::int64_t t = burst_start;
    std::int64_t first_warning = 0, first_block = 0;
    int n = 0;
    while (t < burst_end) {
        PlannedCall c;
        c.start = t;
        c.handset = kHijacked;
        char number[32];
        std::snprintf(number, sizeof number, "00535123%04d", 5000 + n);
        c.number = number;
        c.international = true;
        c.answered = true;
        c.ring = 10;
        c.talk = 180;
        const std::size_t w0 = rec_.count(EventType::fraud_threshold_warning);
        const std::size_t c0 = rec_.count(EventType::fraud_threshold_critical);
        const Decision d = place(c, "fraud" + std::to_string(n++));
        record(days, t, d, true, w0, c0);
        if (first_warning == 0 && rec_.count(EventType::fraud_threshold_warning) > w0) first_warning = t;
        if (first_block == 0 && d.reason == Reason::fraud_threshold) first_block = t;
        t = d.verdict == Verdict::accept ? now_ + 5 : t + 30;
    }
    clock_to(kMonday + 7 * 86400 - 1);

    static const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    std::printf("day  calls  accepted  international  warnings  blocks  other_drops\n");
    int international = 0;
    for (int i = 0; i < 7; ++i) {
        const DayFigures& f = days[i];
        international += f.international;
        std::printf("%s  %5d  %8d  %13d  %8d  %6d  %11d\n", kNames[i], f.calls, f.accepted, f.international, f.warnings,
                    f.blocks, f.other_drops);
    }
    std::printf("burst: first warning %+llds, first block %+llds after 23:00 Saturday\n",
                static_cast<long long>(first_warning - burst_start), static_cast<long long>(first_block - burst_start));

    // The normal week: busy, with some international calls, and quiet.
    for (int i = 0; i < 5; ++i) {
        EXPECT_GE(days[i].calls, 150) << kNames[i];
        EXPECT_EQ(days[i].warnings, 0) << kNames[i];
        EXPECT_EQ(days[i].blocks, 0) << kNames[i];
        EXPECT_EQ(days[i].other_drops, 0) << kNames[i];
        EXPECT_EQ(days[i].accepted, days[i].calls) << kNames[i];
    }
    EXPECT_GE(international - days[5].international - days[6].international, 10);
    // The burst: a warning first, then the block, both within it.
    ASSERT_NE(first_warning, 0);
    ASSERT_NE(first_block, 0);
    EXPECT_LT(first_warning, first_block);
    EXPECT_LT(first_block, burst_start + 3600);
    EXPECT_GT(days[5].blocks + days[6].blocks, 0);
}

}  // namespace
}  // namespace vg::engine
