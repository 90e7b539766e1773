// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/byte_reader.h"

#include <gtest/gtest.h>

#include <limits>

namespace vg::net {
namespace {

TEST(ByteReaderTest, ReadsBigEndianFieldsInOrder) {
    const std::uint8_t d[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    ByteReader r(d, sizeof d);
    std::uint8_t a = 0;
    std::uint16_t b = 0;
    std::uint32_t c = 0;
    ASSERT_TRUE(r.u8(a));
    ASSERT_TRUE(r.u16(b));
    ASSERT_TRUE(r.u32(c));
    EXPECT_EQ(a, 0x01);
    EXPECT_EQ(b, 0x0203);
    EXPECT_EQ(c, 0x04050607u);
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_FALSE(r.u8(a));
}

TEST(ByteReaderTest, FailedReadLeavesPositionAndOutputUnchanged) {
    const std::uint8_t d[] = {0xaa, 0xbb, 0xcc};
    ByteReader r(d, sizeof d);
    std::uint32_t v = 42;
    EXPECT_FALSE(r.u32(v));
    EXPECT_EQ(v, 42u);
    EXPECT_EQ(r.offset(), 0u);
    ASSERT_TRUE(r.skip(2));
    std::uint16_t w = 7;
    EXPECT_FALSE(r.u16(w));
    EXPECT_EQ(w, 7);
    EXPECT_EQ(r.offset(), 2u);
}

TEST(ByteReaderTest, HugeSkipDoesNotOverflow) {
    const std::uint8_t d[4] = {};
    ByteReader r(d, sizeof d);
    ASSERT_TRUE(r.skip(1));
    EXPECT_FALSE(r.skip(std::numeric_limits<std::size_t>::max()));
    EXPECT_FALSE(r.skip(4));
    EXPECT_TRUE(r.skip(3));
    EXPECT_FALSE(r.seek(5));
    EXPECT_TRUE(r.seek(4));
}

TEST(ByteReaderTest, BytesCopiesAndBoundsChecks) {
    const std::uint8_t d[] = {1, 2, 3};
    ByteReader r(d, sizeof d);
    std::uint8_t out[3] = {};
    EXPECT_FALSE(r.bytes(out, 4));
    ASSERT_TRUE(r.bytes(out, 3));
    EXPECT_EQ(out[2], 3);
}

TEST(ByteReaderTest, LoadAtAbsoluteOffsetChecksBounds) {
    const std::uint8_t d[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    std::uint16_t s = 0;
    std::uint32_t l = 0;
    EXPECT_TRUE(load_be16(d, sizeof d, 3, s));
    EXPECT_EQ(s, 0x789a);
    EXPECT_FALSE(load_be16(d, sizeof d, 4, s));
    EXPECT_FALSE(load_be16(d, sizeof d, std::numeric_limits<std::size_t>::max(), s));
    EXPECT_TRUE(load_be32(d, sizeof d, 1, l));
    EXPECT_EQ(l, 0x3456789au);
    EXPECT_FALSE(load_be32(d, sizeof d, 2, l));
}

TEST(ByteReaderTest, UnalignedReadsWork) {
    std::uint8_t storage[16] = {};
    storage[1] = 0xde;
    storage[2] = 0xad;
    storage[3] = 0xbe;
    storage[4] = 0xef;
    ByteReader r(storage + 1, 4);
    std::uint32_t v = 0;
    ASSERT_TRUE(r.u32(v));
    EXPECT_EQ(v, 0xdeadbeefu);
}

}  // namespace
}  // namespace vg::net
