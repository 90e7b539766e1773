// SPDX-License-Identifier: GPL-2.0-or-later
// The digest verifier (digest_check.h) against the RFC examples: RFC 2617
// §3.5 (MD5, qop=auth) and RFC 7616 §3.9.1 (MD5 and SHA-256), then every
// algorithm and qop form through the test helper, and what is skipped.
#include "filters/engine/digest_check.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/digest_auth.h"

namespace vg::engine {
namespace {

DigestCheckStatus init(DigestVerifier& v, const std::string& header, const std::string& method) {
    static sip::DigestCredentials c;
    const sip::DigestResult r = sip::parse_digest_credentials(header, c);
    EXPECT_EQ(r.status, sip::DigestStatus::ok) << r.error;
    return v.init(c, method);
}

TEST(DigestCheck, Rfc2617Section3_5Mufasa) {
    DigestVerifier v;
    ASSERT_EQ(init(v,
                   "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
                   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, nc=00000001, "
                   "cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
                   "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
                   "GET"),
              DigestCheckStatus::ok);
    EXPECT_TRUE(v.test("Circle Of Life"));
    EXPECT_FALSE(v.test("Circle of Life"));
    EXPECT_FALSE(v.test(""));
    EXPECT_EQ(v.hashes_per_test(), 2u);
}

constexpr const char* kRfc7616 =
    "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=ALG, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
    "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, response=\"RESP\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

std::string rfc7616(const std::string& alg, const std::string& resp) {
    std::string s = kRfc7616;
    s.replace(s.find("ALG"), 3, alg);
    s.replace(s.find("RESP"), 4, resp);
    return s;
}

TEST(DigestCheck, Rfc7616Section3_9_1Md5) {
    DigestVerifier v;
    ASSERT_EQ(init(v, rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec"), "GET"), DigestCheckStatus::ok);
    EXPECT_TRUE(v.test("Circle of Life"));
    EXPECT_FALSE(v.test("Circle Of Life"));
}

TEST(DigestCheck, Rfc7616Section3_9_1Sha256) {
    DigestVerifier v;
    ASSERT_EQ(init(v, rfc7616("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"), "GET"),
              DigestCheckStatus::ok);
    EXPECT_EQ(v.algorithm(), DigestAlgorithm::sha256);
    EXPECT_TRUE(v.test("Circle of Life"));
    EXPECT_FALSE(v.test("Circle of Life "));
    // Upper-case hex is the same response.
    DigestVerifier u;
    ASSERT_EQ(init(u, rfc7616("SHA-256", "753927FA0E85D155564E2E272A28D1802CA10DAF4496794697CF8DB5856CB6C1"), "GET"),
              DigestCheckStatus::ok);
    EXPECT_TRUE(u.test("Circle of Life"));
}

// The test helper agrees with the RFC examples too (so the engine tests'
// credentials are right).
TEST(DigestCheck, TheTestHelperReproducesTheRfcResponses) {
    test::DigestParams p;
    p.user = "Mufasa";
    p.realm = "http-auth@example.org";
    p.uri = "/dir/index.html";
    p.method = "GET";
    p.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    p.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    p.algorithm = "SHA-256";
    EXPECT_EQ(test::digest_response(p, "Circle of Life"),
              "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    p.algorithm = "MD5";
    EXPECT_EQ(test::digest_response(p, "Circle of Life"), "8ca523f5e9506fed4657c9700eebdbec");
}

struct Form {
    const char* algorithm;
    bool qop;
    unsigned hashes;
};

class DigestForms : public ::testing::TestWithParam<Form> {};

TEST_P(DigestForms, FindsThePasswordAndNoOther) {
    test::DigestParams p;
    p.algorithm = GetParam().algorithm;
    p.qop = GetParam().qop;
    std::string h = test::authorization_header(p, "2468");
    h = h.substr(h.find(':') + 2);
    h.resize(h.size() - 2);   // CRLF
    DigestVerifier v;
    ASSERT_EQ(init(v, h, "REGISTER"), DigestCheckStatus::ok) << h;
    EXPECT_EQ(v.hashes_per_test(), GetParam().hashes);
    EXPECT_TRUE(v.test("2468"));
    EXPECT_FALSE(v.test("2469"));
    EXPECT_FALSE(v.test("201"));
    // Another method is another A2.
    DigestVerifier w;
    ASSERT_EQ(init(w, h, "INVITE"), DigestCheckStatus::ok);
    EXPECT_FALSE(w.test("2468"));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DigestForms,
                         ::testing::Values(Form{"MD5", true, 2}, Form{"MD5", false, 2}, Form{"", false, 2},
                                           Form{"", true, 2}, Form{"MD5-sess", true, 3},
                                           Form{"SHA-256", true, 2}, Form{"SHA-256", false, 2},
                                           Form{"SHA-256-sess", true, 3}));

TEST(DigestCheck, WhatCannotBeTestedIsNamed) {
    DigestVerifier v;
    const std::string base = "Digest username=\"201\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", ";
    const std::string md5 = "response=\"00112233445566778899aabbccddeeff\"";
    EXPECT_EQ(init(v, base + md5 + ", qop=auth-int, nc=00000001, cnonce=\"c\"", "REGISTER"),
              DigestCheckStatus::qop_auth_int);
    EXPECT_EQ(init(v, base + md5 + ", qop=auth-conf, nc=00000001, cnonce=\"c\"", "REGISTER"),
              DigestCheckStatus::unsupported_qop);
    EXPECT_EQ(init(v, base + md5 + ", algorithm=SHA-512-256", "REGISTER"), DigestCheckStatus::unsupported_algorithm);
    EXPECT_EQ(init(v, base + md5 + ", userhash=true", "REGISTER"), DigestCheckStatus::hidden_username);
    EXPECT_EQ(init(v, base + md5 + ", qop=auth", "REGISTER"), DigestCheckStatus::missing_cnonce);
    EXPECT_EQ(init(v, base + md5 + ", algorithm=MD5-sess", "REGISTER"), DigestCheckStatus::missing_cnonce);
    EXPECT_EQ(init(v, base + "response=\"0011\"", "REGISTER"), DigestCheckStatus::bad_response);
    EXPECT_EQ(init(v, base + "response=\"zz112233445566778899aabbccddeeff\"", "REGISTER"),
              DigestCheckStatus::bad_response);
    // A SHA-256 length response with MD5 is not a response.
    EXPECT_EQ(init(v, base + "response=\"" + std::string(64, 'a') + "\"", "REGISTER"),
              DigestCheckStatus::bad_response);
    EXPECT_EQ(digest_check_status_name(DigestCheckStatus::qop_auth_int), "qop_auth_int");
}

TEST(DigestCheck, EscapedValuesAreHashedUnescaped) {
    test::DigestParams p;
    p.realm = "a\"b";
    const std::string resp = test::digest_response(p, "1234");
    const std::string h = "Digest username=\"201\", realm=\"a\\\"b\", nonce=\"" + p.nonce + "\", uri=\"" + p.uri +
                          "\", response=\"" + resp + "\", algorithm=MD5, qop=auth, nc=" + p.nc + ", cnonce=\"" +
                          p.cnonce + "\"";
    DigestVerifier v;
    ASSERT_EQ(init(v, h, "REGISTER"), DigestCheckStatus::ok);
    EXPECT_EQ(v.realm(), "a\"b");
    EXPECT_TRUE(v.test("1234"));
}

}  // namespace
}  // namespace vg::engine
