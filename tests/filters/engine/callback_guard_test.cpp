// SPDX-License-Identifier: GPL-2.0-or-later
// Callbacks (Wangiri, filters/engine/callback_guard.h) through the whole
// engine with a fake clock: what marks a caller (a cancelled ring, a 487, a
// short answered call, From or P-Asserted-Identity) and what does not (a
// long ring, a conversation, a caller off the risk list, an exempted one),
// the callback in each dialled form, the window, warn mode, the table bound.
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

// A caller in Zimbabwe (+263) is no destination the test site denies; the
// policy makes +263 and the UK personal numbers (+4470, "070" nationally)
// risk prefixes. `callback`: more keys of toll_fraud.callback (indent 4).
std::string policy(const std::string& callback = "", const std::string& mode = "enforce",
                   const std::string& toll = "") {
    std::string s = test::site_policy(mode, "", "      calls_per_hour: 10000\n");
    s.replace(s.find("toll_fraud:\n") + 12, 0,
              toll + "  callback:\n    risk_prefixes: [\"+263\", \"070\"]\n" + callback);
    s.replace(s.find("      concurrent_calls: 2"), 25, "      concurrent_calls: 20");
    return s;
}

class CallbackTest : public ::testing::Test {
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
    Decision from_pbx(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(kPbx, 5060, handset, 5060, msg));
    }
    Decision to_pbx(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(handset, 5060, kPbx, 5060, msg));
    }
    // The PBX's INVITE to a handset from `caller` (a From user part), with
    // more headers in `extra` (a P-Asserted-Identity).
    static std::string inbound_invite(const std::string& id, const std::string& caller, const std::string& extra = "") {
        return "INVITE sip:201@192.168.20.10:5060 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK" + id + "\r\n"
               "From: <sip:" + caller + "@pbx.example.net>;tag=p1\r\n"
               "To: <sip:201@pbx.example.net>\r\n"
               "Call-ID: " + id + "\r\n"
               "CSeq: 1 INVITE\r\n"
               "Contact: <sip:pbx@203.0.113.10:5060>\r\n"
               "Max-Forwards: 70\r\n" + extra +
               "Content-Length: 0\r\n\r\n";
    }
    static std::string inbound_cancel(const std::string& id) {
        return "CANCEL sip:201@192.168.20.10:5060 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK" + id + "\r\n"
               "From: <sip:x@pbx.example.net>;tag=p1\r\n"
               "To: <sip:201@pbx.example.net>\r\n"
               "Call-ID: " + id + "\r\n"
               "CSeq: 1 CANCEL\r\n"
               "Max-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n";
    }
    static std::string inbound_bye(const std::string& id) {
        return "BYE sip:201@192.168.20.10:5060 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKbye" + id + "\r\n"
               "From: <sip:x@pbx.example.net>;tag=p1\r\n"
               "To: <sip:201@pbx.example.net>;tag=h1\r\n"
               "Call-ID: " + id + "\r\n"
               "CSeq: 2 BYE\r\n"
               "Max-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n";
    }
    // The handset rings for `ring`, then the PBX cancels (and the handset
    // answers 487).
    void one_ring(const std::string& id, const std::string& caller, Duration ring = 3s,
                  const char* handset = kHandset, const std::string& extra = "") {
        ASSERT_EQ(from_pbx(inbound_invite(id, caller, extra), handset).verdict, Verdict::accept);
        to_pbx(response(180, "Ringing", "INVITE", 1, id, "h1", "", "", "p1"), handset);
        advance(ring);
        from_pbx(inbound_cancel(id), handset);
        to_pbx(response(487, "Request Terminated", "INVITE", 1, id, "h1", "", "", "p1"), handset);
    }
    // Answered, then hung up by the PBX after `lasted`.
    void answered(const std::string& id, const std::string& caller, Duration lasted) {
        ASSERT_EQ(from_pbx(inbound_invite(id, caller)).verdict, Verdict::accept);
        to_pbx(response(180, "Ringing", "INVITE", 1, id, "h1", "", "", "p1"));
        advance(2s);
        to_pbx(response(200, "OK", "INVITE", 1, id, "h1", "", "", "p1"));
        advance(lasted);
        from_pbx(inbound_bye(id));
        to_pbx(response(200, "OK", "BYE", 2, id, "h1", "", "", "p1"));
    }
    Decision call(const std::string& id, const std::string& ruri_user, const char* handset = kHandset2) {
        return to_pbx(request("INVITE", "sip:" + ruri_user + "@pbx.example.net", id, "f1", "", 1), handset);
    }
    void advance(Duration d) {
        now_ += d;
        engine_->tick(Now::at(now_), rec_);
    }
    std::size_t marked() const { return rec_.count(EventType::callback_marked); }
    std::size_t blocked() const { return rec_.count(EventType::callback_blocked); }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<Engine> engine_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 1700000000s;
    std::vector<Bytes> packets_;
};

TEST_F(CallbackTest, ACancelledRingMarksTheCallerAndTheCallbackIsBlocked) {
    make(policy());
    one_ring("wangiri1", "+263771234567");
    ASSERT_EQ(marked(), 1u);
    const Event* m = rec_.last(EventType::callback_marked);
    EXPECT_EQ(m->number.view(), "+263771234567");
    EXPECT_EQ(m->handset, *net::IpAddress::parse(kHandset));
    EXPECT_EQ(m->rule.view(), "callback_risk:+263");
    EXPECT_EQ(m->call_id.view(), "wangiri1");
    const std::string detail(m->detail.view());
    EXPECT_EQ(detail.rfind("inbound:", 0), 0u) << detail;
    EXPECT_NE(detail.find(" cancel:3s handset:192.168.20.10"), std::string::npos) << detail;

    advance(20min);
    const Decision d = call("back1", "00263771234567");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::callback);
    ASSERT_EQ(blocked(), 1u);
    const Event* b = rec_.last(EventType::callback_blocked);
    EXPECT_EQ(b->handset, *net::IpAddress::parse(kHandset2));
    EXPECT_EQ(b->number.view(), "+263771234567");
    EXPECT_EQ(b->dialled.view(), "00263771234567");
    EXPECT_EQ(b->rule.view(), "callback:+263");
    EXPECT_EQ(b->call_id.view(), "back1");
    EXPECT_EQ(std::string(b->detail.view()), detail);   // names the inbound call (m dangles: rec_ grew)
    EXPECT_EQ(b->count, 20u * 60u);                  // seconds since it ended
    EXPECT_EQ(rec_.count(EventType::toll_fraud), 0u);
    // Another number of the same range is no callback.
    EXPECT_EQ(call("other", "00263771234568").verdict, Verdict::accept);
}

TEST_F(CallbackTest, A487WithoutTheCancelSeenMarksToo) {
    make(policy());
    ASSERT_EQ(from_pbx(inbound_invite("w487", "+263771234567")).verdict, Verdict::accept);
    advance(2s);
    to_pbx(response(487, "Request Terminated", "INVITE", 1, "w487", "h1", "", "", "p1"));
    ASSERT_EQ(marked(), 1u);
    EXPECT_NE(std::string(rec_.last(EventType::callback_marked)->detail.view()).find(" failure_487:2s "),
              std::string::npos);
    EXPECT_EQ(call("b", "+263771234567").reason, Reason::callback);
}

TEST_F(CallbackTest, ADeclinedOrLongRingDoesNotMark) {
    make(policy());
    one_ring("long", "+263771234567", 11s);   // longer than max_ring (10s)
    ASSERT_EQ(from_pbx(inbound_invite("busy", "+263771234568")).verdict, Verdict::accept);
    to_pbx(response(486, "Busy Here", "INVITE", 1, "busy", "h1", "", "", "p1"));   // the user declined
    ASSERT_EQ(from_pbx(inbound_invite("missed", "+263771234569")).verdict, Verdict::accept);
    advance(5min);   // the INVITE times out unanswered
    EXPECT_EQ(marked(), 0u);
    EXPECT_EQ(call("b1", "+263771234567").verdict, Verdict::accept);
    EXPECT_EQ(call("b2", "+263771234568").verdict, Verdict::accept);
    EXPECT_EQ(call("b3", "+263771234569").verdict, Verdict::accept);
    EXPECT_EQ(blocked(), 0u);
}

TEST_F(CallbackTest, AShortAnsweredCallMarksALongOneDoesNot) {
    make(policy());
    answered("short", "+263771234567", 4s);
    ASSERT_EQ(marked(), 1u);
    EXPECT_NE(std::string(rec_.last(EventType::callback_marked)->detail.view()).find(" answered:4s "),
              std::string::npos);
    answered("talk", "+263771234500", 6s);   // longer than short_call (5s)
    EXPECT_EQ(marked(), 1u);
    EXPECT_EQ(call("b1", "+263771234567").reason, Reason::callback);
    EXPECT_EQ(call("b2", "+263771234500").verdict, Verdict::accept);
}

TEST_F(CallbackTest, ShortCallsOffMarkNoAnsweredCall) {
    make(policy("    short_call: 0s\n"));
    answered("short", "+263771234567", 1s);
    EXPECT_EQ(marked(), 0u);
}

TEST_F(CallbackTest, ACallerOffTheRiskListIsNotMarked) {
    make(policy());
    one_ring("fr", "+33123456789");
    one_ring("uk", "02079460000");
    one_ring("ext", "202");
    one_ring("name", "anonymous");
    EXPECT_EQ(marked(), 0u);
    EXPECT_EQ(call("b1", "0033123456789").verdict, Verdict::accept);
    EXPECT_EQ(call("b2", "02079460000").verdict, Verdict::accept);
}

TEST_F(CallbackTest, TheAssertedIdentityMarksToo) {
    make(policy());
    one_ring("pai", "anonymous", 3s, kHandset, "P-Asserted-Identity: <sip:+263771234567@trunk.example>, <tel:+263771234599>\r\n");
    EXPECT_EQ(marked(), 2u);
    EXPECT_EQ(call("b1", "+263771234567").reason, Reason::callback);
    EXPECT_EQ(call("b2", "00263771234599").reason, Reason::callback);
}

TEST_F(CallbackTest, TheCallbackIsBlockedInEveryDialledForm) {
    make(policy());
    one_ring("w1", "00263771234567");          // the caller ID with the international prefix
    one_ring("w2", "+447012345678");           // a UK personal number, risk as "070"
    ASSERT_EQ(marked(), 2u);
    for (const char* dialled : {"+263771234567", "00263771234567", "%2B263771234567", "00263-77-123-4567",
                                "00263771234567%23"}) {
        rec_.clear();
        const Decision d = call(std::string("b") + dialled, dialled);
        EXPECT_EQ(d.reason, Reason::callback) << dialled;
        EXPECT_EQ(blocked(), 1u) << dialled;
    }
    for (const char* dialled : {"07012345678", "+447012345678", "00447012345678"}) {
        rec_.clear();
        EXPECT_EQ(call(std::string("n") + dialled, dialled).reason, Reason::callback) << dialled;
    }
    // A tel: Request-URI.
    rec_.clear();
    EXPECT_EQ(to_pbx(request("INVITE", "tel:+263771234567", "tel1", "f1", "", 1), kHandset2).reason,
              Reason::callback);
}

TEST_F(CallbackTest, AfterTheWindowTheCallbackIsAllowed) {
    make(policy("    window: 1h\n"));
    one_ring("w", "+263771234567");
    advance(59min);
    EXPECT_EQ(call("b1", "+263771234567").reason, Reason::callback);
    advance(1min + 1s);
    rec_.clear();
    EXPECT_EQ(call("b2", "+263771234567").verdict, Verdict::accept);
    EXPECT_EQ(blocked(), 0u);
    EXPECT_EQ(engine_->rules().p().toll_fraud.callback.window, std::chrono::seconds(3600));
}

TEST_F(CallbackTest, TheDefaultWindowIsThreeDays) {
    make(policy());
    one_ring("w", "+263771234567");
    advance(72h - 1min);
    EXPECT_EQ(call("b1", "+263771234567").reason, Reason::callback);
    advance(2min);
    EXPECT_EQ(call("b2", "+263771234567").verdict, Verdict::accept);
}

TEST_F(CallbackTest, WarnModeReportsAndLetsTheCallThrough) {
    make(policy("    action: warn\n"));
    one_ring("w", "+263771234567");
    const Decision d = call("b1", "00263771234567");
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(blocked(), 0u);
    ASSERT_EQ(rec_.count(EventType::callback_warning), 1u);
    EXPECT_EQ(rec_.last(EventType::callback_warning)->rule.view(), "callback:+263");
    // Warned, then judged by the other rules: a denied number is still denied.
    one_ring("w2", "+88212345678");
    rec_.clear();
    EXPECT_EQ(call("b2", "+88212345678").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.count(EventType::callback_warning), 1u);
}

TEST_F(CallbackTest, TheBuiltInListMarksEvenWhenNotDenied) {
    // +882 is a built-in high-risk range: a risk prefix by default even when
    // the deny list leaves it out; the callback check names the inbound call.
    std::string yaml = policy("", "enforce", "  deny_builtin: false\n");
    yaml.replace(yaml.find("\"+881\", \"+882\", \"+883\", "), 24, "");
    make(yaml);
    EXPECT_EQ(call("before", "+88216123456").verdict, Verdict::accept);
    one_ring("w", "+88216123456");
    EXPECT_EQ(call("after", "+88216123456").reason, Reason::callback);
    // risk_builtin: false takes it off the list.
    yaml.replace(yaml.find("  callback:\n") + 12, 0, "    risk_builtin: false\n");
    make(yaml);
    one_ring("w", "+88216123456");
    EXPECT_EQ(marked(), 0u);
}

TEST_F(CallbackTest, AnAllowPrefixExemptsAPartner) {
    make(policy("", "enforce", "  allow_prefixes: [\"+26377123\"]\n"));
    one_ring("partner", "+263771234567");
    EXPECT_EQ(marked(), 0u);
    EXPECT_EQ(call("b", "+263771234567").verdict, Verdict::accept);
}

TEST_F(CallbackTest, DisabledMarksNothing) {
    make(policy("    enabled: false\n"));
    one_ring("w", "+263771234567");
    EXPECT_EQ(marked(), 0u);
    EXPECT_EQ(call("b", "+263771234567").verdict, Verdict::accept);
}

TEST_F(CallbackTest, MonitorModeOnlyReports) {
    make(policy("", "monitor"));
    one_ring("w", "+263771234567");
    const Decision d = call("b", "+263771234567");
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_TRUE(d.monitored);
    EXPECT_EQ(d.reason, Reason::callback);
    EXPECT_EQ(blocked(), 1u);
}

TEST_F(CallbackTest, TheTableIsBoundedAndAFloodDoesNotPushOutANumberCalledBack) {
    EngineLimits limits;
    limits.max_callback_marks = 16;
    make(policy(), limits);
    one_ring("bait", "+263770000000");
    EXPECT_EQ(call("tried", "+263770000000").reason, Reason::callback);   // a victim tried once
    one_ring("old", "+263770000001");                                     // not called back yet
    for (int i = 0; i < 40; ++i) one_ring("flood" + std::to_string(i), "+26378000" + std::to_string(1000 + i));
    const CallbackGuard& g = engine_->callback_marks();
    EXPECT_EQ(g.size(), 16u);
    EXPECT_EQ(g.evictions(), 42u - 16u);
    std::size_t eviction_events = 0;
    for (const Event& e : rec_.all(EventType::table_eviction)) eviction_events += e.detail.view() == "callback_marks";
    EXPECT_EQ(eviction_events, 42u - 16u);
    // The number a handset already tried to call back is still marked; the
    // oldest unreturned one went first; the newest flood numbers are there.
    EXPECT_EQ(call("again", "+263770000000").reason, Reason::callback);
    EXPECT_EQ(call("old", "+263770000001").verdict, Verdict::accept);
    EXPECT_EQ(call("new", "+263780001039").reason, Reason::callback);
}

TEST_F(CallbackTest, ARingGroupCancelledTogetherMarksOnce) {
    make(policy());
    for (const char* h : {kHandset, kHandset2, "192.168.20.12"})
        ASSERT_EQ(from_pbx(inbound_invite("group", "+263771234567"), h).verdict, Verdict::accept);
    advance(2s);
    for (const char* h : {kHandset, kHandset2, "192.168.20.12"}) from_pbx(inbound_cancel("group"), h);
    EXPECT_EQ(marked(), 1u);
    EXPECT_EQ(engine_->callback_marks().size(), 1u);
    // The same number ringing once more, later, is a new mark (a new window).
    advance(1min);
    one_ring("again", "+263771234567");
    EXPECT_EQ(marked(), 2u);
}

TEST_F(CallbackTest, TheTableCostsItsEntriesOnly) {
    make(policy());
    const CallbackGuard& g = engine_->callback_marks();
    EXPECT_EQ(g.capacity(), EngineLimits{}.max_callback_marks);
    EXPECT_LE(g.memory_bytes(), g.capacity() * 160u) << g.memory_bytes() / g.capacity() << " bytes an entry";
}

TEST_F(CallbackTest, MarkingAgainRestartsTheWindow) {
    make(policy("    window: 1h\n"));
    one_ring("w1", "+263771234567");
    advance(50min);
    one_ring("w2", "+263771234567");
    advance(50min);
    EXPECT_EQ(call("b", "+263771234567").reason, Reason::callback);
    EXPECT_EQ(engine_->callback_marks().size(), 1u);
}

TEST_F(CallbackTest, ExpiredMarksLeaveTheTable) {
    make(policy("    window: 1h\n"));
    one_ring("w1", "+263771234567");
    EXPECT_EQ(engine_->callback_marks().size(), 1u);
    advance(1h + 1min);
    EXPECT_EQ(engine_->callback_marks().size(), 0u);
}

}  // namespace
}  // namespace vg::engine
