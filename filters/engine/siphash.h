// SPDX-License-Identifier: GPL-2.0-or-later
// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
// 2012): a keyed hash for table keys that a sender must not be able to make
// collide. With a secret key, finding two inputs with the same output is as
// hard as guessing the key. Both output widths of the reference design: 64
// bits, and 128 bits (the variant with 0xee in the initial state and a second
// finalisation), which gives two 64-bit values for the cost of one pass.
//
// Incremental: update() any number of times, then finish() once. Bytes are
// read as little-endian 64-bit words whatever the host's byte order (routers
// are MIPS and ARM, some big-endian), so the same key and input give the same
// output everywhere. Header-only: a handful of inline functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::engine {

// The 128-bit key, as the two little-endian halves of its 16 bytes.
struct SipHashKey {
    std::uint64_t k0 = 0;
    std::uint64_t k1 = 0;

    static SipHashKey from_bytes(const std::uint8_t (&bytes)[16]) noexcept {
        return {load_le64(bytes), load_le64(bytes + 8)};
    }
    // Bytes as a little-endian 64-bit word.
    static std::uint64_t load_le64(const std::uint8_t* p) noexcept {
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
        return v;
    }
    friend bool operator==(const SipHashKey& a, const SipHashKey& b) noexcept {
        return a.k0 == b.k0 && a.k1 == b.k1;
    }
};

class SipHash24 {
public:
    enum class Width : std::uint8_t { bits64, bits128 };

    explicit SipHash24(const SipHashKey& key, Width width = Width::bits128) noexcept;

    void update(const void* data, std::size_t n) noexcept;
    void update(std::string_view s) noexcept { update(s.data(), s.size()); }
    // A 64-bit integer as 8 little-endian bytes (lengths, to separate fields).
    void update_u64(std::uint64_t v) noexcept;

    // The hash: `first` is the 64-bit output (Width::bits64), or the first
    // 8 bytes of the 128-bit output with `second` the last 8 (as little-endian
    // words, the reference implementation's byte order).
    struct Result {
        std::uint64_t first = 0;
        std::uint64_t second = 0;
    };
    Result finish() noexcept;

private:
    void compress(std::uint64_t m) noexcept;
    void round() noexcept;

    std::uint64_t v0_, v1_, v2_, v3_;
    std::uint64_t tail_ = 0;       // the bytes of an incomplete word, little-endian
    std::uint64_t length_ = 0;     // bytes hashed so far
    Width width_;

    static constexpr std::uint64_t rotl(std::uint64_t x, unsigned b) noexcept { return (x << b) | (x >> (64 - b)); }
};

inline SipHash24::SipHash24(const SipHashKey& key, Width width) noexcept
    : v0_(key.k0 ^ 0x736f6d6570736575ull),
      v1_(key.k1 ^ 0x646f72616e646f6dull),
      v2_(key.k0 ^ 0x6c7967656e657261ull),
      v3_(key.k1 ^ 0x7465646279746573ull),
      width_(width) {
    if (width_ == Width::bits128) v1_ ^= 0xee;
}

inline void SipHash24::round() noexcept {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
}

inline void SipHash24::compress(std::uint64_t m) noexcept {
    v3_ ^= m;
    round();   // c = 2 rounds per word
    round();
    v0_ ^= m;
}

inline void SipHash24::update(const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::size_t have = static_cast<std::size_t>(length_ & 7);
    length_ += n;
    // Complete a word begun by an earlier update.
    while (have != 0 && have < 8 && n > 0) {
        tail_ |= std::uint64_t{*p++} << (8 * have);
        ++have;
        --n;
    }
    if (have == 8) {
        compress(tail_);
        tail_ = 0;
    }
    for (; n >= 8; p += 8, n -= 8) compress(SipHashKey::load_le64(p));
    for (std::size_t i = 0; i < n; ++i) tail_ |= std::uint64_t{p[i]} << (8 * i);
}

inline void SipHash24::update_u64(std::uint64_t v) noexcept {
    std::uint8_t b[8];
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(v);
        v >>= 8;
    }
    update(b, sizeof b);
}

inline SipHash24::Result SipHash24::finish() noexcept {
    // The last word: the remaining bytes, the length's low byte on top.
    compress(tail_ | (length_ << 56));
    Result r;
    v2_ ^= width_ == Width::bits128 ? 0xee : 0xff;
    for (int i = 0; i < 4; ++i) round();   // d = 4 finalisation rounds
    r.first = v0_ ^ v1_ ^ v2_ ^ v3_;
    if (width_ == Width::bits128) {
        v1_ ^= 0xdd;
        for (int i = 0; i < 4; ++i) round();
        r.second = v0_ ^ v1_ ^ v2_ ^ v3_;
    }
    return r;
}

}  // namespace vg::engine
