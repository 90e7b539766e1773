// SPDX-License-Identifier: GPL-2.0-or-later
// Scale benchmark, two parts:
//
// 1. 10,000 concurrent dialogs with 4 pinholes each (an audio and a video
//    line, RTP + RTCP): the engine's memory per dialog, three ways -
//      - the dialog's own table entries: one dialog slot and four pinhole
//        slots with their share of the hash buckets (scale.bytes_per_dialog);
//      - the engine's whole table memory (Engine::table_bytes(), every table
//        sized for 10,000 dialogs) divided by the dialogs;
//      - the resident set growth (VmRSS) from before the engine was built to
//        after it was filled, divided by the dialogs;
//    and the cost of a media packet into a pinhole (Engine::process on an
//    RTP packet from the PBX's media address to a handset's open port, at
//    random over all 40,000 pinholes).
// 2. A policy with 10,000 CIDRs (support addresses): load time (YAML text ->
//    validated policy -> compiled prefix tries) and longest-prefix lookups of
//    random addresses (half of them inside a listed prefix).
//
// Options: --dialogs N, --cidrs N, --quick (fewer repetitions), --vg-out FILE.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "tests/bench/bench_common.h"

namespace {

using namespace vg;
using namespace std::chrono_literals;

struct Options {
    std::size_t dialogs = 10000;
    std::size_t cidrs = 10000;
    bool quick = false;
};

const char* kScalePolicy = R"(
version: 1
site: bench-scale
mode: enforce
handsets:
  networks: [10.20.0.0/16]
peers:
  pbx:
    - name: cloud-pbx
      addresses: [203.0.113.10]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
toll_fraud:
  country_code: "44"
  deny_prefixes: ["+881", "+882", "+883", "09"]
)";

struct Sink : engine::EventSink {
    std::uint64_t events = 0;
    void on_event(const engine::Event&) override { ++events; }
};

// The fastest of several timed repetitions: other work on the machine only
// ever slows a deterministic loop down.
double fastest(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }

// Handset i of the site and the media ports of its call.
std::string handset_of(std::size_t i) { return bench::ipv4_text(0x0a14000au + static_cast<std::uint32_t>(i)); }
std::string pbx_media_of(std::size_t i) { return bench::ipv4_text(0xcb007140u + static_cast<std::uint32_t>(i % 32)); }
unsigned pbx_port_of(std::size_t i) { return 10000 + static_cast<unsigned>(4 * (i % 2500)); }
constexpr unsigned kAudio = 40000;
constexpr unsigned kVideo = 40002;

void dialogs_part(const Options& o, bench::Results& out) {
    const auto rules = bench::compile_policy_text(kScalePolicy, "bench-scale.yaml");
    engine::EngineLimits limits;
    limits.max_dialogs = o.dialogs;
    limits.max_pinholes = 4 * o.dialogs;
    limits.max_handsets = std::max<std::size_t>(limits.max_handsets, o.dialogs);

    const long rss0 = bench::rss_kb();
    auto e = std::make_unique<engine::Engine>(rules, limits);
    const long rss1 = bench::rss_kb();

    Sink sink;
    engine::Timestamp now = engine::Timestamp{} + 1700000000s;
    std::size_t drops = 0;
    auto feed = [&](const test::Bytes& b) {
        const net::DecodedPacket d = net::decode_ip(b.data(), b.size());
        const engine::Decision v = e->process(d, engine::Now::at(now), sink);
        drops += v.dropped();
        now += 100us;
    };
    const double fill_start = bench::cpu_ms();
    for (std::size_t i = 0; i < o.dialogs; ++i) {
        bench::CallParty c;
        c.handset = handset_of(i);
        c.extension = std::to_string(1000 + i);
        const std::string cid = "scale-" + std::to_string(i) + "@" + c.handset;
        const std::string to_tag = "as" + std::to_string(i);
        feed(bench::udp4(c.handset, 5060, c.pbx, 5060,
                         bench::invite(c, true, "02079460123", cid,
                                       bench::sdp_body(c.handset, kAudio, kVideo, false, static_cast<unsigned>(i)))));
        feed(bench::udp4(c.pbx, 5060, c.handset, 5060,
                         bench::response(c, false, 200, "OK", "INVITE", 1, cid, to_tag,
                                         bench::sdp_body(pbx_media_of(i), pbx_port_of(i), pbx_port_of(i) + 2, true,
                                                         static_cast<unsigned>(i)),
                                         true)));
        feed(bench::udp4(c.handset, 5060, c.pbx, 5060, bench::ack(c, true, cid, to_tag)));
    }
    const double fill_ms = bench::cpu_ms() - fill_start;
    const long rss2 = bench::rss_kb();

    std::printf("scale: %zu dialogs, %zu pinholes, %zu handsets, %zu drops while filling (%.0f ms)\n",
                e->dialog_count(), e->pinhole_count(), e->handset_count(), drops, fill_ms);
    const bool filled = e->dialog_count() == o.dialogs && e->pinhole_count() == 4 * o.dialogs && drops == 0;

    // Table entries of one dialog: its dialog slot and four pinhole slots,
    // each with its share of the bucket array (tables of the same capacity
    // as the engine's).
    using DialogTable = engine::CallTable::DialogTable;
    using PinholeTable = engine::CallTable::PinholeTable;
    const double dialog_share = static_cast<double>(DialogTable(o.dialogs).memory_bytes()) / o.dialogs;
    const double pinhole_share = static_cast<double>(PinholeTable(4 * o.dialogs).memory_bytes()) / (4 * o.dialogs);

    if (filled) {
        out.number("scale.dialogs", static_cast<double>(e->dialog_count()));
        out.number("scale.bytes_per_dialog", dialog_share + 4 * pinhole_share);
    } else {
        out.null("scale.dialogs", "the engine did not take every dialog (see the log)");
        out.null("scale.bytes_per_dialog", "the engine did not take every dialog");
    }
    out.number("scale.pinholes", static_cast<double>(e->pinhole_count()));
    out.number("scale.dialog_entry_bytes", static_cast<double>(DialogTable::entry_bytes()));
    out.number("scale.pinhole_entry_bytes", static_cast<double>(PinholeTable::entry_bytes()));
    out.number("scale.sizeof_dialog", sizeof(engine::Dialog));
    out.number("scale.sizeof_pinhole", sizeof(engine::Pinhole));
    out.number("scale.engine_table_bytes", static_cast<double>(e->table_bytes()));
    out.number("scale.table_bytes_per_dialog", static_cast<double>(e->table_bytes()) / o.dialogs);
    out.number("scale.rss_engine_kb", static_cast<double>(rss1 - rss0));
    out.number("scale.rss_fill_kb", static_cast<double>(rss2 - rss1));
    out.number("scale.rss_bytes_per_dialog", static_cast<double>(rss2 - rss0) * 1024.0 / o.dialogs);
    out.number("scale.fill_ms", fill_ms);

    // Media into pinholes: random pinholes, each packet from the source the
    // PBX's SDP named for it. The first round verifies each flow (the first
    // packet is classified), the timed rounds are the steady state.
    std::mt19937 rng(7);
    constexpr std::size_t kPackets = 4096;
    std::vector<test::Bytes> bytes;
    bytes.reserve(kPackets);
    for (std::size_t k = 0; k < kPackets; ++k) {
        const std::size_t i = rng() % o.dialogs;
        const unsigned leg = static_cast<unsigned>(rng() % 4);   // audio RTP, audio RTCP, video RTP, video RTCP
        const unsigned dport = (leg < 2 ? kAudio : kVideo) + (leg % 2);
        const unsigned sport = pbx_port_of(i) + (leg < 2 ? 0 : 2) + (leg % 2);
        std::string payload = bench::rtp_payload(static_cast<unsigned>(k));
        if (leg % 2 == 1) {
            // An RTCP receiver report (RFC 3550 §6.4.2) without report blocks.
            payload.assign("\x80\xc9\x00\x01\x12\x34\x56\x78", 8);
        }
        bytes.push_back(bench::udp4(pbx_media_of(i), sport, handset_of(i), dport, payload));
    }
    std::vector<net::DecodedPacket> packets;
    packets.reserve(kPackets);
    for (const auto& b : bytes) packets.push_back(net::decode_ip(b.data(), b.size()));
    std::size_t verified = 0;
    for (const auto& p : packets) verified += e->process(p, engine::Now::at(now), sink).verdict == engine::Verdict::accept_verified;
    const std::size_t rounds = o.quick ? 200 : 1000;
    std::vector<double> per_packet;
    for (int rep = 0; rep < (o.quick ? 3 : 7); ++rep) {
        std::size_t accepted = 0;
        const std::uint64_t t0 = bench::cpu_ns();
        for (std::size_t r = 0; r < rounds; ++r)
            for (const auto& p : packets)
                accepted += e->process(p, engine::Now::at(now), sink).verdict == engine::Verdict::accept_verified;
        const std::uint64_t t1 = bench::cpu_ns();
        bench::keep(accepted);
        per_packet.push_back(static_cast<double>(t1 - t0) / static_cast<double>(rounds * kPackets));
    }
    if (verified == kPackets) {
        out.number("scale.pinhole_packet_ns", fastest(per_packet));
    } else {
        std::printf("scale: only %zu of %zu media packets were accepted into their pinholes\n", verified, kPackets);
        out.null("scale.pinhole_packet_ns", "media packets were not accepted into their pinholes");
    }
}

// --- 10,000 CIDRs -----------------------------------------------------------------

struct Prefix {
    std::uint32_t network;
    unsigned length;
};

// Random public IPv4 prefixes: mostly single addresses (/32) and office
// ranges (/24 .. /29), a few provider blocks (/16 .. /20).
std::vector<Prefix> random_prefixes(std::size_t n, std::mt19937& rng) {
    std::set<std::pair<std::uint32_t, unsigned>> seen;
    std::vector<Prefix> v;
    while (v.size() < n) {
        const unsigned pick = rng() % 100;
        const unsigned len = pick < 55 ? 32 : pick < 80 ? 24 : pick < 95 ? 28 - rng() % 4 : 16 + rng() % 5;
        std::uint32_t a = static_cast<std::uint32_t>(rng());
        const unsigned top = a >> 24;
        // Public unicast only, and away from the site's own networks.
        if (top == 0 || top == 10 || top == 127 || top >= 224 || (a >> 16) == 0xc0a8 || (a >> 8) == 0xcb0071) continue;
        a &= len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
        if (!seen.insert({a, len}).second) continue;
        v.push_back({a, len});
    }
    return v;
}

std::string cidr_policy(const std::vector<Prefix>& prefixes) {
    std::string y =
        "version: 1\nsite: bench-cidrs\nmode: enforce\nhandsets:\n  networks: [10.20.0.0/16]\npeers:\n"
        "  pbx:\n    - name: cloud-pbx\n      addresses: [203.0.113.10]\n"
        "      media:\n        addresses: [203.0.113.64/27]\n  support:\n";
    constexpr std::size_t kPerPeer = 250;   // peers.support[].addresses holds at most 256
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        if (i % kPerPeer == 0) {
            y += "    - name: support-" + std::to_string(i / kPerPeer) + "\n";
            y += "      ports: [\"tcp/22\", \"tcp/443\"]\n      addresses:\n";
        }
        y += "        - " + bench::ipv4_text(prefixes[i].network) + "/" + std::to_string(prefixes[i].length) + "\n";
    }
    return y;
}

void cidrs_part(const Options& o, bench::Results& out) {
    std::mt19937 rng(42);
    const std::vector<Prefix> prefixes = random_prefixes(o.cidrs, rng);
    const std::string yaml = cidr_policy(prefixes);

    config::LoadOptions lo;
    lo.allow_includes = false;
    lo.check_file_permissions = false;
    lo.resolver = [](const std::string&) { return config::ResolveResult{{}, "no DNS in benchmarks"}; };

    std::vector<double> load_ms, parse_ms, compile_ms;
    std::shared_ptr<const engine::CompiledPolicy> rules;
    for (int rep = 0; rep < (o.quick ? 3 : 7); ++rep) {
        const double t0 = bench::cpu_ms();
        config::LoadResult r = config::load_policy_text(yaml, "bench-cidrs.yaml", lo);
        const double t1 = bench::cpu_ms();
        if (!r.ok()) {
            std::cerr << "the 10,000-CIDR policy does not load:\n";
            for (std::size_t i = 0; i < r.diagnostics.size() && i < 10; ++i)
                std::cerr << "  " << r.diagnostics[i].format() << "\n";
            out.null("scale.policy_load_ms", "the generated policy does not load");
            out.null("scale.lookup_ns", "the generated policy does not load");
            return;
        }
        std::string error;
        rules = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
        const double t2 = bench::cpu_ms();
        if (rules == nullptr) {
            std::cerr << "the 10,000-CIDR policy does not compile: " << error << "\n";
            out.null("scale.policy_load_ms", "the generated policy does not compile");
            out.null("scale.lookup_ns", "the generated policy does not compile");
            return;
        }
        parse_ms.push_back(t1 - t0);
        compile_ms.push_back(t2 - t1);
        load_ms.push_back(t2 - t0);
    }
    out.number("scale.policy_cidrs", static_cast<double>(rules->support.size()));
    out.number("scale.policy_yaml_bytes", static_cast<double>(yaml.size()));
    out.number("scale.policy_load_ms", fastest(load_ms));
    out.number("scale.policy_parse_ms", fastest(parse_ms));
    out.number("scale.policy_compile_ms", fastest(compile_ms));
    out.number("scale.trie_nodes", static_cast<double>(rules->support.node_count()));
    out.number("scale.trie_bytes", static_cast<double>(rules->support.memory_bytes()));

    // Lookups: half inside a listed prefix (a random host of it), half random.
    constexpr std::size_t kAddresses = 1 << 20;
    std::vector<net::IpAddress> addrs;
    addrs.reserve(kAddresses);
    for (std::size_t i = 0; i < kAddresses; ++i) {
        std::uint32_t a = static_cast<std::uint32_t>(rng());
        if (i % 2 == 0) {
            const Prefix& p = prefixes[rng() % prefixes.size()];
            const std::uint32_t host_mask = p.length == 32 ? 0 : ~std::uint32_t{0} >> p.length;
            a = p.network | (a & host_mask);
        }
        addrs.push_back(net::IpAddress::v4(a));
    }
    std::vector<double> per_lookup;
    std::size_t hits = 0;
    for (int rep = 0; rep < (o.quick ? 3 : 7); ++rep) {
        hits = 0;
        const std::uint64_t t0 = bench::cpu_ns();
        for (const net::IpAddress& a : addrs) hits += rules->support.lookup(a) != nullptr;
        const std::uint64_t t1 = bench::cpu_ns();
        bench::keep(hits);
        per_lookup.push_back(static_cast<double>(t1 - t0) / kAddresses);
    }
    out.number("scale.lookup_ns", fastest(per_lookup));
    out.number("scale.lookup_hit_ratio", static_cast<double>(hits) / kAddresses);
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dialogs" && i + 1 < argc) {
            o.dialogs = std::strtoul(argv[++i], nullptr, 10);
        } else if (a == "--cidrs" && i + 1 < argc) {
            o.cidrs = std::strtoul(argv[++i], nullptr, 10);
        } else if (a == "--quick") {
            o.quick = true;
        } else {
            std::cerr << "usage: vg_scale_bench [--dialogs N] [--cidrs N] [--quick] [--vg-out FILE]\n";
            return 2;
        }
    }
    if (o.dialogs == 0 || o.dialogs > 60000 || o.cidrs == 0 || o.cidrs > 16000) {
        std::cerr << "vg_scale_bench: --dialogs 1..60000, --cidrs 1..16000\n";
        return 2;
    }
    // The dialogs first: the RSS figures want a process that has not grown yet.
    dialogs_part(o, out);
    cidrs_part(o, out);
    return 0;
}
