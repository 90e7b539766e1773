// SPDX-License-Identifier: GPL-2.0-or-later
// SIP parser benchmark: voipguard's zero-copy parser side by side with
// libosip2's osip_message_parse, on the same five messages in the same run
// (repetitions randomly interleaved so a busy neighbour or a clock change
// hits both alike).
//
// Each parser is used the way its users use it: voipguard parses into one
// caller-owned SipMessage that is reused (as the engine does); libosip2 gets
// osip_message_init + osip_message_parse + osip_message_free per message.
// Neither parses the SDP body (osip keeps it as text; voipguard's SDP parser
// is separate). Times are CPU time per message, the median of the
// repetitions (nine by default, randomly interleaved), and each ratio is
// libosip2's median over voipguard's median for the same message in the same
// process; the fastest repetitions are reported too (_min_ns).
//
// The same source builds two programs: vg_parser_bench (malloc_nocount.cpp)
// times both parsers; vg_parser_allocs (malloc_count.cpp, malloc replaced)
// counts the heap allocations of each parse instead, so the counting wrapper
// never slows down the parser being timed.
//
// Figures (tests/bench/run collects them):
//   vg_parser_bench:  parser.voipguard_<msg>_ns, parser.osip2_<msg>_ns (medians),
//                     parser.voipguard_<msg>_min_ns, parser.osip2_<msg>_min_ns,
//                     parser.ratio_<msg> (osip2 / voipguard, medians; <msg> =
//                     invite, ok_sdp, register_auth, options, bye_20),
//                     parser.ratio_vs_osip2 (the INVITE's), parser.ratio_geomean,
//                     parser.ratio_min (the lowest of the five), parser.repetitions
//   vg_parser_allocs: parser.voipguard_<msg>_allocs, parser.osip2_<msg>_allocs,
//                     parser.osip2_<msg>_alloc_bytes, parser.allocations_per_message
//                     (voipguard's, the most of the five)
#include <benchmark/benchmark.h>

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "filters/sip/sip_parser.h"
#include "tests/bench/bench_common.h"
#include "tests/bench/gbench_util.h"
#include "tests/bench/malloc_count.h"

namespace {

using namespace vg;

struct Sample {
    std::string key;    // used in result keys: "invite"
    std::string label;  // shown in the benchmark name
    std::string text;
    std::size_t expect_headers = 0;   // 0: not checked
};

std::string finish(std::string head, const std::string& body, const char* content_type) {
    if (content_type != nullptr) head += std::string("Content-Type: ") + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    return head + body;
}

// Messages as a desk phone (Yealink) and a Cloud PBX (Asterisk) send them.
std::vector<Sample> samples() {
    std::vector<Sample> s;

    s.push_back({"invite", "INVITE+SDP",
                 finish("INVITE sip:02079460123@pbx.example.net;user=phone SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK1754873510;rport\r\n"
                        "From: \"Reception\" <sip:201@pbx.example.net>;tag=2049416391\r\n"
                        "To: <sip:02079460123@pbx.example.net;user=phone>\r\n"
                        "Call-ID: 0_3213551832@192.168.20.10\r\n"
                        "CSeq: 1 INVITE\r\n"
                        "Contact: <sip:201@192.168.20.10:5060>\r\n"
                        "Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, "
                        "REFER, PUBLISH, UPDATE, MESSAGE\r\n"
                        "Max-Forwards: 70\r\n"
                        "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
                        "Supported: replaces, timer\r\n"
                        "Allow-Events: talk,hold,conference,refer,check-sync\r\n",
                        "v=0\r\n"
                        "o=- 20012 20012 IN IP4 192.168.20.10\r\n"
                        "s=SDP data\r\n"
                        "c=IN IP4 192.168.20.10\r\n"
                        "t=0 0\r\n"
                        "m=audio 11800 RTP/AVP 9 0 8 18 101\r\n"
                        "a=rtpmap:9 G722/8000\r\n"
                        "a=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:8 PCMA/8000\r\n"
                        "a=rtpmap:18 G729/8000\r\n"
                        "a=fmtp:18 annexb=no\r\n"
                        "a=ptime:20\r\n"
                        "a=sendrecv\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-15\r\n",
                        "application/sdp"),
                 13});

    s.push_back({"ok_sdp", "200OK+SDP",
                 finish("SIP/2.0 200 OK\r\n"
                        "Via: SIP/2.0/UDP 192.168.20.10:5060;rport=5060;received=198.51.100.23;"
                        "branch=z9hG4bK1754873510\r\n"
                        "Record-Route: <sip:203.0.113.10;lr>\r\n"
                        "Call-ID: 0_3213551832@192.168.20.10\r\n"
                        "From: \"Reception\" <sip:201@pbx.example.net>;tag=2049416391\r\n"
                        "To: <sip:02079460123@pbx.example.net;user=phone>;tag=as6f1a2b3c\r\n"
                        "CSeq: 1 INVITE\r\n"
                        "Server: Asterisk PBX 18.20.0\r\n"
                        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, "
                        "MESSAGE\r\n"
                        "Supported: replaces, timer\r\n"
                        "Session-Expires: 1800;refresher=uas\r\n"
                        "Require: timer\r\n"
                        "Contact: <sip:02079460123@203.0.113.10:5060>\r\n",
                        "v=0\r\n"
                        "o=root 1822453396 1822453396 IN IP4 203.0.113.70\r\n"
                        "s=Asterisk PBX 18.20.0\r\n"
                        "c=IN IP4 203.0.113.70\r\n"
                        "t=0 0\r\n"
                        "m=audio 14562 RTP/AVP 9 101\r\n"
                        "a=rtpmap:9 G722/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-16\r\n"
                        "a=ptime:20\r\n"
                        "a=maxptime:150\r\n"
                        "a=sendrecv\r\n",
                        "application/sdp"),
                 14});

    s.push_back({"register_auth", "REGISTER+digest",
                 finish("REGISTER sip:pbx.example.net SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK2787366425;rport\r\n"
                        "From: \"Reception\" <sip:201@pbx.example.net>;tag=1646398839\r\n"
                        "To: \"Reception\" <sip:201@pbx.example.net>\r\n"
                        "Call-ID: 0_1849785498@192.168.20.10\r\n"
                        "CSeq: 2 REGISTER\r\n"
                        "Contact: <sip:201@192.168.20.10:5060>;reg-id=1;"
                        "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-805ec0a1b2c3>\"\r\n"
                        "Authorization: Digest username=\"201\", realm=\"pbx.example.net\", "
                        "nonce=\"5f2c8a9b1d3e4f60718293a4b5c6d7e8\", uri=\"sip:pbx.example.net\", "
                        "response=\"2b6e1f0c9a8d7e6f5a4b3c2d1e0f9a8b\", algorithm=MD5, cnonce=\"0a4f113b\", "
                        "qop=auth, nc=00000001\r\n"
                        "Max-Forwards: 70\r\n"
                        "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
                        "Expires: 300\r\n"
                        "Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, "
                        "REFER, PUBLISH, UPDATE, MESSAGE\r\n"
                        "Allow-Events: talk,hold,conference,refer,check-sync\r\n",
                        "", nullptr),
                 13});

    s.push_back({"options", "OPTIONS",
                 finish("OPTIONS sip:201@192.168.20.10:5060 SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK6c2e3a1f;rport\r\n"
                        "Max-Forwards: 70\r\n"
                        "From: \"asterisk\" <sip:asterisk@203.0.113.10>;tag=as4b2e9c1d\r\n"
                        "To: <sip:201@192.168.20.10:5060>\r\n"
                        "Contact: <sip:asterisk@203.0.113.10:5060>\r\n"
                        "Call-ID: 3c5a1e0b7d2f4a6c@203.0.113.10\r\n"
                        "CSeq: 102 OPTIONS\r\n"
                        "User-Agent: Asterisk PBX 18.20.0\r\n"
                        "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, "
                        "MESSAGE\r\n"
                        "Supported: replaces, timer\r\n",
                        "", nullptr),
                 12});

    // A BYE from the PBX that crossed two more proxies: exactly 20 header fields.
    s.push_back({"bye_20", "BYE-20-headers",
                 finish("BYE sip:201@192.168.20.10:5060 SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKb1c2d3e4.1;rport\r\n"
                        "Via: SIP/2.0/UDP 203.0.113.20:5060;received=203.0.113.20;branch=z9hG4bK77aa33ff;"
                        "rport=5060\r\n"
                        "Via: SIP/2.0/TCP 203.0.113.30:5060;branch=z9hG4bK0099887766\r\n"
                        "Max-Forwards: 68\r\n"
                        "Route: <sip:192.168.20.10:5060;lr>\r\n"
                        "From: <sip:02079460123@pbx.example.net;user=phone>;tag=as6f1a2b3c\r\n"
                        "To: \"Reception\" <sip:201@pbx.example.net>;tag=2049416391\r\n"
                        "Call-ID: 0_3213551832@192.168.20.10\r\n"
                        "CSeq: 103 BYE\r\n"
                        "Contact: <sip:02079460123@203.0.113.10:5060>\r\n"
                        "User-Agent: Asterisk PBX 18.20.0\r\n"
                        "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n"
                        "P-Asserted-Identity: <sip:+442079460123@pbx.example.net>\r\n"
                        "Privacy: none\r\n"
                        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, "
                        "MESSAGE\r\n"
                        "Supported: replaces, timer\r\n"
                        "X-Asterisk-HangupCause: Normal Clearing\r\n"
                        "X-Asterisk-HangupCauseCode: 16\r\n"
                        "P-Charging-Vector: icid-value=1a2b3c4d5e6f;icid-generated-at=203.0.113.10\r\n",
                        "", nullptr),
                 20});
    return s;
}

// One SipMessage for the process, reused like the engine reuses its own.
sip::SipMessage g_message;

bool voipguard_parses(const Sample& s) {
    // Clean messages: parsed whole, every header counted, no anomaly.
    const sip::ParseResult r = sip::parse_message(s.text, sip::Transport::datagram, sip::Limits{}, g_message);
    return r.status == sip::Status::ok && r.consumed == s.text.size() && r.anomalies == 0 &&
           (s.expect_headers == 0 || g_message.header_count == s.expect_headers);
}

bool osip2_parses(const Sample& s) {
    osip_message_t* m = nullptr;
    const bool ok = osip_message_init(&m) == 0 && osip_message_parse(m, s.text.data(), s.text.size()) == 0;
    if (m != nullptr) osip_message_free(m);
    return ok;
}

// One parse each, exactly as the timed loops do it.
inline void parse_voipguard(const Sample& s, const sip::Limits& limits) {
    sip::ParseResult r = sip::parse_message(s.text, sip::Transport::datagram, limits, g_message);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
}

inline void parse_osip2(const Sample& s) {
    osip_message_t* m = nullptr;
    osip_message_init(&m);
    int rc = osip_message_parse(m, s.text.data(), s.text.size());
    benchmark::DoNotOptimize(rc);
    osip_message_free(m);
}

void bench_voipguard(benchmark::State& state, const Sample* s) {
    if (!voipguard_parses(*s)) {
        state.SkipWithError(("voipguard does not parse " + s->label + " cleanly").c_str());
        return;
    }
    const sip::Limits limits;
    for (auto _ : state) parse_voipguard(*s, limits);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(s->text.size()));
}

void bench_osip2(benchmark::State& state, const Sample* s) {
    if (!osip2_parses(*s)) {
        state.SkipWithError(("libosip2 does not parse " + s->label).c_str());
        return;
    }
    for (auto _ : state) parse_osip2(*s);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(s->text.size()));
}

// Counting mode (the binary linked with malloc_count.cpp): heap allocations
// and bytes per message of each parser, over many parses.
int count_allocations(const std::vector<Sample>& all, bench::Results& out) {
    constexpr int kParses = 1000;
    const sip::Limits limits;
    double worst = 0;
    std::printf("heap allocations per message:\n");
    for (const Sample& s : all) {
        if (!voipguard_parses(s) || !osip2_parses(s)) {
            std::fprintf(stderr, "%s does not parse cleanly with both parsers\n", s.label.c_str());
            return 1;
        }
        std::size_t a0 = bench::allocation_count();
        for (int i = 0; i < kParses; ++i) parse_voipguard(s, limits);
        const double v_allocs = static_cast<double>(bench::allocation_count() - a0) / kParses;
        a0 = bench::allocation_count();
        const std::size_t b0 = bench::allocated_bytes();
        for (int i = 0; i < kParses; ++i) parse_osip2(s);
        const double o_allocs = static_cast<double>(bench::allocation_count() - a0) / kParses;
        const double o_bytes = static_cast<double>(bench::allocated_bytes() - b0) / kParses;
        out.number("parser.voipguard_" + s.key + "_allocs", v_allocs);
        out.number("parser.osip2_" + s.key + "_allocs", o_allocs);
        out.number("parser.osip2_" + s.key + "_alloc_bytes", o_bytes);
        worst = std::max(worst, v_allocs);
    }
    out.number("parser.allocations_per_message", worst);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);

    // Side by side: nine repetitions, randomly interleaved, the medians compared.
    if (!bench::init_benchmark(argc, argv,
                               {"--benchmark_repetitions=9", "--benchmark_enable_random_interleaving=true",
                                "--benchmark_min_time=0.2"}))
        return 2;

    if (parser_init() != 0) {
        std::cerr << "libosip2: parser_init failed\n";
        return 1;
    }
    static const std::vector<Sample> all = samples();
    if (bench::allocation_counting()) return count_allocations(all, out);
    for (const Sample& s : all) {
        bench::with_min(benchmark::RegisterBenchmark(("voipguard/" + s.label).c_str(), bench_voipguard, &s))
            ->Unit(benchmark::kNanosecond);
        bench::with_min(benchmark::RegisterBenchmark(("osip2/" + s.label).c_str(), bench_osip2, &s))
            ->Unit(benchmark::kNanosecond);
    }
    benchmark::AddCustomContext("libosip2", VG_OSIP2_VERSION);

    bench::CaptureReporter capture;
    benchmark::RunSpecifiedBenchmarks(&capture);
    benchmark::Shutdown();

    std::printf("\nparser results:\n");
    double log_sum = 0;
    double ratio_min = 0;
    int counted = 0;
    std::size_t repetitions = 0;
    bool complete = true;
    for (const Sample& s : all) {
        const auto* v = capture.find("voipguard/" + s.label);
        const auto* o = capture.find("osip2/" + s.label);
        if (v == nullptr || o == nullptr) {
            complete = false;
            out.null("parser.ratio_" + s.key, "benchmark did not run (filtered out or failed)");
            continue;
        }
        // The median of the repetitions (a single run: its time).
        const double v_ns = v->median_cpu_time > 0 ? v->median_cpu_time : v->cpu_time;
        const double o_ns = o->median_cpu_time > 0 ? o->median_cpu_time : o->cpu_time;
        const double ratio = o_ns / v_ns;
        out.number("parser.voipguard_" + s.key + "_ns", v_ns);
        out.number("parser.osip2_" + s.key + "_ns", o_ns);
        out.number("parser.voipguard_" + s.key + "_min_ns", v->cpu_time);
        out.number("parser.osip2_" + s.key + "_min_ns", o->cpu_time);
        repetitions = std::max(repetitions, v->repetition_cpu_times.size());
        out.number("parser.ratio_" + s.key, ratio);
        out.number("parser.message_" + s.key + "_bytes", static_cast<double>(s.text.size()));
        log_sum += std::log(ratio);
        ratio_min = counted == 0 ? ratio : std::min(ratio_min, ratio);
        ++counted;
        if (s.key == "invite") out.number("parser.ratio_vs_osip2", ratio);   // with parser.*_invite_ns above
    }
    if (counted > 0) {
        out.number("parser.ratio_geomean", std::exp(log_sum / counted));
        out.number("parser.ratio_min", ratio_min);
        out.number("parser.repetitions", static_cast<double>(repetitions));
    }
    return complete ? 0 : 1;
}
