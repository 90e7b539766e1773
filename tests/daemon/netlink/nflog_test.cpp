// SPDX-License-Identifier: GPL-2.0-or-later
// NFLOG messages at byte level: the bind and unbind configuration, and the
// parsing of hand-built NFULNL_MSG_PACKET messages (malformed and cut ones too).
#include "daemon/netlink/nflog.h"

#include <gtest/gtest.h>

// glibc's network headers before the kernel's (linux/in.h defers to them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>

#include "tests/daemon/netlink/nl_bytes.h"

namespace vg::netlink {
namespace {

using test::nl::be16;
using test::nl::be32;
using test::nl::Bytes;
using test::nl::header;
using test::nl::message_attrs;
using test::nl::MessageBuilder;

constexpr std::uint16_t kConfigType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
constexpr std::uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;

struct Buf {
    alignas(8) std::array<std::uint8_t, 256> b{};
    std::uint8_t* data() { return b.data(); }
};

TEST(NflogBuild, BindCarriesCommandModeThresholdTimeoutAndFlags) {
    Buf buf;
    NflogOptions o;
    o.group = 5060;
    o.copy_range = 512;
    o.queue_threshold = 4;
    o.timeout_cs = 10;
    o.sequence = true;
    const std::size_t n = build_nflog_bind(buf.data(), buf.b.size(), 0x99, o);
    ASSERT_EQ(n, 64u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.len, 64u);
    EXPECT_EQ(h.type, kConfigType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.seq, 0x99u);
    EXPECT_EQ(h.family, AF_UNSPEC);
    EXPECT_EQ(h.version, NFNETLINK_V0);
    EXPECT_EQ(h.res_id, 5060);
    EXPECT_EQ(buf.b[18], 0x13);  // 5060 = 0x13c4, network order
    EXPECT_EQ(buf.b[19], 0xc4);
    bool ok = false;
    const auto a = message_attrs(buf.data(), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(a.size(), 5u);

    EXPECT_EQ(a[0].type, NFULA_CFG_CMD);
    EXPECT_EQ(a[0].len, 4 + 1);
    EXPECT_EQ(a[0].payload[0], NFULNL_CFG_CMD_BIND);

    EXPECT_EQ(a[1].type, NFULA_CFG_MODE);
    EXPECT_EQ(a[1].len, 4 + 6);  // packed: be32 range, u8 mode, u8 pad
    EXPECT_EQ(be32(a[1].payload), 512u);
    EXPECT_EQ(a[1].payload[4], NFULNL_COPY_PACKET);
    EXPECT_EQ(a[1].payload[5], 0);

    EXPECT_EQ(a[2].type, NFULA_CFG_QTHRESH);
    EXPECT_EQ(a[2].len, 8);
    EXPECT_EQ(be32(a[2].payload), 4u);
    EXPECT_EQ(a[3].type, NFULA_CFG_TIMEOUT);
    EXPECT_EQ(be32(a[3].payload), 10u);
    EXPECT_EQ(a[4].type, NFULA_CFG_FLAGS);
    EXPECT_EQ(a[4].len, 4 + 2);  // __be16
    EXPECT_EQ(be16(a[4].payload), NFULNL_CFG_F_SEQ);
}

TEST(NflogBuild, BindWithoutSequenceSendsZeroFlags) {
    Buf buf;
    NflogOptions o;
    o.sequence = false;
    ASSERT_EQ(build_nflog_bind(buf.data(), buf.b.size(), 1, o), 64u);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 5u);
    EXPECT_EQ(be16(a[4].payload), 0);
    EXPECT_EQ(build_nflog_bind(buf.data(), 63, 1, o), 0u);
    EXPECT_EQ(build_nflog_bind(buf.data() + 1, 200, 1, o), 0u);
}

TEST(NflogBuild, UnbindIsCommandOnly) {
    Buf buf;
    ASSERT_EQ(build_nflog_unbind(buf.data(), buf.b.size(), 2, 9), 28u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kConfigType);
    EXPECT_EQ(h.res_id, 9);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].payload[0], NFULNL_CFG_CMD_UNBIND);
}

const Bytes kPayload = [] {
    Bytes p(23);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(0x60 + i);
    return p;
}();

Bytes hdr(std::uint16_t proto, std::uint8_t hook) {
    return Bytes{static_cast<std::uint8_t>(proto >> 8), static_cast<std::uint8_t>(proto), hook, 0};
}

// In the order nfnetlink_log writes them; the payload last and unpadded.
Bytes logged_packet() {
    MessageBuilder m(kPacketType, NLM_F_MULTI, AF_INET, 5060);
    m.attr(NFULA_PACKET_HDR, hdr(0x0800, NF_INET_FORWARD))
        .attr(NFULA_PREFIX, Bytes{'v', 'g', '-', 'd', 'r', 'o', 'p', 0})
        .attr_be32(NFULA_IFINDEX_INDEV, 4)
        .attr_be32(NFULA_IFINDEX_OUTDEV, 5)
        .attr_be32(NFULA_MARK, 0x1234)
        .attr_be32(NFULA_SEQ, 41)
        .attr(NFULA_PAYLOAD, kPayload, /*pad=*/false);
    return m.finish();
}

TEST(NflogParse, LoggedPacketGivesEveryField) {
    const Bytes msg = logged_packet();
    LoggedPacket p;
    ASSERT_TRUE(parse_log_packet(msg.data(), msg.size(), p));
    EXPECT_EQ(p.family, AF_INET);
    EXPECT_EQ(p.group, 5060);
    EXPECT_EQ(p.hw_protocol, 0x0800);
    EXPECT_EQ(p.hook, NF_INET_FORWARD);
    EXPECT_EQ(p.prefix, "vg-drop");
    EXPECT_EQ(p.indev, 4u);
    EXPECT_EQ(p.outdev, 5u);
    EXPECT_EQ(p.mark, 0x1234u);
    ASSERT_TRUE(p.seq.has_value());
    EXPECT_EQ(*p.seq, 41u);
    ASSERT_EQ(p.payload_len, kPayload.size());
    EXPECT_EQ(Bytes(p.payload, p.payload + p.payload_len), kPayload);
}

TEST(NflogParse, MinimalMessageHasOnlyTheHeader) {
    MessageBuilder m(kPacketType, 0, AF_INET6, 1);
    m.attr(NFULA_PACKET_HDR, hdr(0x86dd, NF_INET_LOCAL_IN));
    const Bytes msg = m.finish();
    LoggedPacket p;
    ASSERT_TRUE(parse_log_packet(msg.data(), msg.size(), p));
    EXPECT_EQ(p.hw_protocol, 0x86dd);
    EXPECT_TRUE(p.prefix.empty());
    EXPECT_FALSE(p.seq.has_value());
    EXPECT_EQ(p.payload_len, 0u);
}

TEST(NflogParse, MalformedMessagesAreRejected) {
    LoggedPacket p;
    {  // prefix without its NUL
        MessageBuilder m(kPacketType, 0, AF_INET, 1);
        m.attr(NFULA_PACKET_HDR, hdr(0x0800, 0)).attr(NFULA_PREFIX, Bytes{'a', 'b'});
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
    {  // packet header of three bytes
        MessageBuilder m(kPacketType, 0, AF_INET, 1);
        m.attr(NFULA_PACKET_HDR, Bytes{8, 0, 1});
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
    {  // no packet header
        MessageBuilder m(kPacketType, 0, AF_INET, 1);
        m.attr_be32(NFULA_MARK, 1);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
    {  // ifindex of two bytes
        MessageBuilder m(kPacketType, 0, AF_INET, 1);
        m.attr(NFULA_PACKET_HDR, hdr(0x0800, 0)).attr(NFULA_IFINDEX_INDEV, Bytes{0, 1});
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
    {  // attribute running past the message
        MessageBuilder m(kPacketType, 0, AF_INET, 1);
        m.attr(NFULA_PACKET_HDR, hdr(0x0800, 0)).raw(Bytes{200, 0, NFULA_PAYLOAD, 0, 1, 2, 3, 4});
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
    {  // NLMSG_DONE closing a batch is no packet
        MessageBuilder m(NLMSG_DONE, NLM_F_MULTI, AF_INET, 1);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_log_packet(msg.data(), msg.size(), p));
    }
}

TEST(NflogParse, MessageCutAtEveryByteNeverReadsPastItsLength) {
    const Bytes msg = logged_packet();
    std::size_t accepted = 0;
    for (std::size_t n = 0; n <= msg.size(); ++n) {
        auto copy = test::nl::exact_copy(msg, n);
        LoggedPacket p;
        // The buffer is shorter than nlmsg_len says: always rejected.
        if (n < msg.size()) {
            EXPECT_FALSE(parse_log_packet(copy.get(), n, p)) << n;
        }
        if (n < 16) continue;
        test::nl::set_len(copy.get(), static_cast<std::uint32_t>(n));
        if (parse_log_packet(copy.get(), n, p)) {
            ++accepted;
            if (p.payload != nullptr) {
                EXPECT_LE(p.payload + p.payload_len, copy.get() + n);
            }
            EXPECT_LE(reinterpret_cast<const std::uint8_t*>(p.prefix.data() + p.prefix.size()), copy.get() + n);
        }
    }
    // After each whole attribute: header (28), prefix (40), indev (48),
    // outdev (56), mark (64), seq (72), and the whole message (99).
    EXPECT_EQ(msg.size(), 99u);
    EXPECT_EQ(accepted, 7u);
}

}  // namespace
}  // namespace vg::netlink
