// SPDX-License-Identifier: GPL-2.0-or-later
// Offline test of a candidate password against one digest response a
// handset sent (RFC 2617 §3.2.2, RFC 7616 §3.4.1): the passive password
// audit (password_audit.h) asks "would this password have produced this
// response?" without ever talking to the handset or the PBX.
//
//   A1  = username ":" realm ":" password
//         (-sess: H(username ":" realm ":" password) ":" nonce ":" cnonce)
//   A2  = method ":" digest-uri                          (qop=auth or none)
//   response = H(H(A1) ":" nonce ":" nc ":" cnonce ":" qop ":" H(A2))   qop=auth
//            = H(H(A1) ":" nonce ":" H(A2))                             no qop (RFC 2069)
//
// Algorithms: MD5, MD5-sess, SHA-256, SHA-256-sess (RFC 7616 §3.2;
// absent = MD5). Not tested, with a named reason: qop=auth-int (A2 needs a
// hash of the body, which the handset's retransmission or TCP segment may
// not carry whole), SHA-512-256 and unknown algorithms, userhash=true and
// username* (the user name is hidden or encoded). Hashes come from nettle.
//
// Cost: 2 hashes per candidate (3 with -sess) plus 1 for H(A2) per init.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/sip/digest.h"

namespace vg::engine {

enum class DigestAlgorithm : std::uint8_t { md5, md5_sess, sha256, sha256_sess };

enum class DigestCheckStatus : std::uint8_t {
    ok,
    qop_auth_int,            // needs the body: skipped
    unsupported_qop,         // a qop other than auth / auth-int
    unsupported_algorithm,   // SHA-512-256, anything unknown
    hidden_username,         // userhash=true or username*
    bad_response,            // response is not hex of the algorithm's length
    missing_cnonce,          // qop or -sess without cnonce / nc
};

std::string_view digest_check_status_name(DigestCheckStatus s) noexcept;

class DigestVerifier {
public:
    // Takes the credentials and the request's method (A2). Costs one hash
    // when it returns ok. The verifier copies what it needs: the packet may
    // go away afterwards.
    DigestCheckStatus init(const sip::DigestCredentials& c, std::string_view method) noexcept;
    // Would `password` have produced the response? Costs hashes_per_test().
    bool test(std::string_view password) noexcept;
    unsigned hashes_per_test() const noexcept { return sess_ ? 3u : 2u; }
    DigestAlgorithm algorithm() const noexcept { return algo_; }
    std::string_view username() const noexcept { return {user_, user_len_}; }
    std::string_view realm() const noexcept { return {realm_, realm_len_}; }

private:
    static constexpr std::size_t kField = sip::kMaxDigestValue;
    // Feeds pieces to H and writes its lower-case hex into out (2 * size).
    std::size_t hash_hex(const std::string_view* parts, std::size_t n, char* out) const noexcept;

    DigestAlgorithm algo_ = DigestAlgorithm::md5;
    bool sess_ = false;
    bool qop_auth_ = false;
    std::size_t hex_len_ = 32;   // 32 (MD5) or 64 (SHA-256)
    std::uint8_t expected_[32] = {};
    char ha2_[64] = {};
    char user_[kField] = {};
    std::size_t user_len_ = 0;
    char realm_[kField] = {};
    std::size_t realm_len_ = 0;
    char nonce_[kField] = {};
    std::size_t nonce_len_ = 0;
    char cnonce_[kField] = {};
    std::size_t cnonce_len_ = 0;
    char nc_[16] = {};
    std::size_t nc_len_ = 0;
};

}  // namespace vg::engine
