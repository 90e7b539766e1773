// SPDX-License-Identifier: GPL-2.0-or-later
// Test helper: builds IPv4/IPv6/UDP/TCP packets byte by byte (network order)
// so that decoder tests state every field they depend on.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vg::test {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); }
inline void put16(Bytes& b, unsigned v) {
    put8(b, (v >> 8) & 0xff);
    put8(b, v & 0xff);
}
inline void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

inline Bytes text_bytes(const char* s) {
    Bytes b;
    for (; *s; ++s) b.push_back(static_cast<std::uint8_t>(*s));
    return b;
}

// UDP header + payload; `length` overrides the length field when >= 0.
inline Bytes udp(unsigned sport, unsigned dport, const Bytes& payload, int length = -1) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, length >= 0 ? static_cast<unsigned>(length) : static_cast<unsigned>(8 + payload.size()));
    put16(b, 0);
    append(b, payload);
    return b;
}

// TCP header (+ options, padded by the caller to a multiple of 4) + payload.
inline Bytes tcp(unsigned sport, unsigned dport, unsigned flags, const Bytes& options, const Bytes& payload,
                 int data_offset_words = -1) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 0x01020304);  // sequence
    put32(b, 0x0a0b0c0d);  // acknowledgment
    const unsigned words = data_offset_words >= 0 ? static_cast<unsigned>(data_offset_words)
                                                  : static_cast<unsigned>(5 + options.size() / 4);
    put8(b, words << 4);
    put8(b, flags);
    put16(b, 65535);  // window
    put16(b, 0);      // checksum
    put16(b, 0);      // urgent pointer
    append(b, options);
    append(b, payload);
    return b;
}

struct V4 {
    std::uint8_t protocol = 17;
    Bytes options;                      // multiple of 4
    unsigned flags_fragment = 0x4000;   // DF
    int total_length = -1;              // override
    int ihl = -1;                       // override (in words)
    std::uint8_t src[4] = {192, 0, 2, 10};
    std::uint8_t dst[4] = {198, 51, 100, 20};
    std::uint16_t id = 0x1234;
};

inline Bytes ipv4(const V4& h, const Bytes& l4) {
    Bytes b;
    const unsigned ihl = h.ihl >= 0 ? static_cast<unsigned>(h.ihl) : static_cast<unsigned>(5 + h.options.size() / 4);
    put8(b, 0x40 | (ihl & 0x0f));
    put8(b, 0xb8);  // DSCP EF
    put16(b, h.total_length >= 0 ? static_cast<unsigned>(h.total_length)
                                 : static_cast<unsigned>(20 + h.options.size() + l4.size()));
    put16(b, h.id);
    put16(b, h.flags_fragment);
    put8(b, 64);
    put8(b, h.protocol);
    put16(b, 0);
    for (auto x : h.src) put8(b, x);
    for (auto x : h.dst) put8(b, x);
    append(b, h.options);
    append(b, l4);
    return b;
}

struct V6 {
    std::uint8_t next = 17;
    int payload_length = -1;
    std::uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    std::uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
};

inline Bytes ipv6(const V6& h, const Bytes& rest) {
    Bytes b;
    put32(b, 0x60000000u | (0x2eu << 20) | 0x12345u);
    put16(b, h.payload_length >= 0 ? static_cast<unsigned>(h.payload_length) : static_cast<unsigned>(rest.size()));
    put8(b, h.next);
    put8(b, 255);
    for (auto x : h.src) put8(b, x);
    for (auto x : h.dst) put8(b, x);
    append(b, rest);
    return b;
}

// Generic extension header (hop-by-hop, routing, destination options, ...):
// (len_units + 1) * 8 bytes, options area filled with Pad1 (zero) bytes.
inline Bytes ext(unsigned next, unsigned len_units = 0) {
    Bytes b;
    put8(b, next);
    put8(b, len_units);
    b.resize((len_units + 1) * 8, 0);
    return b;
}

inline Bytes frag_ext(unsigned next, unsigned offset_bytes, bool more, std::uint32_t id = 0xcafe) {
    Bytes b;
    put8(b, next);
    put8(b, 0);
    put16(b, (offset_bytes & 0xfff8) | (more ? 1 : 0));
    put32(b, id);
    return b;
}

// AH: payload length in 4-octet units minus 2.
inline Bytes ah_ext(unsigned next, unsigned len_field = 4) {
    Bytes b;
    put8(b, next);
    put8(b, len_field);
    b.resize((len_field + 2) * 4, 0);
    return b;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const auto& p : parts) append(b, p);
    return b;
}

}  // namespace vg::test
