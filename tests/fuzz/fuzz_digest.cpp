// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the digest credentials parser (filters/sip/digest.h) and
// the password audit's verifier over what it accepts. Checks that every view
// lies inside the input, that the limits hold, and that a value's unescaped
// copy is never longer than its raw form. The first byte picks the request
// method so the verifier's A2 varies.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/digest_check.h"
#include "filters/sip/digest.h"

namespace {

void check_value(std::string_view in, const vg::sip::DigestValue& v) {
    if (!v.present) {
        if (!v.raw.empty()) __builtin_trap();
        return;
    }
    if (!v.raw.empty() && (v.raw.data() < in.data() || v.raw.data() + v.raw.size() > in.data() + in.size()))
        __builtin_trap();
    if (v.raw.size() > vg::sip::kMaxDigestValue) __builtin_trap();
    char buf[vg::sip::kMaxDigestValue];
    const std::size_t n = v.unescape_into(buf, sizeof buf);
    if (n > v.raw.size()) __builtin_trap();
    if (!v.escaped && n != v.raw.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg::sip;
    if (size == 0) return 0;
    static constexpr std::string_view kMethods[] = {"REGISTER", "INVITE", "GET", ""};
    const std::string_view method = kMethods[data[0] % 4];
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    static DigestCredentials c;
    const DigestResult r = parse_digest_credentials(in, c);
    if (r.status != DigestStatus::ok) return 0;
    if (c.params > kMaxDigestParams) __builtin_trap();
    for (const DigestValue* v : {&c.username, &c.username_star, &c.realm, &c.nonce, &c.uri, &c.response,
                                 &c.algorithm, &c.cnonce, &c.opaque, &c.qop, &c.nc, &c.userhash})
        check_value(in, *v);
    static vg::engine::DigestVerifier verifier;
    if (verifier.init(c, method) == vg::engine::DigestCheckStatus::ok) {
        (void)verifier.test("1234");
        (void)verifier.test(verifier.username());
    }
    return 0;
}
