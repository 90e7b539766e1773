// SPDX-License-Identifier: GPL-2.0-or-later
// The handset inventory alone (handsets.h): registrations, the firmware
// audit, stale handsets and the bounded table, through HandsetInventory's API
// with a compiled policy (stale after 1 h, Yealink SIP-T46S at least
// 66.86.0.15) and a time the test moves.
#include "filters/engine/handsets.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/engine_packets.h"
#include "tests/support/engine_policy.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kHandset2 = "192.168.20.11";
constexpr const char* kHandset3 = "192.168.20.12";
constexpr const char* kPbx = "203.0.113.10";
constexpr const char* kCurrent = "Yealink SIP-T46S 66.86.0.15";
constexpr const char* kOutdated = "Yealink SIP-T46S 66.85.0.5";

net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }

class HandsetsTest : public ::testing::Test {
protected:
    void SetUp() override { make(64); }

    void make(std::size_t capacity, const std::string& yaml = test::site_policy()) {
        auto rules = test::compile_policy(yaml);
        ASSERT_NE(rules, nullptr);
        inventory_.reset();
        ctx_ = std::make_unique<EngineContext>(rules);
        inventory_ = std::make_unique<HandsetInventory>(*ctx_, capacity);
    }

    // A SIP request the handset sends (its User-Agent `ua`).
    void sends(const char* method, const char* handset = kHandset, const std::string& ua = kCurrent,
               const std::string& user = "201") {
        const std::string ruri = method == std::string("REGISTER") ? "sip:pbx.example.net"
                                                                   : "sip:02079460000@pbx.example.net";
        std::string msg = request(method, ruri, std::string("id-") + method + handset, "f1", "", 1, "", ua);
        if (method == std::string("REGISTER"))
            msg.replace(msg.find("To: <sip:pbx.example.net>"), 25, "To: <sip:" + user + "@pbx.example.net>");
        const net::DecodedPacket& p = jar_.udp(handset, 5060, kPbx, 5060, msg);
        inventory_->note_sip(ip(handset), jar_.sip(p), Now::at(now_), rec_);
    }
    // An INVITE of call `call_id`.
    void calls(const char* call_id, const char* handset = kHandset, const std::string& ua = kCurrent) {
        const std::string msg = request("INVITE", "sip:02079460000@pbx.example.net", call_id, "f1", "", 1, "", ua);
        const net::DecodedPacket& p = jar_.udp(handset, 5060, kPbx, 5060, msg);
        inventory_->note_sip(ip(handset), jar_.sip(p), Now::at(now_), rec_);
    }
    void advance(Duration d) {
        now_ += d;
        inventory_->tick(now_, rec_);
    }
    const Handset* handset(const char* a) const { return inventory_->find(ip(a)); }

    std::unique_ptr<EngineContext> ctx_;
    std::unique_ptr<HandsetInventory> inventory_;
    test::PacketJar jar_;
    test::EventRecorder rec_;
    Timestamp now_ = Timestamp{} + 5000s;
};

TEST_F(HandsetsTest, TheFirstRegisterIsReportedWithTheAor) {
    sends("REGISTER");
    ASSERT_EQ(rec_.count(EventType::handset_registered), 1u);
    const Event* e = rec_.last(EventType::handset_registered);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->detail, "201@pbx.example.net");
    EXPECT_EQ(e->user_agent, kCurrent);
    const Handset* h = handset(kHandset);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->aor, "201@pbx.example.net");
    EXPECT_EQ(h->user_agent, kCurrent);
    EXPECT_EQ(h->first_seen, now_);
    EXPECT_EQ(h->last_register, now_);
    EXPECT_FALSE(h->firmware_outdated);
    EXPECT_FALSE(h->stale);
    // Re-registering is not news.
    advance(10min);
    sends("REGISTER");
    EXPECT_EQ(rec_.count(EventType::handset_registered), 1u);
    EXPECT_EQ(handset(kHandset)->last_register, now_);
    EXPECT_EQ(inventory_->size(), 1u);
}

TEST_F(HandsetsTest, OtherRequestsAddTheHandsetWithoutARegistration) {
    sends("OPTIONS");
    ASSERT_NE(handset(kHandset), nullptr);
    EXPECT_EQ(handset(kHandset)->last_register, Timestamp{});
    EXPECT_EQ(rec_.count(EventType::handset_registered), 0u);
}

TEST_F(HandsetsTest, ThePbxAcceptingARegistrationSetsItsExpiry) {
    sends("REGISTER");
    inventory_->registered(ip(kHandset), 600, now_);
    EXPECT_EQ(handset(kHandset)->registered_until, now_ + 600s);
    // An address the inventory does not know is not added by the PBX's word.
    inventory_->registered(ip(kHandset2), 600, now_);
    EXPECT_EQ(handset(kHandset2), nullptr);
}

TEST_F(HandsetsTest, OutdatedFirmwareIsReportedOncePerUserAgent) {
    sends("REGISTER", kHandset, kOutdated);
    ASSERT_EQ(rec_.count(EventType::firmware_outdated), 1u);
    const Event* e = rec_.last(EventType::firmware_outdated);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->detail, "version:66.85.0.5 minimum:66.86.0.15");
    EXPECT_EQ(e->rule, "Yealink SIP-T46S");
    EXPECT_EQ(e->user_agent, kOutdated);
    EXPECT_TRUE(handset(kHandset)->firmware_outdated);
    // The same User-Agent again: already known.
    sends("OPTIONS", kHandset, kOutdated);
    EXPECT_EQ(rec_.count(EventType::firmware_outdated), 1u);
    // Upgraded.
    sends("OPTIONS", kHandset, "Yealink SIP-T46S 66.86.0.20");
    EXPECT_FALSE(handset(kHandset)->firmware_outdated);
    EXPECT_EQ(rec_.count(EventType::firmware_outdated), 1u);
    // Downgraded again: reported again.
    sends("OPTIONS", kHandset, kOutdated);
    EXPECT_EQ(rec_.count(EventType::firmware_outdated), 2u);
}

TEST_F(HandsetsTest, FirmwareAtTheMinimumOrOfAnotherModelIsNotReported) {
    sends("REGISTER", kHandset, kCurrent);
    sends("REGISTER", kHandset2, "Yealink SIP-T54W 1.0.0.1");
    EXPECT_EQ(rec_.count(EventType::firmware_outdated), 0u);
    EXPECT_FALSE(handset(kHandset2)->firmware_outdated);
}

TEST_F(HandsetsTest, AHandsetThatStopsRegisteringGoesStaleOnceAndComesBack) {
    sends("REGISTER");
    advance(1h);
    EXPECT_FALSE(handset(kHandset)->stale);
    EXPECT_EQ(rec_.count(EventType::handset_stale), 0u);
    advance(1s);
    ASSERT_EQ(rec_.count(EventType::handset_stale), 1u);
    const Event* e = rec_.last(EventType::handset_stale);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->detail, "201@pbx.example.net");
    EXPECT_EQ(e->count, 3601u);   // seconds since its last registration
    EXPECT_TRUE(handset(kHandset)->stale);
    advance(1h);
    EXPECT_EQ(rec_.count(EventType::handset_stale), 1u);
    // It registers again: news again.
    sends("REGISTER");
    EXPECT_FALSE(handset(kHandset)->stale);
    EXPECT_EQ(rec_.count(EventType::handset_registered), 2u);
}

TEST_F(HandsetsTest, AHandsetThatNeverRegisteredGoesStaleFromWhenItWasFirstSeen) {
    inventory_->touch(ip(kHandset), now_, rec_);   // in a call
    advance(30min);
    inventory_->touch(ip(kHandset), now_, rec_);   // seen again: not a registration
    advance(30min + 1s);
    EXPECT_TRUE(handset(kHandset)->stale);
    EXPECT_EQ(rec_.last(EventType::handset_stale)->count, 3601u);
}

TEST_F(HandsetsTest, AFullInventoryForgetsTheLeastRecentlySeenHandset) {
    make(2);
    sends("REGISTER", kHandset);
    sends("REGISTER", kHandset2);
    sends("OPTIONS", kHandset);   // seen again: now the most recent
    sends("REGISTER", kHandset3);
    EXPECT_EQ(inventory_->size(), 2u);
    EXPECT_EQ(ctx_->stats.evictions_handsets, 1u);
    ASSERT_EQ(rec_.count(EventType::table_eviction), 1u);
    EXPECT_EQ(rec_.last(EventType::table_eviction)->detail, "handsets");
    EXPECT_NE(handset(kHandset), nullptr);
    EXPECT_EQ(handset(kHandset2), nullptr);
    EXPECT_NE(handset(kHandset3), nullptr);
}

// ---- hijack signs ----------------------------------------------------------

TEST(SplitUserAgent, ProductAndVersion) {
    EXPECT_EQ(split_user_agent("Yealink SIP-T46S 66.86.0.15").product, "Yealink SIP-T46S");
    EXPECT_EQ(split_user_agent("Yealink SIP-T46S 66.86.0.15").version, "66.86.0.15");
    EXPECT_EQ(split_user_agent("PolycomVVX-VVX_410-UA/5.9.5.0614").product, "PolycomVVX-VVX_410-UA");
    EXPECT_EQ(split_user_agent("Cisco/SPA504G-7.6.2c").version, "7.6.2c");
    EXPECT_EQ(split_user_agent("friendly-scanner").product, "friendly-scanner");
    EXPECT_EQ(split_user_agent("friendly-scanner").version, "");
    EXPECT_EQ(split_user_agent("").product, "");
}

TEST_F(HandsetsTest, ARegisterFromAnotherDeviceIsReported) {
    sends("REGISTER", kHandset, kCurrent);
    sends("REGISTER", kHandset, "Grandstream GXP2170 1.0.11.3");
    ASSERT_EQ(rec_.count(EventType::handset_user_agent_changed), 1u);
    const Event* e = rec_.last(EventType::handset_user_agent_changed);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->rule, "other_device");
    EXPECT_EQ(e->user_agent, "Grandstream GXP2170 1.0.11.3");
    EXPECT_EQ(e->detail, std::string("was:") + kCurrent);
}

TEST_F(HandsetsTest, AFirmwareDowngradeIsReportedAnUpgradeIsNot) {
    sends("REGISTER", kHandset, "Yealink SIP-T46S 66.86.0.20");
    sends("REGISTER", kHandset, "Yealink SIP-T46S 66.86.0.30");   // upgrade
    EXPECT_EQ(rec_.count(EventType::handset_user_agent_changed), 0u);
    sends("REGISTER", kHandset, "Yealink SIP-T46S 66.86.0.15");   // downgrade
    ASSERT_EQ(rec_.count(EventType::handset_user_agent_changed), 1u);
    EXPECT_EQ(rec_.last(EventType::handset_user_agent_changed)->rule, "firmware_downgrade");
    // Only REGISTERs are compared: another message's User-Agent is not a registration.
    sends("OPTIONS", kHandset, "Grandstream GXP2170 1.0.11.3");
    EXPECT_EQ(rec_.count(EventType::handset_user_agent_changed), 1u);
}

TEST_F(HandsetsTest, AnAorRegisteredFromASecondAddressIsReported) {
    sends("REGISTER", kHandset);
    inventory_->registered(ip(kHandset), 3600, now_);
    advance(1min);
    sends("REGISTER", kHandset2);   // the same AOR, 201
    ASSERT_EQ(rec_.count(EventType::aor_second_address), 1u);
    const Event* e = rec_.last(EventType::aor_second_address);
    EXPECT_EQ(e->handset, ip(kHandset2));
    EXPECT_EQ(e->detail, "201@pbx.example.net");
    EXPECT_EQ(e->rule, std::string("also_at:") + kHandset);
    // Its refreshes are not news.
    sends("REGISTER", kHandset2);
    EXPECT_EQ(rec_.count(EventType::aor_second_address), 1u);
}

TEST_F(HandsetsTest, AnAorWhoseOldRegistrationExpiredMayMove) {
    sends("REGISTER", kHandset);
    inventory_->registered(ip(kHandset), 60, now_);
    advance(2min);
    sends("REGISTER", kHandset2);   // a new lease after the old registration ran out
    sends("REGISTER", kHandset3, kCurrent, "202");   // another AOR
    EXPECT_EQ(rec_.count(EventType::aor_second_address), 0u);
}

TEST_F(HandsetsTest, ANewRegistrationOutOfHoursIsReported) {
    std::string yaml = test::site_policy();
    yaml.replace(yaml.find("  emergency_numbers:"), 0,
                 "  out_of_hours:\n    timezone: UTC\n    business_hours: [\"mon-fri 08:00-18:00\"]\n");
    make(64, yaml);
    // 5000 s after the epoch: Thursday 01:23 UTC, out of hours.
    sends("REGISTER", kHandset);
    ASSERT_EQ(rec_.count(EventType::registered_out_of_hours), 1u);
    EXPECT_EQ(rec_.last(EventType::registered_out_of_hours)->detail, "201@pbx.example.net");
    sends("REGISTER", kHandset);   // a refresh at night is not news
    EXPECT_EQ(rec_.count(EventType::registered_out_of_hours), 1u);
    now_ = Timestamp{} + 9h;       // Thursday 09:00
    sends("REGISTER", kHandset2, kCurrent, "203");
    EXPECT_EQ(rec_.count(EventType::registered_out_of_hours), 1u);
}

TEST_F(HandsetsTest, NoBusinessHoursNoOutOfHoursRegistrations) {
    sends("REGISTER", kHandset);
    EXPECT_EQ(rec_.count(EventType::registered_out_of_hours), 0u);
}

TEST_F(HandsetsTest, EachCallFromOutdatedFirmwareIsReportedOnce) {
    sends("REGISTER", kHandset, kOutdated);
    calls("call-a", kHandset, kOutdated);
    calls("call-a", kHandset, kOutdated);   // retransmission
    ASSERT_EQ(rec_.count(EventType::outdated_firmware_call), 1u);
    const Event* e = rec_.last(EventType::outdated_firmware_call);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->call_id, "call-a");
    EXPECT_EQ(e->dialled, "02079460000");
    calls("call-b", kHandset, kOutdated);
    EXPECT_EQ(rec_.count(EventType::outdated_firmware_call), 2u);
    // Current firmware: no event.
    calls("call-c", kHandset2, kCurrent);
    EXPECT_EQ(rec_.count(EventType::outdated_firmware_call), 2u);
}

}  // namespace
}  // namespace vg::engine
