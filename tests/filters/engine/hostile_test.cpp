// SPDX-License-Identifier: GPL-2.0-or-later
// A generated suite of hostile packets through the engine: truncated and
// inconsistent IP/IPv6/UDP/TCP headers, extension-header loops, SIP with
// thousands of headers, huge Content-Length, NUL bytes, invalid UTF-8, long
// and deeply nested values, SDP with absurd ports and counts. Each gets a
// verdict the policy explains; none crashes (these tests also run under
// ASan/UBSan), and the engine's tables stay within their bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "tests/support/sip_packets.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using namespace test::sip_packets;
using test::Bytes;

const char* kPolicy = R"(
version: 1
site: hostile
handsets:
  networks: [192.168.20.0/24, "2001:db8:20::/64"]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10, "2001:db8:100::10"]
      media:
        addresses: [203.0.113.64/27]
toll_fraud:
  country_code: "44"
)";

struct Counter : EventSink {
    std::size_t events = 0;
    void on_event(const Event&) override { ++events; }
};

class Hostile : public ::testing::Test {
protected:
    void SetUp() override {
        config::LoadOptions o;
        o.allow_includes = false;
        o.check_file_permissions = false;
        o.resolve_host_names = false;
        config::LoadResult r = config::load_policy_text(kPolicy, "hostile.yaml", o);
        ASSERT_TRUE(r.ok());
        std::string error;
        rules_ = CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
        ASSERT_NE(rules_, nullptr) << error;
        EngineLimits lim;
        lim.max_dialogs = 64;
        lim.max_pinholes = 128;
        lim.max_handsets = 16;
        lim.max_egress_flows = 64;
        lim.max_scan_sources = 16;
        engine_ = std::make_unique<Engine>(rules_, lim);
        limits_ = lim;
    }

    Decision feed(const Bytes& b) {
        // An exact-size heap copy, so ASan sees any read past the end.
        std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[b.size() + 1]);
        if (!b.empty()) std::memcpy(copy.get(), b.data(), b.size());
        const net::DecodedPacket p = net::decode_ip(copy.get(), b.size());
        now_ += 1ms;
        ++fed_;
        return engine_->process(p, Now::at(now_), sink_);
    }

    void expect_bounded() {
        engine_->tick(Now::at(now_), sink_);
        EXPECT_LE(engine_->dialog_count(), limits_.max_dialogs);
        EXPECT_LE(engine_->pinhole_count(), limits_.max_pinholes);
        EXPECT_LE(engine_->handset_count(), limits_.max_handsets);
        EXPECT_EQ(engine_->stats().packets, fed_);
    }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::unique_ptr<Engine> engine_;
    EngineLimits limits_;
    Counter sink_;
    Timestamp now_ = Timestamp{} + 1700000000s;
    std::uint64_t fed_ = 0;
};

std::string invite_with(const std::string& extra_headers, const std::string& body = "") {
    return request("INVITE", "sip:02079460000@pbx.example.net", "h1", "f", "", 1, body, "UA", extra_headers);
}

TEST_F(Hostile, EveryTruncationOfAValidSipPacketGetsAVerdict) {
    const Bytes good = v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with("", sdp("203.0.113.70", 12000)));
    for (std::size_t cut = 0; cut <= good.size(); ++cut) {
        const Decision d = feed(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
        if (cut < 28) {
            EXPECT_EQ(d.verdict, Verdict::drop) << "cut at " << cut;
        }
    }
    expect_bounded();
}

TEST_F(Hostile, EveryHeaderByteCorruptedStillGetsAVerdict) {
    const Bytes good = v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with(""));
    const Bytes good6 = v6udp("2001:db8:100::10", 5060, "2001:db8:20::10", 5060, invite_with(""));
    for (const Bytes* base : {&good, &good6}) {
        const std::size_t header = base == &good ? 28 : 48;
        for (std::size_t i = 0; i < header; ++i) {
            for (std::uint8_t v : {0x00, 0x01, 0x45, 0x7f, 0x80, 0xff}) {
                Bytes b = *base;
                b[i] = v;
                (void)feed(b);
            }
        }
    }
    expect_bounded();
}

TEST_F(Hostile, Ipv6ExtensionHeaderChainsAreBoundedAndDropped) {
    // 40 hop-by-hop / destination-options headers in a row: a "loop".
    Bytes chain;
    for (int i = 0; i < 40; ++i) {
        chain.push_back(i == 39 ? 17 : 60);   // next: dest opts ... then UDP
        chain.push_back(0);
        for (int k = 0; k < 6; ++k) chain.push_back(0);
    }
    const Bytes udp_part = test::udp(5060, 5060, Bytes(10, 'x'));
    chain.insert(chain.end(), udp_part.begin(), udp_part.end());
    test::V6 h;
    h.next = 0;
    const auto s = net::IpAddress::parse("2001:db8:666::1");
    const auto d = net::IpAddress::parse("2001:db8:20::10");
    std::memcpy(h.src, s->bytes(), 16);
    std::memcpy(h.dst, d->bytes(), 16);
    const Decision r = feed(test::ipv6(h, chain));
    EXPECT_EQ(r.verdict, Verdict::drop);
    EXPECT_EQ(r.reason, Reason::malformed_packet);
}

TEST_F(Hostile, SipWithThousandsOfHeadersIsMalformedNotACrash) {
    std::string many;
    for (int i = 0; i < 5000; ++i) many += "X-Filler-" + std::to_string(i) + ": value\r\n";
    const Decision d = feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with(many)));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::sip_malformed);
}

TEST_F(Hostile, HugeContentLengthIsMalformed) {
    std::string m = invite_with("");
    m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 4294967296");
    EXPECT_EQ(feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, m)).reason, Reason::sip_malformed);
    m = invite_with("");
    m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 99999999999999999999999999");
    EXPECT_EQ(feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, m)).reason, Reason::sip_malformed);
}

TEST_F(Hostile, NulBytesAndInvalidUtf8GetAVerdict) {
    std::string nul = invite_with("Subject: a\0b\r\n");
    nul.insert(nul.find("Subject"), std::string("X-Nul: \0\0\0\r\n", 12));
    (void)feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, nul));
    const std::string bad_utf8 = invite_with("Subject: \xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\r\n");
    EXPECT_NE(feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, bad_utf8)).reason, Reason::malformed_packet);
    // From an unlisted source the same bytes are dropped, whatever they say.
    EXPECT_EQ(feed(v4udp("192.0.2.66", 5060, "192.168.20.10", 5060, bad_utf8)).reason, Reason::unlisted_source);
    expect_bounded();
}

TEST_F(Hostile, VeryLongAndDeeplyNestedValuesGetAVerdict) {
    const std::string long_value(60000, 'a');
    (void)feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with("X-Long: " + long_value + "\r\n")));
    std::string nested = "Contact: ";
    for (int i = 0; i < 2000; ++i) nested += "<";
    nested += "sip:a@b";
    for (int i = 0; i < 2000; ++i) nested += ">";
    (void)feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with(nested + "\r\n")));
    std::string quotes = "From: ";
    for (int i = 0; i < 3000; ++i) quotes += "\"\\\"";
    (void)feed(v4udp("203.0.113.10", 5060, "192.168.20.10", 5060, invite_with(quotes + "\r\n")));
    expect_bounded();
}

TEST_F(Hostile, SdpWithAbsurdPortsAndCountsOpensNothingBogus) {
    const char* bodies[] = {
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\nm=audio 40000/65535 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\nm=audio 65535 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 999.1.1.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\nm=audio -1 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\na=rtcp:70000\r\nm=audio 40000 RTP/AVP 0\r\n",
    };
    int i = 0;
    for (const char* body : bodies) {
        (void)feed(v4udp("192.168.20.10", 5060, "203.0.113.10", 5060,
                         request("INVITE", "sip:02079460000@pbx.example.net", "sdp" + std::to_string(i++), "f", "", 1, body)));
    }
    // Only the valid "65535 with no RTCP" line may have opened a pinhole
    // (RTP only: port + 1 does not exist).
    engine_->for_each_pinhole([&](const PinholeKey& k, const Pinhole&) { EXPECT_EQ(k.port, 65535) << k.port; });
    // 1000 media lines in one SDP: bounded by the parser and the dialog.
    std::string many = "v=0\r\no=- 1 1 IN IP4 192.168.20.10\r\ns=-\r\nc=IN IP4 192.168.20.10\r\nt=0 0\r\n";
    for (int m = 0; m < 1000; ++m) many += "m=audio " + std::to_string(20000 + 2 * m) + " RTP/AVP 0\r\n";
    (void)feed(v4udp("192.168.20.10", 5060, "203.0.113.10", 5060,
                     request("INVITE", "sip:02079460000@pbx.example.net", "sdp-many", "f", "", 1, many)));
    expect_bounded();
}

TEST_F(Hostile, RandomBytesOnEveryPathAreHandledWithinBounds) {
    std::mt19937 rng(4475);
    std::uniform_int_distribution<int> byte(0, 255);
    const char* sources[] = {"203.0.113.10", "203.0.113.70", "192.0.2.66", "192.168.20.10"};
    for (int i = 0; i < 3000; ++i) {
        std::string payload(static_cast<std::size_t>(byte(rng)) * 4, '\0');
        for (char& c : payload) c = static_cast<char>(byte(rng));
        const char* src = sources[i % 4];
        const bool out = src[0] == '1' && src[4] == '1' && src[8] == '2';   // the handset
        const unsigned sport = (i % 3) ? 5060 : static_cast<unsigned>(10000 + byte(rng) * 10);
        if (out) (void)feed(v4udp(src, sport, "203.0.113.10", 5060, payload));
        else (void)feed(v4udp(src, sport, "192.168.20.10", (i % 2) ? 5060 : 40000, payload));
    }
    expect_bounded();
}

TEST_F(Hostile, SpoofedInviteFloodFromManySourcesKeepsTablesBounded) {
    // Spoofed handset addresses and Call-IDs: every dialog and handset table
    // fills and evicts, nothing grows past its bound.
    for (int i = 0; i < 2000; ++i) {
        const std::string h = "192.168.20." + std::to_string(1 + i % 250);
        (void)feed(v4udp(h.c_str(), 5060, "203.0.113.10", 5060,
                         request("INVITE", "sip:0207946" + std::to_string(1000 + i) + "@pbx.example.net",
                                 "flood" + std::to_string(i), "f", "", 1, sdp(h, 20000 + 2 * (i % 1000)))));
    }
    expect_bounded();
    EXPECT_GT(engine_->stats().evictions_dialogs + engine_->stats().evictions_handsets, 0u);
}

}  // namespace
}  // namespace vg::engine
