// SPDX-License-Identifier: GPL-2.0-or-later
// The NFQUEUE endpoint of the daemon: binds one queue over a non-blocking
// NETLINK_NETFILTER socket, reads queued packets and sends verdicts, with
// libnetfilter_queue's nlmsg helpers and libmnl.
//
//   NfQueue q;
//   NfQueueOptions o; o.queue = 7; o.fail_open = policy_open;
//   o.fallback_verdict = policy_open ? Verdict::accept : Verdict::drop;
//   if (!q.open(o)) { log(q.error()); ... }
//   epoll_add(q.fd());
//   q.drain([&](const QueuedPacket& p) { return Decision{engine_verdict(p), mark}; });
//
// Every queued packet gets exactly one verdict:
//   - drain() with a callback that returns a Decision sends that decision
//     itself, once per packet. If the callback exits by an exception, the
//     packet gets options().fallback_verdict on the way out (RAII guard) and
//     the exception propagates.
//   - drain() with a callback that returns void leaves the verdict to the
//     caller: it must call verdict(p.id, ...) exactly once for every packet it
//     was handed (now or later; the kernel keeps the packet queued meanwhile).
//   - A packet message that cannot be parsed but whose packet id can still be
//     read gets options().fallback_verdict from drain() itself and is counted
//     in stats().malformed; the callback never sees it. One without a readable
//     id cannot be answered (the kernel never sends such a message).
//   - Packets the kernel could not deliver (socket buffer full: ENOBUFS,
//     counted in stats().enobufs) never reach us: the kernel accepts them if
//     fail_open is set, drops them otherwise, and counts them in
//     /proc/net/netfilter/nfnetlink_queue (user_dropped).
//   - A verdict the kernel cannot take (sendmsg fails three times: it is out
//     of memory) is counted in stats().send_errors; the packet stays queued,
//     verdict() may be called again, and the kernel drops it when the socket
//     closes.
//   - Packets queued when the socket closes are dropped by the kernel. To let
//     them pass at shutdown instead, call verdict_batch(last_id, accept) first.
// A verdict for an id the kernel no longer holds is answered with an error
// message (ENOENT); drain() counts those in stats().verdict_errors.
//
// drain() reads up to kReceiveBatch datagrams (one packet each) with one
// recvmmsg() into buffers mapped once, in open(); QueuedPacket::payload
// points into them and is valid only during the callback. It reads again
// while a read came back full, and stops (or at `budget` packets) when one
// came back short or the socket said EAGAIN: the socket had nothing more when
// it was read (the kernel tried one more datagram for that read). A packet
// that arrives after that makes the socket readable again. So a drain of n
// packets costs n / kReceiveBatch + 1 reads, and no read that only says
// EAGAIN unless n is a multiple of kReceiveBatch. ENOBUFS is counted, never
// fatal: the next read returns the packets that did fit (an overrun noticed
// after some datagrams of a read is reported by the next read, and makes the
// socket readable meanwhile).
//
// Packets can race the acknowledgement of the bind in open(); those are kept
// (copied) and handed out by the next drain(). has_pending() tells whether
// drain() has such packets, or packets read but left when it stopped at its
// budget, without the socket being readable: call drain() once right after
// open(), and again while has_pending() when a budget is used.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "daemon/netlink/netlink_socket.h"

struct nlmsghdr;

namespace vg::netlink {

// The kernel's NF_DROP and NF_ACCEPT.
enum class Verdict : std::uint32_t { drop = 0, accept = 1 };

// One queued packet, decoded from NFQNL_MSG_PACKET. Multi-byte values are in
// host order.
struct QueuedPacket {
    std::uint32_t id = 0;            // NFQA_PACKET_HDR packet_id
    std::uint16_t hw_protocol = 0;   // ETH_P_IP (0x0800) / ETH_P_IPV6 (0x86dd)
    std::uint8_t hook = 0;           // NF_INET_PRE_ROUTING ... NF_INET_POST_ROUTING
    std::uint8_t family = 0;         // nfgen_family: NFPROTO_IPV4 / NFPROTO_IPV6
    std::uint16_t queue = 0;         // res_id
    std::uint32_t mark = 0;          // packet mark (0 when the kernel sent none)
    std::uint32_t indev = 0;         // ifindex, 0 = none
    std::uint32_t outdev = 0;
    std::uint32_t physindev = 0;     // bridge ports, when bridged
    std::uint32_t physoutdev = 0;
    std::uint32_t skb_info = 0;      // NFQA_SKB_* flags
    std::uint32_t cap_len = 0;       // length of the packet before copy_range cut it
    const std::uint8_t* payload = nullptr;  // the IP packet, from the network header on
    std::size_t payload_len = 0;
    // True when the kernel sent only the first payload_len bytes of cap_len.
    bool truncated() const noexcept { return cap_len > payload_len; }
};

// What a drain() callback decides for one packet.
struct Decision {
    Verdict verdict = Verdict::drop;
    std::optional<std::uint32_t> mark;     // set the packet mark (NFQA_MARK)
    std::optional<std::uint32_t> ct_mark;  // set the conntrack mark (needs the glue, see below)
};

struct NfQueueOptions {
    std::uint16_t queue = 0;
    // Bytes of each packet copied to us. The kernel caps it at 65531; SIP over
    // UDP arrives reassembled, so the default copies whole packets.
    std::uint32_t copy_range = 0xffff;
    std::uint32_t max_len = 1024;        // NFQA_CFG_QUEUE_MAXLEN, packets waiting for a verdict
    bool fail_open = true;               // NFQA_CFG_F_FAIL_OPEN: accept when the queue is full
    // NFQA_CFG_F_GSO: take GSO packets unsegmented. Off by default: then the
    // kernel segments them, and every packet arrives whole up to copy_range.
    bool gso = false;
    // NFQA_CFG_F_CONNTRACK: conntrack attributes with each packet; needs
    // CONFIG_NETFILTER_NETLINK_GLUE_CT, open() fails with EOPNOTSUPP without it.
    bool conntrack_info = false;
    int receive_buffer = 1 << 20;        // socket receive buffer, bytes
    // Verdict drain() gives by itself (malformed message, callback threw).
    Verdict fallback_verdict = Verdict::accept;
    int ack_timeout_ms = 1000;           // for the bind in open()
};

struct NfQueueStats {
    std::uint64_t packets = 0;           // packets handed to the callback
    std::uint64_t verdict_accept = 0;    // single verdicts sent, by kind
    std::uint64_t verdict_drop = 0;
    std::uint64_t verdict_batch = 0;     // batch verdicts sent
    std::uint64_t fallback_verdicts = 0; // of those, given by drain() itself
    std::uint64_t enobufs = 0;           // recv() said ENOBUFS: the kernel dropped messages
    std::uint64_t recv_errors = 0;       // other recv() failures (truncated datagrams included)
    std::uint64_t malformed = 0;         // packet messages that did not parse
    std::uint64_t send_errors = 0;       // verdicts that could not be sent
    std::uint64_t verdict_errors = 0;    // kernel error replies to verdicts (ENOENT: unknown id)
    int last_verdict_error = 0;          // errno of the last such reply
};

// One line of /proc/net/netfilter/nfnetlink_queue (the network namespace of
// the reading process).
struct KernelQueueStats {
    std::uint16_t queue = 0;
    std::uint32_t peer_portid = 0;       // the bound socket's port id
    std::uint32_t queue_total = 0;       // packets waiting for a verdict now
    std::uint32_t copy_mode = 0;
    std::uint32_t copy_range = 0;
    std::uint32_t queue_dropped = 0;     // dropped because the queue was full (not fail-open)
    std::uint32_t user_dropped = 0;      // dropped because the socket buffer was full
    std::uint32_t id_sequence = 0;       // last packet id handed out
};

inline constexpr const char* kProcQueueStats = "/proc/net/netfilter/nfnetlink_queue";

// ---- message builders (byte level; no socket) -------------------------------
// Each writes one netlink message to buf, which must be 4-byte aligned, and
// returns its length, or 0 if `cap` is too small or buf is misaligned.

// Room for any verdict message below.
inline constexpr std::size_t kVerdictMessageMax = 64;

// NFQNL_MSG_VERDICT for packet `id` of `queue`: NFQA_VERDICT_HDR, then
// NFQA_MARK if `mark`, then NFQA_CT { CTA_MARK } if `ct_mark`. NLM_F_REQUEST
// without NLM_F_ACK (errors are still reported); nlmsg_seq is the packet id,
// so an error reply names the packet.
// NFQA_CT is honoured only by kernels with CONFIG_NETFILTER_NETLINK_GLUE_CT
// (see probe_conntrack_glue()); others ignore it silently.
std::size_t build_verdict(std::uint8_t* buf, std::size_t cap, std::uint16_t queue, std::uint32_t id,
                          Verdict verdict, std::optional<std::uint32_t> mark,
                          std::optional<std::uint32_t> ct_mark = std::nullopt) noexcept;
// NFQNL_MSG_VERDICT_BATCH: the verdict (and mark) for every queued packet of
// `queue` with an id up to and including `max_id`.
std::size_t build_verdict_batch(std::uint8_t* buf, std::size_t cap, std::uint16_t queue, std::uint32_t max_id,
                                Verdict verdict, std::optional<std::uint32_t> mark) noexcept;
// NFQNL_MSG_CONFIG that binds options.queue in one message (so no packet
// finds the queue half configured): NFQA_CFG_CMD (BIND), NFQA_CFG_PARAMS
// (NFQNL_COPY_PACKET, copy_range), NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK
// (FAIL_OPEN | CONNTRACK | GSO) and NFQA_CFG_FLAGS. NLM_F_REQUEST | NLM_F_ACK.
std::size_t build_bind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const NfQueueOptions& options) noexcept;
// NFQNL_MSG_CONFIG with NFQA_CFG_CMD (UNBIND). NLM_F_REQUEST | NLM_F_ACK.
std::size_t build_unbind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t queue) noexcept;
// NFQNL_MSG_CONFIG with only NFQA_CFG_MASK and NFQA_CFG_FLAGS. NLM_F_REQUEST | NLM_F_ACK.
std::size_t build_flags(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t queue,
                        std::uint32_t flags, std::uint32_t mask) noexcept;

// ---- parsing ------------------------------------------------------------------
// Decodes an NFQNL_MSG_PACKET message. `nlh` must point to nlh->nlmsg_len
// readable bytes (as a message found with mnl_nlmsg_ok() does). Rejects
// another message type, a short header, attributes that overrun the message
// or do not tile it, attributes of the wrong size, and a missing
// NFQA_PACKET_HDR. On failure, `out.id` holds the packet id if it could still
// be read, and `id_known` (when given) says so.
bool parse_packet(const nlmsghdr* nlh, QueuedPacket& out, bool* id_known = nullptr) noexcept;
// The same for the first message of a received buffer of `len` bytes;
// rejects a buffer shorter than the message header claims.
bool parse_packet(const std::uint8_t* data, std::size_t len, QueuedPacket& out, bool* id_known = nullptr) noexcept;

// Finds queue `queue` in the text of /proc/net/netfilter/nfnetlink_queue.
std::optional<KernelQueueStats> parse_queue_stats(std::string_view text, std::uint16_t queue) noexcept;
// Reads the file (the reading thread's network namespace when `path` is
// /proc/thread-self/net/...; the process's for /proc/net/...).
std::optional<KernelQueueStats> read_queue_stats(std::uint16_t queue, const char* path = kProcQueueStats);

// Whether this kernel can set the conntrack mark from a verdict (NFQA_CT,
// CONFIG_NETFILTER_NETLINK_GLUE_CT). A verdict ignores NFQA_CT silently
// without it, so the probe asks another way: a config message that only sets
// NFQA_CFG_F_CONNTRACK is refused with EOPNOTSUPP exactly when the glue is
// missing (the flag check comes before the queue lookup, so a queue nobody
// bound answers ENODEV when the glue is there). Nothing is bound or changed;
// with loadable modules the kernel may load nf_conntrack_netlink.
enum class GlueSupport : std::uint8_t { unknown, absent, present };
GlueSupport probe_conntrack_glue() noexcept;

// Datagrams drain() reads with one recvmmsg() (each into a buffer that holds
// the largest packet message, mapped so that only the pages written to take
// memory).
inline constexpr unsigned kReceiveBatch = 8;

class NfQueue {
public:
    NfQueue() noexcept;
    ~NfQueue();
    NfQueue(NfQueue&&) noexcept;
    NfQueue& operator=(NfQueue&&) noexcept;
    NfQueue(const NfQueue&) = delete;
    NfQueue& operator=(const NfQueue&) = delete;

    // Opens the socket, sizes its receive buffer, keeps ENOBUFS reports on,
    // and binds and configures the queue in one acknowledged message. False
    // with error() set on failure (EBUSY/EPERM: another socket has the queue;
    // EOPNOTSUPP: a requested flag is not supported by this kernel).
    bool open(const NfQueueOptions& options);
    // Closes the socket; the kernel drops packets still waiting for a verdict.
    void close() noexcept;
    bool is_open() const noexcept { return socket_.is_open(); }

    int fd() const noexcept { return socket_.fd(); }
    std::uint32_t portid() const noexcept { return socket_.portid(); }
    // The receive buffer size the kernel reports (twice the request), or -1.
    int receive_buffer() const noexcept { return receive_buffer_; }
    const NfQueueOptions& options() const noexcept { return options_; }
    const std::string& error() const noexcept { return error_; }
    const NfQueueStats& stats() const noexcept { return stats_; }
    // Packets already read (raced the bind ack, or left by a drain() that
    // stopped at its budget) that the next drain() hands out.
    bool has_pending() const noexcept;

    // Reads until the socket has nothing more (see the top of this file), or
    // until `budget` packets were handed out, and calls
    // on_packet(const QueuedPacket&) for each packet. The callback returns a
    // Decision (drain() sends it) or void (the caller sends the verdict).
    // Returns the number of packets handed out.
    template <typename F>
    std::size_t drain(F&& on_packet, std::size_t budget = static_cast<std::size_t>(-1));

    // Sends the verdict for packet `id` (and the packet mark, the conntrack
    // mark). False if it could not be sent (counted); then the packet is
    // still queued and the call may be repeated.
    bool verdict(std::uint32_t id, Verdict verdict, std::optional<std::uint32_t> mark = std::nullopt,
                 std::optional<std::uint32_t> ct_mark = std::nullopt) noexcept;
    // One verdict for every packet still queued with an id <= max_id.
    bool verdict_batch(std::uint32_t max_id, Verdict verdict, std::optional<std::uint32_t> mark = std::nullopt) noexcept;

private:
    // Sends the fallback verdict if the callback left by an exception.
    class FallbackGuard {
    public:
        FallbackGuard(NfQueue& q, std::uint32_t id) noexcept : q_(q), id_(id) {}
        ~FallbackGuard() {
            if (armed_) q_.fallback(id_);
        }
        FallbackGuard(const FallbackGuard&) = delete;
        FallbackGuard& operator=(const FallbackGuard&) = delete;
        void disarm() noexcept { armed_ = false; }

    private:
        NfQueue& q_;
        std::uint32_t id_;
        bool armed_ = true;
    };

    // A drain that finds every packet read before handed out reads the
    // socket again (a short read ends only the drain it was made in).
    void start_drain() noexcept;
    // The next packet for the callback, reading the socket as needed; false
    // when the socket has nothing more (a short read, EAGAIN) or failed.
    bool next_packet(QueuedPacket& out) noexcept;
    // Handles one message that is not for the callback; true if it is a packet.
    bool take_message(const nlmsghdr* nlh, QueuedPacket& out) noexcept;
    void fallback(std::uint32_t id) noexcept;
    static void keep_datagram(void* ctx, const std::uint8_t* data, std::size_t len);

    NetlinkSocket socket_;
    NfQueueOptions options_;
    std::string error_;
    NfQueueStats stats_;
    int receive_buffer_ = -1;
    // The datagrams of the last recvmmsg() and where drain() is in them (nfqueue.cpp).
    struct ReceiveBatch;
    std::unique_ptr<ReceiveBatch> batch_;
    // The datagrams read while waiting for the bind ack; drain() hands them out first.
    MessageReader reader_;
    alignas(4) std::array<std::uint8_t, kVerdictMessageMax> verdict_buf_{};
};

template <typename F>
std::size_t NfQueue::drain(F&& on_packet, std::size_t budget) {
    using Result = std::invoke_result_t<F&, const QueuedPacket&>;
    static_assert(std::is_void_v<Result> || std::is_convertible_v<Result, Decision>,
                  "the drain() callback returns a Decision or void");
    std::size_t handed = 0;
    QueuedPacket packet;
    start_drain();
    while (handed < budget && next_packet(packet)) {
        ++handed;
        ++stats_.packets;
        if constexpr (std::is_void_v<Result>) {
            on_packet(static_cast<const QueuedPacket&>(packet));
        } else {
            FallbackGuard guard(*this, packet.id);
            const Decision d = on_packet(static_cast<const QueuedPacket&>(packet));
            guard.disarm();
            verdict(packet.id, d.verdict, d.mark, d.ct_mark);
        }
    }
    return handed;
}

}  // namespace vg::netlink
