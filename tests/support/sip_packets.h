// SPDX-License-Identifier: GPL-2.0-or-later
// Whole SIP/RTP packets for engine and replay tests: IPv4/IPv6 + UDP/TCP
// around SIP requests and responses with SDP, and RTP. Built byte by byte
// with tests/filters/net/packet_builder.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "filters/net/ip_address.h"
#include "tests/filters/net/packet_builder.h"

namespace vg::test::sip_packets {

inline Bytes v4udp(const char* src, unsigned sport, const char* dst, unsigned dport, const std::string& payload) {
    V4 h;
    const auto s = net::IpAddress::parse(src);
    const auto d = net::IpAddress::parse(dst);
    std::memcpy(h.src, s->bytes(), 4);
    std::memcpy(h.dst, d->bytes(), 4);
    return ipv4(h, udp(sport, dport, Bytes(payload.begin(), payload.end())));
}

inline Bytes v4tcp(const char* src, unsigned sport, const char* dst, unsigned dport, unsigned flags,
            const std::string& payload, std::uint32_t seq = 0x01020304, std::uint32_t ack = 0x0a0b0c0d) {
    V4 h;
    h.protocol = 6;
    const auto s = net::IpAddress::parse(src);
    const auto d = net::IpAddress::parse(dst);
    std::memcpy(h.src, s->bytes(), 4);
    std::memcpy(h.dst, d->bytes(), 4);
    Bytes t = tcp(sport, dport, flags, {}, Bytes(payload.begin(), payload.end()));
    t[4] = static_cast<std::uint8_t>(seq >> 24);
    t[5] = static_cast<std::uint8_t>(seq >> 16);
    t[6] = static_cast<std::uint8_t>(seq >> 8);
    t[7] = static_cast<std::uint8_t>(seq);
    t[8] = static_cast<std::uint8_t>(ack >> 24);
    t[9] = static_cast<std::uint8_t>(ack >> 16);
    t[10] = static_cast<std::uint8_t>(ack >> 8);
    t[11] = static_cast<std::uint8_t>(ack);
    return ipv4(h, t);
}

inline Bytes v6udp(const char* src, unsigned sport, const char* dst, unsigned dport, const std::string& payload) {
    V6 h;
    const auto s = net::IpAddress::parse(src);
    const auto d = net::IpAddress::parse(dst);
    std::memcpy(h.src, s->bytes(), 16);
    std::memcpy(h.dst, d->bytes(), 16);
    return ipv6(h, udp(sport, dport, Bytes(payload.begin(), payload.end())));
}

inline std::string sdp(const std::string& addr, unsigned port, const std::string& extra = "", bool v6 = false) {
    return "v=0\r\no=- 1 1 IN " + std::string(v6 ? "IP6 " : "IP4 ") + addr + "\r\ns=-\r\nc=IN " +
           (v6 ? "IP6 " : "IP4 ") + addr + "\r\nt=0 0\r\nm=audio " + std::to_string(port) +
           " RTP/AVP 0 8 101\r\n" + extra;
}

// A SIP request; `sdp_body` empty = no body.
inline std::string request(const std::string& method, const std::string& ruri, const std::string& call_id,
                    const std::string& from_tag, const std::string& to_tag, unsigned cseq,
                    const std::string& sdp_body = "", const std::string& ua = "Yealink SIP-T46S 66.86.0.15",
                    const std::string& extra = "") {
    std::string m = method + " " + ruri + " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK" + call_id + std::to_string(cseq) + method + "\r\n";
    m += "From: <sip:201@pbx.example.net>;tag=" + from_tag + "\r\n";
    m += "To: <" + ruri + ">" + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " " + (method == "ACK" ? "ACK" : method) + "\r\n";
    m += "Max-Forwards: 70\r\n";
    m += "Contact: <sip:201@192.168.20.10:5060>\r\n";
    if (!ua.empty()) m += "User-Agent: " + ua + "\r\n";
    m += extra;
    if (!sdp_body.empty()) m += "Content-Type: application/sdp\r\n";
    m += "Content-Length: " + std::to_string(sdp_body.size()) + "\r\n\r\n" + sdp_body;
    return m;
}

inline std::string response(unsigned code, const std::string& reason, const std::string& method, unsigned cseq,
                     const std::string& call_id, const std::string& to_tag, const std::string& sdp_body = "",
                     const std::string& extra = "", const std::string& from_tag = "f1") {
    std::string m = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
    m += "Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bKx\r\n";
    m += "From: <sip:201@pbx.example.net>;tag=" + from_tag + "\r\n";
    m += "To: <sip:x@pbx.example.net>" + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\n";
    m += "Call-ID: " + call_id + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
    m += extra;
    if (!sdp_body.empty()) m += "Content-Type: application/sdp\r\n";
    m += "Content-Length: " + std::to_string(sdp_body.size()) + "\r\n\r\n" + sdp_body;
    return m;
}

// A minimal RTP packet: version 2, PCMU, 160 bytes of payload.
inline std::string rtp(unsigned seq = 1) {
    std::string p(12 + 160, '\xff');
    p[0] = '\x80';
    p[1] = '\x00';
    p[2] = static_cast<char>(seq >> 8);
    p[3] = static_cast<char>(seq);
    std::memset(&p[4], 0, 8);
    return p;
}

}  // namespace vg::test::sip_packets
