// SPDX-License-Identifier: GPL-2.0-or-later
// The call table alone (calls.h): dialogs and the media pinholes their SDP
// opens, driven message by message through CallTable's API with a policy
// compiled from YAML and a time the test moves. What the engine decides from
// it (a pinhole lets media in, a closed one deletes the kernel's fast path, a
// full table refuses a call) is asserted here as the table's state and its
// events.
#include "filters/engine/calls.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;
using test::EventRecorder;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kPbx = "203.0.113.10";
constexpr const char* kPbxMedia = "203.0.113.70";
constexpr SipHashKey kSecret{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }

class CallsTest : public ::testing::Test {
protected:
    void SetUp() override { make(test::site_policy()); }

    void make(const std::string& yaml, std::size_t max_dialogs = 64, std::size_t max_pinholes = 256,
              const DialogKeyer& keyer = DialogKeyer(kSecret)) {
        auto rules = test::compile_policy(yaml);
        ASSERT_NE(rules, nullptr);
        calls_.reset();
        handsets_.reset();
        ctx_ = std::make_unique<EngineContext>(rules);
        toll_ = std::make_unique<TollGuard>(64);
        handsets_ = std::make_unique<HandsetInventory>(*ctx_, 64);
        calls_ = std::make_unique<CallTable>(*ctx_, *handsets_, *toll_, max_dialogs, max_pinholes, keyer);
    }

    // A request from a handset to the PBX. A new INVITE comes judged and
    // counted, as the request guard hands it over.
    bool out_request(const std::string& msg, const char* handset = kHandset) {
        const net::DecodedPacket& p = jar_.udp(handset, 5060, kPbx, 5060, msg);
        const sip::SipMessage& m = jar_.sip(p);
        InviteVerdict iv;
        if (m.method == sip::Method::invite && !m.to.has_tag) {
            iv.judged = true;
            iv.new_call = true;
            iv.counted = true;
            iv.keys.add(limit_key("address", handset));
        }
        return calls_->request(p, m, true, 0, now_, rec_, &iv);
    }
    // A request from the PBX (or forged from its address) to a handset.
    bool in_request(const std::string& msg, const char* handset = kHandset) {
        const net::DecodedPacket& p = jar_.udp(kPbx, 5060, handset, 5060, msg);
        return calls_->request(p, jar_.sip(p), false, 0, now_, rec_, nullptr);
    }
    void in_response(const std::string& msg, const char* handset = kHandset) {
        const net::DecodedPacket& p = jar_.udp(kPbx, 5060, handset, 5060, msg);
        calls_->response(p, jar_.sip(p), false, now_, rec_);
    }
    void out_response(const std::string& msg, const char* handset = kHandset) {
        const net::DecodedPacket& p = jar_.udp(handset, 5060, kPbx, 5060, msg);
        calls_->response(p, jar_.sip(p), true, now_, rec_);
    }

    // Handset `handset` calls 02079460000 offering media on `port`.
    bool call(const std::string& call_id, unsigned port = 40000, const char* handset = kHandset) {
        return out_request(request("INVITE", "sip:02079460000@pbx.example.net", call_id, "f1", "", 1,
                                   sdp(handset, port)),
                           handset);
    }
    // The PBX answers it with its media at kPbxMedia:`pbx_port`.
    void answer(const std::string& call_id, unsigned pbx_port = 12000, const char* handset = kHandset) {
        in_response(response(200, "OK", "INVITE", 1, call_id, "t1", sdp(kPbxMedia, pbx_port)), handset);
    }
    void confirmed_call(const std::string& call_id, unsigned port = 40000, const char* handset = kHandset) {
        ASSERT_TRUE(call(call_id, port, handset));
        answer(call_id, 12000, handset);
        ASSERT_NE(dialog(call_id, "f1", handset), nullptr);
        ASSERT_EQ(dialog(call_id, "f1", handset)->state, DialogState::confirmed);
    }
    // The PBX (or someone forging its address) calls `handset`.
    bool pbx_calls(const std::string& call_id, const char* handset = kHandset, const std::string& from_tag = "p1") {
        return in_request(request("INVITE", std::string("sip:201@") + handset, call_id, from_tag, "", 1,
                                  sdp(kPbxMedia, 14000)),
                          handset);
    }

    const Dialog* dialog(const std::string& call_id, const std::string& caller_tag = "f1",
                         const char* handset = kHandset) const {
        return calls_->find_dialog(call_id, caller_tag, ip(handset));
    }
    Pinhole* pinhole(unsigned port, const char* handset = kHandset) {
        return calls_->pinhole(ip(handset), static_cast<std::uint16_t>(port), now_);
    }
    // The handset ports of the pinhole events of one type, in order.
    std::multiset<unsigned> ports(EventType t) const {
        std::multiset<unsigned> out;
        for (const Event& e : rec_.all(t)) out.insert(e.handset_port);
        return out;
    }
    std::size_t ended(const std::string& detail) const {
        std::size_t n = 0;
        for (const Event& e : rec_.all(EventType::call_ended)) n += e.detail == detail;
        return n;
    }
    void advance(Duration d) {
        now_ += d;
        calls_->tick(now_, rec_);
    }

    std::unique_ptr<EngineContext> ctx_;
    std::unique_ptr<TollGuard> toll_;
    std::unique_ptr<HandsetInventory> handsets_;
    std::unique_ptr<CallTable> calls_;
    test::PacketJar jar_;
    EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 1000s;   // a monotonic clock: any origin
};

// --- an outbound call from offer to BYE ---------------------------------------

TEST_F(CallsTest, OfferOpensRtpAndRtcpPinholesAnswerNamesTheRemote) {
    ASSERT_TRUE(call("c1"));
    const Dialog* d = dialog("c1");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->state, DialogState::calling);
    EXPECT_TRUE(d->handset_is_caller);
    EXPECT_EQ(d->call_id, "c1");
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40000, 40001}));
    const Event* opened = rec_.last(EventType::pinhole_opened);
    ASSERT_NE(opened, nullptr);
    EXPECT_EQ(opened->handset, ip(kHandset));
    EXPECT_EQ(opened->call_id, "c1");
    EXPECT_EQ(opened->source, ip(kPbx));
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_FALSE(pinhole(40000)->remote_known);
    EXPECT_FALSE(pinhole(40000)->rtcp);
    EXPECT_TRUE(pinhole(40001)->rtcp);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(calls_->active_calls(), 1u);
    EXPECT_EQ(toll_->site_active_calls(), 1u);
    EXPECT_EQ(handsets_->find(ip(kHandset))->active_calls, 1u);

    in_response(response(180, "Ringing", "INVITE", 1, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::early);
    EXPECT_EQ(rec_.count(EventType::call_started), 0u);

    answer("c1", 12000);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(dialog("c1")->answered, now_);
    const Event* started = rec_.last(EventType::call_started);
    ASSERT_NE(started, nullptr);
    EXPECT_EQ(started->detail, "outbound");
    EXPECT_EQ(started->handset, ip(kHandset));
    // The PBX's SDP tells each pinhole where its media comes from.
    EXPECT_TRUE(pinhole(40000)->remote_known);
    EXPECT_EQ(pinhole(40000)->remote, ip(kPbxMedia));
    EXPECT_EQ(pinhole(40000)->remote_port, 12000);
    EXPECT_EQ(pinhole(40001)->remote_port, 12001);
    EXPECT_EQ(rec_.count(EventType::pinhole_opened), 2u);
    EXPECT_EQ(calls_->dialog_count(CallTable::kListConfirmed), 1u);
}

// A BYE ends the call on its 2xx, not when it passes: a BYE may be
// challenged, refused, or lost, and media is still in flight.
TEST_F(CallsTest, TheByesTwoHundredClosesBothPinholesWithEventsAndReleasesTheLimits) {
    confirmed_call("c1");
    rec_.clear();
    ASSERT_TRUE(out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2)));
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(calls_->active_calls(), 1u);
    in_response(response(200, "OK", "BYE", 2, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    const Event* closed = rec_.last(EventType::pinhole_closed);
    EXPECT_EQ(closed->destination, ip(kHandset));
    EXPECT_EQ(closed->protocol, net::ipproto::udp);
    EXPECT_EQ(ended("bye"), 1u);
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(calls_->active_calls(), 0u);
    EXPECT_EQ(toll_->site_active_calls(), 0u);
    EXPECT_EQ(handsets_->find(ip(kHandset))->active_calls, 0u);
    EXPECT_EQ(calls_->dialog_count(CallTable::kListConfirmed), 0u);
    // Closed, but media in flight still finds the pinhole for kMediaGrace;
    // the listing does not show it.
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(pinhole(40000)->state, Pinhole::State::lingering);
    std::size_t listed = 0;
    calls_->for_each_pinhole([&](const PinholeKey&, const Pinhole&) { ++listed; });
    EXPECT_EQ(listed, 0u);
    now_ += kMediaGrace;
    EXPECT_NE(pinhole(40000), nullptr);
    now_ += 1ms;
    EXPECT_EQ(pinhole(40000), nullptr);
    // A retransmitted BYE or 200 changes nothing.
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    in_response(response(200, "OK", "BYE", 2, "c1", "t1"));
    EXPECT_EQ(rec_.count(EventType::call_ended), 1u);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 2u);
    // The ended dialog is kept a while (late retransmissions), then goes;
    // the lingering pinholes went with the first tick after their grace.
    advance(30s);
    EXPECT_NE(dialog("c1"), nullptr);
    EXPECT_EQ(ctx_->stats.pinholes_closed, 2u);
    advance(3s);
    EXPECT_EQ(dialog("c1"), nullptr);
    EXPECT_EQ(calls_->dialog_count(), 0u);
}

TEST_F(CallsTest, ByeFromThePbxEndsTheCallOnTheHandsetsTwoHundred) {
    confirmed_call("c1");
    ASSERT_TRUE(in_request(request("BYE", "sip:201@192.168.20.10", "c1", "t1", "f1", 7)));
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    out_response(response(200, "OK", "BYE", 7, "c1", "f1", "", "", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(ended("bye"), 1u);
}

// A BYE challenged for credentials (401/407) is sent again with them: the
// call, and its audio, last until the retry's 2xx.
TEST_F(CallsTest, AChallengedByeKeepsTheCallUntilItsRetryIsAnswered) {
    confirmed_call("c1");
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    in_response(response(407, "Proxy Authentication Required", "BYE", 2, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(rec_.count(EventType::call_ended), 0u);
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3));
    in_response(response(200, "OK", "BYE", 3, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_EQ(ended("bye"), 1u);
}

// A refused BYE (481: the far end knows no such dialog) leaves the call up,
// without a timeout; the 2xx to that BYE arriving after a (forged) failure
// still ends it, so a failure cannot hold a call's pinholes open.
TEST_F(CallsTest, ARefusedByeKeepsTheCallAndALaterTwoHundredStillEndsIt) {
    confirmed_call("c1");
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    in_response(response(481, "Call/Transaction Does Not Exist", "BYE", 2, "c1", "t1"));
    advance(60s);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    in_response(response(200, "OK", "BYE", 2, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_EQ(calls_->pinhole_count(), 0u);
}

// A BYE that never gets a final response: the call ends at Timer F.
TEST_F(CallsTest, AByeWithoutAnswerEndsTheCallAfterItsTimeout) {
    confirmed_call("c1");
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    in_response(response(100, "Trying", "BYE", 2, "c1", "t1"));
    advance(kByeTimeout);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    rec_.clear();
    advance(1s);
    EXPECT_EQ(dialog("c1"), nullptr);
    EXPECT_EQ(ended("bye_timeout"), 1u);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(pinhole(40000), nullptr);   // no grace: media in flight is long gone
    EXPECT_EQ(calls_->active_calls(), 0u);
}

// Only the side the BYE went to answers it, and only that BYE's CSeq.
TEST_F(CallsTest, OnlyTheAnswerToThePendingByeEndsTheCall) {
    confirmed_call("c1");
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    out_response(response(200, "OK", "BYE", 2, "c1", "t1"));    // from the BYE's own sender
    in_response(response(200, "OK", "BYE", 1, "c1", "t1"));     // another CSeq
    in_response(response(200, "OK", "INVITE", 2, "c1", "t1"));  // another method
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    // Without a BYE, a 2xx to one ends nothing.
    confirmed_call("c2", 40010);
    in_response(response(200, "OK", "BYE", 2, "c2", "t1"));
    EXPECT_EQ(dialog("c2")->state, DialogState::confirmed);
}

// A new call on a port whose pinhole lingers after the last call's BYE
// takes it over: the old one's close was reported already.
TEST_F(CallsTest, ANewCallTakesOverAPortThatLingersAfterABye) {
    confirmed_call("c1");
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    in_response(response(200, "OK", "BYE", 2, "c1", "t1"));
    rec_.clear();
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460001@pbx.example.net", "c2", "f2", "", 1,
                                    sdp(kHandset, 40000))));
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(pinhole(40000)->state, Pinhole::State::open);
    EXPECT_EQ(pinhole(40000)->dialog, calls_->keyer()("c2", "f2", ip(kHandset)));
    advance(2s);   // the old grace is over: nothing of c2 goes
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
}

TEST_F(CallsTest, CancelEndsARingingCall) {
    ASSERT_TRUE(call("c1"));
    in_response(response(180, "Ringing", "INVITE", 1, "c1", "t1"));
    out_request(request("CANCEL", "sip:02079460000@pbx.example.net", "c1", "f1", "", 1));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_EQ(ended("cancel"), 1u);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(toll_->site_active_calls(), 0u);
}

TEST_F(CallsTest, FailureResponseEndsTheCallAndClosesItsPinholes) {
    ASSERT_TRUE(call("c1"));
    in_response(response(486, "Busy Here", "INVITE", 1, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_FALSE(dialog("c1")->challenged);
    EXPECT_EQ(ended("failure_486"), 1u);
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(calls_->active_calls(), 0u);
}

TEST_F(CallsTest, ChallengedInviteRetryIsTheSameCallCountedOnce) {
    ASSERT_TRUE(call("c1"));
    in_response(response(407, "Proxy Authentication Required", "INVITE", 1, "c1", "t1"));
    EXPECT_EQ(dialog("c1")->state, DialogState::ended);
    EXPECT_TRUE(dialog("c1")->challenged);
    // Not the end of the call: its retry follows (no VG_CALL_ENDED now).
    EXPECT_EQ(ended("failure_407"), 0u);
    // The credentialed retry: same Call-ID and From tag, CSeq 2.
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "", 2, sdp(kHandset, 40000),
                                    "Yealink SIP-T46S 66.86.0.15", "Proxy-Authorization: Digest username=\"201\"\r\n")));
    EXPECT_EQ(dialog("c1")->state, DialogState::calling);
    EXPECT_EQ(dialog("c1")->invite_cseq, 2u);
    EXPECT_EQ(ctx_->stats.dialogs_created, 1u);
    EXPECT_EQ(calls_->dialog_count(), 1u);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(calls_->active_calls(), 1u);
    EXPECT_EQ(ended("failure_407"), 0u);
}

TEST_F(CallsTest, ChallengeWithoutRetryIsLoggedWhenTheAttemptIsDropped) {
    // An attacker without the password (or a handset with a wrong one): the
    // challenge is the attempt's end, logged once the retry window passed.
    ASSERT_TRUE(call("c1"));
    in_response(response(401, "Unauthorized", "INVITE", 1, "c1", "t1"));
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(calls_->active_calls(), 0u);
    now_ += 10s;
    calls_->tick(now_, rec_);
    EXPECT_EQ(ended("failure_401"), 0u);
    now_ += 30s;
    calls_->tick(now_, rec_);
    EXPECT_EQ(ended("failure_401"), 1u);
    EXPECT_EQ(calls_->dialog_count(), 0u);
    // A retry challenged again: one VG_CALL_ENDED for the call, at the end.
    rec_.clear();
    ASSERT_TRUE(call("c2"));
    in_response(response(407, "Proxy Authentication Required", "INVITE", 1, "c2", "t1"));
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c2", "f1", "", 2, sdp(kHandset, 40000),
                                    "Yealink SIP-T46S 66.86.0.15", "Proxy-Authorization: Digest username=\"201\"\r\n")));
    in_response(response(407, "Proxy Authentication Required", "INVITE", 2, "c2", "t1"));
    now_ += 40s;
    calls_->tick(now_, rec_);
    EXPECT_EQ(ended("failure_407"), 1u);
    EXPECT_EQ(rec_.count(EventType::call_started), 0u);
}

// --- re-offers: new ports, hold ---------------------------------------------------

TEST_F(CallsTest, ReInviteWithANewPortMovesThePinhole) {
    confirmed_call("c1");
    rec_.clear();
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2,
                                    sdp(kHandset, 40100))));
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40100, 40101}));
    // The old port's pinholes are closed (reported, not listed, not
    // counted) but linger for kMediaGrace: the media server sends there
    // until the offer reaches it (RFC 3264 §8.3.1).
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(pinhole(40000)->state, Pinhole::State::lingering);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    std::size_t listed = 0;
    calls_->for_each_pinhole([&](const PinholeKey& k, const Pinhole&) { listed += k.port == 40000 || k.port == 40001; });
    EXPECT_EQ(listed, 0u);
    now_ += kMediaGrace + 1ms;
    EXPECT_EQ(pinhole(40000), nullptr);
    EXPECT_EQ(pinhole(40001), nullptr);
    ASSERT_NE(pinhole(40100), nullptr);
    // What the PBX's answer said is kept for the new port.
    EXPECT_TRUE(pinhole(40100)->remote_known);
    EXPECT_EQ(pinhole(40100)->remote_port, 12000);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(dialog("c1")->media[0].handset_rtp, 40100);
    EXPECT_EQ(calls_->active_calls(), 1u);
    EXPECT_EQ(rec_.count(EventType::call_ended), 0u);
}

// A phone that moves its media back to the port it just left, within the
// grace: the lingering pinhole is taken over, open again, counted once.
TEST_F(CallsTest, ReInviteBackToALingeringPortReopensIt) {
    confirmed_call("c1");
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 40100)));
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3, sdp(kHandset, 40000)));
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_NE(pinhole(40000)->state, Pinhole::State::lingering);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    advance(kMediaGrace + 1ms);
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(pinhole(40100), nullptr);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    EXPECT_EQ(dialog("c1")->media[0].handset_rtp, 40000);
}

TEST_F(CallsTest, ReInviteWithTheSameSdpChangesNothing) {
    confirmed_call("c1");
    rec_.clear();
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 40000)));
    EXPECT_TRUE(rec_.events.empty());
    EXPECT_EQ(calls_->pinhole_count(), 2u);
}

TEST_F(CallsTest, HoldWithSendonlyKeepsThePinholes) {
    confirmed_call("c1");
    rec_.clear();
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2,
                        sdp(kHandset, 40000, "a=sendonly\r\n")));
    EXPECT_TRUE(dialog("c1")->media[0].on_hold);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    // Off hold again.
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3, sdp(kHandset, 40000)));
    EXPECT_FALSE(dialog("c1")->media[0].on_hold);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
}

TEST_F(CallsTest, HoldWithPortZeroClosesThePinholesUntilTheNextOffer) {
    confirmed_call("c1");
    rec_.clear();
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 0)));
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3, sdp(kHandset, 40000)));
    EXPECT_EQ(calls_->pinhole_count(), 2u);
}

TEST_F(CallsTest, RtcpOffOpensOnlyTheRtpPinhole) {
    make(test::site_policy_with_media("  rtcp: false\n"));
    ASSERT_TRUE(call("c1"));
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40000}));
    EXPECT_EQ(calls_->pinhole_count(), 1u);
}

TEST_F(CallsTest, APortStillHeldByAnotherCallIsClosedBeforeItReopens) {
    confirmed_call("c1");
    rec_.clear();
    // The handset reuses port 40000 for a second call before c1's BYE.
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460001@pbx.example.net", "c2", "f2", "", 1,
                                    sdp(kHandset, 40000))));
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(pinhole(40000)->dialog, calls_->keyer()("c2", "f2", ip(kHandset)));
    // c1's BYE does not close c2's pinholes.
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    EXPECT_EQ(calls_->pinhole_count(), 2u);
}

// A handset's SDP opens pinholes on that handset only. A hijacked handset
// naming another phone's address and live media port must neither take that
// phone's pinhole over (its audio cut, the port then its own call's, open
// after the phone hangs up) nor open a port never negotiated on it (SNMP).
TEST_F(CallsTest, AHandsetsSdpOpensPinholesOnThatHandsetOnly) {
    confirmed_call("c2", 42000, kHandset2);
    const DialogKey c2 = calls_->keyer()("c2", "f1", ip(kHandset2));
    rec_.clear();
    for (unsigned port : {42000u, 161u}) {
        const std::string id = "c1-" + std::to_string(port);
        ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", id, "f1", "", 1,
                                        sdp(kHandset2, port))));
        // The pinhole is the sender's own, on the port it named.
        ASSERT_NE(pinhole(port), nullptr);
        EXPECT_EQ(pinhole(port)->dialog, calls_->keyer()(id, "f1", ip(kHandset)));
    }
    ASSERT_NE(pinhole(42000, kHandset2), nullptr);
    EXPECT_EQ(pinhole(42000, kHandset2)->dialog, c2);
    EXPECT_EQ(pinhole(161, kHandset2), nullptr);
    for (const Event& e : rec_.all(EventType::pinhole_opened)) EXPECT_EQ(e.handset, ip(kHandset));
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    // The other address family of the SDP is not taken on trust either.
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1-v6", "f1", "", 1,
                                    sdp("2001:db8:20::11", 44000, "", true))));
    EXPECT_EQ(pinhole(44000, "2001:db8:20::11"), nullptr);
    EXPECT_NE(pinhole(44000), nullptr);
}

// A handset re-offering new ports in a loop fills the pinhole table with its
// own lingering pinholes: the new ones push those out, never the pinholes
// of other calls whose media flows. With every entry carrying media, a new
// pinhole is refused, not made by closing a call's audio.
TEST_F(CallsTest, APinholeFloodNeverEvictsPinholesThatCarryMedia) {
    make(test::site_policy(), 64, 8);
    confirmed_call("c2", 42000, kHandset2);
    for (unsigned port : {42000u, 42001u}) {
        pinhole(port, kHandset2)->state = Pinhole::State::verified;
        calls_->pinhole_verified(ip(kHandset2), static_cast<std::uint16_t>(port));
    }
    confirmed_call("c1", 40000);
    rec_.clear();
    for (unsigned i = 0; i < 50; ++i)
        out_request(request("UPDATE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2 + i,
                            sdp(kHandset, 41000 + 2 * i)));
    EXPECT_GT(ctx_->stats.evictions_pinholes, 0u);
    for (unsigned port : {42000u, 42001u}) {
        ASSERT_NE(pinhole(port, kHandset2), nullptr) << port;
        EXPECT_EQ(pinhole(port, kHandset2)->state, Pinhole::State::verified);
    }
    for (const Event& e : rec_.all(EventType::pinhole_closed)) EXPECT_EQ(e.handset, ip(kHandset));
    // The last offer's pinholes are open.
    EXPECT_NE(pinhole(41000 + 2 * 49), nullptr);

    // Every entry verified: a new call's pinholes are refused, said so.
    make(test::site_policy(), 64, 4);
    confirmed_call("c2", 42000, kHandset2);
    confirmed_call("c1", 40000);
    for (const char* h : {kHandset, kHandset2})
        for (unsigned port : {40000u, 40001u, 42000u, 42001u})
            if (Pinhole* ph = pinhole(port, h)) {
                ph->state = Pinhole::State::verified;
                calls_->pinhole_verified(ip(h), static_cast<std::uint16_t>(port));
            }
    rec_.clear();
    ASSERT_TRUE(call("c3", 44000));
    EXPECT_EQ(pinhole(44000), nullptr);
    EXPECT_EQ(calls_->pinhole_count(), 4u);
    EXPECT_EQ(ctx_->stats.pinholes_refused, 2u);
    EXPECT_EQ(ctx_->stats.evictions_pinholes, 0u);
    ASSERT_NE(rec_.last(EventType::table_eviction), nullptr);
    EXPECT_EQ(rec_.last(EventType::table_eviction)->detail, "pinholes_refused");
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
}

// The answer refuses a stream (port 0, RFC 3264 §6): the pinholes the offer
// opened for it close; the accepted stream's stay.
TEST_F(CallsTest, AStreamTheAnswerRejectsLosesItsPinholes) {
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "", 1,
                                    sdp(kHandset, 40000, "m=video 40002 RTP/AVP 96\r\n"))));
    EXPECT_EQ(ports(EventType::pinhole_opened), (std::multiset<unsigned>{40000, 40001, 40002, 40003}));
    rec_.clear();
    in_response(response(200, "OK", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 12000, "m=video 0 RTP/AVP 96\r\n")));
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40002, 40003}));
    EXPECT_EQ(pinhole(40002), nullptr);
    EXPECT_EQ(pinhole(40003), nullptr);
    ASSERT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(pinhole(40000)->remote_port, 12000);
    // A later offer that wants the video again opens it again.
    out_request(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2,
                        sdp(kHandset, 40000, "m=video 40002 RTP/AVP 96\r\n")));
    EXPECT_NE(pinhole(40002), nullptr);
}

// media.strict_source_port: when a re-offer moves the PBX's media, the flows
// verified with the old endpoint lose their fast path (effects), so media
// from there reaches the engine again and is refused.
TEST_F(CallsTest, StrictSourcePortDeletesTheOldEndpointsFlowsWhenThePbxMovesTheMedia) {
    make(test::site_policy_with_media("  strict_source_port: true\n"));
    confirmed_call("c1");
    Pinhole* ph = pinhole(40000);
    ASSERT_NE(ph, nullptr);
    ph->state = Pinhole::State::verified;
    ph->note_flow(ip(kPbxMedia), 12000);
    calls_->pinhole_verified(ip(kHandset), 40000);
    rec_.clear();
    // The PBX re-INVITEs with its media on another server.
    in_request(request("INVITE", "sip:201@192.168.20.10", "c1", "t1", "f1", 9, sdp("203.0.113.71", 16000)));
    ASSERT_EQ(rec_.effects.size(), 1u);
    EXPECT_EQ(rec_.effects[0].kind, EffectKind::close_flow);
    EXPECT_EQ(rec_.effects[0].handset_port, 40000);
    EXPECT_EQ(rec_.effects[0].remote, ip(kPbxMedia));
    EXPECT_EQ(rec_.effects[0].remote_port, 12000);
    ph = pinhole(40000);
    ASSERT_NE(ph, nullptr);
    EXPECT_EQ(ph->state, Pinhole::State::open);
    EXPECT_EQ(ph->flows(), 0u);
    EXPECT_EQ(ph->remote, ip("203.0.113.71"));
    EXPECT_EQ(ph->remote_port, 16000);
    // Without strict_source_port any address of the media range may send:
    // the flows stay.
    make(test::site_policy());
    confirmed_call("c1");
    pinhole(40000)->state = Pinhole::State::verified;
    pinhole(40000)->note_flow(ip(kPbxMedia), 12000);
    rec_.clear();
    in_request(request("INVITE", "sip:201@192.168.20.10", "c1", "t1", "f1", 9, sdp("203.0.113.71", 16000)));
    EXPECT_TRUE(rec_.effects.empty());
    EXPECT_EQ(pinhole(40000)->state, Pinhole::State::verified);
}

// --- the PBX calls a handset ------------------------------------------------------

TEST_F(CallsTest, InboundCallOpensThePinholeFromTheHandsetsAnswer) {
    ASSERT_TRUE(pbx_calls("in1"));
    const Dialog* d = dialog("in1", "p1");
    ASSERT_NE(d, nullptr);
    EXPECT_FALSE(d->handset_is_caller);
    EXPECT_EQ(d->state, DialogState::calling);
    // The PBX's offer names its media; the handset's port is not known yet.
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_TRUE(d->media[0].remote_known);
    EXPECT_EQ(toll_->site_active_calls(), 0u);   // inbound calls use no handset limits

    out_response(response(180, "Ringing", "INVITE", 1, "in1", "h1", "", "", "p1"));
    EXPECT_EQ(dialog("in1", "p1")->state, DialogState::early);
    EXPECT_EQ(calls_->dialog_count(CallTable::kListAnswered), 1u);
    out_response(response(200, "OK", "INVITE", 1, "in1", "h1", sdp(kHandset, 41000), "", "p1"));
    EXPECT_EQ(dialog("in1", "p1")->state, DialogState::confirmed);
    EXPECT_EQ(rec_.last(EventType::call_started)->detail, "inbound");
    ASSERT_NE(pinhole(41000), nullptr);
    EXPECT_TRUE(pinhole(41000)->remote_known);
    EXPECT_EQ(pinhole(41000)->remote, ip(kPbxMedia));
    EXPECT_EQ(pinhole(41000)->remote_port, 14000);
    EXPECT_EQ(calls_->active_calls(), 1u);
}

// A call between two handsets of the site through a proxying PBX (Kamailio
// with rtpengine, found by the end-to-end scenario 41): the PBX keeps the
// Call-ID and the tags, so the one SIP dialog crosses the router twice, out
// from the caller and in to the callee, each leg with its own SDP (the PBX's
// media relay on each side). Each leg is a call of its handset with its own
// pinholes; with one dialog for both, the callee's answer moved the caller's
// pinholes to the callee and neither phone heard the other.
TEST_F(CallsTest, ACallBetweenTwoHandsetsThroughAProxyIsTwoLegs) {
    // 201 calls 202: the INVITE out (201's media at 40000) ...
    ASSERT_TRUE(out_request(request("INVITE", "sip:202@pbx.example.net", "hairpin", "f1", "", 1,
                                    sdp(kHandset, 40000)),
                            kHandset));
    // ... comes back in to 202 with the relay's media for 202 at 20000.
    ASSERT_TRUE(in_request(request("INVITE", "sip:202@192.168.20.11", "hairpin", "f1", "", 1,
                                   sdp(kPbxMedia, 20000)),
                           kHandset2));
    EXPECT_EQ(calls_->dialog_count(), 2u);
    out_response(response(200, "OK", "INVITE", 1, "hairpin", "t2", sdp(kHandset2, 41000)), kHandset2);
    in_response(response(200, "OK", "INVITE", 1, "hairpin", "t2", sdp(kPbxMedia, 20002)), kHandset);

    const Dialog* caller = dialog("hairpin", "f1", kHandset);
    const Dialog* callee = dialog("hairpin", "f1", kHandset2);
    ASSERT_NE(caller, nullptr);
    ASSERT_NE(callee, nullptr);
    EXPECT_TRUE(caller->handset_is_caller);
    EXPECT_FALSE(callee->handset_is_caller);
    EXPECT_EQ(caller->state, DialogState::confirmed);
    EXPECT_EQ(callee->state, DialogState::confirmed);
    EXPECT_EQ(rec_.count(EventType::call_started), 2u);
    // Each handset's pinhole expects the relay's port of its own leg.
    ASSERT_NE(pinhole(40000, kHandset), nullptr);
    EXPECT_EQ(pinhole(40000, kHandset)->remote, ip(kPbxMedia));
    EXPECT_EQ(pinhole(40000, kHandset)->remote_port, 20002);
    ASSERT_NE(pinhole(41000, kHandset2), nullptr);
    EXPECT_EQ(pinhole(41000, kHandset2)->remote, ip(kPbxMedia));
    EXPECT_EQ(pinhole(41000, kHandset2)->remote_port, 20000);
    EXPECT_EQ(calls_->pinhole_count(), 4u);

    // 202 hangs up: its BYE ends its leg on the 2xx; the caller's leg ends
    // when the PBX's BYE to 201 is answered.
    out_request(request("BYE", "sip:201@pbx.example.net", "hairpin", "t2", "f1", 2), kHandset2);
    in_response(response(200, "OK", "BYE", 2, "hairpin", "f1", "", "", "t2"), kHandset2);
    now_ += kMediaGrace + 1ms;
    EXPECT_EQ(dialog("hairpin", "f1", kHandset2)->state, DialogState::ended);
    EXPECT_EQ(dialog("hairpin", "f1", kHandset)->state, DialogState::confirmed);
    EXPECT_NE(pinhole(40000, kHandset), nullptr);
    EXPECT_EQ(pinhole(41000, kHandset2), nullptr);
    in_request(request("BYE", "sip:201@192.168.20.10", "hairpin", "t2", "f1", 2), kHandset);
    out_response(response(200, "OK", "BYE", 2, "hairpin", "f1", "", "", "t2"), kHandset);
    now_ += kMediaGrace + 1ms;
    EXPECT_EQ(dialog("hairpin", "f1", kHandset)->state, DialogState::ended);
    EXPECT_EQ(calls_->active_calls(), 0u);
}

TEST_F(CallsTest, AResponseFromTheCallersSideMovesNothingOn) {
    // INVITE and "answer" both forged from the PBX's address: the handset
    // never answered, so the dialog stays unanswered (and evictable).
    ASSERT_TRUE(pbx_calls("forged", kHandset2));
    in_response(response(180, "Ringing", "INVITE", 1, "forged", "x1", "", "", "p1"), kHandset2);
    in_response(response(200, "OK", "INVITE", 1, "forged", "x1", sdp(kPbxMedia, 14000), "", "p1"), kHandset2);
    EXPECT_EQ(dialog("forged", "p1", kHandset2)->state, DialogState::calling);
    EXPECT_EQ(rec_.count(EventType::call_started), 0u);
    EXPECT_EQ(calls_->dialog_count(CallTable::kListPending), 1u);
    // Nor does a forged failure end it.
    in_response(response(486, "Busy Here", "INVITE", 1, "forged", "x1", "", "", "p1"), kHandset2);
    EXPECT_EQ(dialog("forged", "p1", kHandset2)->state, DialogState::calling);
    // And a handset's answer to its own outbound INVITE confirms nothing.
    ASSERT_TRUE(call("out1"));
    out_response(response(200, "OK", "INVITE", 1, "out1", "t1", sdp(kHandset, 40000)));
    EXPECT_EQ(dialog("out1")->state, DialogState::calling);
}

TEST_F(CallsTest, ByeOfACallNeverSeenNamesTheHandset) {
    ASSERT_TRUE(in_request(request("BYE", "sip:201@192.168.20.10", "old-call", "t9", "f9", 5)));
    const Event* e = rec_.last(EventType::call_ended);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail, "unknown_dialog");
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->call_id, "old-call");
    EXPECT_EQ(calls_->dialog_count(), 0u);
}

// --- timeouts ---------------------------------------------------------------------

TEST_F(CallsTest, AnUnansweredInviteTimesOutAfterThreeMinutes) {
    ASSERT_TRUE(call("c1"));
    advance(179s);
    EXPECT_EQ(dialog("c1")->state, DialogState::calling);
    // (its pinholes idled out after media.idle_timeout without SIP or media)
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(ended("timeout_no_answer"), 0u);
    advance(2s);
    EXPECT_EQ(dialog("c1"), nullptr);
    EXPECT_EQ(ended("timeout_no_answer"), 1u);
    EXPECT_EQ(calls_->active_calls(), 0u);
    EXPECT_EQ(toll_->site_active_calls(), 0u);
}

TEST_F(CallsTest, ARingingInviteTimesOutWithItsPinholes) {
    ASSERT_TRUE(call("c1"));
    // Keep SIP going so the pinholes do not idle out first.
    for (int i = 0; i < 3; ++i) {
        advance(50s);
        in_response(response(180, "Ringing", "INVITE", 1, "c1", "t1"));
    }
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    rec_.clear();
    advance(181s);
    EXPECT_EQ(dialog("c1"), nullptr);
    EXPECT_EQ(ended("timeout_no_answer"), 1u);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
}

TEST_F(CallsTest, AConfirmedCallEndsAtTheMaximumDuration) {
    confirmed_call("c1");
    // Media takes the fast path: verified pinholes do not idle out.
    pinhole(40000)->state = Pinhole::State::verified;
    pinhole(40001)->state = Pinhole::State::verified;
    advance(4h);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    advance(2s);
    EXPECT_EQ(dialog("c1"), nullptr);
    EXPECT_EQ(ended("max_call_duration"), 1u);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(calls_->active_calls(), 0u);
}

TEST_F(CallsTest, APinholeWithoutMediaOrSipIdlesOutAVerifiedOneStays) {
    confirmed_call("c1");
    pinhole(40000)->state = Pinhole::State::verified;
    advance(60s);
    EXPECT_EQ(calls_->pinhole_count(), 2u);
    advance(2s);
    // The RTCP pinhole never saw a packet; RTP is on the fast path.
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40001}));
    EXPECT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
    EXPECT_EQ(calls_->active_calls(), 1u);
}

TEST_F(CallsTest, SipActivityKeepsAnUnverifiedPinholeOpen) {
    confirmed_call("c1");
    for (int i = 0; i < 5; ++i) {
        advance(40s);
        out_request(request("OPTIONS", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 10 + i));
    }
    EXPECT_EQ(calls_->pinhole_count(), 2u);
}

TEST_F(CallsTest, ReloadClosesPinholesWhoseMediaRangeIsGone) {
    confirmed_call("c1");
    rec_.clear();
    std::string yaml = test::site_policy();
    yaml.replace(yaml.find("203.0.113.64/27"), 15, "203.0.113.96/27");
    ctx_->rules = test::compile_policy(yaml);
    calls_->reload(now_, rec_);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(calls_->pinhole_count(), 0u);
    EXPECT_EQ(dialog("c1")->state, DialogState::confirmed);
}

// media.max_call_duration caps a call that is never answered too: in-dialog
// requests (or a PBX repeating its 183) refresh the no-answer timeout, and
// would otherwise keep early media open for ever.
TEST_F(CallsTest, AnUnansweredCallEndsAtTheMaximumCallDuration) {
    ASSERT_TRUE(call("c1"));
    in_response(response(183, "Session Progress", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 12000)));
    EXPECT_EQ(dialog("c1")->state, DialogState::early);
    // Early media flows (verified pinholes do not idle out).
    pinhole(40000)->state = Pinhole::State::verified;
    calls_->pinhole_verified(ip(kHandset), 40000);
    unsigned cseq = 2;
    for (Duration t{}; t < 4h - 170s; t += 170s) {
        advance(170s);
        out_request(request("INFO", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", cseq++));
    }
    ASSERT_NE(dialog("c1"), nullptr);
    EXPECT_EQ(ended("max_call_duration"), 0u);
    EXPECT_NE(pinhole(40000), nullptr);
    advance(170s);
    EXPECT_EQ(ended("max_call_duration"), 1u);
    EXPECT_EQ(pinhole(40000), nullptr);
    EXPECT_EQ(calls_->active_calls(), 0u);
}

// --- a full dialog table -------------------------------------------------------------

TEST_F(CallsTest, AFloodOfUnansweredInvitesNeverPushesOutAConfirmedCall) {
    make(test::site_policy(), 4);
    confirmed_call("live");
    const std::size_t opened = rec_.count(EventType::pinhole_opened);
    rec_.clear();
    // Unanswered INVITEs forged from the PBX's address, each a new dialog.
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(pbx_calls("flood-" + std::to_string(i), i % 2 ? kHandset : kHandset2));
    EXPECT_EQ(calls_->dialog_count(), 4u);
    EXPECT_EQ(ctx_->stats.evictions_dialogs, 7u);
    EXPECT_EQ(ctx_->stats.dialogs_refused, 0u);
    EXPECT_EQ(rec_.count(EventType::table_eviction), 7u);
    EXPECT_EQ(rec_.last(EventType::table_eviction)->detail, "dialogs");
    EXPECT_EQ(ended("evicted"), 7u);
    // The live call, its pinholes and its limits are untouched.
    ASSERT_NE(dialog("live"), nullptr);
    EXPECT_EQ(dialog("live")->state, DialogState::confirmed);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(calls_->pinhole_count(), opened);
    EXPECT_NE(pinhole(40000), nullptr);
    EXPECT_EQ(toll_->site_active_calls(), 1u);
    // The oldest flood dialogs went, the newest three are there.
    EXPECT_EQ(dialog("flood-6", "p1"), nullptr);
    EXPECT_NE(dialog("flood-7", "p1"), nullptr);
    EXPECT_NE(dialog("flood-9", "p1"), nullptr);
    EXPECT_EQ(calls_->active_calls(), 4u);
}

TEST_F(CallsTest, ARingingCallOutlivesUnansweredInvites) {
    make(test::site_policy(), 4);
    ASSERT_TRUE(pbx_calls("real", kHandset2, "r1"));
    out_response(response(180, "Ringing", "INVITE", 1, "real", "h1", "", "", "r1"), kHandset2);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(pbx_calls("flood-" + std::to_string(i)));
    ASSERT_NE(dialog("real", "r1", kHandset2), nullptr);
    EXPECT_EQ(dialog("real", "r1", kHandset2)->state, DialogState::early);
    EXPECT_EQ(ctx_->stats.evictions_dialogs, 7u);
    // Answered now: its pinhole opens, it is a call.
    out_response(response(200, "OK", "INVITE", 1, "real", "h1", sdp(kHandset2, 41000), "", "r1"), kHandset2);
    EXPECT_EQ(dialog("real", "r1", kHandset2)->state, DialogState::confirmed);
    EXPECT_NE(pinhole(41000, kHandset2), nullptr);
}

TEST_F(CallsTest, ARingingCallGoesOnlyWhenNothingUnansweredIsLeft) {
    make(test::site_policy(), 2);
    ASSERT_TRUE(call("a", 40000, kHandset));
    in_response(response(180, "Ringing", "INVITE", 1, "a", "t1"), kHandset);
    ASSERT_TRUE(call("b", 40010, kHandset2));
    in_response(response(180, "Ringing", "INVITE", 1, "b", "t1"), kHandset2);
    ASSERT_TRUE(pbx_calls("c", kHandset));
    EXPECT_EQ(dialog("a"), nullptr);   // the least recently used ringing call
    EXPECT_NE(dialog("b", "f1", kHandset2), nullptr);
    EXPECT_EQ(ended("evicted"), 1u);
    EXPECT_EQ(ports(EventType::pinhole_closed), (std::multiset<unsigned>{40000, 40001}));
    EXPECT_EQ(toll_->site_active_calls(), 1u);
}

TEST_F(CallsTest, ATableFullOfConfirmedCallsRefusesANewDialog) {
    make(test::site_policy(), 2);
    confirmed_call("one", 40000, kHandset);
    confirmed_call("two", 40010, kHandset2);
    rec_.clear();
    EXPECT_FALSE(pbx_calls("flood-0"));
    EXPECT_FALSE(call("three", 40020, kHandset));
    EXPECT_EQ(ctx_->stats.dialogs_refused, 2u);
    EXPECT_EQ(ctx_->stats.evictions_dialogs, 0u);
    EXPECT_EQ(rec_.count(EventType::table_eviction), 2u);
    EXPECT_EQ(rec_.last(EventType::table_eviction)->detail, "dialogs_refused");
    EXPECT_EQ(rec_.count(EventType::call_ended), 0u);
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(rec_.count(EventType::pinhole_opened), 0u);
    EXPECT_EQ(dialog("three"), nullptr);
    EXPECT_EQ(calls_->dialog_count(CallTable::kListConfirmed), 2u);
    EXPECT_EQ(calls_->active_calls(), 2u);
    EXPECT_EQ(toll_->site_active_calls(), 2u);
    // One call ends: its dialog is the one a new call pushes out.
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "one", "f1", "t1", 2), kHandset);
    in_response(response(200, "OK", "BYE", 2, "one", "t1"), kHandset);
    EXPECT_TRUE(call("three", 40020, kHandset));
    EXPECT_EQ(dialog("one"), nullptr);
    EXPECT_NE(dialog("three"), nullptr);
    EXPECT_EQ(dialog("two", "f1", kHandset2)->state, DialogState::confirmed);
    EXPECT_EQ(ctx_->stats.evictions_dialogs, 1u);
}

// --- dialog keys ---------------------------------------------------------------------

TEST_F(CallsTest, DialogKeysAreKeyedAndSeparateCallIdFromTag) {
    const DialogKeyer a(kSecret), b(SipHashKey{1, 2});
    const net::IpAddress h = ip(kHandset);
    EXPECT_EQ(a("call", "tag", h), a("call", "tag", h));
    EXPECT_NE(a("call", "tag", h), b("call", "tag", h));
    EXPECT_NE(a("call", "tag", h).index, b("call", "tag", h).index);
    EXPECT_NE(a("call", "tag", h).check, b("call", "tag", h).check);
    EXPECT_NE(a("ab", "c", h), a("a", "bc", h));
    EXPECT_NE(a("call", "tag", h).index, a("call", "tag", h).check);
    // The handset is part of the key: one SIP dialog, two handsets, two keys.
    EXPECT_NE(a("call", "tag", h), a("call", "tag", ip(kHandset2)));
    EXPECT_NE(a("call", "tag", h), a("call", "tag", ip("fd00:20::10")));
    // The default (all-zero) key is a key like any other; the daemon draws its own.
    EXPECT_NE(DialogKeyer()("call", "tag", h), a("call", "tag", h));
}

TEST_F(CallsTest, CallsWhoseKeysCollideInTheTableStayTwoCalls) {
    // Every dialog gets the same index: only the compared check half tells them apart.
    make(test::site_policy(), 64, 256, DialogKeyer::with_fixed_index_for_tests(kSecret, 42));
    ASSERT_TRUE(call("alpha", 40000, kHandset));
    ASSERT_TRUE(call("beta", 40010, kHandset2));
    ASSERT_EQ(calls_->keyer()("alpha", "f1", ip(kHandset)).index, calls_->keyer()("beta", "f1", ip(kHandset2)).index);
    EXPECT_EQ(calls_->dialog_count(), 2u);
    EXPECT_EQ(ctx_->stats.dialogs_created, 2u);
    EXPECT_EQ(dialog("alpha")->handset, ip(kHandset));
    EXPECT_EQ(dialog("beta", "f1", kHandset2)->handset, ip(kHandset2));
    answer("alpha", 12000, kHandset);
    EXPECT_EQ(dialog("alpha")->state, DialogState::confirmed);
    EXPECT_EQ(dialog("beta", "f1", kHandset2)->state, DialogState::calling);
    // Ending one leaves the other, pinholes included.
    out_request(request("BYE", "sip:02079460000@pbx.example.net", "beta", "f1", "t1", 2), kHandset2);
    in_response(response(200, "OK", "BYE", 2, "beta", "t1"), kHandset2);
    now_ += kMediaGrace + 1ms;
    EXPECT_EQ(dialog("beta", "f1", kHandset2)->state, DialogState::ended);
    EXPECT_EQ(dialog("alpha")->state, DialogState::confirmed);
    EXPECT_NE(pinhole(40000, kHandset), nullptr);
    EXPECT_EQ(pinhole(40010, kHandset2), nullptr);
    EXPECT_EQ(calls_->active_calls(), 1u);
}

TEST_F(CallsTest, CallIdsEqualInTheirFirst64BytesAreTwoCalls) {
    const std::string stem(64, 'x');
    ASSERT_TRUE(call(stem + "-1", 40000, kHandset));
    ASSERT_TRUE(call(stem + "-2", 40010, kHandset2));
    EXPECT_EQ(calls_->dialog_count(), 2u);
    EXPECT_EQ(dialog(stem + "-1")->call_id, stem);   // displayed truncated
    EXPECT_EQ(dialog(stem + "-2", "f1", kHandset2)->handset, ip(kHandset2));
}

TEST_F(CallsTest, ANewCallOnAnOldCallIdWithAnotherTagIsAnotherDialog) {
    confirmed_call("same");
    ASSERT_TRUE(out_request(request("INVITE", "sip:02079460001@pbx.example.net", "same", "f2", "", 1,
                                    sdp(kHandset, 40020))));
    EXPECT_EQ(calls_->dialog_count(), 2u);
    EXPECT_EQ(dialog("same", "f1")->state, DialogState::confirmed);
    EXPECT_EQ(dialog("same", "f2")->state, DialogState::calling);
}

}  // namespace
}  // namespace vg::engine
