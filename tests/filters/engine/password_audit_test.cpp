// SPDX-License-Identifier: GPL-2.0-or-later
// The passive password audit (password_audit.h) through the handset
// inventory that runs it: every rule found, a strong password not, the
// budget (per second and per packet) deferring and resuming a check, one
// check per nonce, and never the password in an event. And through the
// whole engine: the verdict is what it would be without the audit.
#include "filters/engine/password_audit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "filters/engine/engine.h"
#include "filters/engine/handsets.h"
#include "tests/support/digest_auth.h"
#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kPbx = "203.0.113.10";

net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }

std::string policy(const std::string& handset_keys) {
    std::string s = test::site_policy();
    s.replace(s.find("  stale_after: 1h\n"), 0, handset_keys);
    return s;
}

class PasswordAuditTest : public ::testing::Test {
protected:
    void SetUp() override { make("  weak_passwords: [acme-phones-77]\n"); }

    void make(const std::string& keys) {
        auto rules = test::compile_policy(policy(keys));
        ASSERT_NE(rules, nullptr);
        inventory_.reset();
        ctx_ = std::make_unique<EngineContext>(rules);
        inventory_ = std::make_unique<HandsetInventory>(*ctx_, 16);
    }

    // A REGISTER with digest credentials for `password`.
    void registers(const std::string& password, const test::DigestParams& p = {}) {
        const std::string extra = test::authorization_header(p, password);
        std::string msg = request("REGISTER", "sip:pbx.example.net", "reg-1", "f1", "", ++cseq_, "",
                                  "Yealink SIP-T46S 66.86.0.15", extra);
        msg.replace(msg.find("To: <sip:pbx.example.net>"), 25, "To: <sip:" + p.user + "@pbx.example.net>");
        const net::DecodedPacket& pk = jar_.udp(kHandset, 5060, kPbx, 5060, msg);
        inventory_->note_sip(ip(kHandset), jar_.sip(pk), Now::at(now_), rec_);
    }
    const Handset& handset() const { return *inventory_->find(ip(kHandset)); }
    const EngineStats& stats() const { return ctx_->stats; }

    std::unique_ptr<EngineContext> ctx_;
    std::unique_ptr<HandsetInventory> inventory_;
    test::PacketJar jar_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 5000s;
    unsigned cseq_ = 0;
};

struct RuleCase {
    const char* password;
    WeakRule rule;
    const char* text;
};

class PasswordAuditRules : public PasswordAuditTest, public ::testing::WithParamInterface<RuleCase> {};

TEST_P(PasswordAuditRules, AWeakPasswordIsFoundAndNamedByItsRule) {
    registers(GetParam().password);
    ASSERT_EQ(rec_.count(EventType::weak_credential), 1u);
    const Event* e = rec_.last(EventType::weak_credential);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->rule, GetParam().text);
    EXPECT_EQ(e->detail, "201@pbx.example.net realm:pbx.example.net");
    EXPECT_EQ(e->method, "REGISTER");
    EXPECT_EQ(handset().audit.weak, GetParam().rule);
    EXPECT_EQ(weak_rule_text(GetParam().rule), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    EachRule, PasswordAuditRules,
    ::testing::Values(RuleCase{"201", WeakRule::equals_user, "equals the extension"},
                      RuleCase{"102", WeakRule::user_reversed, "user name reversed"},
                      RuleCase{"201201", WeakRule::user_repeated, "user name repeated"},
                      RuleCase{"201123", WeakRule::user_123, "user name + 123"},
                      RuleCase{"1234", WeakRule::common, "common weak password"},
                      RuleCase{"password", WeakRule::common, "common weak password"},
                      RuleCase{"22222", WeakRule::vendor_default, "vendor default list entry"},
                      RuleCase{"acme-phones-77", WeakRule::policy_list, "policy list entry"}));

TEST_F(PasswordAuditTest, AStrongPasswordIsNotReported) {
    registers("w7#Tq9!pLz2v");
    EXPECT_EQ(rec_.count(EventType::weak_credential), 0u);
    EXPECT_EQ(handset().audit.weak, WeakRule::none);
    EXPECT_EQ(stats().audit_checks, 1u);
    EXPECT_EQ(stats().audit_completed, 1u);
    EXPECT_EQ(stats().audit_passwords_tested, inventory_->audit().candidate_count());
    EXPECT_EQ(handset().audit.next, AuditState::kDone);
}

TEST_F(PasswordAuditTest, EachNonceIsCheckedOnce) {
    registers("w7#Tq9!pLz2v");
    const std::uint64_t tested = stats().audit_passwords_tested;
    registers("w7#Tq9!pLz2v");   // a refresh with the same nonce (nc 2 would be the same check)
    registers("w7#Tq9!pLz2v");
    EXPECT_EQ(stats().audit_passwords_tested, tested);
    EXPECT_EQ(stats().audit_checks, 1u);
    test::DigestParams p;
    p.nonce = "another-nonce";
    registers("w7#Tq9!pLz2v", p);
    EXPECT_EQ(stats().audit_checks, 2u);
    EXPECT_EQ(stats().audit_passwords_tested, 2 * tested);
}

TEST_F(PasswordAuditTest, AFindingIsReportedOnceAndClearedWhenThePasswordChanges) {
    registers("1234");
    test::DigestParams p;
    p.nonce = "n2";
    registers("1234", p);   // the same weakness under a new nonce: no second event
    EXPECT_EQ(rec_.count(EventType::weak_credential), 1u);
    p.nonce = "n3";
    registers("a-long-and-strong-one", p);
    EXPECT_EQ(handset().audit.weak, WeakRule::none);
    p.nonce = "n4";
    registers("1234", p);
    EXPECT_EQ(rec_.count(EventType::weak_credential), 2u);
}

TEST_F(PasswordAuditTest, ThePasswordIsNeverInAnEvent) {
    const std::string secret = "acme-phones-77";
    registers(secret);
    ASSERT_EQ(rec_.count(EventType::weak_credential), 1u);
    for (const Event& e : rec_.events)
        for (std::string_view f : {e.method.view(), e.user_agent.view(), e.call_id.view(), e.number.view(),
                                   e.dialled.view(), e.rule.view(), e.detail.view()})
            EXPECT_EQ(f.find(secret), std::string_view::npos) << f;
    // The user-name rules neither: "equals the extension" names no value.
    rec_.clear();
    test::DigestParams p;
    p.user = "alice";
    p.nonce = "n9";
    registers("ecila", p);
    const Event* e = rec_.last(EventType::weak_credential);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->rule, "user name reversed");
    EXPECT_EQ(e->detail.view().find("ecila"), std::string_view::npos);
}

// 1 hash per second: the check stops at once (deferred, counted) and the
// handset's next message with the same nonce resumes it.
TEST_F(PasswordAuditTest, ABudgetThatIsOutDefersTheCheckWhichResumesLater) {
    make("  password_audit_rate: 10\n");
    registers("22222");   // a vendor default: after the derived and common ones
    EXPECT_EQ(rec_.count(EventType::weak_credential), 0u);
    EXPECT_EQ(stats().audit_deferred, 1u);
    EXPECT_LE(stats().audit_hashes, 10u);   // the burst, no more
    const std::uint16_t stopped_at = handset().audit.next;
    EXPECT_LT(stopped_at, inventory_->audit().candidate_count());
    registers("22222");   // no time has passed: nothing to spend
    EXPECT_EQ(handset().audit.next, stopped_at);
    EXPECT_EQ(stats().audit_deferred, 2u);
    for (int i = 0; i < 10 && rec_.count(EventType::weak_credential) == 0; ++i) {
        now_ += 1s;
        registers("22222");
    }
    EXPECT_EQ(rec_.count(EventType::weak_credential), 1u);
    EXPECT_EQ(rec_.last(EventType::weak_credential)->rule, "vendor default list entry");
    EXPECT_LE(stats().audit_hashes, 10u + 10u * 10u);
}

// A REGISTER flood with the budget spent: the credentials are not even
// parsed (each parse costs a token); the check resumes once the budget is back.
TEST_F(PasswordAuditTest, AnExhaustedBudgetSkipsParsingAndTheDeferredCheckResumes) {
    make("  password_audit_rate: 10\n");
    registers("22222");   // 1 hash for H(A2), 2 per candidate: 4 candidates, 1 token left
    EXPECT_EQ(stats().audit_parsed, 1u);
    EXPECT_EQ(stats().audit_unparsed_budget, 0u);
    EXPECT_EQ(stats().audit_hashes, 9u);
    const std::uint64_t deferred = stats().audit_deferred;
    const std::uint16_t stopped_at = handset().audit.next;
    ASSERT_NE(stopped_at, AuditState::kDone);
    // No time passes: the last token goes to one more parse and its H(A2);
    // after that nothing is parsed at all.
    for (int i = 0; i < 1000; ++i) registers("22222");
    EXPECT_EQ(stats().audit_parsed, 2u);
    EXPECT_EQ(stats().audit_unparsed_budget, 999u);
    EXPECT_EQ(stats().audit_deferred, deferred + 1000u);
    EXPECT_EQ(handset().audit.next, stopped_at);
    EXPECT_EQ(stats().audit_hashes, 10u);
    // The budget comes back: the same nonce resumes where it stopped.
    now_ += 1s;
    registers("22222");
    EXPECT_EQ(stats().audit_parsed, 3u);
    EXPECT_EQ(stats().audit_checks, 1u);   // the same check, not a new one
    EXPECT_GT(handset().audit.next, stopped_at);
    for (int i = 0; i < 20 && rec_.count(EventType::weak_credential) == 0; ++i) {
        now_ += 1s;
        registers("22222");
    }
    ASSERT_EQ(rec_.count(EventType::weak_credential), 1u);
    EXPECT_EQ(rec_.last(EventType::weak_credential)->rule, "vendor default list entry");
}

// Credentials that do not parse lead to no hashing: each parse costs a token
// itself, so a flood of them is parsed no more often than the budget allows.
TEST_F(PasswordAuditTest, MalformedCredentialsCostATokenPerParse) {
    make("  password_audit_rate: 10\n");
    for (int i = 0; i < 100; ++i) {
        std::string msg = request("REGISTER", "sip:pbx.example.net", "reg-1", "f1", "", ++cseq_, "",
                                  "Yealink SIP-T46S 66.86.0.15",
                                  "Authorization: Digest username=\"201\", nonce=\"n1\", realm\r\n");
        const net::DecodedPacket& pk = jar_.udp(kHandset, 5060, kPbx, 5060, msg);
        inventory_->note_sip(ip(kHandset), jar_.sip(pk), Now::at(now_), rec_);
    }
    EXPECT_EQ(stats().audit_parsed, 10u);
    EXPECT_EQ(stats().audit_skipped_malformed, 10u);
    EXPECT_EQ(stats().audit_unparsed_budget, 90u);
}

// A nonce the handset's finished check covered is recognised without
// parsing and without spending; a new nonce is parsed and checked.
TEST_F(PasswordAuditTest, ANonceAlreadyCheckedIsNotParsedAgain) {
    registers("not-a-weak-one");
    ASSERT_EQ(handset().audit.next, AuditState::kDone);
    EXPECT_EQ(stats().audit_parsed, 1u);
    const std::uint64_t hashes = stats().audit_hashes;
    test::DigestParams p;
    for (int i = 2; i < 102; ++i) {
        p.nc = "0000" + std::to_string(1000 + i);   // the handset counts its uses of the nonce
        registers("not-a-weak-one", p);
    }
    EXPECT_EQ(stats().audit_parsed, 1u);
    EXPECT_EQ(stats().audit_unparsed_repeat, 100u);
    EXPECT_EQ(stats().audit_hashes, hashes);
    EXPECT_EQ(stats().audit_checks, 1u);
    p.nonce = "77aa0f3e";
    registers("not-a-weak-one", p);
    EXPECT_EQ(stats().audit_parsed, 2u);
    EXPECT_EQ(stats().audit_checks, 2u);
}

TEST(PasswordAuditScan, TheLightScanFindsTheNonceParameterOnly) {
    EXPECT_EQ(PasswordAudit::scan_nonce("Digest username=\"201\", nonce=\"abc\", cnonce=\"x\""), "abc");
    EXPECT_EQ(PasswordAudit::scan_nonce("digest cnonce=\"x\",nonce=tok , realm=r"), "tok");
    EXPECT_EQ(PasswordAudit::scan_nonce("Digest realm=\"a, nonce=fake\", nonce = \"real\\\"q\""), "real\\\"q");
    EXPECT_EQ(PasswordAudit::scan_nonce("Digest username=\"201\""), "");
    EXPECT_EQ(PasswordAudit::scan_nonce("Basic nonce=abc"), "");
    EXPECT_EQ(PasswordAudit::scan_nonce("Digest nonce=\"unterminated"), "");
    EXPECT_EQ(PasswordAudit::scan_nonce("Digest ,,, = , nonce"), "");
}

// At most kMaxHashesPerPacket per packet however much budget there is.
TEST_F(PasswordAuditTest, OnePacketSpendsAtMostTheCapAndTheNextGoesOn) {
    std::string list = "  weak_passwords: [";
    for (int i = 0; i < 60; ++i) list += (i ? ", p" : "p") + std::to_string(i);
    make(list + "]\n");
    registers("p59");   // the last candidate
    // 1 hash for H(A2), then 2 per candidate while they fit under the cap.
    EXPECT_LE(stats().audit_hashes, PasswordAudit::kMaxHashesPerPacket);
    EXPECT_GE(stats().audit_hashes, PasswordAudit::kMaxHashesPerPacket - 1);
    EXPECT_EQ(rec_.count(EventType::weak_credential), 0u);
    registers("p59");
    registers("p59");
    EXPECT_EQ(rec_.count(EventType::weak_credential), 1u);
    EXPECT_EQ(rec_.last(EventType::weak_credential)->rule, "policy list entry");
}

TEST_F(PasswordAuditTest, OffAtRateZeroAndAuthIntIsSkippedAndCounted) {
    make("  password_audit_rate: 0\n");
    registers("1234");
    EXPECT_EQ(stats().audit_checks, 0u);
    EXPECT_EQ(rec_.count(EventType::weak_credential), 0u);

    make("");
    const std::string extra =
        "Authorization: Digest username=\"201\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", "
        "response=\"00112233445566778899aabbccddeeff\", qop=auth-int, nc=00000001, cnonce=\"c\"\r\n";
    const std::string msg = request("REGISTER", "sip:pbx.example.net", "r", "f1", "", 1, "", "X", extra);
    inventory_->note_sip(ip(kHandset), jar_.sip(jar_.udp(kHandset, 5060, kPbx, 5060, msg)), Now::at(now_), rec_);
    EXPECT_EQ(stats().audit_skipped_auth_int, 1u);
    EXPECT_EQ(stats().audit_passwords_tested, 0u);
}

TEST_F(PasswordAuditTest, ProxyAuthorizationOnAnInviteIsAuditedToo) {
    test::DigestParams p;
    p.method = "INVITE";
    p.uri = "sip:02079460000@pbx.example.net";
    const std::string msg = request("INVITE", p.uri, "call-1", "f1", "", 1, "", "Yealink SIP-T46S 66.86.0.15",
                                    test::authorization_header(p, "0000", "Proxy-Authorization"));
    inventory_->note_sip(ip(kHandset), jar_.sip(jar_.udp(kHandset, 5060, kPbx, 5060, msg)), Now::at(now_), rec_);
    ASSERT_EQ(rec_.count(EventType::weak_credential), 1u);
    EXPECT_EQ(rec_.last(EventType::weak_credential)->method, "INVITE");
}

// The whole engine: the REGISTER passes as it would without the audit.
TEST(PasswordAuditEngine, TheVerdictIsUnchanged) {
    auto rules = test::compile_policy(test::site_policy());
    ASSERT_NE(rules, nullptr);
    Engine eng(rules);
    test::PacketJar jar;
    test::EventRecorder rec;
    test::DigestParams p;
    std::string msg = request("REGISTER", "sip:pbx.example.net", "reg-1", "f1", "", 1, "", "Yealink SIP-T46S 66.86.0.15",
                              test::authorization_header(p, "201"));
    const Decision d = eng.process(jar.udp(kHandset, 5060, kPbx, 5060, msg), Now::at(Timestamp{} + 100s), rec);
    EXPECT_EQ(d.verdict, Verdict::accept);
    EXPECT_EQ(d.reason, Reason::sip_inspected);
    EXPECT_EQ(rec.count(EventType::weak_credential), 1u);
    EXPECT_EQ(eng.stats().audit_completed, 1u);
}

}  // namespace
}  // namespace vg::engine
