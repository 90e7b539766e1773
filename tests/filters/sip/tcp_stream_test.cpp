// SPDX-License-Identifier: GPL-2.0-or-later
// TcpStreamTable: SIP over TCP followed inline (RFC 3261 §18.3, RFC 5626
// §3.5.1 keep-alives, RFC 9293 sequence numbers, RFC 5961 challenge ACKs):
// what is judged, what passes, what is dropped unjudged and what cuts the
// connection, on synthetic segments and on recorded captures.
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
#include "tests/support/corpus_gtest.h"

namespace vg::sip {
namespace {

using namespace std::chrono_literals;
using engine::Timestamp;
using test::Bytes;
using namespace vg::net;
using St = TcpStreamTable::Status;

const Timestamp t0 = Timestamp{} + std::chrono::hours(1000);

constexpr std::uint32_t kClientIsn = 1000;
constexpr std::uint32_t kServerIsn = 5000;

// A TCP segment between client 192.0.2.10:`cport` and server
// 198.51.100.20:5060.
Bytes segment(bool from_client, std::uint32_t seq, unsigned flags, const std::string& payload,
              unsigned cport = 40000, std::uint32_t ack = 0, std::uint16_t urgent = 0) {
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
    for (int i = 0; i < 4; ++i) {
        l4[4 + i] = static_cast<std::uint8_t>(seq >> (24 - 8 * i));
        l4[8 + i] = static_cast<std::uint8_t>(ack >> (24 - 8 * i));
    }
    l4[18] = static_cast<std::uint8_t>(urgent >> 8);
    l4[19] = static_cast<std::uint8_t>(urgent);
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

std::string invite(const std::string& body, const std::string& user = "alice") {
    return "INVITE sip:" + user + "@example.com SIP/2.0\r\n"
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
    std::string what;  // method or status code
    bool from_client = false;
};

// Records every message and refuses the ones whose start line contains
// `refuse` (when set).
struct Collector {
    std::vector<Event> events;
    std::string refuse;

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
        e.from_client = m.tuple.src_port != 5060;
        if (m.event == TcpEvent::message && m.sip != nullptr)
            e.what = m.sip->is_request() ? std::string(m.sip->method_text) : std::to_string(m.sip->status_code);
        c.events.push_back(std::move(e));
        if (m.event == TcpEvent::message && !c.refuse.empty() && m.sip != nullptr &&
            m.sip->start_line.find(c.refuse) != std::string_view::npos)
            return false;
        return true;
    });
}

// The handshake: SYN from the client, SYN-ACK from the server. Data starts
// at kClientIsn + 1 and kServerIsn + 1.
void open(TcpStreamTable& t, Collector& c, unsigned cport = 40000) {
    EXPECT_EQ(feed(t, segment(true, kClientIsn, tcpflag::syn, "", cport), c).status, St::no_data);
    EXPECT_EQ(feed(t, segment(false, kServerIsn, tcpflag::syn | kAck, "", cport, kClientIsn + 1), c).status,
              St::no_data);
}

std::uint32_t c1(std::size_t offset = 0) { return kClientIsn + 1 + static_cast<std::uint32_t>(offset); }
std::uint32_t s1(std::size_t offset = 0) { return kServerIsn + 1 + static_cast<std::uint32_t>(offset); }

// ---------------------------------------------------------------------------
// Framing

TEST(TcpStream, NonTcpPacketIsNotTcp) {
    TcpStreamTable t;
    const Bytes udp = test::ipv4(test::V4{}, test::udp(5060, 5060, test::text_bytes("x")));
    const DecodedPacket p = decode_ip(udp.data(), udp.size());
    bool called = false;
    EXPECT_EQ(t.feed(p, t0, [&](const TcpMessage&) { return called = true; }).status, St::not_tcp);
    EXPECT_FALSE(called);
}

TEST(TcpStream, BareAckCreatesNoState) {
    TcpStreamTable t;
    Collector c;
    EXPECT_EQ(feed(t, segment(true, c1(), kAck, ""), c).status, St::no_data);
    EXPECT_EQ(t.size(), 0u);
}

TEST(TcpStream, WholeMessageInOneSegmentIsJudgedOnce) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const auto r = feed(t, segment(true, c1(), kPshAck, options(1)), c);
    EXPECT_EQ(r.status, St::in_order);
    EXPECT_EQ(r.messages, 1u);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(1)}));
}

TEST(TcpStream, TwoAndAHalfMessagesInOneSegment) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string all = options(1) + options(2) + options(3);
    const std::size_t cut = options(1).size() + options(2).size() + 20;
    feed(t, segment(true, c1(), kPshAck, all.substr(0, cut)), c);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"OPTIONS", "OPTIONS"}));
    feed(t, segment(true, c1(cut), kPshAck, all.substr(cut)), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(1), options(2), options(3)}));
}

TEST(TcpStream, OneMessageOverTenSegmentsIsJudgedOnceWhole) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = invite(kSdp);
    const std::size_t step = m.size() / 10 + 1;
    for (std::size_t at = 0; at < m.size(); at += step) {
        const auto r = feed(t, segment(true, c1(at), kPshAck, m.substr(at, step)), c);
        EXPECT_EQ(r.status, St::in_order);
        EXPECT_EQ(r.messages, at + step >= m.size() ? 1u : 0u) << at;
    }
    EXPECT_EQ(c.messages(), (std::vector<std::string>{m}));
}

TEST(TcpStream, EverySplitPointOfTwoMessagesJudgesBothExactlyOnce) {
    const std::string all = invite(kSdp) + options(7);
    for (std::size_t cut = 1; cut < all.size(); ++cut) {
        TcpStreamTable t;
        Collector c;
        open(t, c);
        feed(t, segment(true, c1(), kPshAck, all.substr(0, cut)), c);
        feed(t, segment(true, c1(cut), kPshAck, all.substr(cut)), c);
        ASSERT_EQ(c.messages(), (std::vector<std::string>{invite(kSdp), options(7)})) << "cut at " << cut;
    }
}

TEST(TcpStream, BodyIsWaitedForUntilContentLength) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = invite(kSdp);
    const std::size_t head = m.size() - kSdp.size();
    feed(t, segment(true, c1(), kPshAck, m.substr(0, head + 5)), c);
    EXPECT_TRUE(c.messages().empty());
    feed(t, segment(true, c1(head + 5), kPshAck, m.substr(head + 5)), c);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{m}));
}

TEST(TcpStream, KeepalivesAreJudgedAsKeepalives) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    feed(t, segment(true, c1(), kPshAck, "\r\n\r\n" + options(1) + "\r\n"), c);
    ASSERT_EQ(c.events.size(), 3u);
    EXPECT_EQ(c.events[0].event, TcpEvent::keepalive);
    EXPECT_EQ(c.events[1].event, TcpEvent::message);
    EXPECT_EQ(c.events[2].event, TcpEvent::keepalive);
}

TEST(TcpStream, DirectionsOfOneConnectionAreFollowedApart) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    feed(t, segment(true, c1(), kPshAck, options(1).substr(0, 30)), c);
    const std::string resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP x\r\nContent-Length: 0\r\n\r\n";
    feed(t, segment(false, s1(), kPshAck, resp, 40000, c1(30)), c);
    feed(t, segment(true, c1(30), kPshAck, options(1).substr(30)), c);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"200", "OPTIONS"}));
    EXPECT_FALSE(c.events[0].from_client);
    EXPECT_TRUE(c.events[1].from_client);
}

TEST(TcpStream, SequenceNumbersWrapAround) {
    TcpStreamTable t;
    Collector c;
    const std::uint32_t isn = 0xffffffffu - 10;
    feed(t, segment(true, isn, tcpflag::syn, ""), c);
    feed(t, segment(false, kServerIsn, tcpflag::syn | kAck, "", 40000, isn + 1), c);
    const std::string m = options(3);
    feed(t, segment(true, isn + 1, kPshAck, m.substr(0, 20)), c);
    EXPECT_EQ(feed(t, segment(true, isn + 21, kPshAck, m.substr(20)), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{m}));
}

// ---------------------------------------------------------------------------
// Nothing passes unjudged

TEST(TcpStream, DataBeforeTheHandshakeIsDroppedUnjudged) {
    TcpStreamTable t;
    Collector c;
    feed(t, segment(true, kClientIsn, tcpflag::syn, ""), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, options(1)), c).status, St::unjudged);
    EXPECT_TRUE(c.events.empty());
    feed(t, segment(false, kServerIsn, tcpflag::syn | kAck, "", 40000, kClientIsn + 1), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, options(1)), c).status, St::in_order);
}

TEST(TcpStream, DataOnASynIsDroppedUnjudged) {
    // TCP Fast Open: the client sends it again after the handshake.
    TcpStreamTable t;
    Collector c;
    EXPECT_EQ(feed(t, segment(true, kClientIsn, tcpflag::syn, options(1)), c).status, St::unjudged);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, SegmentAheadOfAGapIsDroppedUnjudgedAndJudgedWhenItComesInOrder) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = options(1);
    EXPECT_EQ(feed(t, segment(true, c1(20), kPshAck, m.substr(20)), c).status, St::unjudged);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, m.substr(0, 20)), c).status, St::in_order);
    EXPECT_TRUE(c.events.empty());
    EXPECT_EQ(feed(t, segment(true, c1(20), kPshAck, m.substr(20)), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{m}));
    EXPECT_EQ(t.counters().unjudged, 1u);
}

TEST(TcpStream, IdenticalRetransmissionPassesAndIsNotJudgedAgain) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    feed(t, segment(true, c1(), kPshAck, options(1)), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, options(1)), c).status, St::retransmission);
    EXPECT_EQ(feed(t, segment(true, c1(5), kPshAck, options(1).substr(5, 10)), c).status, St::retransmission);
    EXPECT_EQ(c.messages().size(), 1u);
}

TEST(TcpStream, RetransmissionWithOtherBytesCutsTheConnection) {
    // Insertion: the first copy never reached the receiver (bad checksum,
    // TTL, PAWS); the second carries something else.
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string a = invite(kSdp, "alice"), b = invite(kSdp, "mallory");
    feed(t, segment(true, c1(), kPshAck, a), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, b), c).status, St::inconsistent);
    EXPECT_EQ(feed(t, segment(true, c1(a.size()), kPshAck, options(2)), c).status, St::cut);
    EXPECT_EQ(feed(t, segment(false, s1(), kPshAck, options(3)), c).status, St::cut);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{a}));
}

TEST(TcpStream, OverlapThatRepeatsExactlyJudgesOnlyTheNewBytes) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = options(1) + options(2);
    feed(t, segment(true, c1(), kPshAck, m.substr(0, 50)), c);
    EXPECT_EQ(feed(t, segment(true, c1(30), kPshAck, m.substr(30)), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(1), options(2)}));
}

TEST(TcpStream, AcknowledgedBytesOlderThanTheHistoryAreDroppedUnjudged) {
    TcpStreamConfig cfg;
    cfg.history_slack = 64;
    TcpStreamTable t(cfg);
    Collector c;
    open(t, c);
    const std::string m = options(1) + options(2) + options(3);
    feed(t, segment(true, c1(), kPshAck, m), c);
    // The server acknowledges everything: the table keeps only the slack.
    feed(t, segment(false, s1(), kAck, "", 40000, c1(m.size())), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, invite(kSdp, "mallory")), c).status, St::unjudged);
    // The kept tail still compares.
    EXPECT_EQ(feed(t, segment(true, c1(m.size() - 10), kPshAck, m.substr(m.size() - 10)), c).status,
              St::retransmission);
}

TEST(TcpStream, UnacknowledgedBytesAreKeptForComparisonBeyondTheSlack) {
    TcpStreamConfig cfg;
    cfg.history_slack = 16;
    TcpStreamTable t(cfg);
    Collector c;
    open(t, c);
    const std::string m = options(1) + options(2);
    feed(t, segment(true, c1(), kPshAck, m), c);
    // Nothing acknowledged: a "retransmission" of the start must match.
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, options(9)), c).status, St::inconsistent);
}

TEST(TcpStream, KeepaliveProbeWithAGarbageByteOnlyOnceEverythingIsAcknowledged) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = options(1);
    feed(t, segment(true, c1(), kPshAck, m), c);
    // Not acknowledged yet: a different last byte is an insertion.
    TcpStreamTable t2;
    Collector c2;
    open(t2, c2);
    feed(t2, segment(true, c1(), kPshAck, m), c2);
    EXPECT_EQ(feed(t2, segment(true, c1(m.size() - 1), kAck, std::string(1, '\0')), c2).status, St::inconsistent);
    // Acknowledged: the probe (one garbage byte at the last sequence number) passes.
    feed(t, segment(false, s1(), kAck, "", 40000, c1(m.size())), c);
    EXPECT_EQ(feed(t, segment(true, c1(m.size() - 1), kAck, std::string(1, '\0')), c).status, St::retransmission);
    EXPECT_EQ(feed(t, segment(true, c1(m.size()), kPshAck, options(2)), c).status, St::in_order);
}

TEST(TcpStream, ARefusedMessageCutsTheConnectionAndStaysCutInEveryRetransmission) {
    TcpStreamTable t;
    Collector c;
    c.refuse = "mallory";
    open(t, c);
    const std::string bad = invite(kSdp, "mallory");
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, bad), c).status, St::refused);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, bad), c).status, St::cut);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, bad.substr(0, 40)), c).status, St::cut);
    EXPECT_EQ(feed(t, segment(true, c1(bad.size()), kPshAck, options(2)), c).status, St::cut);
    EXPECT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(t.counters().refused, 1u);
}

TEST(TcpStream, RefusalStopsAtTheFirstRefusedMessageOfASegment) {
    TcpStreamTable t;
    Collector c;
    c.refuse = "mallory";
    open(t, c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, options(1) + invite(kSdp, "mallory") + options(2)), c).status,
              St::refused);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"OPTIONS", "INVITE"}));
}

TEST(TcpStream, JunkCutsTheConnection) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const auto r = feed(t, segment(true, c1(), kPshAck, "GARBAGE\r\n" + options(1)), c);
    EXPECT_EQ(r.status, St::malformed);
    EXPECT_STREQ(r.reason, "bad_request_line");
    EXPECT_EQ(feed(t, segment(true, c1(9), kPshAck, options(1)), c).status, St::cut);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, JunkWithoutALineEndPassesUntilItsLineEnds) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, "XYZZY"), c).status, St::in_order);
    EXPECT_EQ(feed(t, segment(true, c1(5), kPshAck, "\r\n" + options(1)), c).status, St::malformed);
}

TEST(TcpStream, MessageWithoutContentLengthIsMalformedOnAStream) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const auto r = feed(t, segment(true, c1(), kPshAck, "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"), c);
    EXPECT_EQ(r.status, St::malformed);
    EXPECT_STREQ(r.reason, "content_length_missing");
}

TEST(TcpStream, UnfinishedMessageLargerThanTheBoundOverflows) {
    TcpStreamConfig cfg;
    cfg.max_bytes_per_stream = 256;
    TcpStreamTable t(cfg);
    Collector c;
    open(t, c);
    const std::string m = invite(std::string(400, 'x'));
    feed(t, segment(true, c1(), kPshAck, m.substr(0, 200)), c);
    EXPECT_EQ(feed(t, segment(true, c1(200), kPshAck, m.substr(200, 100)), c).status, St::overflow);
}

TEST(TcpStream, UrgentDataCutsTheConnection) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck | tcpflag::urg, options(1), 40000, 0, 5), c).status, St::urgent);
    EXPECT_TRUE(c.events.empty());
}

// ---------------------------------------------------------------------------
// Ends, new connections, pick-up

TEST(TcpStream, DataAfterFinCutsAndItsRetransmissionBeforeTheFinPasses) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string m = options(1);
    feed(t, segment(true, c1(), kPshAck | tcpflag::fin, m), c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck | tcpflag::fin, m), c).status, St::retransmission);
    EXPECT_EQ(feed(t, segment(true, c1(m.size() + 1), kPshAck, options(2)), c).status, St::after_end);
}

TEST(TcpStream, DataAfterRstCutsTheConnection) {
    // A TTL-limited RST may never reach the receiver: the table must not
    // forget a connection the receiver still has.
    TcpStreamTable t;
    Collector c;
    open(t, c);
    feed(t, segment(true, c1(), kPshAck, options(1)), c);
    feed(t, segment(true, c1(options(1).size()), tcpflag::rst, ""), c);
    EXPECT_EQ(feed(t, segment(true, c1(options(1).size()), kPshAck, options(2)), c).status, St::after_end);
}

TEST(TcpStream, NewSynOnALiveConnectionIsBelievedOnlyWhenTheServerAnswersIt) {
    TcpStreamTable t;
    Collector c;
    c.refuse = "mallory";
    open(t, c);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, invite(kSdp, "mallory")), c).status, St::refused);
    // Another SYN: the server still has the connection and answers with a
    // challenge ACK (RFC 5961): the connection stays cut.
    const std::uint32_t isn2 = 777000;
    feed(t, segment(true, isn2, tcpflag::syn, ""), c);
    feed(t, segment(false, s1(), kAck, "", 40000, c1()), c);
    EXPECT_EQ(feed(t, segment(true, isn2 + 1, kPshAck, options(1)), c).status, St::cut);
    // Now the server answers a SYN with a SYN-ACK: a new connection.
    const std::uint32_t isn3 = 888000;
    feed(t, segment(true, isn3, tcpflag::syn, ""), c);
    feed(t, segment(false, 99000, tcpflag::syn | kAck, "", 40000, isn3 + 1), c);
    EXPECT_EQ(feed(t, segment(true, isn3 + 1, kPshAck, options(1)), c).status, St::in_order);
    EXPECT_EQ(t.counters().reopened, 1u);
}

TEST(TcpStream, RepeatedSynChangesNothing) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    feed(t, segment(true, c1(), kPshAck, options(1).substr(0, 10)), c);
    feed(t, segment(true, kClientIsn, tcpflag::syn, ""), c);
    EXPECT_EQ(feed(t, segment(true, c1(10), kPshAck, options(1).substr(10)), c).status, St::in_order);
    EXPECT_EQ(c.messages().size(), 1u);
}

TEST(TcpStream, ConnectionSeenMidStreamIsPickedUpAtAMessageBoundaryDuringTheGrace) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    // The client's first segment: the server has not said where it is yet,
    // so nothing can be judged (the client's ACK says where the client is).
    EXPECT_EQ(feed(t, segment(true, 123456, kPshAck, options(1), 40000, 654321), c).status, St::unjudged);
    EXPECT_EQ(t.counters().pickup_waits, 1u);
    // The server's data starts where the client said; its ACK says where the
    // server is, and the client's retransmission is judged from there.
    EXPECT_EQ(feed(t, segment(false, 654321, kPshAck, options(2), 40000, 123456), c).status, St::in_order);
    EXPECT_EQ(feed(t, segment(true, 123456, kPshAck, options(1), 40000, 654321 + 200), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(2), options(1)}));
    EXPECT_EQ(t.counters().pickups, 1u);
}

TEST(TcpStream, ConnectionSeenMidStreamInsideAMessageIsCut) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    EXPECT_EQ(feed(t, segment(true, 123456, kPshAck, "sip:x@y SIP/2.0\r\n\r\n"), c).status, St::unsynced);
    EXPECT_EQ(feed(t, segment(true, 123456 + 20, kPshAck, options(1)), c).status, St::cut);
}

TEST(TcpStream, ConnectionSeenMidStreamAfterTheGraceIsCut) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    EXPECT_EQ(feed(t, segment(true, 123456, kPshAck, options(1)), c, t0 + 2min).status, St::unsynced);
}

TEST(TcpStream, NoPickUpOnceTheTableHasEvicted) {
    // Evicting a connection on purpose must not let it resume as new.
    TcpStreamConfig cfg;
    cfg.max_streams = 2;
    TcpStreamTable t(cfg);
    t.set_pickup_until(t0 + 1h);
    Collector c;
    for (unsigned port = 40000; port < 40003; ++port) open(t, c, port);
    EXPECT_EQ(t.counters().evictions, 1u);
    EXPECT_EQ(feed(t, segment(true, 5555, kPshAck, options(1), 41000), c).status, St::unsynced);
}

// Pick-up follows the RECEIVER: a direction starts at the ACK number its
// receiver sent, never at the sequence number the sender chose. (Linux's
// tcp_data_queue delivers a segment that starts before rcv_nxt from rcv_nxt
// on: the head the receiver already has is discarded unread.)

constexpr std::uint32_t kMidClient = 300000;   // the server's rcv_nxt for the client's bytes
constexpr std::uint32_t kMidServer = 700000;   // the client's rcv_nxt for the server's bytes

// The server's bare ACK: where the server is in the client's bytes.
TcpStreamTable::FeedResult server_acks(TcpStreamTable& t, Collector& c, std::uint32_t ack,
                                       std::uint32_t seq = kMidServer) {
    return feed(t, segment(false, seq, kAck, "", 40000, ack), c);
}

// A harmless OPTIONS whose body is `body`.
std::string options_carrying(const std::string& body) {
    return "OPTIONS sip:alice@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 192.0.2.10:40000;branch=z9hG4bKo\r\n"
           "From: <sip:bob@example.com>;tag=3\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: o@192.0.2.10\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The audit's segment: an OPTIONS whose body is an INVITE to +882, `k`
// bytes of OPTIONS head before it.
struct HiddenInvite {
    std::string evil = invite(kSdp, "0088216000101");
    std::string opt = options_carrying(evil);
    std::uint32_t k = static_cast<std::uint32_t>(opt.size() - evil.size());
};

TEST(TcpStream, PickUpSegmentStartingBeforeTheReceiversNextByteIsJudgedFromThatByte) {
    // The audit's bypass: an OPTIONS whose body is an INVITE, sent so that the
    // INVITE starts at the server's next byte. The server discards the
    // OPTIONS head it "already has" and reads the INVITE.
    const HiddenInvite h;
    const std::string& evil = h.evil;
    const std::string& opt = h.opt;
    const std::uint32_t k = h.k;
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    c.refuse = "0088216000101";
    EXPECT_EQ(server_acks(t, c, kMidClient).status, St::no_data);
    const auto r = feed(t, segment(true, kMidClient - k, kPshAck, opt, 40000, kMidServer), c);
    EXPECT_EQ(r.status, St::refused);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"INVITE"}));   // never the OPTIONS
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0], evil);
}

TEST(TcpStream, PickUpDataBeforeTheReceiversAckIsDroppedUnjudgedUntilItComes) {
    // The client speaks first: where the server is is unknown, so the segment
    // (which may start anywhere before the server's next byte) is dropped, as
    // often as it comes, until the server's ACK says where it is.
    const HiddenInvite h;
    const std::string& evil = h.evil;
    const std::string& opt = h.opt;
    const std::uint32_t k = h.k;
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(feed(t, segment(true, kMidClient - k, kPshAck, opt, 40000, kMidServer), c).status, St::unjudged);
    EXPECT_TRUE(c.events.empty());
    EXPECT_EQ(t.counters().pickup_waits, 3u);
    // The client's own ACK fields (and a bare ACK it sends) say nothing about
    // where the server is.
    EXPECT_EQ(feed(t, segment(true, kMidClient - k, kAck, "", 40000, kMidClient - k), c).status, St::no_data);
    EXPECT_EQ(feed(t, segment(true, kMidClient - k, kPshAck, opt, 40000, kMidClient - k), c).status, St::unjudged);
    EXPECT_TRUE(c.events.empty());
    // The server's ACK: the retransmission is judged from the server's next byte.
    EXPECT_EQ(server_acks(t, c, kMidClient).status, St::no_data);
    EXPECT_EQ(feed(t, segment(true, kMidClient - k, kPshAck, opt, 40000, kMidServer), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{evil}));
}

TEST(TcpStream, PickUpMessageOverSegmentsBeforeTheReceiversAckIsDroppedNotCut) {
    // A message in two segments, the server silent until both are in: the
    // second continues a message (no boundary), dropped unjudged like the
    // first; the server's ACK then says where the next message starts.
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    const std::string m = invite(kSdp);
    const std::uint32_t n = static_cast<std::uint32_t>(m.size());
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, m.substr(0, 100), 40000, kMidServer), c).status,
              St::unjudged);
    EXPECT_EQ(feed(t, segment(true, kMidClient + 100, kPshAck, m.substr(100), 40000, kMidServer), c).status,
              St::unjudged);
    server_acks(t, c, kMidClient + n);
    EXPECT_EQ(feed(t, segment(true, kMidClient + n, kPshAck, options(2), 40000, kMidServer), c).status,
              St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(2)}));
}

TEST(TcpStream, PickUpSegmentAcrossTheReceiversAckMustStartAMessageThere) {
    const std::string m = options(1) + options(2);
    const std::uint32_t a = static_cast<std::uint32_t>(options(1).size());
    {
        // The tail of one message, then a whole one from the ACK point on.
        TcpStreamTable t;
        t.set_pickup_until(t0 + 1min);
        Collector c;
        server_acks(t, c, kMidClient + a);
        EXPECT_EQ(feed(t, segment(true, kMidClient + 10, kPshAck, m.substr(10), 40000, kMidServer), c).status,
                  St::in_order);
        EXPECT_EQ(c.messages(), (std::vector<std::string>{options(2)}));
        // The same bytes again: a retransmission of what was accepted.
        EXPECT_EQ(feed(t, segment(true, kMidClient + a, kPshAck, options(2), 40000, kMidServer), c).status,
                  St::retransmission);
    }
    {
        // The ACK point falls inside a message: the receiver is not at a
        // message boundary the table could start from. Cut.
        TcpStreamTable t;
        t.set_pickup_until(t0 + 1min);
        Collector c;
        ASSERT_FALSE(starts_like_sip(m.substr(a + 60)));
        server_acks(t, c, kMidClient + a + 60);
        EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, m, 40000, kMidServer), c).status, St::unsynced);
        EXPECT_EQ(feed(t, segment(true, kMidClient + a, kPshAck, options(2), 40000, kMidServer), c).status, St::cut);
        EXPECT_TRUE(c.events.empty());
    }
}

TEST(TcpStream, PickUpBytesBeforeTheReceiversAckOrAfterAGapAreDroppedUnjudged) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    const std::string old = options(1);
    const std::uint32_t a = kMidClient + static_cast<std::uint32_t>(old.size());
    server_acks(t, c, a);
    // The server has these bytes: a retransmission it discards.
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, old, 40000, kMidServer), c).status, St::unjudged);
    // Ahead of the server's next byte: bytes before it are on the way.
    EXPECT_EQ(feed(t, segment(true, a + 7, kPshAck, options(3), 40000, kMidServer), c).status, St::unjudged);
    EXPECT_TRUE(c.events.empty());
    EXPECT_EQ(feed(t, segment(true, a, kPshAck, options(2), 40000, kMidServer), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(2)}));
    EXPECT_EQ(t.counters().pickup_waits, 0u);
}

TEST(TcpStream, PickUpStartsAtTheReceiversHighestAck) {
    // ACKs arrive out of order; until data is judged the direction follows
    // the highest (bytes that reached the server before the engine started).
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    const std::string m = options(1) + options(2);
    const std::uint32_t a = static_cast<std::uint32_t>(options(1).size());
    server_acks(t, c, kMidClient);
    server_acks(t, c, kMidClient + a);
    server_acks(t, c, kMidClient);   // an older ACK, late
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, m, 40000, kMidServer), c).status, St::in_order);
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(2)}));
}

TEST(TcpStream, PickUpOfBothDirectionsAcrossTheSequenceWrap) {
    // Each side's next byte just past 2^32; each side's segment starts before
    // it, before the wrap, and only the bytes after the other side's ACK are
    // judged.
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    const std::string cm = options(1) + options(2), sm = options(3) + options(4);
    const std::uint32_t ca = static_cast<std::uint32_t>(options(1).size());
    const std::uint32_t sa = static_cast<std::uint32_t>(options(3).size());
    const std::uint32_t cseq = 20u - ca;   // the server's next byte: 20, past the wrap
    const std::uint32_t sseq = 40u - sa;   // the client's next byte: 40
    // The client's data first: unjudged, but it says where the client is.
    EXPECT_EQ(feed(t, segment(true, cseq, kPshAck, cm, 40000, sseq + sa), c).status, St::unjudged);
    EXPECT_EQ(feed(t, segment(false, sseq, kPshAck, sm, 40000, cseq + ca), c).status, St::in_order);
    const std::uint32_t snext = sseq + static_cast<std::uint32_t>(sm.size());
    EXPECT_EQ(feed(t, segment(true, cseq, kPshAck, cm, 40000, snext), c).status, St::in_order);
    EXPECT_EQ(c.summary(), (std::vector<std::string>{"OPTIONS", "OPTIONS"}));
    EXPECT_EQ(c.messages(), (std::vector<std::string>{options(4), options(2)}));
    EXPECT_FALSE(c.events[0].from_client);
    EXPECT_TRUE(c.events[1].from_client);
    // Followed on both sides of the wrap.
    const std::uint32_t cnext = cseq + static_cast<std::uint32_t>(cm.size());
    EXPECT_LT(cnext, 1000u);
    EXPECT_EQ(feed(t, segment(true, cnext, kPshAck, options(5), 40000, 0), c).status, St::in_order);
    EXPECT_EQ(feed(t, segment(true, cnext - 10, kPshAck, "0123456789", 40000, 0), c).status, St::inconsistent);
}

TEST(TcpStream, PickUpAckAfterTheGraceDoesNotOpenIt) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    // A bare ACK after the pick-up time creates no state; data then cuts.
    EXPECT_EQ(feed(t, segment(false, kMidServer, kAck, "", 40000, kMidClient), c, t0 + 2min).status, St::no_data);
    EXPECT_EQ(t.size(), 0u);
    // Picked up in time, but the receiver's ACK comes too late.
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, options(1), 40001, kMidServer), c).status, St::unjudged);
    feed(t, segment(false, kMidServer, kAck, "", 40001, kMidClient), c, t0 + 2min);
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, options(1), 40001, kMidServer), c, t0 + 2min).status,
              St::unsynced);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, PickUpOfTlsStartsAtTheReceiversAckToo) {
    TcpStreamTable t;
    t.set_pickup_until(t0 + 1min);
    Collector c;
    const std::string rec("\x17\x03\x03\x00\x05hello", 10);
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, rec, 40000, kMidServer), c).status, St::unjudged);
    server_acks(t, c, kMidClient);
    EXPECT_EQ(feed(t, segment(true, kMidClient, kPshAck, rec, 40000, kMidServer), c).status, St::tls);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, TlsIsReportedNotParsed) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    const std::string hello("\x16\x03\x01\x00\x05hello", 10);
    EXPECT_EQ(feed(t, segment(true, c1(), kPshAck, hello), c).status, St::tls);
    EXPECT_EQ(feed(t, segment(false, s1(), kPshAck, std::string("\x16\x03\x03\x00\x02ok", 7)), c).status, St::tls);
    EXPECT_TRUE(c.events.empty());
}

TEST(TcpStream, StartsLikeSipAcceptsOnlyAMessageBoundary) {
    EXPECT_TRUE(starts_like_sip("INVITE sip:x@y SIP/2.0\r\n"));
    EXPECT_TRUE(starts_like_sip("INV"));
    EXPECT_TRUE(starts_like_sip("SIP/2.0 200 OK"));
    EXPECT_TRUE(starts_like_sip("si"));
    EXPECT_TRUE(starts_like_sip("\r\n"));
    EXPECT_TRUE(starts_like_sip("REGISTER tel:+44"));
    EXPECT_FALSE(starts_like_sip("sip:x@y SIP/2.0"));
    EXPECT_FALSE(starts_like_sip("Via: SIP/2.0/TCP"));
    EXPECT_FALSE(starts_like_sip(""));
    EXPECT_FALSE(starts_like_sip(std::string("\x16\x03\x01", 3)));
}

TEST(TcpStream, IdleConnectionsExpire) {
    TcpStreamTable t;
    Collector c;
    open(t, c);
    EXPECT_EQ(t.expire(t0 + 29min), 0u);
    EXPECT_EQ(t.expire(t0 + 31min), 1u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(TcpStream, SegmentWithWholeMessagesOnAKnownConnectionAllocatesNothingOnceWarm) {
    TcpStreamConfig cfg;
    cfg.history_slack = 0;
    TcpStreamTable t(cfg);
    Collector c;
    c.events.reserve(16);
    open(t, c);
    const std::string m = options(1);
    feed(t, segment(true, c1(), kPshAck, m), c);
    feed(t, segment(false, s1(), kAck, "", 40000, c1(m.size())), c);
    const Bytes next = segment(true, c1(m.size()), kPshAck, m);
    const DecodedPacket p = decode_ip(next.data(), next.size());
    const std::size_t before = test::allocation_count();
    std::size_t n = 0;
    t.feed(p, t0, [&](const TcpMessage&) { return ++n != 0; });
    EXPECT_EQ(n, 1u);
    // The kept history is one vector; appending to its reserved capacity does
    // not allocate.
    EXPECT_LE(test::allocation_count() - before, 1u);
}

// ---------------------------------------------------------------------------
// Recorded captures: decode_link -> decode_ip -> IpReassembler -> TcpStreamTable.
// The captures are in the third-party corpus (pcap/); each test skips
// without its capture.

#define VG_CAPTURE_OR_SKIP(var, name, what) VG_CORPUS_FILE_OR_SKIP(var, "pcap/" name, what)

std::vector<Event> run_capture(const std::string& file, const TcpStreamConfig& cfg = TcpStreamConfig{}) {
    const test::PcapFile pcap = test::parse_pcap(file);
    EXPECT_TRUE(pcap.ok);
    LinkType lt{};
    EXPECT_TRUE(link_type_from_pcap(pcap.linktype, lt)) << pcap.linktype;
    IpReassembler ra(16);
    TcpStreamTable t(cfg);
    // Captures may start after their connections opened: pick them up.
    t.set_pickup_until(Timestamp::max());
    Collector c;
    for (const std::string& frame : pcap.packets) {
        const LinkFrame lf = decode_link(lt, test::bytes_of(frame), frame.size());
        if (!lf.ok() || !lf.is_ip) continue;
        DecodedPacket p = decode_ip(lf.l3, lf.l3_length);
        const auto r = ra.feed(p, lf.l3, lf.l3_length, t0);
        if (r.status == IpReassembler::Status::need_more || r.status == IpReassembler::Status::dropped) continue;
        if (r.status == IpReassembler::Status::complete) p = decode_ip(r.data, r.size);
        if (!p.is_tcp()) continue;
        const auto fr = t.feed(p, t0, [&](const TcpMessage& m) {
            if (m.event != TcpEvent::message) return true;
            Event e;
            e.event = m.event;
            e.bytes = std::string(m.bytes);
            e.what = m.sip->is_request() ? std::string(m.sip->method_text) : std::to_string(m.sip->status_code);
            if (m.sip->content_length.present) e.what += "/" + std::to_string(m.sip->body.size());
            c.events.push_back(std::move(e));
            return true;
        });
        if (fr.status == St::malformed) {
            Event e;
            e.what = fr.reason;
            c.events.push_back(std::move(e));
        }
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
    VG_CAPTURE_OR_SKIP(file, "suricata-verify__sip-tcp-method__sip-tcp.pcap",
                       "a REGISTER split over two TCP segments is delivered once, whole");
    const auto ev = run_capture(file);
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"REGISTER/0", "200/0"}));
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].bytes.size(), 585u);
}

TEST(TcpStreamCapture, RegisterAnd401OverTcp) {
    // tshark -Y sip: REGISTER, 401.
    VG_CAPTURE_OR_SKIP(file, "suricata-verify__sip-tcp-pattern-matching__sip.pcap",
                       "REGISTER and 401 over TCP as tshark sees them");
    const auto ev = run_capture(file);
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"REGISTER/0", "401/0"}));
}

TEST(TcpStreamCapture, HeplifyTcpCallYieldsTheWholeDialogInOrder) {
    // tshark -r heplify__sip_ipv4_tcp.pcap -Y sip -T fields -e sip.Method
    //   -e sip.Status-Code -e sip.Content-Length gives, in frame order:
    // INVITE (228), 100, 180, 200 (225), ACK, BYE, 200.
    VG_CAPTURE_OR_SKIP(file, "heplify__sip_ipv4_tcp.pcap", "the whole SIP-over-TCP dialog of the heplify call, in order");
    const auto ev = run_capture(file);
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"INVITE/228", "100/0", "180/0", "200/225", "ACK/0", "BYE/0",
                                                   "200/0"}));
}

TEST(TcpStreamCapture, LargeBodyInviteIsDeliveredWholeWhenLimitsAllowIt) {
    // tshark -r suricata-verify__sip-body-large__sip-body-large.pcap -Y sip
    //   -T fields -e sip.Method -e sip.Status-Code -e sip.Content-Length
    //   -e tcp.reassembled.length gives: INVITE, Content-Length 65536,
    // reassembled from 5 segments to 65793 bytes; then 100.
    VG_CAPTURE_OR_SKIP(file, "suricata-verify__sip-body-large__sip-body-large.pcap",
                       "a 64 KiB INVITE body reassembled from five segments");
    TcpStreamConfig cfg;
    cfg.max_bytes_per_stream = 128 * 1024;
    cfg.limits.max_message_size = 128 * 1024;
    const auto ev = run_capture(file, cfg);
    EXPECT_EQ(whats(ev), (std::vector<std::string>{"INVITE/65536", "100/0"}));
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].bytes.size(), 65793u);
}

TEST(TcpStreamCapture, LargeBodyInviteIsRejectedUnderDefaultLimits) {
    // The body alone exceeds the 65535-byte message limit: reported once, and
    // the connection is cut (the response on it is not judged either).
    VG_CAPTURE_OR_SKIP(file, "suricata-verify__sip-body-large__sip-body-large.pcap",
                       "a too large INVITE cuts its connection");
    const auto ev = run_capture(file);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].what, "message_too_large");
}

TEST(TcpStreamCapture, SplittingEveryTcpSegmentInTwoChangesNothing) {
    // The heplify call again, each data segment cut into two segments.
    VG_CAPTURE_OR_SKIP(file, "heplify__sip_ipv4_tcp.pcap", "the heplify call with every TCP segment cut in two");
    const test::PcapFile pcap = test::parse_pcap(file);
    ASSERT_TRUE(pcap.ok);
    TcpStreamTable t;
    t.set_pickup_until(Timestamp::max());
    std::vector<std::string> seen;
    for (const std::string& frame : pcap.packets) {
        const LinkFrame lf = decode_link(LinkType::ethernet, test::bytes_of(frame), frame.size());
        if (!lf.ok() || !lf.is_ip) continue;
        const DecodedPacket p = decode_ip(lf.l3, lf.l3_length);
        if (!p.is_tcp()) continue;
        auto sink = [&](const TcpMessage& m) {
            if (m.event == TcpEvent::message) seen.emplace_back(m.sip->is_request() ? m.sip->method_text : "resp");
            return true;
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
