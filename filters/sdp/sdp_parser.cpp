// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sdp/sdp_parser.h"

#include "filters/util/text.h"

namespace vg::sdp {

std::string_view to_string(Direction d) noexcept {
    switch (d) {
    case Direction::sendrecv: return "sendrecv";
    case Direction::sendonly: return "sendonly";
    case Direction::recvonly: return "recvonly";
    case Direction::inactive: return "inactive";
    }
    return "sendrecv";
}

std::string_view to_string(MediaType m) noexcept {
    switch (m) {
    case MediaType::audio: return "audio";
    case MediaType::video: return "video";
    case MediaType::image: return "image";
    case MediaType::application: return "application";
    case MediaType::text: return "text";
    case MediaType::message: return "message";
    case MediaType::other: return "other";
    }
    return "other";
}

std::string_view to_string(Transport t) noexcept {
    switch (t) {
    case Transport::rtp_avp: return "RTP/AVP";
    case Transport::rtp_savp: return "RTP/SAVP";
    case Transport::rtp_avpf: return "RTP/AVPF";
    case Transport::rtp_savpf: return "RTP/SAVPF";
    case Transport::udp_tls_rtp_savp: return "UDP/TLS/RTP/SAVP";
    case Transport::udp_tls_rtp_savpf: return "UDP/TLS/RTP/SAVPF";
    case Transport::udptl: return "udptl";
    case Transport::udp: return "udp";
    case Transport::tcp: return "TCP";
    case Transport::other: return "other";
    }
    return "other";
}

std::string_view to_string(Status s) noexcept {
    switch (s) {
    case Status::ok: return "ok";
    case Status::malformed: return "malformed";
    case Status::too_many_media: return "too_many_media";
    }
    return "malformed";
}

bool is_rtp(Transport t) noexcept {
    switch (t) {
    case Transport::rtp_avp:
    case Transport::rtp_savp:
    case Transport::rtp_avpf:
    case Transport::rtp_savpf:
    case Transport::udp_tls_rtp_savp:
    case Transport::udp_tls_rtp_savpf:
        return true;
    default:
        return false;
    }
}

bool SessionDescription::on_hold() const noexcept {
    bool any = false;
    for (std::size_t i = 0; i < media_count; ++i) {
        const MediaDescription& m = media[i];
        if (!m.usable()) continue;
        if (!m.on_hold) return false;
        any = true;
    }
    return any;
}

namespace {

// Next field separated by SP/HTAB (RFC 8866 uses a single SP; runs of
// whitespace are tolerated).
std::string_view next_field(std::string_view& rest) noexcept {
    std::size_t b = 0;
    while (b < rest.size() && text::is_wsp(rest[b])) ++b;
    std::size_t e = b;
    while (e < rest.size() && !text::is_wsp(rest[e])) ++e;
    const std::string_view f = rest.substr(b, e - b);
    rest = rest.substr(e);
    return f;
}

MediaType media_type_of(std::string_view s) noexcept {
    if (s == "audio") return MediaType::audio;
    if (s == "video") return MediaType::video;
    if (s == "image") return MediaType::image;
    if (s == "application") return MediaType::application;
    if (s == "text") return MediaType::text;
    if (s == "message") return MediaType::message;
    return MediaType::other;
}

// Protocol identifiers are case-sensitive in the registry but written in
// either case in the wild ("RTP/AVP", "udptl", "UDPTL").
Transport transport_of(std::string_view s) noexcept {
    if (text::iequals(s, "RTP/AVP")) return Transport::rtp_avp;
    if (text::iequals(s, "RTP/SAVP")) return Transport::rtp_savp;
    if (text::iequals(s, "RTP/AVPF")) return Transport::rtp_avpf;
    if (text::iequals(s, "RTP/SAVPF")) return Transport::rtp_savpf;
    if (text::iequals(s, "UDP/TLS/RTP/SAVP")) return Transport::udp_tls_rtp_savp;
    if (text::iequals(s, "UDP/TLS/RTP/SAVPF")) return Transport::udp_tls_rtp_savpf;
    if (text::iequals(s, "udptl")) return Transport::udptl;
    if (text::iequals(s, "udp")) return Transport::udp;
    if (text::iequals(s, "TCP") || text::istarts_with(s, "TCP/")) return Transport::tcp;
    return Transport::other;
}

bool direction_of(std::string_view attr, Direction& out) noexcept {
    if (attr == "sendrecv") out = Direction::sendrecv;
    else if (attr == "sendonly") out = Direction::sendonly;
    else if (attr == "recvonly") out = Direction::recvonly;
    else if (attr == "inactive") out = Direction::inactive;
    else return false;
    return true;
}

// A literal address of the announced family ("IP4" / "IP6").
bool parse_address(std::string_view addrtype, std::string_view text_addr, net::IpAddress& out) noexcept {
    if (text_addr.empty() || text_addr.front() == '[') return false;
    const auto a = net::IpAddress::parse(text_addr);
    if (!a) return false;
    if (addrtype == "IP4" && !a->is_v4()) return false;
    if (addrtype == "IP6" && !a->is_v6()) return false;
    out = *a;
    return true;
}

// RFC 8866 §5.7: c=<nettype> <addrtype> <connection-address>, where the
// address may carry /ttl (IP4 multicast) and /number-of-addresses.
Connection parse_connection(std::string_view value) noexcept {
    Connection c;
    c.present = true;
    std::string_view rest = value;
    const std::string_view nettype = next_field(rest);
    const std::string_view addrtype = next_field(rest);
    std::string_view addr = next_field(rest);
    if (nettype != "IN" || (addrtype != "IP4" && addrtype != "IP6") || addr.empty() ||
        !text::trim_wsp(rest).empty()) {
        c.error = "connection_malformed";
        return c;
    }
    std::string_view suffix;
    const std::size_t slash = addr.find('/');
    if (slash != std::string_view::npos) {
        suffix = addr.substr(slash + 1);
        addr = addr.substr(0, slash);
    }
    c.address_text = addr;
    if (slash != std::string_view::npos) {
        const std::size_t slash2 = suffix.find('/');
        const std::string_view first = suffix.substr(0, slash2);
        const std::string_view second =
            slash2 == std::string_view::npos ? std::string_view() : suffix.substr(slash2 + 1);
        std::uint16_t v1 = 0, v2 = 1;
        if (!text::parse_uint_as<std::uint16_t>(first, 65535, v1) ||
            (slash2 != std::string_view::npos &&
             (addrtype == "IP6" || !text::parse_uint_as<std::uint16_t>(second, 65535, v2)))) {
            c.error = "connection_malformed";
            return c;
        }
        if (addrtype == "IP4") {
            if (v1 > 255 || v2 == 0) {
                c.error = "connection_malformed";
                return c;
            }
            c.ttl = v1;
            c.address_count = v2;
        } else {
            if (v1 == 0) {
                c.error = "connection_malformed";
                return c;
            }
            c.address_count = v1;
        }
    }
    if (!parse_address(addrtype, addr, c.address)) {
        c.error = "connection_address_invalid";
        return c;
    }
    c.valid = true;
    return c;
}

// RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
void parse_media(std::string_view value, MediaDescription& m) noexcept {
    std::string_view rest = value;
    m.type_text = next_field(rest);
    const std::string_view port_field = next_field(rest);
    m.proto_text = next_field(rest);
    m.formats = text::trim_wsp(rest);
    m.type = media_type_of(m.type_text);
    m.transport = transport_of(m.proto_text);
    if (m.type_text.empty() || port_field.empty() || m.proto_text.empty() || m.formats.empty()) {
        m.error = "media_fields_missing";
        return;
    }
    const std::size_t slash = port_field.find('/');
    if (!text::parse_uint_as<std::uint16_t>(port_field.substr(0, slash), 65535, m.port)) {
        m.error = "media_port_invalid";
        return;
    }
    m.rejected = m.port == 0;
    if (slash != std::string_view::npos) {
        std::uint16_t n = 0;
        if (!text::parse_uint_as<std::uint16_t>(port_field.substr(slash + 1), 65535, n) || n == 0 ||
            n > kMaxPortCount) {
            m.error = "media_port_count_invalid";
            return;
        }
        // RTP uses two ports per stream (RFC 8866 §5.14).
        const unsigned span = is_rtp(m.transport) ? 2u * n : n;
        if (!m.rejected && static_cast<unsigned>(m.port) + span - 1 > 65535u) {
            m.error = "media_port_count_invalid";
            return;
        }
        m.port_count = n;
    }
}

// RFC 3605 §2.1: a=rtcp:<port> [<nettype> <addrtype> <connection-address>]
bool parse_rtcp_attribute(std::string_view value, MediaDescription& m) noexcept {
    std::string_view rest = value;
    const std::string_view port = next_field(rest);
    if (!text::parse_uint_as<std::uint16_t>(port, 65535, m.rtcp_attribute_port) || m.rtcp_attribute_port == 0)
        return false;
    if (text::trim_wsp(rest).empty()) return true;
    const std::string_view nettype = next_field(rest);
    const std::string_view addrtype = next_field(rest);
    const std::string_view addr = next_field(rest);
    if (nettype != "IN" || (addrtype != "IP4" && addrtype != "IP6") || !text::trim_wsp(rest).empty())
        return false;
    return parse_address(addrtype, addr, m.rtcp_attribute_address);
}

void handle_attribute(std::string_view value, bool media_level, SessionDescription& s, MediaDescription* m) noexcept {
    const std::size_t colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    const std::string_view arg = colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    Direction d{};
    if (colon == std::string_view::npos && direction_of(text::trim_wsp(name), d)) {
        if (media_level) {
            m->direction_explicit = true;
            m->media_direction = d;
        } else {
            s.direction_explicit = true;
            s.direction = d;
        }
        return;
    }
    if (!media_level) return;  // a=rtcp and a=rtcp-mux are media-level only
    if (colon == std::string_view::npos && text::trim_wsp(name) == "rtcp-mux") {
        m->rtcp_mux = true;
    } else if (name == "rtcp" && colon != std::string_view::npos) {
        m->has_rtcp_attribute = true;
        if (!parse_rtcp_attribute(arg, *m) && m->error.empty()) m->error = "rtcp_attribute_invalid";
    }
}

// RFC 8866 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
bool parse_origin(std::string_view value, Origin& o) noexcept {
    std::string_view rest = value;
    o.present = true;
    o.username = next_field(rest);
    o.session_id = next_field(rest);
    o.session_version = next_field(rest);
    const std::string_view nettype = next_field(rest);
    o.address_type = next_field(rest);
    o.address_text = next_field(rest);
    if (o.address_text.empty() || !text::trim_wsp(rest).empty()) return false;
    (void)nettype;
    parse_address(o.address_type, o.address_text, o.address);
    return true;
}

void resolve(SessionDescription& s) noexcept {
    for (std::size_t i = 0; i < s.media_count; ++i) {
        MediaDescription& m = s.media[i];
        m.direction = m.direction_explicit ? m.media_direction : s.direction;
        if (!m.error.empty()) continue;
        if (m.rejected) {
            m.rtp_port = 0;
            m.rtcp_port = 0;
            continue;
        }
        const Connection& c = m.connection.present ? m.connection : s.connection;
        if (!c.present) {
            m.error = "connection_missing";
            continue;
        }
        if (!c.valid) {
            m.error = c.error;
            continue;
        }
        m.address = c.address;
        m.address_unspecified = c.address.is_unspecified();
        m.rtp_port = m.port;
        m.rtcp_address = m.rtcp_attribute_address.valid() ? m.rtcp_attribute_address : m.address;
        if (m.is_rtp()) {
            if (m.has_rtcp_attribute) {
                m.rtcp_port = m.rtcp_attribute_port;
            } else if (m.rtcp_mux) {
                m.rtcp_port = m.port;
            } else if (m.port == 65535) {
                m.error = "rtcp_port_out_of_range";
                continue;
            } else {
                m.rtcp_port = static_cast<std::uint16_t>(m.port + 1);
            }
        }
        m.on_hold = m.address_unspecified || m.direction == Direction::sendonly ||
                    m.direction == Direction::inactive;
    }
}

}  // namespace

Status parse(std::string_view body, SessionDescription& out) noexcept {
    out = SessionDescription{};
    SessionDescription& s = out;
    bool first = true;
    MediaDescription* cur = nullptr;
    auto error = [&s](Status st, std::string_view reason, std::size_t line) {
        s.status = st;
        s.reason = reason;
        s.error_line = line;
        return false;
    };
    SdpLine bad;
    const bool lines_ok = for_each_sdp_line(
        body,
        [&](const SdpLine& l) {
            if (first) {
                first = false;
                if (l.type != 'v') return error(Status::malformed, "version_missing", l.number);
                if (text::trim_wsp(l.value) != "0") return error(Status::malformed, "version_unsupported", l.number);
                return true;
            }
            switch (l.type) {
            case 'o':
                if (cur == nullptr && !parse_origin(l.value, s.origin))
                    return error(Status::malformed, "origin_malformed", l.number);
                return true;
            case 'c':
                if (cur == nullptr) {
                    if (!s.connection.present) s.connection = parse_connection(l.value);
                } else if (!cur->connection.present) {
                    cur->connection = parse_connection(l.value);
                }
                return true;
            case 'm':
                if (s.media_count == kMaxMediaLines)
                    return error(Status::too_many_media, "too_many_media_lines", l.number);
                cur = &s.media[s.media_count++];
                cur->line = l.number;
                parse_media(l.value, *cur);
                return true;
            case 'a':
                handle_attribute(l.value, cur != nullptr, s, cur);
                return true;
            default:
                return true;
            }
        },
        bad);
    if (!lines_ok) {
        error(Status::malformed, first ? "version_missing" : "line_malformed", bad.number);
    } else if (first && s.status == Status::ok) {
        error(Status::malformed, "sdp_empty", 0);
    }
    resolve(s);
    return s.status;
}

}  // namespace vg::sdp
