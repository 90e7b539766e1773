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

// ---------------------------------------------------------------------------
// The inventory (handsets.known)

std::string with_known(const std::string& entries) {
    std::string s = test::site_policy();
    s.replace(s.find("  stale_after: 1h\n"), 0, "  known:\n" + entries);
    return s;
}

// 201 belongs at 192.168.20.10 and is a Yealink SIP-T46S; 202 is any
// device at any address and any domain.
const std::string kKnown = "    - aor: 201@pbx.example.net\n      address: 192.168.20.10\n"
                           "      model: \"yealink sip-t46s\"\n    - aor: \"202\"\n";

const KnownHandsetState* known_entry(const HandsetInventory& inv, const std::string& aor) {
    for (const KnownHandsetState& k : inv.known())
        if (k.aor == aor) return &k;
    return nullptr;
}

TEST_F(HandsetsTest, WithoutAnInventoryNoHandsetIsKnownOrUnknown) {
    sends("REGISTER");
    EXPECT_TRUE(inventory_->known().empty());
    EXPECT_EQ(handset(kHandset)->listed, Listing::none);
    advance(3h);
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 0u);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 0u);
}

TEST_F(HandsetsTest, AnUnlistedAorIsReportedOncePerAddressAndAor) {
    make(64, with_known(kKnown));
    sends("REGISTER", kHandset2, kCurrent, "203");
    ASSERT_EQ(rec_.count(EventType::unknown_handset), 1u);
    const Event* e = rec_.last(EventType::unknown_handset);
    EXPECT_EQ(e->handset, ip(kHandset2));
    EXPECT_EQ(e->detail, "203@pbx.example.net");
    EXPECT_EQ(e->user_agent, kCurrent);
    EXPECT_EQ(handset(kHandset2)->listed, Listing::unknown);
    // Its refreshes are not news; another AOR from it is.
    advance(5min);
    sends("REGISTER", kHandset2, kCurrent, "203");
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 1u);
    sends("REGISTER", kHandset2, kCurrent, "204");
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 2u);
    EXPECT_EQ(rec_.last(EventType::unknown_handset)->detail, "204@pbx.example.net");
    // Listed ones are not: 201 at its address, 202 (an extension: any domain) anywhere.
    sends("REGISTER", kHandset, kCurrent, "201");
    sends("REGISTER", kHandset3, "Fanvil X4U 2.12.1", "202");
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 2u);
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 0u);
    EXPECT_EQ(handset(kHandset)->listed, Listing::known);
    EXPECT_EQ(handset(kHandset3)->listed, Listing::known);
    // The user part is compared exactly: "2020" is not "202".
    sends("REGISTER", kHandset3, "Fanvil X4U 2.12.1", "2020");
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 3u);
    EXPECT_EQ(handset(kHandset3)->listed, Listing::unknown);
}

TEST_F(HandsetsTest, AListedAorFromAnotherAddressIsAMismatch) {
    make(64, with_known(kKnown));
    // The account of 201 registered from a new device (a stolen password).
    sends("REGISTER", kHandset3, kCurrent, "201");
    ASSERT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    const Event* e = rec_.last(EventType::handset_mismatch);
    EXPECT_EQ(e->handset, ip(kHandset3));
    EXPECT_EQ(e->rule, "address:192.168.20.10");
    EXPECT_EQ(e->detail, "201@pbx.example.net");
    EXPECT_EQ(e->user_agent, kCurrent);
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 0u);
    EXPECT_EQ(handset(kHandset3)->listed, Listing::mismatch);
    advance(5min);
    sends("REGISTER", kHandset3, kCurrent, "201");   // its refresh
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    const KnownHandsetState* k = known_entry(*inventory_, "201@pbx.example.net");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->last_address, ip(kHandset3));
    // From its own address: nothing to say.
    sends("REGISTER", kHandset, kCurrent, "201");
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    EXPECT_EQ(handset(kHandset)->listed, Listing::known);
}

TEST_F(HandsetsTest, AListedAorWithAnotherModelIsAMismatch) {
    make(64, with_known(kKnown));
    sends("REGISTER", kHandset, "Grandstream GXP2170 1.0.11.3", "201");
    ASSERT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    EXPECT_EQ(rec_.last(EventType::handset_mismatch)->rule, "model:yealink sip-t46s");
    EXPECT_EQ(handset(kHandset)->listed, Listing::mismatch);
    sends("REGISTER", kHandset, "Grandstream GXP2170 1.0.11.3", "201");
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    // The listed model (case-insensitive) is fine; a change back away from it is news.
    sends("REGISTER", kHandset, kCurrent, "201");
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 1u);
    EXPECT_EQ(handset(kHandset)->listed, Listing::known);
    sends("REGISTER", kHandset, "Grandstream GXP2170 1.0.11.3", "201");
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 2u);
    // A REGISTER that does not say what it is cannot show the listed model.
    sends("REGISTER", kHandset2, "", "201");
    EXPECT_EQ(rec_.count(EventType::handset_mismatch), 4u);   // another address, and no model
    EXPECT_EQ(rec_.last(EventType::handset_mismatch)->rule, "model:yealink sip-t46s");
    EXPECT_EQ(handset(kHandset2)->listed, Listing::mismatch);
}

TEST_F(HandsetsTest, AListedHandsetThatStopsRegisteringIsForgottenOncePerPeriod) {
    make(64, with_known(kKnown));
    sends("REGISTER", kHandset, kCurrent, "201");
    sends("REGISTER", kHandset2, kCurrent, "202");
    advance(1h);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 0u);
    sends("REGISTER", kHandset2, kCurrent, "202");   // 202 keeps registering
    advance(1s);
    ASSERT_EQ(rec_.count(EventType::handset_forgotten), 1u);
    const Event* e = rec_.last(EventType::handset_forgotten);
    EXPECT_EQ(e->handset, ip(kHandset));
    EXPECT_EQ(e->detail, "201@pbx.example.net");
    EXPECT_EQ(e->rule, "not_registering");
    EXPECT_EQ(e->count, 3601u);
    const KnownHandsetState* k = known_entry(*inventory_, "201@pbx.example.net");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(inventory_->status(*k, now_), KnownStatus::forgotten);
    EXPECT_EQ(inventory_->status(*known_entry(*inventory_, "202"), now_), KnownStatus::registering);
    // Again once per staleness period, not at every tick.
    for (int i = 0; i < 59; ++i) advance(1min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 1u);
    sends("REGISTER", kHandset2, kCurrent, "202");
    advance(1min);
    ASSERT_EQ(rec_.count(EventType::handset_forgotten), 2u);
    EXPECT_EQ(rec_.last(EventType::handset_forgotten)->count, 7201u);   // 2 h and 1 s since its last REGISTER
    // It registers again: registering, and no report while it does.
    sends("REGISTER", kHandset, kCurrent, "201");
    EXPECT_EQ(inventory_->status(*k, now_), KnownStatus::registering);
    advance(30min);
    sends("REGISTER", kHandset, kCurrent, "201");
    sends("REGISTER", kHandset2, kCurrent, "202");
    advance(50min);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 2u);
}

TEST_F(HandsetsTest, AListedHandsetNeverSeenIsForgottenFromWhenTheListWasLoaded) {
    make(64, with_known(kKnown));
    advance(1s);   // the first tick: listed from now
    const KnownHandsetState* k = known_entry(*inventory_, "202");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(inventory_->status(*k, now_), KnownStatus::never_seen);
    advance(1h);
    EXPECT_EQ(rec_.count(EventType::handset_forgotten), 0u);
    advance(1s);
    ASSERT_EQ(rec_.count(EventType::handset_forgotten), 2u);   // 201 and 202
    const Event* e = rec_.last(EventType::handset_forgotten);
    EXPECT_EQ(e->detail, "202");
    EXPECT_EQ(e->rule, "never_seen");
    EXPECT_FALSE(e->handset.valid());   // no expected address, never seen
    EXPECT_EQ(rec_.all(EventType::handset_forgotten)[0].handset, ip(kHandset));   // 201's expected address
    EXPECT_EQ(inventory_->status(*k, now_), KnownStatus::never_seen);
}

TEST_F(HandsetsTest, AReloadKeepsWhatWasSeenOfAnAorThatStaysListed) {
    make(64, with_known(kKnown));
    sends("REGISTER", kHandset, kCurrent, "201");
    const Timestamp registered = now_;
    advance(10min);
    auto rules = test::compile_policy(with_known("    - aor: 201@PBX.example.net\n    - aor: 205@pbx.example.net\n"));
    ASSERT_NE(rules, nullptr);
    ctx_->rules = rules;
    inventory_->reload(now_);
    ASSERT_EQ(inventory_->known().size(), 2u);
    const KnownHandsetState* k = known_entry(*inventory_, "201@PBX.example.net");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->last_register, registered);
    EXPECT_EQ(k->last_address, ip(kHandset));
    EXPECT_EQ(known_entry(*inventory_, "202"), nullptr);
    EXPECT_FALSE(known_entry(*inventory_, "205@pbx.example.net")->seen());
    // 202 is no longer listed: its next registration is unknown.
    sends("REGISTER", kHandset2, kCurrent, "202");
    EXPECT_EQ(rec_.count(EventType::unknown_handset), 1u);
}

}  // namespace
}  // namespace vg::engine
