// SPDX-License-Identifier: GPL-2.0-or-later
// SDP parser (RFC 8866, which obsoletes RFC 4566) reduced to what a firewall
// needs to open media pinholes: the connection address and the RTP/RTCP ports
// of every media line, the stream direction and hold state (RFC 3264), RTCP
// port (RFC 3605) and RTCP multiplexing (RFC 5761).
//
// Contract:
//   - parse() never throws and never allocates. Every string_view in the
//     result points into the body passed in, which must outlive the result.
//   - Lines end with CRLF or a bare LF; empty lines are skipped. Every other
//     line must be "<letter>=<value>". Types this parser does not need (s=,
//     t=, b=, k=, ...) and unknown attributes are ignored.
//   - At most kMaxMediaLines media descriptions are kept; one more stops the
//     parse with Status::too_many_media ("too_many_media_lines"); the first
//     kMaxMediaLines stay available.
//
// Session-level errors (SessionDescription::status / reason / error_line,
// 1-based line number; the parse stops there):
//   sdp_empty                 no lines at all
//   version_missing           the first line is not v=
//   version_unsupported       v= is not 0
//   line_malformed            a line that is not "<letter>=..."
//   origin_malformed          o= without its six fields
//   too_many_media_lines      more than kMaxMediaLines m= lines
//
// Media-level errors (MediaDescription::error; "" when none). A media line
// with an error must not get a pinhole; the other lines are still usable.
//   media_fields_missing      m= with fewer than <media> <port> <proto> <fmt>
//   media_port_invalid        port not a decimal number in 0..65535
//   media_port_count_invalid  "port/N" with N == 0, N > kMaxPortCount, or a
//                             range that runs past port 65535
//   connection_missing        no c= at media or session level
//   connection_malformed      c= not "IN IP4|IP6 <address>[/ttl][/n]"
//   connection_address_invalid  not a literal address of the announced family
//                             (FQDNs are not resolved by the data plane)
//   rtcp_attribute_invalid    a=rtcp: with a bad port or address (RFC 3605)
//   rtcp_port_out_of_range    no a=rtcp, no rtcp-mux and port 65535 (port+1
//                             does not exist)
// Connection errors are only reported for media lines that are not rejected
// (port 0, RFC 3264 §6): a rejected line needs no address.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/net/ip_address.h"

namespace vg::sdp {

constexpr std::size_t kMaxMediaLines = 16;
constexpr unsigned kMaxPortCount = 16;

enum class Status : std::uint8_t { ok, malformed, too_many_media };

// RFC 3264 §5.1 / RFC 8866 §6.7.
enum class Direction : std::uint8_t { sendrecv, sendonly, recvonly, inactive };

enum class MediaType : std::uint8_t { audio, video, image, application, text, message, other };

enum class Transport : std::uint8_t {
    rtp_avp,           // RTP/AVP (RFC 3551)
    rtp_savp,          // RTP/SAVP (RFC 3711)
    rtp_avpf,          // RTP/AVPF (RFC 4585)
    rtp_savpf,         // RTP/SAVPF (RFC 5124)
    udp_tls_rtp_savp,  // UDP/TLS/RTP/SAVP (RFC 5764)
    udp_tls_rtp_savpf, // UDP/TLS/RTP/SAVPF (RFC 5764)
    udptl,             // T.38 (ITU-T T.38 Annex D)
    udp,               // plain UDP (RFC 8866)
    tcp,               // TCP, TCP/RTP/AVP, TCP/TLS/..., TCP/MSRP, ... (any "TCP" proto)
    other,
};

std::string_view to_string(Direction d) noexcept;
std::string_view to_string(MediaType m) noexcept;
std::string_view to_string(Transport t) noexcept;
std::string_view to_string(Status s) noexcept;

// True for the RTP-based transports (they get an RTCP port).
bool is_rtp(Transport t) noexcept;

struct Origin {
    bool present = false;
    std::string_view username;
    std::string_view session_id;
    std::string_view session_version;
    std::string_view address_type;     // "IP4" / "IP6"
    std::string_view address_text;     // as written (may be an FQDN)
    net::IpAddress address;            // invalid when address_text is not a literal
};

struct Connection {
    bool present = false;
    bool valid = false;                // address parsed and matches its family
    std::string_view error;            // "connection_malformed" / "connection_address_invalid"
    std::string_view address_text;     // without the /ttl/n suffix
    net::IpAddress address;
    std::uint16_t ttl = 0;             // IP4 multicast TTL, 0 if absent
    std::uint16_t address_count = 1;   // "/n" number of addresses
    bool is_unspecified() const noexcept { return valid && address.is_unspecified(); }
};

struct MediaDescription {
    std::string_view error;            // "" when the line is usable
    std::size_t line = 0;              // 1-based line number of the m= line
    MediaType type = MediaType::other;
    std::string_view type_text;
    Transport transport = Transport::other;
    std::string_view proto_text;
    std::string_view formats;          // the fmt list, e.g. "0 8 101"
    std::uint16_t port = 0;            // as written in m=
    std::uint16_t port_count = 1;      // "port/N"
    bool rejected = false;             // port 0 (RFC 3264 §6)

    Connection connection;             // media-level c= (first one) only
    bool rtcp_mux = false;             // a=rtcp-mux (RFC 5761 §5.1.3)
    bool has_rtcp_attribute = false;   // a=rtcp: (RFC 3605)
    std::uint16_t rtcp_attribute_port = 0;
    net::IpAddress rtcp_attribute_address; // invalid when a=rtcp has no address
    bool direction_explicit = false;
    Direction media_direction = Direction::sendrecv;

    // Effective values, resolved when the parse finishes ---------------------
    net::IpAddress address;            // media c= if present, else session c=
    bool address_unspecified = false;  // 0.0.0.0 or :: (RFC 3264 §8.4 hold)
    std::uint16_t rtp_port = 0;        // == port (0 when rejected)
    // RTCP: explicit a=rtcp port, else the RTP port with rtcp-mux, else
    // port + 1; 0 when the transport is not RTP or the line is rejected.
    std::uint16_t rtcp_port = 0;
    net::IpAddress rtcp_address;       // a=rtcp address if given, else `address`
    Direction direction = Direction::sendrecv;  // media attribute, else session, else sendrecv
    // RFC 3264 §8.4: sendonly or inactive, or the RFC 2543 c=0.0.0.0 form.
    bool on_hold = false;

    bool usable() const noexcept { return error.empty() && !rejected; }
    bool is_rtp() const noexcept { return sdp::is_rtp(transport); }
};

struct SessionDescription {
    Status status = Status::ok;
    std::string_view reason = "ok";
    std::size_t error_line = 0;        // 1-based; 0 when status is ok

    Origin origin;
    Connection connection;             // session-level c=
    bool direction_explicit = false;
    Direction direction = Direction::sendrecv;  // session-level attribute

    std::array<MediaDescription, kMaxMediaLines> media{};
    std::size_t media_count = 0;

    bool ok() const noexcept { return status == Status::ok; }
    // True when at least one media line is usable and every usable one is on hold.
    bool on_hold() const noexcept;
};

// One SDP line: type letter and value, without the line ending.
struct SdpLine {
    char type = 0;
    std::string_view value;
    std::size_t number = 0;  // 1-based
};

// Calls fn(const SdpLine&) for every non-empty line and returns true, or stops
// at the first line that is not "<letter>=" and returns false with that line
// in `bad` (RFC 8866 §5: "<type>=<value>"). fn may return false to stop early.
template <typename Fn>
bool for_each_sdp_line(std::string_view body, Fn&& fn, SdpLine& bad) noexcept;

// Parses `body` into `out` (which is reset first). Returns out.status.
Status parse(std::string_view body, SessionDescription& out) noexcept;

// ---------------------------------------------------------------------------

template <typename Fn>
bool for_each_sdp_line(std::string_view body, Fn&& fn, SdpLine& bad) noexcept {
    std::size_t pos = 0;
    std::size_t number = 0;
    while (pos < body.size()) {
        std::size_t eol = body.find('\n', pos);
        const std::size_t next = eol == std::string_view::npos ? body.size() : eol + 1;
        if (eol == std::string_view::npos) eol = body.size();
        std::string_view line = body.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = next;
        ++number;
        if (line.empty()) continue;
        const bool letter = (line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z');
        if (line.size() < 2 || !letter || line[1] != '=') {
            bad = SdpLine{line[0], line, number};
            return false;
        }
        if (!fn(SdpLine{line[0], line.substr(2), number})) return true;
    }
    return true;
}

}  // namespace vg::sdp
