// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/replay.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "daemon/json.h"
#include "daemon/log_format.h"
#include "daemon/pcap_reader.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/engine.h"
#include "filters/engine/sip_content.h"
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

// "198.51.100.80:30000" / "[2001:db8::1]:30000" -> address and port.
void split_endpoint(std::string_view e, std::string& address, std::uint16_t& port) {
    const auto colon = e.rfind(':');
    std::string_view a = colon == std::string_view::npos ? e : e.substr(0, colon);
    port = 0;
    if (colon != std::string_view::npos)
        for (char c : e.substr(colon + 1))
            if (c >= '0' && c <= '9') port = static_cast<std::uint16_t>(port * 10 + (c - '0'));
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    address = std::string(a);
}

// Keeps what the summary says about the policy (the media endpoints the
// PBX's SDP named that the policy refuses), and the events of the packet
// being judged, for its line.
class PolicyHints : public engine::EventSink {
public:
    explicit PolicyHints(ReplaySummary& sum) : sum_(sum) {}
    void on_event(const engine::Event& e) override {
        if (packet_events_.size() < 8) packet_events_.push_back(e);
        std::string address;
        std::uint16_t port = 0;
        if ((e.type == engine::EventType::media_address_not_allowed ||
             e.type == engine::EventType::media_port_not_allowed) &&
            refused_endpoints_.size() < 4096)
            refused_endpoints_[std::string(e.detail.view())] = std::string(e.rule.view());
        if (e.type == engine::EventType::media_address_not_allowed) {
            split_endpoint(e.detail.view(), address, port);
            ReplaySummary::RefusedMedia& r = sum_.refused_media[address];
            r.key = std::string(e.rule.view());
            ++r.sdps;
        } else if (e.type == engine::EventType::media_port_not_allowed) {
            split_endpoint(e.detail.view(), address, port);
            ReplaySummary::RefusedPorts& r = sum_.refused_ports[address + " " + std::string(e.rule.view())];
            r.address = address;
            r.key = std::string(e.rule.view());
            if (r.ports.size() < 64 || r.ports.count(port) != 0) ++r.ports[port];
        }
    }
    std::vector<engine::Event>& packet_events() { return packet_events_; }
    // The key an SDP's refused endpoint ("address:port") was named with.
    std::string refused_key(const std::string& endpoint) const {
        auto it = refused_endpoints_.find(endpoint);
        return it == refused_endpoints_.end() ? std::string() : it->second;
    }

private:
    ReplaySummary& sum_;
    std::map<std::string, std::string> refused_endpoints_;
    std::vector<engine::Event> packet_events_;
};

// Packet text as a field of a line: bytes that are not printable ASCII or
// that would split the field (space, '=', '\\') as \xNN, so a crafted
// message cannot forge output or reach the terminal.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c > 0x20 && c < 0x7f && c != '=' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            char b[5];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
    return out;
}

// What a packet's line says about its SIP message.
struct SipFacts {
    bool sip = false;
    std::string what;      // "INVITE", "200/INVITE"
    std::string call_id;
    std::string number;
    bool invite = false;   // an INVITE request (starts a call)
    bool request = false;
    std::uint16_t status = 0;
    std::string cseq_method;
};

SipFacts read_sip(const net::DecodedPacket& p, const engine::CompiledPolicy& rules, sip::SipMessage& msg) {
    SipFacts f;
    if (!p.ok() || !(p.is_udp() || p.is_tcp()) || p.payload_length == 0) return f;
    sip::Limits lim;
    const sip::ParseResult pr = sip::parse_message(p.payload_text(), sip::Transport::datagram, lim, msg);
    if (pr.status != sip::Status::ok || !(msg.is_request() || msg.is_response())) return f;
    f.sip = true;
    f.request = msg.is_request();
    f.cseq_method = printable(msg.cseq.method_text);
    if (msg.is_request()) {
        f.what = printable(msg.method_text);
        f.invite = msg.method == sip::Method::invite;
    } else {
        f.status = msg.status_code;
        f.what = std::to_string(msg.status_code) + (f.cseq_method.empty() ? "" : "/" + f.cseq_method);
    }
    if (msg.has_call_id) f.call_id = std::string(msg.call_id);   // printed in its short form
    if (f.invite) {
        // As the daemon logs it: the toll-fraud guard's normalised number
        // (number=), or the user part as dialled without a dial plan.
        const std::string_view user = engine::uri_target(msg.request_uri);
        if (rules.dial_plan) {
            const engine::DialReadings d = engine::read_dial_string(user, *rules.dial_plan);
            f.number = printable(d.primary.view());
        }
        if (f.number.empty()) f.number = printable(user.substr(0, 32));
    }
    return f;
}

// The policy entry behind a verdict when no event named a rule: the PBX,
// support peer or egress entry the other end is.
std::string peer_rule(const net::DecodedPacket& p, const engine::CompiledPolicy& r) {
    if (!p.src.valid() || !p.dst.valid()) return {};
    const bool out = r.handsets.contains(p.src);
    const net::IpAddress& other = out ? p.dst : p.src;
    char key[48];
    if (const engine::PeerIndex* i = r.pbx_signalling.lookup(other)) {
        std::snprintf(key, sizeof key, "peers.pbx[%u]", static_cast<unsigned>(*i));
    } else if (const engine::PeerIndex* m = r.pbx_media.lookup(other)) {
        std::snprintf(key, sizeof key, "peers.pbx[%u].media", static_cast<unsigned>(*m));
    } else if (const engine::PeerIndex* s = r.support.lookup(other)) {
        std::snprintf(key, sizeof key, "peers.support[%u]", static_cast<unsigned>(*s));
    } else if (const engine::PeerIndex* e = r.egress.lookup(other)) {
        std::snprintf(key, sizeof key, "egress.allow[%u]", static_cast<unsigned>(*e));
    } else {
        return {};
    }
    return key;
}

// Host names of the policy that have no address (not looked up with
// --no-resolve, or the lookup failed): their peer's packets are dropped.
void unresolved_warnings(const config::Policy& pol, bool no_resolve, std::vector<std::string>& out) {
    auto check = [&](const std::string& kind, const std::string& name, const std::vector<config::AddressEntry>& list,
                     const std::vector<config::AddressEntry>* also) {
        bool any_address = false;
        for (const config::AddressEntry& a : list) any_address = any_address || !a.prefixes().empty();
        if (also != nullptr)
            for (const config::AddressEntry& a : *also) any_address = any_address || !a.prefixes().empty();
        for (const config::AddressEntry& a : list) {
            if (!a.is_host() || !a.resolved.empty()) continue;
            std::string w = a.path + ": the host name " + a.host + " was not resolved" +
                            (no_resolve ? " (--no-resolve)" : "") + ": ";
            if (!any_address)
                w += "the " + kind + " " + name + " has no address, and its packets will be dropped";
            else
                w += "the packets of that host will be dropped (the " + kind + " " + name + " keeps its other addresses)";
            w += "; give its address in the policy, or replay without --no-resolve where the name resolves";
            out.push_back(w);
        }
    };
    for (const config::PbxPeer& p : pol.peers.pbx) {
        check("PBX", p.name, p.addresses, nullptr);
        if (!p.media.addresses_from_pbx) check("PBX media of", p.name, p.media.addresses, nullptr);
    }
    for (const config::ServicePeer& p : pol.peers.support) check("support peer", p.name, p.addresses, nullptr);
    for (const config::ServicePeer& p : pol.egress.allow) check("egress entry", p.name, p.addresses, nullptr);
}

std::string join(const std::vector<std::string>& v, std::size_t max) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < max; ++i) s += (i == 0 ? "" : ", ") + v[i];
    if (v.size() > max) s += " and " + std::to_string(v.size() - max) + " more";
    return s;
}

}  // namespace

std::string short_call_id(std::string_view call_id) {
    const auto at = call_id.find('@');
    return printable(call_id.substr(0, std::min<std::size_t>(at, 8)));
}

int run_replay(const config::Policy& policy_in, const ReplayOptions& options, std::ostream& out, std::ostream& err,
               ReplaySummary* summary_out) {
    auto policy = std::make_shared<config::Policy>(policy_in);
    const NumberMask numbers = number_mask_of(policy_in);
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

    ReplaySummary sum;
    // Said before any packet: a peer without an address loses every packet.
    unresolved_warnings(*policy, options.no_resolve, sum.warnings);
    for (const std::string& w : sum.warnings) err << "voipguard replay: warning: " << w << "\n";

    engine::Engine eng(rules);
    PolicyHints hints(sum);
    engine::CountingSink events(&hints);
    net::IpReassembler reassembler;
    Timestamp last_tick{};
    bool ticked = false;
    std::string line;
    auto msg = std::make_unique<sip::SipMessage>();
    const AddressMap& map = options.map;
    std::vector<std::uint8_t> mapped_frame, mapped_sip;

    // The calls: Call-ID -> row, and each pinhole's handset end -> its call
    // (from pinhole_opened), so a call's media counts to it.
    std::unordered_map<std::string, std::size_t> call_rows;
    std::map<std::pair<std::string, std::uint16_t>, std::size_t> pinhole_calls;
    std::vector<std::map<std::string, std::uint64_t>> call_drops;
    // For the warning when nothing touches the voice network.
    std::uint64_t judged = 0, outside = 0, tcp_text_unmapped = 0;
    std::set<std::string> sip_addresses;

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
            hints.packet_events().clear();

            Line verdict{"accept", "not_ip"};
            net::DecodedPacket pkt;
            bool have_packet = false;
            if (frame.link.ok() && frame.link.is_ip) {
                const std::uint8_t* l3 = frame.link.l3;
                std::size_t l3_length = frame.link.l3_length;
                if (!map.empty()) {
                    // The capture's addresses become the policy's before
                    // anything reads them (address_map.h).
                    mapped_frame.assign(l3, l3 + l3_length);
                    map.map_headers(mapped_frame.data(), mapped_frame.size());
                    l3 = mapped_frame.data();
                }
                pkt = net::decode_ip(l3, l3_length);
                const auto r = reassembler.feed(pkt, l3, l3_length, now);
                const std::uint8_t* whole = nullptr;
                std::size_t whole_length = 0;
                switch (r.status) {
                case net::IpReassembler::Status::not_fragment:
                    whole = l3;
                    whole_length = l3_length;
                    break;
                case net::IpReassembler::Status::need_more:
                    // The kernel holds fragments until the datagram is whole.
                    verdict = {"accept", "fragment_held"};
                    break;
                case net::IpReassembler::Status::dropped:
                    verdict = {"drop", r.reason};
                    break;
                case net::IpReassembler::Status::complete:
                    whole = r.data;
                    whole_length = r.size;
                    break;
                }
                if (whole != nullptr) {
                    if (!map.empty() && map.map_sip_text(whole, whole_length, mapped_sip)) {
                        whole = mapped_sip.data();
                        whole_length = mapped_sip.size();
                    }
                    pkt = net::decode_ip(whole, whole_length);
                    have_packet = true;
                }
            } else if (!frame.link.ok()) {
                verdict = {"accept", frame.link.reason};
            }
            SipFacts sipf;
            if (have_packet) {
                const Decision d = eng.process(pkt, engine::Now::at(now), events);
                verdict = {engine::verdict_name(d.verdict), engine::reason_name(d.reason), d.monitored};
                ++judged;
                if (d.reason == engine::Reason::not_voice_network) ++outside;
                sipf = read_sip(pkt, eng.rules(), *msg);
                if (sipf.sip || (pkt.has_l4 && (eng.rules().is_sip_port(pkt.src_port) ||
                                                eng.rules().is_sip_port(pkt.dst_port)))) {
                    if (sip_addresses.size() < 64) {
                        sip_addresses.insert(pkt.src.to_string());
                        sip_addresses.insert(pkt.dst.to_string());
                    }
                }
                if (!map.empty() && pkt.is_tcp() && pkt.payload_length > 0 &&
                    map.names_mapped_address(pkt.payload_text()))
                    ++tcp_text_unmapped;
            }
            if (verdict.verdict == "drop") ++sum.drop; else ++sum.accept;
            ++sum.reasons[std::string(verdict.reason)];

            // What the events of this packet name: a rule, the number, the call.
            std::string rule, number, call_id;
            for (const engine::Event& e : hints.packet_events()) {
                if (rule.empty() && !e.rule.empty()) rule = std::string(e.rule.view());
                if (number.empty() && !e.number.empty()) number = printable(e.number.view());
            }
            if (sipf.sip) {
                call_id = sipf.call_id;
                if (number.empty()) number = sipf.number;
            }
            // Shown (per packet and per call) masked as the log masks it.
            number = mask_number(number, numbers);
            if (rule.empty() && verdict.reason == "media_refused_by_policy")
                rule = hints.refused_key(endpoint(pkt.src, pkt.src_port));
            // Without one, the policy entry that let it through (a drop names
            // no entry: none matched), or the entry whose limits it broke.
            if (rule.empty() && have_packet && verdict.reason != "not_voice_network" &&
                verdict.reason != "handset_internal" &&
                (verdict.verdict != "drop" || verdict.reason == "support_port_denied" ||
                 verdict.reason == "media_destination_denied"))
                rule = peer_rule(pkt, eng.rules());

            // The call this packet belongs to: its Call-ID, or the pinhole
            // its media goes through. Only calls of the voice network are
            // the engine's (and the table's).
            std::size_t row = SIZE_MAX;
            const bool voice = have_packet && verdict.reason != "not_voice_network" &&
                               verdict.reason != "handset_internal";
            if (voice && !call_id.empty()) {
                auto it = call_rows.find(call_id);
                if (it == call_rows.end() && sipf.invite && sum.calls.size() < 100000) {
                    ReplayCall c;
                    c.call = short_call_id(call_id);
                    c.direction = rules->handsets.contains(pkt.src) ? "out" : "in";
                    c.number = number;
                    c.verdict = "not answered";
                    it = call_rows.emplace(call_id, sum.calls.size()).first;
                    sum.calls.push_back(c);
                    call_drops.emplace_back();
                }
                if (it != call_rows.end()) row = it->second;
            }
            for (const engine::Event& e : hints.packet_events()) {
                if (e.type != engine::EventType::pinhole_opened) continue;
                auto it = call_rows.find(std::string(e.call_id.view()));
                if (it != call_rows.end()) pinhole_calls[{e.handset.to_string(), e.handset_port}] = it->second;
                else pinhole_calls.erase({e.handset.to_string(), e.handset_port});
            }
            if (row == SIZE_MAX && voice && pkt.is_udp() && !sipf.sip) {
                auto it = pinhole_calls.find({pkt.dst.to_string(), pkt.dst_port});
                if (it == pinhole_calls.end()) it = pinhole_calls.find({pkt.src.to_string(), pkt.src_port});
                if (it != pinhole_calls.end()) row = it->second;
            }
            if (row != SIZE_MAX) {
                ReplayCall& c = sum.calls[row];
                ++c.packets;
                if (c.number.empty()) c.number = number;
                if (c.rule.empty() && !rule.empty() && verdict.reason != "sip_inspected" &&
                    verdict.reason != "media_pinhole" && verdict.reason != "media_outbound")
                    c.rule = rule;
                for (const engine::Event& e : hints.packet_events()) {
                    if (c.rule.empty() && !e.rule.empty()) c.rule = std::string(e.rule.view());
                    if (e.type == engine::EventType::call_started) c.verdict = "answered";
                }
                if (verdict.verdict == "drop") {
                    ++c.dropped;
                    ++call_drops[row][std::string(verdict.reason)];
                    if (sipf.invite && c.verdict != "answered") c.verdict = "blocked";
                }
                if (sipf.sip && !sipf.request && sipf.status >= 300 && sipf.cseq_method == "INVITE" &&
                    c.verdict != "answered" && c.verdict != "blocked" && sipf.status != 401 && sipf.status != 407)
                    c.verdict = "failed " + std::to_string(sipf.status);
                if (sipf.sip && sipf.request && sipf.invite && c.verdict.rfind("failed", 0) == 0)
                    c.verdict = "not answered";
            }
            if (row != SIZE_MAX) call_id = sum.calls[row].call;
            else if (!call_id.empty()) call_id = short_call_id(call_id);

            if (options.quiet) continue;
            line.clear();
            const bool addressed = pkt.src.valid() && pkt.dst.valid() && frame.link.ok() && frame.link.is_ip;
            if (options.json) {
                line.push_back('{');
                json::field(line, "file", file);
                json::field(line, "index", frame.index);
                if (addressed) {
                    json::field(line, "proto", proto_name(pkt.protocol));
                    json::field(line, "src", pkt.src.to_string());
                    json::field(line, "src_port", pkt.src_port);
                    json::field(line, "dst", pkt.dst.to_string());
                    json::field(line, "dst_port", pkt.dst_port);
                }
                json::field(line, "verdict", verdict.verdict);
                json::field(line, "reason", verdict.reason);
                if (verdict.monitored) json::field_bool(line, "monitored", true);
                if (sipf.sip) json::field(line, "sip", sipf.what);
                if (!number.empty()) json::field(line, "number", number);
                if (!rule.empty()) json::field(line, "rule", rule);
                if (!call_id.empty()) json::field(line, "call", call_id);
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
                if (verdict.reason == "media_refused_by_policy") line += " (no pinhole: SDP refused by policy)";
                if (sipf.sip) line += " sip=" + sipf.what;
                if (!number.empty()) line += " number=" + number;
                if (!rule.empty()) line += " rule=" + rule;
                if (!call_id.empty()) line += " call=" + call_id;
            }
            out << line << '\n';
        }
    }
    for (std::size_t i = 0; i < sum.calls.size(); ++i) {
        std::uint64_t most = 0;
        for (const auto& [reason, count] : call_drops[i])
            if (count > most) {
                most = count;
                sum.calls[i].drop_reason = reason;
            }
    }

    // Nothing of the capture is the voice network's: the policy's addresses
    // are not the capture's.
    if (judged > 0 && outside == judged) {
        std::vector<std::string> addrs(sip_addresses.begin(), sip_addresses.end());
        std::vector<std::string> handsets, pbx;
        for (const net::Cidr& c : policy->handsets.networks) handsets.push_back(c.to_string());
        for (const config::PbxPeer& p : policy->peers.pbx)
            for (const config::AddressEntry& a : p.addresses) pbx.push_back(a.text);
        std::string w = "no packet of the capture touches the voice network (all " + std::to_string(judged) +
                        " are not_voice_network): ";
        w += addrs.empty() ? std::string("the capture carries no SIP")
                           : "the capture's SIP traffic uses " + join(addrs, 12);
        w += "; the policy's handsets are " + (handsets.empty() ? std::string("none") : join(handsets, 6)) +
             " and its PBX " + (pbx.empty() ? std::string("none") : join(pbx, 6)) +
             ": map the capture's addresses onto the policy's with --map CAPTURE_CIDR=POLICY_CIDR";
        sum.warnings.push_back(w);
        err << "voipguard replay: warning: " << w << "\n";
    }
    if (tcp_text_unmapped > 0) {
        std::string w = std::to_string(tcp_text_unmapped) +
                        " SIP-over-TCP segments name a mapped address in their text: --map rewrote only their IP "
                        "headers (a TCP stream's text is replayed as captured)";
        sum.warnings.push_back(w);
        err << "voipguard replay: warning: " << w << "\n";
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
        s += "]";
        json::append_key(s, "refused_media_ports");
        s.push_back('[');
        for (const auto& [k, r] : sum.refused_ports) {
            if (s.back() != '[') s.push_back(',');
            s.push_back('{');
            json::field(s, "address", r.address);
            json::field(s, "change", r.key);
            json::append_key(s, "ports");
            s.push_back('{');
            for (const auto& [port, n] : r.ports) json::field(s, std::to_string(port), n);
            s += "}}";
        }
        s += "]";
        json::append_key(s, "calls");
        s.push_back('[');
        for (const ReplayCall& c : sum.calls) {
            if (s.back() != '[') s.push_back(',');
            s.push_back('{');
            json::field(s, "call", c.call);
            json::field(s, "direction", c.direction);
            json::field(s, "number", c.number);
            json::field(s, "verdict", c.verdict);
            json::field(s, "rule", c.rule);
            json::field(s, "packets", c.packets);
            json::field(s, "dropped", c.dropped);
            if (!c.drop_reason.empty()) json::field(s, "drop_reason", c.drop_reason);
            s.push_back('}');
        }
        s += "]";
        json::append_key(s, "warnings");
        s.push_back('[');
        for (const std::string& w : sum.warnings) {
            if (s.back() != '[') s.push_back(',');
            json::append_string(s, w);
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
        for (const auto& [k, r] : sum.refused_ports) {
            std::string ports;
            std::uint64_t sdps = 0;
            for (const auto& [port, n] : r.ports) {
                ports += (ports.empty() ? "" : ", ") + std::to_string(port);
                sdps += n;
            }
            out << "  refused media: the PBX's SDP named port" << (r.ports.size() == 1 ? " " : "s ") << ports << " of "
                << r.address << " (" << sdps << (sdps == 1 ? " SDP" : " SDPs") << "), outside " << r.key
                << ": its calls lose their audio; widen " << r.key << " to the ports the PBX uses\n";
        }
        if (!sum.calls.empty()) {
            // The table an engineer reads first: each call, what became of
            // it, and why.
            std::size_t wn = 6, wr = 4;
            for (const ReplayCall& c : sum.calls) {
                wn = std::max(wn, c.number.size());
                wr = std::max(wr, c.rule.size());
            }
            auto pad = [](const std::string& v, std::size_t w) { return v + std::string(w > v.size() ? w - v.size() : 0, ' '); };
            out << "  calls: " << sum.calls.size() << "\n    " << pad("call", 8) << "  dir  " << pad("number", wn) << "  "
                << pad("verdict", 12) << "  " << pad("rule", wr) << "  packets  dropped\n";
            for (const ReplayCall& c : sum.calls) {
                std::string packets = std::to_string(c.packets);
                std::string row = "    " + pad(c.call, 8) + "  " + pad(c.direction, 3) + "  " +
                                   pad(c.number.empty() ? "-" : c.number, wn) + "  " + pad(c.verdict, 12) + "  " +
                                   pad(c.rule.empty() ? "-" : c.rule, wr) + "  " + pad(packets, 7) + "  " +
                                   std::to_string(c.dropped);
                if (c.dropped != 0) row += " (" + c.drop_reason + ")";
                out << row << "\n";
            }
        }
    }
    if (summary_out) *summary_out = sum;
    return 0;
}

}  // namespace vg::daemon
