// SPDX-License-Identifier: GPL-2.0-or-later
// SIP over TCP (RFC 3261 §18.3), inline: turns TCP segments back into whole
// SIP messages and decides, segment by segment, what may reach the receiver.
// The daemon gets single segments from NFQUEUE and `replay` gets them from a
// capture; both feed them here, and the caller judges each complete message.
//
//   TcpStreamTable streams(TcpStreamConfig{});
//   auto r = streams.feed(pkt, now, [&](const TcpMessage& m) {
//       return m.event != TcpEvent::message || allowed(*m.sip);   // true: accept
//   });
//   // r.status says what to do with the segment (see Status).
//
// The rule: no byte reaches the receiver unjudged, and what the engine judged
// is what the receiver gets. An inline firewall that only reassembles is
// evaded by every case where its view of the stream and the receiver's
// differ, so the table follows the receiver:
//   - Order: only data at the next expected sequence number is judged and
//     accepted. Data ahead of a gap is dropped unjudged (status unjudged); the
//     sender sends it again once the gap is filled. Nothing is forwarded
//     before it is judged, and nothing is held.
//   - Retransmissions: bytes already accepted that come again must be the
//     same bytes. The table keeps what it accepted until the receiver
//     acknowledges it (and at least the last `history_slack` bytes): a copy
//     with other content is an insertion attempt (the first copy was made to
//     miss the receiver: bad checksum, a TTL that expires on the way, an old
//     timestamp, outside the window) and cuts the connection; bytes older than
//     what is kept were acknowledged, so the receiver discards them: dropped
//     unjudged. New bytes after an identical overlap are judged as usual.
//   - Verdicts: when the caller refuses a message, the segment is dropped and
//     the connection is cut: every later segment of either direction is
//     dropped too (status cut) and the caller resets the sender. A dropped
//     message stays dropped in every retransmission, and bytes after a
//     message the receiver never got whole cannot be judged in its place.
//   - Junk: a message that does not parse, or an unfinished one larger than
//     the bound, cuts the connection. After a framing error there is no safe
//     way to find the next message boundary (a lenient receiver may skip the
//     junk), and a firewall must not guess.
//   - Handshake: data is judged only on a connection whose handshake was seen
//     (a SYN and the other side's SYN-ACK for it); before that it is dropped
//     unjudged, and so is data riding on a SYN (TCP Fast Open: the client
//     sends it again after the handshake). A new SYN on a live connection
//     (another initial sequence number) is not believed until the other side
//     answers it with a SYN-ACK: a receiver that still has the connection
//     answers with a challenge ACK (RFC 5961) and keeps its state, and so does
//     the table.
//   - Ends: data after the sender's FIN or RST is never delivered by a
//     correct receiver, so it is not judged as if it were: it cuts the
//     connection (a forged or TTL-limited RST must not make the table forget
//     a connection the receiver keeps). A SYN answered by a SYN-ACK starts a
//     new connection on the same addresses.
//   - Urgent data (URG) is taken out of the byte stream by the receiver's TCP
//     (out of band): no SIP stack sends it, and it would let the engine see
//     other bytes than the receiver, so it cuts the connection.
//   - Pick-up: a connection first seen without its handshake (the daemon
//     started while it was up, or a capture started late) is followed only
//     until `pickup_until` (a short time after start), and only while the
//     table has never evicted a connection (evicting a connection on purpose
//     must not make it resume as new). Each direction starts where its
//     RECEIVER is, which only the receiver says: the ACK number of a segment
//     it sent (the sender's sequence numbers are the sender's to choose, and
//     a segment that starts before the receiver's next byte is, on Linux,
//     delivered from that byte on: the engine would judge bytes the receiver
//     discards and miss the ones it keeps). Until the receiver's ACK has been
//     seen, data of that direction is dropped unjudged (the sender sends it
//     again); bytes before the ACK point are the receiver's already, dropped
//     unjudged too; a segment across it is judged from it. The first bytes
//     judged must be a message boundary (a SIP start line or CRLFs, or TLS);
//     so must the segment that makes the table pick a connection up. Anything
//     else cuts it. (A bare ACK creates no state, except during the pick-up time
//     when it may: it says where its sender, the receiver, is.)
//   - TLS: a connection whose first bytes are a TLS record is reported as
//     such (status tls); the caller decides what to do with traffic it cannot
//     read, and later segments say tls too.
//
// Framing: after each in-order append the buffered bytes are split with
// parse_message(..., Transport::stream, ...): several messages in one segment,
// one message over many segments. Runs of CR/LF between messages are RFC 5626
// §3.5.1 keep-alives and are delivered as their own event. When nothing is
// buffered the segment is parsed in place; only the unfinished tail is copied.
// An unfinished message is parsed again only when new data can change the
// outcome (a line end arrived while its head is unfinished; its body has
// reached its Content-Length), so tiny segments do not make it quadratic.
//
// Bounds: `max_streams` connections in a fixed-capacity LRU table (the least
// recently used is evicted, counted); per direction at most
// `max_bytes_per_stream` kept (the unfinished message and the unacknowledged
// history); an unfinished message larger than that cuts the connection.
// Buffers are allocated when a direction first has to keep bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "filters/engine/bounded_table.h"
#include "filters/engine/timestamp.h"
#include "filters/net/packet.h"
#include "filters/sip/sip_parser.h"

namespace vg::sip {

using net::DecodedPacket;
using net::FiveTuple;
using net::FlowKey;
namespace ipproto = net::ipproto;
namespace tcpflag = net::tcpflag;

struct TcpStreamConfig {
    std::size_t max_streams = 1024;               // connections tracked at once
    std::size_t max_bytes_per_stream = 64 * 1024; // kept bytes per direction
    std::size_t history_slack = 2048;             // accepted bytes kept past the receiver's ACK
    engine::Duration idle_timeout = std::chrono::minutes(30);  // for expire()
    Limits limits{};                               // handed to parse_message()
};

struct TcpStreamCounters {
    std::uint64_t segments = 0;          // TCP packets fed
    std::uint64_t bytes = 0;             // payload bytes fed
    std::uint64_t bytes_delivered = 0;   // payload bytes judged and accepted in order
    std::uint64_t messages = 0;          // SIP requests and responses delivered
    std::uint64_t keepalives = 0;        // CRLF keep-alive runs delivered
    std::uint64_t unjudged = 0;          // segments dropped unjudged (gap, stale, before the handshake)
    std::uint64_t retransmissions = 0;   // segments repeating accepted bytes, identical
    std::uint64_t inconsistent = 0;      // segments repeating accepted bytes with other content
    std::uint64_t refused = 0;           // connections cut because a message was refused
    std::uint64_t malformed = 0;         // connections cut by a malformed message
    std::uint64_t overflow = 0;          // connections cut by an unfinished message over the bound
    std::uint64_t cut_segments = 0;      // data segments of cut connections
    std::uint64_t unsynced = 0;          // unknown connections that could not be picked up
    std::uint64_t pickups = 0;           // connections picked up mid-stream
    std::uint64_t pickup_waits = 0;      // of unjudged: picked-up data before its receiver's ACK was seen
    std::uint64_t reopened = 0;          // new connections on the same addresses (SYN + SYN-ACK)
    std::uint64_t evictions = 0;         // connections pushed out of the full table
    std::uint64_t expired = 0;           // connections removed by expire()
};

enum class TcpEvent : std::uint8_t {
    message,    // a SIP request or response: `sip` is set
    keepalive,  // CRLF run (RFC 5626 §3.5.1): `sip->kind` is keepalive
};

std::string_view to_string(TcpEvent e) noexcept;

struct TcpMessage {
    TcpEvent event = TcpEvent::message;
    FiveTuple tuple;                  // as the bytes travelled (sender first)
    std::string_view bytes;           // valid during the callback only
    const SipMessage* sip = nullptr;  // valid during the callback only
};

class TcpStreamTable {
public:
    enum class Status : std::uint8_t {
        not_tcp,        // not a decoded, unfragmented TCP packet
        no_data,        // no payload (SYN, ACK, FIN, RST): pass
        in_order,       // new data judged; every complete message accepted: pass
        retransmission, // only bytes accepted before, identical: pass
        unjudged,       // ahead of a gap, stale, before the handshake (or, picked up, before the receiver's ACK),
                        // on a SYN: drop, TCP sends it again
        tls,            // the connection carries TLS: the caller decides
        // Cut: drop, and the connection stays cut (the caller resets the sender).
        refused,        // the caller refused a message of this segment
        malformed,      // a message that does not parse (`reason`)
        overflow,       // an unfinished message over the bound
        inconsistent,   // accepted bytes sent again with other content
        urgent,         // urgent data
        after_end,      // data after the sender's FIN or RST
        unsynced,       // a connection seen without its handshake that cannot be picked up
        cut,            // the connection was cut before
    };

    struct FeedResult {
        Status status = Status::not_tcp;
        std::size_t messages = 0;   // callback invocations for this segment
        const char* reason = nullptr;   // malformed: the parser's reason
        bool cut() const noexcept { return status >= Status::refused; }
    };

    explicit TcpStreamTable(const TcpStreamConfig& config = TcpStreamConfig{});

    TcpStreamTable(const TcpStreamTable&) = delete;
    TcpStreamTable& operator=(const TcpStreamTable&) = delete;

    // judge(const TcpMessage&) -> bool is called for every message and
    // keep-alive the segment completes, in order, until one is refused.
    template <typename F>
    FeedResult feed(const DecodedPacket& pkt, engine::Timestamp now, F&& judge) noexcept {
        using Fn = std::remove_reference_t<F>;
        return feed_impl(pkt, now,
                         Sink{[](void* ctx, const TcpMessage& m) { return static_cast<bool>((*static_cast<Fn*>(ctx))(m)); },
                              const_cast<void*>(static_cast<const void*>(std::addressof(judge)))});
    }

    // Connections first seen without their handshake are picked up until
    // this time (see above); the engine sets it to a short while after it
    // starts. Default: never.
    void set_pickup_until(engine::Timestamp t) noexcept { pickup_until_ = t; }
    // True when the table follows the connection of `pkt` and saw the
    // packet's sender open it (its SYN; not a connection picked up
    // mid-stream, whose opener is unknown).
    bool opened_by_sender(const DecodedPacket& pkt) const noexcept;

    // Removes connections idle for config().idle_timeout or longer.
    std::size_t expire(engine::Timestamp now) noexcept;

    std::size_t size() const noexcept { return table_.size(); }
    const TcpStreamCounters& counters() const noexcept { return counters_; }
    const TcpStreamConfig& config() const noexcept { return config_; }

private:
    struct Direction {
        bool synced = false;          // next_seq is meaningful
        bool fin = false;
        bool rst = false;
        bool ack_known = false;
        std::uint32_t next_seq = 0;   // the next byte the receiver expects
        std::uint32_t fin_seq = 0;
        std::uint32_t hist_seq = 0;   // sequence number of hist[0]
        std::uint32_t acked = 0;      // highest ACK the receiver sent for this direction (also
                                      // before synced: where a picked-up direction starts)
        std::vector<std::uint8_t> hist;   // accepted bytes [hist_seq, next_seq)
        std::size_t msg_off = 0;      // where in hist the unfinished message starts
        std::size_t need = 0;         // parse again when the message reaches this size (body)
        bool head_done = false;
    };
    struct Connection {
        bool client_is_a = true;      // flow.a sent the SYN
        bool syn_seen = false;
        bool established = false;     // SYN and SYN-ACK seen, or picked up
        bool picked_up = false;
        bool cut = false;
        bool tls = false;
        bool judged_any = false;      // some data of the connection was judged
        bool pending = false;         // a new SYN waits for its SYN-ACK
        bool pending_client_is_a = false;
        std::uint32_t client_isn = 0;
        std::uint32_t pending_isn = 0;
        Direction dir[2];             // [0]: from flow.a, [1]: from flow.b
        engine::Timestamp last_seen{};
    };
    struct Sink {
        bool (*fn)(void*, const TcpMessage&);
        void* ctx;
        bool operator()(const TcpMessage& m) const { return fn(ctx, m); }
    };

    FeedResult feed_impl(const DecodedPacket& pkt, engine::Timestamp now, Sink sink) noexcept;
    FeedResult data(Connection& c, Direction& d, const FiveTuple& t, std::uint32_t seq, const std::uint8_t* p,
                    std::size_t len, Sink& sink) noexcept;
    // Appends new in-order bytes and judges what they complete.
    FeedResult judge_new(Connection& c, Direction& d, const FiveTuple& t, const std::uint8_t* p, std::size_t len,
                         Sink& sink) noexcept;
    // The first data of a direction of a picked-up connection (`first`: the
    // segment that made the table pick it up).
    FeedResult pick_up(Connection& c, Direction& d, const FiveTuple& t, std::uint32_t seq, const std::uint8_t* p,
                       std::size_t len, bool first, engine::Timestamp now, Sink& sink) noexcept;
    void acknowledge(Direction& d, std::uint32_t ack) noexcept;
    void trim(Direction& d) noexcept;
    FeedResult cut(Connection& c, Status why, const char* reason = nullptr) noexcept;
    static void start(Direction& d, std::uint32_t next) noexcept;

    TcpStreamConfig config_;
    engine::BoundedTable<FlowKey, Connection, net::FlowKeyHash> table_;
    std::unique_ptr<SipMessage> msg_;  // about 20 KiB, reused
    TcpStreamCounters counters_;
    engine::Timestamp pickup_until_{};
};

std::string_view to_string(TcpStreamTable::Status s) noexcept;

// Does the payload begin at a SIP message boundary: a request or status line
// (as far as it goes), or CR/LF? Used to pick up connections mid-stream.
bool starts_like_sip(std::string_view s) noexcept;
// Does it begin like a TLS record (handshake, alert or application data)?
bool starts_like_tls(std::string_view s) noexcept;

}  // namespace vg::sip
