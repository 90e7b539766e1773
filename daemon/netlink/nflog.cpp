// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/nflog.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>

namespace vg::netlink {

namespace {

constexpr std::uint16_t log_type(int msg) noexcept { return static_cast<std::uint16_t>((NFNL_SUBSYS_ULOG << 8) | msg); }
constexpr std::size_t kHeaderSize = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
constexpr std::size_t attr_size(std::size_t payload) { return MNL_ALIGN(MNL_ATTR_HDRLEN + payload); }
constexpr std::size_t kMaxPendingDatagrams = 64;

nlmsghdr* put_config_header(std::uint8_t* buf, std::uint32_t seq, std::uint16_t group) noexcept {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = log_type(NFULNL_MSG_CONFIG);
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(group);
    return nlh;
}

bool get_u32(const std::uint8_t* v, std::size_t n, std::uint32_t& out) noexcept {
    if (n != sizeof(std::uint32_t)) return false;
    std::uint32_t x;
    std::memcpy(&x, v, sizeof(x));
    out = ntohl(x);
    return true;
}

}  // namespace

std::size_t build_nflog_bind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const NflogOptions& options) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfulnl_msg_config_cmd)) +
                             attr_size(sizeof(nfulnl_msg_config_mode)) + 2 * attr_size(sizeof(std::uint32_t)) +
                             attr_size(sizeof(std::uint16_t));
    if (buf == nullptr || !nl_aligned(buf) || cap < need) return 0;
    nlmsghdr* nlh = put_config_header(buf, seq, options.group);
    nfulnl_msg_config_cmd cmd{};
    cmd.command = NFULNL_CFG_CMD_BIND;
    mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
    nfulnl_msg_config_mode mode{};
    mode.copy_range = htonl(options.copy_range);
    mode.copy_mode = NFULNL_COPY_PACKET;
    mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
    mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(options.queue_threshold));
    mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(options.timeout_cs));
    const std::uint16_t flags = options.sequence ? NFULNL_CFG_F_SEQ : 0;
    mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(flags));
    return nlh->nlmsg_len;
}

std::size_t build_nflog_unbind(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint16_t group) noexcept {
    const std::size_t need = kHeaderSize + attr_size(sizeof(nfulnl_msg_config_cmd));
    if (buf == nullptr || !nl_aligned(buf) || cap < need) return 0;
    nlmsghdr* nlh = put_config_header(buf, seq, group);
    nfulnl_msg_config_cmd cmd{};
    cmd.command = NFULNL_CFG_CMD_UNBIND;
    mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
    return nlh->nlmsg_len;
}

bool parse_log_packet(const nlmsghdr* nlh, LoggedPacket& out) noexcept {
    out = LoggedPacket{};
    if (nlh->nlmsg_len < kHeaderSize || nlh->nlmsg_type != log_type(NFULNL_MSG_PACKET)) return false;
    nfgenmsg g;
    std::memcpy(&g, mnl_nlmsg_get_payload(nlh), sizeof(g));
    out.family = g.nfgen_family;
    out.group = ntohs(g.res_id);

    const std::uint8_t* p = nullptr;
    std::size_t len = 0;
    if (!message_attributes(nlh, sizeof(nfgenmsg), p, len)) return false;
    bool have_header = false;
    const bool ok = for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* v, std::size_t n, const std::uint8_t*) {
        switch (type) {
        case NFULA_PACKET_HDR: {
            if (n != sizeof(nfulnl_msg_packet_hdr)) return false;
            nfulnl_msg_packet_hdr h;
            std::memcpy(&h, v, sizeof(h));
            out.hw_protocol = ntohs(h.hw_protocol);
            out.hook = h.hook;
            have_header = true;
            return true;
        }
        case NFULA_MARK:
            return get_u32(v, n, out.mark);
        case NFULA_IFINDEX_INDEV:
            return get_u32(v, n, out.indev);
        case NFULA_IFINDEX_OUTDEV:
            return get_u32(v, n, out.outdev);
        case NFULA_IFINDEX_PHYSINDEV:
            return get_u32(v, n, out.physindev);
        case NFULA_IFINDEX_PHYSOUTDEV:
            return get_u32(v, n, out.physoutdev);
        case NFULA_SEQ: {
            std::uint32_t s = 0;
            if (!get_u32(v, n, s)) return false;
            out.seq = s;
            return true;
        }
        case NFULA_PREFIX: {
            const void* nul = std::memchr(v, 0, n);
            if (nul == nullptr) return false;
            out.prefix = std::string_view(reinterpret_cast<const char*>(v),
                                          static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - v));
            return true;
        }
        case NFULA_PAYLOAD:
            out.payload = v;
            out.payload_len = n;
            return true;
        case NFULA_TIMESTAMP:
            return n == sizeof(nfulnl_msg_packet_timestamp);
        case NFULA_HWADDR:
            return n == sizeof(nfulnl_msg_packet_hw);
        case NFULA_UID:
        case NFULA_GID:
        case NFULA_SEQ_GLOBAL:
            return n == sizeof(std::uint32_t);
        default:
            return true;
        }
    });
    return ok && have_header;
}

bool parse_log_packet(const std::uint8_t* data, std::size_t len, LoggedPacket& out) noexcept {
    out = LoggedPacket{};
    if (data == nullptr || !nl_aligned(data) || len > static_cast<std::size_t>(INT32_MAX)) return false;
    const nlmsghdr* nlh = as_nlmsghdr(data);
    if (!mnl_nlmsg_ok(nlh, static_cast<int>(len))) return false;
    return parse_log_packet(nlh, out);
}

NflogListener::NflogListener() noexcept = default;
NflogListener::~NflogListener() = default;
NflogListener::NflogListener(NflogListener&&) noexcept = default;
NflogListener& NflogListener::operator=(NflogListener&&) noexcept = default;

bool NflogListener::open(const NflogOptions& options) {
    close();
    options_ = options;
    stats_ = NflogStats{};
    error_.clear();
    last_seq_.reset();
    if (!socket_.open(error_, NETLINK_NETFILTER)) return false;
    receive_buffer_ = socket_.set_receive_buffer(options.receive_buffer);
    socket_.set_no_enobufs(false);
    // One datagram holds up to the kernel's batch size or one whole message.
    buffer_size_ = std::max<std::size_t>(16384, std::min<std::size_t>(options.copy_range, 65535) + 8192);
    buffer_ = std::make_unique<std::uint8_t[]>(buffer_size_);

    alignas(4) std::array<std::uint8_t, 128> msg{};
    const std::uint32_t seq = socket_.next_seq();
    const std::size_t len = build_nflog_bind(msg.data(), msg.size(), seq, options);
    const int err = socket_.request(msg.data(), len, buffer_.get(), buffer_size_, seq, options.ack_timeout_ms,
                                    &NflogListener::keep_datagram, this);
    if (err != 0) {
        error_ = "cannot bind nflog group " + std::to_string(options.group) + ": " + errno_text(err);
        if (err == EBUSY || err == EPERM) error_ += "; another process has bound this group";
        close();
        return false;
    }
    return true;
}

void NflogListener::close() noexcept {
    socket_.close();
    reader_.reset();
}

bool NflogListener::has_pending() const noexcept {
    return reader_.has_pending();
}

void NflogListener::keep_datagram(void* ctx, const std::uint8_t* data, std::size_t len) {
    auto* self = static_cast<NflogListener*>(ctx);
    // Log samples are lossy anyway: beyond a few, count them as lost.
    if (!self->reader_.keep(data, len, kMaxPendingDatagrams)) ++self->stats_.lost;
}

bool NflogListener::take_message(const nlmsghdr* nlh, LoggedPacket& out) noexcept {
    if (nlh->nlmsg_type != log_type(NFULNL_MSG_PACKET)) return false;  // NLMSG_DONE closes a batch
    if (!parse_log_packet(nlh, out)) {
        ++stats_.malformed;
        return false;
    }
    if (out.seq) {
        if (last_seq_ && *out.seq != *last_seq_ + 1) stats_.lost += static_cast<std::uint32_t>(*out.seq - *last_seq_ - 1);
        last_seq_ = out.seq;
    }
    return true;
}

bool NflogListener::next_packet(LoggedPacket& out) noexcept {
    return reader_.next(socket_, buffer_.get(), buffer_size_, stats_.enobufs, stats_.recv_errors,
                        [&](const nlmsghdr* nlh) { return take_message(nlh, out); });
}

}  // namespace vg::netlink
