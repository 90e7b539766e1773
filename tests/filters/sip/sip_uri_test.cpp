// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/sip_uri.h"

#include <gtest/gtest.h>

#include <string>

namespace vg::sip {
namespace {

TEST(SipUri, FullSipUriSplitsIntoParts) {
    Uri u;
    ASSERT_TRUE(parse_uri("sip:alice:secret@pbx.example.com:5061;transport=tcp;lr?Subject=hi", u));
    EXPECT_EQ(u.scheme, UriScheme::sip);
    EXPECT_EQ(u.user, "alice");
    EXPECT_EQ(u.password, "secret");
    EXPECT_EQ(u.host, "pbx.example.com");
    EXPECT_EQ(u.host_type, HostType::name);
    EXPECT_TRUE(u.has_port);
    EXPECT_EQ(u.port, 5061);
    EXPECT_EQ(u.params, "transport=tcp;lr");
    EXPECT_EQ(u.headers, "Subject=hi");
    Param p;
    ASSERT_TRUE(find_param(u.params, "TRANSPORT", p));
    EXPECT_EQ(p.value, "tcp");
    ASSERT_TRUE(find_param(u.params, "lr", p));
    EXPECT_FALSE(p.has_value);
    EXPECT_FALSE(find_param(u.params, "maddr", p));
}

TEST(SipUri, SipsSchemeCaseInsensitiveHostOnly) {
    Uri u;
    ASSERT_TRUE(parse_uri("SIPS:example.com", u));
    EXPECT_EQ(u.scheme, UriScheme::sips);
    EXPECT_FALSE(u.has_user);
    EXPECT_EQ(u.host, "example.com");
}

TEST(SipUri, Ipv4HostWithPortClassifiedIpv4) {
    Uri u;
    ASSERT_TRUE(parse_uri("sip:+4420123@192.0.2.1:5060", u));
    EXPECT_EQ(u.host_type, HostType::ipv4);
    EXPECT_EQ(u.port, 5060);
    EXPECT_EQ(u.user, "+4420123");
}

TEST(SipUri, Ipv6ReferenceWithPortKeepsBrackets) {
    Uri u;
    ASSERT_TRUE(parse_uri("sip:bob@[2001:db8::1]:5080", u));
    EXPECT_EQ(u.host, "[2001:db8::1]");
    EXPECT_EQ(u.host_unbracketed(), "2001:db8::1");
    EXPECT_EQ(u.port, 5080);
}

TEST(SipUri, UnbracketedIpv6HostInvalid) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:2001:db8::10", u));
}

TEST(SipUri, PortAbove65535Invalid) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:a@example.com:65536", u));
    EXPECT_TRUE(parse_uri("sip:a@example.com:65535", u));
}

TEST(SipUri, EmptyUserBeforeAtInvalid) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:@example.com", u));
}

TEST(SipUri, SpaceOrAngleBracketInvalid) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:a@example.com; lr", u));
    EXPECT_FALSE(parse_uri("<sip:a@example.com>", u));
    EXPECT_FALSE(parse_uri("", u));
    EXPECT_FALSE(parse_uri("sip:", u));
}

TEST(SipUri, NumericTopLabelIsNotAHostName) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:a@192.0.2.300", u));
    EXPECT_FALSE(parse_uri("sip:a@exa..mple.com", u));
    EXPECT_TRUE(parse_uri("sip:a@example.com.", u));
}

TEST(SipUri, BadUriParameterInvalid) {
    Uri u;
    EXPECT_FALSE(parse_uri("sip:a@example.com;;lr", u));
    EXPECT_FALSE(parse_uri("sip:a@example.com;x=", u));
}

TEST(SipUri, TelUriNumberAndParams) {
    Uri u;
    ASSERT_TRUE(parse_uri("tel:+1-201-555-0123;phone-context=example.com", u));
    EXPECT_EQ(u.scheme, UriScheme::tel);
    EXPECT_EQ(u.user, "+1-201-555-0123");
    EXPECT_EQ(u.params, "phone-context=example.com");
    EXPECT_FALSE(parse_uri("tel:;x=1", u));
}

TEST(SipUri, UnknownSchemeIsOpaque) {
    Uri u;
    ASSERT_TRUE(parse_uri("urn:service:sos", u));
    EXPECT_EQ(u.scheme, UriScheme::other);
    EXPECT_EQ(u.opaque, "service:sos");
}

TEST(SipUri, UnescapeDialledNumber) {
    char buf[32];
    const UnescapeResult r = uri_unescape("%2B4420%37", buf, sizeof buf);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(std::string(buf, r.length), "+44207");
    EXPECT_FALSE(r.had_nul);
}

TEST(SipUri, UnescapeRejectsBadEscapeAndSmallBuffer) {
    char buf[4];
    EXPECT_FALSE(uri_unescape("%2", buf, sizeof buf).ok);
    EXPECT_FALSE(uri_unescape("%zz", buf, sizeof buf).ok);
    EXPECT_FALSE(uri_unescape("abcde", buf, sizeof buf).ok);
    EXPECT_TRUE(uri_unescape("abcd", buf, sizeof buf).ok);
}

// ---------------------------------------------------------------- name-addr

TEST(NameAddr, QuotedDisplayNameWithEscapedQuote) {
    NameAddr na;
    ASSERT_TRUE(parse_name_addr(R"("Alice \"A\" Smith" <sip:alice@example.com>;tag=abc)", na));
    EXPECT_TRUE(na.display_quoted);
    EXPECT_EQ(na.display_name, R"(Alice \"A\" Smith)");
    EXPECT_EQ(na.uri.user, "alice");
    EXPECT_EQ(na.tag, "abc");
}

TEST(NameAddr, UnquotedMultiTokenDisplayName) {
    NameAddr na;
    ASSERT_TRUE(parse_name_addr("Bob  Jones <sip:bob@example.com>", na));
    EXPECT_FALSE(na.display_quoted);
    EXPECT_EQ(na.display_name, "Bob  Jones");
    EXPECT_FALSE(na.has_tag);
}

TEST(NameAddr, BracketedUriParamsStayInUri) {
    NameAddr na;
    ASSERT_TRUE(parse_name_addr("<sip:bob@example.com;transport=udp>;tag=9;expires=60", na));
    EXPECT_EQ(na.uri.params, "transport=udp");
    EXPECT_EQ(na.params, ";tag=9;expires=60");
    EXPECT_EQ(na.tag, "9");
}

TEST(NameAddr, BareAddrSpecParamsAreHeaderParams) {
    NameAddr na;
    ASSERT_TRUE(parse_name_addr("sip:bob@example.com;tag=77", na));
    EXPECT_FALSE(na.angle_brackets);
    EXPECT_TRUE(na.uri.params.empty());
    EXPECT_EQ(na.tag, "77");
}

TEST(NameAddr, LwsAroundParamsAndEqualsAccepted) {
    NameAddr na;
    ASSERT_TRUE(parse_name_addr("<sip:a@example.com> ;\r\n  tag = x1", na));
    EXPECT_EQ(na.tag, "x1");
}

TEST(NameAddr, UnterminatedQuoteInvalid) {
    NameAddr na;
    EXPECT_FALSE(parse_name_addr(R"("Mr. J. User <sip:j.user@example.com>)", na));
}

TEST(NameAddr, MissingClosingAngleInvalid) {
    NameAddr na;
    EXPECT_FALSE(parse_name_addr("<sip:a@example.com", na));
}

TEST(NameAddr, GarbageAfterUriInvalid) {
    NameAddr na;
    EXPECT_FALSE(parse_name_addr("<sip:a@example.com> junk", na));
    EXPECT_FALSE(parse_name_addr("", na));
}

// ---------------------------------------------------------------- iterators and LWS helpers

TEST(CommaIterator, SplitsRespectingQuotesAndAngles) {
    CommaIterator it(R"("A, B" <sip:a@x;p=1,2>, <sip:b@y> , sip:c@z)");
    std::string_view e;
    ASSERT_TRUE(it.next(e));
    EXPECT_EQ(e, R"("A, B" <sip:a@x;p=1,2>)");
    ASSERT_TRUE(it.next(e));
    EXPECT_EQ(e, "<sip:b@y>");
    ASSERT_TRUE(it.next(e));
    EXPECT_EQ(e, "sip:c@z");
    EXPECT_FALSE(it.next(e));
    EXPECT_FALSE(it.error());
}

TEST(CommaIterator, UnterminatedQuoteStopsWithError) {
    CommaIterator it(R"(a, "b, c)");
    std::string_view e;
    ASSERT_TRUE(it.next(e));
    EXPECT_EQ(e, "a");
    ASSERT_TRUE(it.next(e));
    EXPECT_TRUE(it.error());
    EXPECT_FALSE(it.next(e));
}

TEST(ParamIterator, StopsAtFirstBadByte) {
    ParamIterator it(";a=1;;b");
    Param p;
    ASSERT_TRUE(it.next(p));
    EXPECT_EQ(p.name, "a");
    EXPECT_FALSE(it.next(p));
    EXPECT_TRUE(it.error());
}

TEST(ParamIterator, QuotedValueKeepsQuotes) {
    ParamIterator it(R"(;x="a;b" ; y)");
    Param p;
    ASSERT_TRUE(it.next(p));
    EXPECT_EQ(p.value, R"("a;b")");
    ASSERT_TRUE(it.next(p));
    EXPECT_EQ(p.name, "y");
    EXPECT_FALSE(it.next(p));
    EXPECT_FALSE(it.error());
}

TEST(LwsHelpers, FoldedValueComparesEqualToPlain) {
    EXPECT_TRUE(lws_equals("newfangled value\r\n continued", "newfangled value continued"));
    EXPECT_TRUE(lws_equals("A\t\tB", "a b", true));
    EXPECT_FALSE(lws_equals("A B", "a b"));
    EXPECT_FALSE(lws_equals("ab", "a b"));
    EXPECT_FALSE(lws_equals("a b ", "a bc"));
}

TEST(LwsHelpers, CopyUnfoldedCollapsesAndReportsOverflow) {
    char buf[16];
    const std::size_t n = copy_unfolded("  a\r\n  b\t c  ", buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), "a b c");
    EXPECT_EQ(copy_unfolded("abcdef", buf, 3), 4u);
}

TEST(ScanHost, Ipv6NeedsClosingBracketAndColons) {
    HostType t;
    EXPECT_EQ(scan_host("[2001:db8::1]:5060", t), 13u);
    EXPECT_EQ(t, HostType::ipv6);
    EXPECT_EQ(scan_host("[2001:db8::1", t), 0u);
    EXPECT_EQ(scan_host("[zz]", t), 0u);
    EXPECT_EQ(scan_host("-bad.example.com", t), 0u);
}

}  // namespace
}  // namespace vg::sip
