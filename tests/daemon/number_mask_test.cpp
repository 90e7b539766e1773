// SPDX-License-Identifier: GPL-2.0-or-later
// logging.mask_numbers (daemon/log_format.h): telephone numbers are masked
// where they are rendered - every engine event's line (and so the alert JSON
// built from it), `voipguard calls` and `handsets` - and the rule and prefix
// that matched stay as they are.
#include "daemon/log_events.h"
#include "daemon/log_format.h"
#include "daemon/status_report.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "filters/net/packet.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::daemon {
namespace {

using namespace test::sip_packets;

const NumberMask kOn{true, 4, 2};

TEST(MaskNumber, KeepsTheFirstAndLastDigits) {
    EXPECT_EQ(mask_number("+447912345678", kOn), "+4479xxxxxx78");
    EXPECT_EQ(mask_number("00447912345678", kOn), "0044xxxxxxxx78");
    EXPECT_EQ(mask_number("+44 7912-345678", kOn), "+44 79xx-xxxx78");   // separators stay, digits do not
    EXPECT_EQ(mask_number("*72+447912345678", kOn), "*72+44xxxxxxxx78");
    EXPECT_EQ(mask_number("+447912345678", NumberMask{true, 0, 0}), "+xxxxxxxxxxxx");
    EXPECT_EQ(mask_number("+447912345678", NumberMask{true, 2, 4}), "+44xxxxxx5678");
}

TEST(MaskNumber, ShortNumbersAndOffAreUnchanged) {
    EXPECT_EQ(mask_number("201", kOn), "201");
    EXPECT_EQ(mask_number("118118", kOn), "118118");   // 6 digits: keep 4 + 2
    EXPECT_EQ(mask_number("1181180", kOn), "1181x80");
    EXPECT_EQ(mask_number("", kOn), "");
    EXPECT_EQ(mask_number("+447912345678", NumberMask{}), "+447912345678");
    EXPECT_EQ(mask_numbers_in_text("sip:+447912345678@pbx", NumberMask{}), "sip:+447912345678@pbx");
}

TEST(MaskNumbersInText, UserInfoTelUrisAndLongDigitRuns) {
    EXPECT_EQ(mask_numbers_in_text("sip:+447912345678@pbx.example.net", kOn), "sip:+4479xxxxxx78@pbx.example.net");
    // Visual separators do not split a user part into short runs.
    EXPECT_EQ(mask_numbers_in_text("sip:+44.20.7946.0000@pbx", kOn), "sip:+44.20.xxxx.xx00@pbx");
    EXPECT_EQ(mask_numbers_in_text("<SIPS:0044-20-7946-0000;user=phone@pbx>", kOn),
              "<SIPS:0044-xx-xxxx-xx00;user=phone@pbx>");
    EXPECT_EQ(mask_numbers_in_text("tel:+44.20.7946.0000;phone-context=x", kOn), "tel:+44.20.xxxx.xx00;phone-context=x");
    EXPECT_EQ(mask_numbers_in_text("447912345678@pbx realm:pbx", kOn), "4479xxxxxx78@pbx realm:pbx");
    EXPECT_EQ(mask_numbers_in_text("sip:+447912345678:***@pbx", kOn), "sip:+4479xxxxxx78:***@pbx");
    EXPECT_EQ(mask_numbers_in_text("dialled 00447912345678 twice", kOn), "dialled 0044xxxxxxxx78 twice");
    // Not numbers: addresses, ports, versions, extensions, words.
    for (const char* same : {"203.0.113.64:10000", "[2001:db8::10]:5060", "version:66.86.0.15 minimum:66.86.0.20",
                             "201@pbx.example.net", "alice@pbx", "fraud_counters", "tcp_stream_overflow"})
        EXPECT_EQ(mask_numbers_in_text(same, kOn), same);
}

// The number fields of every event: whatever its type, no line carries the
// middle digits of a number, and the rule keeps its prefix.
TEST(MaskedEvents, EveryEventTypeMasksItsNumberFields) {
    for (std::size_t t = 0; t < static_cast<std::size_t>(engine::EventType::count_); ++t) {
        engine::Event e;
        e.type = static_cast<engine::EventType>(t);
        e.handset = net::IpAddress::parse("192.168.20.10").value();
        e.number.assign("+447912345678");
        e.dialled.assign("0044 7912 345678");
        e.detail.assign("sip:+44.7912.345678@pbx.example.net");
        e.rule.assign("deny_prefix:+4479123");
        const std::string line = format_event(e, "s", kOn);
        SCOPED_TRACE(line);
        EXPECT_NE(line.find(" number=+4479xxxxxx78"), std::string::npos);
        EXPECT_NE(line.find(" dialled=\"0044 xxxx xxxx78\""), std::string::npos);
        EXPECT_NE(line.find(" detail=sip:+44.79xx.xxxx78@pbx.example.net"), std::string::npos);
        EXPECT_NE(line.find(" rule=deny_prefix:+4479123"), std::string::npos);
        const std::string without_rule = line.substr(0, line.find(" rule="));
        EXPECT_EQ(without_rule.find("12345"), std::string::npos);
        EXPECT_EQ(without_rule.find("345"), std::string::npos);
        // Off: shown whole.
        EXPECT_NE(format_event(e, "s", NumberMask{}).find(" number=+447912345678"), std::string::npos);
    }
}

// Through the engine: what a blocked call and a call in progress put in the
// log and in `calls` / `handsets`, with the policy's default mask.
class MaskedEngineOutput : public testing::Test {
protected:
    void SetUp() override {
        rules_ = test::compile_policy(test::site_policy());
        ASSERT_NE(rules_, nullptr);
        mask_ = number_mask_of(rules_->p());
        engine_ = std::make_unique<engine::Engine>(rules_);
    }
    engine::Decision out_sip(const std::string& msg) {
        packets_.push_back(v4udp("192.168.20.10", 5060, "203.0.113.10", 5060, msg));
        const net::DecodedPacket p = net::decode_ip(packets_.back().data(), packets_.back().size());
        return engine_->process(p, engine::Now::at(now_), rec_);
    }
    std::string lines() const {
        std::string s;
        for (const auto& e : rec_.events) s += format_event(e, "s", mask_) + "\n";
        return s;
    }

    std::shared_ptr<const engine::CompiledPolicy> rules_;
    std::unique_ptr<engine::Engine> engine_;
    NumberMask mask_;
    test::EventRecorder rec_;
    std::deque<test::Bytes> packets_;
    engine::Timestamp now_{std::chrono::seconds(1000)};
};

TEST_F(MaskedEngineOutput, OnByDefaultKeepingFourAndTwoDigits) {
    EXPECT_TRUE(mask_.enabled);
    EXPECT_EQ(mask_.keep_start, 4u);
    EXPECT_EQ(mask_.keep_end, 2u);
}

TEST_F(MaskedEngineOutput, BlockedCallLineShowsTheRuleNotTheNumber) {
    out_sip(request("INVITE", "sip:00882161234567@pbx.example.net", "c1", "f1", "", 1, sdp("192.168.20.10", 40000)));
    ASSERT_NE(rec_.last(engine::EventType::toll_fraud), nullptr);
    const std::string s = lines();
    EXPECT_NE(s.find("rule=deny_prefix:+882"), std::string::npos) << s;
    EXPECT_NE(s.find("number=+8821xxxxxx67"), std::string::npos) << s;
    EXPECT_EQ(s.find("1612345"), std::string::npos) << s;
    EXPECT_EQ(s.find("12345"), std::string::npos) << s;
}

// The Request-URI in `detail` (SIP to somewhere other than the PBX).
TEST_F(MaskedEngineOutput, RequestUriInDetailIsMasked) {
    packets_.push_back(v4udp("192.168.20.10", 5060, "192.0.2.99", 5060,
                             request("INVITE", "sip:+442079460167@192.0.2.99", "r9", "f1", "", 1)));
    const net::DecodedPacket p = net::decode_ip(packets_.back().data(), packets_.back().size());
    engine_->process(p, engine::Now::at(now_), rec_);
    ASSERT_NE(rec_.last(engine::EventType::rogue_sip_destination), nullptr) << lines();
    const std::string s = lines();
    EXPECT_NE(s.find("detail=sip:+4420xxxxxx67@192.0.2.99"), std::string::npos) << s;
    EXPECT_EQ(s.find("7946"), std::string::npos) << s;
}

TEST_F(MaskedEngineOutput, CallsAndHandsetsAreMasked) {
    out_sip(request("REGISTER", "sip:+447912345678@pbx.example.net", "r1", "f1", "", 1));
    out_sip(request("INVITE", "sip:02079460123@pbx.example.net", "c2", "f2", "", 1, sdp("192.168.20.10", 40000)));
    for (const bool js : {false, true}) {
        const std::string calls = render_calls(*engine_, js, mask_);
        EXPECT_NE(calls.find("+4420xxxxxx23"), std::string::npos) << calls;
        EXPECT_EQ(calls.find("7946"), std::string::npos) << calls;
        EXPECT_NE(render_calls(*engine_, js, NumberMask{}).find("+442079460123"), std::string::npos);
    }
    for (const bool js : {false, true}) {
        const std::string handsets = render_handsets(*engine_, engine::Now::at(now_), js, mask_);
        EXPECT_NE(handsets.find("+4479xxxxxx78@pbx.example.net"), std::string::npos) << handsets;
        EXPECT_EQ(handsets.find("2345"), std::string::npos) << handsets;
    }
    EXPECT_EQ(lines().find("7946"), std::string::npos) << lines();
    EXPECT_EQ(lines().find("2345"), std::string::npos) << lines();
}

}  // namespace
}  // namespace vg::daemon
