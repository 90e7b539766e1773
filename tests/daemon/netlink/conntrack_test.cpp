// SPDX-License-Identifier: GPL-2.0-or-later
// ctnetlink messages at byte level: deletes of IPv4 and IPv6 flows, deletes
// of dumped tuples, the flush by mark, dump requests, and the parsing of
// hand-built dump entries (malformed ones too).
#include "daemon/netlink/conntrack.h"

#include <gtest/gtest.h>

// glibc's network headers before the kernel's (linux/in.h defers to them).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>

#include "tests/daemon/netlink/nl_bytes.h"

namespace vg::netlink {
namespace {

using test::nl::Attr;
using test::nl::be16;
using test::nl::be32;
using test::nl::Bytes;
using test::nl::header;
using test::nl::message_attrs;
using test::nl::MessageBuilder;
using test::nl::nested;

constexpr std::uint16_t kDeleteType = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
constexpr std::uint16_t kGetType = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
constexpr std::uint16_t kNewType = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;

struct Buf {
    alignas(8) std::array<std::uint8_t, 512> b{};
    std::uint8_t* data() { return b.data(); }
};

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

Bytes addr_bytes(const char* text) {
    const auto a = ip(text);
    return Bytes(a.bytes(), a.bytes() + a.byte_length());
}

// Checks CTA_TUPLE_ORIG { CTA_TUPLE_IP {src, dst}, CTA_TUPLE_PROTO {num, sport, dport} }.
void expect_tuple(const Attr& tuple, std::uint16_t src_type, const Bytes& src, const Bytes& dst,
                  std::uint8_t proto, std::uint16_t sport, std::uint16_t dport) {
    bool ok = false;
    const auto parts = nested(tuple, &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].type, CTA_TUPLE_IP | NLA_F_NESTED);
    EXPECT_EQ(parts[1].type, CTA_TUPLE_PROTO | NLA_F_NESTED);

    const auto ips = nested(parts[0], &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(ips.size(), 2u);
    EXPECT_EQ(ips[0].type, src_type);
    EXPECT_EQ(ips[1].type, src_type + 1);
    EXPECT_EQ(ips[0].len, 4 + src.size());
    EXPECT_EQ(Bytes(ips[0].payload, ips[0].payload + ips[0].payload_len), src);
    EXPECT_EQ(Bytes(ips[1].payload, ips[1].payload + ips[1].payload_len), dst);

    const auto pr = nested(parts[1], &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(pr.size(), 3u);
    EXPECT_EQ(pr[0].type, CTA_PROTO_NUM);
    EXPECT_EQ(pr[0].len, 5);
    EXPECT_EQ(pr[0].payload[0], proto);
    EXPECT_EQ(pr[1].type, CTA_PROTO_SRC_PORT);
    EXPECT_EQ(pr[1].len, 6);
    EXPECT_EQ(be16(pr[1].payload), sport);
    EXPECT_EQ(pr[2].type, CTA_PROTO_DST_PORT);
    EXPECT_EQ(pr[2].len, 6);
    EXPECT_EQ(be16(pr[2].payload), dport);
}

// ---- builders ----

TEST(CtBuildDelete, Ipv4FlowIsOrigTupleWithV4AddressesAndPorts) {
    Buf buf;
    const FlowSpec f{ip("198.51.100.7"), ip("192.168.10.23"), IPPROTO_UDP, 10000, 4000};
    const std::size_t n = build_ct_delete(buf.data(), buf.b.size(), 0x77, f);
    ASSERT_EQ(n, 72u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.len, 72u);
    EXPECT_EQ(h.type, kDeleteType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.seq, 0x77u);
    EXPECT_EQ(h.family, AF_INET);
    EXPECT_EQ(h.version, NFNETLINK_V0);
    EXPECT_EQ(h.res_id, 0);
    bool ok = false;
    const auto a = message_attrs(buf.data(), &ok);
    ASSERT_TRUE(ok);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].type, CTA_TUPLE_ORIG | NLA_F_NESTED);
    EXPECT_EQ(a[0].len, 72 - 20);
    expect_tuple(a[0], CTA_IP_V4_SRC, Bytes{198, 51, 100, 7}, Bytes{192, 168, 10, 23}, IPPROTO_UDP, 10000, 4000);
    // Port 10000 = 0x2710 in network order.
    const auto proto = nested(nested(a[0])[1]);
    EXPECT_EQ(proto[1].payload[0], 0x27);
    EXPECT_EQ(proto[1].payload[1], 0x10);
}

TEST(CtBuildDelete, Ipv6FlowUsesV6AttributesOfSixteenBytes) {
    Buf buf;
    const FlowSpec f{ip("2001:db8::5"), ip("2001:db8:1::23"), IPPROTO_TCP, 5061, 40123};
    const std::size_t n = build_ct_delete(buf.data(), buf.b.size(), 1, f);
    ASSERT_EQ(n, 96u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.family, AF_INET6);
    EXPECT_EQ(h.type, kDeleteType);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 1u);
    expect_tuple(a[0], CTA_IP_V6_SRC, addr_bytes("2001:db8::5"), addr_bytes("2001:db8:1::23"), IPPROTO_TCP, 5061,
                 40123);
}

TEST(CtBuildDelete, MixedFamiliesOrTooSmallBufferWriteNothing) {
    Buf buf;
    EXPECT_EQ(build_ct_delete(buf.data(), buf.b.size(), 1, FlowSpec{ip("192.0.2.1"), ip("2001:db8::1"), IPPROTO_UDP, 1, 2}), 0u);
    EXPECT_EQ(build_ct_delete(buf.data(), buf.b.size(), 1, FlowSpec{}), 0u);
    const FlowSpec f{ip("192.0.2.1"), ip("192.0.2.2"), IPPROTO_UDP, 1, 2};
    EXPECT_EQ(build_ct_delete(buf.data(), 71, 1, f), 0u);
    EXPECT_EQ(build_ct_delete(buf.data(), 72, 1, f), 72u);
    EXPECT_EQ(build_ct_delete(buf.data() + 2, 200, 1, f), 0u);
}

TEST(CtBuildDelete, ReversedFlowSwapsEnds) {
    const FlowSpec f{ip("192.0.2.1"), ip("192.0.2.2"), IPPROTO_UDP, 1000, 2000};
    const FlowSpec r = f.reversed();
    EXPECT_EQ(r.src, f.dst);
    EXPECT_EQ(r.dst, f.src);
    EXPECT_EQ(r.src_port, 2000);
    EXPECT_EQ(r.dst_port, 1000);
    EXPECT_EQ(r.protocol, IPPROTO_UDP);
}

TEST(CtBuildFlushMark, MarkAndMaskWithoutTupleForAllFamilies) {
    Buf buf;
    const std::size_t n = build_ct_flush_mark(buf.data(), buf.b.size(), 12, 0x20000000, 0x20000000);
    ASSERT_EQ(n, 36u);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kDeleteType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.seq, 12u);
    EXPECT_EQ(h.family, AF_UNSPEC);
    EXPECT_EQ(h.version, NFNETLINK_V0);  // version 0: no family filter
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].type, CTA_MARK);
    EXPECT_EQ(a[0].len, 8);
    EXPECT_EQ(be32(a[0].payload), 0x20000000u);
    EXPECT_EQ(a[0].payload[0], 0x20);
    EXPECT_EQ(a[1].type, CTA_MARK_MASK);
    EXPECT_EQ(be32(a[1].payload), 0x20000000u);
    EXPECT_EQ(build_ct_flush_mark(buf.data(), 35, 12, 1, 1), 0u);
}

TEST(CtBuildDump, DumpRequestWithAndWithoutMarkFilter) {
    Buf buf;
    ASSERT_EQ(build_ct_dump(buf.data(), buf.b.size(), 3, AF_UNSPEC), 20u);
    auto h = header(buf.data());
    EXPECT_EQ(h.type, kGetType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_DUMP);
    EXPECT_EQ(h.family, AF_UNSPEC);

    ASSERT_EQ(build_ct_dump(buf.data(), buf.b.size(), 4, AF_INET6, 0x5u, 0xfu), 36u);
    h = header(buf.data());
    EXPECT_EQ(h.family, AF_INET6);
    EXPECT_EQ(h.seq, 4u);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].type, CTA_MARK);
    EXPECT_EQ(be32(a[0].payload), 5u);
    EXPECT_EQ(a[1].type, CTA_MARK_MASK);
    EXPECT_EQ(be32(a[1].payload), 0xfu);
}

TEST(CtBuildDeleteRaw, SendsTheDumpedTupleBackWithIdAndZone) {
    // A tuple attribute as a dump delivers it (no NLA_F_NESTED, as the kernel sends).
    MessageBuilder t(0, 0, 0, 0);
    const std::size_t orig = t.begin(CTA_TUPLE_ORIG);
    const std::size_t ipn = t.begin(CTA_TUPLE_IP);
    t.attr(CTA_IP_V4_SRC, Bytes{10, 0, 0, 1}).attr(CTA_IP_V4_DST, Bytes{10, 0, 0, 2}).end(ipn);
    const std::size_t pn = t.begin(CTA_TUPLE_PROTO);
    t.attr_u8(CTA_PROTO_NUM, IPPROTO_ICMP).attr_be16(CTA_PROTO_ICMP_ID, 77).attr_u8(CTA_PROTO_ICMP_TYPE, 8)
        .attr_u8(CTA_PROTO_ICMP_CODE, 0).end(pn);
    t.end(orig);
    const Bytes whole = t.finish();
    const Bytes tuple(whole.begin() + 20, whole.end());

    Buf buf;
    const std::size_t n = build_ct_delete_raw(buf.data(), buf.b.size(), 8, AF_INET, tuple.data(), tuple.size(),
                                              0xdeadbeefu, static_cast<std::uint16_t>(3));
    ASSERT_EQ(n, 20 + tuple.size() + 8 + 8);
    const auto h = header(buf.data());
    EXPECT_EQ(h.type, kDeleteType);
    EXPECT_EQ(h.flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(h.family, AF_INET);
    EXPECT_EQ(Bytes(buf.data() + 20, buf.data() + 20 + tuple.size()), tuple);
    const auto a = message_attrs(buf.data());
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].type, CTA_TUPLE_ORIG);
    EXPECT_EQ(a[1].type, CTA_ID);
    EXPECT_EQ(be32(a[1].payload), 0xdeadbeefu);
    EXPECT_EQ(a[2].type, CTA_ZONE);
    EXPECT_EQ(a[2].len, 6);
    EXPECT_EQ(be16(a[2].payload), 3);

    EXPECT_EQ(build_ct_delete_raw(buf.data(), buf.b.size(), 8, AF_INET, tuple.data(), tuple.size(), std::nullopt,
                                  std::nullopt),
              20 + tuple.size());
    EXPECT_EQ(build_ct_delete_raw(buf.data(), buf.b.size(), 8, AF_INET, tuple.data(), 3, std::nullopt, std::nullopt), 0u);
}

// ---- dump parsing ----

void add_tuple(MessageBuilder& m, std::uint16_t type, bool v6, const Bytes& src, const Bytes& dst,
               std::uint8_t proto, std::uint16_t sport, std::uint16_t dport) {
    const std::size_t t = m.begin(type | NLA_F_NESTED);
    const std::size_t i = m.begin(CTA_TUPLE_IP | NLA_F_NESTED);
    m.attr(v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, src).attr(v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, dst).end(i);
    const std::size_t p = m.begin(CTA_TUPLE_PROTO | NLA_F_NESTED);
    m.attr_u8(CTA_PROTO_NUM, proto).attr_be16(CTA_PROTO_SRC_PORT, sport).attr_be16(CTA_PROTO_DST_PORT, dport).end(p);
    m.end(t);
}

// PBX media 198.51.100.7:10000 -> router 203.0.113.1:4000, DNAT to handset 192.168.10.23:4000.
Bytes nat_entry() {
    MessageBuilder m(kNewType, NLM_F_MULTI, AF_INET, 0, 5);
    add_tuple(m, CTA_TUPLE_ORIG, false, Bytes{198, 51, 100, 7}, Bytes{203, 0, 113, 1}, IPPROTO_UDP, 10000, 4000);
    add_tuple(m, CTA_TUPLE_REPLY, false, Bytes{192, 168, 10, 23}, Bytes{198, 51, 100, 7}, IPPROTO_UDP, 4000, 10000);
    m.attr_be32(CTA_STATUS, 0x18e).attr_be32(CTA_TIMEOUT, 30).attr_be32(CTA_MARK, 0x20000000)
        .attr_be32(CTA_ID, 0x01020304).attr_be16(CTA_ZONE, 0);
    return m.finish();
}

TEST(CtParseEntry, DumpedEntryGivesBothTuplesMarkIdAndRawOrig) {
    const Bytes msg = nat_entry();
    CtEntry e;
    ASSERT_TRUE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    EXPECT_EQ(e.family, AF_INET);
    EXPECT_EQ(e.orig.src, ip("198.51.100.7"));
    EXPECT_EQ(e.orig.dst, ip("203.0.113.1"));
    EXPECT_EQ(e.orig.protocol, IPPROTO_UDP);
    EXPECT_TRUE(e.orig.has_ports);
    EXPECT_EQ(e.orig.src_port, 10000);
    EXPECT_EQ(e.orig.dst_port, 4000);
    EXPECT_EQ(e.reply.src, ip("192.168.10.23"));
    EXPECT_EQ(e.reply.dst_port, 10000);
    ASSERT_TRUE(e.mark.has_value());
    EXPECT_EQ(*e.mark, 0x20000000u);
    ASSERT_TRUE(e.id.has_value());
    EXPECT_EQ(*e.id, 0x01020304u);
    ASSERT_TRUE(e.zone.has_value());
    EXPECT_EQ(*e.zone, 0);
    ASSERT_NE(e.orig_attr, nullptr);
    EXPECT_EQ(e.orig_attr, msg.data() + 20);
    EXPECT_EQ(test::nl::host16(e.orig_attr), e.orig_attr_len);
}

TEST(CtParseEntry, HandsetBehindNatIsFoundInTheReplyTuple) {
    const Bytes msg = nat_entry();
    CtEntry e;
    ASSERT_TRUE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    EXPECT_TRUE(ct_entry_has_endpoint(e, ip("192.168.10.23"), 4000));
    EXPECT_TRUE(ct_entry_has_endpoint(e, ip("192.168.10.23"), 4000, IPPROTO_UDP));
    EXPECT_FALSE(ct_entry_has_endpoint(e, ip("192.168.10.23"), 4000, IPPROTO_TCP));
    EXPECT_FALSE(ct_entry_has_endpoint(e, ip("192.168.10.23"), 4001));
    EXPECT_TRUE(ct_entry_has_endpoint(e, ip("198.51.100.7"), 10000));
    EXPECT_FALSE(ct_entry_has_endpoint(e, ip("192.168.10.24"), 4000));
}

TEST(CtParseEntry, Ipv6EntryParses) {
    MessageBuilder m(kNewType, NLM_F_MULTI, AF_INET6, 0);
    add_tuple(m, CTA_TUPLE_ORIG, true, addr_bytes("2001:db8::5"), addr_bytes("2001:db8::23"), IPPROTO_UDP, 1, 2);
    const Bytes msg = m.finish();
    CtEntry e;
    ASSERT_TRUE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    EXPECT_EQ(e.orig.src, ip("2001:db8::5"));
    EXPECT_EQ(e.orig.dst, ip("2001:db8::23"));
    EXPECT_FALSE(e.mark.has_value());
}

TEST(CtParseEntry, BuiltDeleteTupleReadsBackAsTheFlow) {
    Buf buf;
    const FlowSpec f{ip("2001:db8::5"), ip("2001:db8:1::23"), IPPROTO_UDP, 10000, 4000};
    const std::size_t n = build_ct_delete(buf.data(), buf.b.size(), 1, f);
    ASSERT_GT(n, 0u);
    const std::uint16_t type = kNewType;
    std::memcpy(buf.data() + 4, &type, 2);
    CtEntry e;
    ASSERT_TRUE(parse_ct_entry(as_nlmsghdr(buf.data()), e));
    EXPECT_EQ(e.orig.src, f.src);
    EXPECT_EQ(e.orig.dst, f.dst);
    EXPECT_EQ(e.orig.src_port, f.src_port);
    EXPECT_EQ(e.orig.dst_port, f.dst_port);
    EXPECT_EQ(e.orig.protocol, f.protocol);
}

TEST(CtParseEntry, MalformedEntriesAreRejected) {
    CtEntry e;
    {  // IPv6 addresses in an IPv4 entry
        MessageBuilder m(kNewType, 0, AF_INET, 0);
        add_tuple(m, CTA_TUPLE_ORIG, true, addr_bytes("2001:db8::5"), addr_bytes("2001:db8::23"), IPPROTO_UDP, 1, 2);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
    {  // no original tuple
        MessageBuilder m(kNewType, 0, AF_INET, 0);
        add_tuple(m, CTA_TUPLE_REPLY, false, Bytes{1, 2, 3, 4}, Bytes{5, 6, 7, 8}, IPPROTO_UDP, 1, 2);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
    {  // a three-byte port
        MessageBuilder m(kNewType, 0, AF_INET, 0);
        const std::size_t t = m.begin(CTA_TUPLE_ORIG);
        const std::size_t i = m.begin(CTA_TUPLE_IP);
        m.attr(CTA_IP_V4_SRC, Bytes{1, 2, 3, 4}).attr(CTA_IP_V4_DST, Bytes{5, 6, 7, 8}).end(i);
        const std::size_t p = m.begin(CTA_TUPLE_PROTO);
        m.attr_u8(CTA_PROTO_NUM, IPPROTO_UDP).attr(CTA_PROTO_SRC_PORT, Bytes{0, 1, 2}).end(p);
        m.end(t);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
    {  // a nest claiming more than its parent holds
        MessageBuilder m(kNewType, 0, AF_INET, 0);
        const std::size_t t = m.begin(CTA_TUPLE_ORIG);
        m.raw(Bytes{40, 0, CTA_TUPLE_IP, 0, 8, 0, CTA_IP_V4_SRC, 0, 1, 2, 3, 4});
        m.end(t);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
    {  // a mark of two bytes
        MessageBuilder m(kNewType, 0, AF_INET, 0);
        add_tuple(m, CTA_TUPLE_ORIG, false, Bytes{1, 2, 3, 4}, Bytes{5, 6, 7, 8}, IPPROTO_UDP, 1, 2);
        m.attr(CTA_MARK, Bytes{0, 1});
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
    {  // another message type
        MessageBuilder m(kDeleteType, 0, AF_INET, 0);
        add_tuple(m, CTA_TUPLE_ORIG, false, Bytes{1, 2, 3, 4}, Bytes{5, 6, 7, 8}, IPPROTO_UDP, 1, 2);
        const Bytes msg = m.finish();
        EXPECT_FALSE(parse_ct_entry(as_nlmsghdr(msg.data()), e));
    }
}

TEST(CtParseEntry, EntryCutAtEveryByteNeverReadsPastItsLength) {
    const Bytes msg = nat_entry();
    for (std::size_t n = 16; n < msg.size(); ++n) {
        auto copy = test::nl::exact_copy(msg, n);
        test::nl::set_len(copy.get(), static_cast<std::uint32_t>(n));
        CtEntry e;
        if (parse_ct_entry(as_nlmsghdr(copy.get()), e)) {
            // Only cuts after whole top-level attributes can parse.
            ASSERT_NE(e.orig_attr, nullptr);
            EXPECT_LE(e.orig_attr + e.orig_attr_len, copy.get() + n);
        }
    }
}

// ---- kernel version ----

TEST(CtKernelFlush, MarkFilteredFlushFromKernel414) {
    EXPECT_FALSE(kernel_flushes_by_mark("3.18.140"));
    EXPECT_FALSE(kernel_flushes_by_mark("4.9.337"));
    EXPECT_FALSE(kernel_flushes_by_mark("4.13.16"));
    EXPECT_TRUE(kernel_flushes_by_mark("4.14.0"));
    EXPECT_TRUE(kernel_flushes_by_mark("5.15.0-91-generic"));
    EXPECT_TRUE(kernel_flushes_by_mark("6.6.30"));
    EXPECT_TRUE(kernel_flushes_by_mark("10.0"));
    EXPECT_FALSE(kernel_flushes_by_mark("linux"));
    EXPECT_FALSE(kernel_flushes_by_mark(""));
    EXPECT_FALSE(kernel_flushes_by_mark(nullptr));
}

}  // namespace
}  // namespace vg::netlink
