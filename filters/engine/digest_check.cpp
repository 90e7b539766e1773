// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/digest_check.h"

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <cstring>
#include <iterator>

#include "filters/util/text.h"

namespace vg::engine {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void to_hex(const std::uint8_t* in, std::size_t n, char* out) noexcept {
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHex[in[i] >> 4];
        out[2 * i + 1] = kHex[in[i] & 0xf];
    }
}

// Copies the unescaped value; false when it does not fit.
bool copy_field(const sip::DigestValue& v, char* out, std::size_t cap, std::size_t& len) noexcept {
    len = v.unescape_into(out, cap);
    return len <= cap;
}

}  // namespace

std::string_view digest_check_status_name(DigestCheckStatus s) noexcept {
    switch (s) {
    case DigestCheckStatus::ok: return "ok";
    case DigestCheckStatus::qop_auth_int: return "qop_auth_int";
    case DigestCheckStatus::unsupported_qop: return "unsupported_qop";
    case DigestCheckStatus::unsupported_algorithm: return "unsupported_algorithm";
    case DigestCheckStatus::hidden_username: return "hidden_username";
    case DigestCheckStatus::bad_response: return "bad_response";
    case DigestCheckStatus::missing_cnonce: return "missing_cnonce";
    }
    return "unknown";
}

std::size_t DigestVerifier::hash_hex(const std::string_view* parts, std::size_t n, char* out) const noexcept {
    std::uint8_t d[SHA256_DIGEST_SIZE];
    if (algo_ == DigestAlgorithm::md5 || algo_ == DigestAlgorithm::md5_sess) {
        md5_ctx ctx;
        md5_init(&ctx);
        for (std::size_t i = 0; i < n; ++i)
            md5_update(&ctx, parts[i].size(), reinterpret_cast<const std::uint8_t*>(parts[i].data()));
        md5_digest(&ctx, MD5_DIGEST_SIZE, d);
        to_hex(d, MD5_DIGEST_SIZE, out);
        return 2 * MD5_DIGEST_SIZE;
    }
    sha256_ctx ctx;
    sha256_init(&ctx);
    for (std::size_t i = 0; i < n; ++i)
        sha256_update(&ctx, parts[i].size(), reinterpret_cast<const std::uint8_t*>(parts[i].data()));
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, d);
    to_hex(d, SHA256_DIGEST_SIZE, out);
    return 2 * SHA256_DIGEST_SIZE;
}

DigestCheckStatus DigestVerifier::init(const sip::DigestCredentials& c, std::string_view method) noexcept {
    if (c.username_star.present || (c.userhash.present && text::iequals(c.userhash.raw, "true")))
        return DigestCheckStatus::hidden_username;
    // RFC 7616 §3.4: absent algorithm means MD5.
    const std::string_view alg = c.algorithm.present ? c.algorithm.raw : std::string_view("MD5");
    if (text::iequals(alg, "MD5")) algo_ = DigestAlgorithm::md5;
    else if (text::iequals(alg, "MD5-sess")) algo_ = DigestAlgorithm::md5_sess;
    else if (text::iequals(alg, "SHA-256")) algo_ = DigestAlgorithm::sha256;
    else if (text::iequals(alg, "SHA-256-sess")) algo_ = DigestAlgorithm::sha256_sess;
    else return DigestCheckStatus::unsupported_algorithm;
    sess_ = algo_ == DigestAlgorithm::md5_sess || algo_ == DigestAlgorithm::sha256_sess;
    hex_len_ = (algo_ == DigestAlgorithm::md5 || algo_ == DigestAlgorithm::md5_sess) ? 32 : 64;

    qop_auth_ = false;
    if (c.qop.present) {
        if (text::iequals(c.qop.raw, "auth")) qop_auth_ = true;
        else if (text::iequals(c.qop.raw, "auth-int")) return DigestCheckStatus::qop_auth_int;
        else return DigestCheckStatus::unsupported_qop;
    }
    if ((qop_auth_ || sess_) && !c.cnonce.present) return DigestCheckStatus::missing_cnonce;
    if (qop_auth_ && !c.nc.present) return DigestCheckStatus::missing_cnonce;

    // The response: hex of the hash's length, either case.
    if (c.response.escaped || c.response.raw.size() != hex_len_) return DigestCheckStatus::bad_response;
    for (std::size_t i = 0; i < hex_len_ / 2; ++i) {
        const int hi = hex_value(c.response.raw[2 * i]);
        const int lo = hex_value(c.response.raw[2 * i + 1]);
        if (hi < 0 || lo < 0) return DigestCheckStatus::bad_response;
        expected_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    // Lengths are bounded by the parser (kMaxDigestValue); nc by its own size.
    if (!copy_field(c.username, user_, sizeof user_, user_len_) ||
        !copy_field(c.realm, realm_, sizeof realm_, realm_len_) ||
        !copy_field(c.nonce, nonce_, sizeof nonce_, nonce_len_) ||
        !copy_field(c.cnonce, cnonce_, sizeof cnonce_, cnonce_len_) ||
        !copy_field(c.nc, nc_, sizeof nc_, nc_len_))
        return DigestCheckStatus::bad_response;

    char uri[kField];
    std::size_t uri_len = 0;
    if (!copy_field(c.uri, uri, sizeof uri, uri_len)) return DigestCheckStatus::bad_response;
    const std::string_view a2[] = {method, ":", std::string_view(uri, uri_len)};
    hash_hex(a2, std::size(a2), ha2_);
    return DigestCheckStatus::ok;
}

bool DigestVerifier::test(std::string_view password) noexcept {
    char ha1[64];
    const std::string_view a1[] = {username(), ":", realm(), ":", password};
    hash_hex(a1, std::size(a1), ha1);
    const std::string_view nonce(nonce_, nonce_len_);
    const std::string_view cnonce(cnonce_, cnonce_len_);
    if (sess_) {
        char base[64];
        std::memcpy(base, ha1, hex_len_);
        const std::string_view s[] = {std::string_view(base, hex_len_), ":", nonce, ":", cnonce};
        hash_hex(s, std::size(s), ha1);
    }
    const std::string_view h1(ha1, hex_len_);
    const std::string_view h2(ha2_, hex_len_);
    char got[64];
    if (qop_auth_) {
        const std::string_view r[] = {h1, ":", nonce, ":", std::string_view(nc_, nc_len_), ":", cnonce, ":auth:", h2};
        hash_hex(r, std::size(r), got);
    } else {
        const std::string_view r[] = {h1, ":", nonce, ":", h2};
        hash_hex(r, std::size(r), got);
    }
    // Compare as bytes (the response's hex may be upper case).
    std::uint8_t bytes[32];
    for (std::size_t i = 0; i < hex_len_ / 2; ++i)
        bytes[i] = static_cast<std::uint8_t>(hex_value(got[2 * i]) << 4 | hex_value(got[2 * i + 1]));
    return std::memcmp(bytes, expected_, hex_len_ / 2) == 0;
}

}  // namespace vg::engine
