// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/tcp_stream.h"

#include <cstring>

namespace vg::sip {

namespace {

constexpr std::size_t kError = static_cast<std::size_t>(-1);

std::string_view as_text(const std::uint8_t* p, std::size_t n) noexcept {
    return std::string_view(reinterpret_cast<const char*>(p), n);
}

bool is_crlf(char c) noexcept { return c == '\r' || c == '\n'; }

// End of the message head (index after the empty line) of a message that
// starts at v[0] with a non-empty start line, or 0 if the head is unfinished.
// RFC 3261 §7: the head ends at the first empty line; parse_message() also
// accepts bare LF line ends, so "\n\r\n" and "\n\n" both end it. A folded
// continuation line starts with SP/HT and is never empty.
std::size_t head_end(std::string_view v) noexcept {
    for (std::size_t i = v.find('\n'); i != std::string_view::npos; i = v.find('\n', i + 1)) {
        if (i + 1 < v.size() && v[i + 1] == '\n') return i + 2;
        if (i + 2 < v.size() && v[i + 1] == '\r' && v[i + 2] == '\n') return i + 3;
    }
    return 0;
}

}  // namespace

std::string_view to_string(TcpEvent e) noexcept {
    switch (e) {
    case TcpEvent::message: return "message";
    case TcpEvent::keepalive: return "keepalive";
    case TcpEvent::malformed: return "malformed";
    case TcpEvent::overflow: return "overflow";
    }
    return "unknown";
}

std::string_view to_string(TcpStreamTable::Status s) noexcept {
    using S = TcpStreamTable::Status;
    switch (s) {
    case S::not_tcp: return "not_tcp";
    case S::no_data: return "no_data";
    case S::in_order: return "in_order";
    case S::out_of_order_held: return "out_of_order_held";
    case S::out_of_order_dropped: return "out_of_order_dropped";
    case S::retransmission: return "retransmission";
    case S::overflow: return "overflow";
    case S::malformed: return "malformed";
    case S::discarded: return "discarded";
    }
    return "unknown";
}

TcpStreamTable::TcpStreamTable(const TcpStreamConfig& config)
    : config_(config), table_(config.max_streams), msg_(std::make_unique<SipMessage>()) {}

TcpStreamTable::TcpStreamTable(std::size_t max_streams, std::size_t max_bytes_per_stream)
    : TcpStreamTable([&] {
          TcpStreamConfig c;
          c.max_streams = max_streams;
          c.max_bytes_per_stream = max_bytes_per_stream;
          return c;
      }()) {}

void TcpStreamTable::reset_stream(Stream& s) noexcept { s = Stream{}; }

void TcpStreamTable::close(const Key& k) noexcept {
    Stream* s = table_.find(k);
    if (s == nullptr) return;
    ++counters_.closed;
    if (!s->buf.empty()) ++counters_.closed_incomplete;
    table_.erase(k);
}

void TcpStreamTable::fail(Stream& s, const FiveTuple& t, TcpEvent ev, std::string_view bytes,
                          std::string_view reason, FeedResult& res, Sink& sink) noexcept {
    const bool resync = !s.syn_seen && !s.delivered_any;
    if (ev == TcpEvent::malformed) {
        ++counters_.malformed;
        res.status = Status::malformed;
    } else {
        ++counters_.overflow;
        res.status = Status::overflow;
    }
    TcpMessage m;
    m.event = ev;
    m.tuple = t;
    m.bytes = bytes;
    m.reason = reason;
    m.stream_dropped = !resync;
    ++res.messages;
    sink(m);
    // `bytes` may point into the buffers cleared here: report first.
    std::vector<std::uint8_t>().swap(s.buf);
    std::vector<Held>().swap(s.held);
    s.held_bytes = 0;
    s.need = 0;
    s.head_done = false;
    if (resync) {
        ++counters_.resyncs;
        s.synced = false;
    } else {
        s.dropped = true;
    }
}

std::size_t TcpStreamTable::split(Stream& s, const FiveTuple& t, std::string_view v, FeedResult& res,
                                  Sink& sink) noexcept {
    std::size_t pos = 0;
    while (pos < v.size()) {
        std::size_t k = pos;
        while (k < v.size() && is_crlf(v[k])) ++k;
        if (k > pos) {
            // RFC 5626 §3.5.1 keep-alive (CRLFCRLF ping, CRLF pong).
            const std::string_view run = v.substr(pos, k - pos);
            parse_message(run, Transport::stream, config_.limits, *msg_);
            TcpMessage m;
            m.event = TcpEvent::keepalive;
            m.tuple = t;
            m.bytes = run;
            m.sip = msg_.get();
            ++counters_.keepalives;
            ++res.messages;
            sink(m);
            pos = k;
            continue;
        }
        const std::string_view rest = v.substr(pos);
        const ParseResult r = parse_message(rest, Transport::stream, config_.limits, *msg_);
        if (r.status == sip::Status::ok) {
            TcpMessage m;
            m.event = TcpEvent::message;
            m.tuple = t;
            m.bytes = rest.substr(0, r.consumed);
            m.sip = msg_.get();
            ++counters_.messages;
            ++res.messages;
            s.delivered_any = true;
            sink(m);
            pos += r.consumed;
            continue;
        }
        if (r.status == sip::Status::incomplete) {
            const std::size_t he = head_end(rest);
            s.head_done = he != 0;
            s.need = 0;
            if (s.head_done && msg_->content_length.present) s.need = he + msg_->content_length.value;
            return pos;
        }
        fail(s, t, TcpEvent::malformed, rest, r.reason ? r.reason : "malformed", res, sink);
        return kError;
    }
    s.head_done = false;
    s.need = 0;
    return pos;
}

bool TcpStreamTable::deliver(Stream& s, const FiveTuple& t, const std::uint8_t* data, std::size_t len,
                             FeedResult& res, Sink& sink) noexcept {
    counters_.bytes_delivered += len;
    s.next_seq += static_cast<std::uint32_t>(len);
    const std::size_t max = config_.max_bytes_per_stream;
    if (s.buf.empty()) {
        // Fast path: parse the segment in place, keep only the unfinished tail.
        const std::size_t used = split(s, t, as_text(data, len), res, sink);
        if (used == kError) return false;
        const std::size_t rest = len - used;
        if (rest == 0) return true;
        if (rest > max || s.held_bytes > max - rest) {
            fail(s, t, TcpEvent::overflow, as_text(data + used, rest), "tcp_stream_overflow", res, sink);
            return false;
        }
        try {
            s.buf.assign(data + used, data + len);
        } catch (...) {
            fail(s, t, TcpEvent::overflow, as_text(data + used, rest), "tcp_stream_overflow", res, sink);
            return false;
        }
        return true;
    }
    if (len > max || s.buf.size() > max - len || s.held_bytes > max - len - s.buf.size()) {
        fail(s, t, TcpEvent::overflow, as_text(s.buf.data(), s.buf.size()), "tcp_stream_overflow", res, sink);
        return false;
    }
    const bool has_lf = std::memchr(data, '\n', len) != nullptr;
    try {
        s.buf.insert(s.buf.end(), data, data + len);
    } catch (...) {
        fail(s, t, TcpEvent::overflow, as_text(s.buf.data(), s.buf.size()), "tcp_stream_overflow", res, sink);
        return false;
    }
    // Parse again only if the new bytes can finish the message.
    if (s.head_done ? s.buf.size() < s.need : !has_lf) return true;
    const std::size_t used = split(s, t, as_text(s.buf.data(), s.buf.size()), res, sink);
    if (used == kError) return false;
    s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(used));
    if (s.buf.empty()) std::vector<std::uint8_t>().swap(s.buf);
    return true;
}

void TcpStreamTable::drain_held(Stream& s, const FiveTuple& t, FeedResult& res, Sink& sink, bool& fin) noexcept {
    bool progress = true;
    while (progress && !s.held.empty() && s.synced && !s.dropped) {
        progress = false;
        for (std::size_t i = 0; i < s.held.size(); ++i) {
            const auto ahead = static_cast<std::int32_t>(s.held[i].seq - s.next_seq);
            if (ahead > 0) continue;
            Held h = std::move(s.held[i]);
            s.held.erase(s.held.begin() + static_cast<std::ptrdiff_t>(i));
            s.held_bytes -= h.data.size();
            const auto old = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
            if (old > 0) ++counters_.retransmissions;
            if (old < h.data.size() && !deliver(s, t, h.data.data() + old, h.data.size() - old, res, sink))
                return;
            if (h.fin && static_cast<std::int32_t>(h.seq + static_cast<std::uint32_t>(h.data.size()) - s.next_seq) <= 0)
                fin = true;
            progress = true;
            break;
        }
    }
}

TcpStreamTable::FeedResult TcpStreamTable::feed_impl(const DecodedPacket& pkt, engine::Timestamp now,
                                                     Sink sink) noexcept {
    FeedResult res;
    if (!pkt.ok() || !pkt.is_tcp() || pkt.is_fragment) return res;
    ++counters_.segments;
    counters_.bytes += pkt.payload_length;
    res.status = Status::no_data;

    const FiveTuple t = pkt.tuple();
    Key key;
    key.flow = FlowKey::from(t);
    key.from_a = t.src == key.flow.a && t.src_port == key.flow.port_a;

    if (pkt.has_tcp_flag(tcpflag::rst)) {
        // RFC 9293 §3.5.2: the connection is gone in both directions.
        close(key);
        Key other = key;
        other.from_a = !key.from_a;
        close(other);
        return res;
    }
    const bool syn = pkt.has_tcp_flag(tcpflag::syn);
    bool fin = pkt.has_tcp_flag(tcpflag::fin);
    const std::uint8_t* data = pkt.payload;
    std::size_t len = data != nullptr ? pkt.payload_length : 0;

    Stream* s = table_.touch(key);
    if (s == nullptr) {
        if (!syn && len == 0) return res;  // a bare ACK/FIN creates no state
        auto ins = table_.find_or_insert(key, [this](const Key&, Stream&) { ++counters_.evictions; });
        s = ins.value;
        if (s == nullptr) {  // max_streams 0
            counters_.discarded_bytes += len;
            res.status = Status::discarded;
            return res;
        }
    }
    s->last_seen = now;

    std::uint32_t seq = pkt.tcp_seq;
    if (syn) {
        if (!(s->syn_seen && s->isn == seq)) {
            reset_stream(*s);
            s->last_seen = now;
            s->syn_seen = true;
            s->isn = seq;
            s->synced = true;
            s->next_seq = seq + 1;
        }
        seq += 1;  // the SYN takes one sequence number; data (TFO) follows it
    }
    if (s->dropped) {
        counters_.discarded_bytes += len;
        if (len > 0) res.status = Status::discarded;
        if (fin) close(key);
        return res;
    }
    if (!s->synced) {
        if (len == 0) {
            if (fin) close(key);
            return res;
        }
        s->synced = true;
        s->next_seq = seq;
    }

    const auto ahead = static_cast<std::int32_t>(seq - s->next_seq);
    if (ahead > 0) {
        if (len == 0 && !fin) return res;  // an ACK ahead of a gap carries nothing to hold
        ++counters_.out_of_order;
        const std::size_t max = config_.max_bytes_per_stream;
        const std::size_t used = s->buf.size() + s->held_bytes;
        if (s->held.size() < config_.max_out_of_order && used <= max && len <= max - used) {
            try {
                Held h;
                h.seq = seq;
                h.fin = fin;
                h.data.assign(data, data + len);
                s->held.push_back(std::move(h));
                s->held_bytes += len;
                res.status = Status::out_of_order_held;
                return res;
            } catch (...) {
            }
        }
        ++counters_.out_of_order_dropped;
        res.status = Status::out_of_order_dropped;
        return res;
    }
    if (ahead < 0 && len > 0) {
        const auto old = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
        ++counters_.retransmissions;
        if (old >= len) {
            res.status = Status::retransmission;
            // A repeated FIN whose sequence is exactly the end of the data.
            if (fin && old == len) close(key);
            return res;
        }
        data += old;
        len -= old;
    } else if (ahead < 0) {
        return res;  // an old FIN/ACK without data: nothing new
    }

    if (len > 0) {
        res.status = Status::in_order;
        if (!deliver(*s, t, data, len, res, sink)) {
            if (fin) close(key);
            return res;
        }
    }
    drain_held(*s, t, res, sink, fin);
    if (fin) close(key);
    return res;
}

std::size_t TcpStreamTable::expire(engine::Timestamp now) noexcept {
    const std::size_t n = table_.erase_if(
        [&](const Key&, Stream& s) { return now - s.last_seen >= config_.idle_timeout; });
    counters_.expired += n;
    return n;
}

}  // namespace vg::sip
