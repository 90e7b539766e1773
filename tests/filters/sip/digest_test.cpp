// SPDX-License-Identifier: GPL-2.0-or-later
// The digest credentials parser (filters/sip/digest.h): the RFC examples,
// the shapes handsets send, and hostile input (quotes, escapes, missing
// parameters, huge values), cut at every byte.
#include "filters/sip/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace vg::sip {
namespace {

const std::string kRfc2617 =
    "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n"
    " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n uri=\"/dir/index.html\",\r\n qop=auth,\r\n nc=00000001,\r\n"
    " cnonce=\"0a4f113b\",\r\n response=\"6629fae49393a05397450978507c4ef1\",\r\n"
    " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

TEST(Digest, ParsesTheRfc2617ExampleWithFoldedLines) {
    DigestCredentials c;
    const DigestResult r = parse_digest_credentials(kRfc2617, c);
    ASSERT_EQ(r.status, DigestStatus::ok) << r.error;
    EXPECT_EQ(c.username.raw, "Mufasa");
    EXPECT_TRUE(c.username.quoted);
    EXPECT_EQ(c.realm.raw, "testrealm@host.com");
    EXPECT_EQ(c.nonce.raw, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
    EXPECT_EQ(c.uri.raw, "/dir/index.html");
    EXPECT_EQ(c.qop.raw, "auth");
    EXPECT_FALSE(c.qop.quoted);
    EXPECT_EQ(c.nc.raw, "00000001");
    EXPECT_EQ(c.cnonce.raw, "0a4f113b");
    EXPECT_EQ(c.response.raw, "6629fae49393a05397450978507c4ef1");
    EXPECT_EQ(c.opaque.raw, "5ccc069c403ebaf9f0171e9517f40e41");
    EXPECT_FALSE(c.algorithm.present);
    EXPECT_EQ(c.params, 9u);
}

TEST(Digest, SchemeAndNamesIgnoreCaseAndUnknownParametersAreKeptOut) {
    DigestCredentials c;
    const std::string v = "dIgEsT USERNAME=\"201\",Realm=pbx,NONCE=\"n\",Uri=\"sip:pbx\",Response=\"ab\","
                          "x-vendor=\"whatever, with comma\",,";
    ASSERT_EQ(parse_digest_credentials(v, c).status, DigestStatus::ok);
    EXPECT_EQ(c.username.raw, "201");
    EXPECT_EQ(c.realm.raw, "pbx");
    EXPECT_EQ(c.params, 6u);
}

TEST(Digest, OtherSchemesAreNotDigest) {
    DigestCredentials c;
    EXPECT_EQ(parse_digest_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", c).status, DigestStatus::not_digest);
    EXPECT_EQ(parse_digest_credentials("DigestX username=\"a\"", c).status, DigestStatus::not_digest);
    EXPECT_EQ(parse_digest_credentials("", c).status, DigestStatus::not_digest);
    EXPECT_EQ(parse_digest_credentials("Digest", c).error, std::string("digest_no_parameters"));
}

TEST(Digest, EscapesAreKeptRawAndWalkedUnescaped) {
    DigestCredentials c;
    const std::string v = R"(Digest username="a\"b\\c", realm="r", nonce="n", uri="u", response="x")";
    ASSERT_EQ(parse_digest_credentials(v, c).status, DigestStatus::ok);
    EXPECT_EQ(c.username.raw, R"(a\"b\\c)");
    EXPECT_TRUE(c.username.escaped);
    char buf[16];
    const std::size_t n = c.username.unescape_into(buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), R"(a"b\c)");
    EXPECT_EQ(c.username.unescape_into(buf, 2), 3u);   // did not fit: cap + 1
}

struct Hostile {
    const char* value;
    const char* error;
};

class DigestHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(DigestHostile, IsMalformedWithItsName) {
    DigestCredentials c;
    const DigestResult r = parse_digest_credentials(GetParam().value, c);
    EXPECT_EQ(r.status, DigestStatus::malformed);
    EXPECT_STREQ(r.error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DigestHostile,
    ::testing::Values(
        Hostile{R"(Digest username="a, realm="r")", "digest_missing_comma"},
        Hostile{R"(Digest username="abc)", "digest_unterminated_quote"},
        Hostile{R"(Digest username="abc\)", "digest_unterminated_quote"},
        Hostile{R"(Digest username)", "digest_parameter_without_value"},
        Hostile{R"(Digest username=)", "digest_parameter_without_value"},
        Hostile{R"(Digest username=,realm="r")", "digest_bad_parameter_value"},
        Hostile{R"(Digest ="a")", "digest_bad_parameter_name"},
        Hostile{R"(Digest username="a" realm="r")", "digest_missing_comma"},
        Hostile{R"(Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x")",
                "digest_duplicate_parameter"},
        Hostile{R"(Digest realm="r", nonce="n", uri="u", response="x")", "digest_missing_username"},
        Hostile{R"(Digest username="a", nonce="n", uri="u", response="x")", "digest_missing_realm"},
        Hostile{R"(Digest username="a", realm="r", uri="u", response="x")", "digest_missing_nonce"},
        Hostile{R"(Digest username="a", realm="r", nonce="n", response="x")", "digest_missing_uri"},
        Hostile{R"(Digest username="a", realm="r", nonce="n", uri="u")", "digest_missing_response"}));

TEST(Digest, HugeValuesAndTooManyParametersAreRefused) {
    DigestCredentials c;
    const std::string huge = "Digest username=\"" + std::string(kMaxDigestValue + 1, 'a') +
                             "\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    EXPECT_STREQ(parse_digest_credentials(huge, c).error, "digest_value_too_long");
    const std::string fits = "Digest username=\"" + std::string(kMaxDigestValue, 'a') +
                             "\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    EXPECT_EQ(parse_digest_credentials(fits, c).status, DigestStatus::ok);
    std::string many = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    for (std::size_t i = 0; i < kMaxDigestParams; ++i) many += ", p" + std::to_string(i) + "=1";
    EXPECT_STREQ(parse_digest_credentials(many, c).error, "digest_too_many_parameters");
    const std::string nul = std::string("Digest username=\"a") + '\0' + "\", realm=\"r\"";
    EXPECT_STREQ(parse_digest_credentials(nul, c).error, "digest_control_character");
}

// Every prefix of a valid value: never ok unless it holds every required
// parameter, never a view outside the prefix.
TEST(Digest, EveryTruncationIsSafe) {
    for (std::size_t n = 0; n <= kRfc2617.size(); ++n) {
        const std::string cut = kRfc2617.substr(0, n);
        DigestCredentials c;
        const DigestResult r = parse_digest_credentials(cut, c);
        if (r.status != DigestStatus::ok) continue;
        for (const DigestValue* v : {&c.username, &c.realm, &c.nonce, &c.uri, &c.response, &c.opaque}) {
            if (v->raw.empty()) continue;
            EXPECT_GE(v->raw.data(), cut.data());
            EXPECT_LE(v->raw.data() + v->raw.size(), cut.data() + cut.size());
        }
    }
}

}  // namespace
}  // namespace vg::sip
