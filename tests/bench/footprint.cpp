// SPDX-License-Identifier: GPL-2.0-or-later
// Footprint: the resident set of a process that holds what the daemon holds
// at rest - a loaded and compiled policy and an engine with the default
// limits - and then the same with 1,000 calls up (each with its two
// pinholes, verified by a first RTP packet).
//
//   vg_footprint [--calls N] [--smaps] [--vg-out FILE] POLICY.yaml
//
// --smaps prints, at idle, the resident KiB of each mapping of the process
// (shared libraries, heap, ...) from /proc/self/smaps.
//
// The policy's own per-handset call limit is raised so that N calls fit on
// the handset addresses the policy has (real sites have many handsets with
// a call or two each; the memory per call is the same).
//
// Figures: footprint.engine_rss_idle_kb, footprint.engine_rss_idle_anon_kb
// (RssAnon), footprint.engine_pss_idle_kb (Pss of /proc/self/smaps_rollup),
// footprint.rss_1k_calls_kb, footprint.engine_table_bytes, footprint.hwm_kb.
// The idle figures of the daemon itself (footprint.rss_idle_kb,
// footprint.rss_idle_anon_kb, footprint.pss_idle_kb) are measured on
// `voipguard run` by tests/bench/footprint_daemon.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "tests/bench/bench_common.h"

namespace {

using namespace vg;
using namespace std::chrono_literals;

struct Sink : engine::EventSink {
    void on_event(const engine::Event&) override {}
};

// The first IPv4 handset network of the policy.
const net::Cidr* first_v4_network(const config::Policy& p) {
    for (const net::Cidr& c : p.handsets.networks)
        if (c.network.is_v4() && c.prefix <= 30) return &c;
    return nullptr;
}

// A field of /proc/self/smaps_rollup in KiB ("Pss"), or -1.
long smaps_rollup_kb(const char* name) {
    std::ifstream f("/proc/self/smaps_rollup");
    std::string line;
    const std::size_t n = std::strlen(name);
    while (std::getline(f, line))
        if (line.compare(0, n, name) == 0 && line.size() > n && line[n] == ':')
            return std::strtol(line.c_str() + n + 1, nullptr, 10);
    return -1;
}

// Resident KiB per mapped file (or [heap], [stack], anonymous), largest first.
void print_smaps() {
    std::ifstream f("/proc/self/smaps");
    std::map<std::string, long> by_name;
    std::string line, current;
    while (std::getline(f, line)) {
        if (line.empty()) continue;
        if (line.compare(0, 4, "Rss:") == 0) {
            by_name[current] += std::strtol(line.c_str() + 4, nullptr, 10);
        } else if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17) {
            // "start-end perms offset dev inode [path]": the path is the sixth field.
            std::size_t pos = 0;
            for (int field = 0; field < 5 && pos != std::string::npos; ++field) {
                pos = line.find(' ', pos);
                if (pos != std::string::npos) pos = line.find_first_not_of(' ', pos);
            }
            current = pos == std::string::npos ? "[anonymous]" : line.substr(pos);
        }
    }
    std::vector<std::pair<long, std::string>> v;
    for (const auto& e : by_name) v.emplace_back(e.second, e.first);
    std::sort(v.rbegin(), v.rend());
    std::printf("resident KiB by mapping:\n");
    for (const auto& e : v)
        if (e.first > 0) std::printf("  %6ld  %s\n", e.first, e.second.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);
    std::size_t calls = 1000;
    bool smaps = false;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--calls" && i + 1 < argc)
            calls = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--smaps")
            smaps = true;
        else if (!a.empty() && a[0] != '-' && path.empty())
            path = a;
        else {
            std::cerr << "usage: vg_footprint [--calls N] [--smaps] [--vg-out FILE] POLICY.yaml\n";
            return 2;
        }
    }
    if (path.empty() || calls == 0 || calls > 4000) {
        std::cerr << "usage: vg_footprint [--calls 1..4000] [--vg-out FILE] POLICY.yaml\n";
        return 2;
    }

    const long rss_start = bench::rss_kb();
    const long anon_start = bench::status_kb("RssAnon");
    config::LoadOptions lo;
    lo.check_file_permissions = false;
    config::LoadResult r = config::load_policy_file(path, lo);
    if (!r.ok()) {
        for (const auto& d : r.diagnostics) std::cerr << d.format() << "\n";
        return 1;
    }
    const net::Cidr* net4 = first_v4_network(*r.policy);
    if (net4 == nullptr || r.policy->peers.pbx.empty() || r.policy->peers.pbx[0].addresses.empty() ||
        !r.policy->peers.pbx[0].addresses[0].cidr || !r.policy->peers.pbx[0].addresses[0].cidr->network.is_v4()) {
        std::cerr << path << ": needs an IPv4 handset network and a literal IPv4 PBX address\n";
        return 1;
    }
    const std::size_t hosts = (std::size_t{1} << (32 - net4->prefix)) - 2;
    // Calls per handset so that `calls` fit on the network's addresses.
    const std::size_t per_handset = (calls + hosts - 1) / hosts;
    if (per_handset > 100) {
        std::cerr << path << ": the handset network is too small for " << calls << " calls\n";
        return 1;
    }
    auto policy = std::make_shared<config::Policy>(std::move(*r.policy));
    auto idle_policy = std::make_shared<const config::Policy>(*policy);
    std::string error;
    auto rules = engine::CompiledPolicy::compile(idle_policy, error);
    if (rules == nullptr) {
        std::cerr << path << ": " << error << "\n";
        return 1;
    }
    const long rss_policy = bench::rss_kb();
    engine::Engine e(rules);
    const long rss_idle = bench::rss_kb();
    const long anon_idle = bench::status_kb("RssAnon");
    const long file_idle = bench::status_kb("RssFile");
    const long pss_idle = smaps_rollup_kb("Pss");
    std::printf("footprint: process start %ld KiB, + policy %ld KiB, + engine (default limits) %ld KiB\n", rss_start,
                rss_policy, rss_idle);
    out.number("footprint.engine_rss_idle_kb", static_cast<double>(rss_idle));
    out.number("footprint.rss_start_kb", static_cast<double>(rss_start));
    out.number("footprint.rss_policy_loaded_kb", static_cast<double>(rss_policy));
    out.number("footprint.engine_rss_idle_anon_kb", static_cast<double>(anon_idle));
    out.number("footprint.engine_rss_idle_file_kb", static_cast<double>(file_idle));
    if (pss_idle >= 0)
        out.number("footprint.engine_pss_idle_kb", static_cast<double>(pss_idle));
    else
        out.null("footprint.engine_pss_idle_kb", "no /proc/self/smaps_rollup (Linux 4.14 or later)");
    out.number("footprint.rss_start_anon_kb", static_cast<double>(anon_start));
    out.number("footprint.engine_table_bytes", static_cast<double>(e.table_bytes()));
    if (smaps) print_smaps();

    // Calls: the same engine, with a policy that lets each handset have
    // `per_handset` calls at once (swapped in like a reload).
    if (policy->toll_fraud.limits.per_handset_concurrent_calls < per_handset)
        policy->toll_fraud.limits.per_handset_concurrent_calls = static_cast<std::uint32_t>(per_handset);
    if (policy->toll_fraud.limits.per_handset_calls_per_hour < per_handset)
        policy->toll_fraud.limits.per_handset_calls_per_hour = static_cast<std::uint32_t>(per_handset);
    auto call_rules = engine::CompiledPolicy::compile(policy, error);
    if (call_rules == nullptr) {
        std::cerr << path << ": " << error << "\n";
        return 1;
    }
    Sink sink;
    engine::Timestamp now = engine::Timestamp{} + 1700000000s;
    e.reload(call_rules, engine::Now::at(now), sink);

    const net::Cidr& pbx_cidr = *policy->peers.pbx[0].addresses[0].cidr;
    bench::CallParty c;
    c.pbx = pbx_cidr.network.to_string();
    std::string pbx_media = c.pbx;
    unsigned media_port = 10000;
    {
        const auto& m = policy->peers.pbx[0].media;
        if (!m.addresses.empty() && m.addresses[0].cidr && m.addresses[0].cidr->network.is_v4())
            pbx_media = m.addresses[0].cidr->network.to_string();
        if (m.ports.last != 0) media_port = m.ports.first;
    }
    std::size_t verified = 0;
    std::size_t drops = 0;
    std::uint32_t base = 0;
    for (int b = 0; b < 4; ++b) base = (base << 8) | net4->network.bytes()[b];
    for (std::size_t i = 0; i < calls; ++i) {
        c.handset = bench::ipv4_text(base + 1 + static_cast<std::uint32_t>(i % hosts));
        c.extension = std::to_string(200 + i % hosts);
        const std::string cid = "fp-" + std::to_string(i) + "@" + c.handset;
        const std::string to_tag = "as" + std::to_string(i);
        const unsigned audio = 40000 + 2 * static_cast<unsigned>(i / hosts);
        const unsigned remote = media_port + 2 * static_cast<unsigned>(i % 2000);
        auto feed = [&](const test::Bytes& bytes) {
            const net::DecodedPacket d = net::decode_ip(bytes.data(), bytes.size());
            const engine::Decision v = e.process(d, engine::Now::at(now), sink);
            drops += v.dropped();
            verified += v.verdict == engine::Verdict::accept_verified;
            now += 1ms;
        };
        feed(bench::udp4(c.handset, 5060, c.pbx, 5060,
                         bench::invite(c, true, "02079460123", cid,
                                       bench::sdp_body(c.handset, audio, 0, false, static_cast<unsigned>(i)))));
        feed(bench::udp4(c.pbx, 5060, c.handset, 5060,
                         bench::response(c, false, 200, "OK", "INVITE", 1, cid, to_tag,
                                         bench::sdp_body(pbx_media, remote, 0, true, static_cast<unsigned>(i)), true)));
        feed(bench::udp4(c.handset, 5060, c.pbx, 5060, bench::ack(c, true, cid, to_tag)));
        feed(bench::udp4(pbx_media, remote, c.handset, audio, bench::rtp_payload(1)));
    }
    const long rss_calls = bench::rss_kb();
    std::printf("footprint: %zu calls up (%zu dialogs, %zu pinholes, %zu media flows verified, %zu drops): %ld KiB\n",
                calls, e.dialog_count(), e.pinhole_count(), verified, drops, rss_calls);
    if (e.active_calls() == calls && drops == 0) {
        out.number("footprint.rss_1k_calls_kb", static_cast<double>(rss_calls));
        out.number("footprint.calls", static_cast<double>(calls));
    } else {
        out.null("footprint.rss_1k_calls_kb", "not every call was taken by the engine");
    }
    out.number("footprint.hwm_kb", static_cast<double>(bench::hwm_kb()));
    return 0;
}
