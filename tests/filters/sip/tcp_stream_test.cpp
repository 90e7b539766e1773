// SPDX-License-Identifier: GPL-2.0-or-later
// TcpStreamTable: SIP over TCP reassembly (RFC 3261 §18.3, RFC 5626 §3.5.1
// keep-alives, RFC 9293 sequence numbers), on synthetic segments and on
// recorded captures.
#include "filters/sip/tcp_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "filters/net/link.h"
#include "filters/net/packet.h"
#include "filters/net/reassembly.h"
#include "tests/filters/net/packet_builder.h"
#include "tests/filters/net/pcap_file.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/test_data.h"

namespace vg::sip {
namespace {

using namespace std::chrono_literals;
using engine::Timestamp;
using test::Bytes;
using namespace vg::net;
using St = TcpStreamTable::Status;

const Timestamp t0{};

constexpr std::uint32_t kClientIsn = 1000;
constexpr std::uint32_t kServerIsn = 5000;

// A TCP segment between client 192.0.2.10:`cport` and server
// 198.51.100.20:5060.
Bytes segment(bool from_client, std::uint32_t seq, unsigned flags, const std::string& payload,
              unsigned cport = 40000) {
    test::V4 h;
    h.protocol = ipproto::tcp;
    if (!from_client) {
        std::uint8_t tmp[4];
        std::memcpy(tmp, h.src, 4);
        std::memcpy(h.src, h.dst, 4);
        std::memcpy(h.dst, tmp, 4);
    }
    Bytes body(payload.begin(), payload.end());
    Bytes l4 = from_client ? test::tcp(cport, 5060, flags, {}, body) : test::tcp(5060, cport, flags, {}, body);
    l4[4] = static_cast<std::uint8_t>(seq >> 24);
    l4[5] = static_cast<std::uint8_t>(seq >> 16);
    l4[6] = static_cast<std::uint8_t>(seq >> 8);
    l4[7] = static_cast<std::uint8_t>(seq);
    return test::ipv4(h, l4);
}

constexpr unsigned kAck = tcpflag::ack;
constexpr unsigned kPshAck = tcpflag::psh | tcpflag::ack;

std::string options(int cseq) {
    return "OPTIONS sip:alice@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK" + std::to_string(cseq) + "\r\n"
           "From: <sip:bob@example.com>;tag=1\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: c" + std::to_string(cseq) + "@192.0.2.10\r\n"
           "CSeq: " + std::to_string(cseq) + " OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n";
}

std::string invite(const std::string& body) {
    return "INVITE sip:alice@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bKinv\r\n"
           "From: <sip:bob@example.com>;tag=2\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: inv@192.0.2.10\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kSdp =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

struct Event {
    TcpEvent event;
    std::string bytes;
    std::string what;  // method, status code, or reason
    bool stream_dropped = false;
    bool from_client = false;
};

struct Collector {
    std::vector<Event> events;

    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& e : events)
            if (e.event == TcpEvent::message) out.push_back(e.bytes);
        return out;
    }
    std::vector<std::string> summary() const {
        std::vector<std::string> out;
        for (const auto& e : events)
            if (e.event == TcpEvent::message) out.push_back(e.what);
        return out;
    }
};

TcpStreamTable::FeedResult feed(TcpStreamTable& t, const Bytes& pkt, Collector& c, Timestamp now = t0) {
    const DecodedPacket p = decode_ip(pkt.data(), pkt.size());
    EXPECT_TRUE(p.ok()) << p.reason;
    return t.feed(p, now, [&](const TcpMessage& m) {
        Event e;
        e.event = m.event;
        e.bytes = std::string(m.bytes);
        e.stream_dropped = m.stream_dropped;
        e.from_client = m.tuple.src_port != 5060;
        if (m.event == TcpEvent::message && m.sip != nullptr) {
            e.what = m.sip->is_request() ? std::string(m.sip->method_text) : std::to_string(m.sip->status_code);
        } else {
            e.what = std::string(m.reason);
        }
        c.events.push_back(std::move(e));
    });
}

// SYN from the client: data starts at kClientIsn + 1.
void open_client(TcpStreamTable& t, Collector& c) {
    EXPECT_EQ(feed(t, segment(true, kClientIsn, tcpflag::syn, ""), c).status, St::no_data);
}

// ---------------------------------------------------------------------------

TEST(TcpStream, NonTcpPacketIsNotTcp) {
    TcpStreamTable t;
    const Bytes pkt = test::ipv4({}, test::udp(5060, 5060, test::text_bytes("x")));
    const DecodedPacket p = decode_ip(pkt.data(), pkt.size());
    int calls = 0;
    EXPECT_EQ(t.feed(p, t0, [&](const TcpMessage&) { ++calls; }).status, St::not_tcp);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.counters().segments, 0u);
}

TEST(TcpStream, BareAckCreatesNoState) {
    TcpStreamTable t;
    Collector c;
    EXPECT_EQ(feed(t, segment(true, 77, kAck, ""), c).status, St::no_data);
    EXPECT_EQ(t.size(), 0u);
}

TEST(TcpStream, WholeMessageInOneSegmentIsDeliveredOnce) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = options(1);
    const auto r = feed(t, segment(true, kClientIsn + 1, kPshAck, m), c);
    EXPECT_EQ(r.status, St::in_order);
    EXPECT_EQ(r.messages, 1u);
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], m);
    EXPECT_EQ(c.summary()[0], "OPTIONS");
    EXPECT_EQ(t.counters().messages, 1u);
    EXPECT_EQ(t.counters().bytes, m.size());
}

TEST(TcpStream, TwoAndAHalfMessagesInOneSegment) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string a = options(1), b = invite(kSdp), d = options(3);
    const std::string first = a + b + d.substr(0, d.size() / 2);
    const auto r = feed(t, segment(true, kClientIsn + 1, kPshAck, first), c);
    EXPECT_EQ(r.messages, 2u);
    ASSERT_EQ(c.messages().size(), 2u);
    EXPECT_EQ(c.messages()[0], a);
    EXPECT_EQ(c.messages()[1], b);
    const auto r2 = feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(first.size()), kPshAck,
                                    d.substr(d.size() / 2)),
                         c);
    EXPECT_EQ(r2.messages, 1u);
    ASSERT_EQ(c.messages().size(), 3u);
    EXPECT_EQ(c.messages()[2], d);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"OPTIONS", "INVITE", "OPTIONS"}));
}

TEST(TcpStream, OneMessageOverTenSegmentsIsDeliveredOnceWhole) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = invite(kSdp);
    const std::size_t step = m.size() / 10 + 1;
    std::uint32_t seq = kClientIsn + 1;
    std::size_t pieces = 0;
    for (std::size_t off = 0; off < m.size(); off += step, ++pieces) {
        const std::string part = m.substr(off, step);
        const auto r = feed(t, segment(true, seq, kPshAck, part), c);
        EXPECT_EQ(r.messages, off + step >= m.size() ? 1u : 0u) << off;
        seq += static_cast<std::uint32_t>(part.size());
    }
    EXPECT_EQ(pieces, 10u);
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], m);
}

TEST(TcpStream, EverySplitPointOfTwoMessagesDeliversBothExactlyOnce) {
    const std::string data = invite(kSdp) + options(2);
    for (std::size_t cut = 1; cut < data.size(); ++cut) {
        TcpStreamTable t;
        Collector c;
        open_client(t, c);
        feed(t, segment(true, kClientIsn + 1, kPshAck, data.substr(0, cut)), c);
        feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(cut), kPshAck, data.substr(cut)), c);
        const auto msgs = c.messages();
        ASSERT_EQ(msgs.size(), 2u) << "cut " << cut;
        ASSERT_EQ(msgs[0] + msgs[1], data) << "cut " << cut;
        ASSERT_EQ(c.events.size(), 2u) << "cut " << cut;
    }
}

TEST(TcpStream, BodyIsWaitedForUntilContentLength) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = invite(kSdp);
    const std::size_t head = m.size() - kSdp.size();
    EXPECT_EQ(feed(t, segment(true, kClientIsn + 1, kPshAck, m.substr(0, head)), c).messages, 0u);
    EXPECT_EQ(feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(head), kPshAck, kSdp.substr(0, 5)), c)
                  .messages,
              0u);
    EXPECT_EQ(feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(head + 5), kPshAck, kSdp.substr(5)), c)
                  .messages,
              1u);
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], m);
}

TEST(TcpStream, OutOfOrderSegmentIsHeldAndDeliveredWhenTheGapFills) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string a = options(1), b = options(2);
    const std::uint32_t s1 = kClientIsn + 1, s2 = s1 + static_cast<std::uint32_t>(a.size());
    const auto r = feed(t, segment(true, s2, kPshAck, b), c);
    EXPECT_EQ(r.status, St::out_of_order_held);
    EXPECT_TRUE(c.events.empty());
    const auto r2 = feed(t, segment(true, s1, kPshAck, a), c);
    EXPECT_EQ(r2.status, St::in_order);
    EXPECT_EQ(r2.messages, 2u);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a, b}));
    EXPECT_EQ(t.counters().out_of_order, 1u);
}

TEST(TcpStream, OutOfOrderPiecesOfOneMessageReassembleInAnyOrder) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = invite(kSdp);
    const std::size_t q = m.size() / 4;
    const std::uint32_t base = kClientIsn + 1;
    auto piece = [&](int i) {
        const std::size_t off = static_cast<std::size_t>(i) * q;
        return segment(true, base + static_cast<std::uint32_t>(off), kPshAck, i == 3 ? m.substr(off) : m.substr(off, q));
    };
    feed(t, piece(2), c);
    feed(t, piece(3), c);
    feed(t, piece(1), c);
    EXPECT_TRUE(c.events.empty());
    feed(t, piece(0), c);
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], m);
}

TEST(TcpStream, OutOfOrderBeyondTheHoldLimitIsDroppedAndCounted) {
    TcpStreamConfig cfg;
    cfg.max_out_of_order = 1;
    TcpStreamTable t(cfg);
    Collector c;
    open_client(t, c);
    const std::string a = options(1), b = options(2), d = options(3);
    const std::uint32_t s1 = kClientIsn + 1;
    const std::uint32_t s2 = s1 + static_cast<std::uint32_t>(a.size());
    const std::uint32_t s3 = s2 + static_cast<std::uint32_t>(b.size());
    EXPECT_EQ(feed(t, segment(true, s2, kPshAck, b), c).status, St::out_of_order_held);
    EXPECT_EQ(feed(t, segment(true, s3, kPshAck, d), c).status, St::out_of_order_dropped);
    EXPECT_EQ(t.counters().out_of_order_dropped, 1u);
    feed(t, segment(true, s1, kPshAck, a), c);
    EXPECT_EQ(c.messages().size(), 2u);
    // The sender retransmits the dropped segment; it is in order now.
    EXPECT_EQ(feed(t, segment(true, s3, kPshAck, d), c).messages, 1u);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a, b, d}));
}

TEST(TcpStream, RetransmittedSegmentIsNotDeliveredTwice) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string a = options(1);
    feed(t, segment(true, kClientIsn + 1, kPshAck, a), c);
    const auto r = feed(t, segment(true, kClientIsn + 1, kPshAck, a), c);
    EXPECT_EQ(r.status, St::retransmission);
    EXPECT_EQ(r.messages, 0u);
    EXPECT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(t.counters().retransmissions, 1u);
}

TEST(TcpStream, OverlappingSegmentIsTrimmedToItsNewBytes) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string data = options(1) + options(2);
    const std::size_t first = 100, overlap_from = 60;
    feed(t, segment(true, kClientIsn + 1, kPshAck, data.substr(0, first)), c);
    // Resent from byte 60 with the rest of the data: bytes 60..99 are old.
    const auto r = feed(t, segment(true, kClientIsn + 1 + overlap_from, kPshAck, data.substr(overlap_from)), c);
    EXPECT_EQ(r.status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(1), options(2)}));
    EXPECT_EQ(t.counters().retransmissions, 1u);
    EXPECT_EQ(t.counters().bytes_delivered, data.size());
}

TEST(TcpStream, HeldSegmentOverlappingDeliveredDataIsTrimmed) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string data = options(1) + options(2);
    const std::uint32_t base = kClientIsn + 1;
    feed(t, segment(true, base + 50, kPshAck, data.substr(50)), c);  // held
    feed(t, segment(true, base, kPshAck, data.substr(0, 80)), c);    // covers 0..79
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(1), options(2)}));
}

TEST(TcpStream, KeepaliveCrlfIsDeliveredAsKeepalive) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const auto r = feed(t, segment(true, kClientIsn + 1, kPshAck, "\r\n\r\n"), c);
    EXPECT_EQ(r.messages, 1u);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].event, TcpEvent::keepalive);
    EXPECT_EQ(c.events[0].bytes, "\r\n\r\n");
    EXPECT_EQ(t.counters().keepalives, 1u);
    EXPECT_EQ(t.counters().messages, 0u);
}

TEST(TcpStream, KeepalivesBetweenMessagesAreSeparatedFromThem) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string a = options(1), b = options(2);
    feed(t, segment(true, kClientIsn + 1, kPshAck, "\r\n\r\n" + a + "\r\n" + b), c);
    ASSERT_EQ(c.events.size(), 4u);
    EXPECT_EQ(c.events[0].event, TcpEvent::keepalive);
    EXPECT_EQ(c.events[1].bytes, a);  // no leading CRLF inside the message
    EXPECT_EQ(c.events[2].event, TcpEvent::keepalive);
    EXPECT_EQ(c.events[3].bytes, b);
}

TEST(TcpStream, DirectionsOfOneConnectionAreSeparateStreams) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    feed(t, segment(false, kServerIsn, tcpflag::syn | tcpflag::ack, ""), c);
    const std::string req = options(1);
    const std::string resp =
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bK1\r\n"
        "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:alice@example.com>;tag=9\r\n"
        "Call-ID: c1@192.0.2.10\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    feed(t, segment(true, kClientIsn + 1, kPshAck, req.substr(0, 30)), c);
    feed(t, segment(false, kServerIsn + 1, kPshAck, resp), c);
    feed(t, segment(true, kClientIsn + 31, kPshAck, req.substr(30)), c);
    EXPECT_EQ(t.size(), 2u);
    ASSERT_EQ(c.events.size(), 2u);
    EXPECT_EQ(c.events[0].what, "200");
    EXPECT_FALSE(c.events[0].from_client);
    EXPECT_EQ(c.events[1].what, "OPTIONS");
    EXPECT_TRUE(c.events[1].from_client);
}

TEST(TcpStream, MidConnectionStreamSyncsOnFirstSegment) {
    TcpStreamTable t;
    Collector c;
    const std::string a = options(1), b = options(2);
    feed(t, segment(true, 0xabcdef00u, kPshAck, a), c);
    feed(t, segment(true, 0xabcdef00u + static_cast<std::uint32_t>(a.size()), kPshAck, b), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a, b}));
}

TEST(TcpStream, SequenceNumbersWrapAround) {
    TcpStreamTable t;
    Collector c;
    const std::uint32_t isn = 0xffffffffu - 20;
    feed(t, segment(true, isn, tcpflag::syn, ""), c);
    const std::string m = invite(kSdp);
    feed(t, segment(true, isn + 1, kPshAck, m.substr(0, 40)), c);  // crosses 2^32
    feed(t, segment(true, isn + 41, kPshAck, m.substr(40)), c);
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], m);
}

TEST(TcpStream, MalformedMessageAfterSynIsReportedOnceAndDropsTheStream) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string junk = "HELLO THERE\r\n\r\n";
    const auto r = feed(t, segment(true, kClientIsn + 1, kPshAck, junk), c);
    EXPECT_EQ(r.status, St::malformed);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].event, TcpEvent::malformed);
    EXPECT_EQ(c.events[0].what, "bad_request_line");
    EXPECT_TRUE(c.events[0].stream_dropped);
    // Later data on the dropped stream is discarded, even a valid message.
    const std::string a = options(1);
    const auto r2 = feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(junk.size()), kPshAck, a), c);
    EXPECT_EQ(r2.status, St::discarded);
    EXPECT_EQ(c.events.size(), 1u);
    EXPECT_EQ(t.counters().malformed, 1u);
    EXPECT_EQ(t.counters().discarded_bytes, a.size());
    // A new connection on the same ports (new SYN) starts over.
    feed(t, segment(true, 9000, tcpflag::syn, ""), c);
    feed(t, segment(true, 9001, kPshAck, a), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a}));
}

TEST(TcpStream, MessageWithoutContentLengthIsMalformedOnAStream) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    std::string m = options(1);
    m.erase(m.find("Content-Length: 0\r\n"), std::strlen("Content-Length: 0\r\n"));
    feed(t, segment(true, kClientIsn + 1, kPshAck, m), c);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].what, "content_length_missing");
}

TEST(TcpStream, MidConnectionStreamResyncsAfterStartingInsideAMessage) {
    TcpStreamTable t;
    Collector c;
    const std::string tail = "Content-Length: 0\r\n\r\n";  // the end of a message we missed
    const std::string a = options(1);
    feed(t, segment(true, 7000, kPshAck, tail), c);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].event, TcpEvent::malformed);
    EXPECT_FALSE(c.events[0].stream_dropped);
    EXPECT_EQ(t.counters().resyncs, 1u);
    feed(t, segment(true, 7000 + static_cast<std::uint32_t>(tail.size()), kPshAck, a), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a}));
}

TEST(TcpStream, UnfinishedMessageLargerThanTheBoundOverflowsAndDropsTheStream) {
    TcpStreamTable t(16, 256);
    Collector c;
    open_client(t, c);
    std::string big = "MESSAGE sip:alice@example.com SIP/2.0\r\nX-Pad: ";
    big += std::string(300, 'p');
    const std::size_t half = 150;
    feed(t, segment(true, kClientIsn + 1, kPshAck, big.substr(0, half)), c);
    EXPECT_TRUE(c.events.empty());
    const auto r = feed(t, segment(true, kClientIsn + 1 + half, kPshAck, big.substr(half)), c);
    EXPECT_EQ(r.status, St::overflow);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].event, TcpEvent::overflow);
    EXPECT_EQ(c.events[0].what, "tcp_stream_overflow");
    EXPECT_TRUE(c.events[0].stream_dropped);
    EXPECT_EQ(t.counters().overflow, 1u);
}

TEST(TcpStream, SingleSegmentWithCompleteMessagesMayExceedTheBufferBound) {
    // Only bytes kept across segments count against the bound.
    TcpStreamTable t(16, 256);
    Collector c;
    open_client(t, c);
    const std::string m = options(1) + options(2);
    ASSERT_GT(m.size(), 256u);
    feed(t, segment(true, kClientIsn + 1, kPshAck, m), c);
    EXPECT_EQ(c.messages().size(), 2u);
    EXPECT_EQ(t.counters().overflow, 0u);
}

TEST(TcpStream, MessageLargerThanTheParserLimitIsMalformed) {
    TcpStreamConfig cfg;
    cfg.limits.max_message_size = 300;
    TcpStreamTable t(cfg);
    Collector c;
    open_client(t, c);
    feed(t, segment(true, kClientIsn + 1, kPshAck, invite(std::string(400, 'b'))), c);
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].what, "message_too_large");
}

TEST(TcpStream, StreamLimitEvictsTheLeastRecentlyUsedStream) {
    TcpStreamTable t(2, 64 * 1024);
    Collector c;
    const std::string m = options(1);
    const std::string half1 = m.substr(0, 50), half2 = m.substr(50);
    feed(t, segment(true, 100, kPshAck, half1, 40001), c);
    feed(t, segment(true, 200, kPshAck, half1, 40002), c);
    feed(t, segment(true, 100 + 50, kPshAck, half2, 40001), c);  // 40001 is now the most recent
    EXPECT_EQ(c.messages().size(), 1u);
    feed(t, segment(true, 300, kPshAck, half1, 40003), c);  // evicts 40002
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.counters().evictions, 1u);
    // 40002's first half went with it: its second half is a new mid-stream
    // start inside a message (re-synced, nothing delivered).
    feed(t, segment(true, 200 + 50, kPshAck, half2, 40002), c);
    EXPECT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(t.counters().evictions, 2u);
}

TEST(TcpStream, FinClosesTheDirectionAndCountsAnUnfinishedMessage) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    feed(t, segment(true, kClientIsn + 1, kPshAck | tcpflag::fin, options(1).substr(0, 40)), c);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.counters().closed, 1u);
    EXPECT_EQ(t.counters().closed_incomplete, 1u);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, FinWithTheLastMessageDeliversItThenCloses) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    feed(t, segment(true, kClientIsn + 1, kPshAck | tcpflag::fin, options(1)), c);
    EXPECT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.counters().closed_incomplete, 0u);
}

TEST(TcpStream, OutOfOrderFinClosesOnlyWhenTheGapFills) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string a = options(1);
    feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(a.size()), tcpflag::fin | kAck, ""), c);
    EXPECT_EQ(t.size(), 1u);
    feed(t, segment(true, kClientIsn + 1, kPshAck, a), c);
    EXPECT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(TcpStream, RstClosesBothDirections) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    feed(t, segment(false, kServerIsn, tcpflag::syn | tcpflag::ack, ""), c);
    feed(t, segment(true, kClientIsn + 1, kPshAck, options(1).substr(0, 20)), c);
    EXPECT_EQ(t.size(), 2u);
    feed(t, segment(false, kServerIsn + 1, tcpflag::rst, ""), c);
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.counters().closed, 2u);
}

TEST(TcpStream, SynWithANewIsnStartsTheStreamOverAndARepeatedSynDoesNot) {
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = options(1);
    feed(t, segment(true, kClientIsn + 1, kPshAck, m.substr(0, 30)), c);
    feed(t, segment(true, kClientIsn, tcpflag::syn, ""), c);  // retransmitted SYN: keeps the 30 bytes
    feed(t, segment(true, kClientIsn + 31, kPshAck, m.substr(30)), c);
    EXPECT_EQ(c.messages().size(), 1u);
    feed(t, segment(true, kClientIsn + 1 + static_cast<std::uint32_t>(m.size()), kPshAck, m.substr(0, 30)), c);
    feed(t, segment(true, 77777, tcpflag::syn, ""), c);  // port reuse: the 30 bytes are forgotten
    feed(t, segment(true, 77778, kPshAck, m), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{m, m}));
}

TEST(TcpStream, IdleStreamsExpire) {
    TcpStreamConfig cfg;
    cfg.idle_timeout = 60s;
    TcpStreamTable t(cfg);
    Collector c;
    feed(t, segment(true, 100, kPshAck, "OPT", 40001), c, t0);
    feed(t, segment(true, 100, kPshAck, "OPT", 40002), c, t0 + 50s);
    EXPECT_EQ(t.expire(t0 + 59s), 0u);
    EXPECT_EQ(t.expire(t0 + 60s), 1u);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.counters().expired, 1u);
}

TEST(TcpStream, SegmentWithWholeMessagesOnAKnownStreamAllocatesNothing) {
    // The daemon's common case: each segment carries whole messages. They are
    // parsed in place; nothing is copied or allocated.
    TcpStreamTable t;
    Collector c;
    open_client(t, c);
    const std::string m = options(1) + "\r\n\r\n" + invite(kSdp);
    const Bytes pkt = segment(true, kClientIsn + 1, kPshAck, m);
    const DecodedPacket p = decode_ip(pkt.data(), pkt.size());
    std::size_t events = 0;
    test::AllocationScope scope;
    const auto r = t.feed(p, t0, [&](const TcpMessage&) { ++events; });
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(r.messages, 3u);
    EXPECT_EQ(events, 3u);
}

// ---------------------------------------------------------------------------
// Recorded captures: decode_link -> decode_ip -> IpReassembler -> TcpStreamTable.

std::vector<Event> run_capture(const std::string& name, const TcpStreamConfig& cfg = TcpStreamConfig{}) {
    const test::PcapFile pcap = test::parse_pcap(vg::test::read_data_file("pcap/" + name));
    EXPECT_TRUE(pcap.ok) << name;
    LinkType lt{};
    EXPECT_TRUE(link_type_from_pcap(pcap.linktype, lt)) << name;
    IpReassembler ra(16);
    TcpStreamTable t(cfg);
    Collector c;
    for (const std::string& frame : pcap.packets) {
        const LinkFrame lf = decode_link(lt, test::bytes_of(frame), frame.size());
        if (!lf.ok() || !lf.is_ip) continue;
        DecodedPacket p = decode_ip(lf.l3, lf.l3_length);
        const auto r = ra.feed(p, lf.l3, lf.l3_length, t0);
        if (r.status == IpReassembler::Status::need_more || r.status == IpReassembler::Status::dropped) continue;
        if (r.status == IpReassembler::Status::complete) p = decode_ip(r.data, r.size);
        if (!p.is_tcp()) continue;
        t.feed(p, t0, [&](const TcpMessage& m) {
            Event e;
            e.event = m.event;
            e.bytes = std::string(m.bytes);
            if (m.event == TcpEvent::message)
                e.what = m.sip->is_request() ? std::string(m.sip->method_text) : std::to_string(m.sip->status_code);
            else
                e.what = std::string(m.reason);
            if (m.sip != nullptr && m.event == TcpEvent::message && m.sip->content_length.present)
                e.what += "/" + std::to_string(m.sip->body.size());
            c.events.push_back(std::move(e));
        });
    }
    return c.events;
}

std::vector<std::string> whats(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.what);
    return out;
}

TEST(TcpStreamCapture, RegisterSplitOverTwoSegmentsIsDeliveredOnceWhole) {
    // tshark -r suricata-verify__sip-tcp-method__sip-tcp.pcap -Y sip
    //   -T fields -e sip.Method -e sip.Status-Code -e tcp.reassembled.length
    // gives: REGISTER (reassembled from 400 + 185 bytes = 585), then 200.
    const auto ev = run_capture("suricata-verify__sip-tcp-method__sip-tcp.pcap");
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"REGISTER/0", "200/0"}));
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].bytes.size(), 585u);
}

TEST(TcpStreamCapture, RegisterAnd401OverTcp) {
    // tshark -Y sip: REGISTER, 401.
    const auto ev = run_capture("suricata-verify__sip-tcp-pattern-matching__sip.pcap");
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"REGISTER/0", "401/0"}));
}

TEST(TcpStreamCapture, HeplifyTcpCallYieldsTheWholeDialogInOrder) {
    // tshark -r heplify__sip_ipv4_tcp.pcap -Y sip -T fields -e sip.Method
    //   -e sip.Status-Code -e sip.Content-Length gives, in frame order:
    // INVITE (228), 100, 180, 200 (225), ACK, BYE, 200.
    const auto ev = run_capture("heplify__sip_ipv4_tcp.pcap");
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"INVITE/228", "100/0", "180/0", "200/225", "ACK/0", "BYE/0",
                                                   "200/0"}));
}

TEST(TcpStreamCapture, LargeBodyInviteIsDeliveredWholeWhenLimitsAllowIt) {
    // tshark -r suricata-verify__sip-body-large__sip-body-large.pcap -Y sip
    //   -T fields -e sip.Method -e sip.Status-Code -e sip.Content-Length
    //   -e tcp.reassembled.length gives: INVITE, Content-Length 65536,
    // reassembled from 5 segments to 65793 bytes; then 100.
    TcpStreamConfig cfg;
    cfg.max_bytes_per_stream = 128 * 1024;
    cfg.limits.max_message_size = 128 * 1024;
    const auto ev = run_capture("suricata-verify__sip-body-large__sip-body-large.pcap", cfg);
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"INVITE/65536", "100/0"}));
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].bytes.size(), 65793u);
}

TEST(TcpStreamCapture, LargeBodyInviteIsRejectedUnderDefaultLimits) {
    // The body alone exceeds the 65535-byte message limit: reported once, the
    // stream dropped, the response on the other direction still delivered.
    const auto ev = run_capture("suricata-verify__sip-body-large__sip-body-large.pcap");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].event, TcpEvent::malformed);
    EXPECT_EQ(ev[0].what, "message_too_large");
    EXPECT_EQ(ev[1].what, "100/0");
}

TEST(TcpStreamCapture, SplittingEveryTcpSegmentInTwoChangesNothing) {
    // The heplify call again, each data segment cut into two segments.
    const test::PcapFile pcap = test::parse_pcap(vg::test::read_data_file("pcap/heplify__sip_ipv4_tcp.pcap"));
    ASSERT_TRUE(pcap.ok);
    TcpStreamTable t;
    std::vector<std::string> seen;
    for (const std::string& frame : pcap.packets) {
        const LinkFrame lf = decode_link(LinkType::ethernet, test::bytes_of(frame), frame.size());
        if (!lf.ok() || !lf.is_ip) continue;
        const DecodedPacket p = decode_ip(lf.l3, lf.l3_length);
        if (!p.is_tcp()) continue;
        auto sink = [&](const TcpMessage& m) {
            if (m.event == TcpEvent::message) seen.emplace_back(m.sip->is_request() ? m.sip->method_text : "resp");
        };
        if (p.payload_length < 2) {
            t.feed(p, t0, sink);
            continue;
        }
        DecodedPacket a = p, b = p;
        a.payload_length = p.payload_length / 2;
        b.payload = p.payload + a.payload_length;
        b.payload_length = p.payload_length - a.payload_length;
        b.tcp_seq = p.tcp_seq + static_cast<std::uint32_t>(a.payload_length);
        a.tcp_flags = static_cast<std::uint8_t>(a.tcp_flags & ~tcpflag::fin);
        t.feed(a, t0, sink);
        t.feed(b, t0, sink);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"INVITE", "resp", "resp", "resp", "ACK", "BYE", "resp"}));
}

}  // namespace
}  // namespace vg::sip
