// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/capture_file.h"

#include <cstring>

namespace vg::test {

namespace {

class Reader {
public:
    Reader(std::string_view s, bool swap) : s_(s), swap_(swap) {}
    std::uint32_t u32(std::size_t off) const {
        std::uint32_t v = 0;
        std::memcpy(&v, s_.data() + off, 4);
        return swap_ ? __builtin_bswap32(v) : v;
    }
    std::uint16_t u16(std::size_t off) const {
        std::uint16_t v = 0;
        std::memcpy(&v, s_.data() + off, 2);
        return swap_ ? __builtin_bswap16(v) : v;
    }

private:
    std::string_view s_;
    bool swap_;
};

std::uint32_t host_u32(std::string_view s, std::size_t off) {
    std::uint32_t v = 0;
    std::memcpy(&v, s.data() + off, 4);
    return v;
}

// Classic pcap: 24-byte global header, then 16-byte record headers.
CaptureFile parse_pcap(std::string_view file, bool swap) {
    CaptureFile out;
    const Reader r(file, swap);
    const std::uint32_t linktype = r.u32(20) & 0xffff;
    std::size_t off = 24;
    while (off < file.size()) {
        if (file.size() - off < 16) {
            out.error = "record header cut at byte " + std::to_string(off);
            return out;
        }
        const std::uint32_t incl = r.u32(off + 8);
        off += 16;
        if (incl > file.size() - off) {
            out.error = "record data cut at byte " + std::to_string(off);
            return out;
        }
        out.frames.push_back({linktype, file.substr(off, incl)});
        off += incl;
    }
    out.ok = true;
    return out;
}

constexpr std::uint32_t kShb = 0x0a0d0d0a;
constexpr std::uint32_t kIdb = 1;
constexpr std::uint32_t kObsoletePb = 2;
constexpr std::uint32_t kSpb = 3;
constexpr std::uint32_t kEpb = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;

// pcapng (draft-ietf-opsawg-pcapng): blocks of type, total length, body,
// total length; the section header's byte-order magic gives the byte order
// of its section.
CaptureFile parse_pcapng(std::string_view file) {
    CaptureFile out;
    std::vector<std::uint32_t> interfaces;
    bool swap = false;
    std::size_t off = 0;
    while (off < file.size()) {
        if (file.size() - off < 12) {
            out.error = "block header cut at byte " + std::to_string(off);
            return out;
        }
        const std::uint32_t type = host_u32(file, off);  // a palindrome for SHB
        if (type == kShb) {
            if (file.size() - off < 28) {
                out.error = "section header cut at byte " + std::to_string(off);
                return out;
            }
            const std::uint32_t bom = host_u32(file, off + 8);
            if (bom == kByteOrderMagic) {
                swap = false;
            } else if (bom == __builtin_bswap32(kByteOrderMagic)) {
                swap = true;
            } else {
                out.error = "bad byte-order magic at byte " + std::to_string(off + 8);
                return out;
            }
            interfaces.clear();
        }
        const Reader r(file, swap);
        const std::uint32_t block_type = r.u32(off);
        const std::uint32_t total = r.u32(off + 4);
        if (total < 12 || total % 4 != 0 || total > file.size() - off) {
            out.error = "bad block length " + std::to_string(total) + " at byte " + std::to_string(off);
            return out;
        }
        const std::size_t body = off + 8;
        const std::size_t body_len = total - 12;
        auto frame = [&](std::uint32_t interface, std::size_t data, std::size_t caplen) -> bool {
            if (interface >= interfaces.size()) {
                out.error = "packet of undeclared interface " + std::to_string(interface);
                return false;
            }
            if (data + caplen > off + total - 4) {
                out.error = "packet data past its block at byte " + std::to_string(off);
                return false;
            }
            out.frames.push_back({interfaces[interface], file.substr(data, caplen)});
            return true;
        };
        if (block_type == kIdb) {
            if (body_len < 8) {
                out.error = "interface description too short at byte " + std::to_string(off);
                return out;
            }
            interfaces.push_back(r.u16(body));
        } else if (block_type == kEpb || block_type == kObsoletePb) {
            if (body_len < 20) {
                out.error = "packet block too short at byte " + std::to_string(off);
                return out;
            }
            const std::uint32_t interface = block_type == kEpb ? r.u32(body) : r.u16(body);
            if (!frame(interface, body + 20, r.u32(body + 12))) return out;
        } else if (block_type == kSpb) {
            if (body_len < 4) {
                out.error = "simple packet block too short at byte " + std::to_string(off);
                return out;
            }
            const std::size_t original = r.u32(body);
            const std::size_t room = body_len - 4;
            if (!frame(0, body + 4, original < room ? original : room)) return out;
        }
        off += total;
    }
    out.ok = true;
    return out;
}

}  // namespace

CaptureFile parse_capture(std::string_view file) {
    if (file.size() >= 24) {
        const std::uint32_t magic = host_u32(file, 0);
        if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) return parse_pcap(file, false);
        if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) return parse_pcap(file, true);
    }
    if (file.size() >= 12 && host_u32(file, 0) == kShb) return parse_pcapng(file);
    CaptureFile out;
    out.error = "neither pcap nor pcapng";
    return out;
}

}  // namespace vg::test
