// SPDX-License-Identifier: GPL-2.0-or-later
// NFQUEUE messages at byte level: verdicts (with and without packet mark,
// conntrack mark), batch verdicts, configuration commands, the parsing of
// hand-built NFQNL_MSG_PACKET messages (truncated and malformed ones too),
// and /proc/net/netfilter/nfnetlink_queue lines.
#include "daemon/netlink/nfqueue.h"

#include <gtest/gtest.h>

// glibc's network headers before the kernel's (linux/in.h defers to them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>
#include <string>

#include "tests/daemon/netlink/nl_bytes.h"

namespace vg::netlink {
namespace {

using test::nl::attrs;
using test::nl::be16;
using test::nl::be32;
using test::nl::Bytes;
using test::nl::header;
using test::nl::message_attrs;
using test::nl::MessageBuilder;

constexpr std::uint16_t kVerdictType = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
constexpr std::uint16_t kBatchType = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH;
constexpr std::uint16_t kConfigType = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
constexpr std::uint16_t kPacketType = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;

struct Buf {
    alignas(8) std::array<std::uint8_t, 256> b{};
    std::uint8_t* data() { return b.data(); }
};

void expect_verdict_hdr(const test::nl::Attr& a, std::uint32_t verdict, std::uint32_t id) {
    EXPECT_EQ(a.type, NFQA_VERDICT_HDR);
    EXPECT_EQ(a.len, 4 + 8);
    ASSERT_EQ(a.payload_len, 8u);
    EXPECT_EQ(be32(a.payload), verdict);
    EXPECT_EQ(be32(a.payload + 4), id);
}

// ---- verdicts ----

TEST(NfqBuildVerdict, AcceptWithoutMarkIsHeaderAndVerdictHdrOnly) {
    Buf buf;
    const std::size_t n = build_verdict(buf.data(), buf.b.size(), 7, 0x01020304, Verdict::accept, std::nullopt);
    ASSERT_EQ(n, 32u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.len, 32u);
    EXPECT_EQ(h.type, kVerdictType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST);
    EXPECT_EQ(h.seq, 0x01020304u);  // the packet id, so an error reply names the packet
    EXPECT_EQ(h.family, AF_UNSPEC);
    EXPECT_EQ(h.version, NFNETLINK_V0);
    EXPECT_EQ(h.res_id, 7);
    EXPECT_EQ(buf.b[18], 0x00);  // res_id in network order
    EXPECT_EQ(buf.b[19], 0x07);
    bool ok = false;
    const auto a = message_attrs(buf.data(), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(a.size(), 1u);
    expect_verdict_hdr(a[0], NF_ACCEPT, 0x01020304);
    // Network order on the wire, whatever the host.
    EXPECT_EQ(a[0].payload[3], 0x01);
    EXPECT_EQ(a[0].payload[4], 0x01);
    EXPECT_EQ(a[0].payload[7], 0x04);
}

TEST(NfqBuildVerdict, DropWithMarkAddsNfqaMarkInNetworkOrder) {
    Buf buf;
    const std::size_t n = build_verdict(buf.data(), buf.b.size(), 0x1234, 99, Verdict::drop, 0x20000001u);
    ASSERT_EQ(n, 40u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.len, 40u);
    EXPECT_EQ(h.type, kVerdictType);
    EXPECT_EQ(h.res_id, 0x1234);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 2u);
    expect_verdict_hdr(a[0], NF_DROP, 99);
    EXPECT_EQ(a[1].type, NFQA_MARK);
    EXPECT_EQ(a[1].len, 8);
    EXPECT_EQ(be32(a[1].payload), 0x20000001u);
    EXPECT_EQ(a[1].payload[0], 0x20);
}

TEST(NfqBuildVerdict, ConntrackMarkIsNestedCtaMarkUnderNfqaCt) {
    Buf buf;
    const std::size_t n = build_verdict(buf.data(), buf.b.size(), 1, 5, Verdict::accept, 0x10u, 0xabcd0001u);
    ASSERT_EQ(n, 52u);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[1].type, NFQA_MARK);
    EXPECT_EQ(a[2].type, NFQA_CT | NLA_F_NESTED);
    EXPECT_EQ(a[2].len, 4 + 8);
    const auto inner = test::nl::nested(a[2]);
    ASSERT_EQ(inner.size(), 1u);
    EXPECT_EQ(inner[0].type, CTA_MARK);
    EXPECT_EQ(inner[0].len, 8);
    EXPECT_EQ(be32(inner[0].payload), 0xabcd0001u);
}

TEST(NfqBuildVerdict, HighPacketIdIsWrittenUnchanged) {
    Buf buf;
    ASSERT_EQ(build_verdict(buf.data(), buf.b.size(), 0, 0xfffffffeu, Verdict::accept, std::nullopt), 32u);
    const auto a = message_attrs(buf.data());
    expect_verdict_hdr(a[0], NF_ACCEPT, 0xfffffffeu);
}

TEST(NfqBuildVerdict, TooSmallOrMisalignedBufferWritesNothing) {
    Buf buf;
    EXPECT_EQ(build_verdict(buf.data(), 31, 0, 1, Verdict::accept, std::nullopt), 0u);
    EXPECT_EQ(build_verdict(buf.data(), 39, 0, 1, Verdict::accept, 1u), 0u);
    EXPECT_EQ(build_verdict(buf.data(), 51, 0, 1, Verdict::accept, 1u, 1u), 0u);
    EXPECT_EQ(build_verdict(buf.data(), 32, 0, 1, Verdict::accept, std::nullopt), 32u);
    EXPECT_EQ(build_verdict(buf.data() + 1, 200, 0, 1, Verdict::accept, std::nullopt), 0u);
    EXPECT_EQ(build_verdict(nullptr, 200, 0, 1, Verdict::accept, std::nullopt), 0u);
    EXPECT_LE(52u, kVerdictMessageMax);
}

TEST(NfqBuildVerdict, BatchVerdictCarriesMaxIdAndMark) {
    Buf buf;
    const std::size_t n = build_verdict_batch(buf.data(), buf.b.size(), 7, 1000, Verdict::accept, 0x2au);
    ASSERT_EQ(n, 40u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kBatchType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST);
    EXPECT_EQ(h.res_id, 7);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 2u);
    expect_verdict_hdr(a[0], NF_ACCEPT, 1000);
    EXPECT_EQ(a[1].type, NFQA_MARK);
    EXPECT_EQ(be32(a[1].payload), 0x2au);
}

TEST(NfqBuildVerdict, BatchVerdictWithoutMarkHasOneAttribute) {
    Buf buf;
    ASSERT_EQ(build_verdict_batch(buf.data(), buf.b.size(), 3, 12, Verdict::drop, std::nullopt), 32u);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 1u);
    expect_verdict_hdr(a[0], NF_DROP, 12);
    EXPECT_EQ(build_verdict_batch(buf.data(), 31, 3, 12, Verdict::drop, std::nullopt), 0u);
}

// ---- configuration ----

TEST(NfqBuildConfig, BindSetsCommandParamsMaxlenAndFailOpenFlag) {
    Buf buf;
    NfQueueOptions o;
    o.queue = 7;
    o.copy_range = 65535;
    o.max_len = 2048;
    o.fail_open = true;
    const std::size_t n = build_bind(buf.data(), buf.b.size(), 0x55, o);
    ASSERT_EQ(n, 64u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.len, 64u);
    EXPECT_EQ(h.type, kConfigType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.seq, 0x55u);
    EXPECT_EQ(h.family, AF_UNSPEC);
    EXPECT_EQ(h.version, NFNETLINK_V0);
    EXPECT_EQ(h.res_id, 7);
    bool ok = false;
    const auto a = message_attrs(buf.data(), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(a.size(), 5u);

    EXPECT_EQ(a[0].type, NFQA_CFG_CMD);
    EXPECT_EQ(a[0].len, 4 + 4);
    EXPECT_EQ(a[0].payload[0], NFQNL_CFG_CMD_BIND);
    EXPECT_EQ(a[0].payload[1], 0);             // _pad
    EXPECT_EQ(be16(a[0].payload + 2), 0);      // pf: ignored for BIND

    EXPECT_EQ(a[1].type, NFQA_CFG_PARAMS);
    EXPECT_EQ(a[1].len, 4 + 5);                // packed: be32 range + u8 mode
    EXPECT_EQ(be32(a[1].payload), 65535u);
    EXPECT_EQ(a[1].payload[4], NFQNL_COPY_PACKET);

    EXPECT_EQ(a[2].type, NFQA_CFG_QUEUE_MAXLEN);
    EXPECT_EQ(a[2].len, 8);
    EXPECT_EQ(be32(a[2].payload), 2048u);

    EXPECT_EQ(a[3].type, NFQA_CFG_MASK);
    EXPECT_EQ(be32(a[3].payload), static_cast<std::uint32_t>(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_GSO));
    EXPECT_EQ(a[4].type, NFQA_CFG_FLAGS);
    EXPECT_EQ(a[4].len, 8);
    EXPECT_EQ(be32(a[4].payload), static_cast<std::uint32_t>(NFQA_CFG_F_FAIL_OPEN));
}

TEST(NfqBuildConfig, BindFailClosedWithGsoAndConntrackSetsThoseFlagsOnly) {
    Buf buf;
    NfQueueOptions o;
    o.queue = 300;
    o.fail_open = false;
    o.gso = true;
    o.conntrack_info = true;
    ASSERT_EQ(build_bind(buf.data(), buf.b.size(), 1, o), 64u);
    EXPECT_EQ(header(buf.data()).res_id, 300);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 5u);
    EXPECT_EQ(be32(a[4].payload), static_cast<std::uint32_t>(NFQA_CFG_F_GSO | NFQA_CFG_F_CONNTRACK));
    EXPECT_EQ(be32(a[2].payload), 1024u);  // default max_len
}

TEST(NfqBuildConfig, BindNeedsSixtyFourBytes) {
    Buf buf;
    EXPECT_EQ(build_bind(buf.data(), 63, 1, NfQueueOptions{}), 0u);
    EXPECT_EQ(build_bind(buf.data() + 2, 200, 1, NfQueueOptions{}), 0u);
}

TEST(NfqBuildConfig, UnbindIsCommandOnly) {
    Buf buf;
    ASSERT_EQ(build_unbind(buf.data(), buf.b.size(), 9, 42), 28u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kConfigType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.seq, 9u);
    EXPECT_EQ(h.res_id, 42);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].type, NFQA_CFG_CMD);
    EXPECT_EQ(a[0].payload[0], NFQNL_CFG_CMD_UNBIND);
}

TEST(NfqBuildConfig, FlagsMessageHasMaskThenFlags) {
    Buf buf;
    ASSERT_EQ(build_flags(buf.data(), buf.b.size(), 3, 65535, NFQA_CFG_F_CONNTRACK, NFQA_CFG_F_CONNTRACK), 36u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kConfigType);
    EXPECT_EQ(h.res_id, 65535);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].type, NFQA_CFG_MASK);
    EXPECT_EQ(be32(a[0].payload), static_cast<std::uint32_t>(NFQA_CFG_F_CONNTRACK));
    EXPECT_EQ(a[1].type, NFQA_CFG_FLAGS);
    EXPECT_EQ(be32(a[1].payload), static_cast<std::uint32_t>(NFQA_CFG_F_CONNTRACK));
}

// ---- packet parsing ----

Bytes packet_hdr(std::uint32_t id, std::uint16_t proto, std::uint8_t hook) {
    Bytes b = MessageBuilder::be32_bytes(id);
    b.push_back(static_cast<std::uint8_t>(proto >> 8));
    b.push_back(static_cast<std::uint8_t>(proto));
    b.push_back(hook);
    return b;  // 7 bytes, as struct nfqnl_msg_packet_hdr (packed)
}

const Bytes kPayload = [] {
    Bytes p(29);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(0x45 + i);
    return p;
}();

// As the kernel sends it: header, mark, devices, and the payload last,
// without padding after its odd length.
Bytes kernel_like_packet() {
    MessageBuilder m(kPacketType, 0, AF_INET, 7);
    m.attr(NFQA_PACKET_HDR, packet_hdr(0x11223344, 0x0800, NF_INET_FORWARD))
        .attr_be32(NFQA_IFINDEX_INDEV, 2)
        .attr_be32(NFQA_IFINDEX_OUTDEV, 3)
        .attr_be32(NFQA_MARK, 0x20000000)
        .attr(NFQA_PAYLOAD, kPayload, /*pad=*/false);
    return m.finish();
}

TEST(NfqParsePacket, KernelLayoutMessageGivesEveryField) {
    const Bytes msg = kernel_like_packet();
    QueuedPacket p;
    bool id_known = false;
    ASSERT_TRUE(parse_packet(msg.data(), msg.size(), p, &id_known));
    EXPECT_TRUE(id_known);
    EXPECT_EQ(p.id, 0x11223344u);
    EXPECT_EQ(p.hw_protocol, 0x0800);
    EXPECT_EQ(p.hook, NF_INET_FORWARD);
    EXPECT_EQ(p.family, AF_INET);
    EXPECT_EQ(p.queue, 7);
    EXPECT_EQ(p.mark, 0x20000000u);
    EXPECT_EQ(p.indev, 2u);
    EXPECT_EQ(p.outdev, 3u);
    EXPECT_EQ(p.physindev, 0u);
    ASSERT_EQ(p.payload_len, kPayload.size());
    EXPECT_EQ(Bytes(p.payload, p.payload + p.payload_len), kPayload);
    EXPECT_GE(p.payload, msg.data());
    EXPECT_LE(p.payload + p.payload_len, msg.data() + msg.size());
    EXPECT_EQ(p.cap_len, kPayload.size());
    EXPECT_FALSE(p.truncated());
}

TEST(NfqParsePacket, CapLenLargerThanPayloadMeansTruncated) {
    MessageBuilder m(kPacketType, 0, AF_INET6, 1);
    m.attr(NFQA_PACKET_HDR, packet_hdr(1, 0x86dd, NF_INET_PRE_ROUTING))
        .attr_be32(NFQA_CAP_LEN, 70000)
        .attr_be32(NFQA_SKB_INFO, NFQA_SKB_GSO)
        .attr(NFQA_PAYLOAD, kPayload);
    const Bytes msg = m.finish();
    QueuedPacket p;
    ASSERT_TRUE(parse_packet(msg.data(), msg.size(), p));
    EXPECT_EQ(p.family, AF_INET6);
    EXPECT_EQ(p.hw_protocol, 0x86dd);
    EXPECT_EQ(p.cap_len, 70000u);
    EXPECT_EQ(p.skb_info, static_cast<std::uint32_t>(NFQA_SKB_GSO));
    EXPECT_TRUE(p.truncated());
}

TEST(NfqParsePacket, MessageWithoutPayloadParsesWithEmptyPayload) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(5, 0x0800, NF_INET_LOCAL_OUT));
    const Bytes msg = m.finish();
    QueuedPacket p;
    ASSERT_TRUE(parse_packet(msg.data(), msg.size(), p));
    EXPECT_EQ(p.id, 5u);
    EXPECT_EQ(p.payload, nullptr);
    EXPECT_EQ(p.payload_len, 0u);
    EXPECT_EQ(p.mark, 0u);
}

TEST(NfqParsePacket, UnknownAttributeTypesAreSkipped) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(6, 0x0800, NF_INET_FORWARD))
        .attr(NFQA_PRIORITY, MessageBuilder::be32_bytes(1))
        .attr(60, Bytes{1, 2, 3})
        .attr(NFQA_PAYLOAD, kPayload);
    const Bytes msg = m.finish();
    QueuedPacket p;
    ASSERT_TRUE(parse_packet(msg.data(), msg.size(), p));
    EXPECT_EQ(p.id, 6u);
    EXPECT_EQ(p.payload_len, kPayload.size());
}

TEST(NfqParsePacket, MissingPacketHeaderIsRejectedWithoutId) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr_be32(NFQA_MARK, 1).attr(NFQA_PAYLOAD, kPayload);
    const Bytes msg = m.finish();
    QueuedPacket p;
    bool id_known = true;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p, &id_known));
    EXPECT_FALSE(id_known);
}

TEST(NfqParsePacket, WrongSizedMarkIsRejectedButIdStillKnown) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(77, 0x0800, NF_INET_FORWARD)).attr(NFQA_MARK, Bytes{0, 1});
    const Bytes msg = m.finish();
    QueuedPacket p;
    bool id_known = false;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p, &id_known));
    EXPECT_TRUE(id_known);
    EXPECT_EQ(p.id, 77u);
}

TEST(NfqParsePacket, ShortPacketHeaderIsRejected) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, Bytes{0, 0, 0, 1, 8, 0});  // 6 of 7 bytes
    const Bytes msg = m.finish();
    QueuedPacket p;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p));
}

TEST(NfqParsePacket, AttributeOverrunningTheMessageIsRejected) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(8, 0x0800, NF_INET_FORWARD));
    // An attribute header claiming 64 bytes with only 4 behind it.
    m.raw(Bytes{64, 0, NFQA_PAYLOAD, 0, 1, 2, 3, 4});
    const Bytes msg = m.finish();
    QueuedPacket p;
    bool id_known = false;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p, &id_known));
    EXPECT_TRUE(id_known);
    EXPECT_EQ(p.id, 8u);
}

TEST(NfqParsePacket, AttributeShorterThanItsHeaderIsRejected) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(9, 0x0800, NF_INET_FORWARD));
    m.raw(Bytes{2, 0, NFQA_MARK, 0});
    const Bytes msg = m.finish();
    QueuedPacket p;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p));
}

TEST(NfqParsePacket, TrailingBytesAfterTheLastAttributeAreRejected) {
    MessageBuilder m(kPacketType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(10, 0x0800, NF_INET_FORWARD)).raw(Bytes{0xff, 0xff});
    const Bytes msg = m.finish();
    QueuedPacket p;
    EXPECT_FALSE(parse_packet(msg.data(), msg.size(), p));
}

TEST(NfqParsePacket, OtherMessageTypesAndShortHeadersAreRejected) {
    MessageBuilder m(kVerdictType, 0, AF_INET, 0);
    m.attr(NFQA_PACKET_HDR, packet_hdr(1, 0x0800, 0));
    const Bytes verdict = m.finish();
    QueuedPacket p;
    EXPECT_FALSE(parse_packet(verdict.data(), verdict.size(), p));

    Bytes tiny = MessageBuilder(kPacketType, 0, AF_INET, 0).finish();
    tiny.resize(18);  // nlmsghdr + half an nfgenmsg
    test::nl::set_len(tiny.data(), 18);
    EXPECT_FALSE(parse_packet(tiny.data(), tiny.size(), p));
}

TEST(NfqParsePacket, BufferShorterThanTheMessageIsRejected) {
    const Bytes msg = kernel_like_packet();
    for (std::size_t n = 0; n < msg.size(); ++n) {
        auto copy = test::nl::exact_copy(msg, n);
        QueuedPacket p;
        EXPECT_FALSE(parse_packet(copy.get(), n, p)) << "cut at " << n;
    }
}

TEST(NfqParsePacket, MessageCutAtEveryByteNeverReadsPastItsLength) {
    // nlmsg_len says n: a cut message that still claims to be whole. Any
    // read past n bytes would be caught by AddressSanitizer.
    const Bytes msg = kernel_like_packet();
    std::size_t accepted = 0;
    for (std::size_t n = 16; n <= msg.size(); ++n) {
        auto copy = test::nl::exact_copy(msg, n);
        test::nl::set_len(copy.get(), static_cast<std::uint32_t>(n));
        QueuedPacket p;
        if (parse_packet(copy.get(), n, p)) {
            ++accepted;
            if (p.payload != nullptr) {
                EXPECT_LE(p.payload + p.payload_len, copy.get() + n);
            }
        }
    }
    // Only cuts between whole attributes parse: after the packet header
    // (31 bytes, or 32 with its padding; the last attribute may lack it),
    // after indev (40), outdev (48), mark (56), and the whole message (89).
    EXPECT_EQ(msg.size(), 89u);
    EXPECT_EQ(accepted, 6u);
}

// ---- /proc ----

TEST(NfqProcStats, ParsesTheLineOfTheQueue) {
    const std::string text =
        "    0  12345     0 2 65531     0     0        0  1\n"
        "    7   4242     3 2 65531    11    22      999  1\n";
    const auto s = parse_queue_stats(text, 7);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->queue, 7);
    EXPECT_EQ(s->peer_portid, 4242u);
    EXPECT_EQ(s->queue_total, 3u);
    EXPECT_EQ(s->copy_mode, 2u);
    EXPECT_EQ(s->copy_range, 65531u);
    EXPECT_EQ(s->queue_dropped, 11u);
    EXPECT_EQ(s->user_dropped, 22u);
    EXPECT_EQ(s->id_sequence, 999u);
    EXPECT_EQ(parse_queue_stats(text, 0)->peer_portid, 12345u);
}

TEST(NfqProcStats, MissingQueueOrShortLineGivesNothing) {
    EXPECT_FALSE(parse_queue_stats("    0  1 0 2 65531 0 0 0 1\n", 7).has_value());
    EXPECT_FALSE(parse_queue_stats("    7  1 0 2\n", 7).has_value());
    EXPECT_FALSE(parse_queue_stats("", 7).has_value());
    EXPECT_FALSE(parse_queue_stats("garbage\n\n", 7).has_value());
    EXPECT_FALSE(read_queue_stats(7, "/nonexistent/nfnetlink_queue").has_value());
}

}  // namespace
}  // namespace vg::netlink
