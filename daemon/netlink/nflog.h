// SPDX-License-Identifier: GPL-2.0-or-later
// The NFLOG endpoint: binds one nfnetlink_log group (the samples of packets
// the kernel rules drop) and decodes its messages. libmnl and the kernel's
// linux/netfilter/nfnetlink_log.h only; libnetfilter_log is not used.
//
//   NflogListener log;
//   NflogOptions o; o.group = spec.nflog_group;
//   if (!log.open(o)) { ... log.error() ... }
//   epoll_add(log.fd());
//   log.drain([&](const LoggedPacket& p) { report_drop(p.prefix, p.payload, p.payload_len); });
//
// The kernel batches up to `queue_threshold` messages (or `timeout_cs`
// hundredths of a second) into one datagram, closed by NLMSG_DONE; drain()
// walks them all. With NFULNL_CFG_F_SEQ each message carries a sequence
// number, and gaps (messages the kernel could not deliver) are counted in
// stats().lost. ENOBUFS is counted, never fatal. The receive buffer is
// allocated once in open(); LoggedPacket views point into it and are valid
// only during the callback.
#pragma once

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

// One logged packet (NFULNL_MSG_PACKET). Host-order values.
struct LoggedPacket {
    std::uint8_t family = 0;         // nfgen_family: NFPROTO_IPV4 / NFPROTO_IPV6 / ...
    std::uint16_t group = 0;         // res_id
    std::uint16_t hw_protocol = 0;   // NFULA_PACKET_HDR
    std::uint8_t hook = 0;
    std::uint32_t mark = 0;
    std::uint32_t indev = 0;         // ifindex, 0 = none
    std::uint32_t outdev = 0;
    std::uint32_t physindev = 0;
    std::uint32_t physoutdev = 0;
    std::optional<std::uint32_t> seq;  // NFULA_SEQ (with NFULNL_CFG_F_SEQ)
    std::string_view prefix;         // NFULA_PREFIX without its NUL
    const std::uint8_t* payload = nullptr;  // from the network header on
    std::size_t payload_len = 0;
};

struct NflogOptions {
    std::uint16_t group = 0;
    std::uint32_t copy_range = 512;  // bytes of each packet (headers and some payload)
    std::uint32_t queue_threshold = 4;  // NFULA_CFG_QTHRESH: messages per datagram
    std::uint32_t timeout_cs = 10;      // NFULA_CFG_TIMEOUT: flush after 1/100 s
    bool sequence = true;               // NFULNL_CFG_F_SEQ, to count lost messages
    int receive_buffer = 256 * 1024;
    int ack_timeout_ms = 1000;
};

struct NflogStats {
    std::uint64_t packets = 0;       // messages handed to the callback
    std::uint64_t malformed = 0;     // packet messages that did not parse
    std::uint64_t lost = 0;          // gaps in NFULA_SEQ
    std::uint64_t enobufs = 0;       // recv() said ENOBUFS
    std::uint64_t recv_errors = 0;   // other recv() failures
};

// ---- builders (byte level) -----------------------------------------------------
// Each writes one message to buf (4-byte aligned); returns its length or 0.

// NFULNL_MSG_CONFIG for options.group, NLM_F_REQUEST | NLM_F_ACK, nfgen_family
// AF_UNSPEC: NFULA_CFG_CMD (BIND), NFULA_CFG_MODE (NFULNL_COPY_PACKET,
// copy_range), NFULA_CFG_QTHRESH, NFULA_CFG_TIMEOUT, NFULA_CFG_FLAGS (be16).
std::size_t build_nflog_bind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const NflogOptions& options) noexcept;
// NFULNL_MSG_CONFIG with NFULA_CFG_CMD (UNBIND).
std::size_t build_nflog_unbind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t group) noexcept;

// Decodes NFULNL_MSG_PACKET. `nlh` must point to nlh->nlmsg_len readable
// bytes. Rejects another type, a short header, attributes that overrun or do
// not tile the message, fixed-size attributes of the wrong size, a prefix
// without its terminating NUL, and a missing NFULA_PACKET_HDR.
bool parse_log_packet(const nlmsghdr* nlh, LoggedPacket& out) noexcept;
// The same for the first message of a buffer of `len` bytes.
bool parse_log_packet(const std::uint8_t* data, std::size_t len, LoggedPacket& out) noexcept;

class NflogListener {
public:
    NflogListener() noexcept;
    ~NflogListener();
    NflogListener(NflogListener&&) noexcept;
    NflogListener& operator=(NflogListener&&) noexcept;
    NflogListener(const NflogListener&) = delete;
    NflogListener& operator=(const NflogListener&) = delete;

    // Opens the socket and binds and configures the group in one acknowledged
    // message. False with error() set (EBUSY/EPERM: another socket has it).
    bool open(const NflogOptions& options);
    void close() noexcept;
    bool is_open() const noexcept { return socket_.is_open(); }
    int fd() const noexcept { return socket_.fd(); }
    int receive_buffer() const noexcept { return receive_buffer_; }
    const std::string& error() const noexcept { return error_; }
    const NflogStats& stats() const noexcept { return stats_; }
    // Messages read while waiting for the bind ack, still to be handed out.
    bool has_pending() const noexcept;

    // Reads until EAGAIN (or `budget` packets) and calls
    // on_packet(const LoggedPacket&) for each logged packet.
    template <typename F>
    std::size_t drain(F&& on_packet, std::size_t budget = static_cast<std::size_t>(-1));

private:
    bool next_packet(LoggedPacket& out) noexcept;
    bool take_message(const nlmsghdr* nlh, LoggedPacket& out) noexcept;
    static void keep_datagram(void* ctx, const std::uint8_t* data, std::size_t len);

    NetlinkSocket socket_;
    NflogOptions options_;
    std::string error_;
    NflogStats stats_;
    int receive_buffer_ = -1;
    std::unique_ptr<std::uint8_t[]> buffer_;
    std::size_t buffer_size_ = 0;
    MessageReader reader_;
    std::optional<std::uint32_t> last_seq_;
};

template <typename F>
std::size_t NflogListener::drain(F&& on_packet, std::size_t budget) {
    std::size_t handed = 0;
    LoggedPacket packet;
    while (handed < budget && next_packet(packet)) {
        ++handed;
        ++stats_.packets;
        on_packet(static_cast<const LoggedPacket&>(packet));
    }
    return handed;
}

}  // namespace vg::netlink
