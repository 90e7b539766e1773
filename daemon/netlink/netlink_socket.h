// SPDX-License-Identifier: GPL-2.0-or-later
// The part of a NETLINK_NETFILTER endpoint that NfQueue, Conntrack and
// NflogListener share: a non-blocking, close-on-exec libmnl socket bound to an
// automatic port id, its receive buffer, and a synchronous request/ack
// exchange for configuration messages.
//
// Messages are read with one recvmsg() per datagram (mnl_socket_recvfrom);
// a datagram that does not fit the caller's buffer is reported as truncated
// and is gone. The kernel answers a request during the sendmsg() that carries
// it, so an ack is normally already queued when wait_ack() starts reading;
// wait_ack() still polls (bounded by a timeout) in case it is not.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>

struct mnl_socket;

namespace vg::netlink {

// One recv() outcome. `overrun` is ENOBUFS: the kernel could not queue
// messages for this socket (its receive buffer was full) and dropped them;
// the socket itself is fine. `truncated` is a datagram larger than the buffer.
enum class RecvStatus : std::uint8_t { data, again, interrupted, overrun, truncated, error };

// Reinterprets aligned message bytes as a netlink header without a cast that
// -Wcast-align reports on strict-alignment targets. The caller guarantees the
// 4-byte alignment (every buffer here comes from operator new or alignas).
inline const nlmsghdr* as_nlmsghdr(const void* p) noexcept { return static_cast<const nlmsghdr*>(p); }
inline nlmsghdr* as_nlmsghdr(void* p) noexcept { return static_cast<nlmsghdr*>(p); }

// True when `p` is aligned for a netlink header (4 bytes).
bool nl_aligned(const void* p) noexcept;

class NetlinkSocket {
public:
    // Called by wait_ack() for every datagram that is not the awaited ack
    // (for example a queued packet that raced the ack of a bind).
    using OtherDatagram = void (*)(void* ctx, const std::uint8_t* data, std::size_t len);

    NetlinkSocket() noexcept = default;
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;
    NetlinkSocket(NetlinkSocket&& other) noexcept;
    NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;

    // Opens and binds a NETLINK_NETFILTER socket (or `protocol`). False with
    // errno-based text in `error` on failure.
    bool open(std::string& error, int protocol);
    void close() noexcept;
    bool is_open() const noexcept { return nl_ != nullptr; }

    int fd() const noexcept;
    std::uint32_t portid() const noexcept;
    std::uint32_t next_seq() noexcept { return ++seq_; }

    // SO_RCVBUFFORCE (needs CAP_NET_ADMIN, ignores rmem_max), falling back
    // to SO_RCVBUF (capped by net.core.rmem_max). Returns the size the kernel
    // reports afterwards (it doubles the request for bookkeeping), or -1.
    int set_receive_buffer(int bytes) noexcept;
    // NETLINK_NO_ENOBUFS: false keeps ENOBUFS reports on (the default).
    bool set_no_enobufs(bool on) noexcept;

    // Sends one message; retries on EINTR. False with errno set on failure.
    bool send(const void* data, std::size_t len) noexcept;
    // Reads one datagram into buf; `len` is its length when data.
    RecvStatus receive(std::uint8_t* buf, std::size_t cap, std::size_t& len) noexcept;

    // Waits for the ack or error of the request with sequence number `seq`
    // (sent with NLM_F_ACK). Returns 0 on success, the positive errno the
    // kernel answered with, ETIMEDOUT if none came within timeout_ms, or the
    // errno of a failed recv. Datagrams that are not the ack go to `other`
    // (if given) and are otherwise dropped.
    int wait_ack(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, int timeout_ms,
                 OtherDatagram other = nullptr, void* ctx = nullptr) noexcept;

    // Sends `req` (a request with NLM_F_ACK and sequence number `seq`) and
    // waits for its ack as wait_ack() does.
    int request(const void* req, std::size_t len, std::uint8_t* buf, std::size_t cap, std::uint32_t seq,
                int timeout_ms, OtherDatagram other = nullptr, void* ctx = nullptr) noexcept;

private:
    mnl_socket* nl_ = nullptr;
    std::uint32_t seq_ = 0;
};

// If `nlh` is an NLMSG_ERROR message, stores its error code (positive errno,
// 0 for an ack) and the sequence number of the request it answers, and
// returns true. Reads only within nlh->nlmsg_len.
bool parse_error_message(const nlmsghdr* nlh, int& error, std::uint32_t& request_seq) noexcept;

// Calls f(type, payload, payload_len, attr) for each attribute in
// [p, p + len), `type` without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits and
// `attr` the start of the attribute header. Stops and returns false at the
// first attribute that is shorter than its header or overruns the range, and
// when f returns false. The last attribute may stop short of its padding.
// Lengths are read with memcpy, so the bytes need no particular alignment.
template <typename F>
bool for_each_attribute(const std::uint8_t* p, std::size_t len, F&& f) {
    std::size_t pos = 0;
    while (pos < len) {
        const std::size_t rest = len - pos;
        if (rest < NLA_HDRLEN) return false;
        std::uint16_t nla_len;
        std::uint16_t nla_type;
        std::memcpy(&nla_len, p + pos, sizeof(nla_len));
        std::memcpy(&nla_type, p + pos + sizeof(nla_len), sizeof(nla_type));
        if (nla_len < NLA_HDRLEN || nla_len > rest) return false;
        if (!f(static_cast<std::uint16_t>(nla_type & NLA_TYPE_MASK), p + pos + NLA_HDRLEN,
               static_cast<std::size_t>(nla_len - NLA_HDRLEN), p + pos))
            return false;
        const std::size_t step = NLA_ALIGN(static_cast<std::size_t>(nla_len));
        if (step >= rest) return true;
        pos += step;
    }
    return true;
}

// The attribute area of a message: after the netlink header and `extra`
// bytes of family header (aligned). False if the message is too short.
bool message_attributes(const nlmsghdr* nlh, std::size_t extra, const std::uint8_t*& p, std::size_t& len) noexcept;

// Checks that the attributes after `offset` bytes of payload are well formed:
// each one has a length of at least its header and fits the message, and
// together they end exactly at the end of the message (the last attribute's
// padding may be missing, as the kernel leaves it off NFQA_PAYLOAD).
bool attributes_well_formed(const nlmsghdr* nlh, std::size_t offset) noexcept;
// The same for the payload of a nested attribute.
bool nested_well_formed(const void* payload, std::size_t len) noexcept;

// "errno N (text)" for log and error messages.
std::string errno_text(int err);

// Hands out the netlink messages of received datagrams one at a time, for
// the queue and log listeners: first any datagrams kept while waiting for an
// acknowledgement (keep()), then what the socket has, until it would block.
// ENOBUFS and truncated datagrams are counted and skipped.
class MessageReader {
public:
    // Keeps a copy of a datagram read while waiting for an ack; false when
    // `max` are already kept or memory is short.
    bool keep(const std::uint8_t* data, std::size_t len, std::size_t max) noexcept {
        if (pending_.size() >= max) return false;
        try {
            pending_.emplace_back(data, data + len);
            return true;
        } catch (const std::bad_alloc&) {
            return false;
        }
    }
    bool has_pending() const noexcept {
        return next_ < pending_.size() || (cursor_ != nullptr && left_ > 0);
    }
    void reset() noexcept {
        cursor_ = nullptr;
        left_ = 0;
        pending_.clear();
        next_ = 0;
    }
    // Calls take(const nlmsghdr*) for each message until it returns true
    // (then returns true), or returns false when nothing more can be read.
    template <typename Take>
    bool next(NetlinkSocket& socket, std::uint8_t* buffer, std::size_t size, std::uint64_t& enobufs,
              std::uint64_t& recv_errors, Take&& take) noexcept {
        if (!socket.is_open()) return false;
        for (;;) {
            if (cursor_ != nullptr) {
                const nlmsghdr* nlh = as_nlmsghdr(cursor_);
                if (mnl_nlmsg_ok(nlh, left_)) {
                    const nlmsghdr* after = mnl_nlmsg_next(nlh, &left_);
                    cursor_ = reinterpret_cast<const std::uint8_t*>(after);
                    if (take(nlh)) return true;
                    continue;
                }
                cursor_ = nullptr;
                left_ = 0;
            }
            if (next_ < pending_.size()) {
                const auto& d = pending_[next_++];
                cursor_ = d.data();
                left_ = static_cast<int>(d.size());
                continue;
            }
            if (!pending_.empty()) {
                // Every kept datagram was handed out, and the callbacks for them returned.
                pending_.clear();
                pending_.shrink_to_fit();
                next_ = 0;
            }
            std::size_t len = 0;
            switch (socket.receive(buffer, size, len)) {
            case RecvStatus::data:
                cursor_ = buffer;
                left_ = static_cast<int>(len);
                continue;
            case RecvStatus::again:
                return false;
            case RecvStatus::interrupted:
                continue;
            case RecvStatus::overrun:
                ++enobufs;
                continue;
            case RecvStatus::truncated:
                ++recv_errors;
                continue;
            case RecvStatus::error:
                ++recv_errors;
                return false;
            }
        }
    }

private:
    const std::uint8_t* cursor_ = nullptr;   // the next message of the datagram being walked
    int left_ = 0;                           // bytes left in it
    std::vector<std::vector<std::uint8_t>> pending_;
    std::size_t next_ = 0;
};

}  // namespace vg::netlink
