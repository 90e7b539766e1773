// SPDX-License-Identifier: GPL-2.0-or-later
// RFC 5118 "SIP Torture Test Messages for IPv6": every file of the archive,
// read from the third-party corpus (rfc5118/, bit-exact: bare LF line ends,
// some wrong Content-Lengths) and put in wire form here (CRLF, the real body
// length, a closing empty line: tests/support/sip_wire_form.h). Every test
// skips, saying so, when the archive is not there.
#include "filters/net/ip_address.h"
#include "filters/sip/sip_parser.h"
#include "filters/util/text.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_wire_form.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace vg::sip {
namespace {

// The files of the RFC's Appendix A archive.
const std::set<std::string> kArchive = {
    "ipv4-mapped-ipv6",  "ipv6-bad",       "ipv6-bug-abnf-3-colons", "ipv6-correct-abnf-2-colons",
    "ipv6-good",         "ipv6-in-sdp",    "mult-ip-in-header",      "mult-ip-in-sdp",
    "port-ambiguous",    "port-unambiguous", "via-received-param-no-delim", "via-received-param-with-delim"};

class Rfc5118 : public ::testing::Test {
protected:
    // Each test reads one archive file: all of them must be there.
    void SetUp() override {
        for (const std::string& f : kArchive)
            VG_SKIP_WITHOUT_CORPUS("rfc5118/" + f, std::string("the SIP parser on the RFC 5118 IPv6 torture messages (") +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                                                       ")");
    }
    ParseResult parse(const std::string& file, Transport t = Transport::datagram) {
        data_ = test::sip_wire_form(test::corpus_bytes("rfc5118/" + file));
        return parse_message(data_, t, Limits{}, *msg_);
    }
    // Parses as a datagram and as a stream; both must succeed without anomaly.
    const SipMessage& ok(const std::string& file) {
        ParseResult r = parse(file, Transport::stream);
        EXPECT_EQ(r.status, Status::ok) << file << ": " << (r.reason ? r.reason : "");
        EXPECT_EQ(r.consumed, data_.size());
        r = parse(file, Transport::datagram);
        EXPECT_EQ(r.status, Status::ok) << file << ": " << (r.reason ? r.reason : "");
        EXPECT_EQ(r.anomalies, 0u) << file;
        return *msg_;
    }
    std::string_view body_in_file() const {
        const std::size_t p = data_.find("\r\n\r\n");
        return std::string_view(data_).substr(p + 4);
    }

    std::string data_;
    std::unique_ptr<SipMessage> msg_ = std::make_unique<SipMessage>();
};

TEST_F(Rfc5118, EveryArchiveFileHasATest) {
    const auto files = test::list_corpus_dir("rfc5118");
    EXPECT_EQ(std::set<std::string>(files.begin(), files.end()), kArchive);
}

// §4.1: IPv6 reference in Request-URI, Via sent-by and Contact.
TEST_F(Rfc5118, Ipv6GoodReferencesInRequestUriViaAndContact) {
    const SipMessage& m = ok("ipv6-good");
    EXPECT_EQ(m.request_uri.host, "[2001:db8::10]");
    EXPECT_EQ(m.request_uri.host_type, HostType::ipv6);
    EXPECT_FALSE(m.request_uri.has_port);
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_EQ(m.vias[0].host, "[2001:db8::9:1]");
    EXPECT_EQ(m.vias[0].host_type, HostType::ipv6);
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_EQ(m.contacts[0].addr.uri.host, "[2001:db8::1]");
    EXPECT_EQ(m.contacts[0].addr.display_name, "Caller");
    // The views feed the address parser directly.
    const auto a = net::IpAddress::parse(m.vias[0].host_unbracketed());
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->is_v6());
    EXPECT_EQ(net::IpAddress::parse(m.vias[0].host), a);
}

// §4.2: "sip:2001:db8::10" reads as host "2001" and port "db8::10". A firewall
// must know the target of a request to apply its rules, and a UA answers 400,
// so the request is dropped as malformed rather than passed with a guess.
TEST_F(Rfc5118, Ipv6BadUnbracketedRequestUriMalformed) {
    ParseResult r = parse("ipv6-bad");
    EXPECT_EQ(r.status, Status::malformed);
    EXPECT_STREQ(r.reason, "bad_request_uri");
    r = parse("ipv6-bad", Transport::stream);
    EXPECT_STREQ(r.reason, "bad_request_uri");
    Uri u;
    EXPECT_FALSE(parse_uri("sip:2001:db8::10", u));
}

// §4.3: the last group is part of the address; there is no port.
TEST_F(Rfc5118, PortAmbiguousLastGroupIsAddressNotPort) {
    const SipMessage& m = ok("port-ambiguous");
    EXPECT_EQ(m.request_uri.host, "[2001:db8::10:5070]");
    EXPECT_FALSE(m.request_uri.has_port);
}

// §4.4: port after the bracket.
TEST_F(Rfc5118, PortUnambiguousPortAfterBracket) {
    const SipMessage& m = ok("port-unambiguous");
    EXPECT_EQ(m.request_uri.host, "[2001:db8::10]");
    EXPECT_TRUE(m.request_uri.has_port);
    EXPECT_EQ(m.request_uri.port, 5070);
}

// §4.5: received with brackets.
TEST_F(Rfc5118, ViaReceivedWithBracketsKeptAsWritten) {
    const SipMessage& m = ok("via-received-param-with-delim");
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_TRUE(m.vias[0].has_received);
    EXPECT_EQ(m.vias[0].received, "[2001:db8::9:255]");
    EXPECT_EQ(m.vias[0].branch, "z9hG4bKas3-111");
    EXPECT_EQ(m.method, Method::bye);
}

// §4.5: received without brackets (the RFC 3261 grammar) parses too.
TEST_F(Rfc5118, ViaReceivedWithoutBracketsKeptAsWritten) {
    const SipMessage& m = ok("via-received-param-no-delim");
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_EQ(m.vias[0].received, "2001:db8::9:255");
    EXPECT_EQ(m.vias[0].branch, "z9hG4bKas3");
    EXPECT_EQ(m.contacts[0].addr.uri.host, "[2001:db8::9:1]");
}

// §4.6: SDP with IPv6 returned intact for the SDP parser.
TEST_F(Rfc5118, Ipv6InSdpBodyReturnedIntact) {
    const SipMessage& m = ok("ipv6-in-sdp");
    EXPECT_EQ(m.request_uri.user, "user");
    EXPECT_EQ(m.request_uri.host, "[2001:db8::10]");
    EXPECT_EQ(m.to.uri.host, "[2001:db8::10]");
    EXPECT_EQ(m.vias[0].host, "[2001:db8::20]");
    EXPECT_EQ(m.body, body_in_file());
    EXPECT_EQ(m.body.size(), m.content_length.value);
    EXPECT_NE(m.body.find("c=IN IP6 2001:db8::20\r\n"), std::string_view::npos);
}

// §4.7: mixed IPv6 and IPv4 Vias, with port, and an IPv4 received.
TEST_F(Rfc5118, MultIpInHeaderMixedFamilyVias) {
    const SipMessage& m = ok("mult-ip-in-header");
    ASSERT_EQ(m.via_count, 3u);
    EXPECT_EQ(m.vias[0].host, "[2001:db8::9:1]");
    EXPECT_EQ(m.vias[0].port, 6050);
    EXPECT_EQ(m.vias[1].host, "192.0.2.1");
    EXPECT_EQ(m.vias[1].host_type, HostType::ipv4);
    EXPECT_FALSE(m.vias[1].has_port);
    EXPECT_EQ(m.vias[2].transport, ViaTransport::tcp);
    EXPECT_EQ(m.vias[2].host, "[2001:db8::9:255]");
    EXPECT_EQ(m.vias[2].received, "192.0.2.200");
}

// §4.8: both address families in the SDP; body intact.
TEST_F(Rfc5118, MultIpInSdpBodyReturnedIntact) {
    const SipMessage& m = ok("mult-ip-in-sdp");
    EXPECT_EQ(m.body, body_in_file());
    EXPECT_NE(m.body.find("c=IN IP4 192.0.2.1\r\n"), std::string_view::npos);
    EXPECT_NE(m.body.find("c=IN IP6 2001:db8::1\r\n"), std::string_view::npos);
    EXPECT_EQ(m.contacts[0].addr.uri.host, "[2001:db8::9:1]");
}

// §4.9: IPv4-mapped IPv6 in Via (with port), Contact and SDP.
TEST_F(Rfc5118, Ipv4MappedIpv6Addresses) {
    const SipMessage& m = ok("ipv4-mapped-ipv6");
    ASSERT_EQ(m.via_count, 2u);
    EXPECT_EQ(m.vias[0].host, "[::ffff:192.0.2.10]");
    EXPECT_EQ(m.vias[0].port, 19823);
    EXPECT_EQ(m.vias[1].host, "[::ffff:192.0.2.2]");
    EXPECT_EQ(m.contacts[0].addr.display_name, "T. desk phone");
    EXPECT_EQ(m.contacts[0].addr.uri.host, "[::ffff:192.0.2.2]");
    EXPECT_EQ(m.body, body_in_file());
}

// §4.10: the three-colon form from the RFC 3261 ABNF bug is tolerated.
TEST_F(Rfc5118, Ipv6BugAbnfThreeColonsTolerated) {
    const SipMessage& m = ok("ipv6-bug-abnf-3-colons");
    EXPECT_EQ(m.request_uri.host, "[2001:db8:::192.0.2.1]");
    EXPECT_EQ(m.request_uri.host_type, HostType::ipv6);
    EXPECT_EQ(m.to.uri.host, "[2001:db8:::192.0.2.1]");
}

// §4.10: the correct two-colon form.
TEST_F(Rfc5118, Ipv6CorrectAbnfTwoColons) {
    const SipMessage& m = ok("ipv6-correct-abnf-2-colons");
    EXPECT_EQ(m.request_uri.host, "[2001:db8::192.0.2.1]");
    EXPECT_EQ(m.to.uri.host, "[2001:db8::192.0.2.1]");
    EXPECT_EQ(m.method, Method::options);
}

}  // namespace
}  // namespace vg::sip
