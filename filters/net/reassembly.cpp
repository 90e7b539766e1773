// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/reassembly.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "filters/net/byte_reader.h"

namespace vg::net {

namespace {

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kIpv6FragmentHeader = 8;

// RFC 1071 one's-complement sum over the IPv4 header (checksum field zeroed).
std::uint16_t ipv4_header_checksum(const std::uint8_t* h, std::size_t len) noexcept {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += (static_cast<std::uint32_t>(h[i]) << 8) | h[i + 1];
    while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffffu);
}

void store_be16(std::uint8_t* p, std::size_t value) noexcept {
    p[0] = static_cast<std::uint8_t>((value >> 8) & 0xff);
    p[1] = static_cast<std::uint8_t>(value & 0xff);
}

}  // namespace

std::string_view to_string(IpReassembler::Status s) noexcept {
    switch (s) {
    case IpReassembler::Status::not_fragment: return "not_fragment";
    case IpReassembler::Status::need_more: return "need_more";
    case IpReassembler::Status::complete: return "complete";
    case IpReassembler::Status::dropped: return "dropped";
    }
    return "unknown";
}

std::size_t IpReassembler::KeyHash::operator()(const Key& k) const noexcept {
    std::size_t h = k.src.hash();
    h = h * 1000003u ^ k.dst.hash();
    h = h * 1000003u ^ (static_cast<std::size_t>(k.id) << 8 | k.protocol);
    return h;
}

IpReassembler::IpReassembler(std::size_t max_datagrams)
    : IpReassembler([max_datagrams] {
          ReassemblyConfig c;
          c.max_datagrams = max_datagrams;
          return c;
      }()) {}

IpReassembler::IpReassembler(const ReassemblyConfig& config)
    : config_(config), table_(config.max_datagrams) {
    out_.reserve(kMaxReassembledSize);
}

// Reads the fields reassembly needs straight from the packet bytes: decode_ip()
// may have stopped before filling them (a fragment past 65535, a first
// fragment too short for its UDP/TCP header).
bool IpReassembler::parse_fragment(const DecodedPacket& pkt, const std::uint8_t* packet, std::size_t size,
                                   Fragment& f) noexcept {
    if (packet == nullptr || size == 0) return false;
    const unsigned version = packet[0] >> 4;
    if (version != pkt.ip_version) return false;
    if (version == 4) {
        // RFC 791 §3.1.
        if (size < kIpv4MinHeader) return false;
        const std::size_t ihl = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
        std::uint16_t total = 0, id = 0, frag = 0;
        if (!load_be16(packet, size, 2, total) || !load_be16(packet, size, 4, id) ||
            !load_be16(packet, size, 6, frag))
            return false;
        if (ihl < kIpv4MinHeader || total < ihl || total > size) return false;
        f.v6 = false;
        f.key.src = IpAddress::v4(packet + 12);
        f.key.dst = IpAddress::v4(packet + 16);
        f.key.id = id;
        f.key.protocol = packet[9];
        f.header_length = ihl;
        f.offset = static_cast<std::uint32_t>(frag & 0x1fff) * 8;
        f.more = (frag & 0x2000) != 0;
        f.data = packet + ihl;
        f.length = total - ihl;
        return true;
    }
    if (version != 6) return false;
    // RFC 8200 §4.5: the unfragmentable part (IPv6 header plus hop-by-hop,
    // routing and destination options before the fragment header), then the
    // fragment header.
    std::uint16_t plen = 0;
    if (!load_be16(packet, size, 4, plen)) return false;
    if (size < kIpv6Header || plen > size - kIpv6Header) return false;
    const std::size_t end = kIpv6Header + plen;
    std::size_t next_at = 6;
    std::size_t off = kIpv6Header;
    std::uint8_t next = packet[6];
    for (unsigned i = 0; next != ipproto::ipv6_fragment; ++i) {
        if (i >= kMaxIpv6ExtensionHeaders) return false;
        if (next != ipproto::hop_by_hop && next != ipproto::ipv6_routing && next != ipproto::ipv6_dest_opts)
            return false;
        if (2 > end - off) return false;
        const std::size_t len = (static_cast<std::size_t>(packet[off + 1]) + 1) * 8;
        if (len > end - off) return false;
        next_at = off;
        next = packet[off];
        off += len;
    }
    std::uint16_t offm = 0;
    std::uint32_t id = 0;
    if (kIpv6FragmentHeader > end - off) return false;
    if (!load_be16(packet, end, off + 2, offm) || !load_be32(packet, end, off + 4, id)) return false;
    f.v6 = true;
    f.key.src = IpAddress::v6(packet + 8);
    f.key.dst = IpAddress::v6(packet + 24);
    f.key.id = id;
    f.key.protocol = 0;
    f.header_length = off;
    f.next_header_at = next_at;
    f.next_header = packet[off];
    f.offset = offm & 0xfff8u;
    f.more = (offm & 1u) != 0;
    f.data = packet + off + kIpv6FragmentHeader;
    f.length = end - off - kIpv6FragmentHeader;
    return true;
}

void IpReassembler::release(Datagram& d) noexcept {
    bytes_held_ -= d.held;
    d.held = 0;
    std::vector<std::uint8_t>().swap(d.data);
    std::vector<std::uint8_t>().swap(d.header);
    std::vector<Range>().swap(d.ranges);
}

IpReassembler::Result IpReassembler::drop(Datagram& d, std::string_view reason, std::uint64_t& counter) noexcept {
    ++counter;
    release(d);
    d.blocked = true;
    Result r;
    r.status = Status::dropped;
    r.reason = reason;
    return r;
}

bool IpReassembler::build(Datagram& d) noexcept {
    const std::size_t hl = d.header.size();
    const std::size_t size = hl + d.total;
    try {
        out_.resize(size);
    } catch (...) {
        return false;
    }
    std::memcpy(out_.data(), d.header.data(), hl);
    if (d.total > 0) std::memcpy(out_.data() + hl, d.data.data(), d.total);
    std::uint8_t* h = out_.data();
    if ((h[0] >> 4) == 4) {
        store_be16(h + 2, size);
        h[6] &= 0x40;  // keep DF, clear MF (and the reserved bit) and the offset
        h[7] = 0;
        h[10] = h[11] = 0;
        store_be16(h + 10, ipv4_header_checksum(h, hl));
    } else {
        h[d.next_header_at] = d.next_header;
        store_be16(h + 4, size - kIpv6Header);
    }
    return true;
}

IpReassembler::Result IpReassembler::feed(const DecodedPacket& pkt, const std::uint8_t* packet, std::size_t size,
                                          engine::Timestamp now) noexcept {
    ++counters_.packets;
    Result res;
    if (!pkt.is_fragment) {
        ++counters_.not_fragments;
        return res;
    }
    ++counters_.fragments;
    res.status = Status::dropped;

    Fragment f;
    if (!parse_fragment(pkt, packet, size, f)) {
        ++counters_.header_invalid;
        res.reason = "fragment_header_invalid";
        return res;
    }

    Datagram* d = table_.find(f.key);
    if (d != nullptr && now - d->first_seen >= config_.timeout) {
        if (!d->blocked) ++counters_.timeouts;
        release(*d);
        table_.erase(f.key);
        d = nullptr;
    }
    if (d != nullptr && d->blocked) {
        ++counters_.after_drop;
        res.reason = "fragment_of_dropped_datagram";
        return res;
    }
    // RFC 8200 §4.5: a fragment other than the last must be a multiple of 8
    // octets long; such a fragment is discarded on its own.
    if (f.more && (f.length == 0 || f.length % 8 != 0)) {
        ++counters_.length_invalid;
        res.reason = "fragment_length_invalid";
        return res;
    }
    if (d == nullptr) {
        if (table_.full()) expire(now);
        if (table_.full()) {
            ++counters_.table_full;
            res.reason = "reassembly_table_full";
            return res;
        }
        d = table_.find_or_insert(f.key).value;
        if (d == nullptr) {  // capacity 0
            ++counters_.table_full;
            res.reason = "reassembly_table_full";
            return res;
        }
        d->first_seen = now;
    }

    const std::size_t unfragmentable = f.v6 ? f.header_length - kIpv6Header : f.header_length;
    const std::size_t end = static_cast<std::size_t>(f.offset) + f.length;
    if (unfragmentable + end > kMaxReassembledSize) return drop(*d, "fragment_too_large", counters_.too_large);
    if (d->total_known && (end > d->total || (!f.more && end != d->total)))
        return drop(*d, "fragment_length_inconsistent", counters_.length_inconsistent);
    if (!f.more && !d->total_known && !d->ranges.empty() && d->ranges.back().end > end)
        return drop(*d, "fragment_length_inconsistent", counters_.length_inconsistent);

    // Overlap (RFC 5722) or an exact duplicate.
    for (const Range& r : d->ranges) {
        if (r.begin < end && f.offset < r.end) {
            // The stored range had MF set unless it is the known last one.
            const bool stored_more = !(d->total_known && r.end == d->total);
            if (r.begin == f.offset && r.end == end && f.more == stored_more &&
                std::memcmp(d->data.data() + f.offset, f.data, f.length) == 0) {
                ++counters_.duplicates;
                res.status = Status::need_more;
                res.reason = "fragment_duplicate";
                return res;
            }
            return drop(*d, "fragment_overlap", counters_.overlaps);
        }
    }
    if (f.length > 0 && d->ranges.size() >= config_.max_fragments)
        return drop(*d, "fragment_count_exceeded", counters_.fragment_count_exceeded);

    // Memory: the data buffer spans [0, highest end); the header is kept once.
    const std::size_t new_data = std::max(d->data.size(), end);
    const std::size_t new_header = f.offset == 0 ? f.header_length : d->header.size();
    const std::size_t new_held = new_data + new_header;
    if (new_held > d->held && new_held - d->held > config_.max_bytes - std::min(config_.max_bytes, bytes_held_))
        return drop(*d, "reassembly_memory_full", counters_.memory_full);
    try {
        if (new_data > d->data.size()) d->data.resize(new_data);
        if (f.offset == 0) d->header.assign(packet, packet + f.header_length);
        if (f.length > 0) {
            auto at = std::find_if(d->ranges.begin(), d->ranges.end(),
                                   [&](const Range& r) { return r.begin >= end; });
            d->ranges.insert(at, Range{f.offset, static_cast<std::uint32_t>(end)});
        }
    } catch (...) {
        return drop(*d, "reassembly_memory_full", counters_.memory_full);
    }
    bytes_held_ += new_held - d->held;
    d->held = new_held;
    if (f.length > 0) std::memcpy(d->data.data() + f.offset, f.data, f.length);
    if (f.offset == 0 && f.v6) {
        d->next_header_at = f.next_header_at;
        d->next_header = f.next_header;
    }
    if (!f.more) {
        d->total = static_cast<std::uint32_t>(end);
        d->total_known = true;
    }

    res.status = Status::need_more;
    res.reason = "ok";
    if (!d->total_known || d->header.empty()) return res;
    std::uint32_t covered = 0;
    for (const Range& r : d->ranges) {
        if (r.begin != covered) return res;
        covered = r.end;
    }
    if (covered != d->total) return res;

    const std::size_t count = d->ranges.size();
    // IPv4: the first fragment's header may be longer than the one a later
    // fragment was checked with.
    if (d->header.size() - (f.v6 ? kIpv6Header : 0) + d->total > kMaxReassembledSize)
        return drop(*d, "fragment_too_large", counters_.too_large);
    if (!build(*d)) return drop(*d, "reassembly_memory_full", counters_.memory_full);
    release(*d);
    table_.erase(f.key);
    ++counters_.completed;
    res.status = Status::complete;
    res.data = out_.data();
    res.size = out_.size();
    res.fragment_count = count;
    return res;
}

std::size_t IpReassembler::expire(engine::Timestamp now) noexcept {
    std::size_t unfinished = 0;
    table_.erase_if([&](const Key&, Datagram& d) {
        if (now - d.first_seen < config_.timeout) return false;
        if (!d.blocked) ++unfinished;
        release(d);
        return true;
    });
    counters_.timeouts += unfinished;
    return unfinished;
}

void IpReassembler::clear() noexcept {
    table_.clear();
    bytes_held_ = 0;
}

}  // namespace vg::net
