// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace vg::netlink {

bool nl_aligned(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p) % alignof(nlmsghdr) == 0;
}

std::string errno_text(int err) {
    return "errno " + std::to_string(err) + " (" + std::strerror(err) + ")";
}

NetlinkSocket::~NetlinkSocket() { close(); }

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : nl_(std::exchange(other.nl_, nullptr)), seq_(other.seq_) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
    if (this != &other) {
        close();
        nl_ = std::exchange(other.nl_, nullptr);
        seq_ = other.seq_;
    }
    return *this;
}

bool NetlinkSocket::open(std::string& error, int protocol) {
    close();
    nl_ = mnl_socket_open2(protocol, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (nl_ == nullptr) {
        error = "cannot open netlink socket: " + errno_text(errno);
        return false;
    }
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
        error = "cannot bind netlink socket: " + errno_text(errno);
        close();
        return false;
    }
    // Sequence numbers only need to differ from those of an earlier process
    // that had the same port id; start from the clock as libmnl's examples do.
    seq_ = static_cast<std::uint32_t>(std::time(nullptr));
    return true;
}

void NetlinkSocket::close() noexcept {
    if (nl_ != nullptr) {
        mnl_socket_close(nl_);
        nl_ = nullptr;
    }
}

int NetlinkSocket::fd() const noexcept { return nl_ != nullptr ? mnl_socket_get_fd(nl_) : -1; }

std::uint32_t NetlinkSocket::portid() const noexcept {
    return nl_ != nullptr ? mnl_socket_get_portid(nl_) : 0;
}

int NetlinkSocket::set_receive_buffer(int bytes) noexcept {
    if (nl_ == nullptr || bytes <= 0) return -1;
    const int sock = fd();
    if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
        // Without CAP_NET_ADMIN: the plain option, capped at rmem_max.
        if (setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) return -1;
    }
    int effective = 0;
    socklen_t len = sizeof(effective);
    if (getsockopt(sock, SOL_SOCKET, SO_RCVBUF, &effective, &len) != 0) return -1;
    return effective;
}

bool NetlinkSocket::set_no_enobufs(bool on) noexcept {
    if (nl_ == nullptr) return false;
    int value = on ? 1 : 0;
    return mnl_socket_setsockopt(nl_, NETLINK_NO_ENOBUFS, &value, sizeof(value)) == 0;
}

bool NetlinkSocket::send(const void* data, std::size_t len) noexcept {
    if (nl_ == nullptr) {
        errno = EBADF;
        return false;
    }
    for (;;) {
        const ssize_t n = mnl_socket_sendto(nl_, data, len);
        if (n >= 0) {
            if (static_cast<std::size_t>(n) == len) return true;
            errno = EMSGSIZE;
            return false;
        }
        if (errno != EINTR) return false;
    }
}

RecvStatus NetlinkSocket::receive(std::uint8_t* buf, std::size_t cap, std::size_t& len) noexcept {
    len = 0;
    if (nl_ == nullptr) {
        errno = EBADF;
        return RecvStatus::error;
    }
    const ssize_t n = mnl_socket_recvfrom(nl_, buf, cap);
    if (n >= 0) {
        len = static_cast<std::size_t>(n);
        return RecvStatus::data;
    }
    switch (errno) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return RecvStatus::again;
    case EINTR:
        return RecvStatus::interrupted;
    case ESRCH:
        // libmnl: a datagram not sent by the kernel (port id != 0); consumed.
        return RecvStatus::interrupted;
    case ENOBUFS:
        return RecvStatus::overrun;
    case ENOSPC:
        // libmnl: MSG_TRUNC, the datagram did not fit and is consumed.
        return RecvStatus::truncated;
    default:
        return RecvStatus::error;
    }
}

bool parse_error_message(const nlmsghdr* nlh, int& error, std::uint32_t& request_seq) noexcept {
    if (nlh->nlmsg_type != NLMSG_ERROR) return false;
    // struct nlmsgerr: int error, then the header of the request (at least).
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        error = EBADMSG;
        request_seq = nlh->nlmsg_seq;
        return true;
    }
    nlmsgerr err;
    std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
    error = err.error < 0 ? -err.error : err.error;
    request_seq = err.msg.nlmsg_seq;
    return true;
}

bool message_attributes(const nlmsghdr* nlh, std::size_t extra, const std::uint8_t*& p, std::size_t& len) noexcept {
    p = nullptr;
    len = 0;
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN) return false;
    const std::size_t payload = nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
    const std::size_t start = MNL_ALIGN(extra);
    if (start > payload) return false;
    p = static_cast<const std::uint8_t*>(mnl_nlmsg_get_payload(nlh)) + start;
    len = payload - start;
    return true;
}

bool attributes_well_formed(const nlmsghdr* nlh, std::size_t offset) noexcept {
    const std::uint8_t* p = nullptr;
    std::size_t len = 0;
    if (!message_attributes(nlh, offset, p, len)) return false;
    return nested_well_formed(p, len);
}

bool nested_well_formed(const void* payload, std::size_t len) noexcept {
    return for_each_attribute(static_cast<const std::uint8_t*>(payload), len,
                              [](std::uint16_t, const std::uint8_t*, std::size_t, const std::uint8_t*) { return true; });
}

namespace {

long long now_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

int NetlinkSocket::wait_ack(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, int timeout_ms,
                            OtherDatagram other, void* ctx) noexcept {
    const long long deadline = now_ms() + timeout_ms;
    for (;;) {
        std::size_t len = 0;
        const RecvStatus st = receive(buf, cap, len);
        if (st == RecvStatus::again) {
            const long long left = deadline - now_ms();
            if (left <= 0) return ETIMEDOUT;
            pollfd pfd{fd(), POLLIN, 0};
            const int r = poll(&pfd, 1, static_cast<int>(left));
            if (r < 0 && errno != EINTR) return errno;
            continue;
        }
        if (st == RecvStatus::interrupted || st == RecvStatus::overrun || st == RecvStatus::truncated) {
            // An overrun may have cost us the ack itself; the timeout ends the wait then.
            if (now_ms() >= deadline) return ETIMEDOUT;
            continue;
        }
        if (st == RecvStatus::error) return errno != 0 ? errno : EIO;

        bool is_ack = false;
        int result = 0;
        int rest = static_cast<int>(len);
        for (const nlmsghdr* nlh = as_nlmsghdr(buf); mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest)) {
            int error = 0;
            std::uint32_t request_seq = 0;
            if (nlh->nlmsg_seq == seq && parse_error_message(nlh, error, request_seq)) {
                is_ack = true;
                result = error;
                break;
            }
        }
        if (is_ack) return result;
        if (other != nullptr) other(ctx, buf, len);
    }
}

int NetlinkSocket::request(const void* req, std::size_t len, std::uint8_t* buf, std::size_t cap,
                           std::uint32_t seq, int timeout_ms, OtherDatagram other, void* ctx) noexcept {
    if (!send(req, len)) return errno != 0 ? errno : EIO;
    return wait_ack(buf, cap, seq, timeout_ms, other, ctx);
}

}  // namespace vg::netlink
