// SPDX-License-Identifier: GPL-2.0-or-later
// What a handset computes for Authorization: Digest (RFC 2617 §3.2.2,
// RFC 7616 §3.4.1), written out plainly with nettle for the tests that need
// credentials for a password they choose. Checked against the RFC examples
// in digest_check_test.cpp, independently of the verifier under test.
#pragma once

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <cstdint>
#include <string>

namespace vg::test {

inline std::string hex_hash(const std::string& s, bool sha256) {
    std::uint8_t d[SHA256_DIGEST_SIZE];
    std::size_t n = 0;
    if (sha256) {
        sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, s.size(), reinterpret_cast<const std::uint8_t*>(s.data()));
        sha256_digest(&c, SHA256_DIGEST_SIZE, d);
        n = SHA256_DIGEST_SIZE;
    } else {
        md5_ctx c;
        md5_init(&c);
        md5_update(&c, s.size(), reinterpret_cast<const std::uint8_t*>(s.data()));
        md5_digest(&c, MD5_DIGEST_SIZE, d);
        n = MD5_DIGEST_SIZE;
    }
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(kHex[d[i] >> 4]);
        out.push_back(kHex[d[i] & 15]);
    }
    return out;
}

struct DigestParams {
    std::string user = "201";
    std::string realm = "pbx.example.net";
    std::string nonce = "5f2a9c0e11";
    std::string uri = "sip:pbx.example.net";
    std::string method = "REGISTER";
    std::string algorithm = "MD5";   // MD5, MD5-sess, SHA-256, SHA-256-sess; "" = none written
    bool qop = true;
    std::string cnonce = "c0ffee42";
    std::string nc = "00000001";
};

inline std::string digest_response(const DigestParams& p, const std::string& password) {
    const bool sha = p.algorithm.rfind("SHA-256", 0) == 0;
    const bool sess = p.algorithm.size() > 5 && p.algorithm.substr(p.algorithm.size() - 5) == "-sess";
    std::string ha1 = hex_hash(p.user + ":" + p.realm + ":" + password, sha);
    if (sess) ha1 = hex_hash(ha1 + ":" + p.nonce + ":" + p.cnonce, sha);
    const std::string ha2 = hex_hash(p.method + ":" + p.uri, sha);
    if (p.qop) return hex_hash(ha1 + ":" + p.nonce + ":" + p.nc + ":" + p.cnonce + ":auth:" + ha2, sha);
    return hex_hash(ha1 + ":" + p.nonce + ":" + ha2, sha);
}

// The header line ("Authorization: Digest ...\r\n") for `password`.
inline std::string authorization_header(const DigestParams& p, const std::string& password,
                                        const std::string& name = "Authorization") {
    std::string h = name + ": Digest username=\"" + p.user + "\", realm=\"" + p.realm + "\", nonce=\"" + p.nonce +
                    "\", uri=\"" + p.uri + "\", response=\"" + digest_response(p, password) + "\"";
    if (!p.algorithm.empty()) h += ", algorithm=" + p.algorithm;
    if (p.qop) h += ", qop=auth, nc=" + p.nc + ", cnonce=\"" + p.cnonce + "\"";
    return h + "\r\n";
}

}  // namespace vg::test
