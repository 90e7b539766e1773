// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/fuzz/corpus_inputs.h"

#include <set>

#include "filters/net/link.h"
#include "filters/net/packet.h"
#include "tests/support/capture_file.h"
#include "tests/support/corpus.h"
#include "tests/support/sip_wire_form.h"

namespace vg::fuzz {

namespace {

constexpr std::size_t kPacketsPerCapture = 6;
constexpr std::size_t kSipPerCapture = 8;
constexpr std::size_t kSdpPerCapture = 4;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The method of a request line ("INVITE sip:... SIP/2.0") or the status of
// a status line ("SIP/2.0 200 OK"); false when the payload starts otherwise.
bool sip_start_line(std::string_view payload, std::string& key) {
    const std::size_t eol = payload.find("\r\n");
    if (eol == std::string_view::npos) return false;
    const std::string_view line = payload.substr(0, eol);
    if (line.compare(0, 8, "SIP/2.0 ") == 0) {
        if (line.size() < 11 || !is_digit(line[8]) || !is_digit(line[9]) || !is_digit(line[10])) return false;
        key = std::string(line.substr(8, 3));
        return true;
    }
    const std::size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string_view::npos || line.size() < 8 ||
        line.compare(line.size() - 8, 8, " SIP/2.0") != 0)
        return false;
    for (char c : line.substr(0, sp))
        if (c < 'A' || c > 'Z') return false;
    key = std::string(line.substr(0, sp));
    return true;
}

// The body after the first empty line, when it is SDP.
std::string_view sdp_body(std::string_view message) {
    const std::size_t head_end = message.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return {};
    const std::string_view body = message.substr(head_end + 4);
    return body.compare(0, 2, "v=") == 0 ? body : std::string_view();
}

// What kind of packet it is, for picking different ones from a capture.
std::string packet_kind(const net::DecodedPacket& p) {
    std::string k = std::to_string(p.ip_version) + "/" + std::to_string(p.protocol);
    if (p.is_fragment) k += p.is_first_fragment() ? "/first-fragment" : "/later-fragment";
    std::string key;
    if (sip_start_line(p.payload_text(), key)) {
        k += "/sip";
    } else if (p.payload_length >= 12 && (p.payload[0] & 0xc0) == 0x80) {
        k += "/rtp-like";
    } else if (p.payload_length == 0) {
        k += "/empty";
    }
    return k;
}

std::string stem(const std::string& file) {
    const std::size_t dot = file.find('.');
    return dot == std::string::npos ? file : file.substr(0, dot);
}

void add_unique(std::vector<Input>& out, std::set<std::string>& seen, std::string name, std::string_view bytes) {
    if (bytes.empty() || !seen.insert(std::string(bytes)).second) return;
    out.push_back({std::move(name), std::string(bytes)});
}

// The RFC 4475 messages as they are, the RFC 5118 ones in wire form.
std::vector<Input> rfc_messages() {
    std::vector<Input> out;
    for (const std::string& f : test::list_corpus_dir("rfc4475"))
        if (auto b = test::read_corpus_file("rfc4475/" + f)) out.push_back({"rfc4475-" + f, *b});
    for (const std::string& f : test::list_corpus_dir("rfc5118"))
        if (auto b = test::read_corpus_file("rfc5118/" + f)) out.push_back({"rfc5118-" + f, test::sip_wire_form(*b)});
    return out;
}

void from_capture(InputKind kind, const std::string& folder, const std::string& file, std::vector<Input>& out,
                  std::set<std::string>& seen) {
    const auto bytes = test::read_corpus_file(folder + "/" + file);
    if (!bytes) return;
    const test::CaptureFile capture = test::parse_capture(*bytes);
    std::set<std::string> kinds;
    std::vector<std::string_view> later;  // packets of a kind already taken
    std::size_t taken = 0;
    const std::string name = folder + "-" + stem(file);
    auto take = [&](std::string_view b) {
        const std::size_t before = out.size();
        add_unique(out, seen, name + "-" + std::to_string(taken + 1), b);
        if (out.size() > before) ++taken;
    };
    std::string packet;
    for (const test::CaptureFrame& frame : capture.frames) {
        net::LinkType lt{};
        if (!net::link_type_from_pcap(frame.linktype, lt)) continue;
        const auto* data = reinterpret_cast<const std::uint8_t*>(frame.bytes.data());
        const net::LinkFrame link = net::decode_link(lt, data, frame.bytes.size());
        if (!link.ok() || !link.is_ip) continue;
        const net::DecodedPacket p = net::decode_ip(link.l3, link.l3_length);
        std::string key;
        switch (kind) {
            case InputKind::packet: {
                if (taken == kPacketsPerCapture) return;
                const std::size_t length = p.ok() && p.ip_length <= link.l3_length ? p.ip_length : link.l3_length;
                packet.assign(1, '\0');  // fuzz_packet's link selector: raw IP
                packet.append(reinterpret_cast<const char*>(link.l3), length);
                if (kinds.insert(packet_kind(p)).second) {
                    take(packet);
                } else if (later.size() < 64) {
                    later.push_back(std::string_view(reinterpret_cast<const char*>(link.l3), length));
                }
                break;
            }
            case InputKind::sip:
                if (taken == kSipPerCapture) return;
                if ((p.is_udp() || p.is_tcp()) && sip_start_line(p.payload_text(), key) && kinds.insert(key).second)
                    take(p.payload_text());
                break;
            case InputKind::sdp:
                if (taken == kSdpPerCapture) return;
                if ((p.is_udp() || p.is_tcp()) && sip_start_line(p.payload_text(), key))
                    take(sdp_body(p.payload_text()));
                break;
        }
    }
    // Fewer kinds than packets wanted: more packets, of kinds already taken.
    for (std::string_view l3 : later) {
        if (taken == kPacketsPerCapture) break;
        packet.assign(1, '\0');
        packet.append(l3);
        take(packet);
    }
}

}  // namespace

bool input_kind_from_name(std::string_view name, InputKind& out) {
    if (name == "packet") out = InputKind::packet;
    else if (name == "sip") out = InputKind::sip;
    else if (name == "sdp") out = InputKind::sdp;
    else return false;
    return true;
}

std::vector<Input> corpus_inputs(InputKind kind) {
    std::vector<Input> out;
    std::set<std::string> seen;
    if (kind == InputKind::sip) {
        for (Input& in : rfc_messages()) add_unique(out, seen, std::move(in.name), in.bytes);
    } else if (kind == InputKind::sdp) {
        for (const Input& in : rfc_messages()) add_unique(out, seen, in.name, sdp_body(in.bytes));
    }
    for (const char* folder : {"pcap", "interop"})
        for (const std::string& file : test::list_corpus_dir(folder)) from_capture(kind, folder, file, out, seen);
    return out;
}

}  // namespace vg::fuzz
