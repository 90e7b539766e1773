// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/media/media_classifier.h"

#include "filters/net/byte_reader.h"

namespace vg::media {

using net::load_be16;
using net::load_be32;

std::string_view to_string(Kind k) noexcept {
    switch (k) {
    case Kind::rtp: return "rtp";
    case Kind::rtcp: return "rtcp";
    case Kind::stun: return "stun";
    case Kind::dtls: return "dtls";
    case Kind::zrtp: return "zrtp";
    case Kind::turn_channel: return "turn_channel";
    case Kind::unknown: return "unknown";
    }
    return "unknown";
}

namespace {

constexpr std::uint32_t kStunMagicCookie = 0x2112A442u;
constexpr std::uint32_t kZrtpMagicCookie = 0x5A525450u;  // "ZRTP"

Classification& reject(Classification& c, std::string_view reason) noexcept {
    c.kind = Kind::unknown;
    c.reason = reason;
    return c;
}

Classification& accept(Classification& c, Kind k) noexcept {
    c.kind = k;
    c.reason = "ok";
    return c;
}

bool is_rtcp_type(std::uint8_t pt) noexcept { return pt >= 200 && pt <= 207; }

// Checks one RTCP packet header at `off`; returns its length in bytes or 0.
std::size_t rtcp_packet(const std::uint8_t* d, std::size_t size, std::size_t off, std::string_view& why) noexcept {
    std::uint16_t words = 0;
    if (!load_be16(d, size, off + 2, words) || off + 4 > size) {
        why = "rtcp_length_invalid";
        return 0;
    }
    if ((d[off] >> 6) != 2) {
        why = "rtcp_version_invalid";
        return 0;
    }
    const std::uint8_t pt = d[off + 1];
    if (!is_rtcp_type(pt)) {
        why = "rtcp_packet_type_invalid";
        return 0;
    }
    const std::size_t len = (static_cast<std::size_t>(words) + 1) * 4;
    if (len > size - off) {
        why = "rtcp_length_invalid";
        return 0;
    }
    // RFC 3550 §6.4: SR = SSRC + 20-byte sender info + RC report blocks of 24
    // bytes; RR = SSRC + RC report blocks.
    const unsigned rc = d[off] & 0x1f;
    const std::size_t need_words = pt == 200 ? 6u + 6u * rc : pt == 201 ? 1u + 6u * rc : 0u;
    if (words < need_words) {
        why = "rtcp_report_too_short";
        return 0;
    }
    return len;
}

// RFC 3550 §6.4.1 and A.2: walks a compound RTCP packet to the exact end.
Classification& classify_rtcp(Classification& c, const std::uint8_t* d, std::size_t size, Options opt) noexcept {
    std::string_view why;
    const std::size_t first = rtcp_packet(d, size, 0, why);
    if (first == 0) return reject(c, why);
    c.rtcp_first_type = d[1];
    std::uint32_t ssrc = 0;
    if (first >= 8 && load_be32(d, size, 4, ssrc)) c.ssrc = ssrc;

    std::size_t off = 0;
    unsigned count = 0;
    bool walked = true;
    while (off < size) {
        const std::size_t len = rtcp_packet(d, size, off, why);
        if (len == 0) {
            walked = false;
            break;
        }
        if ((d[off] & 0x20) && len != size - off) {
            why = "rtcp_padding_not_last";
            walked = false;
            break;
        }
        off += len;
        ++count;
    }
    if (walked) {
        c.rtcp_packet_count = count;
        return accept(c, Kind::rtcp);
    }
    // SRTCP (RFC 3711 §3.4): only the first header and SSRC are in the clear;
    // the E flag + 31-bit index (4 bytes) and the auth tag follow.
    if (opt.srtp && first >= 8 && 4 <= size - first &&
        (c.rtcp_first_type == 200 || c.rtcp_first_type == 201 || c.rtcp_first_type >= 205)) {
        c.rtcp_packet_count = 1;
        c.srtcp_unverified = true;
        return accept(c, Kind::rtcp);
    }
    return reject(c, why);
}

// RFC 3550 §5.1.
Classification& classify_rtp(Classification& c, const std::uint8_t* d, std::size_t size, Options opt) noexcept {
    if (size < 12) return reject(c, "rtp_header_truncated");
    if ((d[0] >> 6) != 2) return reject(c, "rtp_version_invalid");
    const bool padding = (d[0] & 0x20) != 0;
    const bool extension = (d[0] & 0x10) != 0;
    const std::uint8_t cc = d[0] & 0x0f;
    const std::uint8_t pt = d[1] & 0x7f;
    // RFC 5761 §4: 72..76 would read as RTCP 200..204 with the marker bit.
    if (pt >= 72 && pt <= 76) return reject(c, "rtp_payload_type_conflicts_with_rtcp");
    std::size_t header = 12 + 4u * cc;
    if (header > size) return reject(c, "rtp_csrc_exceeds_packet");
    if (extension) {
        // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in words.
        std::uint16_t words = 0;
        if (!load_be16(d, size, header + 2, words)) return reject(c, "rtp_extension_exceeds_packet");
        const std::size_t ext = 4 + 4 * static_cast<std::size_t>(words);
        if (ext > size - header) return reject(c, "rtp_extension_exceeds_packet");
        header += ext;
    }
    std::size_t payload = size - header;
    if (padding && !opt.srtp) {
        const std::uint8_t pad = d[size - 1];
        if (pad == 0 || pad > payload) return reject(c, "rtp_padding_invalid");
        payload -= pad;
    }
    std::uint16_t seq = 0;
    std::uint32_t ts = 0, ssrc = 0;
    load_be16(d, size, 2, seq);
    load_be32(d, size, 4, ts);
    load_be32(d, size, 8, ssrc);
    c.payload_type = pt;
    c.marker = (d[1] & 0x80) != 0;
    c.sequence = seq;
    c.timestamp = ts;
    c.ssrc = ssrc;
    c.csrc_count = cc;
    c.header_length = header;
    c.payload_length = payload;
    return accept(c, Kind::rtp);
}

// RFC 8489 §5.
Classification& classify_stun(Classification& c, const std::uint8_t* d, std::size_t size) noexcept {
    std::uint16_t type = 0, len = 0;
    std::uint32_t cookie = 0;
    if (size < 20 || !load_be16(d, size, 0, type) || !load_be16(d, size, 2, len) || !load_be32(d, size, 4, cookie))
        return reject(c, "stun_header_truncated");
    if (cookie != kStunMagicCookie) return reject(c, "stun_magic_cookie_invalid");
    if (len % 4 != 0 || len != size - 20) return reject(c, "stun_length_invalid");
    c.stun_message_type = type;
    return accept(c, Kind::stun);
}

// RFC 6347 §4.1: type(1) version(2) epoch(2) sequence(6) length(2) fragment.
Classification& classify_dtls(Classification& c, const std::uint8_t* d, std::size_t size) noexcept {
    std::size_t off = 0;
    unsigned count = 0;
    while (off < size) {
        if (13 > size - off) return reject(c, "dtls_record_truncated");
        const std::uint8_t type = d[off];
        if (!(type >= 20 && type <= 23) && type != 25) return reject(c, "dtls_content_type_invalid");
        std::uint16_t version = 0, len = 0;
        load_be16(d, size, off + 1, version);
        load_be16(d, size, off + 11, len);
        if (version != 0xFEFF && version != 0xFEFD) return reject(c, "dtls_version_invalid");
        if (len == 0 || len > size - off - 13) return reject(c, "dtls_length_invalid");
        if (count == 0) {
            c.dtls_content_type = type;
            c.dtls_version = version;
        }
        ++count;
        off += 13 + static_cast<std::size_t>(len);
    }
    c.dtls_record_count = count;
    return accept(c, Kind::dtls);
}

// RFC 6189 §5: 0001 0000, unused, sequence, magic cookie, source id, message, CRC.
Classification& classify_zrtp(Classification& c, const std::uint8_t* d, std::size_t size) noexcept {
    std::uint32_t cookie = 0, ssrc = 0;
    std::uint16_t seq = 0;
    if (size < 16) return reject(c, "zrtp_too_short");
    if (d[0] != 0x10) return reject(c, "zrtp_magic_cookie_invalid");
    load_be16(d, size, 2, seq);
    load_be32(d, size, 4, cookie);
    load_be32(d, size, 8, ssrc);
    if (cookie != kZrtpMagicCookie) return reject(c, "zrtp_magic_cookie_invalid");
    c.sequence = seq;
    c.ssrc = ssrc;
    return accept(c, Kind::zrtp);
}

// RFC 8656 §12.4.
Classification& classify_turn(Classification& c, const std::uint8_t* d, std::size_t size) noexcept {
    std::uint16_t channel = 0, len = 0;
    if (!load_be16(d, size, 0, channel) || !load_be16(d, size, 2, len)) return reject(c, "turn_length_invalid");
    if (channel < 0x4000 || channel > 0x4FFF) return reject(c, "turn_channel_invalid");
    const std::size_t data = size - 4;
    if (len > data || data - len > 3) return reject(c, "turn_length_invalid");
    c.channel_number = channel;
    return accept(c, Kind::turn_channel);
}

}  // namespace

Classification classify(const std::uint8_t* data, std::size_t size, Options options) noexcept {
    Classification c;
    if (data == nullptr || size == 0) {
        reject(c, "empty");
        return c;
    }
    const std::uint8_t b = data[0];
    if (b <= 3) return classify_stun(c, data, size);
    if (b >= 16 && b <= 19) return classify_zrtp(c, data, size);
    if (b >= 20 && b <= 63) return classify_dtls(c, data, size);
    if (b >= 64 && b <= 79) return classify_turn(c, data, size);
    if (b >= 128 && b <= 191) {
        // RFC 5761 §4: second byte 192..223 is RTCP; anything else is RTP.
        if (size >= 2 && data[1] >= 192 && data[1] <= 223) {
            classify_rtcp(c, data, size, options);
            return c;
        }
        return classify_rtp(c, data, size, options);
    }
    reject(c, "first_byte_unassigned");
    return c;
}

}  // namespace vg::media
