// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/tcp_stream.h"

#include <cstring>

namespace vg::sip {

namespace {

std::string_view as_text(const std::uint8_t* p, std::size_t n) noexcept {
    return std::string_view(reinterpret_cast<const char*>(p), n);
}

bool is_crlf(char c) noexcept { return c == '\r' || c == '\n'; }

// RFC 9293 §3.4 serial arithmetic: a before b.
bool before(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) < 0; }

// End of the message head (index after the empty line) of a message that
// starts at v[0] with a non-empty start line, or 0 if the head is unfinished.
// RFC 3261 §7: the head ends at the first empty line; parse_message() also
// accepts bare LF line ends, so "\n\r\n" and "\n\n" both end it.
std::size_t head_end(std::string_view v) noexcept {
    for (std::size_t i = v.find('\n'); i != std::string_view::npos; i = v.find('\n', i + 1)) {
        if (i + 1 < v.size() && v[i + 1] == '\n') return i + 2;
        if (i + 2 < v.size() && v[i + 1] == '\r' && v[i + 2] == '\n') return i + 3;
    }
    return 0;
}

bool is_token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
        return true;
    default:
        return false;
    }
}

}  // namespace

bool starts_like_sip(std::string_view s) noexcept {
    if (s.empty()) return false;
    if (is_crlf(s[0])) return true;
    // Status line: "SIP/" (any case), as far as the data goes.
    static constexpr char kSip[] = "sip/";
    std::size_t i = 0;
    while (i < s.size() && i < 4 && (s[i] | 0x20) == kSip[i]) ++i;
    if (i == s.size() || i == 4) return true;
    // Request line: a method token, one SP, a URI scheme ("sip:", "tel:"...).
    i = 0;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == 0) return false;
    if (i == s.size()) return true;
    if (s[i] != ' ') return false;
    std::size_t j = i + 1;
    while (j < s.size() && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')) ++j;
    return j == s.size() || (j > i + 1 && s[j] == ':');
}

bool starts_like_tls(std::string_view s) noexcept {
    // TLS record header: content type 20..23, version 3.x (RFC 8446 §5.1).
    if (s.size() < 3) return false;
    const auto type = static_cast<unsigned char>(s[0]);
    return type >= 20 && type <= 23 && s[1] == '\x03' && static_cast<unsigned char>(s[2]) <= 4;
}

std::string_view to_string(TcpEvent e) noexcept {
    switch (e) {
    case TcpEvent::message: return "message";
    case TcpEvent::keepalive: return "keepalive";
    }
    return "unknown";
}

std::string_view to_string(TcpStreamTable::Status s) noexcept {
    using S = TcpStreamTable::Status;
    switch (s) {
    case S::not_tcp: return "not_tcp";
    case S::no_data: return "no_data";
    case S::in_order: return "in_order";
    case S::retransmission: return "retransmission";
    case S::unjudged: return "unjudged";
    case S::tls: return "tls";
    case S::refused: return "refused";
    case S::malformed: return "malformed";
    case S::overflow: return "overflow";
    case S::inconsistent: return "inconsistent";
    case S::urgent: return "urgent";
    case S::after_end: return "after_end";
    case S::unsynced: return "unsynced";
    case S::cut: return "cut";
    }
    return "unknown";
}

TcpStreamTable::TcpStreamTable(const TcpStreamConfig& config)
    : config_(config), table_(config.max_streams), msg_(std::make_unique<SipMessage>()) {}

void TcpStreamTable::start(Direction& d, std::uint32_t next) noexcept {
    d = Direction{};
    d.synced = true;
    d.next_seq = next;
    d.hist_seq = next;
}

TcpStreamTable::FeedResult TcpStreamTable::cut(Connection& c, Status why, const char* reason) noexcept {
    c.cut = true;
    for (Direction& d : c.dir) {
        std::vector<std::uint8_t>().swap(d.hist);
        d.msg_off = 0;
        d.need = 0;
        d.head_done = false;
    }
    FeedResult r;
    r.status = why;
    r.reason = reason;
    return r;
}

// The receiver acknowledged everything before `ack`: keep only what a
// retransmission can still repeat.
void TcpStreamTable::acknowledge(Direction& d, std::uint32_t ack) noexcept {
    if (!d.synced) {
        // Not followed yet (a direction of a connection picked up mid-stream):
        // where the receiver is. The highest ACK it sent; the direction starts
        // there (pick_up).
        if (!d.ack_known || before(d.acked, ack)) {
            d.acked = ack;
            d.ack_known = true;
        }
        return;
    }
    if (before(d.next_seq, ack) || !before(d.hist_seq, ack)) return;
    if (d.ack_known && !before(d.acked, ack)) return;
    d.acked = ack;
    d.ack_known = true;
    trim(d);
}

void TcpStreamTable::trim(Direction& d) noexcept {
    // Keep [keep_from, next_seq): the unfinished message, what is not yet
    // acknowledged, and at least the last history_slack bytes.
    std::uint32_t keep_from = d.hist_seq;
    if (d.ack_known) {
        keep_from = d.next_seq - static_cast<std::uint32_t>(std::min<std::size_t>(d.hist.size(), config_.history_slack));
        if (before(d.acked, keep_from)) keep_from = d.acked;
    }
    const std::uint32_t msg_seq = d.hist_seq + static_cast<std::uint32_t>(d.msg_off);
    if (before(msg_seq, keep_from)) keep_from = msg_seq;
    // Bound: the unacknowledged history goes first, never the unfinished message.
    const std::uint32_t kept = d.next_seq - keep_from;
    if (kept > config_.max_bytes_per_stream) {
        const std::uint32_t bound = d.next_seq - static_cast<std::uint32_t>(config_.max_bytes_per_stream);
        keep_from = before(msg_seq, bound) ? msg_seq : bound;
    }
    if (!before(d.hist_seq, keep_from)) return;
    const std::size_t drop = keep_from - d.hist_seq;
    if (drop >= d.hist.size()) {
        std::vector<std::uint8_t>().swap(d.hist);
    } else {
        d.hist.erase(d.hist.begin(), d.hist.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    d.msg_off -= std::min(d.msg_off, drop);
    d.hist_seq = keep_from;
}

TcpStreamTable::FeedResult TcpStreamTable::judge_new(Connection& c, Direction& d, const FiveTuple& t,
                                                     const std::uint8_t* p, std::size_t len, Sink& sink) noexcept {
    FeedResult res;
    res.status = Status::in_order;
    const bool first = !c.judged_any;
    c.judged_any = true;
    const std::size_t unfinished = d.hist.size() - d.msg_off;
    if (unfinished + len > config_.max_bytes_per_stream) return cut(c, Status::overflow, "tcp_stream_overflow");
    // The first bytes of a connection: TLS is reported, not parsed.
    if (first && starts_like_tls(as_text(p, len))) c.tls = true;
    if (c.tls) {
        res.status = Status::tls;
        counters_.bytes_delivered += len;
        d.next_seq += static_cast<std::uint32_t>(len);
        d.hist_seq = d.next_seq;
        return res;
    }
    const bool has_lf = std::memchr(p, '\n', len) != nullptr;
    try {
        d.hist.insert(d.hist.end(), p, p + len);
    } catch (...) {
        return cut(c, Status::overflow, "tcp_stream_overflow");
    }
    d.next_seq += static_cast<std::uint32_t>(len);
    counters_.bytes_delivered += len;
    // Parse again only if the new bytes can finish the unfinished message.
    if (unfinished > 0 && (d.head_done ? d.hist.size() - d.msg_off < d.need : !has_lf)) {
        trim(d);
        return res;
    }
    const std::string_view v = as_text(d.hist.data() + d.msg_off, d.hist.size() - d.msg_off);
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
            if (!sink(m)) {
                ++counters_.refused;
                return cut(c, Status::refused);
            }
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
            if (!sink(m)) {
                ++counters_.refused;
                return cut(c, Status::refused);
            }
            pos += r.consumed;
            continue;
        }
        if (r.status == sip::Status::incomplete) {
            const std::size_t he = head_end(rest);
            d.head_done = he != 0;
            d.need = 0;
            if (d.head_done && msg_->content_length.present) d.need = he + msg_->content_length.value;
            break;
        }
        ++counters_.malformed;
        return cut(c, Status::malformed, r.reason ? r.reason : "malformed");
    }
    if (pos == v.size()) {
        d.head_done = false;
        d.need = 0;
    }
    d.msg_off += pos;
    trim(d);
    return res;
}

TcpStreamTable::FeedResult TcpStreamTable::data(Connection& c, Direction& d, const FiveTuple& t, std::uint32_t seq,
                                                const std::uint8_t* p, std::size_t len, Sink& sink) noexcept {
    FeedResult res;
    if (d.fin || d.rst) {
        // Data after the sender's FIN or RST (a retransmission of what came
        // before the FIN passes the overlap check below).
        const std::uint32_t end = seq + static_cast<std::uint32_t>(len);
        if (d.rst || before(d.fin_seq, end)) return cut(c, Status::after_end);
    }
    const auto ahead = static_cast<std::int32_t>(seq - d.next_seq);
    if (ahead > 0) {
        ++counters_.unjudged;
        res.status = Status::unjudged;
        return res;
    }
    std::size_t old = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
    if (old > 0) {
        // Bytes accepted before: they must be the same bytes.
        if (before(seq, d.hist_seq)) {
            // Older than what is kept: acknowledged (or past the bound), the
            // receiver discards them; the table cannot compare them.
            ++counters_.unjudged;
            res.status = Status::unjudged;
            return res;
        }
        const std::size_t n = std::min(old, len);
        // A keep-alive probe (RFC 9293 §3.8.4): one byte of garbage at the
        // last sequence number, sent when everything was acknowledged. The
        // receiver, which has that byte, discards it and answers with an
        // ACK; only when the receiver acknowledged all the table accepted can
        // the probe not carry anything in.
        if (len == 1 && old == 1 && d.ack_known && d.acked == d.next_seq) {
            ++counters_.retransmissions;
            res.status = c.tls ? Status::tls : Status::retransmission;
            return res;
        }
        if (!c.tls) {
            const std::size_t at = seq - d.hist_seq;
            if (at + n > d.hist.size() || std::memcmp(d.hist.data() + at, p, n) != 0) {
                ++counters_.inconsistent;
                return cut(c, Status::inconsistent);
            }
        }
        if (old >= len) {
            ++counters_.retransmissions;
            res.status = c.tls ? Status::tls : Status::retransmission;
            return res;
        }
        p += old;
        len -= old;
    }
    return judge_new(c, d, t, p, len, sink);
}

// The first data segment of a direction of a connection picked up mid-stream.
// The direction starts where its receiver is: the highest ACK number the
// receiver sent (never the sender's sequence number, which the sender
// chooses: a segment that starts before the receiver's next byte is delivered
// from that byte on, so judging it from its own start would judge bytes the
// receiver discards and miss the ones it keeps). Only the receiver's ACK field
// counts; whatever the sender claims about itself does not.
TcpStreamTable::FeedResult TcpStreamTable::pick_up(Connection& c, Direction& d, const FiveTuple& t,
                                                   std::uint32_t seq, const std::uint8_t* p, std::size_t len,
                                                   bool first, engine::Timestamp now, Sink& sink) noexcept {
    FeedResult res;
    const auto boundary = [&c](std::string_view v) {
        return c.tls || starts_like_sip(v) || (!c.judged_any && starts_like_tls(v));
    };
    if (!(now < pickup_until_)) {
        ++counters_.unsynced;
        return cut(c, Status::unsynced);
    }
    if (!d.ack_known) {
        // The receiver has not said where it is: nothing of the segment can
        // be judged (it may start before the receiver's next byte). Dropped;
        // the sender sends it again, by then the receiver has sent an ACK.
        // The segment that made the table pick the connection up cuts it at
        // once if it does not even begin like a message (later ones may
        // continue a message the receiver has, or not: nothing to tell).
        if (first && !boundary(as_text(p, len))) {
            ++counters_.unsynced;
            return cut(c, Status::unsynced);
        }
        ++counters_.unjudged;
        ++counters_.pickup_waits;
        res.status = Status::unjudged;
        return res;
    }
    const std::uint32_t at = d.acked;
    const std::uint32_t end = seq + static_cast<std::uint32_t>(len);
    if (!before(at, end) || before(at, seq)) {
        // All before the receiver's next byte (it has these bytes and drops
        // them), or after a gap (the receiver has not said it has the bytes
        // before them): dropped unjudged, as on a followed direction.
        ++counters_.unjudged;
        res.status = Status::unjudged;
        return res;
    }
    // From the receiver's next byte on: that is where the stream starts, and
    // it must start a message (the bytes before it are not delivered).
    const std::size_t skip = at - seq;
    p += skip;
    len -= skip;
    if (!boundary(as_text(p, len))) {
        ++counters_.unsynced;
        return cut(c, Status::unsynced);
    }
    const bool rst = d.rst;
    start(d, at);
    d.rst = rst;
    d.ack_known = true;
    d.acked = at;
    return data(c, d, t, at, p, len, sink);
}

bool TcpStreamTable::opened_by_sender(const DecodedPacket& pkt) const noexcept {
    if (!pkt.ok() || !pkt.is_tcp()) return false;
    const FiveTuple t = pkt.tuple();
    const FlowKey key = FlowKey::from(t);
    const Connection* c = table_.find(key);
    if (c == nullptr || c->picked_up || !c->syn_seen) return false;
    const bool from_a = t.src == key.a && t.src_port == key.port_a;
    return c->client_is_a == from_a;
}

TcpStreamTable::FeedResult TcpStreamTable::feed_impl(const DecodedPacket& pkt, engine::Timestamp now,
                                                     Sink sink) noexcept {
    FeedResult res;
    if (!pkt.ok() || !pkt.is_tcp() || pkt.is_fragment) return res;
    ++counters_.segments;
    counters_.bytes += pkt.payload_length;
    res.status = Status::no_data;

    const FiveTuple t = pkt.tuple();
    const FlowKey key = FlowKey::from(t);
    const bool from_a = t.src == key.a && t.src_port == key.port_a;
    const bool syn = pkt.has_tcp_flag(tcpflag::syn);
    const bool ack = pkt.has_tcp_flag(tcpflag::ack);
    const std::uint8_t* p = pkt.payload;
    const std::size_t len = p != nullptr ? pkt.payload_length : 0;

    Connection* c = table_.touch(key);
    bool created = false;   // picked up by this segment
    if (c == nullptr) {
        // A bare ACK/FIN/RST creates no state; only during the pick-up time
        // may an ACK (with room in the table): it says where its sender, the
        // receiver of the other direction, is.
        const bool may_pick_up = now < pickup_until_ && counters_.evictions == 0;
        if (!syn && len == 0 && !(ack && !pkt.has_tcp_flag(tcpflag::rst) && may_pick_up && !table_.full()))
            return res;
        auto ins = table_.find_or_insert(key, [this](const FlowKey&, Connection&) { ++counters_.evictions; });
        c = ins.value;
        if (c == nullptr) {   // max_streams 0: nothing can be followed
            res.status = len > 0 ? Status::unsynced : Status::no_data;
            return res;
        }
        *c = Connection{};
        c->last_seen = now;
        if (!syn) {
            // Seen without its handshake: pick it up (each direction starts
            // where its receiver is: pick_up), or cut it.
            if (!may_pick_up) {
                ++counters_.unsynced;
                return cut(*c, Status::unsynced);
            }
            ++counters_.pickups;
            created = true;
            c->established = true;
            c->picked_up = true;
            c->client_is_a = from_a;
        }
    }
    c->last_seen = now;
    Connection& conn = *c;
    Direction& d = conn.dir[from_a ? 0 : 1];
    Direction& other = conn.dir[from_a ? 1 : 0];

    if (syn && !ack) {
        // A client's SYN. On a live connection (established, or cut) another
        // SYN is believed only when the other side answers it (RFC 5961: a
        // receiver that keeps the connection sends a challenge ACK instead).
        const bool live = conn.established || conn.cut;
        const bool same = conn.syn_seen && conn.client_is_a == from_a && conn.client_isn == pkt.tcp_seq;
        if (!live) {
            if (!same) {
                conn = Connection{};
                conn.syn_seen = true;
                conn.client_is_a = from_a;
                conn.client_isn = pkt.tcp_seq;
                conn.last_seen = now;
            }
        } else if (!same) {
            conn.pending = true;
            conn.pending_client_is_a = from_a;
            conn.pending_isn = pkt.tcp_seq;
        }
        if (len > 0) {
            ++counters_.unjudged;
            res.status = Status::unjudged;   // Fast Open data: sent again after the handshake
        }
        return res;
    }
    if (syn && ack) {
        // The server's SYN-ACK: the handshake (or a new connection) completes.
        const bool answers_pending =
            conn.pending && from_a != conn.pending_client_is_a && pkt.tcp_ack == conn.pending_isn + 1;
        const bool answers_first = conn.syn_seen && !conn.established && !conn.cut && from_a != conn.client_is_a &&
                                   pkt.tcp_ack == conn.client_isn + 1;
        if (answers_pending) {
            const bool client_is_a = conn.pending_client_is_a;
            const std::uint32_t isn = conn.pending_isn;
            conn = Connection{};
            conn.syn_seen = true;
            conn.client_is_a = client_is_a;
            conn.client_isn = isn;
            conn.last_seen = now;
            ++counters_.reopened;
        }
        if (answers_pending || answers_first) {
            conn.established = true;
            start(conn.dir[conn.client_is_a ? 0 : 1], conn.client_isn + 1);
            start(conn.dir[conn.client_is_a ? 1 : 0], pkt.tcp_seq + 1);
        }
        if (len > 0) {
            ++counters_.unjudged;
            res.status = Status::unjudged;
        }
        return res;
    }

    if (ack) acknowledge(other, pkt.tcp_ack);
    const bool rst = pkt.has_tcp_flag(tcpflag::rst);
    const bool fin = pkt.has_tcp_flag(tcpflag::fin);

    if (len > 0) {
        if (conn.cut) {
            ++counters_.cut_segments;
            res.status = Status::cut;
            return res;
        }
        if (!conn.established) {
            ++counters_.unjudged;
            res.status = Status::unjudged;
            return res;
        }
        if (pkt.has_tcp_flag(tcpflag::urg)) return cut(conn, Status::urgent);
        // A direction of a connection picked up mid-stream starts with its
        // first judged data (pick_up).
        res = d.synced ? data(conn, d, t, pkt.tcp_seq, p, len, sink)
                       : pick_up(conn, d, t, pkt.tcp_seq, p, len, created, now, sink);
        if (res.cut()) return res;
    } else if (conn.cut) {
        return res;
    }
    if (fin && d.synced && !d.fin) {
        d.fin = true;
        d.fin_seq = pkt.tcp_seq + static_cast<std::uint32_t>(len);
    }
    if (rst) d.rst = true;
    return res;
}

std::size_t TcpStreamTable::expire(engine::Timestamp now) noexcept {
    const std::size_t n =
        table_.erase_if([&](const FlowKey&, Connection& c) { return now - c.last_seen >= config_.idle_timeout; });
    counters_.expired += n;
    return n;
}

}  // namespace vg::sip
