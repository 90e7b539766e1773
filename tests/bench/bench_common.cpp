// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/bench/bench_common.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "config/loader.h"
#include "filters/net/ip_address.h"

namespace vg::bench {

void Results::take_args(int& argc, char** argv) {
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--vg-out" && i + 1 < argc) {
            path_ = argv[++i];
        } else if (a.rfind("--vg-out=", 0) == 0) {
            path_ = a.substr(9);
        } else {
            argv[out++] = argv[i];
        }
    }
    argc = out;
    argv[argc] = nullptr;
}

void Results::line(const std::string& text) {
    std::cout << "  " << text << "\n";
    std::cout.flush();
    if (path_.empty()) return;
    std::ofstream f(path_, std::ios::app);
    f << text << "\n";
    if (!f) {
        std::cerr << "cannot write " << path_ << "\n";
        std::exit(1);
    }
}

void Results::number(const std::string& key, double value) {
    char buf[64];
    // Integers print as integers; everything else with enough digits.
    if (value == static_cast<double>(static_cast<long long>(value)) && value < 1e15 && value > -1e15)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
    else
        std::snprintf(buf, sizeof buf, "%.6g", value);
    line(key + " " + buf);
}

void Results::null(const std::string& key, const std::string& reason) { line(key + " null " + reason); }

void Results::info(const std::string& key, const std::string& text) { line("info." + key + " " + text); }

long status_kb(const char* name) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(name);
    while (std::getline(f, line)) {
        if (line.compare(0, n, name) == 0 && line.size() > n && line[n] == ':')
            return std::strtol(line.c_str() + n + 1, nullptr, 10);
    }
    return -1;
}

namespace {
config::LoadOptions bench_load_options() {
    config::LoadOptions o;
    o.allow_includes = false;
    o.check_file_permissions = false;
    o.resolver = [](const std::string&) { return config::ResolveResult{{}, "no DNS in benchmarks"}; };
    return o;
}

std::shared_ptr<const engine::CompiledPolicy> compile_or_exit(config::LoadResult r, const std::string& name) {
    if (!r.ok()) {
        std::cerr << name << ": policy does not load:\n";
        for (const auto& d : r.diagnostics) std::cerr << "  " << d.format() << "\n";
        std::exit(1);
    }
    std::string error;
    auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
    if (c == nullptr) {
        std::cerr << name << ": policy does not compile: " << error << "\n";
        std::exit(1);
    }
    return c;
}
}  // namespace

std::shared_ptr<const engine::CompiledPolicy> compile_policy_text(const std::string& yaml, const std::string& name) {
    return compile_or_exit(config::load_policy_text(yaml, name, bench_load_options()), name);
}

std::shared_ptr<const engine::CompiledPolicy> compile_policy_file(const std::string& path) {
    config::LoadOptions o = bench_load_options();
    o.allow_includes = true;
    return compile_or_exit(config::load_policy_file(path, o), path);
}

std::string ipv4_text(std::uint32_t a) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    return buf;
}

// --- messages -------------------------------------------------------------------

namespace {
const char* kHandsetUa = "Yealink SIP-T46S 66.86.0.15";
const char* kPbxUa = "Asterisk PBX 18.20.0";
const char* kHandsetAllow =
    "INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, REFER, PUBLISH, UPDATE, MESSAGE";
const char* kPbxAllow = "INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE";

std::string with_body(std::string head, const std::string& body) {
    if (!body.empty()) head += "Content-Type: application/sdp\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    return head + body;
}

// Via of the sender of a request.
std::string via(const CallParty& c, bool from_handset, const std::string& branch) {
    return "Via: SIP/2.0/UDP " + (from_handset ? c.handset : c.pbx) + ":5060;branch=z9hG4bK" + branch + ";rport\r\n";
}

// From/To of a call: the caller's side has tag "c<call_id>".
std::string caller_uri(const CallParty& c, bool caller_is_handset, const std::string& number) {
    return caller_is_handset ? "\"Ext " + c.extension + "\" <sip:" + c.extension + "@pbx.example.net>"
                             : "<sip:" + number + "@pbx.example.net>";
}
std::string callee_uri(const CallParty& c, bool caller_is_handset, const std::string& number) {
    return caller_is_handset ? "<sip:" + number + "@pbx.example.net;user=phone>"
                             : "<sip:" + c.extension + "@" + c.handset + ":5060>";
}
}  // namespace

std::string sdp_body(const std::string& addr, unsigned audio_port, unsigned video_port, bool pbx_side,
                     unsigned session_id) {
    const std::string id = std::to_string(session_id);
    std::string s = "v=0\r\n";
    s += std::string("o=") + (pbx_side ? "root " : "- ") + id + " " + id + " IN IP4 " + addr + "\r\n";
    s += std::string("s=") + (pbx_side ? kPbxUa : "SDP data") + "\r\n";
    s += "c=IN IP4 " + addr + "\r\nt=0 0\r\n";
    s += "m=audio " + std::to_string(audio_port) + " RTP/AVP 9 0 8 101\r\n";
    s += "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
    s += "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
    if (video_port != 0) {
        s += "m=video " + std::to_string(video_port) + " RTP/AVP 99\r\n";
        s += "a=rtpmap:99 H264/90000\r\na=fmtp:99 profile-level-id=42801F;packetization-mode=1\r\na=sendrecv\r\n";
    }
    return s;
}

std::string invite(const CallParty& c, bool from_handset, const std::string& number, const std::string& call_id,
                   const std::string& sdp) {
    const std::string ruri = from_handset ? "sip:" + number + "@pbx.example.net;user=phone"
                                          : "sip:" + c.extension + "@" + c.handset + ":5060";
    std::string m = "INVITE " + ruri + " SIP/2.0\r\n";
    m += via(c, from_handset, "i" + call_id);
    m += "From: " + caller_uri(c, from_handset, number) + ";tag=c" + call_id + "\r\n";
    m += "To: " + callee_uri(c, from_handset, number) + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: 1 INVITE\r\n";
    m += "Contact: <sip:" + (from_handset ? c.extension + "@" + c.handset : number + "@" + c.pbx) + ":5060>\r\n";
    m += std::string("Allow: ") + (from_handset ? kHandsetAllow : kPbxAllow) + "\r\n";
    m += "Max-Forwards: 70\r\n";
    m += std::string("User-Agent: ") + (from_handset ? kHandsetUa : kPbxUa) + "\r\n";
    m += "Supported: replaces, timer\r\n";
    return with_body(m, sdp);
}

std::string response(const CallParty& c, bool from_handset, unsigned code, const std::string& reason,
                     const std::string& method, unsigned cseq, const std::string& call_id,
                     const std::string& to_tag, const std::string& sdp, bool caller_is_handset) {
    // The number is not needed in responses' URIs; a fixed one keeps them realistic.
    const std::string number = "02079460123";
    std::string m = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
    // The Via of the request, as the responder echoes it.
    m += via(c, !from_handset, (method == "INVITE" ? "i" : method == "BYE" ? "b" : "x") + call_id);
    m += "From: " + caller_uri(c, caller_is_handset, number) + ";tag=c" + call_id + "\r\n";
    m += "To: " + callee_uri(c, caller_is_handset, number) + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
    m += std::string(from_handset ? "User-Agent: " : "Server: ") + (from_handset ? kHandsetUa : kPbxUa) + "\r\n";
    if (code >= 180 && code < 300 && method == "INVITE")
        m += "Contact: <sip:" + (from_handset ? c.extension + "@" + c.handset : number + "@" + c.pbx) + ":5060>\r\n";
    if (code == 200) {
        m += std::string("Allow: ") + (from_handset ? kHandsetAllow : kPbxAllow) + "\r\n";
        m += "Supported: replaces, timer\r\n";
    }
    return with_body(m, sdp);
}

std::string ack(const CallParty& c, bool from_handset, const std::string& call_id, const std::string& to_tag) {
    const std::string number = "02079460123";
    const bool caller_is_handset = from_handset;
    const std::string ruri = from_handset ? "sip:" + number + "@" + c.pbx + ":5060"
                                          : "sip:" + c.extension + "@" + c.handset + ":5060";
    std::string m = "ACK " + ruri + " SIP/2.0\r\n";
    m += via(c, from_handset, "a" + call_id);
    m += "From: " + caller_uri(c, caller_is_handset, number) + ";tag=c" + call_id + "\r\n";
    m += "To: " + callee_uri(c, caller_is_handset, number) + ";tag=" + to_tag + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: 1 ACK\r\nMax-Forwards: 70\r\n";
    m += std::string("User-Agent: ") + (from_handset ? kHandsetUa : kPbxUa) + "\r\n";
    return with_body(m, "");
}

std::string bye(const CallParty& c, bool from_handset, const std::string& call_id, const std::string& to_tag,
                bool caller_is_handset) {
    const std::string number = "02079460123";
    const std::string ruri = from_handset ? "sip:" + number + "@" + c.pbx + ":5060"
                                          : "sip:" + c.extension + "@" + c.handset + ":5060";
    std::string m = "BYE " + ruri + " SIP/2.0\r\n";
    m += via(c, from_handset, "b" + call_id);
    m += "From: " + caller_uri(c, caller_is_handset, number) + ";tag=c" + call_id + "\r\n";
    m += "To: " + callee_uri(c, caller_is_handset, number) + ";tag=" + to_tag + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: 2 BYE\r\nMax-Forwards: 70\r\n";
    m += std::string("User-Agent: ") + (from_handset ? kHandsetUa : kPbxUa) + "\r\n";
    if (!from_handset) m += "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n";
    return with_body(m, "");
}

std::string register_request(const CallParty& c, unsigned cseq, bool with_auth, const std::string& call_id) {
    std::string m = "REGISTER sip:pbx.example.net SIP/2.0\r\n";
    m += via(c, true, "r" + call_id + std::to_string(cseq));
    m += "From: \"Ext " + c.extension + "\" <sip:" + c.extension + "@pbx.example.net>;tag=r" + call_id + "\r\n";
    m += "To: \"Ext " + c.extension + "\" <sip:" + c.extension + "@pbx.example.net>\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
    m += "Contact: <sip:" + c.extension + "@" + c.handset +
         ":5060>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-805ec0a1b2c3>\"\r\n";
    if (with_auth)
        m += "Authorization: Digest username=\"" + c.extension +
             "\", realm=\"pbx.example.net\", nonce=\"5f2c8a9b1d3e4f60718293a4b5c6d7e8\", "
             "uri=\"sip:pbx.example.net\", response=\"2b6e1f0c9a8d7e6f5a4b3c2d1e0f9a8b\", algorithm=MD5, "
             "cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n";
    m += "Max-Forwards: 70\r\n";
    m += std::string("User-Agent: ") + kHandsetUa + "\r\n";
    m += "Expires: 300\r\n";
    m += std::string("Allow: ") + kHandsetAllow + "\r\n";
    m += "Allow-Events: talk,hold,conference,refer,check-sync\r\n";
    return with_body(m, "");
}

std::string options_keepalive(const CallParty& c, unsigned cseq, const std::string& call_id) {
    std::string m = "OPTIONS sip:" + c.extension + "@" + c.handset + ":5060 SIP/2.0\r\n";
    m += via(c, false, "o" + call_id + std::to_string(cseq));
    m += "Max-Forwards: 70\r\n";
    m += "From: \"asterisk\" <sip:asterisk@" + c.pbx + ">;tag=o" + call_id + "\r\n";
    m += "To: <sip:" + c.extension + "@" + c.handset + ":5060>\r\n";
    m += "Contact: <sip:asterisk@" + c.pbx + ":5060>\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " OPTIONS\r\n";
    m += std::string("User-Agent: ") + kPbxUa + "\r\n";
    m += std::string("Allow: ") + kPbxAllow + "\r\n";
    m += "Supported: replaces, timer\r\n";
    return with_body(m, "");
}

test::Bytes udp4(const std::string& src, unsigned sport, const std::string& dst, unsigned dport,
                 const std::string& payload) {
    test::V4 h;
    const auto s = net::IpAddress::parse(src);
    const auto d = net::IpAddress::parse(dst);
    if (!s || !d || !s->is_v4() || !d->is_v4()) {
        std::cerr << "bad IPv4 address " << src << " / " << dst << "\n";
        std::exit(1);
    }
    std::memcpy(h.src, s->bytes(), 4);
    std::memcpy(h.dst, d->bytes(), 4);
    return test::ipv4(h, test::udp(sport, dport, test::Bytes(payload.begin(), payload.end())));
}

std::string rtp_payload(unsigned seq) {
    std::string p(12 + 160, '\xff');
    p[0] = '\x80';
    p[1] = '\x00';
    p[2] = static_cast<char>((seq >> 8) & 0xff);
    p[3] = static_cast<char>(seq & 0xff);
    std::memset(&p[4], 0, 4);
    p[8] = '\x12';
    p[9] = '\x34';
    p[10] = '\x56';
    p[11] = '\x78';
    return p;
}

}  // namespace vg::bench
