// SPDX-License-Identifier: GPL-2.0-or-later
// IpReassembler: IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5, RFC 5722) fragment
// reassembly for pcap replay.
#include "filters/net/reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "filters/net/packet.h"
#include "tests/filters/net/packet_builder.h"

namespace vg::net {
namespace {

using namespace std::chrono_literals;
using engine::Timestamp;
using test::Bytes;
using R = IpReassembler::Result;
using S = IpReassembler::Status;

const Timestamp t0{};

// A UDP datagram (header + `n` bytes of recognisable payload).
Bytes udp_datagram(std::size_t n, unsigned sport = 5060, unsigned dport = 5060) {
    Bytes payload(n);
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<std::uint8_t>('a' + i % 26);
    return test::udp(sport, dport, payload);
}

Bytes slice(const Bytes& b, std::size_t off, std::size_t len) {
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(off), b.begin() + static_cast<std::ptrdiff_t>(off + len));
}

// One IPv4 fragment of `l4` at byte `off` (multiple of 8), `len` bytes.
Bytes v4_frag(const Bytes& l4, std::size_t off, std::size_t len, bool more, std::uint16_t id = 0x1234,
              std::uint8_t protocol = 17, Bytes options = {}) {
    test::V4 h;
    h.protocol = protocol;
    h.id = id;
    h.flags_fragment = static_cast<unsigned>((more ? 0x2000 : 0) | (off / 8));
    h.options = std::move(options);
    return test::ipv4(h, slice(l4, off, len));
}

// IPv4 fragments of `l4` cut every `step` bytes (step a multiple of 8).
std::vector<Bytes> v4_fragments(const Bytes& l4, std::size_t step, std::uint16_t id = 0x1234) {
    std::vector<Bytes> out;
    for (std::size_t off = 0; off < l4.size(); off += step) {
        const std::size_t len = std::min(step, l4.size() - off);
        out.push_back(v4_frag(l4, off, len, off + len < l4.size(), id));
    }
    return out;
}

// One IPv6 fragment; `unfrag` are extension headers placed before the
// fragment header (their first next-header byte must be 44 at the end).
Bytes v6_frag(const Bytes& l4, std::size_t off, std::size_t len, bool more, std::uint32_t id = 0xcafe,
              bool hop_by_hop = false) {
    test::V6 h;
    Bytes rest;
    if (hop_by_hop) {
        h.next = ipproto::hop_by_hop;
        test::append(rest, test::ext(ipproto::ipv6_fragment));
    } else {
        h.next = ipproto::ipv6_fragment;
    }
    test::append(rest, test::frag_ext(ipproto::udp, static_cast<unsigned>(off), more, id));
    test::append(rest, slice(l4, off, len));
    return test::ipv6(h, rest);
}

R feed(IpReassembler& ra, const Bytes& b, Timestamp now = t0) {
    const DecodedPacket p = decode_ip(b.data(), b.size());
    return ra.feed(p, b.data(), b.size(), now);
}

// Decodes a completed datagram and checks that it is whole and carries `l4`.
void expect_whole_udp(const R& r, const Bytes& l4) {
    ASSERT_EQ(r.status, S::complete);
    ASSERT_NE(r.data, nullptr);
    const DecodedPacket p = decode_ip(r.data, r.size);
    ASSERT_TRUE(p.ok()) << p.reason;
    EXPECT_FALSE(p.is_fragment);
    EXPECT_EQ(p.fragment_offset, 0);
    EXPECT_TRUE(p.is_udp());
    EXPECT_EQ(p.udp_length, l4.size());
    EXPECT_EQ(p.l3_header_length + l4.size(), r.size);
    ASSERT_EQ(p.payload_length, l4.size() - 8);
    EXPECT_EQ(0, std::memcmp(p.payload, l4.data() + 8, l4.size() - 8));
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

bool ipv4_checksum_ok(const std::uint8_t* h, std::size_t len) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += be16(h + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

// ---------------------------------------------------------------------------
// Pass-through

TEST(Reassembly, UnfragmentedPacketIsNotFragmentAndNotHeld) {
    IpReassembler ra(8);
    const Bytes pkt = test::ipv4({}, udp_datagram(100));
    const R r = feed(ra, pkt);
    EXPECT_EQ(r.status, S::not_fragment);
    EXPECT_EQ(ra.in_progress(), 0u);
    EXPECT_EQ(ra.counters().not_fragments, 1u);
    EXPECT_EQ(ra.counters().fragments, 0u);
}

TEST(Reassembly, Ipv6AtomicFragmentIsNotFragment) {
    // RFC 6946: offset 0 and M = 0 is processed in isolation.
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(40);
    const Bytes pkt = v6_frag(l4, 0, l4.size(), false);
    EXPECT_EQ(feed(ra, pkt).status, S::not_fragment);
    EXPECT_EQ(ra.in_progress(), 0u);
}

// ---------------------------------------------------------------------------
// IPv4

TEST(Reassembly, Ipv4InOrderFragmentsCompleteIntoOneWholePacket) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(3000);
    const auto frags = v4_fragments(l4, 1480);
    ASSERT_EQ(frags.size(), 3u);
    EXPECT_EQ(feed(ra, frags[0]).status, S::need_more);
    EXPECT_EQ(feed(ra, frags[1]).status, S::need_more);
    const R r = feed(ra, frags[2]);
    expect_whole_udp(r, l4);
    EXPECT_EQ(r.fragment_count, 3u);
    EXPECT_EQ(ra.in_progress(), 0u);
    EXPECT_EQ(ra.bytes_held(), 0u);
    EXPECT_EQ(ra.counters().completed, 1u);
    EXPECT_EQ(ra.counters().fragments, 3u);
}

TEST(Reassembly, Ipv4RebuiltHeaderHasLengthFlagsClearedAndValidChecksum) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(100);
    feed(ra, v4_frag(l4, 0, 56, true));
    const R r = feed(ra, v4_frag(l4, 56, l4.size() - 56, false));
    ASSERT_EQ(r.status, S::complete);
    EXPECT_EQ(be16(r.data + 2), 20 + l4.size());
    EXPECT_EQ(be16(r.data + 6), 0);  // MF and offset cleared
    EXPECT_EQ(be16(r.data + 4), 0x1234);
    EXPECT_TRUE(ipv4_checksum_ok(r.data, 20));
}

TEST(Reassembly, Ipv4OptionsOfFirstFragmentAreKept) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(100);
    const Bytes options = {1, 1, 1, 0};  // NOP NOP NOP EOL
    feed(ra, v4_frag(l4, 56, l4.size() - 56, false));  // later fragment without options
    const R r = feed(ra, v4_frag(l4, 0, 56, true, 0x1234, 17, options));
    expect_whole_udp(r, l4);
    EXPECT_EQ(r.data[0], 0x46);
    EXPECT_EQ(r.size, 24 + l4.size());
    EXPECT_TRUE(ipv4_checksum_ok(r.data, 24));
}

TEST(Reassembly, Ipv4ReversedFragmentsComplete) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(4000);
    auto frags = v4_fragments(l4, 512);
    std::reverse(frags.begin(), frags.end());
    R r;
    for (std::size_t i = 0; i < frags.size(); ++i) {
        r = feed(ra, frags[i]);
        if (i + 1 < frags.size()) {
            EXPECT_EQ(r.status, S::need_more) << i;
        }
    }
    expect_whole_udp(r, l4);
}

TEST(Reassembly, Ipv4ShuffledFragmentsComplete) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(2000);
    const auto frags = v4_fragments(l4, 400);
    ASSERT_EQ(frags.size(), 6u);
    for (std::size_t i : {3u, 0u, 5u, 1u, 4u}) EXPECT_EQ(feed(ra, frags[i]).status, S::need_more);
    expect_whole_udp(feed(ra, frags[2]), l4);
}

TEST(Reassembly, Ipv4DuplicateFragmentIsToleratedAndCounted) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    const auto frags = v4_fragments(l4, 504);
    EXPECT_EQ(feed(ra, frags[0]).status, S::need_more);
    const R dup = feed(ra, frags[0]);
    EXPECT_EQ(dup.status, S::need_more);
    EXPECT_EQ(dup.reason, "fragment_duplicate");
    expect_whole_udp(feed(ra, frags[1]), l4);
    EXPECT_EQ(ra.counters().duplicates, 1u);
}

TEST(Reassembly, Ipv4DuplicateLastFragmentIsTolerated) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    const auto frags = v4_fragments(l4, 504);
    feed(ra, frags[1]);
    EXPECT_EQ(feed(ra, frags[1]).reason, "fragment_duplicate");
    expect_whole_udp(feed(ra, frags[0]), l4);
}

TEST(Reassembly, Ipv4OverlappingFragmentDropsWholeDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 512, true)).status, S::need_more);
    const R r = feed(ra, v4_frag(l4, 504, 200, true));  // overlaps [504, 512)
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_overlap");
    EXPECT_EQ(ra.counters().overlaps, 1u);
    EXPECT_EQ(ra.bytes_held(), 0u);
    // The rest of that datagram cannot complete it any more.
    const R later = feed(ra, v4_frag(l4, 512, l4.size() - 512, false));
    EXPECT_EQ(later.status, S::dropped);
    EXPECT_EQ(later.reason, "fragment_of_dropped_datagram");
    EXPECT_EQ(ra.counters().after_drop, 1u);
}

TEST(Reassembly, Ipv4SameRangeWithDifferentBytesIsAnOverlapNotADuplicate) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    Bytes other = l4;
    other[600] ^= 0xff;
    feed(ra, v4_frag(l4, 512, 488, false));
    const R r = feed(ra, v4_frag(other, 512, 488, false));
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_overlap");
}

TEST(Reassembly, Ipv4SameRangeWithDifferentMoreFlagIsDropped) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 504, l4.size() - 504, false));
    const R r = feed(ra, v4_frag(l4, 504, l4.size() - 504, true));
    EXPECT_EQ(r.status, S::dropped);
}

TEST(Reassembly, Ipv4OverlapDropIsLiftedAfterTimeout) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 512, true));
    feed(ra, v4_frag(l4, 256, 512, true));
    EXPECT_EQ(ra.expire(t0 + 30s), 0u);  // the blocked key is released, not a timeout
    EXPECT_EQ(ra.in_progress(), 0u);
    feed(ra, v4_frag(l4, 0, 512, true), t0 + 31s);
    expect_whole_udp(feed(ra, v4_frag(l4, 512, l4.size() - 512, false), t0 + 31s), l4);
    EXPECT_EQ(ra.counters().timeouts, 0u);
}

TEST(Reassembly, Ipv4FragmentPast65535IsDroppedAsTooLarge) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(100);
    feed(ra, v4_frag(l4, 0, 64, true));
    // Offset 65512 + 24 bytes + 20 header = 65556 > 65535.
    test::V4 h;
    h.flags_fragment = 65512 / 8;
    const Bytes big = test::ipv4(h, Bytes(24, 'x'));
    const DecodedPacket p = decode_ip(big.data(), big.size());
    EXPECT_FALSE(p.ok());  // the decoder flags it too
    EXPECT_TRUE(p.is_fragment);
    const R r = ra.feed(p, big.data(), big.size(), t0);
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_too_large");
    EXPECT_EQ(ra.counters().too_large, 1u);
    EXPECT_EQ(ra.bytes_held(), 0u);
}

TEST(Reassembly, Ipv4LargestLegalDatagramCompletes) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(65535 - 20 - 8);
    const auto frags = v4_fragments(l4, 8192);
    R r;
    for (const auto& f : frags) r = feed(ra, f);
    expect_whole_udp(r, l4);
    EXPECT_EQ(r.size, 65535u);
}

TEST(Reassembly, Ipv4TimeoutExpiresUnfinishedDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true), t0);
    EXPECT_EQ(ra.expire(t0 + 29s), 0u);
    EXPECT_EQ(ra.in_progress(), 1u);
    EXPECT_EQ(ra.expire(t0 + 30s), 1u);
    EXPECT_EQ(ra.in_progress(), 0u);
    EXPECT_EQ(ra.bytes_held(), 0u);
    EXPECT_EQ(ra.counters().timeouts, 1u);
}

TEST(Reassembly, Ipv4FragmentAfterTimeoutStartsNewDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true), t0);
    // The stale first half must not combine with a second half 31 s later.
    EXPECT_EQ(feed(ra, v4_frag(l4, 504, l4.size() - 504, false), t0 + 31s).status, S::need_more);
    EXPECT_EQ(ra.counters().timeouts, 1u);
    EXPECT_EQ(ra.in_progress(), 1u);
    expect_whole_udp(feed(ra, v4_frag(l4, 0, 504, true), t0 + 32s), l4);
}

TEST(Reassembly, Ipv4TableFullRefusesNewDatagramUntilExpiry) {
    IpReassembler ra(2);
    const Bytes l4 = udp_datagram(1000);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 504, true, 1), t0).status, S::need_more);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 504, true, 2), t0 + 1s).status, S::need_more);
    const R r = feed(ra, v4_frag(l4, 0, 504, true, 3), t0 + 2s);
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "reassembly_table_full");
    EXPECT_EQ(ra.counters().table_full, 1u);
    // Datagrams in progress are not pushed out: id 1 still completes.
    expect_whole_udp(feed(ra, v4_frag(l4, 504, l4.size() - 504, false, 1), t0 + 2s), l4);
    // Once id 2 has timed out, a new datagram finds room again.
    feed(ra, v4_frag(l4, 0, 504, true, 4), t0 + 3s);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 504, true, 5), t0 + 40s).status, S::need_more);
    EXPECT_EQ(ra.counters().timeouts, 2u);
}

TEST(Reassembly, Ipv4ByteBoundDropsDatagramThatWouldExceedIt) {
    ReassemblyConfig c;
    c.max_bytes = 3000;
    IpReassembler ra(c);
    const Bytes l4 = udp_datagram(4000);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 1480, true)).status, S::need_more);
    const R r = feed(ra, v4_frag(l4, 2960, 1040, false));  // buffer would span 4000 bytes
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "reassembly_memory_full");
    EXPECT_EQ(ra.bytes_held(), 0u);
    EXPECT_EQ(ra.counters().memory_full, 1u);
}

TEST(Reassembly, Ipv4FragmentCountBoundDropsDatagram) {
    ReassemblyConfig c;
    c.max_fragments = 4;
    IpReassembler ra(c);
    const Bytes l4 = udp_datagram(100);
    const auto frags = v4_fragments(l4, 8);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(feed(ra, frags[i]).status, S::need_more);
    const R r = feed(ra, frags[4]);
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_count_exceeded");
}

TEST(Reassembly, Ipv4FragmentAfterCompletionStartsNewDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    const auto frags = v4_fragments(l4, 504);
    feed(ra, frags[0]);
    expect_whole_udp(feed(ra, frags[1]), l4);
    // A late duplicate is not a duplicate any more: it opens a new datagram.
    EXPECT_EQ(feed(ra, frags[1]).status, S::need_more);
    EXPECT_EQ(ra.in_progress(), 1u);
    expect_whole_udp(feed(ra, frags[0]), l4);
    EXPECT_EQ(ra.counters().completed, 2u);
}

TEST(Reassembly, Ipv4InterleavedDatagramsAreKeptApartById) {
    IpReassembler ra(8);
    const Bytes a = udp_datagram(1000, 5060, 5060);
    const Bytes b = udp_datagram(900, 5070, 5070);
    const auto fa = v4_fragments(a, 504, 7);
    const auto fb = v4_fragments(b, 504, 8);
    feed(ra, fa[0]);
    feed(ra, fb[1]);
    feed(ra, fb[0]);
    EXPECT_EQ(ra.in_progress(), 1u);
    expect_whole_udp(feed(ra, fa[1]), a);
}

TEST(Reassembly, Ipv4SameIdDifferentProtocolIsADifferentDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true, 9, 17));
    EXPECT_EQ(feed(ra, v4_frag(l4, 504, l4.size() - 504, false, 9, 6)).status, S::need_more);
    EXPECT_EQ(ra.in_progress(), 2u);
}

TEST(Reassembly, Ipv4NonFinalFragmentNotMultipleOf8IsDroppedAlone) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true));
    const R r = feed(ra, v4_frag(l4, 504, 100, true));
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_length_invalid");
    // The datagram itself is intact.
    expect_whole_udp(feed(ra, v4_frag(l4, 504, l4.size() - 504, false)), l4);
}

TEST(Reassembly, Ipv4ConflictingLastFragmentsDropDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 504, l4.size() - 504, false));            // ends at 1000
    const R r = feed(ra, v4_frag(l4, 8, 488, false));  // would end at 496
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_length_inconsistent");
}

TEST(Reassembly, Ipv4DataPastKnownEndDropsDatagram) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 504, 200, false));  // says the datagram ends at 704
    const R r = feed(ra, v4_frag(l4, 704, 296, false));
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_length_inconsistent");
    EXPECT_EQ(ra.counters().length_inconsistent, 1u);
}

TEST(Reassembly, TinyFirstFragmentWithOnlyTheUdpHeaderReassembles) {
    // The first fragment carries nothing but the 8-byte UDP header.
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(200);
    EXPECT_EQ(feed(ra, v4_frag(l4, 0, 8, true)).status, S::need_more);
    expect_whole_udp(feed(ra, v4_frag(l4, 8, l4.size() - 8, false)), l4);
}

TEST(Reassembly, ClearForgetsEverything) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true));
    ra.clear();
    EXPECT_EQ(ra.in_progress(), 0u);
    EXPECT_EQ(ra.bytes_held(), 0u);
    EXPECT_EQ(feed(ra, v4_frag(l4, 504, l4.size() - 504, false)).status, S::need_more);
}

// ---------------------------------------------------------------------------
// IPv6

TEST(Reassembly, Ipv6InOrderCompletesAndFragmentHeaderIsRemoved) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(2000);
    EXPECT_EQ(feed(ra, v6_frag(l4, 0, 1232, true)).status, S::need_more);
    const R r = feed(ra, v6_frag(l4, 1232, l4.size() - 1232, false));
    expect_whole_udp(r, l4);
    EXPECT_EQ(r.size, 40 + l4.size());
    EXPECT_EQ(r.data[6], ipproto::udp);
    EXPECT_EQ(be16(r.data + 4), l4.size());
    const DecodedPacket p = decode_ip(r.data, r.size);
    EXPECT_EQ(p.ipv6_extension_headers, 0u);
}

TEST(Reassembly, Ipv6ReversedWithHopByHopKeepsUnfragmentablePart) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(3000);
    EXPECT_EQ(feed(ra, v6_frag(l4, 2000, l4.size() - 2000, false, 0xcafe, true)).status, S::need_more);
    EXPECT_EQ(feed(ra, v6_frag(l4, 1000, 1000, true, 0xcafe, true)).status, S::need_more);
    const R r = feed(ra, v6_frag(l4, 0, 1000, true, 0xcafe, true));
    expect_whole_udp(r, l4);
    EXPECT_EQ(r.size, 40 + 8 + l4.size());
    EXPECT_EQ(r.data[6], ipproto::hop_by_hop);
    EXPECT_EQ(r.data[40], ipproto::udp);  // hop-by-hop now points at UDP
    EXPECT_EQ(be16(r.data + 4), 8 + l4.size());
    EXPECT_EQ(decode_ip(r.data, r.size).ipv6_extension_headers, 1u);
}

TEST(Reassembly, Ipv6DuplicateIsToleratedOverlapIsDropped) {
    // RFC 5722 §4: overlapping fragments discard the whole datagram.
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(2000);
    feed(ra, v6_frag(l4, 0, 1000, true));
    EXPECT_EQ(feed(ra, v6_frag(l4, 0, 1000, true)).reason, "fragment_duplicate");
    const R r = feed(ra, v6_frag(l4, 992, 1008, false));
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_overlap");
    EXPECT_EQ(feed(ra, v6_frag(l4, 1000, 1000, false)).reason, "fragment_of_dropped_datagram");
}

TEST(Reassembly, Ipv6FragmentPast65535IsDroppedAsTooLarge) {
    IpReassembler ra(8);
    test::V6 h;
    h.next = ipproto::ipv6_fragment;
    const Bytes pkt = test::ipv6(h, test::cat({test::frag_ext(ipproto::udp, 65528, false), Bytes(16, 'x')}));
    const DecodedPacket p = decode_ip(pkt.data(), pkt.size());
    EXPECT_TRUE(p.is_fragment);
    const R r = ra.feed(p, pkt.data(), pkt.size(), t0);
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_too_large");
}

TEST(Reassembly, Ipv6KeyIgnoresNextHeaderOfLaterFragments) {
    // RFC 8200 §4.5: the first fragment's next header is the one used.
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    Bytes second = v6_frag(l4, 504, l4.size() - 504, false);
    second[40] = ipproto::tcp;  // fragment header next header differs
    feed(ra, v6_frag(l4, 0, 504, true));
    const R r = feed(ra, second);
    expect_whole_udp(r, l4);
}

TEST(Reassembly, Ipv4AndIpv6WithSameIdAreSeparate) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    feed(ra, v4_frag(l4, 0, 504, true, 0x1234));
    feed(ra, v6_frag(l4, 0, 504, true, 0x1234));
    EXPECT_EQ(ra.in_progress(), 2u);
    expect_whole_udp(feed(ra, v6_frag(l4, 504, l4.size() - 504, false, 0x1234)), l4);
    expect_whole_udp(feed(ra, v4_frag(l4, 504, l4.size() - 504, false, 0x1234)), l4);
}

TEST(Reassembly, EveryCutOfATwoFragmentDatagramCompletesInBothOrders) {
    const Bytes l4 = udp_datagram(300);
    for (std::size_t cut = 8; cut < l4.size(); cut += 8) {
        for (bool reversed : {false, true}) {
            IpReassembler ra(4);
            const Bytes a = v4_frag(l4, 0, cut, true);
            const Bytes b = v4_frag(l4, cut, l4.size() - cut, false);
            feed(ra, reversed ? b : a);
            const R r = feed(ra, reversed ? a : b);
            expect_whole_udp(r, l4);
            if (::testing::Test::HasFailure()) {
                ADD_FAILURE() << "cut " << cut << (reversed ? " reversed" : "");
                return;
            }
        }
    }
}

TEST(Reassembly, TruncatedFragmentBytesAreReportedNotRead) {
    IpReassembler ra(8);
    const Bytes l4 = udp_datagram(1000);
    const Bytes f = v4_frag(l4, 0, 504, true);
    const DecodedPacket p = decode_ip(f.data(), f.size());
    // The caller passes fewer bytes than the header says: not read past them.
    const R r = ra.feed(p, f.data(), 100, t0);
    EXPECT_EQ(r.status, S::dropped);
    EXPECT_EQ(r.reason, "fragment_header_invalid");
    EXPECT_EQ(ra.in_progress(), 0u);
}

}  // namespace
}  // namespace vg::net
