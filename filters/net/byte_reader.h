// SPDX-License-Identifier: GPL-2.0-or-later
// A bounds-checked cursor over packet bytes (in the manner of PowerDNS's
// PacketReader). Multi-byte fields are copied with memcpy and converted from
// network byte order, so reads are correct on big-endian CPUs and never fault on
// strict-alignment ones (MIPS, older ARM). Every check is written as
// `n > remaining()` so it cannot overflow.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vg::net {

class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

    std::size_t size() const noexcept { return size_; }
    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return size_ - pos_; }
    const std::uint8_t* data() const noexcept { return data_; }
    const std::uint8_t* current() const noexcept { return data_ + pos_; }

    bool skip(std::size_t n) noexcept {
        if (n > remaining()) return false;
        pos_ += n;
        return true;
    }

    bool seek(std::size_t absolute) noexcept {
        if (absolute > size_) return false;
        pos_ = absolute;
        return true;
    }

    bool u8(std::uint8_t& out) noexcept {
        if (1 > remaining()) return false;
        out = data_[pos_++];
        return true;
    }

    bool u16(std::uint16_t& out) noexcept {
        if (2 > remaining()) return false;
        std::uint16_t v;
        std::memcpy(&v, data_ + pos_, 2);
        out = ntohs(v);
        pos_ += 2;
        return true;
    }

    bool u32(std::uint32_t& out) noexcept {
        if (4 > remaining()) return false;
        std::uint32_t v;
        std::memcpy(&v, data_ + pos_, 4);
        out = ntohl(v);
        pos_ += 4;
        return true;
    }

    bool bytes(void* out, std::size_t n) noexcept {
        if (n > remaining()) return false;
        std::memcpy(out, data_ + pos_, n);
        pos_ += n;
        return true;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

// Reads a big-endian 16-bit field at an absolute offset; false if out of range.
inline bool load_be16(const std::uint8_t* data, std::size_t size, std::size_t off,
                      std::uint16_t& out) noexcept {
    if (off > size || 2 > size - off) return false;
    std::uint16_t v;
    std::memcpy(&v, data + off, 2);
    out = ntohs(v);
    return true;
}

inline bool load_be32(const std::uint8_t* data, std::size_t size, std::size_t off,
                      std::uint32_t& out) noexcept {
    if (off > size || 4 > size - off) return false;
    std::uint32_t v;
    std::memcpy(&v, data + off, 4);
    out = ntohl(v);
    return true;
}

}  // namespace vg::net
