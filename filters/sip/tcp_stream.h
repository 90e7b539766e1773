// SPDX-License-Identifier: GPL-2.0-or-later
// SIP over TCP (RFC 3261 §18.3): turns TCP segments back into whole SIP
// messages. The daemon gets single segments from NFQUEUE and `replay` gets them
// from a capture; both feed them here, one direction of one connection per
// stream (FlowKey + direction).
//
//   TcpStreamTable streams(TcpStreamConfig{});
//   streams.feed(pkt, now, [&](const TcpMessage& m) {
//       if (m.event == TcpEvent::message) inspect(*m.sip, m.bytes);
//   });
//
// Sequence tracking (RFC 9293 §3.4, 32-bit serial arithmetic):
//   - SYN sets the initial sequence number; data starts at ISN + 1. A SYN with
//     another ISN on a known stream starts the stream over (port reuse).
//   - A stream first seen without a SYN (the daemon started while the
//     connection was up, or the capture started late) syncs on the first
//     segment that carries data.
//   - In-order data is delivered. Data before the next expected byte
//     (retransmission, overlap) is trimmed and never delivered twice;
//     retransmitted bytes are not compared with the first copy.
//   - Out-of-order segments are held, at most `max_out_of_order` per stream
//     and within the stream's byte bound; they are replayed when the gap
//     fills. A segment that cannot be held is dropped and counted, and
//     feed() says so (status out_of_order_dropped): inline, the daemon should
//     drop that packet so the sender retransmits it once the gap is filled.
//   - FIN closes the direction once every byte before it has arrived; RST
//     closes both directions at once. A message left incomplete at close is
//     counted (closed_incomplete), not delivered.
//
// Message framing: after each in-order append the buffered bytes are split
// with vg::parse_message(..., Transport::stream, ...): several messages
// in one segment, one message over many segments. Runs of CR/LF between
// messages are RFC 5626 §3.5.1 keep-alives and are delivered as their own
// event (a CRLF run cut by a segment boundary gives two keep-alive events).
// When the buffer is empty on entry the segment is parsed in place (no copy);
// only the unfinished tail is copied into the stream's buffer.
//
// Errors: a `malformed` message, or an unfinished message that would need more
// than `max_bytes_per_stream` buffered (overflow), is reported once through the
// callback and the stream is dropped: its data is discarded (counted as
// discarded_bytes) until a SYN starts it over or FIN/RST/eviction/expiry ends
// it. After a framing error there is no safe way to find the next message
// boundary in a stream (a body may contain text that looks like a request
// line), and a firewall must not guess. One exception: a stream that synced
// mid-connection and has not yet delivered a message may have started in the
// middle of a message, so a parse error there drops the buffered bytes and
// re-syncs on the next segment instead (counted as resyncs).
//
// Bounds: `max_streams` directions in a fixed-capacity LRU table (the least
// recently used is evicted, counted); per stream at most `max_bytes_per_stream`
// buffered (unfinished message plus held out-of-order data). Buffers are
// allocated when a stream first has to hold bytes and freed when it goes.
//
// Cost: an unfinished message is parsed again only when new data can change
// the outcome (a line end arrived while the head is unfinished; the body has
// reached its Content-Length), so tiny segments do not make parsing quadratic.
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
    std::size_t max_streams = 1024;               // directions tracked at once
    std::size_t max_bytes_per_stream = 64 * 1024; // buffered bytes per direction
    std::size_t max_out_of_order = 8;             // held segments per direction
    engine::Duration idle_timeout = std::chrono::minutes(30);  // for expire()
    Limits limits{};                         // handed to parse_message()
};

struct TcpStreamCounters {
    std::uint64_t segments = 0;          // TCP packets fed
    std::uint64_t bytes = 0;             // payload bytes fed
    std::uint64_t bytes_delivered = 0;   // payload bytes appended in order
    std::uint64_t messages = 0;          // SIP requests and responses delivered
    std::uint64_t keepalives = 0;        // CRLF keep-alive runs delivered
    std::uint64_t out_of_order = 0;      // segments that arrived ahead of a gap
    std::uint64_t out_of_order_dropped = 0;
    std::uint64_t retransmissions = 0;   // segments with already seen data (wholly or partly)
    std::uint64_t overflow = 0;          // streams dropped: buffer bound exceeded
    std::uint64_t malformed = 0;         // malformed messages
    std::uint64_t resyncs = 0;           // mid-connection streams that re-synced after an error
    std::uint64_t discarded_bytes = 0;   // payload of dropped streams
    std::uint64_t evictions = 0;         // streams pushed out of the full table
    std::uint64_t expired = 0;           // streams removed by expire()
    std::uint64_t closed = 0;            // directions closed by FIN or RST
    std::uint64_t closed_incomplete = 0; // closed with an unfinished message buffered
};

enum class TcpEvent : std::uint8_t {
    message,    // a SIP request or response: `sip` is set
    keepalive,  // CRLF run (RFC 5626 §3.5.1): `sip->kind` is keepalive
    malformed,  // parse error: `reason` says which; `bytes` is the unparseable data
    overflow,   // unfinished message larger than the stream bound; `bytes` is what was held
};

std::string_view to_string(TcpEvent e) noexcept;

struct TcpMessage {
    TcpEvent event = TcpEvent::message;
    FiveTuple tuple;               // as the bytes travelled (sender first)
    std::string_view bytes;        // valid during the callback only
    const SipMessage* sip = nullptr;  // message/keepalive; valid during the callback only
    std::string_view reason;       // malformed: the parser's reason; overflow: "tcp_stream_overflow"
    bool stream_dropped = false;   // malformed/overflow: true if the stream is now dropped
                                   // (false: it re-syncs on the next segment)
};

class TcpStreamTable {
public:
    enum class Status : std::uint8_t {
        not_tcp,               // not a TCP packet with a decoded header
        no_data,               // SYN/FIN/RST/ACK without new payload
        in_order,              // payload appended (messages may have been delivered)
        out_of_order_held,
        out_of_order_dropped,
        retransmission,        // payload entirely seen before
        overflow,              // the stream was dropped by this segment
        malformed,             // ditto (or re-synced, see TcpMessage::stream_dropped)
        discarded,             // the stream had been dropped before; payload ignored
    };

    struct FeedResult {
        Status status = Status::not_tcp;
        std::size_t messages = 0;  // callback invocations for this segment
    };

    explicit TcpStreamTable(const TcpStreamConfig& config = TcpStreamConfig{});
    TcpStreamTable(std::size_t max_streams, std::size_t max_bytes_per_stream);

    TcpStreamTable(const TcpStreamTable&) = delete;
    TcpStreamTable& operator=(const TcpStreamTable&) = delete;

    // `pkt` must be an unfragmented, decoded TCP packet (pkt.ok() &&
    // pkt.is_tcp()); anything else returns not_tcp. on_message(const
    // TcpMessage&) is called for every event the segment produces, in order.
    template <typename F>
    FeedResult feed(const DecodedPacket& pkt, engine::Timestamp now, F&& on_message) noexcept {
        using Fn = std::remove_reference_t<F>;
        return feed_impl(pkt, now,
                         Sink{[](void* ctx, const TcpMessage& m) { (*static_cast<Fn*>(ctx))(m); },
                              const_cast<void*>(static_cast<const void*>(std::addressof(on_message)))});
    }

    // Removes streams idle for config().idle_timeout or longer; returns how many.
    std::size_t expire(engine::Timestamp now) noexcept;

    std::size_t size() const noexcept { return table_.size(); }
    const TcpStreamCounters& counters() const noexcept { return counters_; }
    const TcpStreamConfig& config() const noexcept { return config_; }

private:
    struct Key {
        FlowKey flow;
        bool from_a = false;  // bytes travel from flow.a to flow.b
        friend bool operator==(const Key& x, const Key& y) noexcept {
            return x.from_a == y.from_a && x.flow == y.flow;
        }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept { return k.flow.hash() * 2 + (k.from_a ? 1 : 0); }
    };
    struct Held {
        std::uint32_t seq = 0;
        bool fin = false;
        std::vector<std::uint8_t> data;
    };
    struct Stream {
        bool synced = false;          // next_seq is meaningful
        bool syn_seen = false;
        bool dropped = false;         // framing lost: discard until SYN/close
        bool delivered_any = false;
        std::uint32_t isn = 0;
        std::uint32_t next_seq = 0;
        std::vector<std::uint8_t> buf;  // unfinished message
        std::vector<Held> held;         // out-of-order segments
        std::size_t held_bytes = 0;
        // Parse-skipping state for `buf`: parse again only when buf.size()
        // reaches `need` (body) or a line end arrives (head).
        std::size_t need = 0;
        bool head_done = false;
        engine::Timestamp last_seen{};
    };
    struct Sink {
        void (*fn)(void*, const TcpMessage&);
        void* ctx;
        void operator()(const TcpMessage& m) const { fn(ctx, m); }
    };

    FeedResult feed_impl(const DecodedPacket& pkt, engine::Timestamp now, Sink sink) noexcept;
    // Appends in-order bytes and delivers what is complete. Returns false if
    // the stream was dropped or re-synced.
    bool deliver(Stream& s, const FiveTuple& t, const std::uint8_t* data, std::size_t len, FeedResult& res,
                 Sink& sink) noexcept;
    // Splits `v` into messages; returns bytes consumed, or npos on error
    // (after reporting it).
    std::size_t split(Stream& s, const FiveTuple& t, std::string_view v, FeedResult& res, Sink& sink) noexcept;
    void fail(Stream& s, const FiveTuple& t, TcpEvent ev, std::string_view bytes, std::string_view reason,
              FeedResult& res, Sink& sink) noexcept;
    void drain_held(Stream& s, const FiveTuple& t, FeedResult& res, Sink& sink, bool& fin) noexcept;
    void reset_stream(Stream& s) noexcept;
    void close(const Key& k) noexcept;

    TcpStreamConfig config_;
    engine::BoundedTable<Key, Stream, KeyHash> table_;
    std::unique_ptr<SipMessage> msg_;  // about 20 KiB, reused
    TcpStreamCounters counters_;
};

std::string_view to_string(TcpStreamTable::Status s) noexcept;

}  // namespace vg::sip
