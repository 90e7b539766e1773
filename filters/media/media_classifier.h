// SPDX-License-Identifier: GPL-2.0-or-later
// Media classifier: a cheap sanity check of the first packet of a media flow
// before its pinhole is trusted. The first byte demultiplexes (RFC 7983 §7):
//     0..3     STUN           (RFC 8489)
//    16..19    ZRTP           (RFC 6189)
//    20..63    DTLS           (RFC 6347 / RFC 9147)
//    64..79    TURN channel   (RFC 8656 §12)
//   128..191   RTP / RTCP     (RFC 3550; RTCP told apart per RFC 5761 §4)
// and the packet is then checked against its own header rules:
//   RTP   version 2, 12 + 4*CC bytes, the header extension inside the packet,
//         padding count in 1..payload; payload types 72..76 are refused
//         (they collide with RTCP SR..APP when the marker bit is set).
//   RTCP  a compound packet whose length fields walk exactly to the end of the
//         datagram, every packet version 2 and type 200..207 (SR, RR, SDES,
//         BYE, APP, RTPFB, PSFB, XR), SR/RR long enough for their report
//         blocks, padding only in the last packet (RFC 3550 §6.4.1, A.2).
//   STUN  top two bits 0, magic cookie 0x2112A442, length a multiple of 4 and
//         equal to the datagram size minus the 20-byte header.
//   DTLS  one or more records: content type 20..23 or 25, version 0xFEFF
//         (1.0) or 0xFEFD (1.2, also the legacy record version of 1.3),
//         record lengths walking exactly to the end. DTLS 1.3 encrypted
//         records (unified header, first byte 32..63) never open a flow and
//         are reported as unknown.
//   ZRTP  first byte 0x10, magic cookie "ZRTP" (0x5A525450).
//   TURN  ChannelData: channel 0x4000..0x4FFF, length + 4 <= size, at most 3
//         bytes of padding after the data.
//
// SRTP/SRTCP (RTP/SAVP and friends): the RTP header is in the clear but the
// padding count is encrypted and an authentication tag follows; SRTCP leaves
// only the first RTCP header and SSRC in the clear. With Options::srtp the
// padding check is skipped and an RTCP packet passes when its first packet is
// SR/RR/feedback with a consistent length followed by at least the 4-byte
// SRTCP index (RFC 3711 §3.4).
//
// Never throws, never allocates, never reads outside [data, data + size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::media {

enum class Kind : std::uint8_t { rtp, rtcp, stun, dtls, zrtp, turn_channel, unknown };

std::string_view to_string(Kind k) noexcept;

struct Options {
    bool srtp = false;  // the SDP negotiated a secure RTP profile
};

struct Classification {
    Kind kind = Kind::unknown;
    // "ok", or why the packet did not pass: stable snake_case names such as
    // empty, first_byte_unassigned, rtp_header_truncated, rtp_version_invalid,
    // rtp_csrc_exceeds_packet, rtp_extension_exceeds_packet,
    // rtp_padding_invalid, rtp_payload_type_conflicts_with_rtcp,
    // rtcp_version_invalid, rtcp_packet_type_invalid, rtcp_length_invalid,
    // rtcp_padding_not_last, rtcp_report_too_short, stun_header_truncated,
    // stun_magic_cookie_invalid, stun_length_invalid, dtls_record_truncated,
    // dtls_content_type_invalid, dtls_version_invalid, dtls_length_invalid,
    // zrtp_magic_cookie_invalid, zrtp_too_short, turn_channel_invalid,
    // turn_length_invalid.
    std::string_view reason = "empty";

    // RTP
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;               // RTP SSRC, RTCP sender SSRC, ZRTP source id
    std::uint8_t csrc_count = 0;
    std::size_t header_length = 0;        // RTP header incl. CSRCs and extension
    std::size_t payload_length = 0;       // RTP payload without padding

    // RTCP
    std::uint8_t rtcp_first_type = 0;     // packet type of the first packet
    unsigned rtcp_packet_count = 0;
    bool srtcp_unverified = false;        // accepted under Options::srtp without a full walk

    // STUN
    std::uint16_t stun_message_type = 0;  // e.g. 0x0001 Binding request

    // DTLS
    std::uint8_t dtls_content_type = 0;   // of the first record
    std::uint16_t dtls_version = 0;
    unsigned dtls_record_count = 0;

    // TURN ChannelData
    std::uint16_t channel_number = 0;

    bool ok() const noexcept { return kind != Kind::unknown; }
};

Classification classify(const std::uint8_t* data, std::size_t size, Options options = {}) noexcept;

}  // namespace vg::media
