// SPDX-License-Identifier: GPL-2.0-or-later
// SipHash-2-4 against the reference test vectors (key 00 01 .. 0f, message
// 00 01 .. n-1; the same values as the reference implementation's vectors.h,
// which OpenSSL's SIPHASH MAC also reproduces), both output widths, whole and
// fed in pieces.
#include "filters/engine/siphash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace vg::engine {
namespace {

struct Vector {
    std::size_t length;
    const char* out64;    // output bytes, hex
    const char* out128;
};

// Message length, then the output as bytes in hex.
const Vector kVectors[] = {
    {0, "310e0edd47db6f72", "a3817f04ba25a8e66df67214c7550293"},
    {1, "fd67dc93c539f874", "da87c1d86b99af44347659119b22fc45"},
    {7, "37d1018bf50002ab", "a1f1ebbed8dbc153c0b84aa61ff08239"},
    {8, "6224939a79f5f593", "3b62a9ba6258f5610f83e264f31497b4"},
    {9, "b0e4a90bdf82009e", "264499060ad9baabc47f8b02bb6d71ed"},
    {15, "e545be4961ca29a1", "5493e99933b0a8117e08ec0f97cfc3d9"},
    {16, "db9bc2577fcc2a3f", "6ee2a4ca67b054bbfd3315bf85230577"},
    {63, "724506eb4c328a95", "5150d1772f50834a503e069a973fbd7c"},
    {64, "d8ca02850bc4d2ac", "1eaf077dc0d4cd3f8cad4d383658a74b"},
};

SipHashKey reference_key() {
    std::uint8_t k[16];
    for (int i = 0; i < 16; ++i) k[i] = static_cast<std::uint8_t>(i);
    return SipHashKey::from_bytes(k);
}

std::vector<std::uint8_t> message(std::size_t n) {
    std::vector<std::uint8_t> m(n);
    for (std::size_t i = 0; i < n; ++i) m[i] = static_cast<std::uint8_t>(i);
    return m;
}

// 8 output bytes (hex) as the little-endian word the hash returns.
std::uint64_t word(const char* hex) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | std::stoul(std::string(hex + 2 * i, 2), nullptr, 16);
    return v;
}

TEST(SipHash24, KeyBytesAreLittleEndianHalves) {
    const SipHashKey k = reference_key();
    EXPECT_EQ(k.k0, 0x0706050403020100ull);
    EXPECT_EQ(k.k1, 0x0f0e0d0c0b0a0908ull);
}

TEST(SipHash24, SixtyFourBitOutputMatchesTheReferenceVectors) {
    for (const Vector& v : kVectors) {
        const auto m = message(v.length);
        SipHash24 h(reference_key(), SipHash24::Width::bits64);
        h.update(m.data(), m.size());
        EXPECT_EQ(h.finish().first, word(v.out64)) << "length " << v.length;
    }
}

TEST(SipHash24, HundredTwentyEightBitOutputMatchesTheReferenceVectors) {
    for (const Vector& v : kVectors) {
        const auto m = message(v.length);
        SipHash24 h(reference_key());
        h.update(m.data(), m.size());
        const SipHash24::Result r = h.finish();
        EXPECT_EQ(r.first, word(v.out128)) << "length " << v.length;
        EXPECT_EQ(r.second, word(v.out128 + 16)) << "length " << v.length;
    }
}

TEST(SipHash24, FeedingInPiecesGivesTheSameHash) {
    std::mt19937 rng(3u);
    const auto m = message(64);
    for (int round = 0; round < 200; ++round) {
        SipHash24 h(reference_key());
        std::size_t at = 0;
        while (at < m.size()) {
            const std::size_t n = std::min<std::size_t>(m.size() - at, rng() % 11);
            h.update(m.data() + at, n);
            at += n;
        }
        const SipHash24::Result r = h.finish();
        EXPECT_EQ(r.first, word(kVectors[8].out128));
        EXPECT_EQ(r.second, word(kVectors[8].out128 + 16));
    }
}

TEST(SipHash24, AnU64IsItsEightLittleEndianBytes) {
    SipHash24 a(reference_key()), b(reference_key());
    a.update_u64(0x0706050403020100ull);
    const auto m = message(8);
    b.update(m.data(), m.size());
    const auto ra = a.finish(), rb = b.finish();
    EXPECT_EQ(ra.first, rb.first);
    EXPECT_EQ(ra.second, rb.second);
    EXPECT_EQ(ra.first, word(kVectors[3].out128));
}

TEST(SipHash24, AnotherKeyGivesAnotherHash) {
    SipHash24 a(reference_key()), b(SipHashKey{1, 0});
    a.update("call-id@host");
    b.update("call-id@host");
    EXPECT_NE(a.finish().first, b.finish().first);
}

}  // namespace
}  // namespace vg::engine
