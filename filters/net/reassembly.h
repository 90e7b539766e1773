// SPDX-License-Identifier: GPL-2.0-or-later
// IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly for
// `voipguard replay`. On a router the kernel (nf_defrag_ipv4/ipv6) reassembles
// before NFQUEUE, so the engine only ever sees whole datagrams; a capture holds
// the fragments as they crossed the wire, and this class turns them back into
// the packet the kernel would have queued.
//
//   IpReassembler ra(256);
//   DecodedPacket p = decode_ip(bytes, size);
//   auto r = ra.feed(p, bytes, size, now);
//   switch (r.status) {
//     case not_fragment: inspect p;                                 break;
//     case need_more:    nothing to inspect yet;                    break;
//     case complete:     inspect decode_ip(r.data, r.size);         break;
//     case dropped:      count r.reason (and the whole datagram is gone);
//   }
//
// Rules (a firewall must not guess which copy of a byte the receiver keeps):
//   - Datagrams are keyed by (source, destination, protocol, identification)
//     for IPv4 (RFC 791) and by (source, destination, identification) for
//     IPv6: RFC 8200 §4.5 does not include the next header, which may even
//     differ between fragments (the first fragment's value is used).
//   - Fragments that overlap are not merged: the whole datagram is dropped
//     (RFC 5722 for IPv6, the same for IPv4), reason fragment_overlap. The
//     datagram's key stays blocked until its timeout, so fragments that are
//     still on their way are dropped too (fragment_of_dropped_datagram)
//     instead of starting a new datagram that could complete.
//   - A fragment that repeats an earlier one byte for byte (same offset, same
//     length, same data) is a duplicate: tolerated, counted, need_more.
//   - A fragment that would end past 65535 bytes of IP packet is dropped with
//     its datagram (fragment_too_large). Such fragments fail decode_ip() with
//     ipv4/ipv6_fragment_too_large; feed() still accepts them (it reads the
//     headers itself) so that they are counted here.
//   - A non-final fragment whose length is not a multiple of 8, or an empty
//     one, is dropped on its own (fragment_length_invalid); a final fragment
//     that contradicts the length already known, or data past the known end,
//     drops the datagram (fragment_length_inconsistent).
//   - After completion the datagram is forgotten: a later fragment with the
//     same key starts a new datagram.
//   - The IP header of the rebuilt packet comes from the offset-0 fragment
//     (IPv4: options as in that fragment; IPv6: the unfragmentable part).
//     IPv4: total length set, MF and the offset cleared (DF kept), header
//     checksum recomputed. IPv6: payload length set, the fragment header
//     removed and the preceding next-header field pointed past it.
//
// Bounds: at most `max_datagrams` datagrams in progress (a new one beyond
// that is dropped, reassembly_table_full: no eviction, so a flood of first
// fragments cannot push out a datagram that is about to complete), at most
// `max_bytes` of buffered data in total (reassembly_memory_full drops the
// datagram that would exceed it), `max_fragments` fragments per datagram
// (fragment_count_exceeded), and `timeout` from the first fragment
// (fragment_timeout, counted by expire() or when the key is seen again).
//
// Memory is allocated per datagram in progress (replay only) and bounded as
// above. Time is injected. Never throws (an allocation failure drops the
// datagram, reassembly_memory_full).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "filters/engine/bounded_table.h"
#include "filters/engine/timestamp.h"
#include "filters/net/ip_address.h"
#include "filters/net/packet.h"

namespace vg::net {

// The largest IP packet a reassembled datagram may become (IPv4 total length,
// IPv6 payload length + 40 bounded the same way; jumbograms are unsupported).
constexpr std::size_t kMaxReassembledSize = 65535;

struct ReassemblyConfig {
    std::size_t max_datagrams = 256;
    std::size_t max_bytes = 4u * 1024u * 1024u;  // buffered data over all datagrams
    std::size_t max_fragments = 64;              // per datagram
    engine::Duration timeout = std::chrono::seconds(30);
};

struct ReassemblyCounters {
    std::uint64_t packets = 0;          // feed() calls
    std::uint64_t not_fragments = 0;
    std::uint64_t fragments = 0;        // fragments looked at
    std::uint64_t completed = 0;        // datagrams rebuilt
    std::uint64_t duplicates = 0;       // identical repeats tolerated
    std::uint64_t overlaps = 0;         // datagrams dropped for overlap
    std::uint64_t too_large = 0;        // datagrams dropped past 65535 bytes
    std::uint64_t length_invalid = 0;   // fragments dropped: length not a multiple of 8 / empty
    std::uint64_t length_inconsistent = 0;
    std::uint64_t header_invalid = 0;   // fragments whose headers could not be read
    std::uint64_t timeouts = 0;         // datagrams that expired unfinished
    std::uint64_t table_full = 0;       // new datagrams refused
    std::uint64_t memory_full = 0;      // datagrams dropped for the byte bound
    std::uint64_t fragment_count_exceeded = 0;
    std::uint64_t after_drop = 0;       // fragments of an already dropped datagram
};

class IpReassembler {
public:
    enum class Status : std::uint8_t { not_fragment, need_more, complete, dropped };

    struct Result {
        Status status = Status::not_fragment;
        // "ok" unless dropped: fragment_overlap, fragment_too_large,
        // fragment_length_invalid, fragment_length_inconsistent,
        // fragment_header_invalid, fragment_count_exceeded,
        // fragment_of_dropped_datagram, reassembly_table_full,
        // reassembly_memory_full. need_more may say "fragment_duplicate".
        std::string_view reason = "ok";
        // complete: the rebuilt IP packet. Owned by the reassembler, valid
        // until the next feed(), expire() or clear().
        const std::uint8_t* data = nullptr;
        std::size_t size = 0;
        std::size_t fragment_count = 0;  // complete: fragments it was built from
    };

    explicit IpReassembler(std::size_t max_datagrams = 256);
    explicit IpReassembler(const ReassemblyConfig& config);

    IpReassembler(const IpReassembler&) = delete;
    IpReassembler& operator=(const IpReassembler&) = delete;

    // `pkt` is decode_ip(packet, size) of the same bytes. Packets that are not
    // fragments (pkt.is_fragment false, whatever pkt.status says) come back
    // as not_fragment untouched.
    Result feed(const DecodedPacket& pkt, const std::uint8_t* packet, std::size_t size,
                engine::Timestamp now) noexcept;

    // Drops datagrams whose timeout has passed; returns how many were
    // unfinished (counted as timeouts; blocked keys of dropped datagrams are
    // released without being counted).
    std::size_t expire(engine::Timestamp now) noexcept;

    void clear() noexcept;

    std::size_t in_progress() const noexcept { return table_.size(); }
    std::size_t bytes_held() const noexcept { return bytes_held_; }
    const ReassemblyCounters& counters() const noexcept { return counters_; }
    const ReassemblyConfig& config() const noexcept { return config_; }

private:
    struct Key {
        IpAddress src;
        IpAddress dst;
        std::uint32_t id = 0;
        std::uint8_t protocol = 0;  // IPv4 only; 0 for IPv6
        friend bool operator==(const Key& a, const Key& b) noexcept {
            return a.id == b.id && a.protocol == b.protocol && a.src == b.src && a.dst == b.dst;
        }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept;
    };
    struct Range {
        std::uint32_t begin = 0;
        std::uint32_t end = 0;
    };
    struct Datagram {
        bool blocked = false;         // dropped: remaining fragments are dropped too
        engine::Timestamp first_seen{};
        std::vector<std::uint8_t> header;  // from the offset-0 fragment (empty until seen)
        std::size_t next_header_at = 0;    // IPv6: index in `header` of the next-header byte to patch
        std::uint8_t next_header = 0;      // IPv6: the offset-0 fragment header's next header
        std::vector<std::uint8_t> data;    // fragment data at its offset
        std::vector<Range> ranges;         // sorted, non-overlapping
        std::uint32_t total = 0;           // data length once the last fragment was seen
        bool total_known = false;
        std::size_t held = 0;              // bytes charged to bytes_held_
    };

    // What feed() reads out of one fragment.
    struct Fragment {
        Key key;
        bool v6 = false;
        std::size_t header_length = 0;     // IPv4: IHL * 4; IPv6: unfragmentable part
        std::size_t next_header_at = 0;    // IPv6
        std::uint8_t next_header = 0;      // IPv6
        std::uint32_t offset = 0;
        bool more = false;
        const std::uint8_t* data = nullptr;
        std::size_t length = 0;
    };

    static bool parse_fragment(const DecodedPacket& pkt, const std::uint8_t* packet, std::size_t size,
                               Fragment& f) noexcept;
    Result drop(Datagram& d, std::string_view reason, std::uint64_t& counter) noexcept;
    void release(Datagram& d) noexcept;
    bool build(Datagram& d) noexcept;

    ReassemblyConfig config_;
    engine::BoundedTable<Key, Datagram, KeyHash> table_;
    std::vector<std::uint8_t> out_;
    std::size_t bytes_held_ = 0;
    ReassemblyCounters counters_;
};

std::string_view to_string(IpReassembler::Status s) noexcept;

}  // namespace vg::net
