// SPDX-License-Identifier: GPL-2.0-or-later
// Stateful fuzz target for the engine: one input is split into several
// packets (at the marker "\n@@\n", in the manner of Zeek's FuzzBuffer) so
// call state — dialogs, pinholes, limits, handsets — is built up and torn
// down by the fuzzer. The first byte of each chunk chooses who sends what:
//   bits 0-1  sender/receiver: handset->PBX, PBX->handset, attacker->handset,
//             support->handset
//   bit  2    TCP instead of UDP
//   bit  3    media port instead of the SIP port (port from bits 4-5)
//   bits 6-7  time step before the packet: 0, 20 ms, 2 s, 10 min
// A chunk starting with 0xff is a raw IP packet instead. The rest of the
// chunk is the payload (SIP, SDP, RTP, garbage).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"

namespace {

using namespace vg;

const char* kPolicy = R"(
version: 1
site: fuzz
handsets:
  networks: [192.168.20.0/24]
  stale_after: 1h
  firmware_minimums:
    - match: "Yealink"
      min_version: 66.86.0.15
  known:
    - aor: 201@pbx.example.net
      address: 192.168.20.10
      model: "Yealink"
    - aor: "202"
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
  support:
    - name: noc
      addresses: [198.51.100.7]
      ports: ["tcp/22"]
media:
  idle_timeout: 30s
  max_call_duration: 1h
sip:
  rate_limits:
    INVITE: 5/s burst 5
toll_fraud:
  country_code: "44"
  deny_prefixes: ["+881", "09"]
  limits:
    per_handset:
      concurrent_calls: 2
      calls_per_hour: 10
)";

std::shared_ptr<const engine::CompiledPolicy> rules() {
    static std::shared_ptr<const engine::CompiledPolicy> compiled = [] {
        config::LoadOptions o;
        o.allow_includes = false;
        o.check_file_permissions = false;
        o.resolve_host_names = false;
        config::LoadResult r = config::load_policy_text(kPolicy, "fuzz.yaml", o);
        if (!r.ok()) __builtin_trap();
        std::string error;
        auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
        if (!c) __builtin_trap();
        return c;
    }();
    return compiled;
}

struct NullSink : engine::EventSink {
    std::size_t n = 0;
    void on_event(const engine::Event& e) override { n += e.type == engine::EventType::pinhole_closed; }
};

void put16(std::vector<std::uint8_t>& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

std::vector<std::uint8_t> wrap(std::uint8_t control, const std::uint8_t* payload, std::size_t len) {
    static const std::uint8_t handset[4] = {192, 168, 20, 10}, pbx[4] = {203, 0, 113, 10},
                              media[4] = {203, 0, 113, 70}, attacker[4] = {192, 0, 2, 66},
                              support[4] = {198, 51, 100, 7};
    const unsigned who = control & 3;
    const bool tcp = (control & 4) != 0;
    const bool media_port = (control & 8) != 0;
    const std::uint16_t mport = static_cast<std::uint16_t>(40000 + ((control >> 4) & 3) * 2);
    const std::uint8_t* src = handset;
    const std::uint8_t* dst = pbx;
    std::uint16_t sport = 5060, dport = 5060;
    switch (who) {
    case 0: src = handset; dst = media_port ? media : pbx; sport = media_port ? mport : 5060; dport = media_port ? 12000 : 5060; break;
    case 1: src = media_port ? media : pbx; dst = handset; sport = media_port ? 12000 : 5060; dport = media_port ? mport : 5060; break;
    case 2: src = attacker; dst = handset; sport = 5060; dport = media_port ? mport : 5060; break;
    default: src = support; dst = handset; sport = 40001; dport = media_port ? 23 : 22; break;
    }
    if (len > 60000) len = 60000;
    const std::size_t l4 = tcp ? 20 : 8;
    std::vector<std::uint8_t> b;
    b.reserve(20 + l4 + len);
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<unsigned>(20 + l4 + len));
    put16(b, 1);
    put16(b, 0x4000);
    b.push_back(64);
    b.push_back(tcp ? 6 : 17);
    put16(b, 0);
    b.insert(b.end(), src, src + 4);
    b.insert(b.end(), dst, dst + 4);
    put16(b, sport);
    put16(b, dport);
    if (tcp) {
        static std::uint32_t seq = 1000;
        put16(b, seq >> 16);
        put16(b, seq & 0xffff);
        seq += static_cast<std::uint32_t>(len);
        put16(b, 0);
        put16(b, 0);
        b.push_back(0x50);
        b.push_back(0x18);
        put16(b, 65535);
        put16(b, 0);
        put16(b, 0);
    } else {
        put16(b, static_cast<unsigned>(8 + len));
        put16(b, 0);
    }
    b.insert(b.end(), payload, payload + len);
    return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    engine::EngineLimits limits;
    limits.max_dialogs = 8;       // small tables: eviction paths get exercised
    limits.max_pinholes = 16;
    limits.max_handsets = 4;
    limits.max_egress_flows = 8;
    limits.max_scan_sources = 4;
    limits.max_tcp_streams = 4;
    engine::Engine eng(rules(), limits);
    NullSink sink;
    engine::Timestamp now = engine::Timestamp{} + std::chrono::seconds(1700000000);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view kMarker = "\n@@\n";
    std::size_t pos = 0;
    int packets = 0;
    while (pos <= input.size() && packets < 64) {
        std::size_t end = input.find(kMarker, pos);
        if (end == std::string_view::npos) end = input.size();
        const std::string_view chunk = input.substr(pos, end - pos);
        pos = end + kMarker.size();
        ++packets;
        if (chunk.empty()) continue;
        const auto control = static_cast<std::uint8_t>(chunk[0]);
        const auto* body = reinterpret_cast<const std::uint8_t*>(chunk.data() + 1);
        std::vector<std::uint8_t> packet;
        if (control == 0xff) packet.assign(body, body + chunk.size() - 1);
        else packet = wrap(control, body, chunk.size() - 1);
        static const std::chrono::nanoseconds steps[4] = {std::chrono::nanoseconds(0), std::chrono::milliseconds(20),
                                                          std::chrono::seconds(2), std::chrono::minutes(10)};
        now += steps[control >> 6];
        const net::DecodedPacket p = net::decode_ip(packet.data(), packet.size());
        (void)eng.process(p, engine::Now::at(now), sink);
        if ((packets & 7) == 0) eng.tick(engine::Now::at(now), sink);
    }
    eng.tick(engine::Now::at(now + std::chrono::hours(2)), sink);
    // Invariants: tables stay within their bounds.
    if (eng.dialog_count() > limits.max_dialogs || eng.pinhole_count() > limits.max_pinholes ||
        eng.handset_count() > limits.max_handsets)
        __builtin_trap();
    return 0;
}
