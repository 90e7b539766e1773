// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/sip_parser.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_wire_form.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vg::sip {
namespace {

const std::string kInvite =
    "INVITE sip:+442071234567@pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:+442071234567@pbx.example.com>\r\n"
    "From: \"Desk 12\" <sip:12@pbx.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:12@192.0.2.10:5060>;expires=3600\r\n"
    "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKx;received=198.51.100.7;rport=40123\r\n"
    "To: <sip:a@example.com>;tag=t1\r\n"
    "From: <sip:b@example.com>;tag=f1\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:a@192.0.2.10>;expires=60, <sip:a@198.51.100.7>;expires=0\r\n"
    "Expires: 60\r\n"
    "Server: Asterisk PBX 18.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// Minimal valid request with one extra header line inserted.
std::string request_with(const std::string& extra, const std::string& body = "") {
    return "OPTIONS sip:a@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
           "To: <sip:a@example.com>\r\n"
           "From: <sip:b@example.com>;tag=1\r\n"
           "Call-ID: x\r\n"
           "CSeq: 1 OPTIONS\r\n" +
           extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class SipParser : public ::testing::Test {
protected:
    ParseResult parse(std::string_view data, Transport t = Transport::datagram, const Limits& l = Limits{}) {
        return parse_message(data, t, l, *msg_);
    }
    std::unique_ptr<SipMessage> msg_ = std::make_unique<SipMessage>();
};

TEST_F(SipParser, InviteExtractsEveryFieldOk) {
    const ParseResult r = parse(kInvite);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.reason, nullptr);
    EXPECT_EQ(r.anomalies, 0u);
    EXPECT_EQ(r.consumed, kInvite.size());
    const SipMessage& m = *msg_;
    EXPECT_EQ(m.kind, MessageKind::request);
    EXPECT_EQ(m.method, Method::invite);
    EXPECT_EQ(m.request_uri.user, "+442071234567");
    EXPECT_EQ(m.version, "SIP/2.0");
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_EQ(m.vias[0].port, 5060);
    EXPECT_TRUE(m.vias[0].has_rport);
    EXPECT_EQ(m.max_forwards.value, 70u);
    EXPECT_EQ(m.from.display_name, "Desk 12");
    EXPECT_EQ(m.from.tag, "1928301774");
    EXPECT_FALSE(m.to.has_tag);
    EXPECT_EQ(m.call_id, "a84b4c76e66710@192.0.2.10");
    EXPECT_EQ(m.cseq.number, 314159u);
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_TRUE(m.contacts[0].has_expires);
    EXPECT_EQ(m.contacts[0].expires, 3600u);
    EXPECT_EQ(m.user_agent, "Yealink SIP-T46S 66.86.0.15");
    EXPECT_EQ(m.content_type, "application/sdp");
    EXPECT_EQ(m.body, "v=0\n");
    EXPECT_EQ(m.header_count, 10u);
}

TEST_F(SipParser, ResponseWithTwoContactsAndRportValueOk) {
    const ParseResult r = parse(kOk);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, 0u);
    EXPECT_EQ(msg_->status_code, 200);
    EXPECT_EQ(msg_->reason, "OK");
    EXPECT_EQ(msg_->vias[0].rport, 40123);
    EXPECT_TRUE(msg_->vias[0].rport_has_value);
    EXPECT_EQ(msg_->vias[0].received, "198.51.100.7");
    ASSERT_EQ(msg_->contact_count, 2u);
    EXPECT_EQ(msg_->contacts[1].expires, 0u);
    EXPECT_EQ(msg_->expires.value, 60u);
    EXPECT_EQ(msg_->server, "Asterisk PBX 18.0");
    EXPECT_EQ(msg_->cseq.method, Method::register_);
}

TEST_F(SipParser, CompactFormsMapToSameHeaderIds) {
    const std::string m =
        "MESSAGE sip:a@example.com SIP/2.0\r\n"
        "v: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
        "t: <sip:a@example.com>\r\nf: <sip:b@example.com>;tag=1\r\ni: cid\r\n"
        "CSeq: 1 MESSAGE\r\nm: <sip:b@h.example.com>\r\nc: text/plain\r\n"
        "k: timer\r\ns: hi\r\ne: gzip\r\no: presence\r\nu: dialog\r\nr: <sip:c@example.com>\r\n"
        "b: <sip:d@example.com>\r\nx: 1800\r\na: *;audio\r\nj: *;video\r\nd: proxy\r\ny: abc\r\n"
        "n: <https://example.com/cert>\r\nl: 2\r\n\r\nhi";
    ASSERT_EQ(parse(m).status, Status::ok);
    const HeaderId want[] = {HeaderId::via,         HeaderId::to,          HeaderId::from,
                             HeaderId::call_id,     HeaderId::cseq,        HeaderId::contact,
                             HeaderId::content_type, HeaderId::supported,  HeaderId::subject,
                             HeaderId::content_encoding, HeaderId::event,  HeaderId::allow_events,
                             HeaderId::refer_to,    HeaderId::referred_by, HeaderId::session_expires,
                             HeaderId::accept_contact, HeaderId::reject_contact, HeaderId::request_disposition,
                             HeaderId::identity,    HeaderId::identity_info, HeaderId::content_length};
    ASSERT_EQ(msg_->header_count, sizeof want / sizeof want[0]);
    for (std::size_t i = 0; i < msg_->header_count; ++i) EXPECT_EQ(msg_->headers[i].id, want[i]) << i;
    EXPECT_EQ(msg_->call_id, "cid");
    EXPECT_EQ(msg_->body, "hi");
    EXPECT_EQ(msg_->find("Session-Expires")->value, "1800");
    EXPECT_EQ(header_name(HeaderId::call_id), "Call-ID");
}

TEST_F(SipParser, HeaderNamesCaseInsensitiveAndSpaceBeforeColon) {
    const std::string m = request_with("uSeR-aGeNt   : Phone 1.0\r\n");
    ASSERT_EQ(parse(m).status, Status::ok);
    EXPECT_EQ(msg_->user_agent, "Phone 1.0");
    EXPECT_EQ(msg_->find("USER-AGENT")->name, "uSeR-aGeNt");
}

TEST_F(SipParser, FoldedValueKeepsFoldInsideView) {
    const std::string m = request_with("Subject: first\r\n\tsecond\r\n  third\r\n");
    ASSERT_EQ(parse(m).status, Status::ok);
    const Header* h = msg_->find(HeaderId::subject);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->value, "first\r\n\tsecond\r\n  third");
    EXPECT_TRUE(lws_equals(h->value, "first second third"));
}

TEST_F(SipParser, MultipleViasOnOneLineAndAcrossLinesInOrder) {
    const std::string m =
        "BYE sip:a@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK2\r\n"
        "Via: SIP / 2.0 / WSS  ua.example.com ; branch = z9hG4bK3 ; received = 203.0.113.9\r\n"
        "To: <sip:a@example.com>;tag=2\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: x\r\nCSeq: 2 BYE\r\n"
        "Content-Length: 0\r\n\r\n";
    ASSERT_EQ(parse(m).status, Status::ok);
    ASSERT_EQ(msg_->via_count, 3u);
    EXPECT_EQ(msg_->vias[0].host, "p1.example.com");
    EXPECT_EQ(msg_->vias[1].transport, ViaTransport::tls);
    EXPECT_EQ(msg_->vias[1].host, "[2001:db8::1]");
    EXPECT_EQ(msg_->vias[1].port, 5061);
    EXPECT_EQ(msg_->vias[2].transport, ViaTransport::wss);
    EXPECT_EQ(msg_->vias[2].branch, "z9hG4bK3");
    EXPECT_EQ(msg_->vias[2].received, "203.0.113.9");
}

TEST(ParseVia, SpaceAroundPortColonAccepted) {
    Via v;
    ASSERT_TRUE(parse_via("SIP/2.0/UDP host.example.com : 5070 ;branch=z9hG4bKa", v));
    EXPECT_EQ(v.port, 5070);
    EXPECT_EQ(v.branch, "z9hG4bKa");
}

TEST(ParseVia, MissingSentByInvalid) {
    Via v;
    EXPECT_FALSE(parse_via("SIP/2.0/UDP", v));
    EXPECT_FALSE(parse_via("SIP/2.0 host.example.com", v));
    EXPECT_FALSE(parse_via("SIP/2.0/UDP host.example.com;rport=99999", v));
    EXPECT_FALSE(parse_via("SIP/2.0/UDP host.example.com junk", v));
}

TEST_F(SipParser, BadViaStopsExtractionAndFlags) {
    const std::string m =
        "OPTIONS sip:a@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP good.example.com;branch=z9hG4bK1, SIP/2.0/UDP\r\n"
        "Via: SIP/2.0/UDP later.example.com;branch=z9hG4bK2\r\n"
        "To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n";
    const ParseResult r = parse(m);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::via_invalid);
    EXPECT_EQ(msg_->via_count, 1u);
}

TEST_F(SipParser, ContactStarAloneOk) {
    ASSERT_EQ(parse(request_with("Contact: *\r\nExpires: 0\r\n")).status, Status::ok);
    EXPECT_TRUE(msg_->contact_star);
    EXPECT_EQ(msg_->contact_count, 0u);
    EXPECT_EQ(msg_->anomalies, 0u);
}

TEST_F(SipParser, ContactStarWithOtherContactFlagged) {
    ASSERT_EQ(parse(request_with("Contact: *, <sip:a@b.example.com>\r\n")).status, Status::ok);
    EXPECT_EQ(msg_->anomalies, anomaly::contact_star_mixed);
}

TEST_F(SipParser, EmptyCallIdFlagged) {
    std::string m = request_with("");
    m.replace(m.find("Call-ID: x"), 10, "Call-ID:");
    ASSERT_EQ(parse(m).status, Status::ok);
    EXPECT_TRUE(msg_->has_call_id);
    EXPECT_EQ(msg_->call_id, "");
    EXPECT_EQ(msg_->anomalies, anomaly::call_id_invalid);
}

TEST_F(SipParser, CseqWithoutMethodFlaggedInvalid) {
    std::string m = request_with("");
    m.replace(m.find("CSeq: 1 OPTIONS"), 15, "CSeq: 1");
    ASSERT_EQ(parse(m).status, Status::ok);
    EXPECT_FALSE(msg_->cseq.valid);
    EXPECT_EQ(msg_->anomalies, anomaly::cseq_invalid);
}

TEST_F(SipParser, ResponseStatusCodeOutside100To699Malformed) {
    EXPECT_STREQ(parse("SIP/2.0 099 Low\r\n\r\n").reason, "bad_status_line");
    EXPECT_STREQ(parse("SIP/2.0 700 High\r\n\r\n").reason, "bad_status_line");
    EXPECT_STREQ(parse("SIP/2.0 20 Short\r\n\r\n").reason, "bad_status_line");
    EXPECT_STREQ(parse("SIP/3.0 200 OK\r\n\r\n").reason, "bad_sip_version");
}

TEST_F(SipParser, HeaderLineWithoutColonMalformed) {
    const ParseResult r = parse(request_with("NoColonHere\r\n"));
    EXPECT_EQ(r.status, Status::malformed);
    EXPECT_STREQ(r.reason, "bad_header_line");
}

TEST_F(SipParser, ContinuationBeforeAnyHeaderMalformed) {
    const ParseResult r = parse("OPTIONS sip:a@example.com SIP/2.0\r\n folded\r\n\r\n");
    EXPECT_STREQ(r.reason, "bad_header_line");
}

TEST_F(SipParser, BareCrInsideHeaderMalformed) {
    const ParseResult r = parse(request_with("Subject: a\rb\r\n"));
    EXPECT_EQ(r.status, Status::malformed);
    EXPECT_STREQ(r.reason, "bad_line_ending");
}

TEST_F(SipParser, BareLfLineEndsToleratedAndFlagged) {
    std::string m = request_with("");
    std::string lf;
    for (std::size_t i = 0; i < m.size(); ++i)
        if (!(m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n')) lf += m[i];
    const ParseResult r = parse(lf);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::bare_lf);
    EXPECT_EQ(msg_->call_id, "x");
}

TEST_F(SipParser, KeepaliveCrlfIsOkKeepalive) {
    ParseResult r = parse("\r\n\r\n", Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(msg_->kind, MessageKind::keepalive);
    EXPECT_EQ(r.consumed, 4u);
    r = parse("\r\n\r\n", Transport::datagram);
    EXPECT_EQ(msg_->kind, MessageKind::keepalive);
}

TEST_F(SipParser, EmptyInputIncompleteOnStreamMalformedOnDatagram) {
    EXPECT_EQ(parse("", Transport::stream).status, Status::incomplete);
    EXPECT_STREQ(parse("", Transport::datagram).reason, "empty_message");
}

TEST_F(SipParser, DatagramTrailingBytesIgnoredAndFlagged) {
    const std::string m = request_with("", "abc") + "GARBAGE";
    const ParseResult r = parse(m);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::trailing_data);
    EXPECT_EQ(msg_->body, "abc");
    EXPECT_EQ(r.consumed, m.size() - 7);
}

TEST_F(SipParser, StreamWithTwoAndAHalfMessagesYieldsTwoThenIncomplete) {
    const std::string buf = kInvite + kOk + kInvite.substr(0, kInvite.size() / 2);
    std::string_view rest = buf;
    ParseResult r = parse(rest, Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.consumed, kInvite.size());
    EXPECT_EQ(msg_->method, Method::invite);
    rest.remove_prefix(r.consumed);
    r = parse(rest, Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.consumed, kOk.size());
    EXPECT_EQ(msg_->status_code, 200);
    rest.remove_prefix(r.consumed);
    r = parse(rest, Transport::stream);
    EXPECT_EQ(r.status, Status::incomplete);
    EXPECT_EQ(r.consumed, 0u);
    // The rest of the third message arrives.
    const std::string whole = std::string(rest) + kInvite.substr(kInvite.size() / 2);
    r = parse(whole, Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.consumed, kInvite.size());
}

TEST_F(SipParser, StreamBodyNotYetCompleteIsIncomplete) {
    const std::string m = request_with("", "0123456789");
    EXPECT_EQ(parse(std::string_view(m).substr(0, m.size() - 1), Transport::stream).status, Status::incomplete);
    EXPECT_EQ(parse(m, Transport::stream).status, Status::ok);
}

TEST_F(SipParser, StreamWithoutContentLengthMalformed) {
    const std::string m = "OPTIONS sip:a@example.com SIP/2.0\r\nCall-ID: x\r\n\r\n";
    EXPECT_STREQ(parse(m, Transport::stream).reason, "content_length_missing");
    const ParseResult r = parse(m, Transport::datagram);
    EXPECT_EQ(r.status, Status::ok);
    EXPECT_TRUE(r.anomalies & anomaly::no_content_length);
}

TEST_F(SipParser, ContentLengthNonNumericMalformed) {
    std::string m = request_with("");
    m.replace(m.find("Content-Length: 0"), 17, "Content-Length: bad");
    EXPECT_STREQ(parse(m).reason, "content_length_invalid");
}

TEST_F(SipParser, ContentLengthAboveLimitMalformedEvenOnStream) {
    std::string m = request_with("");
    m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 99999999999");
    EXPECT_STREQ(parse(m, Transport::stream).reason, "message_too_large");
    m = request_with("");
    m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 70000");
    EXPECT_STREQ(parse(m, Transport::stream).reason, "message_too_large");
}

TEST_F(SipParser, LimitMaxHeadersExceededMalformed) {
    Limits l;
    l.max_headers = 5;
    EXPECT_STREQ(parse(request_with(""), Transport::datagram, l).reason, "too_many_headers");
    l.max_headers = 7;
    EXPECT_EQ(parse(request_with(""), Transport::datagram, l).status, Status::ok);
}

TEST_F(SipParser, CapacityOfHeaderArrayExceededMalformed) {
    std::string extra;
    for (std::size_t i = 0; i < kMaxHeaders; ++i) extra += "X-H: 1\r\n";
    EXPECT_STREQ(parse(request_with(extra)).reason, "too_many_headers");
}

TEST_F(SipParser, TooManyViasMalformed) {
    std::string extra;
    for (std::size_t i = 0; i < kMaxVias; ++i) extra += "Via: SIP/2.0/UDP h.example.com\r\n";
    EXPECT_STREQ(parse(request_with(extra)).reason, "too_many_vias");
}

TEST_F(SipParser, TooManyContactsMalformed) {
    std::string extra = "Contact: <sip:a@b.example.com>";
    for (std::size_t i = 0; i < kMaxContacts; ++i) extra += ", <sip:a@b.example.com>";
    EXPECT_STREQ(parse(request_with(extra + "\r\n")).reason, "too_many_contacts");
}

TEST_F(SipParser, LimitLineLengthExceededMalformed) {
    Limits l;
    l.max_line_length = 64;
    const std::string m = request_with("Subject: " + std::string(100, 'a') + "\r\n");
    EXPECT_STREQ(parse(m, Transport::datagram, l).reason, "line_too_long");
    // Also while the line is still arriving on a stream.
    EXPECT_STREQ(parse(std::string_view(m).substr(0, m.find("aaaa") + 90), Transport::stream, l).reason,
                 "line_too_long");
}

TEST_F(SipParser, LimitMessageSizeExceededMalformed) {
    Limits l;
    l.max_message_size = 100;
    const std::string m = request_with("");
    EXPECT_STREQ(parse(m, Transport::datagram, l).reason, "message_too_large");
    EXPECT_STREQ(parse(m.substr(0, 150), Transport::stream, l).reason, "message_too_large");
}

TEST_F(SipParser, LeadingCrlfBeforeStartLineSkippedAndFlagged) {
    const std::string m = "\r\n\r\n" + kOk;
    const ParseResult r = parse(m, Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.consumed, m.size());
    EXPECT_EQ(r.anomalies, anomaly::leading_crlf);
}

TEST_F(SipParser, UnknownHeaderFoundByNameAndForEach) {
    const std::string m = request_with("X-Custom: one\r\nx-custom: two\r\n");
    ASSERT_EQ(parse(m).status, Status::ok);
    EXPECT_EQ(msg_->find("X-CUSTOM")->value, "one");
    int n = 0;
    msg_->for_each_header(HeaderId::other, [&](const Header&) { ++n; });
    EXPECT_EQ(n, 2);
    EXPECT_EQ(msg_->find("Nope"), nullptr);
}

TEST_F(SipParser, ReusedMessageIsResetBetweenParses) {
    ASSERT_EQ(parse(kInvite).status, Status::ok);
    ASSERT_EQ(parse(kOk).status, Status::ok);
    EXPECT_EQ(msg_->method, Method::unknown);
    EXPECT_TRUE(msg_->user_agent.empty());
    EXPECT_EQ(msg_->contact_count, 2u);
}

TEST(MethodNames, KnownMethodsCaseSensitive) {
    EXPECT_EQ(method_from_token("REGISTER"), Method::register_);
    EXPECT_EQ(method_from_token("register"), Method::unknown);
    EXPECT_EQ(method_name(Method::prack), "PRACK");
    EXPECT_STREQ(anomaly_name(anomaly::trailing_data), "trailing_data");
    EXPECT_STREQ(status_name(Status::incomplete), "incomplete");
    EXPECT_STREQ(anomaly_name(anomaly::method_case), "method_case");
}

TEST(MethodNames, IgnoringCaseFindsTheKnownMethod) {
    EXPECT_EQ(method_from_token_ignore_case("register"), Method::register_);
    EXPECT_EQ(method_from_token_ignore_case("InViTe"), Method::invite);
    EXPECT_EQ(method_from_token_ignore_case("INVITEX"), Method::unknown);
    EXPECT_EQ(method_from_token_ignore_case("INV"), Method::unknown);
    EXPECT_EQ(method_from_token_ignore_case(""), Method::unknown);
}

// RFC 3261 keeps methods case-sensitive, and so does the parser by default;
// a caller judging what a PBX will do (PBX stacks compare them ignoring case)
// asks for the known method, and the message says it was spelled otherwise.
TEST_F(SipParser, MethodsIgnoringCaseOnlyWhenAskedAndFlagged) {
    std::string lower = kInvite;
    lower.replace(0, 6, "invite");
    const auto cseq = lower.find("CSeq: 314159 INVITE");
    ASSERT_NE(cseq, std::string::npos);
    lower.replace(cseq, 19, "CSeq: 314159 iNvItE");
    ASSERT_EQ(parse_message(lower, Transport::datagram, Limits{}, *msg_).status, Status::ok);
    EXPECT_EQ(msg_->method, Method::unknown);
    EXPECT_EQ(msg_->method_text, "invite");
    EXPECT_EQ(msg_->cseq.method, Method::unknown);
    EXPECT_FALSE(msg_->has_anomaly(anomaly::method_case));
    Limits folding;
    folding.methods_ignore_case = true;
    ASSERT_EQ(parse_message(lower, Transport::datagram, folding, *msg_).status, Status::ok);
    EXPECT_EQ(msg_->method, Method::invite);
    EXPECT_EQ(msg_->method_text, "invite");   // as written
    EXPECT_EQ(msg_->cseq.method, Method::invite);
    EXPECT_TRUE(msg_->has_anomaly(anomaly::method_case));
    // A correctly spelled message carries no such anomaly.
    ASSERT_EQ(parse_message(kInvite, Transport::datagram, folding, *msg_).status, Status::ok);
    EXPECT_FALSE(msg_->has_anomaly(anomaly::method_case));
}

// Parses each input as datagram and as stream, with the helpers a caller
// uses on the result; returns how many parses were ok and the allocations.
std::pair<std::size_t, std::size_t> parse_counting_allocations(const std::vector<std::string>& inputs,
                                                               SipMessage& msg) {
    std::size_t oks = 0;
    test::AllocationScope scope;
    for (const auto& in : inputs) {
        for (Transport t : {Transport::datagram, Transport::stream}) {
            const ParseResult r = parse_message(in, t, Limits{}, msg);
            if (r.status == Status::ok) ++oks;
            char buf[256];
            if (msg.request_uri.has_user) (void)uri_unescape(msg.request_uri.user, buf, sizeof buf);
            for (std::size_t i = 0; i < msg.header_count; ++i) (void)copy_unfolded(msg.headers[i].value, buf, sizeof buf);
        }
    }
    return {oks, scope.allocations()};
}

// A parse allocates nothing: synthetic messages, as datagram and as stream.
TEST_F(SipParser, ParseMakesZeroHeapAllocations) {
    const std::vector<std::string> inputs = {kInvite, kOk, request_with("Subject: a\r\n b\r\n")};
    const auto [oks, allocations] = parse_counting_allocations(inputs, *msg_);
    EXPECT_EQ(allocations, 0u);
    EXPECT_EQ(oks, 6u);
}

// Nor on every conformance message of the corpus (RFC 5118's in wire form).
TEST_F(SipParser, ParseOfEveryConformanceMessageMakesZeroHeapAllocations) {
    VG_SKIP_WITHOUT_CORPUS("rfc4475", "that parsing the RFC 4475 and RFC 5118 messages allocates nothing");
    VG_SKIP_WITHOUT_CORPUS("rfc5118", "that parsing the RFC 4475 and RFC 5118 messages allocates nothing");
    std::vector<std::string> inputs;
    for (const auto& f : test::list_corpus_dir("rfc4475")) inputs.push_back(test::corpus_bytes("rfc4475/" + f));
    for (const auto& f : test::list_corpus_dir("rfc5118"))
        inputs.push_back(test::sip_wire_form(test::corpus_bytes("rfc5118/" + f)));
    ASSERT_GT(inputs.size(), 60u);
    const auto [oks, allocations] = parse_counting_allocations(inputs, *msg_);
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(oks, 60u);
}

}  // namespace
}  // namespace vg::sip
