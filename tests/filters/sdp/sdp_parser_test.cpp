// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sdp/sdp_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/alloc_counter.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_wire_form.h"

namespace vg::sdp {
namespace {

net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }

// The body of a recorded SIP message: everything after the first CRLFCRLF.
std::string body_of(const std::string& message) {
    const auto pos = message.find("\r\n\r\n");
    return pos == std::string::npos ? std::string() : message.substr(pos + 4);
}

SessionDescription parsed(std::string_view body) {
    SessionDescription s;
    parse(body, s);
    return s;
}

SessionDescription parsed(const char* body) { return parsed(std::string_view(body)); }

// For a temporary body: keeps it alive until the test program ends, so the
// views in the result stay valid.
SessionDescription parsed(std::string&& body) {
    static std::vector<std::unique_ptr<std::string>> kept;
    kept.push_back(std::make_unique<std::string>(std::move(body)));
    return parsed(std::string_view(*kept.back()));
}

// Builds a CRLF body from LF-separated text.
std::string crlf(std::string_view lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

const char* const kOffer =
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 198.51.100.1\n"
    "s=-\n"
    "c=IN IP4 198.51.100.1\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0 8 101\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "m=video 51372 RTP/AVP 31\n";

// ---------------------------------------------------------------- recorded bodies
// From the RFC 4475 and RFC 5118 messages of the third-party corpus (RFC
// 5118's in wire form: CRLF lines); each test skips without its file.

#define VG_RFC5118_BODY_OR_SKIP(var, name, what) \
    VG_CORPUS_FILE_OR_SKIP(var##_archive, "rfc5118/" name, what); \
    const std::string var = body_of(test::sip_wire_form(var##_archive))

#define VG_RFC4475_BODY_OR_SKIP(var, name, what) \
    VG_CORPUS_FILE_OR_SKIP(var##_message, "rfc4475/" name, what); \
    const std::string var = body_of(var##_message)

TEST(SdpRecorded, Rfc5118Ipv6InSdpHasSessionLevelIpv6Connection) {
    VG_RFC5118_BODY_OR_SKIP(body, "ipv6-in-sdp", "the SDP parser on RFC 5118 §4.6's IPv6 session");
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    EXPECT_EQ(s.origin.address, ip("2001:db8::20"));
    EXPECT_EQ(s.origin.username, "assistant");
    EXPECT_EQ(s.connection.address, ip("2001:db8::20"));
    ASSERT_EQ(s.media_count, 2u);
    EXPECT_EQ(s.media[0].type, MediaType::audio);
    EXPECT_EQ(s.media[0].address, ip("2001:db8::20"));
    EXPECT_EQ(s.media[0].rtp_port, 6000);
    EXPECT_EQ(s.media[0].rtcp_port, 6001);
    EXPECT_EQ(s.media[0].formats, "2");
    EXPECT_EQ(s.media[1].type, MediaType::video);
    EXPECT_EQ(s.media[1].rtp_port, 6024);
    EXPECT_EQ(s.media[1].rtcp_port, 6025);
    EXPECT_EQ(s.media[1].formats, "107");
    EXPECT_TRUE(s.media[1].usable());
    EXPECT_FALSE(s.on_hold());
}

TEST(SdpRecorded, Rfc5118MultIpInSdpUsesMediaLevelConnections) {
    VG_RFC5118_BODY_OR_SKIP(body, "mult-ip-in-sdp", "the SDP parser on RFC 5118 §4.8's media-level connections");
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    EXPECT_FALSE(s.connection.present);
    // o= carries an FQDN: kept as text, no address.
    EXPECT_EQ(s.origin.address_text, "host.example.com");
    EXPECT_FALSE(s.origin.address.valid());
    ASSERT_EQ(s.media_count, 2u);
    EXPECT_EQ(s.media[0].address, ip("192.0.2.1"));
    EXPECT_EQ(s.media[0].rtp_port, 22334);
    EXPECT_EQ(s.media[1].address, ip("2001:db8::1"));
    EXPECT_EQ(s.media[1].rtp_port, 6024);
    EXPECT_TRUE(s.media[0].usable());
    EXPECT_TRUE(s.media[1].usable());
}

TEST(SdpRecorded, Rfc5118Ipv4MappedIpv6StaysIpv6) {
    VG_RFC5118_BODY_OR_SKIP(body, "ipv4-mapped-ipv6", "the SDP parser on RFC 5118 §4.9's IPv4-mapped addresses");
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    EXPECT_TRUE(s.connection.address.is_v6());
    EXPECT_EQ(s.media[0].address, ip("::ffff:192.0.2.2"));
    EXPECT_EQ(s.origin.address, ip("::ffff:192.0.2.2"));
}

TEST(SdpRecorded, Rfc4475Sdp01HasAudioAndVideo) {
    VG_RFC4475_BODY_OR_SKIP(body, "sdp01.dat", "the SDP parser on RFC 4475 sdp01.dat's audio and video streams");
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    EXPECT_EQ(s.origin.address, ip("192.0.2.5"));
    ASSERT_EQ(s.media_count, 2u);
    EXPECT_EQ(s.media[0].address, ip("192.0.2.5"));
    EXPECT_EQ(s.media[0].rtp_port, 49217);
    EXPECT_EQ(s.media[0].rtcp_port, 49218);
    EXPECT_EQ(s.media[0].formats, "0 12");
    EXPECT_EQ(s.media[0].transport, Transport::rtp_avp);
    EXPECT_EQ(s.media[1].rtp_port, 3227);
    EXPECT_EQ(s.media[1].direction, Direction::sendrecv);
}

TEST(SdpRecorded, Rfc4475WsinvOriginAndConnectionDiffer) {
    VG_RFC4475_BODY_OR_SKIP(body, "wsinv.dat", "the SDP parser on RFC 4475 wsinv.dat's origin and connection");
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    EXPECT_EQ(s.origin.address, ip("192.0.2.3"));
    EXPECT_EQ(s.media[0].address, ip("192.0.2.4"));
}

TEST(SdpRecorded, EveryRfc4475BodyWithSdpParsesWithoutError) {
    VG_SKIP_WITHOUT_CORPUS("rfc4475", "the SDP parser on every SDP body of the RFC 4475 messages");
    std::size_t parsed_bodies = 0;
    for (const std::string& name : test::list_corpus_dir("rfc4475")) {
        const std::string body = body_of(test::corpus_bytes("rfc4475/" + name));
        if (body.rfind("v=0", 0) != 0 || name == "test.dat") continue;
        const SessionDescription s = parsed(body);
        EXPECT_TRUE(s.ok()) << name << ": " << s.reason;
        EXPECT_GE(s.media_count, 1u) << name;
        ++parsed_bodies;
    }
    EXPECT_GE(parsed_bodies, 10u);
}

TEST(SdpRecorded, Rfc4475TestDatBodyIsLineMalformed) {
    // "v=0" then "testing=123": not "<letter>=".
    VG_RFC4475_BODY_OR_SKIP(body, "test.dat", "that RFC 4475 test.dat's body is a malformed SDP line");
    const SessionDescription s = parsed(body);
    EXPECT_EQ(s.status, Status::malformed);
    EXPECT_EQ(s.reason, "line_malformed");
    EXPECT_EQ(s.error_line, 2u);
}

// ---------------------------------------------------------------- basic fields

TEST(SdpParse, OfferWithCrlfGivesPortsAddressAndFormats) {
    const SessionDescription s = parsed(crlf(kOffer));
    ASSERT_TRUE(s.ok()) << s.reason;
    ASSERT_EQ(s.media_count, 2u);
    const MediaDescription& a = s.media[0];
    EXPECT_EQ(a.type_text, "audio");
    EXPECT_EQ(a.proto_text, "RTP/AVP");
    EXPECT_EQ(a.formats, "0 8 101");
    EXPECT_EQ(a.address, ip("198.51.100.1"));
    EXPECT_EQ(a.rtcp_address, ip("198.51.100.1"));
    EXPECT_EQ(a.line, 6u);
    EXPECT_FALSE(a.on_hold);
    EXPECT_EQ(s.origin.session_id, "2890844526");
}

TEST(SdpParse, BareLfIsTolerated) {
    const SessionDescription lf = parsed(kOffer);
    const SessionDescription cr = parsed(crlf(kOffer));
    ASSERT_TRUE(lf.ok());
    EXPECT_EQ(lf.media_count, cr.media_count);
    EXPECT_EQ(lf.media[1].rtp_port, cr.media[1].rtp_port);
    EXPECT_EQ(lf.media[0].formats, "0 8 101");
}

TEST(SdpParse, MissingFinalLineEndIsTolerated) {
    const SessionDescription s = parsed("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.media[0].rtp_port, 4000);
    EXPECT_EQ(s.media[0].formats, "0");
}

TEST(SdpParse, MediaLevelConnectionOverridesSession) {
    const SessionDescription s = parsed(
        "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 192.0.2.99\nm=audio 5000 RTP/AVP 0\n");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.media[0].address, ip("192.0.2.99"));
    EXPECT_EQ(s.media[1].address, ip("192.0.2.1"));
}

TEST(SdpParse, MulticastTtlAndCountSuffixesAreTolerated) {
    const SessionDescription s =
        parsed("v=0\nc=IN IP4 233.252.0.1/127/3\nm=audio 4000 RTP/AVP 0\nc=IN IP6 ff15::101/2\n");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.connection.address, ip("233.252.0.1"));
    EXPECT_EQ(s.connection.ttl, 127);
    EXPECT_EQ(s.connection.address_count, 3);
    EXPECT_EQ(s.media[0].address, ip("ff15::101"));
    EXPECT_EQ(s.media[0].connection.address_count, 2);
}

TEST(SdpParse, ProtocolsAreRecognised) {
    const SessionDescription s = parsed(
        "v=0\nc=IN IP4 192.0.2.1\n"
        "m=audio 1000 RTP/SAVP 0\nm=audio 1002 RTP/AVPF 0\nm=video 1004 RTP/SAVPF 96\n"
        "m=audio 1006 UDP/TLS/RTP/SAVP 0\nm=audio 1008 UDP/TLS/RTP/SAVPF 111\n"
        "m=image 1010 udptl t38\nm=application 1012 TCP/MRCPv2 1\nm=text 1014 RTP/AVP 98\n"
        "m=message 1016 TCP/MSRP *\nm=application 1018 UDP/DTLS/SCTP webrtc-datachannel\n");
    ASSERT_TRUE(s.ok()) << s.reason;
    ASSERT_EQ(s.media_count, 10u);
    EXPECT_EQ(s.media[0].transport, Transport::rtp_savp);
    EXPECT_EQ(s.media[1].transport, Transport::rtp_avpf);
    EXPECT_EQ(s.media[2].transport, Transport::rtp_savpf);
    EXPECT_EQ(s.media[3].transport, Transport::udp_tls_rtp_savp);
    EXPECT_EQ(s.media[4].transport, Transport::udp_tls_rtp_savpf);
    EXPECT_EQ(s.media[5].transport, Transport::udptl);
    EXPECT_EQ(s.media[5].type, MediaType::image);
    EXPECT_EQ(s.media[5].rtcp_port, 0);  // not RTP: no RTCP port
    EXPECT_EQ(s.media[6].transport, Transport::tcp);
    EXPECT_EQ(s.media[7].type, MediaType::text);
    EXPECT_EQ(s.media[8].type, MediaType::message);
    EXPECT_EQ(s.media[9].transport, Transport::other);
    EXPECT_EQ(s.media[9].proto_text, "UDP/DTLS/SCTP");
}

TEST(SdpParse, PortCountIsParsed) {
    const SessionDescription s = parsed("v=0\nc=IN IP4 192.0.2.1\nm=video 49170/2 RTP/AVP 31\n");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.media[0].port_count, 2);
    EXPECT_EQ(s.media[0].rtp_port, 49170);
    EXPECT_TRUE(s.media[0].usable());
}

// ---------------------------------------------------------------- RTCP

TEST(SdpRtcp, ExplicitRtcpAttributeSetsPortAndAddress) {
    const SessionDescription s = parsed(
        "v=0\nc=IN IP4 192.0.2.1\nm=audio 49170 RTP/AVP 0\na=rtcp:53020 IN IP4 126.16.64.4\n"
        "m=audio 49180 RTP/AVP 0\na=rtcp:60000\n");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.media[0].rtcp_port, 53020);
    EXPECT_EQ(s.media[0].rtcp_address, ip("126.16.64.4"));
    EXPECT_EQ(s.media[1].rtcp_port, 60000);
    EXPECT_EQ(s.media[1].rtcp_address, ip("192.0.2.1"));
}

TEST(SdpRtcp, RtcpMuxUsesTheRtpPort) {
    const SessionDescription s = parsed("v=0\nc=IN IP4 192.0.2.1\nm=audio 49170 RTP/SAVPF 111\na=rtcp-mux\n");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s.media[0].rtcp_mux);
    EXPECT_EQ(s.media[0].rtcp_port, 49170);
}

TEST(SdpRtcp, RtcpMuxAtSessionLevelIsIgnored) {
    const SessionDescription s = parsed("v=0\nc=IN IP4 192.0.2.1\na=rtcp-mux\nm=audio 49170 RTP/AVP 0\n");
    EXPECT_FALSE(s.media[0].rtcp_mux);
    EXPECT_EQ(s.media[0].rtcp_port, 49171);
}

TEST(SdpRtcp, BadRtcpAttributeMarksTheMediaLine) {
    for (const char* attr : {"a=rtcp:70000", "a=rtcp:0", "a=rtcp:", "a=rtcp:5000 IN IP4 host.example.com",
                             "a=rtcp:5000 IN IP4 2001:db8::1", "a=rtcp:5000 IN"}) {
        const std::string body = std::string("v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n") + attr + "\n";
        const SessionDescription s = parsed(body);
        EXPECT_TRUE(s.ok()) << attr;
        EXPECT_EQ(s.media[0].error, "rtcp_attribute_invalid") << attr;
        EXPECT_FALSE(s.media[0].usable()) << attr;
    }
}

TEST(SdpRtcp, Port65535WithoutMuxHasNoRtcpPort) {
    const SessionDescription s = parsed("v=0\nc=IN IP4 192.0.2.1\nm=audio 65535 RTP/AVP 0\n");
    EXPECT_EQ(s.media[0].error, "rtcp_port_out_of_range");
}

// ---------------------------------------------------------------- direction and hold

TEST(SdpDirection, MediaAttributeOverridesSessionAttribute) {
    const SessionDescription s = parsed(
        "v=0\nc=IN IP4 192.0.2.1\na=recvonly\nm=audio 4000 RTP/AVP 0\nm=video 4002 RTP/AVP 31\na=sendrecv\n");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s.direction_explicit);
    EXPECT_EQ(s.direction, Direction::recvonly);
    EXPECT_EQ(s.media[0].direction, Direction::recvonly);
    EXPECT_FALSE(s.media[0].on_hold);
    EXPECT_EQ(s.media[1].direction, Direction::sendrecv);
}

struct HoldCase {
    const char* name;
    const char* body;
    bool on_hold;
    Direction direction;
};

std::ostream& operator<<(std::ostream& os, const HoldCase& c) { return os << c.name; }

class SdpHold : public ::testing::TestWithParam<HoldCase> {};

TEST_P(SdpHold, DetectsRfc3264Hold) {
    const HoldCase& c = GetParam();
    const SessionDescription s = parsed(c.body);
    ASSERT_TRUE(s.ok()) << s.reason;
    ASSERT_EQ(s.media_count, 1u);
    EXPECT_EQ(s.media[0].on_hold, c.on_hold);
    EXPECT_EQ(s.media[0].direction, c.direction);
    EXPECT_EQ(s.on_hold(), c.on_hold);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3264, SdpHold,
    ::testing::Values(
        // RFC 3264 §8.4: the offerer marks the stream sendonly.
        HoldCase{"media_sendonly", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=sendonly\n", true,
                 Direction::sendonly},
        HoldCase{"media_inactive", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=inactive\n", true,
                 Direction::inactive},
        HoldCase{"session_sendonly", "v=0\nc=IN IP4 192.0.2.1\na=sendonly\nm=audio 4000 RTP/AVP 0\n", true,
                 Direction::sendonly},
        // RFC 2543 style: c=0.0.0.0 (RFC 3264 §8.4 says to accept it).
        HoldCase{"c_0_0_0_0", "v=0\nc=IN IP4 0.0.0.0\nm=audio 4000 RTP/AVP 0\n", true, Direction::sendrecv},
        HoldCase{"c_ipv6_unspecified", "v=0\nc=IN IP6 ::\nm=audio 4000 RTP/AVP 0\n", true, Direction::sendrecv},
        // The answer to a hold is recvonly: the answerer is not on hold.
        HoldCase{"media_recvonly_answer", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=recvonly\n", false,
                 Direction::recvonly},
        // Resume: sendrecv at media level overrides a session-level inactive.
        HoldCase{"resume_overrides_session", "v=0\nc=IN IP4 192.0.2.1\na=inactive\nm=audio 4000 RTP/AVP 0\na=sendrecv\n",
                 false, Direction::sendrecv}),
    [](const ::testing::TestParamInfo<HoldCase>& i) { return std::string(i.param.name); });

TEST(SdpHoldSession, SessionNotOnHoldWhenOneStreamIsActive) {
    const SessionDescription s =
        parsed("v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=sendonly\nm=video 4002 RTP/AVP 31\n");
    EXPECT_TRUE(s.media[0].on_hold);
    EXPECT_FALSE(s.media[1].on_hold);
    EXPECT_FALSE(s.on_hold());
}

TEST(SdpRejected, PortZeroRejectsTheMediaLineWithoutError) {
    const SessionDescription s = parsed("v=0\nm=audio 0 RTP/AVP 0\nm=video 0 RTP/AVP 31\n");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s.media[0].rejected);
    EXPECT_TRUE(s.media[0].error.empty());  // needs no connection address
    EXPECT_FALSE(s.media[0].usable());
    EXPECT_EQ(s.media[0].rtp_port, 0);
    EXPECT_EQ(s.media[0].rtcp_port, 0);
    EXPECT_FALSE(s.on_hold());
}

// ---------------------------------------------------------------- errors

struct MediaErrorCase {
    const char* name;
    const char* body;
    const char* error;
};

std::ostream& operator<<(std::ostream& os, const MediaErrorCase& c) { return os << c.name; }

class SdpMediaError : public ::testing::TestWithParam<MediaErrorCase> {};

TEST_P(SdpMediaError, MarksOnlyThatMediaLine) {
    const MediaErrorCase& c = GetParam();
    const std::string body = std::string(c.body) + "m=audio 8000 RTP/AVP 0\n";
    const SessionDescription s = parsed(body);
    ASSERT_TRUE(s.ok()) << s.reason;
    ASSERT_EQ(s.media_count, 2u);
    EXPECT_EQ(s.media[0].error, c.error);
    EXPECT_FALSE(s.media[0].usable());
    // The following, valid line keeps working when a session c= exists.
    if (s.connection.valid) {
        EXPECT_TRUE(s.media[1].usable()) << s.media[1].error;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SdpMediaError,
    ::testing::Values(
        MediaErrorCase{"port_above_65535", "v=0\nc=IN IP4 192.0.2.1\nm=audio 65536 RTP/AVP 0\n", "media_port_invalid"},
        MediaErrorCase{"port_negative", "v=0\nc=IN IP4 192.0.2.1\nm=audio -1 RTP/AVP 0\n", "media_port_invalid"},
        MediaErrorCase{"port_text", "v=0\nc=IN IP4 192.0.2.1\nm=audio $ RTP/AVP 0\n", "media_port_invalid"},
        MediaErrorCase{"port_count_zero", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000/0 RTP/AVP 0\n",
                       "media_port_count_invalid"},
        MediaErrorCase{"port_count_huge", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000/60000 RTP/AVP 0\n",
                       "media_port_count_invalid"},
        MediaErrorCase{"port_range_past_65535", "v=0\nc=IN IP4 192.0.2.1\nm=audio 65530/4 RTP/AVP 0\n",
                       "media_port_count_invalid"},
        MediaErrorCase{"no_formats", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP\n", "media_fields_missing"},
        MediaErrorCase{"only_media", "v=0\nc=IN IP4 192.0.2.1\nm=audio\n", "media_fields_missing"},
        MediaErrorCase{"no_connection_anywhere", "v=0\nm=audio 4000 RTP/AVP 0\n", "connection_missing"},
        MediaErrorCase{"connection_fqdn", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 host.example.com\n",
                       "connection_address_invalid"},
        MediaErrorCase{"connection_family_mismatch",
                       "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 2001:db8::1\n",
                       "connection_address_invalid"},
        MediaErrorCase{"connection_bad_nettype", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=ATM NSAP 47\n",
                       "connection_malformed"},
        MediaErrorCase{"connection_missing_address", "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4\n",
                       "connection_malformed"},
        MediaErrorCase{"connection_ttl_above_255",
                       "v=0\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 233.252.0.1/300\n",
                       "connection_malformed"}),
    [](const ::testing::TestParamInfo<MediaErrorCase>& i) { return std::string(i.param.name); });

struct SessionErrorCase {
    const char* name;
    const char* body;
    const char* reason;
    std::size_t line;
};

std::ostream& operator<<(std::ostream& os, const SessionErrorCase& c) { return os << c.name; }

class SdpSessionError : public ::testing::TestWithParam<SessionErrorCase> {};

TEST_P(SdpSessionError, ReportsReasonAndLine) {
    const SessionErrorCase& c = GetParam();
    const SessionDescription s = parsed(c.body);
    EXPECT_EQ(s.status, Status::malformed);
    EXPECT_EQ(s.reason, c.reason);
    EXPECT_EQ(s.error_line, c.line);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SdpSessionError,
    ::testing::Values(SessionErrorCase{"empty", "", "sdp_empty", 0},
                      SessionErrorCase{"only_blank_lines", "\r\n\n", "sdp_empty", 0},
                      SessionErrorCase{"no_version_first", "o=a 1 1 IN IP4 192.0.2.1\nv=0\n", "version_missing", 1},
                      SessionErrorCase{"garbage_first", "INVITE sip:bob SIP/2.0\n", "version_missing", 1},
                      SessionErrorCase{"version_1", "v=1\n", "version_unsupported", 1},
                      SessionErrorCase{"line_without_equals", "v=0\nc=IN IP4 192.0.2.1\nbogus\n", "line_malformed", 3},
                      SessionErrorCase{"equals_not_second", "v=0\nab=c\n", "line_malformed", 2},
                      SessionErrorCase{"origin_missing_fields", "v=0\no=alice 1 1 IN IP4\n", "origin_malformed", 2}),
    [](const ::testing::TestParamInfo<SessionErrorCase>& i) { return std::string(i.param.name); });

TEST(SdpLimits, SeventeenMediaLinesAreReportedAndFirstSixteenKept) {
    std::string body = "v=0\nc=IN IP4 192.0.2.1\n";
    for (int i = 0; i < 17; ++i) body += "m=audio " + std::to_string(10000 + 2 * i) + " RTP/AVP 0\n";
    const SessionDescription s = parsed(body);
    EXPECT_EQ(s.status, Status::too_many_media);
    EXPECT_EQ(s.reason, "too_many_media_lines");
    EXPECT_EQ(s.error_line, 19u);
    ASSERT_EQ(s.media_count, kMaxMediaLines);
    EXPECT_EQ(s.media[15].rtp_port, 10030);
    EXPECT_TRUE(s.media[15].usable());
}

TEST(SdpLimits, ParseAllocatesNothing) {
    const std::string body = crlf(kOffer) + "a=rtcp:5000 IN IP6 2001:db8::5\na=sendonly\n";
    SessionDescription s;
    test::AllocationScope scope;
    parse(body, s);
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_TRUE(s.ok());
}

TEST(SdpLimits, EveryCutOfAnOfferStaysInBounds) {
    const std::string full = crlf(kOffer) + "a=rtcp:5000 IN IP4 192.0.2.9\na=rtcp-mux\nc=IN IP6 2001:db8::1/3\n";
    for (std::size_t n = 0; n <= full.size(); ++n) {
        // Exactly sized heap copy: ASan catches a read past the cut.
        std::unique_ptr<char[]> buf(new char[n + 1]);
        std::memcpy(buf.get(), full.data(), n);
        SessionDescription s;
        parse(std::string_view(buf.get(), n), s);
        for (std::size_t i = 0; i < s.media_count; ++i) {
            const auto& f = s.media[i].formats;
            if (!f.empty()) {
                EXPECT_GE(f.data(), buf.get());
                EXPECT_LE(f.data() + f.size(), buf.get() + n);
            }
        }
    }
}

TEST(SdpLines, IteratorReportsLineNumbersAndStopsAtBadLine) {
    std::size_t count = 0;
    SdpLine bad;
    const bool ok = for_each_sdp_line(
        "v=0\r\n\r\nm=audio 1 RTP/AVP 0\n!x\nc=IN IP4 192.0.2.1\n",
        [&](const SdpLine& l) {
            ++count;
            if (count == 2) {
                EXPECT_EQ(l.type, 'm');
                EXPECT_EQ(l.number, 3u);
                EXPECT_EQ(l.value, "audio 1 RTP/AVP 0");
            }
            return true;
        },
        bad);
    EXPECT_FALSE(ok);
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(bad.number, 4u);
}

TEST(SdpNames, EnumNamesAreStable) {
    EXPECT_EQ(to_string(Direction::inactive), "inactive");
    EXPECT_EQ(to_string(MediaType::image), "image");
    EXPECT_EQ(to_string(Transport::udp_tls_rtp_savpf), "UDP/TLS/RTP/SAVPF");
    EXPECT_EQ(to_string(Status::too_many_media), "too_many_media");
    EXPECT_TRUE(is_rtp(Transport::rtp_avpf));
    EXPECT_FALSE(is_rtp(Transport::udptl));
}

}  // namespace
}  // namespace vg::sdp
