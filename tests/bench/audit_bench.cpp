// SPDX-License-Identifier: GPL-2.0-or-later
// The passive password audit's cost (filters/engine/password_audit.h):
//
// 1. Candidate passwords tested per second against one digest response
//    (DigestVerifier::test: 2 hashes each; MD5 and SHA-256, qop=auth):
//    audit.digest_tests_per_s, audit.digest_tests_per_s_sha256, and the
//    cost of one hash, audit.md5_hash_ns / audit.sha256_hash_ns.
// 2. A REGISTER flood through Engine::process, every REGISTER with a new
//    nonce (the worst case: each one starts a check), from 200 handsets at
//    --rate REGISTERs per second of the engine's clock, with the audit at
//    its default budget (1000 hashes/s) and off. The difference of CPU time
//    per simulated second is the daemon's extra CPU under the flood
//    (audit.flood_extra_cpu_fraction), next to its bound: the budget times
//    the cost of a hash, plus the lookup of every REGISTER's credentials
//    header and at most one parse of it per token of the budget (with the
//    budget spent a header is not parsed; audit.budget_cpu_bound_fraction
//    counts only the hashes);
//    audit.max_packet_hash_us is the most one packet can spend hashing
//    (kMaxHashesPerPacket hashes of SHA-256).
//
// Options: --quick, --rate N, --vg-out FILE.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "filters/engine/digest_check.h"
#include "filters/engine/engine.h"
#include "filters/engine/password_audit.h"
#include "tests/bench/bench_common.h"
#include "tests/support/digest_auth.h"

namespace {

using namespace vg;
using namespace std::chrono_literals;

const char* kPolicy = R"(
version: 1
site: bench-audit
handsets:
  networks: [10.20.0.0/16]
  password_audit_rate: RATE
peers:
  pbx:
    - name: cloud-pbx
      addresses: [203.0.113.10]
toll_fraud:
  country_code: "44"
  national_prefix: "0"
  international_prefix: "00"
)";

std::string policy(unsigned rate) {
    std::string s = kPolicy;
    s.replace(s.find("RATE"), 4, std::to_string(rate));
    return s;
}

// Candidates per second for one algorithm; the hash's cost follows.
double tests_per_s(const std::string& algorithm, bool quick, double& hash_ns) {
    test::DigestParams p;
    p.algorithm = algorithm;
    std::string h = test::authorization_header(p, "not-in-any-list-9");
    h = h.substr(h.find(':') + 2);
    h.resize(h.size() - 2);
    sip::DigestCredentials c;
    if (sip::parse_digest_credentials(h, c).status != sip::DigestStatus::ok) std::abort();
    engine::DigestVerifier v;
    if (v.init(c, "REGISTER") != engine::DigestCheckStatus::ok) std::abort();
    const char* words[] = {"1234", "0000", "password", "admin", "201201", "22222", "adminpass", "secret"};
    const std::uint64_t budget = quick ? 200000000ull : 1000000000ull;   // CPU ns
    std::uint64_t n = 0;
    bool found = false;
    const std::uint64_t t0 = bench::cpu_ns();
    std::uint64_t t = t0;
    while (t - t0 < budget) {
        for (int i = 0; i < 1000; ++i) found |= v.test(words[(n + i) & 7]);
        n += 1000;
        t = bench::cpu_ns();
    }
    bench::keep(found);
    const double s = static_cast<double>(t - t0) / 1e9;
    hash_ns = static_cast<double>(t - t0) / static_cast<double>(n * v.hashes_per_test());
    return static_cast<double>(n) / s;
}

struct FloodResult {
    double cpu_s = 0;
    std::uint64_t hashes = 0;
    std::uint64_t deferred = 0;
};

// `seconds` of the engine's clock at `rate` REGISTERs per second.
FloodResult flood(unsigned audit_rate, unsigned rate, unsigned seconds) {
    auto rules = bench::compile_policy_text(policy(audit_rate), "audit-bench.yaml");
    engine::Engine eng(rules);
    struct Null : engine::EventSink {
        void on_event(const engine::Event&) override {}
    } sink;
    // 200 handsets x 16 nonces each, built before the clock starts.
    std::vector<test::Bytes> packets;
    for (unsigned h = 0; h < 200; ++h) {
        for (unsigned k = 0; k < 16; ++k) {
            test::DigestParams p;
            p.user = std::to_string(2000 + h);
            p.nonce = "nonce-" + std::to_string(h) + "-" + std::to_string(k);
            const std::string addr = "10.20.0." + std::to_string(h + 1);
            std::string msg = "REGISTER sip:pbx.example.net SIP/2.0\r\nVia: SIP/2.0/UDP " + addr +
                              ":5060;branch=z9hG4bK" + std::to_string(k) + "\r\nFrom: <sip:" + p.user +
                              "@pbx.example.net>;tag=a" + std::to_string(h) + "\r\nTo: <sip:" + p.user +
                              "@pbx.example.net>\r\nCall-ID: reg-" + std::to_string(h) + "\r\nCSeq: " +
                              std::to_string(k + 1) + " REGISTER\r\nContact: <sip:" + p.user + "@" + addr +
                              ":5060>\r\nMax-Forwards: 70\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n" +
                              test::authorization_header(p, "a-strong-one-" + std::to_string(h)) +
                              "Expires: 3600\r\nContent-Length: 0\r\n\r\n";
            packets.push_back(bench::udp4(addr, 5060, "203.0.113.10", 5060, msg));
        }
    }
    std::vector<net::DecodedPacket> decoded;
    for (const auto& b : packets) decoded.push_back(net::decode_ip(b.data(), b.size()));
    const engine::Duration step = std::chrono::nanoseconds(1000000000ull / rate);
    engine::Timestamp now = engine::Timestamp{} + 1000s;
    const std::uint64_t total = static_cast<std::uint64_t>(rate) * seconds;
    const std::uint64_t t0 = bench::cpu_ns();
    for (std::uint64_t i = 0; i < total; ++i) {
        const engine::Decision d = eng.process(decoded[i % decoded.size()], engine::Now::at(now), sink);
        bench::keep(d);
        now += step;
    }
    FloodResult r;
    r.cpu_s = static_cast<double>(bench::cpu_ns() - t0) / 1e9;
    r.hashes = eng.stats().audit_hashes;
    r.deferred = eng.stats().audit_deferred;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);
    bool quick = false;
    unsigned rate = 20000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--rate" && i + 1 < argc) rate = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        else {
            std::cerr << "usage: vg_audit_bench [--quick] [--rate N] [--vg-out FILE]\n";
            return 2;
        }
    }
    if (rate == 0 || rate > 1000000) {
        std::cerr << "vg_audit_bench: --rate 1..1000000\n";
        return 2;
    }
    double md5_ns = 0, sha_ns = 0;
    out.number("audit.digest_tests_per_s", tests_per_s("MD5", quick, md5_ns));
    out.number("audit.digest_tests_per_s_sha256", tests_per_s("SHA-256", quick, sha_ns));
    out.number("audit.md5_hash_ns", md5_ns);
    out.number("audit.sha256_hash_ns", sha_ns);
    out.number("audit.max_packet_hash_us", engine::PasswordAudit::kMaxHashesPerPacket * sha_ns / 1000.0);

    const unsigned seconds = quick ? 2 : 10;
    const FloodResult on = flood(1000, rate, seconds);
    const FloodResult off = flood(0, rate, seconds);
    out.number("audit.flood_registers_per_s", rate);
    out.number("audit.flood_hashes_per_s", static_cast<double>(on.hashes) / seconds);
    out.number("audit.flood_deferred_per_s", static_cast<double>(on.deferred) / seconds);
    out.number("audit.flood_cpu_fraction_audit_on", on.cpu_s / seconds);
    out.number("audit.flood_cpu_fraction_audit_off", off.cpu_s / seconds);
    out.number("audit.flood_extra_cpu_fraction", (on.cpu_s - off.cpu_s) / seconds);
    out.number("audit.budget_cpu_bound_fraction", 1000.0 * md5_ns / 1e9);
    return 0;
}
