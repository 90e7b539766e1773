// SPDX-License-Identifier: GPL-2.0-or-later
// vg_evasion_export [DIR]: prints, one JSON object per line, every entry of
// the catalogue of evasions that a handset can send to the PBX through an
// ordinary socket (handset to PBX only, UDP or in-order TCP without crafted
// sequence numbers or flags; the handshake and ACKs of a TCP entry are left
// to the socket), for the end-to-end tests against a real PBX:
//
//   {"entry": NAME, "class": CLASS, "transport": "udp"|"tcp", "family": 4|6,
//    "src": ADDR, "dst": ADDR, "dst_port": PORT, "segments": [BASE64, ...],
//    "expect": "accept"|"drop", "numbers": [...],
//    "denied_numbers": [...], "allowed_numbers": [...], "policy": PATH}
//
// A number (the Request-URI user of an INVITE, a REFER's Refer-To user, as
// the bytes carry it) is denied when the packet that completes its message is
// expected to be dropped. "expect" is "drop" when the entry has a denied
// number; "numbers" is then the denied ones, else the allowed ones. "policy"
// is relative to the source tree.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/evasion_catalogue.h"

namespace {

using vg::test::evasion::Entry;
using vg::test::evasion::Expect;

std::string json_string(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
        } else {
            o += static_cast<char>(c);
        }
    }
    return o + "\"";
}

std::string base64(const std::vector<std::uint8_t>& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string o;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        o += t[v >> 18];
        o += t[(v >> 12) & 63];
        o += t[(v >> 6) & 63];
        o += t[v & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = in[i] << 16;
        o += t[v >> 18];
        o += t[(v >> 12) & 63];
        o += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v = (in[i] << 16) | (in[i + 1] << 8);
        o += t[v >> 18];
        o += t[(v >> 12) & 63];
        o += t[(v >> 6) & 63];
        o += '=';
    }
    return o;
}

std::string list(const std::vector<std::string>& v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + json_string(v[i]);
    return o + "]";
}

// Packets a socket makes by itself: the handshake, pure ACKs and FINs of a
// TCP entry. They are not sent by the end-to-end test; its socket does.
bool made_by_the_socket(const vg::test::evasion::Packet& p) {
    return p.tcp && p.payload.empty() && !p.rst && !p.seq_override;
}

bool exportable(const Entry& e) {
    if (!e.e2e) return false;
    const vg::test::evasion::Packet* first = nullptr;
    for (const auto& p : e.packets) {
        if (made_by_the_socket(p)) continue;
        if (first == nullptr) first = &p;
        if (p.src_host.rfind("handset", 0) != 0 || p.dst_host.rfind("pbx", 0) != 0) return false;
        if (p.dst_host.find("media") != std::string::npos) return false;
        if (p.tcp != first->tcp || p.src_port != first->src_port || p.dst_port != first->dst_port ||
            p.src != first->src || p.dst != first->dst)
            return false;
        // Crafted sequence numbers, flags or timing cannot go through a socket.
        if (p.seq_override || p.rst || p.syn || p.urgent != 0 || p.advance.count() != 0) return false;
        if (p.payload.empty()) return false;
    }
    return first != nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : VG_EVASION_DIR;
    std::string error;
    const auto entries = vg::test::evasion::load_catalogue(dir, error);
    if (!error.empty()) {
        std::fprintf(stderr, "vg_evasion_export: %s\n", error.c_str());
        return 2;
    }
    for (const Entry& e : entries) {
        if (!exportable(e)) continue;
        std::vector<std::string> segments, denied, allowed;
        for (const auto& p : e.packets) {
            if (!p.payload.empty()) segments.push_back(base64(p.payload));
        }
        // A number is denied when a packet carrying (part of) its message is
        // expected to be dropped: a message split over segments is decided by
        // the segment that completes it; the earlier ones pass.
        for (const auto& p : e.packets) {
            const bool drop = p.expect.kind == Expect::Kind::drop || p.expect.kind == Expect::Kind::reset;
            for (const auto& n : p.numbers)
                if (drop && std::find(denied.begin(), denied.end(), n) == denied.end()) denied.push_back(n);
        }
        for (const auto& p : e.packets)
            for (const auto& n : p.numbers)
                if (std::find(denied.begin(), denied.end(), n) == denied.end() &&
                    std::find(allowed.begin(), allowed.end(), n) == allowed.end())
                    allowed.push_back(n);
        const vg::test::evasion::Packet* fp = nullptr;
        for (const auto& p : e.packets)
            if (!made_by_the_socket(p)) {
                fp = &p;
                break;
            }
        const auto& f = *fp;
        const bool drop = !denied.empty();
        std::printf("{\"entry\": %s, \"class\": %s, \"transport\": \"%s\", \"family\": %d, \"src\": %s, \"dst\": %s, "
                    "\"dst_port\": %u, \"segments\": %s, \"expect\": \"%s\", \"numbers\": %s, \"denied_numbers\": %s, "
                    "\"allowed_numbers\": %s, \"policy\": %s}\n",
                    json_string(e.name).c_str(), json_string(e.cls).c_str(), f.tcp ? "tcp" : "udp", f.v6 ? 6 : 4,
                    json_string(f.src).c_str(), json_string(f.dst).c_str(), f.dst_port, list(segments).c_str(),
                    drop ? "drop" : "accept", list(drop ? denied : allowed).c_str(), list(denied).c_str(),
                    list(allowed).c_str(), json_string("tests/data/evasion/" + e.policy).c_str());
    }
    return 0;
}
