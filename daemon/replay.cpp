// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/replay.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "daemon/json.h"
#include "daemon/pcap_reader.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "filters/net/reassembly.h"
#include "filters/sip/sip_parser.h"

namespace vg::daemon {

namespace {

using engine::Decision;
using engine::Timestamp;
using engine::Verdict;

std::string endpoint(const net::IpAddress& a, std::uint16_t port) {
    if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(port);
    return a.to_string() + ":" + std::to_string(port);
}

const char* proto_name(std::uint8_t p) {
    switch (p) {
    case net::ipproto::udp: return "UDP";
    case net::ipproto::tcp: return "TCP";
    case net::ipproto::icmp: return "ICMP";
    case net::ipproto::icmpv6: return "ICMPv6";
    default: return "IP";
    }
}

struct Line {
    std::string_view verdict;
    std::string_view reason;
    bool monitored = false;
};

// Keeps what the summary says about the policy: the media addresses the
// PBX's SDP named that the policy refuses.
class PolicyHints : public engine::EventSink {
public:
    explicit PolicyHints(ReplaySummary& sum) : sum_(sum) {}
    void on_event(const engine::Event& e) override {
        if (e.type != engine::EventType::media_address_not_allowed) return;
        ReplaySummary::RefusedMedia& r = sum_.refused_media[std::string(e.detail.view())];
        r.key = std::string(e.rule.view());
        ++r.sdps;
    }

private:
    ReplaySummary& sum_;
};

}  // namespace

int run_replay(const config::Policy& policy_in, const ReplayOptions& options, std::ostream& out, std::ostream& err,
               ReplaySummary* summary_out) {
    auto policy = std::make_shared<config::Policy>(policy_in);
    for (const net::Cidr& c : options.inside) policy->handsets.networks.push_back(c);
    std::string error;
    auto rules = engine::CompiledPolicy::compile(policy, error);
    if (!rules) {
        err << "voipguard replay: policy cannot be used: " << error << "\n";
        return 2;
    }

    // Open every capture first: an unreadable one fails the run before any output.
    std::vector<PcapReader> readers(options.captures.size());
    for (std::size_t i = 0; i < options.captures.size(); ++i) {
        if (!readers[i].open(options.captures[i])) {
            err << "voipguard replay: " << readers[i].error() << "\n";
            return 2;
        }
    }

    engine::Engine eng(rules);
    ReplaySummary sum;
    PolicyHints hints(sum);
    engine::CountingSink events(&hints);
    net::IpReassembler reassembler;
    Timestamp last_tick{};
    bool ticked = false;
    std::string line;

    for (std::size_t f = 0; f < readers.size(); ++f) {
        PcapReader& rd = readers[f];
        const std::string& file = options.captures[f];
        PcapFrame frame;
        for (;;) {
            const PcapReader::Next n = rd.next(frame);
            if (n == PcapReader::Next::end) break;
            if (n == PcapReader::Next::error) {
                err << "voipguard replay: " << rd.error() << "\n";
                return 2;
            }
            ++sum.packets;
            const Timestamp now = Timestamp{} + std::chrono::seconds(frame.ts_sec) + std::chrono::nanoseconds(frame.ts_nsec);
            if (!ticked || now - last_tick >= std::chrono::seconds(1)) {
                eng.tick(engine::Now::at(now), events);
                reassembler.expire(now);
                last_tick = now;
                ticked = true;
            }

            Line verdict{"accept", "not_ip"};
            net::DecodedPacket pkt;
            bool have_packet = false;
            if (frame.link.ok() && frame.link.is_ip) {
                pkt = net::decode_ip(frame.link.l3, frame.link.l3_length);
                const auto r = reassembler.feed(pkt, frame.link.l3, frame.link.l3_length, now);
                switch (r.status) {
                case net::IpReassembler::Status::not_fragment:
                    have_packet = true;
                    break;
                case net::IpReassembler::Status::need_more:
                    // The kernel holds fragments until the datagram is whole.
                    verdict = {"accept", "fragment_held"};
                    break;
                case net::IpReassembler::Status::dropped:
                    verdict = {"drop", r.reason};
                    break;
                case net::IpReassembler::Status::complete:
                    pkt = net::decode_ip(r.data, r.size);
                    have_packet = true;
                    break;
                }
            } else if (!frame.link.ok()) {
                verdict = {"accept", frame.link.reason};
            }
            if (have_packet) {
                const Decision d = eng.process(pkt, engine::Now::at(now), events);
                verdict = {engine::verdict_name(d.verdict), engine::reason_name(d.reason), d.monitored};
            }
            if (verdict.verdict == "drop") ++sum.drop; else ++sum.accept;
            ++sum.reasons[std::string(verdict.reason)];

            if (options.quiet) continue;
            line.clear();
            if (options.json) {
                line.push_back('{');
                json::field(line, "file", file);
                json::field(line, "index", frame.index);
                json::field(line, "verdict", verdict.verdict);
                json::field(line, "reason", verdict.reason);
                if (verdict.monitored) json::field_bool(line, "monitored", true);
                line.push_back('}');
            } else {
                char ts[48];
                std::snprintf(ts, sizeof ts, "%lld.%06u", static_cast<long long>(frame.ts_sec),
                              static_cast<unsigned>(frame.ts_nsec / 1000));
                line = std::to_string(frame.index) + " " + ts + " ";
                if (have_packet)
                    line += std::string(proto_name(pkt.protocol)) + " " + endpoint(pkt.src, pkt.src_port) + " > " +
                            endpoint(pkt.dst, pkt.dst_port) + " ";
                line += std::string(verdict.verdict) + " " + std::string(verdict.reason);
                if (verdict.monitored) line += " (monitor: not dropped)";
            }
            out << line << '\n';
        }
    }
    // Whatever is still open at the end of the captures stays open: the
    // summary describes what the engine holds then.
    const engine::EngineStats& st = eng.stats();
    sum.sip_messages = st.sip_messages;
    for (std::size_t m = 0; m < 16; ++m) {
        if (st.sip_requests[m] == 0) continue;
        std::string_view name = sip::method_name(static_cast<sip::Method>(m));
        sum.sip_methods[name.empty() ? "OTHER" : std::string(name)] += st.sip_requests[m];
    }
    for (std::size_t code = 100; code < 700; ++code)
        if (eng.responses().counts[code] != 0) sum.sip_responses[std::to_string(code)] = eng.responses().counts[code];
    sum.dialogs = st.dialogs_created;
    sum.pinholes_opened = st.pinholes_opened;
    sum.pinholes_closed = st.pinholes_closed;
    for (std::size_t t = 0; t < engine::kEventTypeCount; ++t) {
        const auto type = static_cast<engine::EventType>(t);
        if (events.count(type) != 0) sum.events[std::string(engine::event_name(type))] = events.count(type);
    }
    sum.handsets = eng.handset_count();

    if (options.json) {
        std::string s = "{\"summary\":{";
        const std::size_t start = s.size();
        auto map_field = [&](std::string_view key, const std::map<std::string, std::uint64_t>& m) {
            json::append_key(s, key);
            s.push_back('{');
            for (const auto& [k, v] : m) json::field(s, k, v);
            s.push_back('}');
        };
        s.resize(start);
        json::field(s, "packets", sum.packets);
        json::append_key(s, "verdicts");
        s += "{\"accept\":" + std::to_string(sum.accept) + ",\"drop\":" + std::to_string(sum.drop) + "}";
        map_field("reasons", sum.reasons);
        json::field(s, "sip_messages", sum.sip_messages);
        map_field("sip_methods", sum.sip_methods);
        map_field("sip_responses", sum.sip_responses);
        json::field(s, "dialogs", sum.dialogs);
        json::field(s, "pinholes_opened", sum.pinholes_opened);
        json::field(s, "pinholes_closed", sum.pinholes_closed);
        map_field("events", sum.events);
        json::field(s, "handsets", sum.handsets);
        json::append_key(s, "refused_media");
        s.push_back('[');
        for (const auto& [address, r] : sum.refused_media) {
            if (s.back() != '[') s.push_back(',');
            s.push_back('{');
            json::field(s, "address", address);
            json::field(s, "add_to", r.key);
            json::field(s, "sdps", r.sdps);
            s.push_back('}');
        }
        s += "]}}";
        out << s << '\n';
    } else {
        out << "summary: " << sum.packets << " packets, " << sum.accept << " accepted, " << sum.drop << " dropped\n";
        out << "  reasons:";
        for (const auto& [k, v] : sum.reasons) out << ' ' << k << '=' << v;
        out << "\n  sip: " << sum.sip_messages << " messages;";
        for (const auto& [k, v] : sum.sip_methods) out << ' ' << k << '=' << v;
        for (const auto& [k, v] : sum.sip_responses) out << ' ' << k << '=' << v;
        out << "\n  dialogs: " << sum.dialogs << ", pinholes opened " << sum.pinholes_opened << ", closed "
            << sum.pinholes_closed << ", handsets " << sum.handsets << "\n  events:";
        for (const auto& [k, v] : sum.events) out << ' ' << k << '=' << v;
        out << '\n';
        // One-way audio is the failure an engineer hears about first: say
        // which address to list, and where.
        for (const auto& [address, r] : sum.refused_media)
            out << "  refused media: the PBX's SDP named " << address << " (" << r.sdps
                << (r.sdps == 1 ? " SDP" : " SDPs") << "), outside the policy: its calls lose their audio; if it is "
                << "the PBX's media relay, add it to " << r.key
                << " (without that key the PBX's own addresses are its only media addresses: list them too)\n";
    }
    if (summary_out) *summary_out = sum;
    return 0;
}

}  // namespace vg::daemon
