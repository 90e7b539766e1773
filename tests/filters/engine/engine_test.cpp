// SPDX-License-Identifier: GPL-2.0-or-later
// The verdict function, rule by rule, with a fake clock: packets are built
// byte by byte, policies are YAML text, time only moves when a test says so.
#include "filters/engine/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <ostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "filters/net/packet.h"
#include "tests/filters/net/packet_builder.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::engine {

// Readable names in failure messages.
std::ostream& operator<<(std::ostream& o, Reason r) { return o << reason_name(r); }
std::ostream& operator<<(std::ostream& o, Verdict v) {
    return o << (v == Verdict::accept_verified ? "accept_verified" : verdict_name(v));
}

namespace {

using namespace std::chrono_literals;
using test::Bytes;
using namespace test::sip_packets;

// The test site (tests/support/engine_policy.h): handsets 192.168.20.0/24 and
// 2001:db8:20::/64, PBX signalling 203.0.113.10, PBX media 203.0.113.64/27
// from ports 10000-20000, support 198.51.100.7 to tcp/22 and tcp/443.
std::string policy_text(const std::string& mode = "enforce", const std::string& extra = "",
                        const std::string& limits = "") {
    return test::site_policy(mode, extra, limits);
}
std::string with_media(const std::string& keys) { return test::site_policy_with_media(keys); }
using test::compile_policy;
using Recorder = test::EventRecorder;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kPbx = "203.0.113.10";
constexpr const char* kPbxMedia = "203.0.113.70";
constexpr const char* kAttacker = "192.0.2.66";

class EngineTest : public ::testing::Test {
protected:
    void SetUp() override { make(policy_text()); }

    void make(const std::string& yaml, EngineLimits limits = {}) {
        rules_ = compile_policy(yaml);
        ASSERT_NE(rules_, nullptr);
        engine_ = std::make_unique<Engine>(rules_, limits);
    }

    Decision feed(const Bytes& b) {
        packets_.push_back(b);   // the decoded views point into it
        const net::DecodedPacket p = net::decode_ip(packets_.back().data(), packets_.back().size());
        return engine_->process(p, Now::at(now_), rec_);
    }
    Decision out_sip(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(handset, 5060, kPbx, 5060, msg));
    }
    Decision in_sip(const std::string& msg, const char* handset = kHandset) {
        return feed(v4udp(kPbx, 5060, handset, 5060, msg));
    }
    Decision media_in(const char* src, unsigned sport, const char* dst, unsigned dport, const std::string& payload = rtp()) {
        return feed(v4udp(src, sport, dst, dport, payload));
    }
    // Handset 201 calls `number`; the handset offers media on `port`.
    Decision call(const std::string& call_id, const std::string& number, unsigned port = 40000,
                  const char* handset = kHandset) {
        return out_sip(request("INVITE", "sip:" + number + "@pbx.example.net", call_id, "f1", "", 1,
                               sdp(handset, port)),
                       handset);
    }
    void answer(const std::string& call_id, unsigned pbx_port = 12000, const char* handset = kHandset) {
        EXPECT_EQ(in_sip(response(200, "OK", "INVITE", 1, call_id, "t1", sdp(kPbxMedia, pbx_port)), handset).verdict,
                  Verdict::accept);
    }
    void advance(Duration d) {
        now_ += d;
        engine_->tick(Now::at(now_), rec_);
    }
    // The handset hangs up and the PBX answers its BYE.
    void hang_up(const std::string& call_id, unsigned cseq = 2, const std::string& number = "02079460000",
                 const char* handset = kHandset) {
        out_sip(request("BYE", "sip:" + number + "@pbx.example.net", call_id, "f1", "t1", cseq), handset);
        EXPECT_EQ(in_sip(response(200, "OK", "BYE", cseq, call_id, "t1"), handset).verdict, Verdict::accept);
    }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<Engine> engine_;
    Recorder rec_;
    Timestamp now_ = Timestamp{} + 1700000000s;   // a Tuesday, 22:13 UTC
    std::vector<Bytes> packets_;
};

// --- direction and plumbing ------------------------------------------------

TEST_F(EngineTest, TrafficOutsideTheVoiceNetworkIsNotJudged) {
    const Decision d = feed(v4udp("10.0.0.1", 1234, "10.0.0.2", 53, "x"));
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(d.reason, Reason::not_voice_network);
}

TEST_F(EngineTest, TrafficBetweenHandsetsIsInternal) {
    EXPECT_EQ(feed(v4udp(kHandset, 1, kHandset2, 2, "x")).reason, Reason::handset_internal);
}

TEST_F(EngineTest, MalformedPacketToHandsetsIsDropped) {
    Bytes b = v4udp(kAttacker, 1, kHandset, 2, "hello");
    b[0] = 0x44;   // IHL 4 < 5
    const Decision d = feed(b);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::malformed_packet);
    EXPECT_EQ(rec_.count(EventType::malformed), 1u);
}

TEST_F(EngineTest, UnlistedSourceIsDroppedWithEvent) {
    const Decision d = feed(v4udp(kAttacker, 4444, kHandset, 80, "GET / HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::unlisted_source);
    ASSERT_NE(rec_.last(EventType::unlisted_source), nullptr);
    EXPECT_EQ(rec_.last(EventType::unlisted_source)->source.to_string(), kAttacker);
}

TEST_F(EngineTest, UnreassembledFragmentIsDropped) {
    test::V4 h;
    const auto s = net::IpAddress::parse(kPbx);
    const auto dd = net::IpAddress::parse(kHandset);
    std::memcpy(h.src, s->bytes(), 4);
    std::memcpy(h.dst, dd->bytes(), 4);
    h.flags_fragment = 0x2000;   // MF
    EXPECT_EQ(feed(test::ipv4(h, test::udp(5060, 5060, Bytes(32, 'a')))).reason, Reason::fragment);
}

// --- SIP signalling --------------------------------------------------------

TEST_F(EngineTest, OutboundInviteToPbxIsAcceptedAndCreatesDialog) {
    const Decision d = call("c1", "02079460000");
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(d.reason, Reason::sip_inspected);
    EXPECT_EQ(engine_->dialog_count(), 1u);
    EXPECT_EQ(engine_->active_calls(), 1u);
    // The handset's SDP opened RTP 40000 and RTCP 40001.
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(rec_.count(EventType::pinhole_opened), 2u);
}

TEST_F(EngineTest, InboundSipFromPbxIsInspectedAndAccepted) {
    const Decision d = in_sip(request("OPTIONS", "sip:201@192.168.20.10", "o1", "p1", "", 1, "", "PBX"));
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(d.reason, Reason::sip_inspected);
    EXPECT_EQ(engine_->stats().sip_messages, 1u);
}

TEST_F(EngineTest, InboundSipFromUnlistedSourceIsDroppedButParsed) {
    const Decision d = feed(v4udp(kAttacker, 5060, kHandset, 5060,
                                  request("OPTIONS", "sip:100@192.168.20.10", "s1", "a", "", 1, "", "Linphone")));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::unlisted_source);
    EXPECT_EQ(engine_->stats().sip_messages, 1u);
    const Event* e = rec_.last(EventType::unlisted_source);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->method.view(), "OPTIONS");
    EXPECT_EQ(e->user_agent.view(), "Linphone");
}

TEST_F(EngineTest, ScannerUserAgentFromUnlistedSourceIsReported) {
    feed(v4udp(kAttacker, 5060, kHandset, 5060,
               request("OPTIONS", "sip:100@192.168.20.10", "s1", "a", "", 1, "", "friendly-scanner")));
    const Event* e = rec_.last(EventType::scanner);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), "user_agent:friendly-scanner");
    EXPECT_EQ(e->source.to_string(), kAttacker);
}

TEST_F(EngineTest, ScannerUserAgentFromPbxAddressIsDropped) {
    const Decision d = in_sip(request("INVITE", "sip:201@192.168.20.10", "s2", "a", "", 1, "", "sipvicious 0.3"));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::sip_scanner);
}

TEST_F(EngineTest, ScannerBehaviourManyExtensionsIsReportedOnce) {
    for (int i = 0; i < 12; ++i)
        feed(v4udp(kAttacker, 5060, kHandset, 5060,
                   request("REGISTER", "sip:" + std::to_string(100 + i) + "@192.168.20.10", "r" + std::to_string(i),
                           "a", "", 1, "", "")));
    EXPECT_EQ(rec_.count(EventType::scanner), 1u);
    EXPECT_EQ(rec_.last(EventType::scanner)->detail.view(), "behaviour:many_targets");
}

TEST_F(EngineTest, MalformedSipFromPbxIsDroppedByDefault) {
    const Decision d = in_sip("INVITE sip:201@192.168.20.10 SIP/2.0\r\nContent-Length: abc\r\n\r\n");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::sip_malformed);
    EXPECT_EQ(rec_.count(EventType::malformed), 1u);
}

TEST_F(EngineTest, MalformedSipIsAcceptedWhenPolicySaysLog) {
    make(policy_text("enforce", "sip:\n  on_malformed: log\n"));
    EXPECT_EQ(in_sip("INVITE sip:201@192.168.20.10 SIP/2.0\r\nContent-Length: abc\r\n\r\n").verdict, Verdict::accept);
}

TEST_F(EngineTest, RateLimitPerSourceAndMethodHoldsAndRefills) {
    make(policy_text("enforce", "sip:\n  rate_limits:\n    OPTIONS: 2/s burst 2\n"));
    auto opt = [&](int i) {
        return in_sip(request("OPTIONS", "sip:201@192.168.20.10", "o" + std::to_string(i), "p", "", 1, "", "PBX"));
    };
    EXPECT_EQ(opt(1).verdict, Verdict::accept);
    EXPECT_EQ(opt(2).verdict, Verdict::accept);
    const Decision third = opt(3);
    EXPECT_EQ(third.verdict, Verdict::drop);
    EXPECT_EQ(third.reason, Reason::sip_rate_limited);
    EXPECT_EQ(rec_.count(EventType::rate_limited), 1u);
    now_ += 500ms;   // one token back
    EXPECT_EQ(opt(4).verdict, Verdict::accept);
    EXPECT_EQ(opt(5).verdict, Verdict::drop);
}

// A flood aimed at one handset (even from the PBX's address, which a
// spoofer can forge) uses up that handset's bucket only; spread over every
// handset it meets the site's ceiling for the method.
TEST_F(EngineTest, RateLimitIsPerTargetHandsetUnderASiteCeiling) {
    make(policy_text("enforce", "sip:\n  rate_limits:\n    OPTIONS: 2/s burst 2\n"));
    int seq = 0;
    auto opt = [&](const std::string& handset) {
        ++seq;
        return in_sip(request("OPTIONS", "sip:201@" + handset, "o" + std::to_string(seq), "p", "", 1, "", "PBX"),
                      handset.c_str());
    };
    EXPECT_EQ(opt(kHandset).verdict, Verdict::accept);
    EXPECT_EQ(opt(kHandset).verdict, Verdict::accept);
    EXPECT_EQ(opt(kHandset).reason, Reason::sip_rate_limited);
    EXPECT_EQ(opt(kHandset2).verdict, Verdict::accept);   // another handset's bucket is full
    // 60 more over 30 handsets at the same instant: the ceiling's burst is
    // kCeiling times the per-key burst, 3 of it already taken.
    int accepted = 0;
    for (int h = 100; h < 130; ++h)
        for (int i = 0; i < 2; ++i) accepted += opt("192.168.20." + std::to_string(h)).verdict == Verdict::accept;
    EXPECT_EQ(accepted, static_cast<int>(SipRateLimiter::kCeiling) * 2 - 3);
    const Event* e = rec_.last(EventType::rate_limited);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->rule.view(), "site:OPTIONS");
    now_ += 1s;   // the ceiling refills at kCeiling times the per-key rate
    EXPECT_EQ(opt("192.168.20.200").verdict, Verdict::accept);
}

// --- NAT keep-alives (keepalive.h) -------------------------------------------

// What deployed devices send on their SIP flow to keep the NAT binding, and
// with it inbound calls, alive.
std::vector<std::string> keepalives_seen_in_the_wild() {
    using namespace std::string_literals;
    std::string stun_request = "\x00\x01\x00\x00\x21\x12\xa4\x42"s + std::string(12, '\x07');
    std::string stun_response = "\x01\x01\x00\x0c\x21\x12\xa4\x42"s + std::string(12, '\x07') +
                                "\x00\x20\x00\x08\x00\x01\xe1\xba\xe1\xba\xa4\x4e"s;
    return {"\r\n", "\r\n\r\n", std::string(13, ' '), "jaK\0"s, "hello", "hello\0\0\0\0\0\0\0\0"s,
            std::string(4, '\0'), stun_request, stun_response, ""};
}

TEST_F(EngineTest, KeepalivesBetweenHandsetAndPbxPassBothWays) {
    for (const std::string& k : keepalives_seen_in_the_wild()) {
        const Decision out = out_sip(k);
        EXPECT_EQ(out.verdict, Verdict::accept) << testing::PrintToString(k);
        EXPECT_EQ(out.reason, Reason::sip_keepalive) << testing::PrintToString(k);
        const Decision in = in_sip(k);
        EXPECT_EQ(in.verdict, Verdict::accept) << testing::PrintToString(k);
        EXPECT_EQ(in.reason, Reason::sip_keepalive) << testing::PrintToString(k);
    }
    // Counted by kind and as a reason of their own; none is a malformed
    // event or a SIP message.
    const EngineStats& st = engine_->stats();
    EXPECT_EQ(st.reasons[static_cast<std::size_t>(Reason::sip_keepalive)], 20u);
    EXPECT_EQ(st.keepalives[static_cast<std::size_t>(KeepaliveKind::crlf)], 4u);
    EXPECT_EQ(st.keepalives[static_cast<std::size_t>(KeepaliveKind::token)], 6u);
    EXPECT_EQ(st.keepalives[static_cast<std::size_t>(KeepaliveKind::stun)], 4u);
    EXPECT_EQ(st.sip_messages, 0u);
    EXPECT_EQ(rec_.count(EventType::malformed), 0u);
}

// An eXosip2 phone sends "jaK\0" to the PBX every 10 s from its SIP port, on
// IPv6 too.
TEST_F(EngineTest, KeepalivesPassOverIpv6AndFromThePbxToAnOldHandsetPort) {
    using namespace std::string_literals;
    EXPECT_EQ(feed(v6udp("2001:db8:20::10", 5060, "2001:db8:100::10", 5060, "jaK\0"s)).reason, Reason::sip_keepalive);
    // The PBX pings the port of an older binding (a NAT that moved the
    // handset's mapping): from the PBX's SIP port it is still its SIP flow.
    EXPECT_EQ(feed(v4udp(kPbx, 5060, kHandset, 47366, std::string(4, '\0'))).reason, Reason::sip_keepalive);
}

TEST_F(EngineTest, KeepalivesFromAnyoneElseAreDroppedAsBefore) {
    for (const std::string& k : keepalives_seen_in_the_wild()) {
        const Decision in = feed(v4udp(kAttacker, 5060, kHandset, 5060, k));
        EXPECT_EQ(in.verdict, Verdict::drop) << testing::PrintToString(k);
        EXPECT_EQ(in.reason, Reason::unlisted_source) << testing::PrintToString(k);
    }
    // To a server that is not the PBX, on its SIP port: refused outright.
    const Decision out = feed(v4udp(kHandset, 5060, "192.0.2.200", 5060, "\r\n\r\n"));
    EXPECT_EQ(out.verdict, Verdict::drop);
    EXPECT_EQ(out.reason, Reason::rogue_sip_destination);
    EXPECT_EQ(engine_->stats().reasons[static_cast<std::size_t>(Reason::sip_keepalive)], 0u);
}

// A keep-alive is bounded in size and content: it must not become a way to
// carry anything else to a handset.
TEST_F(EngineTest, WhatIsNotAKeepaliveIsStillJudgedAsSip) {
    using namespace std::string_literals;
    for (const std::string& s : {std::string(33, ' '), "jaK\0payload"s, "hello world"s, "\xde\xad\xbe\xef"s,
                                 "\x00\x11\x00\x00\x21\x12\xa4\x42"s + std::string(12, '\x07'),   // Binding indication
                                 "\x00\x01\x00\x00\x21\x12\xa4\x43"s + std::string(12, '\x07')}) {  // no magic cookie
        const Decision d = in_sip(s);
        EXPECT_EQ(d.verdict, Verdict::drop) << testing::PrintToString(s);
        EXPECT_EQ(d.reason, Reason::sip_malformed) << testing::PrintToString(s);
    }
    // A datagram that starts like SIP and is broken stays malformed.
    for (const std::string& s : {"INVITE"s, "OPTIONS\0"s, "SIP/2.0 200\r\n"s, "BYE sip:201@192.168.20.10 SIP/2.0\r\n"s}) {
        EXPECT_EQ(in_sip(s).reason, Reason::sip_malformed) << testing::PrintToString(s);
        EXPECT_EQ(out_sip(s).reason, Reason::sip_malformed) << testing::PrintToString(s);
    }
    // More CRLFs than any keep-alive has: no message, no keep-alive.
    EXPECT_EQ(in_sip(std::string(200, '\n')).reason, Reason::sip_malformed);
    EXPECT_EQ(rec_.last(EventType::malformed)->detail.view(), "keepalive_too_long");
}

// A flood of keep-alives, even forged from the PBX's address, meets the
// rate limit of SIP towards the handsets (the `default` rate, in buckets of
// their own per source and handset).
TEST_F(EngineTest, AKeepaliveFloodIsRateLimited) {
    using namespace std::string_literals;
    make(policy_text("enforce", "sip:\n  rate_limits:\n    default: 2/s burst 3\n    OPTIONS: 100/s\n"));
    int passed = 0;
    for (int i = 0; i < 10; ++i) passed += in_sip("\r\n\r\n").reason == Reason::sip_keepalive;
    EXPECT_EQ(passed, 3);
    const Event* e = rec_.last(EventType::rate_limited);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->method.view(), "keepalive");
    EXPECT_EQ(e->rule.view(), "default");
    EXPECT_EQ(in_sip("\r\n\r\n").reason, Reason::sip_rate_limited);
    // Requests keep their own buckets: the PBX's OPTIONS still pass.
    EXPECT_EQ(in_sip(request("OPTIONS", "sip:201@192.168.20.10", "o1", "p", "", 1, "", "PBX")).verdict,
              Verdict::accept);
    // Another handset's bucket is full; time refills this one.
    EXPECT_EQ(in_sip("\r\n\r\n", kHandset2).reason, Reason::sip_keepalive);
    now_ += 500ms;
    EXPECT_EQ(in_sip("\r\n\r\n").reason, Reason::sip_keepalive);
    // The handset's own keep-alives to the PBX are bounded the same way.
    passed = 0;
    for (int i = 0; i < 10; ++i) passed += out_sip("jaK\0"s).reason == Reason::sip_keepalive;
    EXPECT_EQ(passed, 3);
}

TEST_F(EngineTest, CrlfKeepalivesOverTcpHaveTheirReasonToo) {
    // SYN, SYN-ACK, then the handset's CRLFCRLF ping and the PBX's CRLF pong.
    feed(v4tcp(kHandset, 40500, kPbx, 5060, 0x02, "", 1000));
    feed(v4tcp(kPbx, 5060, kHandset, 40500, 0x12, "", 5000, 1001));
    EXPECT_EQ(feed(v4tcp(kHandset, 40500, kPbx, 5060, 0x18, "\r\n\r\n", 1001, 5001)).reason, Reason::sip_keepalive);
    EXPECT_EQ(feed(v4tcp(kPbx, 5060, kHandset, 40500, 0x18, "\r\n", 5001, 1005)).reason, Reason::sip_keepalive);
    EXPECT_EQ(engine_->stats().keepalives[static_cast<std::size_t>(KeepaliveKind::crlf)], 2u);
}

// --- ICMP towards the handsets -----------------------------------------------

// An ICMP(v4) message: type, code, then `quoted` (the packet it is about).
Bytes icmp4(const char* src, const char* dst, unsigned type, unsigned code, const Bytes& quoted) {
    test::V4 h;
    h.protocol = 1;
    std::memcpy(h.src, net::IpAddress::parse(src)->bytes(), 4);
    std::memcpy(h.dst, net::IpAddress::parse(dst)->bytes(), 4);
    Bytes m = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(code), 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), quoted.begin(), quoted.end());
    return test::ipv4(h, m);
}
Bytes icmp6(const char* src, const char* dst, unsigned type, unsigned code, const Bytes& quoted) {
    test::V6 h;
    h.next = 58;
    std::memcpy(h.src, net::IpAddress::parse(src)->bytes(), 16);
    std::memcpy(h.dst, net::IpAddress::parse(dst)->bytes(), 16);
    Bytes m = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(code), 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), quoted.begin(), quoted.end());
    return test::ipv6(h, m);
}
// What an error quotes: the IP header and the first 8 bytes after it.
Bytes quote(const Bytes& packet, std::size_t ip_header = 20) {
    return Bytes(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(ip_header + 8));
}

// The PBX answers a handset's SIP with "port unreachable" (a restarted PBX,
// a changed port): the kernel lets it through as RELATED to the handset's
// flow, and so does the engine; so are errors from routers on the way.
TEST_F(EngineTest, IcmpErrorsAboutAHandsetsOwnFlowPass) {
    make(policy_text("enforce", "egress:\n  allow:\n    - name: dns\n      addresses: [192.0.2.53]\n"
                                "      ports: [\"udp/53\"]\n"));
    const Bytes reg = v4udp(kHandset, 5060, kPbx, 5060, request("REGISTER", "sip:pbx.example.net", "r", "f", "", 1));
    EXPECT_EQ(feed(reg).verdict, Verdict::accept);
    const Decision unreachable = feed(icmp4(kPbx, kHandset, 3, 3, quote(reg)));
    EXPECT_EQ(unreachable.verdict, Verdict::accept);
    EXPECT_EQ(unreachable.reason, Reason::icmp_related);
    // A router on the way: time exceeded, fragmentation needed.
    EXPECT_EQ(feed(icmp4("192.0.2.1", kHandset, 11, 0, quote(reg))).reason, Reason::icmp_related);
    EXPECT_EQ(feed(icmp4("192.0.2.1", kHandset, 3, 4, quote(reg))).reason, Reason::icmp_related);
    // About the handset's media to the PBX, and about an egress flow it
    // opened (a DNS query), while the engine remembers it.
    call("c1", "02079460000", 40000);
    answer("c1");
    const Bytes media = v4udp(kHandset, 40000, kPbxMedia, 12000, rtp());
    EXPECT_EQ(feed(icmp4(kPbxMedia, kHandset, 3, 3, quote(media))).reason, Reason::icmp_related);
    const Bytes dns = v4udp(kHandset, 33333, "192.0.2.53", 53, "q");
    EXPECT_EQ(feed(dns).reason, Reason::egress_allowed);
    EXPECT_EQ(feed(icmp4("192.0.2.53", kHandset, 3, 3, quote(dns))).reason, Reason::icmp_related);
    // ICMPv6: port unreachable and packet too big from the PBX.
    const Bytes reg6 = v6udp("2001:db8:20::10", 5060, "2001:db8:100::10", 5060,
                             request("REGISTER", "sip:pbx.example.net", "r6", "f", "", 1));
    EXPECT_EQ(feed(icmp6("2001:db8:100::10", "2001:db8:20::10", 1, 4, quote(reg6, 40))).reason, Reason::icmp_related);
    EXPECT_EQ(feed(icmp6("2001:db8:100::10", "2001:db8:20::10", 2, 0, quote(reg6, 40))).reason, Reason::icmp_related);
    EXPECT_EQ(rec_.count(EventType::unlisted_source), 0u);
}

// The PBX's pings, and errors about flows that are not the handset's, are
// dropped (the kernel drops them too), and said to be what they are.
TEST_F(EngineTest, IcmpThatIsNotAboutAHandsetsFlowIsDroppedAndNamed) {
    const Decision ping = feed(icmp4(kPbx, kHandset, 8, 0, Bytes(32, 0x61)));
    EXPECT_EQ(ping.verdict, Verdict::drop);
    EXPECT_EQ(ping.reason, Reason::icmp_unsolicited);
    EXPECT_EQ(feed(icmp6("2001:db8:100::10", "2001:db8:20::10", 128, 0, Bytes(16, 0))).reason,
              Reason::icmp_unsolicited);
    EXPECT_EQ(feed(icmp4(kPbxMedia, kHandset, 8, 0, Bytes(32, 0x61))).reason, Reason::icmp_unsolicited);
    EXPECT_EQ(feed(icmp4("198.51.100.7", kHandset, 8, 0, Bytes(32, 0x61))).reason, Reason::icmp_unsolicited);
    EXPECT_EQ(rec_.count(EventType::unlisted_source), 0u);
    // An error quoting another sender, or a flow the handset never opened
    // (a DNS query it never sent): not related.
    const Bytes other = v4udp(kHandset2, 5060, kPbx, 5060, "x");
    EXPECT_EQ(feed(icmp4(kPbx, kHandset, 3, 3, quote(other))).reason, Reason::icmp_unsolicited);
    const Bytes never = v4udp(kHandset, 33334, "192.0.2.53", 53, "q");
    const Decision forged = feed(icmp4(kAttacker, kHandset, 3, 3, quote(never)));
    EXPECT_EQ(forged.verdict, Verdict::drop);
    EXPECT_EQ(forged.reason, Reason::unlisted_source);
    // Anyone else's ping: unlisted, as before.
    EXPECT_EQ(feed(icmp4(kAttacker, kHandset, 8, 0, Bytes(32, 0x61))).reason, Reason::unlisted_source);
    EXPECT_EQ(rec_.count(EventType::unlisted_source), 2u);
    // An error too short to quote an IP header is no error about anything.
    EXPECT_EQ(feed(icmp4(kPbx, kHandset, 3, 3, Bytes(12, 0x45))).reason, Reason::icmp_unsolicited);
}

// The daemon names the kernel's own inbound drops (NFLOG samples) the way
// replay names them: a PBX's ping is not an unlisted source.
TEST_F(EngineTest, KernelDropsOfThePbxsPingsAreNamedAsReplayNamesThem) {
    auto reason = [&](const Bytes& b) {
        packets_.push_back(b);
        return engine_->kernel_inbound_drop_reason(net::decode_ip(packets_.back().data(), packets_.back().size()));
    };
    EXPECT_EQ(reason(icmp4(kPbx, kHandset, 8, 0, Bytes(32, 0))), Reason::icmp_unsolicited);
    EXPECT_EQ(reason(icmp4("198.51.100.7", kHandset, 8, 0, Bytes(32, 0))), Reason::icmp_unsolicited);
    EXPECT_EQ(reason(icmp6("2001:db8:100::10", "2001:db8:20::10", 128, 0, Bytes(8, 0))), Reason::icmp_unsolicited);
    EXPECT_EQ(reason(icmp4(kAttacker, kHandset, 8, 0, Bytes(32, 0))), Reason::unlisted_source);
    EXPECT_EQ(reason(v4tcp(kPbx, 80, kHandset, 8080, 0x02, "")), Reason::unlisted_source);
}

TEST_F(EngineTest, SipToRogueServerIsDropped) {
    const Decision d = feed(v4udp(kHandset, 5060, "192.0.2.200", 5060,
                                  request("REGISTER", "sip:rogue.example.com", "g1", "f", "", 1)));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::rogue_sip_destination);
    const Event* e = rec_.last(EventType::rogue_sip_destination);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->method.view(), "REGISTER");
    EXPECT_EQ(e->destination.to_string(), "192.0.2.200");
}

TEST_F(EngineTest, SipOnNonStandardPortToRogueServerIsDropped) {
    const Decision d = feed(v4udp(kHandset, 5060, "192.0.2.200", 5080,
                                  request("REGISTER", "sip:rogue.example.com:5080", "g2", "f", "", 1)));
    EXPECT_EQ(d.reason, Reason::rogue_sip_destination);
}

// --- media pinholes --------------------------------------------------------

TEST_F(EngineTest, MediaFromPbxIntoPinholeIsVerified) {
    call("c1", "02079460000", 40000);
    answer("c1");
    const Decision d = media_in(kPbxMedia, 12000, kHandset, 40000);
    EXPECT_EQ(d.verdict, Verdict::accept_verified);
    EXPECT_EQ(d.reason, Reason::media_pinhole);
}

TEST_F(EngineTest, EarlyMediaIsAcceptedBeforeTheAnswer) {
    call("c1", "02079460000", 40000);
    // 183 Session Progress with the PBX's SDP: ringback tone flows at once.
    in_sip(response(183, "Session Progress", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 12000)));
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, RtcpPortIsOpenedToo) {
    call("c1", "02079460000", 40000);
    EXPECT_EQ(media_in(kPbxMedia, 12001, kHandset, 40001, std::string("\x80\xc9\x00\x01\x00\x00\x00\x01", 8)).verdict,
              Verdict::accept_verified);
}

TEST_F(EngineTest, ExplicitRtcpAttributeIsHonoured) {
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "", 1,
                    sdp(kHandset, 40000, "a=rtcp:40555\r\n")));
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(media_in(kPbxMedia, 12001, kHandset, 40555, std::string("\x80\xc9\x00\x01\x00\x00\x00\x01", 8)).verdict,
              Verdict::accept_verified);
    EXPECT_EQ(media_in(kPbxMedia, 12001, kHandset, 40001).reason, Reason::media_no_pinhole);
}

TEST_F(EngineTest, RtcpMuxOpensOnePinhole) {
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "", 1,
                    sdp(kHandset, 40000, "a=rtcp-mux\r\n")));
    EXPECT_EQ(engine_->pinhole_count(), 1u);
}

TEST_F(EngineTest, MediaInjectionFromAttackerIsDropped) {
    call("c1", "02079460000", 40000);
    answer("c1");
    const Decision d = media_in(kAttacker, 12000, kHandset, 40000);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::media_injection);
    const Event* e = rec_.last(EventType::media_injection);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->handset_port, 40000);
    // The PBX's own media still flows.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, MediaFromPbxRangeOutsideItsPortsIsInjection) {
    call("c1", "02079460000", 40000);
    EXPECT_EQ(media_in(kPbxMedia, 5000, kHandset, 40000).reason, Reason::media_injection);
}

TEST_F(EngineTest, MediaWithoutPinholeIsDropped) {
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
}

TEST_F(EngineTest, FirstPacketThatIsNotRtpIsDropped) {
    call("c1", "02079460000", 40000);
    const Decision d = media_in(kPbxMedia, 12000, kHandset, 40000, "hello, this is not RTP");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::media_not_rtp);
    // A real RTP packet still verifies the flow.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, StunFirstPacketVerifiesThePinhole) {
    call("c1", "02079460000", 40000);
    // STUN Binding request: type 0x0001, length 0, magic cookie, transaction id.
    const std::string stun("\x00\x01\x00\x00\x21\x12\xa4\x42" "abcdefghijkl", 20);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000, stun).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, StrictSourcePortRefusesOtherPbxPorts) {
    make(with_media("  strict_source_port: true\n"));
    call("c1", "02079460000", 40000);
    answer("c1", 12000);
    EXPECT_EQ(media_in(kPbxMedia, 12002, kHandset, 40000).reason, Reason::media_injection);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, OutboundMediaFromNegotiatedEndpointIsAccepted) {
    call("c1", "02079460000", 40000);
    const Decision d = feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp()));
    // Verified: the rest of the flow, and its replies, take the fast path.
    EXPECT_EQ(d.verdict, Verdict::accept_verified);
    EXPECT_EQ(d.reason, Reason::media_outbound);
}

// The handset speaks first (symmetric RTP phones do; found by the e2e
// scenario 46, a five-minute call with baresip, Kamailio and rtpengine):
// its flow is verified, and the PBX's media comes back on that same flow
// through the kernel fast path, never through the engine. The pinhole must
// not idle out as if no media had been seen: it did after media.idle_timeout
// (60 s), its flows were deleted and every packet after that was dropped
// (media_no_pinhole) while the call went on.
TEST_F(EngineTest, AHandsetThatSpeaksFirstKeepsItsPinholesPastTheIdleTimeout) {
    call("c1", "02079460000", 40000);
    answer("c1", 12000);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).verdict, Verdict::accept_verified);
    EXPECT_EQ(feed(v4udp(kHandset, 40001, kPbxMedia, 12001, std::string("\x80\xc9\x00\x01\x00\x00\x00\x01", 8)))
                  .verdict,
              Verdict::accept_verified);
    rec_.clear();
    advance(5min);   // no SIP, no media through the engine: all of it on the fast path
    EXPECT_EQ(rec_.count(EventType::pinhole_closed), 0u);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    // The BYE still closes them.
    hang_up("c1");
    now_ += kMediaGrace + std::chrono::milliseconds(1);
    advance(std::chrono::seconds(1));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
}

TEST_F(EngineTest, PbxOriginatedCallOpensPinholeFromHandsetAnswer) {
    EXPECT_EQ(in_sip(request("INVITE", "sip:201@192.168.20.10", "in1", "p1", "", 1, sdp(kPbxMedia, 14000), "PBX"))
                  .verdict,
              Verdict::accept);
    EXPECT_EQ(engine_->pinhole_count(), 0u);   // the handset has not said where yet
    out_sip(response(180, "Ringing", "INVITE", 1, "in1", "h1", "", "", "p1"));
    out_sip(response(200, "OK", "INVITE", 1, "in1", "h1", sdp(kHandset, 41000), "", "p1"));
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(rec_.count(EventType::call_started), 1u);
    EXPECT_EQ(media_in(kPbxMedia, 14000, kHandset, 41000).verdict, Verdict::accept_verified);
    // PBX-originated calls do not count against the handset's own call limit
    // checks, but they are active calls.
    EXPECT_EQ(engine_->active_calls(), 1u);
}

// Two handsets of the site call each other through a proxying PBX that
// anchors the media on its relay (Kamailio + rtpengine, e2e scenario 41):
// one SIP dialog (same Call-ID and tags) crosses the router out from the
// caller and in to the callee. The relay's media reaches each handset on the
// port that handset's own SDP gave, and each handset's media reaches the
// relay's port of its leg. With one dialog for both legs, all of it was
// dropped (media_no_pinhole): a silent call both ways.
TEST_F(EngineTest, ACallBetweenTwoHandsetsThroughAProxyHasMediaBothWays) {
    EXPECT_EQ(out_sip(request("INVITE", "sip:202@pbx.example.net", "hp", "f1", "", 1, sdp(kHandset, 40000)))
                  .verdict,
              Verdict::accept);
    EXPECT_EQ(in_sip(request("INVITE", "sip:202@192.168.20.11", "hp", "f1", "", 1, sdp(kPbxMedia, 12000), "PBX"),
                     kHandset2)
                  .verdict,
              Verdict::accept);
    out_sip(response(180, "Ringing", "INVITE", 1, "hp", "t2"), kHandset2);
    in_sip(response(180, "Ringing", "INVITE", 1, "hp", "t2"));
    out_sip(response(200, "OK", "INVITE", 1, "hp", "t2", sdp(kHandset2, 41000)), kHandset2);
    in_sip(response(200, "OK", "INVITE", 1, "hp", "t2", sdp(kPbxMedia, 12002)));
    out_sip(request("ACK", "sip:202@pbx.example.net", "hp", "f1", "t2", 1));
    in_sip(request("ACK", "sip:202@192.168.20.11", "hp", "f1", "t2", 1, "", "PBX"), kHandset2);
    EXPECT_EQ(rec_.count(EventType::call_started), 2u);
    EXPECT_EQ(engine_->active_calls(), 2u);

    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12002, rtp())).reason, Reason::media_outbound);
    EXPECT_EQ(feed(v4udp(kHandset2, 41000, kPbxMedia, 12000, rtp())).reason, Reason::media_outbound);
    const Decision to_caller = media_in(kPbxMedia, 12002, kHandset, 40000);
    EXPECT_EQ(to_caller.verdict, Verdict::accept_verified);
    EXPECT_EQ(to_caller.reason, Reason::media_pinhole);
    const Decision to_callee = media_in(kPbxMedia, 12000, kHandset2, 41000);
    EXPECT_EQ(to_callee.verdict, Verdict::accept_verified);
    EXPECT_EQ(to_callee.reason, Reason::media_pinhole);
}

// The handset answering a call often sends its first RTP and RTCP a few
// milliseconds before the 200 OK that carries its SDP (three corpus
// captures: a fax gateway, a Polycom through FreePBX, a Digium softphone).
// Sent to exactly the endpoint the PBX offered, they pass unverified; the
// PBX's replies still wait for the pinhole the answer opens.
TEST_F(EngineTest, TheCalleesMediaJustBeforeItsAnswerReachesTheOfferedEndpoint) {
    in_sip(request("INVITE", "sip:201@192.168.20.10", "in1", "p1", "", 1, sdp(kPbxMedia, 14000), "PBX"));
    out_sip(response(180, "Ringing", "INVITE", 1, "in1", "h1", "", "", "p1"));
    const Decision rtp_out = feed(v4udp(kHandset, 41000, kPbxMedia, 14000, rtp()));
    EXPECT_EQ(rtp_out.verdict, Verdict::accept);
    EXPECT_EQ(rtp_out.reason, Reason::media_outbound);
    EXPECT_EQ(feed(v4udp(kHandset, 41001, kPbxMedia, 14001, rtp())).verdict, Verdict::accept);   // RTCP
    // Nothing else: another port or media address of the PBX, another
    // handset, and the PBX's own media before the answer.
    EXPECT_EQ(feed(v4udp(kHandset, 41000, kPbxMedia, 14002, rtp())).reason, Reason::media_no_pinhole);
    EXPECT_EQ(feed(v4udp(kHandset, 41000, "203.0.113.71", 14000, rtp())).reason, Reason::media_no_pinhole);
    EXPECT_EQ(feed(v4udp(kHandset2, 41000, kPbxMedia, 14000, rtp())).reason, Reason::media_no_pinhole);
    EXPECT_EQ(media_in(kPbxMedia, 14000, kHandset, 41000).reason, Reason::media_no_pinhole);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    // The answer opens the pinhole: from then on the flow is verified.
    out_sip(response(200, "OK", "INVITE", 1, "in1", "h1", sdp(kHandset, 41000), "", "p1"));
    EXPECT_EQ(feed(v4udp(kHandset, 41000, kPbxMedia, 14000, rtp())).verdict, Verdict::accept_verified);
    EXPECT_EQ(media_in(kPbxMedia, 14000, kHandset, 41000).verdict, Verdict::accept_verified);
    // A call that ends before the answer takes its offer with it.
    in_sip(request("INVITE", "sip:201@192.168.20.10", "in2", "p2", "", 1, sdp(kPbxMedia, 14100), "PBX"));
    EXPECT_EQ(feed(v4udp(kHandset, 41100, kPbxMedia, 14100, rtp())).verdict, Verdict::accept);
    in_sip(request("CANCEL", "sip:201@192.168.20.10", "in2", "p2", "", 1, "", "PBX"));
    EXPECT_EQ(feed(v4udp(kHandset, 41100, kPbxMedia, 14100, rtp())).reason, Reason::media_no_pinhole);
}

// The PBX's SDP names a media address the policy refuses (its media relay,
// missing from the policy): the call would have one-way or no audio, so
// the warning names the address and the key to list it under.
TEST_F(EngineTest, ARefusedMediaAddressIsNamedWithTheKeyToAddItTo) {
    call("c1", "02079460000", 40000);
    in_sip(response(200, "OK", "INVITE", 1, "c1", "t1", sdp("198.51.100.80", 30000)));
    const Event* e = rec_.last(EventType::media_address_not_allowed);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), "198.51.100.80:30000");
    EXPECT_EQ(e->rule.view(), "peers.pbx[0].media.addresses");
    EXPECT_EQ(e->handset.to_string(), kHandset);
    EXPECT_EQ(e->call_id.view(), "c1");
    EXPECT_EQ(rec_.count(EventType::media_port_not_allowed), 0u);
}

// The audio from that refused endpoint is a policy mismatch (one-way
// audio), not an attack: its own reason, and no injection event. Media to
// the same pinhole from anywhere else is still an injection.
TEST_F(EngineTest, MediaFromARefusedAddressIsRefusedByPolicyNotAnInjection) {
    call("c1", "02079460000", 40000);
    in_sip(response(200, "OK", "INVITE", 1, "c1", "t1", sdp("198.51.100.80", 30000)));
    EXPECT_EQ(media_in("198.51.100.80", 30000, kHandset, 40000).reason, Reason::media_refused_by_policy);
    EXPECT_EQ(media_in("198.51.100.80", 30000, kHandset, 40000).verdict, Verdict::drop);
    EXPECT_EQ(media_in("198.51.100.80", 30001, kHandset, 40001).reason, Reason::media_refused_by_policy);
    EXPECT_EQ(rec_.count(EventType::media_injection), 0u);
    // Another port of that address, another address: injections.
    EXPECT_EQ(media_in("198.51.100.80", 30002, kHandset, 40000).reason, Reason::media_injection);
    EXPECT_EQ(media_in("192.0.2.66", 30000, kHandset, 40000).reason, Reason::media_injection);
    EXPECT_EQ(rec_.count(EventType::media_injection), 2u);
}

// A port of the PBX's media address outside its media.ports (10000-20000
// here): named with the key of the range, and its media refused by policy.
TEST_F(EngineTest, ARefusedMediaPortIsNamedWithItsKeyAndItsMediaRefusedByPolicy) {
    call("c1", "02079460000", 40000);
    in_sip(response(200, "OK", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 50052)));
    const Event* e = rec_.last(EventType::media_port_not_allowed);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), std::string(kPbxMedia) + ":50052");
    EXPECT_EQ(e->rule.view(), "peers.pbx[0].media.ports");
    EXPECT_EQ(e->call_id.view(), "c1");
    EXPECT_EQ(e->handset.to_string(), kHandset);
    EXPECT_EQ(rec_.count(EventType::media_address_not_allowed), 0u);
    EXPECT_EQ(media_in(kPbxMedia, 50052, kHandset, 40000).reason, Reason::media_refused_by_policy);
    EXPECT_EQ(media_in(kPbxMedia, 50053, kHandset, 40001).reason, Reason::media_refused_by_policy);
    // The same port from another address of the PBX's media: an injection.
    EXPECT_EQ(media_in("203.0.113.71", 50052, kHandset, 40000).reason, Reason::media_injection);
    EXPECT_EQ(rec_.count(EventType::media_injection), 1u);
}

// Only the RTCP port (port + 1) falls outside the range: the event names it,
// RTP passes and RTCP is refused by policy.
TEST_F(EngineTest, ARefusedRtcpPortAloneIsNamedAndOnlyItsMediaRefused) {
    call("c1", "02079460000", 40000);
    in_sip(response(200, "OK", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 20000)));
    const Event* e = rec_.last(EventType::media_port_not_allowed);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), std::string(kPbxMedia) + ":20001");
    EXPECT_EQ(media_in(kPbxMedia, 20000, kHandset, 40000).verdict, Verdict::accept_verified);
    EXPECT_EQ(media_in(kPbxMedia, 20001, kHandset, 40001).reason, Reason::media_refused_by_policy);
}

// A re-INVITE moving the media to an endpoint the policy allows: its media
// passes. Media still in flight from the refused port of the earlier offer
// is refused by policy (the line remembers that its PBX used a port outside
// the range), and media from an address that is no PBX media is still an
// injection.
TEST_F(EngineTest, AReOfferToAnAllowedEndpointPassesAndTheOldRefusedPortIsNoInjection) {
    call("c1", "02079460000", 40000);
    in_sip(response(200, "OK", "INVITE", 1, "c1", "t1", sdp(kPbxMedia, 50052)));
    in_sip(request("INVITE", "sip:201@192.168.20.10", "c1", "t1", "f1", 7, sdp(kPbxMedia, 12000), "PBX"));
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    EXPECT_EQ(media_in(kPbxMedia, 50052, kHandset, 40000).reason, Reason::media_refused_by_policy);
    EXPECT_EQ(media_in("192.0.2.66", 50052, kHandset, 40000).reason, Reason::media_injection);
    EXPECT_EQ(rec_.count(EventType::media_port_not_allowed), 1u);
    EXPECT_EQ(rec_.count(EventType::media_injection), 1u);
}

// Without any refused offer, a PBX media address on a port outside the
// range is an injection, as before.
TEST_F(EngineTest, APortOutsideTheRangeWithoutARefusedOfferIsAnInjection) {
    call("c1", "02079460000", 40000);
    answer("c1");
    EXPECT_EQ(media_in(kPbxMedia, 50052, kHandset, 40000).reason, Reason::media_injection);
}

// Direct media: the PBX's re-INVITE names the other phone, inside the
// handset networks. That media never crosses the router: no warning.
TEST_F(EngineTest, DirectMediaInsideTheHandsetNetworksIsNoRefusedAddress) {
    call("c1", "02079460000", 40000);
    answer("c1");
    in_sip(request("INVITE", "sip:201@192.168.20.10", "c1", "t1", "f1", 7, sdp(kHandset2, 7078), "PBX"));
    out_sip(response(200, "OK", "INVITE", 7, "c1", "f1", sdp(kHandset, 40000), "", "t1"));
    EXPECT_EQ(rec_.count(EventType::media_address_not_allowed), 0u);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kHandset2, 7078, rtp())).reason, Reason::handset_internal);
    // An address outside both is still reported.
    in_sip(request("INVITE", "sip:201@192.168.20.10", "c1", "t1", "f1", 8, sdp("192.0.2.80", 7078), "PBX"));
    EXPECT_EQ(rec_.count(EventType::media_address_not_allowed), 1u);
}

TEST_F(EngineTest, ReInviteWithNewPortMovesThePinhole) {
    call("c1", "02079460000", 40000);
    answer("c1");
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 42000)));
    // Media in flight to the old port (the media server has not seen the
    // offer yet) passes for kMediaGrace, judged packet by packet (its fast
    // path was deleted); the handset's own last packets from it too.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).verdict, Verdict::accept);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 42000).verdict, Verdict::accept_verified);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    advance(kMediaGrace + 1ms);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 42000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, HoldWithZeroAddressClosesThePinholeAndResumeReopens) {
    call("c1", "02079460000", 40000);
    answer("c1");
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp("0.0.0.0", 40000)));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    advance(kMediaGrace + 1ms);   // media in flight passes before it (ReInviteWithNewPortMovesThePinhole)
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3, sdp(kHandset, 40000)));
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, HoldWithSendonlyKeepsRtcpFlowing) {
    call("c1", "02079460000", 40000);
    answer("c1");
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2,
                    sdp(kHandset, 40000, "a=sendonly\r\n")));
    EXPECT_EQ(engine_->pinhole_count(), 2u);
}

TEST_F(EngineTest, RejectedMediaLineClosesItsPinhole) {
    call("c1", "02079460000", 40000);
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 0)));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
}

TEST_F(EngineTest, ForkedEarlyDialogsAreCounted) {
    call("c1", "02079460000", 40000);
    in_sip(response(180, "Ringing", "INVITE", 1, "c1", "fork-a", sdp(kPbxMedia, 12000)));
    in_sip(response(183, "Session Progress", "INVITE", 1, "c1", "fork-b", sdp("203.0.113.71", 16000)));
    bool found = false;
    engine_->for_each_dialog([&](const Dialog& d) {
        found = true;
        EXPECT_EQ(d.forks, 2);
        EXPECT_EQ(d.state, DialogState::early);
    });
    EXPECT_TRUE(found);
    // Media from either fork's address reaches the handset.
    EXPECT_EQ(media_in("203.0.113.71", 16000, kHandset, 40000).verdict, Verdict::accept_verified);
}

TEST_F(EngineTest, ANewCallOnAPortStillHeldClosesTheOldPinholeFirst) {
    call("c1", "02079460000", 40000);
    answer("c1");
    media_in(kPbxMedia, 12000, kHandset, 40000);
    // The handset starts the next call on the same port before the BYE.
    call("c2", "02079460001", 40000);
    EXPECT_EQ(engine_->stats().pinholes_closed, 2u);   // RTP 40000 and RTCP 40001 of c1
    bool named = false;
    for (const Event& e : rec_.events)
        named = named || (e.type == EventType::pinhole_closed && e.handset_port == 40000 &&
                          e.source.to_string() == kPbxMedia);
    EXPECT_TRUE(named);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
}

TEST_F(EngineTest, TheByesTwoHundredClosesPinholesAndNamesTheFlows) {
    call("c1", "02079460000", 40000);
    answer("c1");
    media_in(kPbxMedia, 12000, kHandset, 40000);
    hang_up("c1");
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(rec_.count(EventType::call_ended), 1u);
    // The verified RTP flow is named so the daemon can delete its conntrack entry.
    bool named = false;
    for (const Event& e : rec_.events)
        if (e.type == EventType::pinhole_closed && e.handset_port == 40000) {
            named = true;
            EXPECT_EQ(e.source.to_string(), kPbxMedia);
            EXPECT_EQ(e.source_port, 12000);
        }
    EXPECT_TRUE(named);
    // Media in flight passes for kMediaGrace, not verified again (its fast
    // path is gone); then nothing.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept);
    advance(kMediaGrace + 1ms);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
}

// The BYE passing is not the end of the call: the RTP and the RTCP BYE the
// far end sends until the BYE reaches it are still in flight, and the BYE may
// be challenged (401/407) and sent again, or refused (481) while the call
// goes on. Only its 2xx ends the call.
TEST_F(EngineTest, MediaAfterTheByeAndAroundItsAnswerStillPasses) {
    call("c1", "02079460000", 40000);
    answer("c1");
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    out_sip(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2));
    EXPECT_TRUE(rec_.effects.empty());
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).verdict, Verdict::accept_verified);
    // Challenged: the call goes on, media stays on its fast path.
    in_sip(response(401, "Unauthorized", "BYE", 2, "c1", "t1"));
    EXPECT_EQ(engine_->active_calls(), 1u);
    EXPECT_EQ(media_in(kPbxMedia, 12001, kHandset, 40001, rtp()).verdict, Verdict::accept_verified);
    // The retry with credentials is answered: the call ends.
    hang_up("c1", 3);
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "bye");
    EXPECT_FALSE(rec_.effects.empty());
    // The RTCP BYE the PBX sent right after its 200 OK (a few ms later).
    now_ += 4ms;
    const Decision rtcp = media_in(kPbxMedia, 12001, kHandset, 40001, std::string("\x81\xcb\x00\x01\x12\x34\x56\x78", 8));
    EXPECT_EQ(rtcp.verdict, Verdict::accept);
    EXPECT_EQ(rtcp.reason, Reason::media_pinhole);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).verdict, Verdict::accept);
    // Past the grace: closed for good, both ways.
    advance(1s);
    EXPECT_EQ(media_in(kPbxMedia, 12001, kHandset, 40001, rtp()).reason, Reason::media_no_pinhole);
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).reason, Reason::media_no_pinhole);
}

// A refused BYE (481) keeps the call's audio; a BYE with no final answer at
// all ends the call at its timeout.
TEST_F(EngineTest, ARefusedByeKeepsTheAudioAnUnansweredOneTimesOut) {
    call("c1", "02079460000", 40000);
    answer("c1");
    in_sip(request("BYE", "sip:201@192.168.20.10", "c1", "t1", "f1", 5, "", "PBX"));
    out_sip(response(481, "Call/Transaction Does Not Exist", "BYE", 5, "c1", "f1", "", "", "t1"));
    advance(60s);
    EXPECT_EQ(engine_->active_calls(), 1u);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    out_sip(request("BYE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 3));
    advance(kByeTimeout);
    EXPECT_EQ(engine_->active_calls(), 1u);
    advance(1s);
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "bye_timeout");
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
}

// The flows a pinhole verified are handed back as effects to delete, one
// tuple each (no table dump): media both ways with one media server is one
// flow; a pinhole never used asks for nothing.
TEST_F(EngineTest, ClosingPinholesAsksToDeleteEachVerifiedFlowByTuple) {
    call("c1", "02079460000", 40000);
    answer("c1");
    EXPECT_EQ(feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp())).verdict, Verdict::accept_verified);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).verdict, Verdict::accept_verified);
    // A second media server (after a re-INVITE the PBX moved the media).
    EXPECT_EQ(media_in("203.0.113.71", 16000, kHandset, 40000).verdict, Verdict::accept_verified);
    EXPECT_TRUE(rec_.effects.empty());   // nothing until a pinhole closes
    hang_up("c1");
    std::multiset<std::string> flows;
    for (const Effect& f : rec_.effects) {
        EXPECT_EQ(f.kind, EffectKind::close_flow);
        EXPECT_EQ(f.protocol, net::ipproto::udp);
        flows.insert(f.handset.to_string() + ":" + std::to_string(f.handset_port) + "-" + f.remote.to_string() + ":" +
                     std::to_string(f.remote_port));
    }
    EXPECT_EQ(flows, (std::multiset<std::string>{"192.168.20.10:40000-203.0.113.70:12000",
                                                 "192.168.20.10:40000-203.0.113.71:16000"}));
}

// More flows than a pinhole records: every entry on the handset's port goes.
TEST_F(EngineTest, APinholeWithMoreFlowsThanItRecordsAsksForItsWholePort) {
    call("c1", "02079460000", 40000);
    answer("c1");
    for (unsigned port : {12000u, 12002u, 12004u})
        EXPECT_EQ(media_in(kPbxMedia, port, kHandset, 40000).verdict, Verdict::accept_verified);
    hang_up("c1");
    ASSERT_EQ(rec_.effects.size(), 1u);
    const Effect& f = rec_.effects.front();
    EXPECT_EQ(f.kind, EffectKind::close_endpoint);
    EXPECT_EQ(f.handset.to_string(), kHandset);
    EXPECT_EQ(f.handset_port, 40000);
}

// A call the engine never saw start (before a restart) hung up: every
// verified flow of the handset goes.
TEST_F(EngineTest, AByeForACallNeverSeenAsksForTheHandsetsVerifiedFlows) {
    out_sip(request("BYE", "sip:02079460000@pbx.example.net", "old-call", "f1", "t1", 2));
    ASSERT_EQ(rec_.effects.size(), 1u);
    EXPECT_EQ(rec_.effects.front().kind, EffectKind::close_handset);
    EXPECT_EQ(rec_.effects.front().handset.to_string(), kHandset);
}

TEST_F(EngineTest, ByeFromPbxEndsTheCallToo) {
    call("c1", "02079460000", 40000);
    answer("c1");
    in_sip(request("BYE", "sip:201@192.168.20.10", "c1", "t1", "f1", 2, "", "PBX"));
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    out_sip(response(200, "OK", "BYE", 2, "c1", "f1", "", "", "t1"));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
}

TEST_F(EngineTest, ByeOfACallBegunBeforeARestartNamesTheHandset) {
    // The engine never saw this call's INVITE (the daemon restarted): its
    // media may still be on the kernel fast path, so the hang-up is reported.
    out_sip(request("BYE", "sip:02079460000@pbx.example.net", "old-call", "f1", "t1", 2));
    const Event* e = rec_.last(EventType::call_ended);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), "unknown_dialog");
    EXPECT_EQ(e->handset.to_string(), kHandset);
    // Not while the handset has calls the engine knows: those are governed
    // by their own pinholes.
    rec_.events.clear();
    call("c1", "02079460000", 40000);
    out_sip(request("BYE", "sip:02079460000@pbx.example.net", "old-call-2", "f1", "t1", 2));
    EXPECT_EQ(rec_.count(EventType::call_ended), 0u);
}

TEST_F(EngineTest, MonitorModeMarksItsEvents) {
    make(policy_text("monitor"));
    feed(v4udp(kAttacker, 4444, kHandset, 80, "x"));
    ASSERT_NE(rec_.last(EventType::unlisted_source), nullptr);
    EXPECT_TRUE(rec_.last(EventType::unlisted_source)->monitor);
    make(policy_text("enforce"));
    feed(v4udp(kAttacker, 4444, kHandset, 80, "x"));
    EXPECT_FALSE(rec_.last(EventType::unlisted_source)->monitor);
}

TEST_F(EngineTest, CancelEndsTheCall) {
    call("c1", "02079460000", 40000);
    out_sip(request("CANCEL", "sip:02079460000@pbx.example.net", "c1", "f1", "", 1));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(engine_->active_calls(), 0u);
}

TEST_F(EngineTest, FailureResponseEndsTheCall) {
    call("c1", "02079460000", 40000);
    in_sip(response(486, "Busy Here", "INVITE", 1, "c1", "t1"));
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "failure_486");
}

TEST_F(EngineTest, FailedReInviteLeavesTheCallUp) {
    call("c1", "02079460000", 40000);
    answer("c1");
    out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "c1", "f1", "t1", 2, sdp(kHandset, 40000)));
    in_sip(response(488, "Not Acceptable Here", "INVITE", 2, "c1", "t1"));
    EXPECT_EQ(engine_->active_calls(), 1u);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
}

// --- toll fraud --------------------------------------------------------------

TEST_F(EngineTest, InviteToDeniedPrefixIsBlockedAndReported) {
    const Decision d = call("t1", "0088213000001");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
    const Event* e = rec_.last(EventType::toll_fraud);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->handset.to_string(), kHandset);
    EXPECT_EQ(e->number.view(), "+88213000001");
    EXPECT_EQ(e->dialled.view(), "0088213000001");
    EXPECT_EQ(e->rule.view(), "deny_prefix:+882");
    EXPECT_EQ(engine_->dialog_count(), 0u);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
}

TEST_F(EngineTest, NationalPremiumPrefixIsNormalisedAndBlocked) {
    // "09" in the policy is the UK national premium range: +449.
    EXPECT_EQ(call("t2", "09098790000").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "deny_prefix:09");
    EXPECT_EQ(call("t3", "+44-909-879-0000").reason, Reason::toll_fraud);
}

TEST_F(EngineTest, EscapedPlusInRequestUriIsUnescaped) {
    EXPECT_EQ(call("t4", "%2B88213000001").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->number.view(), "+88213000001");
}

TEST_F(EngineTest, TelUriIsChecked) {
    const Decision d = out_sip(request("INVITE", "tel:+881-2345-678", "t5", "f1", "", 1, sdp(kHandset, 40000)));
    EXPECT_EQ(d.reason, Reason::toll_fraud);
}

TEST_F(EngineTest, NationalCallPasses) {
    EXPECT_EQ(call("n1", "020-7946-0000").verdict, Verdict::accept);
}

TEST_F(EngineTest, ExtensionPasses) {
    EXPECT_EQ(call("x1", "202").verdict, Verdict::accept);
}

TEST_F(EngineTest, ConcurrentLimitPerHandsetBlocksTheThirdCall) {
    EXPECT_EQ(call("l1", "02079460001", 40000).verdict, Verdict::accept);
    EXPECT_EQ(call("l2", "02079460002", 40010).verdict, Verdict::accept);
    const Decision d = call("l3", "02079460003", 40020);
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::call_limit);
    EXPECT_EQ(rec_.last(EventType::call_limit)->rule.view(), "limit:per_handset_concurrent_calls");
    // Another handset is not affected.
    EXPECT_EQ(call("l4", "02079460004", 40030, kHandset2).verdict, Verdict::accept);
    // When a call ends (its BYE answered), a new one may start.
    out_sip(request("BYE", "sip:02079460001@pbx.example.net", "l1", "f1", "t1", 2));
    EXPECT_EQ(call("l5", "02079460005", 40040).reason, Reason::call_limit);
    in_sip(response(200, "OK", "BYE", 2, "l1", "t1"));
    EXPECT_EQ(call("l6", "02079460005", 40040).verdict, Verdict::accept);
}

TEST_F(EngineTest, EmergencyNumberPassesEvenOverTheLimit) {
    call("l1", "02079460001", 40000);
    call("l2", "02079460002", 40010);
    EXPECT_EQ(call("e1", "999", 40020).verdict, Verdict::accept);
}

TEST_F(EngineTest, HourlyLimitPerHandsetRefillsAfterAnHour) {
    make(policy_text("enforce", "", "      calls_per_hour: 2\n"));
    auto call_and_hang_up = [&](const std::string& id) {
        const Decision d = call(id, "02079460000");
        out_sip(request("CANCEL", "sip:02079460000@pbx.example.net", id, "f1", "", 1));
        return d;
    };
    EXPECT_EQ(call_and_hang_up("h1").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("h2").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("h3").reason, Reason::call_limit);
    now_ += 31min;   // one call's worth of refill
    EXPECT_EQ(call_and_hang_up("h4").verdict, Verdict::accept);
}

TEST_F(EngineTest, ReloadKeepsTheHourlyBudgetsUsed) {
    // A reload mid-attack (the engineer tightening the policy, or any SIGHUP)
    // must not hand out a fresh hourly budget.
    make(policy_text("enforce", "", "      calls_per_hour: 2\n"));
    auto call_and_hang_up = [&](const std::string& id) {
        const Decision d = call(id, "02079460000");
        out_sip(request("CANCEL", "sip:02079460000@pbx.example.net", id, "f1", "", 1));
        return d;
    };
    EXPECT_EQ(call_and_hang_up("r1").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("r2").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("r3").reason, Reason::call_limit);
    // The same policy again: still spent.
    engine_->reload(compile_policy(policy_text("enforce", "", "      calls_per_hour: 2\n")), Now::at(now_), rec_);
    EXPECT_EQ(call_and_hang_up("r4").reason, Reason::call_limit);
    // A lower limit: still spent.
    engine_->reload(compile_policy(policy_text("enforce", "", "      calls_per_hour: 1\n")), Now::at(now_), rec_);
    EXPECT_EQ(call_and_hang_up("r5").reason, Reason::call_limit);
    // A raised limit adds the difference: 1 -> 3 gives two calls, not three.
    engine_->reload(compile_policy(policy_text("enforce", "", "      calls_per_hour: 3\n")), Now::at(now_), rec_);
    EXPECT_EQ(call_and_hang_up("r6").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("r7").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("r8").reason, Reason::call_limit);
    // And the budget still refills with time under the new rate.
    now_ += 21min;
    EXPECT_EQ(call_and_hang_up("r9").verdict, Verdict::accept);
    EXPECT_EQ(call_and_hang_up("r10").reason, Reason::call_limit);
}

TEST_F(EngineTest, AuthChallengeRetryIsNotCountedTwice) {
    make(policy_text("enforce", "", "      calls_per_hour: 1\n"));
    EXPECT_EQ(call("a1", "02079460000").verdict, Verdict::accept);
    in_sip(response(407, "Proxy Authentication Required", "INVITE", 1, "a1", "t1"));
    // Same Call-ID, next CSeq, with credentials: the same call, not a second one.
    const Decision d = out_sip(request("INVITE", "sip:02079460000@pbx.example.net", "a1", "f1", "", 2,
                                       sdp(kHandset, 40000), "Yealink SIP-T46S 66.86.0.15",
                                       "Proxy-Authorization: Digest username=\"201\"\r\n"));
    EXPECT_EQ(d.verdict, Verdict::accept);
}

TEST_F(EngineTest, AllowListModeBlocksEverythingNotListed) {
    std::string yaml = policy_text();
    yaml.replace(yaml.find("  deny_prefixes:"), 0, "  mode: allow_list\n  allow_prefixes: [\"+44\"]\n");
    make(yaml);
    EXPECT_EQ(call("w1", "02079460000").verdict, Verdict::accept);
    EXPECT_EQ(call("w2", "0033123456789").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "allow_list");
}

TEST_F(EngineTest, AllowPrefixIsAnExceptionToTheDenyList) {
    std::string yaml = policy_text();
    yaml.replace(yaml.find("  deny_prefixes:"), 0, "  allow_prefixes: [\"+88216\"]\n");
    make(yaml);
    EXPECT_EQ(call("a1", "008821612345").verdict, Verdict::accept);
    EXPECT_EQ(call("a2", "008821712345").reason, Reason::toll_fraud);
}

// A North American site: NANP area codes of other countries are dialled like
// domestic long distance but billed internationally (built-in list).
std::string north_american_policy() {
    std::string yaml = test::site_policy("enforce");
    yaml.replace(yaml.find("country_code: \"44\""), 18, "country_code: \"1\"");
    yaml.replace(yaml.find("national_prefix: \"0\""), 20, "national_prefix: \"1\"");
    yaml.replace(yaml.find("international_prefix: \"00\""), 26, "international_prefix: \"011\"");
    return yaml;
}

TEST_F(EngineTest, NanpCaribbeanAreaCodesAreDeniedForNorthAmericanSites) {
    make(north_american_policy());
    EXPECT_EQ(call("c1", "1-809-555-0123").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "nanp_international:+1809");
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->number.view(), "+18095550123");
    // Ten-digit dialling, and +1 in international form.
    EXPECT_EQ(call("c2", "876-555-0123", 40002).reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "nanp_international:+1876");
    EXPECT_EQ(call("c3", "+1(268)555-0123", 40004).reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "nanp_international:+1268");
    // Domestic-rate: the US mainland, Puerto Rico, the US Virgin Islands; a
    // seven-digit local number that starts like an area code.
    EXPECT_EQ(call("d1", "1-201-555-0123", 40006).verdict, Verdict::accept);
    EXPECT_EQ(call("d2", "1-787-555-0123", 40008, kHandset2).verdict, Verdict::accept);
}

TEST_F(EngineTest, NanpListNeedsCountryCodeOneAndDenyBuiltin) {
    // The UK site: +1809 is an ordinary international number.
    EXPECT_EQ(call("u1", "0018095550123").verdict, Verdict::accept);
    std::string yaml = north_american_policy();
    yaml.replace(yaml.find("  deny_prefixes:"), 0, "  deny_builtin: false\n");
    make(yaml);
    EXPECT_EQ(call("u2", "1-809-555-0123").verdict, Verdict::accept);
    // A seven-digit local number is no area code.
    EXPECT_EQ(call("u3", "809-5550", 40002).verdict, Verdict::accept);
}

TEST_F(EngineTest, NanpLocalSevenDigitsAndAllowExceptions) {
    std::string yaml = north_american_policy();
    yaml.replace(yaml.find("  deny_prefixes:"), 0, "  allow_prefixes: [\"+1809555\"]\n");
    make(yaml);
    EXPECT_EQ(call("l1", "809-5550", 40000).verdict, Verdict::accept);
    EXPECT_EQ(call("l2", "1-809-555-0123", 40002).verdict, Verdict::accept);
    EXPECT_EQ(call("l3", "809-555-0123", 40004, kHandset2).verdict, Verdict::accept);
    EXPECT_EQ(call("l4", "1-809-556-0123", 40006, kHandset2).reason, Reason::toll_fraud);
}

TEST_F(EngineTest, PlusAloneDeniesEveryInternationalNumberButNotNationalOnes) {
    std::string yaml = policy_text();
    yaml.replace(yaml.find("[\"+881\", \"+882\""), 1, "[\"+\", ");
    make(yaml);
    EXPECT_EQ(call("i1", "0033123456789").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "deny_prefix:+");
    EXPECT_EQ(call("i2", "+12015550123").reason, Reason::toll_fraud);
    EXPECT_EQ(call("i3", "02079460000").verdict, Verdict::accept);
    EXPECT_EQ(call("i4", "+442079460000", 40010, kHandset2).verdict, Verdict::accept);
}

TEST_F(EngineTest, OutOfHoursDenyAppliesOutsideBusinessHoursOnly) {
    std::string yaml = policy_text();
    yaml.replace(yaml.find("  limits:"), 0,
                 "  out_of_hours:\n    timezone: UTC0\n    business_hours: [\"mon-fri 08:00-18:00\"]\n"
                 "    deny_prefixes: [\"00\"]\n");
    make(yaml);
    // 1700000000 is Tuesday 2023-11-14 22:13 UTC: out of hours.
    EXPECT_EQ(call("o1", "0033123456789").reason, Reason::toll_fraud);
    EXPECT_EQ(rec_.last(EventType::toll_fraud)->rule.view(), "out_of_hours:00");
    EXPECT_EQ(call("o2", "02079460000").verdict, Verdict::accept);
    // Wednesday 10:00 UTC: business hours.
    now_ = Timestamp{} + 1700000000s + 11h + 47min;
    EXPECT_EQ(call("o3", "0033123456789").verdict, Verdict::accept);
}

// --- support and egress ------------------------------------------------------

TEST_F(EngineTest, SupportReachesOnlyItsListedPorts) {
    Decision d = feed(v4tcp("198.51.100.7", 50000, kHandset, 22, 0x02, ""));
    EXPECT_EQ(d.verdict, Verdict::accept_verified);
    EXPECT_EQ(d.reason, Reason::support_allowed);
    d = feed(v4tcp("198.51.100.7", 50001, kHandset, 23, 0x02, ""));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::support_port_denied);
    EXPECT_EQ(rec_.count(EventType::support_denied), 1u);
    // The attacker cannot reach the support port.
    EXPECT_EQ(feed(v4tcp(kAttacker, 50002, kHandset, 22, 0x02, "")).reason, Reason::unlisted_source);
}

TEST_F(EngineTest, OpenEgressRemembersFlowsForExactReturnTraffic) {
    make(policy_text("enforce", "egress:\n  mode: open\n"));
    EXPECT_EQ(feed(v4udp(kHandset, 30000, "192.0.2.123", 123, "ntp")).reason, Reason::egress_allowed);
    EXPECT_EQ(feed(v4udp("192.0.2.123", 123, kHandset, 30000, "ntp")).reason, Reason::egress_return);
    // The same server from another port, or to another handset port, is not return traffic.
    EXPECT_EQ(feed(v4udp("192.0.2.123", 124, kHandset, 30000, "x")).reason, Reason::unlisted_source);
    EXPECT_EQ(feed(v4udp("192.0.2.123", 123, kHandset, 30001, "x")).reason, Reason::unlisted_source);
}

TEST_F(EngineTest, ReturnTrafficExpires) {
    make(policy_text("enforce", "egress:\n  mode: open\n"));
    ASSERT_EQ(feed(v4udp(kHandset, 30000, "192.0.2.123", 123, "ntp")).reason, Reason::egress_allowed);
    ASSERT_EQ(feed(v4udp("192.0.2.123", 123, kHandset, 30000, "ntp")).reason, Reason::egress_return);
    feed(v4udp(kHandset, 30000, "192.0.2.123", 123, "ntp"));
    advance(121s);
    EXPECT_EQ(feed(v4udp("192.0.2.123", 123, kHandset, 30000, "ntp")).reason, Reason::unlisted_source);
}

TEST_F(EngineTest, EgressAllowListBlocksOtherDestinations) {
    make(policy_text("enforce",
                     "egress:\n  mode: allow_list\n  allow:\n    - name: ntp\n      addresses: [192.0.2.123]\n"
                     "      ports: [\"udp/123\"]\n"));
    EXPECT_EQ(feed(v4udp(kHandset, 30000, "192.0.2.123", 123, "ntp")).reason, Reason::egress_allowed);
    EXPECT_EQ(feed(v4udp("192.0.2.123", 123, kHandset, 30000, "ntp")).reason, Reason::egress_return);
    const Decision d = feed(v4udp(kHandset, 30001, "192.0.2.200", 53, "dns"));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::egress_denied);
    EXPECT_EQ(feed(v4udp(kHandset, 30002, "192.0.2.123", 124, "x")).reason, Reason::egress_denied);
    // Signalling to the PBX is never an egress question.
    EXPECT_EQ(call("c1", "02079460000").verdict, Verdict::accept);
}

// The default (egress.mode: allow_list, nothing listed): a handset reaches
// the PBX only, and what it sends elsewhere opens no way back in.
TEST_F(EngineTest, ByDefaultAHandsetReachesOnlyThePbxAndOpensNoReturnTraffic) {
    const Decision d = feed(v4udp(kHandset, 30000, "198.18.0.1", 9999, "x"));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::egress_denied);
    EXPECT_EQ(feed(v4udp("198.18.0.1", 9999, kHandset, 30000, "x")).reason, Reason::unlisted_source);
    EXPECT_EQ(call("c1", "02079460000").verdict, Verdict::accept);
}

// --- cleartext provisioning -------------------------------------------------

// A handset's TFTP read request and cleartext HTTP request for its
// configuration or firmware: reported (handset, server, protocol, file),
// never dropped for it; the egress decision is the same as without it.
TEST_F(EngineTest, CleartextProvisioningIsReportedNeverBlocked) {
    make(policy_text("enforce", "egress:\n  allow:\n    - name: prov\n      addresses: [198.51.100.80]\n"
                                "      ports: [udp/69, tcp/80, tcp/8080]\n"));
    using namespace std::string_literals;
    const Decision t = feed(v4udp(kHandset, 49152, "198.51.100.80", 69, "\0\1y000000000044.cfg\0octet\0"s));
    EXPECT_EQ(t.verdict, Verdict::accept);
    EXPECT_EQ(t.reason, Reason::egress_allowed);
    ASSERT_EQ(rec_.count(EventType::cleartext_provisioning), 1u);
    const Event* e = rec_.last(EventType::cleartext_provisioning);
    EXPECT_EQ(e->handset, *net::IpAddress::parse(kHandset));
    EXPECT_EQ(e->destination, *net::IpAddress::parse("198.51.100.80"));
    EXPECT_EQ(e->rule.view(), "tftp");
    EXPECT_EQ(e->detail.view(), "y000000000044.cfg");

    // HTTP on another port: judged on the first data segment.
    feed(v4tcp(kHandset, 40200, "198.51.100.80", 8080, 0x02, "", 1000));
    const Decision h = feed(v4tcp(kHandset, 40200, "198.51.100.80", 8080, 0x18,
                                  "GET /fw/T54W-96.86.0.70.rom?mac=1 HTTP/1.1\r\nHost: p\r\n\r\n", 1001, 1));
    EXPECT_EQ(h.verdict, Verdict::accept_verified);
    ASSERT_EQ(rec_.count(EventType::cleartext_provisioning), 2u);
    e = rec_.last(EventType::cleartext_provisioning);
    EXPECT_EQ(e->rule.view(), "http");
    EXPECT_EQ(e->detail.view(), "/fw/T54W-96.86.0.70.rom");
    EXPECT_EQ(e->destination_port, 8080);
    // Later segments of the connection are not looked at again.
    feed(v4tcp(kHandset, 40200, "198.51.100.80", 8080, 0x18, "GET /again.cfg HTTP/1.1\r\n\r\n", 1100, 1));
    EXPECT_EQ(rec_.count(EventType::cleartext_provisioning), 2u);
    // Other HTTP on 8080, a TFTP write or a truncated read request: nothing.
    feed(v4tcp(kHandset, 40201, "198.51.100.80", 8080, 0x02, "", 2000));
    feed(v4tcp(kHandset, 40201, "198.51.100.80", 8080, 0x18, "GET /index.html HTTP/1.1\r\n\r\n", 2001, 1));
    feed(v4udp(kHandset, 49153, "198.51.100.80", 69, "\0\2upload.cfg\0octet\0"s));
    feed(v4udp(kHandset, 49154, "198.51.100.80", 69, "\0\1y0000"s));
    EXPECT_EQ(rec_.count(EventType::cleartext_provisioning), 2u);
    // A TFTP read request to a server the allow-list does not have: reported,
    // and dropped as egress (not for being cleartext).
    const Decision d = feed(v4udp(kHandset, 49155, "198.18.0.9", 69, "\0\1"s + std::string(300, 'x') + "\0octet\0"s));
    EXPECT_EQ(d.reason, Reason::egress_denied);
    EXPECT_EQ(rec_.count(EventType::cleartext_provisioning), 3u);
    EXPECT_EQ(rec_.last(EventType::cleartext_provisioning)->detail.view(), std::string(64, 'x'));
}

// --- modes, inventory, time --------------------------------------------------

TEST_F(EngineTest, MonitorModeDropsNothingButSaysWhatWouldDrop) {
    make(policy_text("monitor"));
    const Decision d = feed(v4udp(kAttacker, 4444, kHandset, 80, "x"));
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_TRUE(d.monitored);
    EXPECT_TRUE(d.would_drop());
    EXPECT_EQ(d.reason, Reason::unlisted_source);
    EXPECT_EQ(rec_.count(EventType::unlisted_source), 1u);
    EXPECT_EQ(call("t1", "0088213000001").verdict, Verdict::accept);
    EXPECT_EQ(rec_.count(EventType::toll_fraud), 1u);
    EXPECT_EQ(engine_->stats().monitored, 2u);
}

TEST_F(EngineTest, RegistrationFeedsTheInventory) {
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1));
    in_sip(response(200, "OK", "REGISTER", 1, "reg1", "t1", "", "Contact: <sip:201@192.168.20.10>;expires=600\r\n"));
    EXPECT_EQ(engine_->handset_count(), 1u);
    EXPECT_EQ(rec_.count(EventType::handset_registered), 1u);
    engine_->for_each_handset([&](const Handset& h) {
        EXPECT_EQ(h.address.to_string(), kHandset);
        EXPECT_EQ(h.user_agent.view(), "Yealink SIP-T46S 66.86.0.15");
        EXPECT_EQ(h.registered_until, now_ + 600s);
        EXPECT_FALSE(h.firmware_outdated);
    });
}

TEST_F(EngineTest, InterfaceAuditFindingIsStoredForKnownHandsetsOnly) {
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1));
    OpenInterfaces found;
    found.ports[0] = 23;
    found.ports[1] = 80;
    found.count = 2;
    found.audited = now_;
    engine_->set_open_interfaces(*net::IpAddress::parse(kHandset), found);
    // An address the inventory does not hold gets no entry.
    engine_->set_open_interfaces(*net::IpAddress::parse("192.168.20.99"), found);
    EXPECT_EQ(engine_->handset_count(), 1u);
    engine_->for_each_handset([&](const Handset& h) {
        EXPECT_EQ(h.interfaces.count, 2u);
        EXPECT_EQ(h.interfaces.ports[0], 23u);
        EXPECT_EQ(h.interfaces.ports[1], 80u);
        EXPECT_EQ(h.interfaces.audited, now_);
    });
    // A later audit that finds nothing replaces the finding.
    OpenInterfaces clean;
    clean.audited = now_ + 1s;
    engine_->set_open_interfaces(*net::IpAddress::parse(kHandset), clean);
    engine_->for_each_handset([&](const Handset& h) { EXPECT_EQ(h.interfaces.count, 0u); });
}

TEST_F(EngineTest, OutdatedFirmwareIsReported) {
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1, "", "Yealink SIP-T46S 66.85.0.5"));
    const Event* e = rec_.last(EventType::firmware_outdated);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->detail.view(), "version:66.85.0.5 minimum:66.86.0.15");
    // Reported once per User-Agent, not per message.
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 2, "", "Yealink SIP-T46S 66.85.0.5"));
    EXPECT_EQ(rec_.count(EventType::firmware_outdated), 1u);
}

TEST_F(EngineTest, StaleHandsetIsReportedOnceAndClearsOnRegister) {
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1));
    advance(30min);
    EXPECT_EQ(rec_.count(EventType::handset_stale), 0u);
    advance(31min);
    EXPECT_EQ(rec_.count(EventType::handset_stale), 1u);
    advance(1h);
    EXPECT_EQ(rec_.count(EventType::handset_stale), 1u);
    out_sip(request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 2));
    EXPECT_EQ(rec_.count(EventType::handset_registered), 2u);
}

// The inventory through the engine: REGISTERs decide known and unknown, the
// tick reports the forgotten; nothing is dropped for it.
TEST_F(EngineTest, TheInventoryReportsUnknownMismatchedAndForgottenHandsets) {
    std::string yaml = policy_text();
    yaml.replace(yaml.find("  stale_after: 1h\n"), 0,
                 "  known:\n    - aor: 201@pbx.example.net\n      address: 192.168.20.10\n    - aor: \"202\"\n");
    make(yaml);
    auto registers = [&](const char* handset, const std::string& user, unsigned cseq) {
        std::string msg = request("REGISTER", "sip:pbx.example.net", std::string("reg-") + handset + user, "f1", "",
                                  cseq, "", "Yealink SIP-T46S 66.86.0.15");
        msg.replace(msg.find("To: <sip:pbx.example.net>"), 25, "To: <sip:" + user + "@pbx.example.net>");
        return out_sip(msg, handset);
    };
    EXPECT_EQ(registers(kHandset, "201", 1).verdict, Verdict::accept);
    EXPECT_EQ(registers(kHandset2, "209", 1).verdict, Verdict::accept);   // not listed: reported, not dropped
    ASSERT_EQ(rec_.count(EventType::unknown_handset), 1u);
    EXPECT_EQ(rec_.last(EventType::unknown_handset)->detail.view(), "209@pbx.example.net");
    EXPECT_EQ(registers(kHandset2, "201", 2).verdict, Verdict::accept);   // 201 from another address
    ASSERT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    EXPECT_EQ(rec_.last(EventType::handset_mismatch)->rule.view(), "address:192.168.20.10");
    // 202 never registers; 201 stops. Each is reported once the hour passes.
    advance(30min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 0u);
    advance(31min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 2u);
    std::size_t shown = 0;
    for (const KnownHandsetState& k : engine_->known_handsets()) {
        ++shown;
        EXPECT_EQ(engine_->known_status(k, now_), k.aor == "202" ? KnownStatus::never_seen : KnownStatus::forgotten);
    }
    EXPECT_EQ(shown, 2u);
    advance(30min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 2u);
    advance(31min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 4u);
}

TEST_F(EngineTest, UnansweredInviteTimesOut) {
    call("c1", "02079460000", 40000);
    advance(179s);
    EXPECT_EQ(engine_->active_calls(), 1u);
    advance(2s);
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "timeout_no_answer");
}

TEST_F(EngineTest, CallLongerThanMaxDurationIsEnded) {
    call("c1", "02079460000", 40000);
    answer("c1");
    media_in(kPbxMedia, 12000, kHandset, 40000);
    advance(3h);
    EXPECT_EQ(engine_->active_calls(), 1u);
    advance(1h + 1s);
    EXPECT_EQ(engine_->active_calls(), 0u);
    EXPECT_EQ(rec_.last(EventType::call_ended)->detail.view(), "max_call_duration");
}

TEST_F(EngineTest, VerifiedPinholesDoNotIdleOutDuringALongCall) {
    call("c1", "02079460000", 40000);
    answer("c1");
    media_in(kPbxMedia, 12000, kHandset, 40000);
    advance(10min);
    // RTP stays open (it takes the kernel fast path, unseen by the engine);
    // the RTCP pinhole that never saw a packet idles out.
    EXPECT_EQ(engine_->pinhole_count(), 1u);
    EXPECT_EQ(engine_->active_calls(), 1u);
}

// --- bounds, reload, IPv6, TCP ------------------------------------------------

TEST_F(EngineTest, FullDialogTableEvictsTheOldestCall) {
    EngineLimits lim;
    lim.max_dialogs = 2;
    make(policy_text(), lim);
    call("e1", "202", 40000, kHandset);
    call("e2", "203", 40010, kHandset2);
    call("e3", "204", 40020, "192.168.20.12");
    EXPECT_EQ(engine_->dialog_count(), 2u);
    EXPECT_EQ(engine_->stats().evictions_dialogs, 1u);
    EXPECT_EQ(rec_.count(EventType::table_eviction), 1u);
    // The evicted call's pinholes are gone with it.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_no_pinhole);
    EXPECT_EQ(engine_->active_calls(), 2u);
}

TEST_F(EngineTest, AFullDialogTableKeepsItsConfirmedCallsAndDropsANewInvite) {
    EngineLimits lim;
    lim.max_dialogs = 2;
    make(policy_text(), lim);
    call("e1", "202", 40000, kHandset);
    answer("e1", 12000, kHandset);
    call("e2", "203", 40010, kHandset2);
    answer("e2", 12010, kHandset2);
    // The PBX's address calls a third handset: no room but confirmed calls.
    const Decision d = in_sip(request("INVITE", "sip:203@192.168.20.12", "e3", "p1", "", 1, sdp(kPbxMedia, 14000)),
                              "192.168.20.12");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::dialog_table_full);
    EXPECT_EQ(engine_->stats().dialogs_refused, 1u);
    EXPECT_EQ(engine_->stats().evictions_dialogs, 0u);
    EXPECT_EQ(rec_.last(EventType::table_eviction)->detail, "dialogs_refused");
    // Both calls' media still pass.
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::media_pinhole);
    EXPECT_EQ(media_in(kPbxMedia, 12010, kHandset2, 40010).reason, Reason::media_pinhole);
    EXPECT_EQ(engine_->active_calls(), 2u);
    // In monitor mode the refusal is reported, not enforced.
    make(policy_text("monitor"), lim);
    call("m1", "202", 40000, kHandset);
    answer("m1", 12000, kHandset);
    call("m2", "203", 40010, kHandset2);
    answer("m2", 12010, kHandset2);
    const Decision m = in_sip(request("INVITE", "sip:203@192.168.20.12", "m3", "p1", "", 1, sdp(kPbxMedia, 14000)),
                              "192.168.20.12");
    EXPECT_EQ(m.verdict, Verdict::accept);
    EXPECT_TRUE(m.monitored);
    EXPECT_EQ(m.reason, Reason::dialog_table_full);
}

TEST_F(EngineTest, FullPinholeTableEvictsAndReports) {
    EngineLimits lim;
    lim.max_pinholes = 3;
    make(policy_text(), lim);
    call("p1", "202", 40000);
    call("p2", "203", 40010, kHandset2);
    EXPECT_EQ(engine_->pinhole_count(), 3u);
    EXPECT_EQ(engine_->stats().evictions_pinholes, 1u);
}

TEST_F(EngineTest, ReloadKeepsCallsAndClosesPinholesTheNewPolicyRefuses) {
    call("c1", "02079460000", 40000);
    answer("c1");
    media_in(kPbxMedia, 12000, kHandset, 40000);
    // Same policy: nothing changes.
    engine_->reload(compile_policy(policy_text()), Now::at(now_), rec_);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(engine_->active_calls(), 1u);
    // New media range: the old pinholes (remote 203.0.113.70) close.
    std::string yaml = policy_text();
    yaml.replace(yaml.find("203.0.113.64/27"), 15, "203.0.113.96/27");
    engine_->reload(compile_policy(yaml), Now::at(now_), rec_);
    EXPECT_EQ(engine_->pinhole_count(), 0u);
    EXPECT_EQ(engine_->active_calls(), 1u);
    EXPECT_EQ(media_in(kPbxMedia, 12000, kHandset, 40000).reason, Reason::unlisted_source);
}

TEST_F(EngineTest, Ipv6CallAndIpv6Attacker) {
    const char* h6 = "2001:db8:20::10";
    const char* pbx6 = "2001:db8:100::10";
    EXPECT_EQ(feed(v6udp(h6, 5060, pbx6, 5060,
                         request("INVITE", "sip:02079460000@pbx.example.net", "v6", "f1", "", 1, sdp(h6, 40000, "", true))))
                  .verdict,
              Verdict::accept);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(feed(v6udp("2001:db8:100::20", 12000, h6, 40000, rtp())).verdict, Verdict::accept_verified);
    EXPECT_EQ(feed(v6udp("2001:db8:666::1", 12000, h6, 40000, rtp())).reason, Reason::media_injection);
    EXPECT_EQ(feed(v6udp("2001:db8:666::1", 5060, h6, 5060, "x")).reason, Reason::unlisted_source);
}

// Some phones write the IPv6 host of their Request-URI without brackets
// (RFC 5118 §4.2 asks for them). When it reads one way only, the call is
// judged as if bracketed, dial string and all; when it reads two ways, or
// the message is broken elsewhere too, it stays malformed.
TEST_F(EngineTest, AnUnbracketedIpv6RequestUriHostIsReadWhenItReadsOneWay) {
    const char* h6 = "2001:db8:20::10";
    const char* pbx6 = "2001:db8:100::10";
    auto invite = [&](const std::string& ruri, const std::string& call_id, const std::string& extra = "") {
        return feed(v6udp(h6, 5060, pbx6, 5060,
                          request("INVITE", ruri, call_id, "f1", "", 1, sdp(h6, 40000, "", true), "Phone", extra)));
    };
    const Decision d = invite("sip:02079460000@2001:db8:100:0:0:0:0:10:5060", "v6a");
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(d.reason, Reason::sip_inspected);
    EXPECT_EQ(engine_->dialog_count(), 1u);
    EXPECT_EQ(engine_->pinhole_count(), 2u);
    EXPECT_EQ(engine_->stats().sip_ipv6_hosts_bracketed, 1u);
    // The toll-fraud guard still reads the user part.
    const Decision fraud = invite("sip:00882130000001@2001:db8:100:0:0:0:0:10:5060", "v6b");
    EXPECT_EQ(fraud.verdict, Verdict::drop);
    EXPECT_EQ(fraud.reason, Reason::toll_fraud);
    // "2001:db8:100::10:5060": an address, or an address and a port.
    EXPECT_EQ(invite("sip:02079460000@2001:db8:100::10:5060", "v6c").reason, Reason::sip_malformed);
    EXPECT_EQ(rec_.last(EventType::malformed)->detail.view(), "bad_request_uri");
    // Broken elsewhere too: the first fault as sent.
    EXPECT_EQ(invite("sip:02079460000@2001:db8:100:0:0:0:0:10", "v6d", "Content-Length: 12\r\n").reason,
              Reason::sip_malformed);
    EXPECT_EQ(rec_.last(EventType::malformed)->detail.view(), "bad_request_uri");
    // The PBX's own requests to the handset are read the same way.
    EXPECT_EQ(feed(v6udp(pbx6, 5060, h6, 5060,
                         request("OPTIONS", "sip:201@2001:db8:20:0:0:0:0:10:5060", "v6e", "p", "", 1, "", "PBX")))
                  .reason,
              Reason::sip_inspected);
    EXPECT_EQ(engine_->stats().sip_ipv6_hosts_bracketed, 3u);
}

TEST_F(EngineTest, SipOverTcpSplitAcrossSegmentsIsJudgedWhole) {
    const std::string inv = request("INVITE", "sip:0088213000001@pbx.example.net", "tcp1", "f1", "", 1,
                                    sdp(kHandset, 40000));
    const std::uint32_t isn = 1000;
    EXPECT_EQ(feed(v4tcp(kHandset, 33000, kPbx, 5060, 0x02, "", isn)).verdict, Verdict::accept);
    // The PBX's SYN-ACK: the engine judges data only on a connection whose
    // handshake it saw.
    EXPECT_EQ(feed(v4tcp(kPbx, 5060, kHandset, 33000, 0x12, "", 7000, isn + 1)).verdict, Verdict::accept);
    const std::size_t half = inv.size() / 2;
    // First half: nothing complete yet, accepted.
    EXPECT_EQ(feed(v4tcp(kHandset, 33000, kPbx, 5060, 0x18, inv.substr(0, half), isn + 1)).verdict, Verdict::accept);
    // Second half completes the INVITE to a denied prefix: this segment is
    // dropped and the connection cut (the sender gets a reset).
    const Decision d = feed(v4tcp(kHandset, 33000, kPbx, 5060, 0x18, inv.substr(half), isn + 1 + half));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::toll_fraud);
    EXPECT_TRUE(d.reset);
    // Its retransmission is dropped too.
    EXPECT_EQ(feed(v4tcp(kHandset, 33000, kPbx, 5060, 0x18, inv.substr(half), isn + 1 + half)).reason,
              Reason::sip_stream_cut);
}

TEST_F(EngineTest, StaticAllowanceAcceptsPbxMediaWithoutSdp) {
    make(with_media("  static_allowance: true\n"));
    const Decision d = media_in(kPbxMedia, 12000, kHandset, 40000, "srtp-looking bytes");
    EXPECT_EQ(d.verdict, Verdict::accept_verified);
    // Named for what it is: no pinhole, no SDP read (the status's "blind" section counts it).
    EXPECT_EQ(d.reason, Reason::media_static_allowance);
    // The handset's media out to the PBX's media range passes too (e2e
    // scenario 45: SRTP over TLS signalling; it was dropped as
    // media_no_pinhole until the PBX's media came first).
    const Decision out = feed(v4udp(kHandset, 40000, kPbxMedia, 12000, rtp()));
    EXPECT_EQ(out.verdict, Verdict::accept_verified);
    EXPECT_EQ(out.reason, Reason::media_static_allowance);
    EXPECT_EQ(media_in(kPbxMedia, 5000, kHandset, 40000).reason, Reason::media_no_pinhole);
}

// SIP over TLS on the PBX's port 5061 with sip.ports [5060] (the default):
// found by the e2e scenario 45 (baresip over TLS to Kamailio). It passed as
// plain egress, so neither the log nor the status said that voipguard read
// nothing of those calls. Now as TLS on a SIP port: tls_uninspected, logged.
// TLS to the PBX on another port (its web interface) stays egress.
// Under the default egress allow-list too: 5061 at the PBX is signalling to
// the PBX, not egress (it was denied when the allow-list became the default,
// and e2e 45's TLS phones could not register); other data on that port, and
// the PBX's other ports, still need an egress.allow entry.
TEST_F(EngineTest, TlsToThePbxsSipsPortIsReportedUninspected) {
    const std::string hello("\x16\x03\x01\x00\x2a\x01\x00\x00\x26\x03\x03", 11);
    feed(v4tcp(kHandset, 40100, kPbx, 5061, 0x02, "", 1000));
    feed(v4tcp(kPbx, 5061, kHandset, 40100, 0x12, "", 5000, 1001));
    const Decision d = feed(v4tcp(kHandset, 40100, kPbx, 5061, 0x18, hello, 1001, 5001));
    EXPECT_EQ(d.verdict, Verdict::accept_verified);
    EXPECT_EQ(d.reason, Reason::tls_uninspected);
    ASSERT_EQ(rec_.count(EventType::tls_uninspected), 1u);
    EXPECT_EQ(rec_.last(EventType::tls_uninspected)->handset, *net::IpAddress::parse(kHandset));
    feed(v4tcp(kHandset, 40200, kPbx, 443, 0x02, "", 1000));
    feed(v4tcp(kPbx, 443, kHandset, 40200, 0x12, "", 5000, 1001));
    const Decision web = feed(v4tcp(kHandset, 40200, kPbx, 443, 0x18, hello, 1001, 5001));
    EXPECT_NE(web.reason, Reason::tls_uninspected);
    EXPECT_EQ(web.reason, Reason::egress_denied);
    EXPECT_EQ(rec_.count(EventType::tls_uninspected), 1u);
    // Not TLS on 5061: the egress rules, every segment of it.
    feed(v4tcp(kHandset, 40300, kPbx, 5061, 0x02, "", 1000));
    feed(v4tcp(kPbx, 5061, kHandset, 40300, 0x12, "", 5000, 1001));
    const std::string binary("\x01\x02\x03\x04 not TLS, not SIP\r\n", 23);
    const Decision plain = feed(v4tcp(kHandset, 40300, kPbx, 5061, 0x18, binary, 1001, 5001));
    EXPECT_EQ(plain.verdict, Verdict::drop);
    EXPECT_EQ(plain.reason, Reason::egress_denied);
    EXPECT_EQ(feed(v4tcp(kHandset, 40300, kPbx, 5061, 0x18, binary, 1001, 5001)).reason, Reason::egress_denied);
    EXPECT_EQ(rec_.count(EventType::tls_uninspected), 1u);
}

// A handset's SIP source port does not make a connection SIP: from port
// 5060 to the PBX's web port, a first segment that looks like TLS verified a
// channel to any PBX service (the kernel's fast path took it from there).
// Only a connection the PBX opened to the handset's SIP port is SIP.
TEST_F(EngineTest, AConnectionFromTheHandsetsSipPortToAnotherPbxPortIsEgress) {
    const std::string hello("\x16\x03\x01\x00\x2a\x01\x00\x00\x26\x03\x03", 11);
    EXPECT_EQ(feed(v4tcp(kHandset, 5060, kPbx, 443, 0x02, "", 1000)).reason, Reason::egress_denied);
    feed(v4tcp(kPbx, 443, kHandset, 5060, 0x12, "", 5000, 1001));
    // (A SYN-ACK the PBX could not have sent, as a forger would.)
    const Decision d = feed(v4tcp(kHandset, 5060, kPbx, 443, 0x18, hello, 1001, 5001));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_NE(d.reason, Reason::tls_uninspected);
    EXPECT_EQ(rec_.count(EventType::tls_uninspected), 0u);
    // The PBX opening a connection to the handset's SIP port from another
    // port is SIP both ways.
    feed(v4tcp(kPbx, 40700, kHandset, 5060, 0x02, "", 7000));
    const Decision synack = feed(v4tcp(kHandset, 5060, kPbx, 40700, 0x12, "", 2000, 7001));
    EXPECT_NE(synack.verdict, Verdict::drop);
    EXPECT_NE(synack.reason, Reason::egress_denied);
}

TEST_F(EngineTest, ReasonAndEventNamesAreStable) {
    EXPECT_EQ(reason_name(Reason::unlisted_source), "unlisted_source");
    EXPECT_EQ(reason_name(Reason::toll_fraud), "toll_fraud");
    EXPECT_EQ(event_id(EventType::toll_fraud), "VG_TOLL_FRAUD_BLOCKED");
    EXPECT_EQ(event_id(EventType::unlisted_source), "VG_DROP_UNLISTED_SOURCE");
    for (std::size_t i = 0; i < kReasonCount; ++i) EXPECT_NE(reason_name(static_cast<Reason>(i)), "unknown");
    for (std::size_t i = 0; i < kEventTypeCount; ++i) EXPECT_NE(event_name(static_cast<EventType>(i)), "unknown");
}

TEST_F(EngineTest, DialogAndPinholeMemoryStaysUnderOneKibPerCall) {
    // 1 dialog + 4 pinholes (two media lines, RTP + RTCP each).
    // Each table slot also holds three 32-bit links, and each bucket one more.
    const std::size_t links = 4 * sizeof(std::uint32_t);
    const std::size_t per_call = sizeof(Dialog) + sizeof(std::uint64_t) + links +
                                 4 * (sizeof(Pinhole) + sizeof(PinholeKey) + links);
    EXPECT_LE(per_call, 1024u) << "Dialog " << sizeof(Dialog) << " Pinhole " << sizeof(Pinhole);
}

}  // namespace
}  // namespace vg::engine
