// SPDX-License-Identifier: GPL-2.0-or-later
// Test helper: reads the classic pcap file format (not pcapng) from bytes, in
// either byte order, so tests can pull recorded packets out of the corpus
// captures (tests/support/corpus.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vg::test {

struct PcapFile {
    bool ok = false;
    std::uint32_t linktype = 0;
    std::vector<std::string> packets;  // captured bytes of each record
};

inline PcapFile parse_pcap(const std::string& file) {
    PcapFile out;
    if (file.size() < 24) return out;
    std::uint32_t magic = 0;
    std::memcpy(&magic, file.data(), 4);
    bool swap = false;
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
        swap = false;
    } else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
        swap = true;
    } else {
        return out;
    }
    auto u32 = [&](std::size_t off) {
        std::uint32_t v = 0;
        std::memcpy(&v, file.data() + off, 4);
        return swap ? __builtin_bswap32(v) : v;
    };
    out.linktype = u32(20) & 0xffff;
    std::size_t off = 24;
    while (off + 16 <= file.size()) {
        const std::uint32_t incl = u32(off + 8);
        off += 16;
        if (incl > file.size() - off) return out;
        out.packets.emplace_back(file.substr(off, incl));
        off += incl;
    }
    out.ok = off == file.size();
    return out;
}

inline const std::uint8_t* bytes_of(const std::string& s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace vg::test
