// SPDX-License-Identifier: GPL-2.0-or-later
// Conntrack entries through ctnetlink (NETLINK_NETFILTER, subsystem
// NFNL_SUBSYS_CTNETLINK): delete the entry of one flow when a call ends, every
// entry of one endpoint, or every entry with the daemon's mark at shutdown.
//
//   Conntrack ct;
//   if (!ct.open()) log(ct.error());
//   FlowSpec f{pbx_media, handset, IPPROTO_UDP, pbx_port, handset_port};
//   switch (ct.delete_flow(f)) { case CtResult::deleted: case CtResult::not_found: ...; case CtResult::error: log(ct.error()); }
//
// Every call is a request answered by the kernel: the socket is non-blocking,
// the kernel processes a request while sendmsg() runs, and the answer is read
// at once (a poll with a short timeout covers the unexpected). A dump walks
// the whole table, so delete_by_endpoint() and the dump form of flush_mark()
// cost a table walk: use delete_flow() on the packet path, they are for
// cleanup. An entry that is gone already (ENOENT) is not an error.
// fd() is exposed for completeness; nothing arrives on it unasked, except a
// late answer after a timeout, which drain() discards.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/netlink/netlink_socket.h"
#include "filters/net/ip_address.h"

struct nlmsghdr;

namespace vg::netlink {

// One direction of a flow as conntrack keys it: addresses, L4 protocol and
// ports (host order). The L3 family is the addresses' family. Protocols with
// ports: TCP, UDP, UDP-Lite, SCTP, DCCP.
struct FlowSpec {
    net::IpAddress src;
    net::IpAddress dst;
    std::uint8_t protocol = IPPROTO_UDP;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;

    // The other direction: dst -> src.
    FlowSpec reversed() const noexcept { return FlowSpec{dst, src, protocol, dst_port, src_port}; }
    // Both addresses valid and of the same family.
    bool valid() const noexcept { return src.valid() && src.family() == dst.family(); }
};

// A conntrack tuple as a dump reports it.
struct CtTuple {
    net::IpAddress src;
    net::IpAddress dst;
    std::uint8_t protocol = 0;
    bool has_ports = false;          // CTA_PROTO_SRC_PORT / DST_PORT were present
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
};

// One entry of a dump (IPCTNL_MSG_CT_NEW).
struct CtEntry {
    std::uint8_t family = 0;             // AF_INET / AF_INET6
    CtTuple orig;                        // CTA_TUPLE_ORIG
    CtTuple reply;                       // CTA_TUPLE_REPLY
    std::optional<std::uint32_t> mark;   // CTA_MARK
    std::optional<std::uint32_t> id;     // CTA_ID
    std::optional<std::uint16_t> zone;   // CTA_ZONE
    // The CTA_TUPLE_ORIG attribute as received (header included): a delete
    // can send it back verbatim, which works for any protocol.
    const std::uint8_t* orig_attr = nullptr;
    std::size_t orig_attr_len = 0;
};

enum class CtResult : std::uint8_t { deleted, not_found, error };

// How flush_mark() deletes: with one kernel-side flush filtered by mark
// (IPCTNL_MSG_CT_DELETE with only CTA_MARK and CTA_MARK_MASK), with a dump
// and one delete per matching entry, or `automatic`: the kernel flush when
// kernel_flushes_by_mark(), else the dump.
enum class FlushMethod : std::uint8_t { automatic, kernel, dump };

struct FlushResult {
    bool ok = false;
    FlushMethod method = FlushMethod::automatic;  // the one used: kernel or dump
    std::size_t deleted = 0;                      // counted by the dump method only
};

struct ConntrackStats {
    std::uint64_t deleted = 0;       // entries deleted one by one
    std::uint64_t not_found = 0;     // deletes answered ENOENT (already gone)
    std::uint64_t flushes = 0;       // kernel-side flushes by mark
    std::uint64_t dumps = 0;         // table dumps
    std::uint64_t errors = 0;        // requests that failed otherwise
    std::uint64_t stray = 0;         // messages read that answered nothing asked
    int last_error = 0;              // errno of the last failure
};

// ---- message builders (byte level; no socket) -------------------------------
// Each writes one message to buf (4-byte aligned) and returns its length, or
// 0 if cap is too small, buf misaligned, or the arguments invalid.

// IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, nfgen_family AF_INET or
// AF_INET6 from the flow, version NFNETLINK_V0, res_id 0, and
// CTA_TUPLE_ORIG { CTA_TUPLE_IP { CTA_IP_V4_SRC, CTA_IP_V4_DST | CTA_IP_V6_SRC,
// CTA_IP_V6_DST }, CTA_TUPLE_PROTO { CTA_PROTO_NUM, CTA_PROTO_SRC_PORT,
// CTA_PROTO_DST_PORT } } with addresses and ports in network order.
std::size_t build_ct_delete(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, const FlowSpec& flow) noexcept;
// IPCTNL_MSG_CT_DELETE that sends back a dumped CTA_TUPLE_ORIG attribute
// (header included, `tuple_len` bytes), with CTA_ID and CTA_ZONE when given.
std::size_t build_ct_delete_raw(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint8_t family,
                                const std::uint8_t* tuple_attr, std::size_t tuple_len,
                                std::optional<std::uint32_t> id, std::optional<std::uint16_t> zone) noexcept;
// IPCTNL_MSG_CT_DELETE with CTA_MARK and CTA_MARK_MASK and no tuple,
// nfgen_family AF_UNSPEC, version 0: deletes every entry whose mark & mask
// == mark & mask. CAUTION: a kernel without mark-filtered flushing ignores
// the mark and flushes the whole table; see kernel_flushes_by_mark().
std::size_t build_ct_flush_mark(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint32_t mark,
                                std::uint32_t mask) noexcept;
// IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, for `family` (AF_UNSPEC:
// all), with CTA_MARK and CTA_MARK_MASK when `mark` is given (kernels that
// cannot filter dumps by mark ignore them; callers check the mark again).
std::size_t build_ct_dump(std::uint8_t* buf, std::size_t cap, std::uint32_t seq, std::uint8_t family,
                          std::optional<std::uint32_t> mark = std::nullopt, std::uint32_t mask = 0xffffffff) noexcept;

// Decodes one IPCTNL_MSG_CT_NEW message of a dump. `nlh` must point to
// nlh->nlmsg_len readable bytes. Rejects attributes that overrun or do not
// tile their message or nest, attributes of the wrong size, an address of the
// wrong family, and a missing CTA_TUPLE_ORIG.
bool parse_ct_entry(const nlmsghdr* nlh, CtEntry& out) noexcept;

// True if `entry` has (addr, port) as either end of either direction (with
// NAT, the handset may appear only in the reply tuple). protocol 0 = any.
bool ct_entry_has_endpoint(const CtEntry& entry, const net::IpAddress& addr, std::uint16_t port,
                           std::uint8_t protocol = 0) noexcept;

// Whether a tuple-less IPCTNL_MSG_CT_DELETE with CTA_MARK/CTA_MARK_MASK
// deletes only the marked entries on this kernel. Older kernels flush the
// whole table for it; the mark filter is present in every kernel since
// 4.14 (checked against the kernel sources), so earlier ones say false.
bool kernel_flushes_by_mark() noexcept;
// The same decision for a given `uname -r` release string.
bool kernel_flushes_by_mark(const char* release) noexcept;

class Conntrack {
public:
    Conntrack() noexcept = default;

    // Opens the socket. False with error() set on failure.
    bool open();
    void close() noexcept { socket_.close(); }
    bool is_open() const noexcept { return socket_.is_open(); }
    int fd() const noexcept { return socket_.fd(); }
    const std::string& error() const noexcept { return error_; }
    const ConntrackStats& stats() const noexcept { return stats_; }
    void set_timeout_ms(int ms) noexcept { timeout_ms_ = ms; }

    // Deletes the entry that has `flow` as its original or reply tuple. If
    // none has, and `try_reverse`, the entry that has flow.reversed() (with
    // destination NAT the kernel knows the handset side of an inbound flow
    // only as the source of the reply tuple).
    CtResult delete_flow(const FlowSpec& flow, bool try_reverse = true);
    // Deletes every entry with (addr, port) at either end of either direction
    // (protocol 0: any): a dump, then one delete per match, repeated while
    // the dump had more matches than one round keeps or was interrupted.
    // Returns the number deleted, or nullopt on failure (error() says why).
    std::optional<std::size_t> delete_by_endpoint(const net::IpAddress& addr, std::uint16_t port,
                                                  std::uint8_t protocol = 0);
    // Deletes every entry whose mark & mask == mark & mask (at shutdown).
    FlushResult flush_mark(std::uint32_t mark, std::uint32_t mask, FlushMethod method = FlushMethod::automatic);
    // Deletes every entry of `protocol` (0 = any) with an end at `addr`
    // whose mark has `mark` under `mask` (a table dump, filtered). Returns
    // how many were deleted, nullopt on failure.
    std::optional<std::size_t> delete_marked_by_address(const net::IpAddress& addr, std::uint32_t mark,
                                                        std::uint32_t mask, std::uint8_t protocol = 0);

    // Reads and discards whatever is queued on the socket (late answers).
    std::size_t drain();

private:
    using Matcher = bool (*)(const void* ctx, const CtEntry& entry);
    int send_and_ack(std::size_t len, std::uint32_t seq);
    CtResult delete_request(std::size_t len, std::uint32_t seq);
    // Dumps, deletes each entry the matcher takes; nullopt on failure.
    std::optional<std::size_t> dump_and_delete(std::optional<std::uint32_t> mark, std::uint32_t mask,
                                               Matcher match, const void* ctx);
    void fail(const std::string& what, int err);

    NetlinkSocket socket_;
    std::string error_;
    ConntrackStats stats_;
    int timeout_ms_ = 1000;
    std::vector<std::uint8_t> buffer_;
    alignas(4) std::uint8_t request_[256] = {};
};

}  // namespace vg::netlink
