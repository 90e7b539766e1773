// SPDX-License-Identifier: GPL-2.0-or-later
// Real digest exchanges: every Authorization / Proxy-Authorization: Digest
// header of the SIP messages in the third-party corpus (captures of real
// phones and PBXes) parses, and the verifier takes it or names why not.
// Skipped when the corpus is absent.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "filters/engine/digest_check.h"
#include "filters/sip/digest.h"
#include "filters/sip/sip_parser.h"
#include "filters/util/text.h"
#include "tests/fuzz/corpus_inputs.h"

namespace vg::engine {
namespace {

TEST(DigestCorpus, EveryRealDigestHeaderParsesAndIsTestedOrNamed) {
    const auto inputs = fuzz::corpus_inputs(fuzz::InputKind::sip);
    if (inputs.empty()) GTEST_SKIP() << "no third-party corpus (../shared/corpus): nothing to replay";
    auto m = std::make_unique<sip::SipMessage>();
    sip::DigestCredentials c;
    DigestVerifier v;
    std::map<std::string, int> outcome;
    int headers = 0;
    for (const auto& in : inputs) {
        if (sip::parse_message(in.bytes, sip::Transport::datagram, sip::Limits{}, *m).status != sip::Status::ok) continue;
        if (!m->is_request()) continue;
        for (const sip::HeaderId id : {sip::HeaderId::authorization, sip::HeaderId::proxy_authorization}) {
            m->for_each_header(id, [&](const sip::Header& h) {
                if (!text::istarts_with(text::trim_lws(h.value), "digest")) return;
                ++headers;
                const sip::DigestResult r = sip::parse_digest_credentials(h.value, c);
                EXPECT_EQ(r.status, sip::DigestStatus::ok) << in.name << ": " << r.error << "\n" << h.value;
                if (r.status != sip::DigestStatus::ok) return;
                const DigestCheckStatus s = v.init(c, m->method_text);
                ++outcome[std::string(digest_check_status_name(s))];
                if (s == DigestCheckStatus::ok) {
                    EXPECT_FALSE(v.test("")) << in.name;
                }
            });
        }
    }
    if (headers == 0) GTEST_SKIP() << "the corpus has no request with digest credentials";
    for (const auto& [k, n] : outcome) std::printf("  %s: %d\n", k.c_str(), n);
    EXPECT_GT(outcome["ok"], 0) << "no real digest response could be tested";
}

}  // namespace
}  // namespace vg::engine
