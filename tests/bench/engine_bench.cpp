// SPDX-License-Identifier: GPL-2.0-or-later
// Engine benchmark: signalling messages per second through the full verdict
// function (decode_ip + Engine::process, and Engine::tick once per simulated
// period) on the traffic of an office: 200 desk phones registered to a Cloud
// PBX over ten simulated minutes.
//
//   - every phone refreshes its registration every 5 minutes
//     (REGISTER, 401, REGISTER with digest credentials, 200);
//   - the PBX sends each phone an OPTIONS keep-alive every minute (and the
//     phone answers 200);
//   - 30 % of the phones place a call (INVITE with SDP, 100, 180, 200 with
//     SDP, ACK, the first RTP packet each way, BYE after 90 s, 200), 10 %
//     take one (the same with the PBX as caller, BYE from the PBX after 60 s).
//
// Packets are built and sorted by time once; each benchmark iteration plays
// the ten minutes once more with the clock moved on (call IDs repeat only
// after their dialogs have been cleaned up). Only the first RTP packet of a
// flow reaches the daemon (the kernel fast path takes the rest), so the mix
// has a handful of them. Every verdict is checked: the mix is legitimate
// traffic, so a drop means the benchmark measured the wrong path.
//
// Figures (CPU time of the fastest of the repetitions): engine.signalling_msgs_per_s
// (SIP messages of the mix / time for the whole mix, its RTP packets and tick
// included), engine.packets_per_s, engine.ns_per_message,
// engine.allocations_per_packet (malloc_count.h), engine.mix_*,
// engine.unexpected_drops.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "filters/engine/engine.h"
#include "tests/bench/bench_common.h"
#include "tests/bench/gbench_util.h"
#include "tests/bench/malloc_count.h"

namespace {

using namespace vg;
using namespace std::chrono_literals;

constexpr unsigned kHandsets = 200;
constexpr double kPeriod = 600.0;   // seconds of traffic per pass

const char* kPolicy = R"(
version: 1
site: bench-office
mode: enforce
handsets:
  networks: [10.20.0.0/16]
  firmware_minimums:
    - match: "Yealink SIP-T46S"
      min_version: 66.86.0.15
peers:
  pbx:
    - name: cloud-pbx
      addresses: [203.0.113.10]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
  support:
    - name: msp
      addresses: [198.51.100.7]
      ports: ["tcp/22", "tcp/443"]
toll_fraud:
  country_code: "44"
  national_prefix: "0"
  international_prefix: "00"
  deny_prefixes: ["+881", "+882", "+883", "09"]
  emergency_numbers: ["999", "112"]
)";

struct TimedPacket {
    double t = 0;            // seconds into the period
    test::Bytes bytes;
    bool sip = false;
    std::string kind;        // for the mix summary
};

struct Mix {
    std::vector<TimedPacket> packets;
    std::size_t sip_messages = 0;
};

Mix build_mix() {
    Mix mix;
    auto add = [&](double t, test::Bytes b, bool sip, const char* kind) {
        mix.packets.push_back({t, std::move(b), sip, kind});
    };
    const std::string pbx = "203.0.113.10";
    const std::string pbx_media = "203.0.113.70";
    for (unsigned i = 0; i < kHandsets; ++i) {
        bench::CallParty c;
        c.handset = "10.20." + std::to_string(i / 200) + "." + std::to_string(10 + i % 200);
        c.extension = std::to_string(200 + i);
        const double phase = kPeriod * i / kHandsets;
        const std::string tag = std::to_string(i);

        // Registration refresh every 300 s, challenged once each time.
        for (unsigned k = 0; k < 2; ++k) {
            const double t = std::fmod(phase + 300.0 * k, kPeriod);
            const std::string cid = "reg" + tag + "@" + c.handset;
            const unsigned cseq = 2 * k + 1;
            add(t, bench::udp4(c.handset, 5060, pbx, 5060, bench::register_request(c, cseq, false, cid)), true,
                "REGISTER");
            add(t + 0.02, bench::udp4(pbx, 5060, c.handset, 5060,
                                      bench::response(c, false, 401, "Unauthorized", "REGISTER", cseq, cid, "", "",
                                                      true)),
                true, "401");
            add(t + 0.03, bench::udp4(c.handset, 5060, pbx, 5060, bench::register_request(c, cseq + 1, true, cid)),
                true, "REGISTER");
            add(t + 0.05, bench::udp4(pbx, 5060, c.handset, 5060,
                                      bench::response(c, false, 200, "OK", "REGISTER", cseq + 1, cid, "", "", true)),
                true, "200");
        }

        // OPTIONS keep-alive from the PBX every 60 s.
        for (unsigned k = 0; k < 10; ++k) {
            const double t = std::fmod(phase / 10 + 60.0 * k, kPeriod);
            const std::string cid = "opt" + tag + "-" + std::to_string(k) + "@" + pbx;
            add(t, bench::udp4(pbx, 5060, c.handset, 5060, bench::options_keepalive(c, 100 + k, cid)), true,
                "OPTIONS");
            add(t + 0.005, bench::udp4(c.handset, 5060, pbx, 5060,
                                       bench::response(c, true, 200, "OK", "OPTIONS", 100 + k, cid, "h" + tag, "",
                                                       false)),
                true, "200");
        }

        const unsigned audio = 11800 + 2 * (i % 100);
        const unsigned pbx_audio = 12000 + 2 * i;
        if (i % 10 < 3) {
            // An outbound call of 90 s.
            const double t0 = std::fmod(phase + 37.0, 450.0);
            const std::string cid = "out" + tag + "@" + c.handset;
            const std::string to_tag = "as" + tag;
            const std::string offer = bench::sdp_body(c.handset, audio, 0, false, i);
            add(t0, bench::udp4(c.handset, 5060, pbx, 5060, bench::invite(c, true, "02079460123", cid, offer)), true,
                "INVITE");
            add(t0 + 0.03, bench::udp4(pbx, 5060, c.handset, 5060,
                                       bench::response(c, false, 100, "Trying", "INVITE", 1, cid, "", "", true)),
                true, "100");
            add(t0 + 0.2, bench::udp4(pbx, 5060, c.handset, 5060,
                                      bench::response(c, false, 180, "Ringing", "INVITE", 1, cid, to_tag, "", true)),
                true, "180");
            add(t0 + 5.0, bench::udp4(pbx, 5060, c.handset, 5060,
                                      bench::response(c, false, 200, "OK", "INVITE", 1, cid, to_tag,
                                                      bench::sdp_body(pbx_media, pbx_audio, 0, true, i), true)),
                true, "200");
            add(t0 + 5.03, bench::udp4(c.handset, 5060, pbx, 5060, bench::ack(c, true, cid, to_tag)), true, "ACK");
            add(t0 + 5.05, bench::udp4(pbx_media, pbx_audio, c.handset, audio, bench::rtp_payload(1)), false, "RTP");
            add(t0 + 5.06, bench::udp4(c.handset, audio, pbx_media, pbx_audio, bench::rtp_payload(1)), false, "RTP");
            add(t0 + 95.0, bench::udp4(c.handset, 5060, pbx, 5060, bench::bye(c, true, cid, to_tag, true)), true,
                "BYE");
            add(t0 + 95.03, bench::udp4(pbx, 5060, c.handset, 5060,
                                        bench::response(c, false, 200, "OK", "BYE", 2, cid, to_tag, "", true)),
                true, "200");
        } else if (i % 10 == 5) {
            // An inbound call of 60 s, ended by the PBX.
            const double t0 = std::fmod(phase + 11.0, 480.0);
            const std::string cid = "in" + tag + "@" + pbx;
            const std::string to_tag = "h" + tag;
            const std::string offer = bench::sdp_body(pbx_media, pbx_audio, 0, true, i);
            add(t0, bench::udp4(pbx, 5060, c.handset, 5060, bench::invite(c, false, "02079460123", cid, offer)), true,
                "INVITE");
            add(t0 + 0.01, bench::udp4(c.handset, 5060, pbx, 5060,
                                       bench::response(c, true, 100, "Trying", "INVITE", 1, cid, "", "", false)),
                true, "100");
            add(t0 + 0.05, bench::udp4(c.handset, 5060, pbx, 5060,
                                       bench::response(c, true, 180, "Ringing", "INVITE", 1, cid, to_tag, "", false)),
                true, "180");
            add(t0 + 4.0, bench::udp4(c.handset, 5060, pbx, 5060,
                                      bench::response(c, true, 200, "OK", "INVITE", 1, cid, to_tag,
                                                      bench::sdp_body(c.handset, audio, 0, false, i), false)),
                true, "200");
            add(t0 + 4.04, bench::udp4(pbx, 5060, c.handset, 5060, bench::ack(c, false, cid, to_tag)), true, "ACK");
            add(t0 + 4.06, bench::udp4(pbx_media, pbx_audio, c.handset, audio, bench::rtp_payload(1)), false, "RTP");
            add(t0 + 4.07, bench::udp4(c.handset, audio, pbx_media, pbx_audio, bench::rtp_payload(1)), false, "RTP");
            add(t0 + 64.0, bench::udp4(pbx, 5060, c.handset, 5060, bench::bye(c, false, cid, to_tag, false)), true,
                "BYE");
            add(t0 + 64.01, bench::udp4(c.handset, 5060, pbx, 5060,
                                        bench::response(c, true, 200, "OK", "BYE", 2, cid, to_tag, "", false)),
                true, "200");
        }
    }
    std::stable_sort(mix.packets.begin(), mix.packets.end(),
                     [](const TimedPacket& a, const TimedPacket& b) { return a.t < b.t; });
    for (const TimedPacket& p : mix.packets) mix.sip_messages += p.sip;
    return mix;
}

struct NullSink : engine::EventSink {
    std::uint64_t events = 0;
    void on_event(const engine::Event&) override { ++events; }
};

const Mix& mix() {
    static const Mix m = build_mix();
    return m;
}

engine::Timestamp g_clock = engine::Timestamp{} + 1700000000s;   // moves on across runs
engine::EngineStats g_last_stats;
std::uint64_t g_last_events = 0;

// Plays one period: every packet, then a tick at its end.
void play(engine::Engine& e, engine::EventSink& sink, const Mix& m, engine::Timestamp start) {
    for (const TimedPacket& p : m.packets) {
        const net::DecodedPacket d = net::decode_ip(p.bytes.data(), p.bytes.size());
        const auto at = start + std::chrono::duration_cast<engine::Duration>(std::chrono::duration<double>(p.t));
        engine::Decision v = e.process(d, engine::Now::at(at), sink);
        benchmark::DoNotOptimize(v);
    }
    e.tick(engine::Now::at(start + std::chrono::duration_cast<engine::Duration>(std::chrono::duration<double>(kPeriod - 1))), sink);
}

void bench_call_mix(benchmark::State& state) {
    static const auto rules = bench::compile_policy_text(kPolicy, "bench-office.yaml");
    const Mix& m = mix();
    engine::Engine e(rules);
    NullSink sink;
    // Warm-up pass: phones get registered, tables get their first entries.
    play(e, sink, m, g_clock);
    g_clock += std::chrono::seconds(static_cast<long>(kPeriod));
    const std::uint64_t packets0 = e.stats().packets;
    const std::size_t a0 = bench::allocation_count();
    for (auto _ : state) {
        play(e, sink, m, g_clock);
        g_clock += std::chrono::seconds(static_cast<long>(kPeriod));
    }
    const double allocs = static_cast<double>(bench::allocation_count() - a0);   // before counters[] allocates
    const double packets = static_cast<double>(e.stats().packets - packets0);
    state.counters["sip_msgs_per_s"] =
        benchmark::Counter(static_cast<double>(m.sip_messages) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
    state.counters["packets_per_s"] = benchmark::Counter(packets, benchmark::Counter::kIsRate);
    state.counters["allocs_per_packet"] = packets > 0 ? allocs / packets : 0;
    g_last_stats = e.stats();
    g_last_events = sink.events;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);
    if (!bench::init_benchmark(argc, argv, {"--benchmark_repetitions=5", "--benchmark_min_time=0.5"})) return 2;

    bench::with_min(benchmark::RegisterBenchmark("engine/office_call_mix", bench_call_mix))
        ->Unit(benchmark::kMillisecond);
    bench::CaptureReporter capture;
    benchmark::RunSpecifiedBenchmarks(&capture);
    benchmark::Shutdown();

    const Mix& m = mix();
    std::printf("\nengine results:\n");
    const auto* f = capture.find("engine/office_call_mix");
    if (f == nullptr) {
        out.null("engine.signalling_msgs_per_s", "benchmark did not run");
        return 1;
    }
    // From the fastest repetition's CPU time per pass (a "min" of the rate
    // counters would be the slowest one).
    const double pass_s = f->cpu_time / 1e3;
    const double msgs_per_s = static_cast<double>(m.sip_messages) / pass_s;
    out.number("engine.signalling_msgs_per_s", msgs_per_s);
    out.number("engine.packets_per_s", static_cast<double>(m.packets.size()) / pass_s);
    out.number("engine.ns_per_message", msgs_per_s > 0 ? 1e9 / msgs_per_s : 0);
    out.number("engine.allocations_per_packet", bench::CaptureReporter::counter(*f, "allocs_per_packet"));
    out.number("engine.mix_packets", static_cast<double>(m.packets.size()));
    out.number("engine.mix_sip_messages", static_cast<double>(m.sip_messages));
    out.number("engine.mix_handsets", kHandsets);

    // Every verdict of the last run: the mix is legitimate, nothing may drop.
    const engine::EngineStats& s = g_last_stats;
    std::uint64_t drops = s.verdicts[static_cast<std::size_t>(engine::Verdict::drop)];
    std::printf("  verdicts of the last run: %llu packets, %llu events\n",
                static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(g_last_events));
    for (std::size_t r = 0; r < engine::kReasonCount; ++r)
        if (s.reasons[r] != 0)
            std::printf("    %-24s %llu\n", std::string(engine::reason_name(static_cast<engine::Reason>(r))).c_str(),
                        static_cast<unsigned long long>(s.reasons[r]));
    out.number("engine.unexpected_drops", static_cast<double>(drops));
    if (drops != 0) std::fprintf(stderr, "engine benchmark: %llu packets of the mix were dropped\n",
                                 static_cast<unsigned long long>(drops));
    return drops == 0 ? 0 : 1;
}
