// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/media/media_classifier.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "filters/net/link.h"
#include "filters/net/packet.h"
#include "tests/filters/net/packet_builder.h"
#include "tests/filters/net/pcap_file.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/corpus_gtest.h"

namespace vg::media {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::put8;

Classification run(const Bytes& b, Options o = {}) { return classify(b.data(), b.size(), o); }

// UDP payloads of every IP/UDP packet in a recorded capture (its bytes).
std::vector<std::string> udp_payloads(const std::string& file) {
    std::vector<std::string> out;
    const auto pcap = test::parse_pcap(file);
    EXPECT_TRUE(pcap.ok);
    net::LinkType t{};
    if (!net::link_type_from_pcap(pcap.linktype, t)) {
        ADD_FAILURE() << "unsupported link type " << pcap.linktype;
        return out;
    }
    for (const auto& raw : pcap.packets) {
        const net::LinkFrame l = net::decode_link(t, test::bytes_of(raw), raw.size());
        if (!l.is_ip) continue;
        const net::DecodedPacket p = net::decode_ip(l.l3, l.l3_length);
        if (p.is_udp()) out.emplace_back(std::string(p.payload_text()));
    }
    return out;
}

Classification run(const std::string& s, Options o = {}) { return classify(test::bytes_of(s), s.size(), o); }

// 12-byte RTP header, PT 0, with the given first byte and payload.
Bytes rtp(unsigned first, unsigned second, const Bytes& after_header) {
    Bytes b;
    put8(b, first);
    put8(b, second);
    put16(b, 0x1234);      // sequence
    put32(b, 0x00010000);  // timestamp
    put32(b, 0xcafebabe);  // SSRC
    test::append(b, after_header);
    return b;
}

Bytes rtcp_rr(unsigned rc, unsigned length_words_override = 0xffff) {
    Bytes b;
    put8(b, 0x80 | rc);
    put8(b, 201);
    put16(b, length_words_override != 0xffff ? length_words_override : 1 + 6 * rc);
    put32(b, 0x11223344);
    for (unsigned i = 0; i < rc; ++i) b.resize(b.size() + 24, 0);
    return b;
}

Bytes rtcp_sdes() {
    Bytes b = {0x81, 202, 0, 3};
    put32(b, 0x11223344);
    test::append(b, {1, 2, 'a', 'b', 0, 0, 0, 0});
    return b;
}

Bytes stun_binding_request(unsigned attr_len = 8, int length_override = -1) {
    Bytes b;
    put16(b, 0x0001);
    put16(b, length_override >= 0 ? static_cast<unsigned>(length_override) : attr_len);
    put32(b, 0x2112A442);
    for (int i = 0; i < 12; ++i) put8(b, i);  // transaction id
    b.resize(b.size() + attr_len, 0);
    return b;
}

Bytes dtls_record(unsigned type, unsigned version, unsigned body_len, int length_override = -1) {
    Bytes b;
    put8(b, type);
    put16(b, version);
    put16(b, 0);         // epoch
    put32(b, 0);         // sequence (48 bits)
    put16(b, 1);
    put16(b, length_override >= 0 ? static_cast<unsigned>(length_override) : body_len);
    b.resize(b.size() + body_len, 0x01);
    return b;
}

// ---------------------------------------------------------------- recorded RTP / RTCP
// Captures from the third-party corpus; each test skips without its capture.

TEST(MediaRecorded, SippG711aRtpIsRtpWithPayloadType8) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/sipp__g711a.pcap", "a recorded G.711 A-law stream classifies as RTP PT 8");
    const auto payloads = udp_payloads(file);
    ASSERT_GT(payloads.size(), 200u);
    std::size_t rtp_count = 0;
    std::uint32_t ssrc = 0;
    for (const auto& p : payloads) {
        const Classification c = run(p);
        ASSERT_EQ(c.kind, Kind::rtp) << c.reason;
        EXPECT_EQ(c.payload_type, 8);  // PCMA
        EXPECT_EQ(c.header_length, 12u);
        EXPECT_EQ(c.payload_length, 240u);  // 30 ms of 8 kHz PCMA
        if (rtp_count == 0) ssrc = c.ssrc;
        EXPECT_EQ(c.ssrc, ssrc);
        ++rtp_count;
    }
    EXPECT_EQ(rtp_count, payloads.size());
}

TEST(MediaRecorded, SippG711aSequenceNumbersAreRead) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/sipp__g711a.pcap", "RTP sequence numbers and marker of a recorded stream");
    const auto payloads = udp_payloads(file);
    ASSERT_GE(payloads.size(), 3u);
    const Classification a = run(payloads[0]);
    const Classification b = run(payloads[1]);
    EXPECT_EQ(static_cast<std::uint16_t>(a.sequence + 1), b.sequence);
    EXPECT_TRUE(a.marker);
    EXPECT_FALSE(b.marker);
}

TEST(MediaRecorded, AsteriskCaptureHasRtpAndCompoundRtcp) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/asterisk-testsuite__ast-2017-012__crash-27382.pcap",
                           "RTP and the crafted compound RTCP of the AST-2017-012 capture");
    const auto payloads = udp_payloads(file);
    std::size_t rtp_count = 0, rtcp_count = 0;
    for (const auto& p : payloads) {
        const Classification c = run(p);
        if (c.kind == Kind::rtp) {
            ++rtp_count;
            EXPECT_EQ(c.payload_type, 0);  // PCMU
        } else if (c.kind == Kind::rtcp) {
            ++rtcp_count;
            EXPECT_EQ(c.rtcp_first_type, 200);  // SR
            EXPECT_EQ(c.rtcp_packet_count, 3u); // SR + RR + SDES
            EXPECT_EQ(c.ssrc, 0x6a1b26d7u);
        } else {
            ADD_FAILURE() << "unclassified payload: " << c.reason;
        }
    }
    EXPECT_EQ(rtcp_count, 2u);
    EXPECT_GT(rtp_count, 200u);
}

TEST(MediaRecorded, CutsOfARecordedCompoundRtcpAreRtcpOnlyAtPacketBoundaries) {
    VG_CORPUS_FILE_OR_SKIP(file, "pcap/asterisk-testsuite__ast-2017-012__crash-27382.pcap",
                           "cuts of a recorded compound RTCP are RTCP only at packet boundaries");
    std::size_t checked = 0;
    for (const auto& p : udp_payloads(file)) {
        if (run(p).kind != Kind::rtcp) continue;
        // Boundaries of the packets inside the compound (SR | RR | SDES).
        std::vector<std::size_t> boundaries;
        for (std::size_t off = 0; off + 4 <= p.size();) {
            off += (static_cast<std::size_t>(static_cast<std::uint8_t>(p[off + 2])) * 256 +
                    static_cast<std::uint8_t>(p[off + 3]) + 1) * 4;
            boundaries.push_back(off);
        }
        ASSERT_EQ(boundaries.size(), 3u);
        for (std::size_t n = 0; n < p.size(); ++n) {
            std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n + 1]);
            std::memcpy(buf.get(), p.data(), n);
            const bool at_boundary = n == boundaries[0] || n == boundaries[1];
            EXPECT_EQ(classify(buf.get(), n).kind == Kind::rtcp, at_boundary) << "cut at " << n;
        }
        ++checked;
    }
    EXPECT_EQ(checked, 2u);
}

// ---------------------------------------------------------------- RTP

TEST(MediaRtp, MinimalHeaderIsRtp) {
    const Classification c = run(rtp(0x80, 0x00, Bytes(160, 0xff)));
    ASSERT_EQ(c.kind, Kind::rtp);
    EXPECT_EQ(c.reason, "ok");
    EXPECT_EQ(c.sequence, 0x1234);
    EXPECT_EQ(c.timestamp, 0x00010000u);
    EXPECT_EQ(c.ssrc, 0xcafebabeu);
    EXPECT_EQ(c.payload_length, 160u);
}

TEST(MediaRtp, CsrcAndExtensionExtendTheHeader) {
    Bytes after;
    put32(after, 1);         // CSRC 1
    put32(after, 2);         // CSRC 2
    put16(after, 0xBEDE);    // one-byte header extension profile
    put16(after, 1);         // 1 word
    put32(after, 0x10ff0000);
    after.resize(after.size() + 20, 0);
    const Classification c = run(rtp(0x92, 96, after));
    ASSERT_EQ(c.kind, Kind::rtp) << c.reason;
    EXPECT_EQ(c.csrc_count, 2);
    EXPECT_EQ(c.header_length, 12u + 8 + 8);
    EXPECT_EQ(c.payload_length, 20u);
    EXPECT_EQ(c.payload_type, 96);
}

TEST(MediaRtp, PaddingIsRemovedFromPayloadLength) {
    Bytes after(10, 0);
    after.back() = 4;
    const Classification c = run(rtp(0xa0, 0, after));
    ASSERT_EQ(c.kind, Kind::rtp) << c.reason;
    EXPECT_EQ(c.payload_length, 6u);
}

struct RtpBad {
    const char* name;
    Bytes packet;
    const char* reason;
};
std::ostream& operator<<(std::ostream& os, const RtpBad& c) { return os << c.name; }

class MediaRtpInvalid : public ::testing::TestWithParam<RtpBad> {};

TEST_P(MediaRtpInvalid, IsUnknownWithReason) {
    const RtpBad& c = GetParam();
    const Classification r = run(c.packet);
    EXPECT_EQ(r.kind, Kind::unknown);
    EXPECT_EQ(r.reason, c.reason);
}

std::vector<RtpBad> rtp_bad_cases() {
    std::vector<RtpBad> v;
    v.push_back({"eleven_bytes", Bytes{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "rtp_header_truncated"});
    v.push_back({"csrc_count_15_past_end", rtp(0x8f, 0, Bytes(20, 0)), "rtp_csrc_exceeds_packet"});
    v.push_back({"extension_header_missing", rtp(0x90, 0, Bytes{0xbe, 0xde}), "rtp_extension_exceeds_packet"});
    v.push_back({"extension_length_past_end", rtp(0x90, 0, Bytes{0xbe, 0xde, 0x00, 0x09, 0, 0, 0, 0}),
                 "rtp_extension_exceeds_packet"});
    v.push_back({"padding_zero", rtp(0xa0, 0, Bytes{1, 2, 3, 0}), "rtp_padding_invalid"});
    v.push_back({"padding_past_payload", rtp(0xa0, 0, Bytes{1, 2, 3, 9}), "rtp_padding_invalid"});
    v.push_back({"padding_without_payload", rtp(0xa0, 0, {}), "rtp_padding_invalid"});
    v.push_back({"payload_type_72", rtp(0x80, 72, Bytes(20, 0)), "rtp_payload_type_conflicts_with_rtcp"});
    v.push_back({"payload_type_76", rtp(0x80, 76, Bytes(20, 0)), "rtp_payload_type_conflicts_with_rtcp"});
    v.push_back({"version_1_first_byte_64", rtp(0x40, 0, Bytes(20, 0)), "turn_length_invalid"});
    v.push_back({"first_byte_200", rtp(0xc8, 0, Bytes(20, 0)), "first_byte_unassigned"});
    v.push_back({"first_byte_100", rtp(100, 0, Bytes(20, 0)), "first_byte_unassigned"});
    return v;
}

INSTANTIATE_TEST_SUITE_P(Table, MediaRtpInvalid, ::testing::ValuesIn(rtp_bad_cases()),
                         [](const ::testing::TestParamInfo<RtpBad>& i) { return std::string(i.param.name); });

TEST(MediaRtp, SrtpModeSkipsTheEncryptedPaddingCount) {
    // Padding bit set, last byte is part of the auth tag.
    Bytes after(30, 0x55);
    after.back() = 0;
    EXPECT_EQ(run(rtp(0xa0, 0, after)).kind, Kind::unknown);
    Options o;
    o.srtp = true;
    EXPECT_EQ(run(rtp(0xa0, 0, after), o).kind, Kind::rtp);
}

// ---------------------------------------------------------------- RTCP

TEST(MediaRtcp, CompoundRrSdesIsRtcp) {
    const Bytes b = test::cat({rtcp_rr(1), rtcp_sdes()});
    const Classification c = run(b);
    ASSERT_EQ(c.kind, Kind::rtcp) << c.reason;
    EXPECT_EQ(c.rtcp_first_type, 201);
    EXPECT_EQ(c.rtcp_packet_count, 2u);
    EXPECT_EQ(c.ssrc, 0x11223344u);
}

TEST(MediaRtcp, FeedbackAndXrTypesAreAccepted) {
    for (unsigned pt : {205u, 206u, 207u, 203u, 204u}) {
        Bytes b = {0x81, static_cast<std::uint8_t>(pt), 0, 2};
        put32(b, 1);
        put32(b, 2);
        EXPECT_EQ(run(b).kind, Kind::rtcp) << pt;
    }
}

TEST(MediaRtcp, LengthNotEndingAtDatagramEndIsRejected) {
    Bytes b = test::cat({rtcp_rr(0), rtcp_sdes()});
    b.push_back(0);  // one stray byte
    EXPECT_EQ(run(b).reason, "rtcp_length_invalid");
    b.resize(b.size() + 3, 0);  // a whole word of junk: no valid header
    EXPECT_EQ(run(b).kind, Kind::unknown);
}

TEST(MediaRtcp, LengthPastDatagramIsRejected) {
    EXPECT_EQ(run(rtcp_rr(0, 40)).reason, "rtcp_length_invalid");
}

TEST(MediaRtcp, ReceiverReportTooShortForItsBlocksIsRejected) {
    EXPECT_EQ(run(rtcp_rr(2, 6)).kind, Kind::unknown);
    Bytes b = rtcp_rr(1);
    b[3] = 1;  // claims one report block but is 8 bytes long
    b.resize(8);
    EXPECT_EQ(run(b).reason, "rtcp_report_too_short");
}

TEST(MediaRtcp, UnknownPacketTypeInsideCompoundIsRejected) {
    Bytes b = rtcp_rr(0);
    test::append(b, Bytes{0x80, 210, 0, 0});
    EXPECT_EQ(run(b).reason, "rtcp_packet_type_invalid");
    EXPECT_EQ(run(Bytes{0x80, 195, 0, 0}).reason, "rtcp_packet_type_invalid");
}

TEST(MediaRtcp, PaddingOnlyAllowedInLastPacket) {
    Bytes rr = rtcp_rr(0);
    rr[0] |= 0x20;
    EXPECT_EQ(run(test::cat({rr, rtcp_sdes()})).reason, "rtcp_padding_not_last");
    EXPECT_EQ(run(test::cat({rtcp_sdes(), rr})).kind, Kind::rtcp);
}

TEST(MediaRtcp, SecondPacketWithWrongVersionIsRejected) {
    Bytes sdes = rtcp_sdes();
    sdes[0] = 0x41;
    EXPECT_EQ(run(test::cat({rtcp_rr(0), sdes})).reason, "rtcp_version_invalid");
}

TEST(MediaRtcp, SrtcpAcceptedOnlyInSrtpMode) {
    // Clear SR header + SSRC, encrypted rest, E|index, 10-byte auth tag.
    Bytes b = {0x81, 200, 0, 12};
    put32(b, 0xabcdef01);
    b.resize(52, 0x77);
    test::append(b, Bytes(40, 0x99));  // encrypted RR/SDES that does not parse
    put32(b, 0x80000001);
    b.resize(b.size() + 10, 0x42);
    EXPECT_EQ(run(b).kind, Kind::unknown);
    Options o;
    o.srtp = true;
    const Classification c = run(b, o);
    EXPECT_EQ(c.kind, Kind::rtcp);
    EXPECT_TRUE(c.srtcp_unverified);
    EXPECT_EQ(c.ssrc, 0xabcdef01u);
}

// ---------------------------------------------------------------- STUN

TEST(MediaStun, BindingRequestIsStun) {
    const Classification c = run(stun_binding_request());
    ASSERT_EQ(c.kind, Kind::stun) << c.reason;
    EXPECT_EQ(c.stun_message_type, 0x0001);
}

TEST(MediaStun, BindingSuccessWithNoAttributesIsStun) {
    Bytes b = stun_binding_request(0);
    b[0] = 0x01;
    b[1] = 0x01;
    EXPECT_EQ(run(b).kind, Kind::stun);
}

TEST(MediaStun, WrongCookieLengthOrTruncationIsUnknown) {
    Bytes cookie = stun_binding_request();
    cookie[4] = 0x22;
    EXPECT_EQ(run(cookie).reason, "stun_magic_cookie_invalid");
    EXPECT_EQ(run(stun_binding_request(8, 6)).reason, "stun_length_invalid");   // not a multiple of 4
    EXPECT_EQ(run(stun_binding_request(8, 12)).reason, "stun_length_invalid");  // does not match the size
    Bytes short_one = stun_binding_request();
    short_one.resize(19);
    EXPECT_EQ(run(short_one).reason, "stun_header_truncated");
}

// ---------------------------------------------------------------- DTLS

TEST(MediaDtls, ClientHelloRecordIsDtls) {
    const Classification c = run(dtls_record(22, 0xFEFF, 120));
    ASSERT_EQ(c.kind, Kind::dtls) << c.reason;
    EXPECT_EQ(c.dtls_content_type, 22);
    EXPECT_EQ(c.dtls_version, 0xFEFF);
    EXPECT_EQ(c.dtls_record_count, 1u);
}

TEST(MediaDtls, SeveralRecordsInOneDatagramAreWalked) {
    const Bytes b = test::cat({dtls_record(22, 0xFEFD, 90), dtls_record(20, 0xFEFD, 1), dtls_record(22, 0xFEFD, 40)});
    const Classification c = run(b);
    ASSERT_EQ(c.kind, Kind::dtls) << c.reason;
    EXPECT_EQ(c.dtls_record_count, 3u);
}

TEST(MediaDtls, BadTypeVersionOrLengthIsUnknown) {
    EXPECT_EQ(run(dtls_record(24, 0xFEFD, 10)).reason, "dtls_content_type_invalid");
    EXPECT_EQ(run(dtls_record(40, 0xFEFD, 10)).reason, "dtls_content_type_invalid");
    EXPECT_EQ(run(dtls_record(22, 0x0303, 10)).reason, "dtls_version_invalid");  // TLS, not DTLS
    EXPECT_EQ(run(dtls_record(22, 0xFEFD, 10, 11)).reason, "dtls_length_invalid");
    EXPECT_EQ(run(dtls_record(22, 0xFEFD, 0)).reason, "dtls_length_invalid");
    Bytes b = dtls_record(23, 0xFEFD, 10);
    b.resize(12);
    EXPECT_EQ(run(b).reason, "dtls_record_truncated");
    EXPECT_EQ(run(test::cat({dtls_record(22, 0xFEFD, 10), Bytes{22, 0xfe}})).reason, "dtls_record_truncated");
    EXPECT_EQ(run(dtls_record(25, 0xFEFD, 10)).kind, Kind::dtls);  // tls12_cid (RFC 9146)
}

// ---------------------------------------------------------------- ZRTP and TURN

TEST(MediaZrtp, HelloWithMagicCookieIsZrtp) {
    Bytes b = {0x10, 0x00, 0x00, 0x01};
    put32(b, 0x5A525450);
    put32(b, 0x01020304);
    b.resize(b.size() + 88, 0);
    const Classification c = run(b);
    ASSERT_EQ(c.kind, Kind::zrtp) << c.reason;
    EXPECT_EQ(c.ssrc, 0x01020304u);
    b[4] = 'X';
    EXPECT_EQ(run(b).reason, "zrtp_magic_cookie_invalid");
    b.resize(15);
    EXPECT_EQ(run(b).reason, "zrtp_too_short");
}

TEST(MediaTurn, ChannelDataIsRecognisedWithPaddingTolerated) {
    Bytes b;
    put16(b, 0x4001);
    put16(b, 13);
    b.resize(b.size() + 13, 0x80);
    Classification c = run(b);
    ASSERT_EQ(c.kind, Kind::turn_channel) << c.reason;
    EXPECT_EQ(c.channel_number, 0x4001);
    b.resize(b.size() + 3, 0);  // padded to a multiple of 4
    EXPECT_EQ(run(b).kind, Kind::turn_channel);
    b.resize(b.size() + 4, 0);  // too much trailing data
    EXPECT_EQ(run(b).reason, "turn_length_invalid");
    Bytes shortb = {0x40, 0x01, 0x00, 0x10, 1, 2};
    EXPECT_EQ(run(shortb).reason, "turn_length_invalid");
}

// ---------------------------------------------------------------- robustness

TEST(MediaRobustness, EmptyInputIsUnknown) {
    EXPECT_EQ(classify(nullptr, 0).reason, "empty");
    const std::uint8_t one = 0x80;
    EXPECT_EQ(classify(&one, 1).kind, Kind::unknown);
}

TEST(MediaRobustness, EveryFirstByteAndShortLengthStaysInBounds) {
    for (unsigned first = 0; first < 256; ++first) {
        for (unsigned second : {0u, 72u, 200u, 201u, 255u}) {
            for (std::size_t n = 1; n < 40; ++n) {
                std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n]);
                std::memset(buf.get(), 0, n);
                buf[0] = static_cast<std::uint8_t>(first);
                if (n > 1) buf[1] = static_cast<std::uint8_t>(second);
                const Classification c = classify(buf.get(), n);
                EXPECT_FALSE(c.reason.empty());
            }
        }
    }
}

TEST(MediaRobustness, ClassifyingAllocatesNothing) {
    const Bytes a = rtp(0x80, 0, Bytes(160, 0));
    const Bytes b = test::cat({rtcp_rr(1), rtcp_sdes()});
    const Bytes c = stun_binding_request();
    test::AllocationScope scope;
    const bool ok = run(a).ok() && run(b).ok() && run(c).ok();
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_TRUE(ok);
}

TEST(MediaRobustness, KindNamesAreStable) {
    EXPECT_EQ(to_string(Kind::rtp), "rtp");
    EXPECT_EQ(to_string(Kind::turn_channel), "turn_channel");
    EXPECT_EQ(to_string(Kind::unknown), "unknown");
}

}  // namespace
}  // namespace vg::media
