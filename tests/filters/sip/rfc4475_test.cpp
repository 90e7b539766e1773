// SPDX-License-Identifier: GPL-2.0-or-later
// RFC 4475 "SIP Torture Test Messages": every file of the archive, with the
// fields a firewall relies on asserted for the valid ones and, for the invalid
// ones, the outcome the firewall gives (malformed + reason, or ok + anomaly).
// The archive is read bit-exact from the third-party corpus (rfc4475/); every
// test skips, saying so, when it is not there.
#include "filters/sip/sip_parser.h"
#include "filters/util/text.h"
#include "tests/support/corpus_gtest.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace vg::sip {
namespace {

// The files of the RFC's Appendix A archive.
const std::set<std::string> kArchive = {
    "badaspec.dat", "badbranch.dat", "baddate.dat",   "baddn.dat",     "badinv01.dat",   "badvers.dat",
    "bcast.dat",    "bext01.dat",    "bigcode.dat",   "clerr.dat",     "cparam01.dat",   "cparam02.dat",
    "dblreq.dat",   "esc01.dat",     "esc02.dat",     "escnull.dat",   "escruri.dat",    "insuf.dat",
    "intmeth.dat",  "inv2543.dat",   "invut.dat",     "longreq.dat",   "ltgtruri.dat",   "lwsdisp.dat",
    "lwsruri.dat",  "lwsstart.dat",  "mcl01.dat",     "mismatch01.dat", "mismatch02.dat", "mpart01.dat",
    "multi01.dat",  "ncl.dat",       "noreason.dat",  "novelsc.dat",   "quotbal.dat",    "regaut01.dat",
    "regbadct.dat", "regescrt.dat",  "scalar02.dat",  "scalarlg.dat",  "sdp01.dat",      "semiuri.dat",
    "test.dat",     "transports.dat", "trws.dat",     "unkscm.dat",    "unksm2.dat",     "unreason.dat",
    "wsinv.dat",    "zeromf.dat"};

class Rfc4475 : public ::testing::Test {
protected:
    // Each test reads one archive file: all of them must be there.
    void SetUp() override {
        for (const std::string& f : kArchive)
            VG_SKIP_WITHOUT_CORPUS("rfc4475/" + f, std::string("the SIP parser on the RFC 4475 torture messages (") +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                                                       ")");
    }
    ParseResult parse(const std::string& file, Transport t = Transport::datagram) {
        data_ = test::corpus_bytes("rfc4475/" + file);
        return parse_message(data_, t, Limits{}, *msg_);
    }
    // Parses as a datagram and expects success; returns the message.
    const SipMessage& ok(const std::string& file) {
        const ParseResult r = parse(file);
        EXPECT_EQ(r.status, Status::ok) << file << ": " << (r.reason ? r.reason : "");
        EXPECT_EQ(r.anomalies, msg_->anomalies);
        return *msg_;
    }
    void expect_malformed(const std::string& file, const char* reason, Transport t = Transport::datagram) {
        const ParseResult r = parse(file, t);
        EXPECT_EQ(r.status, Status::malformed) << file;
        ASSERT_NE(r.reason, nullptr) << file;
        EXPECT_STREQ(r.reason, reason) << file;
        EXPECT_EQ(r.consumed, 0u);
    }
    std::string unescaped(std::string_view v) {
        char buf[256];
        const UnescapeResult u = uri_unescape(v, buf, sizeof buf);
        EXPECT_TRUE(u.ok);
        return std::string(buf, u.length);
    }

    std::string data_;
    std::unique_ptr<SipMessage> msg_ = std::make_unique<SipMessage>();
};

// The archive is covered completely: every file of it has its own test.
TEST_F(Rfc4475, EveryArchiveFileHasATest) {
    const auto files = test::list_corpus_dir("rfc4475");
    EXPECT_EQ(std::set<std::string>(files.begin(), files.end()), kArchive);
}

// ---------------------------------------------------------------- valid (§3.1.1, §3.2, §3.3, §3.4)

// §3.1.1.1: folding, LWS everywhere, compact forms, escaped quotes, leading zeros.
TEST_F(Rfc4475, WsinvShortTortuousInviteParsesEveryField) {
    const SipMessage& m = ok("wsinv.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.method, Method::invite);
    EXPECT_EQ(m.request_uri.scheme, UriScheme::sip);
    EXPECT_EQ(m.request_uri.user, "vivekg");
    EXPECT_EQ(m.request_uri.host, "chair-dnrc.example.com");
    EXPECT_EQ(m.request_uri.params, "unknownparam");
    ASSERT_TRUE(m.has_to);
    EXPECT_TRUE(m.to.valid);
    EXPECT_EQ(m.to.uri.user, "vivekg");
    EXPECT_EQ(m.to.tag, "1918181833n");
    EXPECT_TRUE(m.from.valid);
    EXPECT_TRUE(m.from.display_quoted);
    EXPECT_EQ(m.from.display_name, R"(J Rosenberg \\\")");
    EXPECT_EQ(m.from.uri.user, "jdrosen");
    EXPECT_EQ(m.from.tag, "98asjd8");  // tag after a folded ";"
    EXPECT_TRUE(m.max_forwards.valid);
    EXPECT_EQ(m.max_forwards.value, 68u);  // "0068"
    EXPECT_EQ(m.call_id, "wsinv.ndaksdj@192.0.2.1");
    EXPECT_TRUE(m.cseq.valid);
    EXPECT_EQ(m.cseq.number, 9u);  // "0009" folded before "INVITE"
    EXPECT_EQ(m.cseq.method, Method::invite);
    ASSERT_EQ(m.via_count, 3u);
    EXPECT_EQ(m.vias[0].protocol_name, "SIP");
    EXPECT_EQ(m.vias[0].protocol_version, "2.0");
    EXPECT_EQ(m.vias[0].transport, ViaTransport::udp);
    EXPECT_EQ(m.vias[0].host, "192.0.2.2");
    EXPECT_EQ(m.vias[0].branch, "390skdjuw");
    EXPECT_EQ(m.vias[1].transport, ViaTransport::tcp);  // compact "v", two values on folded lines
    EXPECT_EQ(m.vias[1].host, "spindle.example.com");
    EXPECT_EQ(m.vias[1].branch, "z9hG4bK9ikj8");
    EXPECT_EQ(m.vias[2].transport, ViaTransport::udp);
    EXPECT_EQ(m.vias[2].host, "192.168.255.111");
    EXPECT_EQ(m.vias[2].host_type, HostType::ipv4);
    EXPECT_EQ(m.vias[2].branch, "z9hG4bK30239");
    const Header* subject = m.find(HeaderId::subject);  // "s :" with an empty value
    ASSERT_NE(subject, nullptr);
    EXPECT_EQ(subject->name, "s");
    EXPECT_EQ(subject->value, "");
    const Header* nf = m.find("newfangledheader");
    ASSERT_NE(nf, nullptr);
    EXPECT_TRUE(lws_equals(nf->value, "newfangled value continued newfangled value"));
    const Header* odd = m.find("UnknownHeaderWithUnusualValue");
    ASSERT_NE(odd, nullptr);
    EXPECT_EQ(odd->value, ";;,,;;,;");
    ASSERT_EQ(m.contact_count, 1u);  // compact "m"
    EXPECT_TRUE(m.contacts[0].addr.valid);
    EXPECT_EQ(m.contacts[0].addr.display_name, R"(Quoted string \"\")");
    EXPECT_EQ(m.contacts[0].q, "0.33");
    EXPECT_EQ(m.content_type, "application/sdp");
    EXPECT_EQ(m.content_length.value, 150u);
    EXPECT_EQ(m.body.size(), 150u);
    EXPECT_TRUE(text::starts_with(m.body, "v=0\r\n"));
}

// §3.1.1.2: odd but legal characters in method, URI, display name, params.
TEST_F(Rfc4475, IntmethUnusualTokenMethodIsUnknownWithTextKept) {
    const SipMessage& m = ok("intmeth.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.method, Method::unknown);
    EXPECT_EQ(m.method_text, "!interesting-Method0123456789_*+`.%indeed'~");
    EXPECT_EQ(m.request_uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    EXPECT_EQ(m.request_uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    EXPECT_EQ(m.request_uri.host, "example.com");
    EXPECT_TRUE(m.to.valid);
    EXPECT_EQ(m.to.display_name.size(), 20u);  // quoted-pairs with BEL, NUL and DEL kept raw
    EXPECT_NE(m.to.display_name.find('\0'), std::string_view::npos);
    EXPECT_TRUE(m.from.valid);
    EXPECT_EQ(m.from.display_name, "token1~` token2'+_ token3*%!.-");
    EXPECT_EQ(m.from.tag, "_token~1'+`*%!-.");
    EXPECT_EQ(m.call_id, R"(intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{)");
    EXPECT_EQ(m.cseq.number, 139122385u);
    EXPECT_EQ(m.cseq.method_text, m.method_text);
    EXPECT_EQ(m.max_forwards.value, 255u);
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_EQ(m.vias[0].branch, "z9hG4bK-.!%66*_+`'~");
    const Header* ext = m.find("extensionHeader-!.%*+_`'~");
    ASSERT_NE(ext, nullptr);
    EXPECT_EQ(ext->id, HeaderId::other);
    EXPECT_EQ(ext->value.size(), 12u);  // UTF-8 value
}

// §3.1.1.3: escapes are kept raw and decode with uri_unescape.
TEST_F(Rfc4475, Esc01EscapedUriPartsStayRawAndUnescapeOnRequest) {
    const SipMessage& m = ok("esc01.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.request_uri.user, "sips%3Auser%40example.com");
    EXPECT_EQ(unescaped(m.request_uri.user), "sips:user@example.com");
    EXPECT_EQ(m.request_uri.host, "example.net");
    EXPECT_EQ(unescaped(m.to.uri.user), "user");
    EXPECT_EQ(unescaped(m.from.uri.user), "I have spaces");
    EXPECT_EQ(m.call_id, "esc01.239409asdfakjkn23onasd0-3234");  // compact "i"
    EXPECT_EQ(m.content_type, "application/sdp");                   // compact "C"
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_EQ(m.contacts[0].addr.uri.user, "cal%6Cer");
    EXPECT_EQ(m.contacts[0].addr.uri.params, "%6C%72;n%61me=v%61lue%25%34%31");
    EXPECT_EQ(m.body.size(), 150u);
}

// §3.1.1.4: %00 in a user part is legal; the unescape helper reports the NUL.
TEST_F(Rfc4475, EscnullEscapedNulsParseAndUnescapeFlagsNul) {
    const SipMessage& m = ok("escnull.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.method, Method::register_);
    EXPECT_EQ(m.to.uri.user, "null-%00-null");
    char buf[32];
    const UnescapeResult u = uri_unescape(m.to.uri.user, buf, sizeof buf);
    EXPECT_TRUE(u.ok);
    EXPECT_TRUE(u.had_nul);
    EXPECT_EQ(std::string(buf, u.length), std::string("null-\0-null", 11));
    ASSERT_EQ(m.contact_count, 2u);
    EXPECT_EQ(m.contacts[0].addr.uri.user, "%00");
    EXPECT_EQ(m.contacts[1].addr.uri.user, "%00%00");
    EXPECT_EQ(m.content_length.value, 0u);  // compact "L:0"
}

// §3.1.1.5: '%' in a method is a token character, not an escape.
TEST_F(Rfc4475, Esc02PercentInMethodIsUnknownMethodToken) {
    const SipMessage& m = ok("esc02.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.method, Method::unknown);
    EXPECT_EQ(m.method_text, "RE%47IST%45R");
    EXPECT_EQ(m.cseq.method_text, "RE%47IST%45R");
    EXPECT_EQ(m.to.display_name, "%Z%45");
    EXPECT_EQ(m.vias[0].branch, "z9hG4bK209%fzsnel234");
    EXPECT_EQ(m.contact_count, 2u);  // "C%6Fntact" is another header
    const Header* c = m.find("C%6Fntact");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->id, HeaderId::other);
}

// §3.1.1.6: no LWS between display name and '<'.
TEST_F(Rfc4475, LwsdispDisplayNameWithoutSpaceBeforeAngle) {
    const SipMessage& m = ok("lwsdisp.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.from.display_name, "caller");
    EXPECT_EQ(m.from.uri.user, "caller");
    EXPECT_EQ(m.from.tag, "323");
}

// §3.1.1.7: very long values and 34 Vias, long and compact, any case.
TEST_F(Rfc4475, LongreqLongValuesAndManyViasAllExtracted) {
    const SipMessage& m = ok("longreq.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_TRUE(text::starts_with(m.to.display_name, "I have a user name of extremeextreme"));
    EXPECT_EQ(m.to.uri.port, 6000);
    EXPECT_TRUE(m.from.valid);  // compact "F"
    EXPECT_TRUE(text::starts_with(m.from.uri.user, "amazinglylongcallername"));
    EXPECT_TRUE(text::starts_with(m.from.tag, "1298298298"));
    EXPECT_EQ(m.call_id,
              "longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreally"
              "reallyreallyreallyreallyreallyreallylongcallid");
    ASSERT_EQ(m.via_count, 34u);
    EXPECT_EQ(m.vias[0].host, "sip33.example.com");
    EXPECT_EQ(m.vias[32].host, "sip1.example.com");
    EXPECT_EQ(m.vias[33].host, "host.example.com");
    EXPECT_EQ(m.vias[33].received, "192.0.2.5");
    EXPECT_TRUE(text::starts_with(m.vias[33].branch, "verylonglong"));
    for (std::size_t i = 0; i < m.via_count; ++i) EXPECT_EQ(m.vias[i].transport, ViaTransport::tcp);
    EXPECT_EQ(m.count(HeaderId::via), 34u);
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_TRUE(text::starts_with(m.contacts[0].addr.uri.user, "amazinglylong"));
    const Header* unk = m.find("Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name");
    ASSERT_NE(unk, nullptr);
    EXPECT_TRUE(text::starts_with(unk->value, "unknown-longlong"));
    EXPECT_EQ(m.body.size(), 150u);  // compact "l"
}

// §3.1.1.8: on UDP the bytes after Content-Length are ignored (and flagged).
TEST_F(Rfc4475, DblreqDatagramIgnoresTrailingSecondRequest) {
    const ParseResult r = parse("dblreq.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::trailing_data);
    EXPECT_EQ(msg_->method, Method::register_);
    EXPECT_EQ(msg_->call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");  // compact "I"
    EXPECT_TRUE(msg_->body.empty());
    EXPECT_EQ(r.consumed, data_.find("\r\nINVITE"));
}

// On a stream the same bytes are two messages (the second after a CRLF).
TEST_F(Rfc4475, DblreqStreamYieldsBothRequests) {
    ParseResult r = parse("dblreq.dat", Transport::stream);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, 0u);
    const std::string_view rest = std::string_view(data_).substr(r.consumed);
    r = parse_message(rest, Transport::stream, Limits{}, *msg_);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::leading_crlf);
    EXPECT_EQ(msg_->method, Method::invite);
    EXPECT_EQ(msg_->body.size(), 150u);
}

// §3.1.1.9: ';' inside the user part belongs to the user.
TEST_F(Rfc4475, SemiuriSemicolonInUserPartIsUser) {
    const SipMessage& m = ok("semiuri.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.request_uri.user, "user;par=u%40example.net");
    EXPECT_EQ(m.request_uri.host, "example.com");
    EXPECT_TRUE(m.request_uri.params.empty());
    const Header* accept = m.find(HeaderId::accept);  // folded comma list
    ASSERT_NE(accept, nullptr);
    CommaIterator it(accept->value);
    std::string_view e;
    int n = 0;
    while (it.next(e)) ++n;
    EXPECT_EQ(n, 6);
    EXPECT_EQ(e, "message/sipfrag");
}

// §3.1.1.10: each Via transport, UNKNOWN included.
TEST_F(Rfc4475, TransportsEveryViaTransportRecognised) {
    const SipMessage& m = ok("transports.dat");
    EXPECT_EQ(m.anomalies, 0u);
    ASSERT_EQ(m.via_count, 5u);
    EXPECT_EQ(m.vias[0].transport, ViaTransport::udp);
    EXPECT_EQ(m.vias[1].transport, ViaTransport::sctp);
    EXPECT_EQ(m.vias[2].transport, ViaTransport::tls);
    EXPECT_EQ(m.vias[3].transport, ViaTransport::other);
    EXPECT_EQ(m.vias[3].transport_text, "UNKNOWN");
    EXPECT_EQ(m.vias[4].transport, ViaTransport::tcp);
    EXPECT_EQ(m.vias[4].host, "t5.example.com");
    EXPECT_EQ(m.call_id, "transports.kijh4akdnaqjkwendsasfdj");
}

// §3.1.1.11: multipart body with binary bytes, exact length.
TEST_F(Rfc4475, Mpart01MultipartBinaryBodyLengthExact) {
    const SipMessage& m = ok("mpart01.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.method, Method::message);
    EXPECT_EQ(m.body.size(), 553u);
    EXPECT_TRUE(text::starts_with(m.body, "--7a9cbec02ceef655\r\n"));
    EXPECT_EQ(m.content_type, "multipart/mixed;boundary=7a9cbec02ceef655");
    EXPECT_EQ(m.user_agent, "SIPimp.org/0.2.5 (curses)");
    ASSERT_EQ(m.via_count, 1u);
    EXPECT_EQ(m.vias[0].port, 5070);
    EXPECT_TRUE(m.vias[0].has_rport);
    EXPECT_FALSE(m.vias[0].rport_has_value);
    EXPECT_NE(m.find(HeaderId::identity), nullptr);
}

// §3.1.1.12: UTF-8 reason phrase.
TEST_F(Rfc4475, UnreasonUtf8ReasonPhraseKept) {
    const SipMessage& m = ok("unreason.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.kind, MessageKind::response);
    EXPECT_EQ(m.status_code, 200);
    EXPECT_TRUE(text::starts_with(m.reason, "= 2**3 * 5**2 \xD0\xBD\xD0\xBE"));
    EXPECT_EQ(m.body.size(), 154u);
    EXPECT_EQ(m.to.tag, "2229");
}

// §3.1.1.13: empty reason phrase.
TEST_F(Rfc4475, NoreasonEmptyReasonPhrase) {
    const SipMessage& m = ok("noreason.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.status_code, 100);
    EXPECT_EQ(m.reason, "");
}

// §3.2.1: branch "z9hG4bK" only: the parser does not break.
TEST_F(Rfc4475, BadbranchBareMagicCookieBranchParses) {
    const SipMessage& m = ok("badbranch.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.vias[0].branch, "z9hG4bK");
}

// §3.3.2: unknown Request-URI scheme is well formed (policy answers 416).
TEST_F(Rfc4475, UnkscmUnknownSchemeIsOpaque) {
    const SipMessage& m = ok("unkscm.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.request_uri.scheme, UriScheme::other);
    EXPECT_EQ(m.request_uri.scheme_text, "nobodyKnowsThisScheme");
    EXPECT_EQ(m.request_uri.opaque, "totallyopaquecontent");
}

// §3.3.3: atypical scheme.
TEST_F(Rfc4475, NovelscSoapBeepSchemeIsOpaque) {
    const SipMessage& m = ok("novelsc.dat");
    EXPECT_EQ(m.request_uri.scheme_text, "soap.beep");
    EXPECT_EQ(m.request_uri.opaque, "//192.0.2.103:3002");
}

// §3.3.4: unknown schemes in To/From/Contact.
TEST_F(Rfc4475, Unksm2UnknownSchemesInNameAddrs) {
    const SipMessage& m = ok("unksm2.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.to.uri.scheme_text, "isbn");
    EXPECT_EQ(m.from.uri.scheme_text, "http");
    EXPECT_EQ(m.from.tag, "3234233");
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_EQ(m.contacts[0].addr.uri.scheme, UriScheme::other);
    EXPECT_EQ(m.contacts[0].addr.uri.opaque, "John_Smith");
}

// §3.3.5: unknown option tags are policy, not syntax.
TEST_F(Rfc4475, Bext01RequireHeadersAvailable) {
    const SipMessage& m = ok("bext01.dat");
    EXPECT_EQ(m.anomalies, 0u);
    ASSERT_NE(m.find(HeaderId::proxy_require), nullptr);
    EXPECT_EQ(m.find(HeaderId::require)->value, "nothingSupportsThis, nothingSupportsThisEither");
    EXPECT_EQ(m.vias[0].transport, ViaTransport::tls);
}

// §3.3.6: unknown Content-Type; body intact.
TEST_F(Rfc4475, InvutUnknownContentTypeBodyIntact) {
    const SipMessage& m = ok("invut.dat");
    EXPECT_EQ(m.content_type, "application/unknownformat");
    EXPECT_EQ(m.body.size(), 40u);
}

// §3.3.7: unknown Authorization scheme; "Content-Length:0" without space.
TEST_F(Rfc4475, Regaut01UnknownAuthSchemeParses) {
    const SipMessage& m = ok("regaut01.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.find(HeaderId::authorization)->value, "NoOneKnowsThisScheme opaque-data=here");
    EXPECT_TRUE(m.content_length.valid);
}

// §3.3.10: broadcast sent-by is syntax-valid; the policy must not forward it.
TEST_F(Rfc4475, BcastBroadcastViaExtracted) {
    const SipMessage& m = ok("bcast.dat");
    EXPECT_EQ(m.anomalies, 0u);
    ASSERT_EQ(m.via_count, 2u);
    EXPECT_EQ(m.vias[1].host, "255.255.255.255");
    EXPECT_EQ(m.vias[1].host_type, HostType::ipv4);
}

// §3.3.11: Max-Forwards 0 is valid.
TEST_F(Rfc4475, ZeromfMaxForwardsZeroValid) {
    const SipMessage& m = ok("zeromf.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_TRUE(m.max_forwards.valid);
    EXPECT_EQ(m.max_forwards.value, 0u);
}

// §3.3.12: addr-spec Contact: ";unknownparam" is a header parameter.
TEST_F(Rfc4475, Cparam01BareContactParamIsHeaderParam) {
    const SipMessage& m = ok("cparam01.dat");
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_FALSE(m.contacts[0].addr.angle_brackets);
    EXPECT_EQ(m.contacts[0].addr.uri.user, "+19725552222");
    EXPECT_TRUE(m.contacts[0].addr.uri.params.empty());
    EXPECT_EQ(m.contacts[0].addr.params, ";unknownparam");
}

// §3.3.13: inside <> the parameter belongs to the URI.
TEST_F(Rfc4475, Cparam02BracketedContactParamIsUriParam) {
    const SipMessage& m = ok("cparam02.dat");
    ASSERT_EQ(m.contact_count, 1u);
    EXPECT_EQ(m.contacts[0].addr.uri.params, "unknownparam");
    EXPECT_TRUE(m.contacts[0].addr.params.empty());
}

// §3.3.14: escaped headers in a bracketed Contact URI are fine.
TEST_F(Rfc4475, RegescrtContactUriHeadersKept) {
    const SipMessage& m = ok("regescrt.dat");
    EXPECT_EQ(m.anomalies, 0u);
    ASSERT_EQ(m.contact_count, 1u);  // compact "M"
    EXPECT_EQ(m.contacts[0].addr.uri.headers, "Route=%3Csip:sip.example.com%3E");
}

// §3.3.15: Accept mismatch is for the UA to answer.
TEST_F(Rfc4475, Sdp01ParsesWithSdpBody) {
    const SipMessage& m = ok("sdp01.dat");
    EXPECT_EQ(m.anomalies, 0u);
    EXPECT_EQ(m.body.size(), 150u);
}

// §3.4.1: RFC 2543 syntax: no branch, no Max-Forwards, no Content-Length.
TEST_F(Rfc4475, Inv2543DatagramWithoutContentLengthTakesRest) {
    const SipMessage& m = ok("inv2543.dat");
    EXPECT_EQ(m.anomalies, anomaly::no_content_length);  // allowed on UDP, only noted
    EXPECT_FALSE(m.vias[0].has_branch);
    EXPECT_FALSE(m.max_forwards.present);
    EXPECT_EQ(m.to.uri.user, "+16505552222");
    EXPECT_EQ(m.to.params, ";user=phone");  // addr-spec: header param
    EXPECT_EQ(m.from.uri.params, "user=phone");
    EXPECT_EQ(m.body.size(), data_.size() - data_.find("\r\n\r\n") - 4);
}

// On TCP the same message cannot be delimited (RFC 3261 §18.3 MUST).
TEST_F(Rfc4475, Inv2543StreamWithoutContentLengthMalformed) {
    expect_malformed("inv2543.dat", "content_length_missing", Transport::stream);
}

// ---------------------------------------------------------------- invalid (§3.1.2, §3.3)

// §3.1.2.1: empty Via params: Via not extracted, empty Contact params flagged.
TEST_F(Rfc4475, Badinv01EmptyViaParamsFlagViaInvalid) {
    const ParseResult r = parse("badinv01.dat");
    ASSERT_EQ(r.status, Status::ok);  // delimitable; the bad fields are marked
    EXPECT_EQ(r.anomalies, anomaly::via_invalid | anomaly::name_addr_invalid);
    EXPECT_EQ(msg_->via_count, 0u);  // iterator stopped at ";;"
}

// §3.1.2.2: a datagram cannot hold more than it carries: drop.
TEST_F(Rfc4475, ClerrContentLengthBeyondDatagramMalformed) {
    expect_malformed("clerr.dat", "content_length_exceeds_message");
}

// On a stream the body may still be coming.
TEST_F(Rfc4475, ClerrContentLengthBeyondStreamIncomplete) {
    EXPECT_EQ(parse("clerr.dat", Transport::stream).status, Status::incomplete);
}

// §3.1.2.3: negative length cannot delimit anything.
TEST_F(Rfc4475, NclNegativeContentLengthMalformed) {
    expect_malformed("ncl.dat", "content_length_invalid");
    expect_malformed("ncl.dat", "content_length_invalid", Transport::stream);
}

// §3.1.2.4: overlarge scalars are flagged, not wrapped.
TEST_F(Rfc4475, Scalar02OverlargeRequestScalarsFlagged) {
    const ParseResult r = parse("scalar02.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::cseq_out_of_range | anomaly::max_forwards_invalid | anomaly::expires_invalid);
    EXPECT_FALSE(msg_->cseq.number_valid);  // 2^65 does not fit 2^31
    EXPECT_FALSE(msg_->max_forwards.valid);  // 300 > 255
    EXPECT_EQ(msg_->max_forwards.text, "300");
    EXPECT_FALSE(msg_->expires.valid);
    ASSERT_EQ(msg_->contact_count, 1u);
    EXPECT_TRUE(msg_->contacts[0].has_expires);
    EXPECT_FALSE(msg_->contacts[0].expires_valid);  // 280297596632815 > 2^32-1
}

// §3.1.2.5: overlarge CSeq in a response.
TEST_F(Rfc4475, ScalarlgOverlargeResponseCseqFlagged) {
    const ParseResult r = parse("scalarlg.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::cseq_out_of_range);
    EXPECT_EQ(msg_->status_code, 503);
}

// §3.1.2.6: unterminated quote: To is unusable, flagged.
TEST_F(Rfc4475, QuotbalUnterminatedDisplayNameFlagged) {
    const ParseResult r = parse("quotbal.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::name_addr_invalid);
    EXPECT_FALSE(msg_->to.valid);
    EXPECT_TRUE(msg_->from.valid);
}

// §3.1.2.7: '<' is not a URI character: the request has no target.
TEST_F(Rfc4475, LtgtruriAngleBracketsAroundRequestUriMalformed) {
    expect_malformed("ltgtruri.dat", "bad_request_uri");
}

// §3.1.2.8: LWS inside the Request-URI splits the line into four parts.
TEST_F(Rfc4475, LwsruriSpaceInRequestUriMalformed) {
    expect_malformed("lwsruri.dat", "bad_request_line");
}

// §3.1.2.9: Request-Line elements are separated by exactly one SP.
TEST_F(Rfc4475, LwsstartDoubleSpacesInRequestLineMalformed) {
    expect_malformed("lwsstart.dat", "bad_request_line");
}

// §3.1.2.10: nothing may follow SIP-Version.
TEST_F(Rfc4475, TrwsTrailingSpacesAfterVersionMalformed) {
    expect_malformed("trws.dat", "bad_request_line");
}

// §3.1.2.11: headers in a Request-URI are forbidden (RFC 3261 §19.1.5) but the
// URI is well formed: flagged for the policy.
TEST_F(Rfc4475, EscruriHeadersInRequestUriFlagged) {
    const ParseResult r = parse("escruri.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::request_uri_has_headers);
    EXPECT_EQ(msg_->request_uri.headers, "Route=%3Csip:example.com%3E");
}

// §3.1.2.12: Date is not interpreted by the parser, so a bad zone is no issue.
TEST_F(Rfc4475, BaddateDateNotInterpretedParsesClean) {
    const ParseResult r = parse("baddate.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, 0u);
    EXPECT_EQ(msg_->find(HeaderId::date)->value, "Fri, 01 Jan 2010 16:00:00 EST");
}

// §3.1.2.13: addr-spec Contact with '?' must be in <>: flagged.
TEST_F(Rfc4475, RegbadctUnbracketedContactWithHeadersFlagged) {
    const ParseResult r = parse("regbadct.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::name_addr_invalid);
    ASSERT_EQ(msg_->contact_count, 1u);
    EXPECT_FALSE(msg_->contacts[0].addr.valid);
}

// §3.1.2.14: spaces inside <> make To invalid; From's quoted comma is fine.
TEST_F(Rfc4475, BadaspecSpacesInsideAngleBracketsFlagged) {
    const ParseResult r = parse("badaspec.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::name_addr_invalid);
    EXPECT_FALSE(msg_->to.valid);
    EXPECT_TRUE(msg_->from.valid);
    EXPECT_EQ(msg_->from.display_name, "Bell, Alexander");
}

// §3.1.2.15: the archive file lacks the empty line ending the head: on UDP
// the head is unterminated (drop); on TCP more may come.
TEST_F(Rfc4475, BaddnMissingEmptyLineIsUnterminatedHead) {
    expect_malformed("baddn.dat", "headers_unterminated");
    EXPECT_EQ(parse("baddn.dat", Transport::stream).status, Status::incomplete);
}

// §3.1.2.15 with the empty line added: the unquoted comma in the display names
// is flagged.
TEST_F(Rfc4475, BaddnNonTokenDisplayNameFlagged) {
    data_ = test::corpus_bytes("rfc4475/baddn.dat") + "\r\n";
    const ParseResult r = parse_message(data_, Transport::datagram, Limits{}, *msg_);
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::name_addr_invalid);
    EXPECT_FALSE(msg_->from.valid);
    EXPECT_FALSE(msg_->to.valid);
}

// §3.1.2.16: only SIP/2.0 is spoken (a UA answers 505).
TEST_F(Rfc4475, BadversSip7Malformed) {
    expect_malformed("badvers.dat", "bad_sip_version");
}

// §3.1.2.17: CSeq method differs from the request method.
TEST_F(Rfc4475, Mismatch01CseqMethodMismatchFlagged) {
    const ParseResult r = parse("mismatch01.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::cseq_method_mismatch);
}

// §3.1.2.18: same with an unknown method.
TEST_F(Rfc4475, Mismatch02UnknownMethodCseqMismatchFlagged) {
    const ParseResult r = parse("mismatch02.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::cseq_method_mismatch);
    EXPECT_EQ(msg_->method_text, "NEWMETHOD");
    EXPECT_EQ(msg_->body.size(), 138u);
}

// §3.1.2.19: Status-Code is 3DIGIT: 4294967301 must not wrap to 5.
TEST_F(Rfc4475, BigcodeOverlargeStatusCodeMalformed) {
    expect_malformed("bigcode.dat", "bad_status_line");
}

// §3.3.1: no To/From/Call-ID: delimitable but unusable for dialog tracking.
TEST_F(Rfc4475, InsufMissingRequiredHeadersFlagged) {
    const ParseResult r = parse("insuf.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::missing_required_header);
    EXPECT_FALSE(msg_->has_call_id);
}

// §3.3.8: repeated single-value headers: first kept, flagged (the policy can
// drop: a firewall and a UA picking different Call-IDs would desynchronise).
TEST_F(Rfc4475, Multi01RepeatedSingleValueHeadersFlagged) {
    const ParseResult r = parse("multi01.dat");
    ASSERT_EQ(r.status, Status::ok);
    EXPECT_EQ(r.anomalies, anomaly::duplicate_header);
    EXPECT_EQ(msg_->call_id, "multi01.98asdh@192.0.2.1");
    EXPECT_EQ(msg_->cseq.number, 5u);
    EXPECT_EQ(msg_->count(HeaderId::call_id), 2u);
}

// §3.3.9: two Content-Lengths make framing ambiguous (smuggling): drop.
TEST_F(Rfc4475, Mcl01DuplicateContentLengthMalformed) {
    expect_malformed("mcl01.dat", "content_length_duplicate");
    expect_malformed("mcl01.dat", "content_length_duplicate", Transport::stream);
}

// test.dat (in the archive, not in the RFC text): Request-Line without version.
TEST_F(Rfc4475, TestDatRequestLineWithoutVersionMalformed) {
    expect_malformed("test.dat", "bad_request_line");
}

}  // namespace
}  // namespace vg::sip
