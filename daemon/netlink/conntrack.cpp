// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/netlink/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

namespace vg::netlink {

namespace {

constexpr std::uint16_t ct_type(int msg) noexcept {
    return static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg);
}
constexpr std::size_t kHeaderSize = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
// A dump datagram is at most 32 KiB (the kernel sizes it after our recv
// buffer, capped there); acks are small.
constexpr std::size_t kReceiveBufferSize = 32768;
// Matches kept per dump round; more start another round after the deletes.
constexpr std::size_t kRoundLimit = 1024;
constexpr int kMaxRounds = 64;

nlmsghdr* put_ct_header(std::uint8_t* buf, std::size_t cap, int msg, std::uint16_t flags, std::uint32_t seq,
                        std::uint8_t family) noexcept {
    if (buf == nullptr || !nl_aligned(buf) || cap < kHeaderSize) return nullptr;
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = ct_type(msg);
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = htons(0);
    return nlh;
}

std::uint8_t af_of(const net::IpAddress& a) noexcept {
    return a.is_v4() ? AF_INET : a.is_v6() ? AF_INET6 : AF_UNSPEC;
}

// ---- dump parsing ----

bool parse_ip(const std::uint8_t* p, std::size_t len, std::uint8_t family, CtTuple& t) {
    bool have_src = false;
    bool have_dst = false;
    const bool ok = for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* v, std::size_t n, const std::uint8_t*) {
        switch (type) {
        case CTA_IP_V4_SRC:
        case CTA_IP_V4_DST:
            if (family != AF_INET || n != 4) return false;
            (type == CTA_IP_V4_SRC ? t.src : t.dst) = net::IpAddress::v4(v);
            (type == CTA_IP_V4_SRC ? have_src : have_dst) = true;
            return true;
        case CTA_IP_V6_SRC:
        case CTA_IP_V6_DST:
            if (family != AF_INET6 || n != 16) return false;
            (type == CTA_IP_V6_SRC ? t.src : t.dst) = net::IpAddress::v6(v);
            (type == CTA_IP_V6_SRC ? have_src : have_dst) = true;
            return true;
        default:
            return true;
        }
    });
    return ok && have_src && have_dst;
}

bool parse_proto(const std::uint8_t* p, std::size_t len, CtTuple& t) {
    bool have_num = false;
    bool have_sport = false;
    bool have_dport = false;
    const bool ok = for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* v, std::size_t n, const std::uint8_t*) {
        switch (type) {
        case CTA_PROTO_NUM:
            if (n != 1) return false;
            t.protocol = v[0];
            have_num = true;
            return true;
        case CTA_PROTO_SRC_PORT:
        case CTA_PROTO_DST_PORT: {
            if (n != 2) return false;
            std::uint16_t port;
            std::memcpy(&port, v, sizeof(port));
            (type == CTA_PROTO_SRC_PORT ? t.src_port : t.dst_port) = ntohs(port);
            (type == CTA_PROTO_SRC_PORT ? have_sport : have_dport) = true;
            return true;
        }
        default:  // ICMP id/type/code and the like
            return true;
        }
    });
    t.has_ports = have_sport && have_dport;
    return ok && have_num;
}

bool parse_tuple(const std::uint8_t* p, std::size_t len, std::uint8_t family, CtTuple& t) {
    bool have_ip = false;
    bool have_proto = false;
    const bool ok = for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* v, std::size_t n, const std::uint8_t*) {
        if (type == CTA_TUPLE_IP) {
            have_ip = parse_ip(v, n, family, t);
            return have_ip;
        }
        if (type == CTA_TUPLE_PROTO) {
            have_proto = parse_proto(v, n, t);
            return have_proto;
        }
        return true;  // CTA_TUPLE_ZONE
    });
    return ok && have_ip && have_proto;
}

bool read_be32(const std::uint8_t* v, std::size_t n, std::optional<std::uint32_t>& out) {
    if (n != 4) return false;
    std::uint32_t x;
    std::memcpy(&x, v, sizeof(x));
    out = ntohl(x);
    return true;
}

// Version prefix "X.Y" of a release string.
bool parse_release(std::string_view r, unsigned& major, unsigned& minor) noexcept {
    const char* p = r.data();
    const char* end = r.data() + r.size();
    auto a = std::from_chars(p, end, major);
    if (a.ec != std::errc{} || a.ptr == end || *a.ptr != '.') return false;
    auto b = std::from_chars(a.ptr + 1, end, minor);
    return b.ec == std::errc{};
}

}  // namespace

// ---- builders ---------------------------------------------------------------------

std::size_t build_ct_delete(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const FlowSpec& flow) noexcept {
    if (!flow.valid()) return 0;
    const std::uint8_t family = af_of(flow.src);
    nlmsghdr* nlh = put_ct_header(buf, cap, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, family);
    if (nlh == nullptr) return 0;
    nlattr* tuple = mnl_attr_nest_start_check(nlh, cap, CTA_TUPLE_ORIG);
    if (tuple == nullptr) return 0;
    nlattr* ip = mnl_attr_nest_start_check(nlh, cap, CTA_TUPLE_IP);
    if (ip == nullptr) return 0;
    const bool v4 = family == AF_INET;
    const std::size_t alen = flow.src.byte_length();
    if (!mnl_attr_put_check(nlh, cap, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, flow.src.bytes()) ||
        !mnl_attr_put_check(nlh, cap, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, flow.dst.bytes()))
        return 0;
    mnl_attr_nest_end(nlh, ip);
    nlattr* proto = mnl_attr_nest_start_check(nlh, cap, CTA_TUPLE_PROTO);
    if (proto == nullptr) return 0;
    if (!mnl_attr_put_u8_check(nlh, cap, CTA_PROTO_NUM, flow.protocol) ||
        !mnl_attr_put_u16_check(nlh, cap, CTA_PROTO_SRC_PORT, htons(flow.src_port)) ||
        !mnl_attr_put_u16_check(nlh, cap, CTA_PROTO_DST_PORT, htons(flow.dst_port)))
        return 0;
    mnl_attr_nest_end(nlh, proto);
    mnl_attr_nest_end(nlh, tuple);
    return nlh->nlmsg_len;
}

std::size_t build_ct_delete_raw(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint8_t family,
                                const std::uint8_t* tuple_attr, std::size_t tuple_len,
                                std::optional<std::uint32_t> id, std::optional<std::uint16_t> zone) noexcept {
    if (tuple_attr == nullptr || tuple_len < MNL_ATTR_HDRLEN || tuple_len > 0xffff) return 0;
    nlmsghdr* nlh = put_ct_header(buf, cap, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, family);
    if (nlh == nullptr) return 0;
    // The attribute goes back as it came, its header included.
    const std::size_t padded = MNL_ALIGN(tuple_len);
    if (padded > cap - nlh->nlmsg_len) return 0;
    std::uint8_t* dst = buf + nlh->nlmsg_len;
    std::memcpy(dst, tuple_attr, tuple_len);
    std::memset(dst + tuple_len, 0, padded - tuple_len);
    nlh->nlmsg_len += static_cast<std::uint32_t>(padded);
    if (id && !mnl_attr_put_u32_check(nlh, cap, CTA_ID, htonl(*id))) return 0;
    if (zone && !mnl_attr_put_u16_check(nlh, cap, CTA_ZONE, htons(*zone))) return 0;
    return nlh->nlmsg_len;
}

std::size_t build_ct_flush_mark(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint32_t mark,
                                std::uint32_t mask) noexcept {
    nlmsghdr* nlh = put_ct_header(buf, cap, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, AF_UNSPEC);
    if (nlh == nullptr) return 0;
    if (!mnl_attr_put_u32_check(nlh, cap, CTA_MARK, htonl(mark)) ||
        !mnl_attr_put_u32_check(nlh, cap, CTA_MARK_MASK, htonl(mask)))
        return 0;
    return nlh->nlmsg_len;
}

std::size_t build_ct_dump(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint8_t family,
                          std::optional<std::uint32_t> mark, std::uint32_t mask) noexcept {
    nlmsghdr* nlh = put_ct_header(buf, cap, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq, family);
    if (nlh == nullptr) return 0;
    if (mark && (!mnl_attr_put_u32_check(nlh, cap, CTA_MARK, htonl(*mark)) ||
                 !mnl_attr_put_u32_check(nlh, cap, CTA_MARK_MASK, htonl(mask))))
        return 0;
    return nlh->nlmsg_len;
}

// ---- parsing ------------------------------------------------------------------------

bool parse_ct_entry(const nlmsghdr* nlh, CtEntry& out) noexcept {
    out = CtEntry{};
    if (nlh->nlmsg_len < kHeaderSize || nlh->nlmsg_type != ct_type(IPCTNL_MSG_CT_NEW)) return false;
    nfgenmsg g;
    std::memcpy(&g, mnl_nlmsg_get_payload(nlh), sizeof(g));
    out.family = g.nfgen_family;
    if (out.family != AF_INET && out.family != AF_INET6) return false;

    const std::uint8_t* p = nullptr;
    std::size_t len = 0;
    if (!message_attributes(nlh, sizeof(nfgenmsg), p, len)) return false;
    bool have_orig = false;
    const bool ok = for_each_attribute(p, len, [&](std::uint16_t type, const std::uint8_t* v, std::size_t n, const std::uint8_t* attr) {
        switch (type) {
        case CTA_TUPLE_ORIG:
            if (!parse_tuple(v, n, out.family, out.orig)) return false;
            have_orig = true;
            out.orig_attr = attr;
            out.orig_attr_len = n + NLA_HDRLEN;
            return true;
        case CTA_TUPLE_REPLY:
            return parse_tuple(v, n, out.family, out.reply);
        case CTA_MARK:
            return read_be32(v, n, out.mark);
        case CTA_ID:
            return read_be32(v, n, out.id);
        case CTA_ZONE: {
            if (n != 2) return false;
            std::uint16_t z;
            std::memcpy(&z, v, sizeof(z));
            out.zone = ntohs(z);
            return true;
        }
        default:
            return true;
        }
    });
    return ok && have_orig;
}

bool ct_entry_has_endpoint(const CtEntry& e, const net::IpAddress& addr, std::uint16_t port,
                           std::uint8_t protocol) noexcept {
    if (protocol != 0 && e.orig.protocol != protocol) return false;
    const auto at = [&](const CtTuple& t) {
        return t.has_ports && ((t.src == addr && t.src_port == port) || (t.dst == addr && t.dst_port == port));
    };
    return at(e.orig) || at(e.reply);
}

bool kernel_flushes_by_mark(const char* release) noexcept {
    unsigned major = 0;
    unsigned minor = 0;
    if (release == nullptr || !parse_release(release, major, minor)) return false;
    return major > 4 || (major == 4 && minor >= 14);
}

bool kernel_flushes_by_mark() noexcept {
    utsname u{};
    if (uname(&u) != 0) return false;
    return kernel_flushes_by_mark(u.release);
}

// ---- Conntrack ------------------------------------------------------------------------

bool Conntrack::open() {
    error_.clear();
    stats_ = ConntrackStats{};
    if (!socket_.open(error_, NETLINK_NETFILTER)) return false;
    buffer_.assign(kReceiveBufferSize, 0);
    return true;
}

void Conntrack::fail(const std::string& what, int err) {
    ++stats_.errors;
    stats_.last_error = err;
    error_ = what + ": " + errno_text(err);
}

int Conntrack::send_and_ack(std::size_t len, std::uint32_t seq) {
    if (!socket_.is_open()) return EBADF;
    if (len == 0) return EINVAL;
    return socket_.request(request_, len, buffer_.data(), buffer_.size(), seq, timeout_ms_,
                           [](void* ctx, const std::uint8_t*, std::size_t) { ++static_cast<ConntrackStats*>(ctx)->stray; },
                           &stats_);
}

CtResult Conntrack::delete_request(std::size_t len, std::uint32_t seq) {
    const int err = send_and_ack(len, seq);
    if (err == 0) {
        ++stats_.deleted;
        return CtResult::deleted;
    }
    if (err == ENOENT) {
        ++stats_.not_found;
        return CtResult::not_found;
    }
    fail("conntrack delete failed", err);
    return CtResult::error;
}

CtResult Conntrack::delete_flow(const FlowSpec& flow, bool try_reverse) {
    if (!flow.valid()) {
        fail("conntrack delete: invalid flow", EINVAL);
        return CtResult::error;
    }
    std::uint32_t seq = socket_.next_seq();
    CtResult r = delete_request(build_ct_delete(request_, sizeof(request_), seq, flow), seq);
    if (r != CtResult::not_found || !try_reverse) return r;
    // The first try was answered ENOENT: do not count it twice.
    --stats_.not_found;
    seq = socket_.next_seq();
    return delete_request(build_ct_delete(request_, sizeof(request_), seq, flow.reversed()), seq);
}

std::optional<std::size_t> Conntrack::dump_and_delete(std::optional<std::uint32_t> mark, std::uint32_t mask,
                                                      Matcher match, const void* ctx) {
    if (!socket_.is_open()) {
        fail("conntrack dump", EBADF);
        return std::nullopt;
    }
    struct Victim {
        std::uint8_t family;
        std::optional<std::uint32_t> id;
        std::optional<std::uint16_t> zone;
        std::vector<std::uint8_t> tuple;
    };
    std::vector<Victim> victims;
    std::size_t total = 0;

    for (int round = 0; round < kMaxRounds; ++round) {
        victims.clear();
        bool more = false;        // matches beyond the round limit
        bool incomplete = false;  // ENOBUFS or an interrupted dump: look again
        const std::uint32_t seq = socket_.next_seq();
        const std::size_t len = build_ct_dump(request_, sizeof(request_), seq, AF_UNSPEC, mark, mask);
        if (!socket_.send(request_, len)) {
            fail("conntrack dump request failed", errno);
            return std::nullopt;
        }
        ++stats_.dumps;

        bool done = false;
        while (!done) {
            std::size_t n = 0;
            const RecvStatus st = socket_.receive(buffer_.data(), buffer_.size(), n);
            if (st == RecvStatus::again) {
                pollfd pfd{socket_.fd(), POLLIN, 0};
                const int r = poll(&pfd, 1, timeout_ms_);
                if (r == 0) {
                    fail("conntrack dump timed out", ETIMEDOUT);
                    return std::nullopt;
                }
                if (r < 0 && errno != EINTR) {
                    fail("conntrack dump poll failed", errno);
                    return std::nullopt;
                }
                continue;
            }
            if (st == RecvStatus::interrupted) continue;
            if (st == RecvStatus::overrun || st == RecvStatus::truncated) {
                incomplete = true;
                continue;
            }
            if (st == RecvStatus::error) {
                fail("conntrack dump read failed", errno);
                return std::nullopt;
            }
            int rest = static_cast<int>(n);
            for (const nlmsghdr* nlh = as_nlmsghdr(buffer_.data()); mnl_nlmsg_ok(nlh, rest);
                 nlh = mnl_nlmsg_next(nlh, &rest)) {
                if (nlh->nlmsg_seq != seq) {
                    ++stats_.stray;
                    continue;
                }
                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) incomplete = true;
                if (nlh->nlmsg_type == NLMSG_DONE) {
                    done = true;
                    break;
                }
                int error = 0;
                std::uint32_t request_seq = 0;
                if (parse_error_message(nlh, error, request_seq)) {
                    if (error == 0) continue;
                    fail("conntrack dump failed", error);
                    return std::nullopt;
                }
                CtEntry e;
                if (!parse_ct_entry(nlh, e)) continue;
                if (mark && (!e.mark || ((*e.mark ^ *mark) & mask) != 0)) continue;
                if (!match(ctx, e)) continue;
                if (victims.size() >= kRoundLimit) {
                    more = true;
                    continue;
                }
                victims.push_back(Victim{e.family, e.id, e.zone,
                                         std::vector<std::uint8_t>(e.orig_attr, e.orig_attr + e.orig_attr_len)});
            }
        }

        for (const Victim& v : victims) {
            const std::uint32_t dseq = socket_.next_seq();
            const std::size_t dlen = build_ct_delete_raw(request_, sizeof(request_), dseq, v.family, v.tuple.data(),
                                                         v.tuple.size(), v.id, v.zone);
            const CtResult r = delete_request(dlen, dseq);
            if (r == CtResult::deleted) ++total;
            if (r == CtResult::error && stats_.last_error != EBUSY) return std::nullopt;
            // EBUSY: an offloaded flow, which the kernel will not delete; go on.
        }
        if (!more && !incomplete) return total;
    }
    return total;
}

std::optional<std::size_t> Conntrack::delete_by_endpoint(const net::IpAddress& addr, std::uint16_t port,
                                                         std::uint8_t protocol) {
    struct Want {
        const net::IpAddress& addr;
        std::uint16_t port;
        std::uint8_t protocol;
    } want{addr, port, protocol};
    return dump_and_delete(std::nullopt, 0, [](const void* ctx, const CtEntry& e) {
        const auto* w = static_cast<const Want*>(ctx);
        return ct_entry_has_endpoint(e, w->addr, w->port, w->protocol);
    }, &want);
}

std::optional<std::size_t> Conntrack::delete_marked_by_address(const net::IpAddress& addr, std::uint32_t mark,
                                                               std::uint32_t mask, std::uint8_t protocol) {
    struct Want {
        const net::IpAddress& addr;
        std::uint32_t mark;
        std::uint32_t mask;
        std::uint8_t protocol;
    } want{addr, mark, mask, protocol};
    return dump_and_delete(mark, mask, [](const void* ctx, const CtEntry& e) {
        const auto* w = static_cast<const Want*>(ctx);
        if (!e.mark || (*e.mark & w->mask) != w->mark) return false;   // kernels that ignore the dump filter
        if (w->protocol != 0 && e.orig.protocol != w->protocol) return false;
        return e.orig.src == w->addr || e.orig.dst == w->addr || e.reply.src == w->addr || e.reply.dst == w->addr;
    }, &want);
}

FlushResult Conntrack::flush_mark(std::uint32_t mark, std::uint32_t mask, FlushMethod method) {
    FlushResult result;
    if (method == FlushMethod::automatic)
        method = kernel_flushes_by_mark() ? FlushMethod::kernel : FlushMethod::dump;
    result.method = method;
    if (method == FlushMethod::kernel) {
        const std::uint32_t seq = socket_.next_seq();
        const int err = send_and_ack(build_ct_flush_mark(request_, sizeof(request_), seq, mark, mask), seq);
        if (err != 0) {
            fail("conntrack flush by mark failed", err);
            return result;
        }
        ++stats_.flushes;
        result.ok = true;
        return result;
    }
    const auto n = dump_and_delete(mark, mask, [](const void*, const CtEntry&) { return true; }, nullptr);
    if (!n) return result;
    result.ok = true;
    result.deleted = *n;
    return result;
}

std::size_t Conntrack::drain() {
    std::size_t count = 0;
    if (!socket_.is_open()) return 0;
    for (;;) {
        std::size_t n = 0;
        const RecvStatus st = socket_.receive(buffer_.data(), buffer_.size(), n);
        if (st == RecvStatus::again || st == RecvStatus::error) return count;
        if (st == RecvStatus::data) {
            ++count;
            ++stats_.stray;
        }
    }
}

}  // namespace vg::netlink
