// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard (toll_guard.h) and the request guard that feeds it
// (request_guard.h), through their own APIs with the test site's policy (deny
// +881, +882, +883, 09; UK dial plan) and an injected clock.
//
// Most cases are dial strings no handset ever sends but an attacker does: a
// PBX's SIP stack and voipguard must not read them differently. Where the
// guard cannot know what a PBX makes of a dial string (a malformed %-escape,
// an escaped '%', bytes that are not UTF-8, a digit outside ASCII), it fails
// closed: the message is dropped as toll fraud and the rule says why
// ("unreadable:CAUSE").
#include "filters/engine/request_guard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "filters/engine/handsets.h"
#include "filters/engine/sip_content.h"
#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using test::EventRecorder;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kPbx = "203.0.113.10";

class GuardTest : public ::testing::Test {
protected:
    void SetUp() override { make(test::site_policy()); }

    void make(const std::string& yaml) {
        rules_ = test::compile_policy(yaml);
        ASSERT_NE(rules_, nullptr);
        guard_.reset();
        calls_.reset();
        handsets_.reset();
        ctx_ = std::make_unique<EngineContext>(rules_);
        toll_ = std::make_unique<TollGuard>(64);
        handsets_ = std::make_unique<HandsetInventory>(*ctx_, 64);
        calls_ = std::make_unique<CallTable>(*ctx_, *handsets_, *toll_, 64, 256);
        guard_ = std::make_unique<RequestGuard>(*ctx_, *toll_, *calls_);
    }

    TollDecision judge(const std::string& dial_string) const {
        return toll_->judge(dial_string, *rules_, Now::at(now_).wall);
    }

    // A request from the handset to the PBX, through the request guard.
    Decision request(const std::string& msg) {
        const net::DecodedPacket& p = jar_.udp(kHandset, 5060, kPbx, 5060, msg);
        InviteVerdict iv;
        return guard_->request(p, jar_.sip(p), Now::at(now_), rec_, iv);
    }
    // A 3xx from the handset answering the PBX's INVITE.
    Decision redirect(const std::string& msg) {
        const net::DecodedPacket& p = jar_.udp(kHandset, 5060, kPbx, 5060, msg);
        return guard_->redirect(p, jar_.sip(p), Now::at(now_), rec_);
    }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<EngineContext> ctx_;
    std::unique_ptr<TollGuard> toll_;
    std::unique_ptr<HandsetInventory> handsets_;
    std::unique_ptr<CallTable> calls_;
    std::unique_ptr<RequestGuard> guard_;
    test::PacketJar jar_;
    EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 1000s;
};

std::string rule_of(const TollDecision& d) { return std::string(d.rule.view()); }

// ---------------------------------------------------------------------------
// Dial strings: what a PBX's stack may read in them

// libosip2 unescapes a user part up to a malformed escape and ends the string
// there (so "%2B881234567%%" dials +881234567); another stack may keep the
// '%', drop it, decode "%2G" as 0x02 then "G" (sscanf "%02X"), or refuse the
// message. The guard cannot tell which, so every malformed escape is denied,
// even after a number it would allow.
TEST_F(GuardTest, AMalformedEscapeAnywhereInADialStringIsDenied) {
    for (const char* s : {"%2B881234567%%",      // the differential finding
                          "%2B442079460000%%",   // an allowed number before it
                          "02079460000%",        // '%' at the end
                          "02079460000%2",       // an escape cut short
                          "0207946%2G0000",      // a non-hex second digit
                          "0207946%G20000",      // a non-hex first digit
                          "%%02079460000",       // before the number
                          "0207946% 30000",      // a space where the hex goes
                          "0207946%+30000",      // a sign (sscanf reads "%+3" as 3)
                          "tel:+442079460000%",  // in a tel: number
                          "%u002B442079460000",  // IIS-style %uXXXX: '+' to some decoders
                          "%"}) {
        const TollDecision d = judge(s);
        EXPECT_TRUE(d.blocked) << s;
        EXPECT_EQ(d.reason, Reason::toll_fraud) << s;
        EXPECT_EQ(d.event, EventType::toll_fraud) << s;
        EXPECT_TRUE(rule_of(d) == "unreadable:malformed_escape" || rule_of(d).rfind("deny_prefix:", 0) == 0)
            << s << ": " << rule_of(d);
    }
    // An allowed number with a malformed escape says why it was denied.
    EXPECT_EQ(rule_of(judge("02079460000%2")), "unreadable:malformed_escape");
}

// The number before the malformed escape is what libosip2 dials: when the
// policy denies it, that is the rule the log names.
TEST_F(GuardTest, TheNumberBeforeAMalformedEscapeIsJudged) {
    const TollDecision d = judge("%2B881234567%%");
    ASSERT_TRUE(d.blocked);
    EXPECT_EQ(rule_of(d), "deny_prefix:+881");
    EXPECT_EQ(d.number.view(), "+881234567");
}

// A malformed escape far into a long dial string, past what is decoded.
TEST_F(GuardTest, AMalformedEscapeAfterTheDecodedPartIsStillSeen) {
    const TollDecision d = judge("02079460000" + std::string(200, '0') + "%");
    EXPECT_TRUE(d.blocked);
}

// More than the guard reads: fuzz_differential_osip found a Refer-To
// "0" + 135 '(' + "0881234567", which libosip2 (and normalise_number, which
// drops visual separators) reads as +881234567, while the guard read only
// its first bytes, "0((((...". Past the buffer, the string is denied.
TEST_F(GuardTest, ADialStringLongerThanTheGuardReadsIsDenied) {
    const TollDecision d = judge("0" + std::string(300, '(') + "0881234567");
    EXPECT_TRUE(d.blocked);
    EXPECT_EQ(rule_of(d), "unreadable:too_long");
    // Within what is read, the separators are read through.
    EXPECT_EQ(rule_of(judge("0" + std::string(200, '(') + "0881234567")), "deny_prefix:+881");
    EXPECT_FALSE(judge("0207946" + std::string(200, '-') + "0000").blocked);
}

// Hex digits in either case decode alike (RFC 3986 §2.1).
TEST_F(GuardTest, EscapesDecodeInEitherCase) {
    for (const char* s : {"%2B88216000101", "%2b88216000101", "%30%30%38%38%32%31%36%30%30%30%31%30%31",
                          "0088216%3a000101", "%2b%38%38216000101"}) {
        const TollDecision d = judge(s);
        EXPECT_TRUE(d.blocked) << s;
        EXPECT_EQ(rule_of(d), "deny_prefix:+882") << s;
    }
    EXPECT_FALSE(judge("%2b442079460000").blocked);
    EXPECT_FALSE(judge("%2B442079460000").blocked);
}

// "%25" is an escaped '%': a PBX that unescapes twice (a stack, then a dial
// plan function) reads "%2B88..." as +88....
TEST_F(GuardTest, AnEscapedPercentIsDenied) {
    for (const char* s : {"%252B88216000101", "%25252B88216000101", "02079460000%25", "%2530%2530882"}) {
        const TollDecision d = judge(s);
        EXPECT_TRUE(d.blocked) << s;
        EXPECT_EQ(rule_of(d), "unreadable:escaped_percent") << s;
    }
}

// Bytes that are not UTF-8 decode to different text in different stacks: an
// overlong form of '0' (C0 B0, E0 80 B0, F0 80 80 B0) is '0' to a lenient
// decoder, a replacement character or an error to a strict one.
TEST_F(GuardTest, BytesThatAreNotUtf8AreDenied) {
    for (const char* s : {"%C0%B0%C0%B088216000101",  // overlong '0', two bytes
                          "%E0%80%B0%E0%80%B088216000101",  // three bytes
                          "%F0%80%80%B0088216000101",  // four bytes
                          "%C0%AB88216000101",   // overlong '+'
                          "%C1%B1",              // C1 lead: overlong, no digit in sight
                          "0207946%80",          // a stray continuation byte
                          "02079460000%C3",      // a sequence cut short
                          "%ED%A0%80201",        // a UTF-16 surrogate
                          "%F4%90%80%80201",     // above U+10FFFF
                          "%FF201"}) {
        const TollDecision d = judge(s);
        EXPECT_TRUE(d.blocked) << s;
        EXPECT_EQ(rule_of(d), "unreadable:invalid_utf8") << s;
    }
}

// Decimal digits of other scripts are digits to Unicode-aware code
// (Character.isDigit, int() in Python, \d in many regex engines): a PBX
// that normalises them dials the ASCII number.
TEST_F(GuardTest, DigitsOutsideAsciiAreDenied) {
    for (const char* s : {
             // fullwidth "00882 16000101", no ASCII digit at all
             "%EF%BC%90%EF%BC%90%EF%BC%98%EF%BC%98%EF%BC%92%EF%BC%91%EF%BC%96%EF%BC%90%EF%BC%90%EF%BC%90%EF%BC%91",
             "%EF%BC%8B88216000101",   // fullwidth plus sign
             "00%D9%A8%D9%A816000101", // Arabic-Indic eights in "00882..."
             "0088%E0%A5%A8",          // a Devanagari two
             "%F0%9D%9F%8E",           // MATHEMATICAL BOLD DIGIT ZERO (U+1D7CE)
         }) {
        const TollDecision d = judge(s);
        EXPECT_TRUE(d.blocked) << s;
        EXPECT_EQ(rule_of(d), "unreadable:non_ascii_digit") << s;
    }
}

// What a handset really sends still passes: names in UTF-8, an extension,
// an allowed number, an emergency number, an escaped '#' terminator.
TEST_F(GuardTest, OrdinaryDialStringsStillPass) {
    for (const char* s : {"m%C3%BCller", "%E6%9D%B1%E4%BA%AC", "reception", "201", "02079460000", "+442079460000",
                          "%2B442079460000", "999", "112", "02079460000%23", "tel:+44-20-7946-0000"})
        EXPECT_FALSE(judge(s).blocked) << s << ": " << rule_of(judge(s));
}

// An escaped NUL stays a reading of its own (what precedes it), not a doubt.
TEST_F(GuardTest, AnEscapedNulKeepsItsReading) {
    EXPECT_TRUE(judge("0088216000101%00x").blocked);
    EXPECT_EQ(rule_of(judge("0088216000101%00x")), "deny_prefix:+882");
    EXPECT_FALSE(judge("02079460000%00").blocked);
}

// ---------------------------------------------------------------------------
// Every place a PBX takes a number from

// What a lenient stack reads in a name-addr or URI the parser refused.
TEST(LenientTarget, FindsTheUserPartAStackWouldDial) {
    EXPECT_EQ(lenient_target("<sip:%2B881234567%%@203.0.113.10>"), "%2B881234567%%");
    EXPECT_EQ(lenient_target("\"Bob\" <SIPS:0088216000101:pw@pbx.example;x=%%>;tag=1"), "0088216000101");
    EXPECT_EQ(lenient_target("M\xc3\xbcller <sip:201@pbx.example>"), "201");
    EXPECT_EQ(lenient_target("<  sip:0088216000101@pbx"), "0088216000101");
    EXPECT_EQ(lenient_target("sip:0088216000101%@pbx.example"), "0088216000101%");
    EXPECT_EQ(lenient_target("<tel:+88216000101%;phone-context=x>"), "+88216000101%");
    EXPECT_EQ(lenient_target("<sip:pbx.example%%>"), "");   // a host, no user
    EXPECT_EQ(lenient_target("0088216000101%%"), "0088216000101%%");   // no scheme: as written
}

const char* kReferMalformed =
    "REFER sip:pbx@203.0.113.10 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-r1\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:201@203.0.113.10>;tag=h201\r\n"
    "To: <sip:pbx@203.0.113.10>\r\n"
    "Call-ID: refer-1@192.168.20.10\r\n"
    "CSeq: 1 REFER\r\n"
    "Contact: <sip:201@192.168.20.10:5060>\r\n"
    "Refer-To: <sip:%2B881234567%%@203.0.113.10>\r\n"
    "Content-Length: 0\r\n\r\n";

TEST_F(GuardTest, AReferToWithAMalformedEscapeIsDropped) {
    const Decision d = request(kReferMalformed);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
    const Event* e = rec_.last(EventType::toll_fraud);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->method, "REFER");
    EXPECT_EQ(e->number, "+881234567");
}

TEST_F(GuardTest, AReferToWithAMalformedEscapeAfterAnAllowedNumberIsDropped) {
    std::string msg = kReferMalformed;
    msg.replace(msg.find("%2B881234567%%"), 14, "02079460000%2");
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
    const Event* e = rec_.last(EventType::toll_fraud);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->rule, "unreadable:malformed_escape");
}

// RFC 3515 allows one Refer-To; a PBX that gets several may act on any of
// them (the last, say). Every one is judged, however many there are.
TEST_F(GuardTest, EveryReferToIsJudgedHoweverMany) {
    std::string many;
    for (int i = 0; i < 24; ++i) many += "Refer-To: <sip:0207946" + std::to_string(1000 + i) + "@203.0.113.10>\r\n";
    std::string msg = kReferMalformed;
    const std::size_t at = msg.find("Refer-To:");
    msg.replace(at, msg.find("\r\n", at) + 2 - at, many + "Refer-To: <sip:0088216000101@203.0.113.10>\r\n");
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
    // The same number of allowed ones passes.
    msg = kReferMalformed;
    msg.replace(at, msg.find("\r\n", at) + 2 - at, many);
    EXPECT_EQ(request(msg).verdict, Verdict::accept);
}

TEST_F(GuardTest, ARedirectContactWithAMalformedEscapeIsDropped) {
    const std::string msg =
        "SIP/2.0 302 Moved Temporarily\r\n"
        "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-pbx-1\r\n"
        "From: <sip:+442079460000@203.0.113.10>;tag=p1\r\n"
        "To: <sip:201@203.0.113.10>;tag=h9\r\n"
        "Call-ID: in-1@203.0.113.10\r\n"
        "CSeq: 7 INVITE\r\n"
        "Contact: <sip:%2B881234567%%@203.0.113.10>\r\n"
        "Content-Length: 0\r\n\r\n";
    const Decision d = redirect(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

// A number only in To (the Request-URI has no user): some PBXs route by To.
TEST_F(GuardTest, AnInviteWhoseToHasAMalformedEscapeIsDropped) {
    const std::string msg =
        "INVITE sip:203.0.113.10 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-i1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: <sip:%2B881234567%%@203.0.113.10>\r\n"
        "Call-ID: to-1@192.168.20.10\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:201@192.168.20.10:5060>\r\n"
        "Content-Length: 0\r\n\r\n";
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

// An unquoted UTF-8 display name makes To unparsable; the number in it is
// still what is judged, so an ordinary call passes.
TEST_F(GuardTest, AnUnparsableToIsJudgedByItsUserPart) {
    const std::string msg =
        "INVITE sip:02079460000@203.0.113.10 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-u1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: M\xc3\xbcller <sip:02079460000@203.0.113.10>\r\n"
        "Call-ID: utf8-1@192.168.20.10\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:201@192.168.20.10:5060>\r\n"
        "Content-Length: 0\r\n\r\n";
    const net::DecodedPacket& p = jar_.udp(kHandset, 5060, kPbx, 5060, msg);
    const sip::SipMessage& m = jar_.sip(p);
    ASSERT_FALSE(m.to.uri.valid);   // else this test proves nothing
    InviteVerdict iv;
    EXPECT_EQ(guard_->request(p, m, Now::at(now_), rec_, iv).verdict, Verdict::accept);
    std::string denied = msg;
    denied.replace(denied.find("<sip:02079460000@"), 17, "<sip:0088216000101@");
    EXPECT_EQ(request(denied).verdict, Verdict::drop);
}

// Two To headers (the parser keeps the first, a PBX may take the last): each
// is judged, in an INVITE as in a MESSAGE.
TEST_F(GuardTest, EveryToIsJudged) {
    for (const char* method : {"INVITE", "MESSAGE"}) {
        const std::string msg = std::string(method) +
                                " sip:203.0.113.10 SIP/2.0\r\n"
                                "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-d1\r\n"
                                "Max-Forwards: 70\r\n"
                                "From: <sip:201@203.0.113.10>;tag=h201\r\n"
                                "To: <sip:02079460000@203.0.113.10>\r\n"
                                "To: <sip:0088216000101@203.0.113.10>\r\n"
                                "Call-ID: two-to-" + method + "@192.168.20.10\r\n"
                                "CSeq: 1 " + method + "\r\n"
                                "Contact: <sip:201@192.168.20.10:5060>\r\n"
                                "Content-Length: 0\r\n\r\n";
        const Decision d = request(msg);
        EXPECT_EQ(d.verdict, Verdict::drop) << method;
        EXPECT_EQ(d.reason, Reason::toll_fraud) << method;
    }
}

// A tel: Request-URI parses whatever its number holds.
TEST_F(GuardTest, ATelRequestUriWithAMalformedEscapeIsDropped) {
    const std::string msg =
        "INVITE tel:%2B881234567%% SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-t1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: <tel:%2B881234567%%>\r\n"
        "Call-ID: tel-1@192.168.20.10\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:201@192.168.20.10:5060>\r\n"
        "Content-Length: 0\r\n\r\n";
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

// A REGISTER binding the handset's AOR to a number elsewhere: the PBX forks
// the handset's calls there. A Contact that does not parse is judged as
// written, like a Refer-To.
TEST_F(GuardTest, ARegisterContactWithAMalformedEscapeIsDropped) {
    const std::string msg =
        "REGISTER sip:203.0.113.10 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-g1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: <sip:201@203.0.113.10>\r\n"
        "Call-ID: reg-1@192.168.20.10\r\n"
        "CSeq: 1 REGISTER\r\n"
        "Contact: <sip:%2B881234567%%@203.0.113.10>\r\n"
        "Content-Length: 0\r\n\r\n";
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

// A MESSAGE to a number (premium SMS) addressed in To only.
TEST_F(GuardTest, AMessageWhoseToHasAMalformedEscapeIsDropped) {
    const std::string msg =
        "MESSAGE sip:203.0.113.10 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-m1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: <sip:%2B881234567%%@203.0.113.10>\r\n"
        "Call-ID: msg-1@192.168.20.10\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 3\r\n\r\nwin";
    const Decision d = request(msg);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

// The same places with ordinary targets pass.
TEST_F(GuardTest, OrdinaryTargetsInTheSamePlacesPass) {
    std::string refer = kReferMalformed;
    refer.replace(refer.find("%2B881234567%%"), 14, "%2B442079460000");
    EXPECT_EQ(request(refer).verdict, Verdict::accept);
    const std::string reg =
        "REGISTER sip:203.0.113.10 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-g2\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:201@203.0.113.10>;tag=h201\r\n"
        "To: <sip:201@203.0.113.10>\r\n"
        "Call-ID: reg-2@192.168.20.10\r\n"
        "CSeq: 1 REGISTER\r\n"
        "Contact: <sip:201@192.168.20.10:5060>;expires=300\r\n"
        "Content-Length: 0\r\n\r\n";
    EXPECT_EQ(request(reg).verdict, Verdict::accept);
    EXPECT_EQ(rec_.count(EventType::toll_fraud), 0u);
}

// Every Digest credential of an INVITE counts against its user's budgets,
// not only the first: a decoy Proxy-Authorization before the real one, from
// a new address each call, left the real user's hourly budget untouched.
// More credentials than the guard keeps are refused.
TEST_F(GuardTest, EveryDigestCredentialCountsAndTooManyAreRefused) {
    make(test::site_policy("enforce", "", "      calls_per_hour: 2\n"));
    auto invite = [&](int i, int credentials) {
        std::string auth;
        for (int c = 0; c + 1 < credentials; ++c)
            auth += "Proxy-Authorization: Digest username=\"decoy" + std::to_string(i) + "-" + std::to_string(c) +
                    "\", realm=\"decoy\", nonce=\"n\", uri=\"sip:pbx.example.net\", response=\"0\"\r\n";
        auth += "Proxy-Authorization: Digest username=\"201\", realm=\"pbx.example.net\", nonce=\"n\", "
                "uri=\"sip:pbx.example.net\", response=\"0\"\r\n";
        const std::string src = "192.168.20." + std::to_string(100 + i);
        const net::DecodedPacket& p =
            jar_.udp(src.c_str(), 5060, kPbx, 5060,
                     test::sip_packets::request("INVITE", "sip:02079460" + std::to_string(100 + i) + "@pbx.example.net",
                                                "cred-" + std::to_string(i), "f1", "", 1, "",
                                                "Yealink SIP-T46S 66.86.0.15", auth));
        InviteVerdict iv;
        return guard_->request(p, jar_.sip(p), Now::at(now_), rec_, iv);
    };
    EXPECT_EQ(invite(0, 2).verdict, Verdict::accept);
    EXPECT_EQ(invite(1, 2).verdict, Verdict::accept);
    const Decision third = invite(2, 2);
    EXPECT_EQ(third.verdict, Verdict::drop);
    EXPECT_EQ(third.reason, Reason::call_limit);
    // Three credentials and the address: more keys than a call holds (a
    // phone sends at most two, Authorization and Proxy-Authorization).
    make(test::site_policy());
    const Decision many = invite(3, 3);
    EXPECT_EQ(many.verdict, Verdict::drop);
    EXPECT_EQ(many.reason, Reason::call_limit);
    ASSERT_NE(rec_.last(EventType::call_limit), nullptr);
    EXPECT_EQ(rec_.last(EventType::call_limit)->rule, "limit:too_many_credentials");
    EXPECT_EQ(invite(4, 2).verdict, Verdict::accept);
}

}  // namespace
}  // namespace vg::engine
