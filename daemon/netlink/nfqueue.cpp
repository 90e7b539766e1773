// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/nfqueue.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
// After the kernel headers: its own copies of them share their include guards.
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>

namespace vg::netlink {

namespace {

constexpr std::uint16_t kPacketType = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
// Large enough for any packet message: NFQA_PAYLOAD is at most 65535 bytes
// with its header (NFQNL_MAX_COPY_RANGE), plus metadata, conntrack and
// security-context attributes.
constexpr std::size_t kReceiveBufferSize = 65536 + 8192;
// Packets kept when they race the bind ack; beyond that they get the fallback.
constexpr std::size_t kMaxPendingDatagrams = 256;
// nfq_nlmsg_parse() fills an array indexed by attribute type up to the
// NFQA_MAX libnetfilter_queue was built with, which may be newer than ours.
constexpr std::size_t kAttrSlots = 64;
static_assert(NFQA_MAX < kAttrSlots, "attribute table too small");

constexpr std::size_t attr_size(std::size_t payload) { return MNL_ALIGN(MNL_ATTR_HDRLEN + payload); }
constexpr std::size_t kHeaderSize = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));

bool room(const std::uint8_t* buf, std::size_t cap, std::size_t need) noexcept {
    return buf != nullptr && nl_aligned(buf) && need <= cap;
}

nlmsghdr* put_header(std::uint8_t* buf, int type, std::uint16_t queue) noexcept {
    // nfq_nlmsg_put(): type (NFNL_SUBSYS_QUEUE << 8) | type, NLM_F_REQUEST,
    // nfgenmsg { AF_UNSPEC, NFNETLINK_V0, htons(queue) }.
    return nfq_nlmsg_put(reinterpret_cast<char*>(buf), type, queue);
}

std::uint32_t read_u32(const nlattr* a) noexcept {
    std::uint32_t v;
    std::memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
    return ntohl(v);
}

// Best effort for a message that failed to parse: the packet id from the
// first well-formed NFQA_PACKET_HDR before any damage.
bool peek_packet_id(const nlmsghdr* nlh, std::uint32_t& id) noexcept {
    const std::uint8_t* p = nullptr;
    std::size_t len = 0;
    if (nlh->nlmsg_len < kHeaderSize || !message_attributes(nlh, sizeof(nfgenmsg), p, len)) return false;
    bool found = false;
    for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* payload, std::size_t n, const std::uint8_t*) {
        if (type == NFQA_PACKET_HDR && n >= sizeof(std::uint32_t)) {
            std::uint32_t v;
            std::memcpy(&v, payload, sizeof(v));
            id = ntohl(v);
            found = true;
            return false;
        }
        return true;
    });
    return found;
}

}  // namespace

// ---- builders ------------------------------------------------------------------

std::size_t build_verdict(std::uint8_t* buf, std::size_t cap, std::uint16_t queue, std::uint32_t id,
                          Verdict verdict, std::optional<std::uint32_t> mark,
                          std::optional<std::uint32_t> ct_mark) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfqnl_msg_verdict_hdr)) +
                             (mark ? attr_size(sizeof(std::uint32_t)) : 0) +
                             (ct_mark ? attr_size(0) + attr_size(sizeof(std::uint32_t)) : 0);
    if (!room(buf, cap, need)) return 0;
    nlmsghdr* nlh = put_header(buf, NFQNL_MSG_VERDICT, queue);
    nlh->nlmsg_seq = id;
    // The library takes int; the bits are what go on the wire (htonl).
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), static_cast<int>(verdict));
    if (mark) nfq_nlmsg_verdict_put_mark(nlh, *mark);
    if (ct_mark) {
        nlattr* nest = mnl_attr_nest_start(nlh, NFQA_CT);
        mnl_attr_put_u32(nlh, CTA_MARK, htonl(*ct_mark));
        mnl_attr_nest_end(nlh, nest);
    }
    return nlh->nlmsg_len;
}

std::size_t build_verdict_batch(std::uint8_t* buf, std::size_t cap, std::uint16_t queue, std::uint32_t max_id,
                                Verdict verdict, std::optional<std::uint32_t> mark) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfqnl_msg_verdict_hdr)) +
                             (mark ? attr_size(sizeof(std::uint32_t)) : 0);
    if (!room(buf, cap, need)) return 0;
    nlmsghdr* nlh = put_header(buf, NFQNL_MSG_VERDICT_BATCH, queue);
    nlh->nlmsg_seq = max_id;
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(max_id), static_cast<int>(verdict));
    if (mark) nfq_nlmsg_verdict_put_mark(nlh, *mark);
    return nlh->nlmsg_len;
}

std::size_t build_bind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const NfQueueOptions& options) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfqnl_msg_config_cmd)) +
                             attr_size(sizeof(nfqnl_msg_config_params)) + 3 * attr_size(sizeof(std::uint32_t));
    if (!room(buf, cap, need)) return 0;
    nlmsghdr* nlh = put_header(buf, NFQNL_MSG_CONFIG, options.queue);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(options.copy_range));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, options.max_len);
    std::uint32_t flags = 0;
    if (options.fail_open) flags |= NFQA_CFG_F_FAIL_OPEN;
    if (options.conntrack_info) flags |= NFQA_CFG_F_CONNTRACK;
    if (options.gso) flags |= NFQA_CFG_F_GSO;
    const std::uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_GSO;
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    return nlh->nlmsg_len;
}

std::size_t build_unbind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t queue) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfqnl_msg_config_cmd));
    if (!room(buf, cap, need)) return 0;
    nlmsghdr* nlh = put_header(buf, NFQNL_MSG_CONFIG, queue);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
    return nlh->nlmsg_len;
}

std::size_t build_flags(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t queue,
                        std::uint32_t flags, std::uint32_t mask) noexcept {
    const std::size_t need = kHeaderSize + 2 * attr_size(sizeof(std::uint32_t));
    if (!room(buf, cap, need)) return 0;
    nlmsghdr* nlh = put_header(buf, NFQNL_MSG_CONFIG, queue);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    return nlh->nlmsg_len;
}

// ---- parsing -------------------------------------------------------------------

bool parse_packet(const nlmsghdr* nlh, QueuedPacket& out, bool* id_known) noexcept {
    out = QueuedPacket{};
    if (id_known != nullptr) *id_known = false;
    if (nlh->nlmsg_len < kHeaderSize || nlh->nlmsg_type != kPacketType) return false;

    const bool well_formed = attributes_well_formed(nlh, sizeof(nfgenmsg));
    std::array<nlattr*, kAttrSlots> tb{};
    // nfq_nlmsg_parse() checks the sizes of the fixed-size attributes it knows.
    if (!well_formed || nfq_nlmsg_parse(nlh, tb.data()) < 0 || tb[NFQA_PACKET_HDR] == nullptr) {
        if (peek_packet_id(nlh, out.id) && id_known != nullptr) *id_known = true;
        return false;
    }

    nfgenmsg g;
    std::memcpy(&g, mnl_nlmsg_get_payload(nlh), sizeof(g));
    out.family = g.nfgen_family;
    out.queue = ntohs(g.res_id);

    nfqnl_msg_packet_hdr ph;
    std::memcpy(&ph, mnl_attr_get_payload(tb[NFQA_PACKET_HDR]), sizeof(ph));
    out.id = ntohl(ph.packet_id);
    out.hw_protocol = ntohs(ph.hw_protocol);
    out.hook = ph.hook;
    if (id_known != nullptr) *id_known = true;

    if (tb[NFQA_MARK] != nullptr) out.mark = read_u32(tb[NFQA_MARK]);
    if (tb[NFQA_IFINDEX_INDEV] != nullptr) out.indev = read_u32(tb[NFQA_IFINDEX_INDEV]);
    if (tb[NFQA_IFINDEX_OUTDEV] != nullptr) out.outdev = read_u32(tb[NFQA_IFINDEX_OUTDEV]);
    if (tb[NFQA_IFINDEX_PHYSINDEV] != nullptr) out.physindev = read_u32(tb[NFQA_IFINDEX_PHYSINDEV]);
    if (tb[NFQA_IFINDEX_PHYSOUTDEV] != nullptr) out.physoutdev = read_u32(tb[NFQA_IFINDEX_PHYSOUTDEV]);
    if (tb[NFQA_SKB_INFO] != nullptr) out.skb_info = read_u32(tb[NFQA_SKB_INFO]);
    if (tb[NFQA_PAYLOAD] != nullptr) {
        out.payload = static_cast<const std::uint8_t*>(mnl_attr_get_payload(tb[NFQA_PAYLOAD]));
        out.payload_len = mnl_attr_get_payload_len(tb[NFQA_PAYLOAD]);
    }
    out.cap_len = tb[NFQA_CAP_LEN] != nullptr ? read_u32(tb[NFQA_CAP_LEN]) : static_cast<std::uint32_t>(out.payload_len);
    return true;
}

bool parse_packet(const std::uint8_t* data, std::size_t len, QueuedPacket& out, bool* id_known) noexcept {
    out = QueuedPacket{};
    if (id_known != nullptr) *id_known = false;
    if (data == nullptr || !nl_aligned(data) || len > static_cast<std::size_t>(INT32_MAX)) return false;
    const nlmsghdr* nlh = as_nlmsghdr(data);
    if (!mnl_nlmsg_ok(nlh, static_cast<int>(len))) return false;
    return parse_packet(nlh, out, id_known);
}

// ---- /proc ------------------------------------------------------------------------

std::optional<KernelQueueStats> parse_queue_stats(std::string_view text, std::uint16_t queue) noexcept {
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);

        // "%5u %6u %5u %1u %5u %5u %5u %8u %2d": queue, portid, total, copy
        // mode, copy range, queue dropped, user dropped, id sequence, 1.
        std::uint32_t v[8] = {};
        std::size_t n = 0;
        const char* p = line.data();
        const char* end = line.data() + line.size();
        while (n < 8) {
            while (p < end && (*p == ' ' || *p == '\t')) ++p;
            if (p == end) break;
            const auto r = std::from_chars(p, end, v[n]);
            if (r.ec != std::errc{}) break;
            p = r.ptr;
            ++n;
        }
        if (n < 8 || v[0] != queue) continue;
        KernelQueueStats s;
        s.queue = static_cast<std::uint16_t>(v[0]);
        s.peer_portid = v[1];
        s.queue_total = v[2];
        s.copy_mode = v[3];
        s.copy_range = v[4];
        s.queue_dropped = v[5];
        s.user_dropped = v[6];
        s.id_sequence = v[7];
        return s;
    }
    return std::nullopt;
}

std::optional<KernelQueueStats> read_queue_stats(std::uint16_t queue, const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return parse_queue_stats(text.str(), queue);
}

// ---- probe -------------------------------------------------------------------------

GlueSupport probe_conntrack_glue() noexcept {
    NetlinkSocket sock;
    std::string error;
    if (!sock.open(error, NETLINK_NETFILTER)) return GlueSupport::unknown;
    alignas(4) std::array<std::uint8_t, 256> buf{};
    alignas(4) std::array<std::uint8_t, 64> msg{};
    // Any queue number does: the flag check comes before the queue lookup.
    constexpr std::uint16_t kProbeQueue = 65535;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const std::uint32_t seq = sock.next_seq();
        const std::size_t len =
            build_flags(msg.data(), msg.size(), seq, kProbeQueue, NFQA_CFG_F_CONNTRACK, NFQA_CFG_F_CONNTRACK);
        const int err = sock.request(msg.data(), len, buf.data(), buf.size(), seq, 1000);
        switch (err) {
        case EOPNOTSUPP:
            return GlueSupport::absent;
        case 0:        // the socket happens to own the queue: the flag was taken
        case ENODEV:   // nobody has the queue: the flag passed the check
        case EPERM:    // somebody else has it: likewise
            return GlueSupport::present;
        case EAGAIN:   // the kernel just loaded nf_conntrack_netlink; ask again
            continue;
        default:
            return GlueSupport::unknown;
        }
    }
    return GlueSupport::unknown;
}

// ---- NfQueue ----------------------------------------------------------------------

// kReceiveBatch buffers of kReceiveBufferSize bytes, filled by one
// recvmmsg(). The area is mapped rather than allocated and zeroed: only the
// pages the kernel writes to become resident (one or two per buffer for a
// SIP-sized packet), so an idle daemon holds none of it.
struct NfQueue::ReceiveBatch {
    static constexpr std::size_t kAreaSize = std::size_t{kReceiveBatch} * kReceiveBufferSize;

    std::uint8_t* area = nullptr;
    std::array<mmsghdr, kReceiveBatch> msgs{};
    std::array<iovec, kReceiveBatch> iov{};
    std::array<sockaddr_nl, kReceiveBatch> from{};
    unsigned count = 0;   // datagrams of the last read
    unsigned next = 0;    // the next of them to walk
    // The last read came back with fewer than kReceiveBatch datagrams: the
    // socket had no more (the kernel tried to read one more for it); once
    // they are walked, this drain() ends without reading again.
    bool short_read = false;
    const std::uint8_t* cursor = nullptr;   // the next message of the datagram being walked
    int left = 0;                           // bytes left in it

    ReceiveBatch() = default;
    ReceiveBatch(const ReceiveBatch&) = delete;
    ReceiveBatch& operator=(const ReceiveBatch&) = delete;
    ~ReceiveBatch() {
        if (area != nullptr) munmap(area, kAreaSize);
    }

    bool map() noexcept {
        void* p = mmap(nullptr, kAreaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return false;
        area = static_cast<std::uint8_t*>(p);
        for (unsigned i = 0; i < kReceiveBatch; ++i) {
            iov[i].iov_base = slot(i);
            iov[i].iov_len = kReceiveBufferSize;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
        }
        return true;
    }
    std::uint8_t* slot(unsigned i) noexcept { return area + std::size_t{i} * kReceiveBufferSize; }
    bool has_pending() const noexcept { return next < count || (cursor != nullptr && left > 0); }

    // One recvmmsg(): the number of datagrams read, or -1 with errno.
    int receive(int fd) noexcept {
        for (mmsghdr& m : msgs) {
            m.msg_hdr.msg_namelen = sizeof(sockaddr_nl);
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        const int n = recvmmsg(fd, msgs.data(), kReceiveBatch, MSG_DONTWAIT, nullptr);
        count = n > 0 ? static_cast<unsigned>(n) : 0;
        next = 0;
        short_read = n > 0 && count < kReceiveBatch;
        return n;
    }
};

NfQueue::NfQueue() noexcept = default;
NfQueue::~NfQueue() = default;
NfQueue::NfQueue(NfQueue&&) noexcept = default;
NfQueue& NfQueue::operator=(NfQueue&&) noexcept = default;

bool NfQueue::open(const NfQueueOptions& options) {
    close();
    options_ = options;
    stats_ = NfQueueStats{};
    error_.clear();
    if (!socket_.open(error_, NETLINK_NETFILTER)) return false;
    receive_buffer_ = socket_.set_receive_buffer(options.receive_buffer);
    // We want to know when the kernel could not deliver a packet.
    socket_.set_no_enobufs(false);
    batch_ = std::unique_ptr<ReceiveBatch>(new (std::nothrow) ReceiveBatch);
    if (batch_ == nullptr || !batch_->map()) {
        error_ = "cannot map the receive buffers of netfilter queue " + std::to_string(options.queue) + ": " +
                 errno_text(batch_ == nullptr ? ENOMEM : errno);
        close();
        return false;
    }

    alignas(4) std::array<std::uint8_t, 128> msg{};
    const std::uint32_t seq = socket_.next_seq();
    const std::size_t len = build_bind(msg.data(), msg.size(), seq, options);
    const int err = socket_.request(msg.data(), len, batch_->slot(0), kReceiveBufferSize, seq, options.ack_timeout_ms,
                                    &NfQueue::keep_datagram, this);
    if (err != 0) {
        error_ = "cannot bind netfilter queue " + std::to_string(options.queue) + ": " + errno_text(err);
        if (err == EBUSY || err == EPERM) error_ += "; another process has bound this queue";
        if (err == EOPNOTSUPP) error_ += "; the kernel does not support a requested queue flag";
        close();
        return false;
    }
    return true;
}

void NfQueue::close() noexcept {
    socket_.close();
    reader_.reset();
    batch_.reset();
}

bool NfQueue::has_pending() const noexcept {
    return reader_.has_pending() || (batch_ != nullptr && batch_->has_pending());
}

void NfQueue::keep_datagram(void* ctx, const std::uint8_t* data, std::size_t len) {
    auto* self = static_cast<NfQueue*>(ctx);
    if (self->reader_.keep(data, len, kMaxPendingDatagrams)) return;
    // Too many to keep (or no memory): answer what can be answered now.
    int rest = static_cast<int>(len);
    for (const nlmsghdr* nlh = as_nlmsghdr(data); mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest)) {
        QueuedPacket p;
        bool id_known = false;
        if (parse_packet(nlh, p, &id_known) || id_known) self->fallback(p.id);
    }
}

bool NfQueue::take_message(const nlmsghdr* nlh, QueuedPacket& out) noexcept {
    if (nlh->nlmsg_type == kPacketType) {
        bool id_known = false;
        if (parse_packet(nlh, out, &id_known)) return true;
        ++stats_.malformed;
        if (id_known) fallback(out.id);
        return false;
    }
    int error = 0;
    std::uint32_t request_seq = 0;
    if (parse_error_message(nlh, error, request_seq) && error != 0) {
        ++stats_.verdict_errors;
        stats_.last_verdict_error = error;
    }
    // NLMSG_DONE, NLMSG_NOOP, acks: nothing to do.
    return false;
}

void NfQueue::start_drain() noexcept {
    if (batch_ != nullptr && !batch_->has_pending()) batch_->short_read = false;
}

bool NfQueue::next_packet(QueuedPacket& out) noexcept {
    if (!socket_.is_open() || batch_ == nullptr) return false;
    const auto take = [&](const nlmsghdr* nlh) { return take_message(nlh, out); };
    // The datagrams that raced the bind ack come first (reader_ may read
    // the socket once they are out; batch_ is not in use before then).
    if (reader_.has_pending())
        return reader_.next(socket_, batch_->slot(0), kReceiveBufferSize, stats_.enobufs, stats_.recv_errors, take);

    ReceiveBatch& b = *batch_;
    for (;;) {
        if (b.cursor != nullptr) {
            const nlmsghdr* nlh = as_nlmsghdr(b.cursor);
            if (mnl_nlmsg_ok(nlh, b.left)) {
                b.cursor = reinterpret_cast<const std::uint8_t*>(mnl_nlmsg_next(nlh, &b.left));
                if (take(nlh)) return true;
                continue;
            }
            b.cursor = nullptr;
            b.left = 0;
        }
        if (b.next < b.count) {
            const unsigned i = b.next++;
            const msghdr& h = b.msgs[i].msg_hdr;
            // As mnl_socket_recvfrom(): a datagram larger than the buffer is
            // gone (none is: the buffer holds the largest packet message); one
            // that is not from the kernel (port id 0) is ignored.
            if ((h.msg_flags & MSG_TRUNC) != 0 || h.msg_namelen != sizeof(sockaddr_nl)) {
                ++stats_.recv_errors;
                continue;
            }
            if (b.from[i].nl_pid != 0) continue;
            b.cursor = b.slot(i);
            b.left = static_cast<int>(b.msgs[i].msg_len);
            continue;
        }
        if (b.short_read) {
            // Walked the read that found the socket empty: nothing more now.
            b.short_read = false;
            b.count = 0;
            return false;
        }
        const int n = b.receive(socket_.fd());
        if (n > 0) continue;
        if (n == 0) return false;
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return false;
        case EINTR:
            continue;
        case ENOBUFS:   // the kernel dropped messages; the socket goes on
            ++stats_.enobufs;
            continue;
        default:
            ++stats_.recv_errors;
            return false;
        }
    }
}

void NfQueue::fallback(std::uint32_t id) noexcept {
    ++stats_.fallback_verdicts;
    verdict(id, options_.fallback_verdict);
}

bool NfQueue::verdict(std::uint32_t id, Verdict v, std::optional<std::uint32_t> mark,
                      std::optional<std::uint32_t> ct_mark) noexcept {
    const std::size_t len = build_verdict(verdict_buf_.data(), verdict_buf_.size(), options_.queue, id, v, mark, ct_mark);
    // A failed send (the kernel is short of memory) is tried twice more.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (socket_.send(verdict_buf_.data(), len)) {
            ++(v == Verdict::accept ? stats_.verdict_accept : stats_.verdict_drop);
            return true;
        }
        if (errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN) break;
    }
    ++stats_.send_errors;
    return false;
}

bool NfQueue::verdict_batch(std::uint32_t max_id, Verdict v, std::optional<std::uint32_t> mark) noexcept {
    const std::size_t len = build_verdict_batch(verdict_buf_.data(), verdict_buf_.size(), options_.queue, max_id, v, mark);
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (socket_.send(verdict_buf_.data(), len)) {
            ++stats_.verdict_batch;
            return true;
        }
        if (errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN) break;
    }
    ++stats_.send_errors;
    return false;
}

}  // namespace vg::netlink
