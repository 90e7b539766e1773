// SPDX-License-Identifier: GPL-2.0-or-later
// The parsed form of one SIP message (RFC 3261 §7). Every text field is a
// std::string_view into the caller's packet buffer; every repeated structure is
// a fixed-capacity array inside the struct, so parsing never touches the heap.
// The caller owns the SipMessage (it is about 20 KiB: keep one per worker and
// reuse it) and must keep the packet alive while it reads the views.
//
// Header values are views of the wire bytes after trimming: a folded value
// (RFC 3261 §7.3.1) still contains its CRLF + WSP. Use the LWS-aware helpers in
// sip_parser.h (lws_equals, copy_unfolded) to compare or print them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::sip {

// ---------------------------------------------------------------------------
// Capacities. Exceeding one makes the message `malformed` with a reason.
inline constexpr std::size_t kMaxHeaders = 128;   // header fields (lines) per message
inline constexpr std::size_t kMaxVias = 48;       // Via values (RFC 4475 longreq has 34)
inline constexpr std::size_t kMaxContacts = 16;   // Contact values

enum class Transport : std::uint8_t {
    datagram,  // UDP: one message per datagram, Content-Length optional (RFC 3261 §18.3)
    stream,    // TCP/TLS: Content-Length required, messages back to back
};

enum class Status : std::uint8_t { ok, incomplete, malformed };

enum class MessageKind : std::uint8_t {
    none,
    request,
    response,
    keepalive,  // only CRLFs (RFC 5626 §3.5.1 double-CRLF keep-alive)
};

// Known methods (RFC 3261 §7.1 and the extensions a PBX uses). Methods are
// case-sensitive (see Limits::methods_ignore_case); anything else is `unknown`
// and SipMessage::method_text holds it.
enum class Method : std::uint8_t {
    unknown,
    invite,
    ack,
    bye,
    cancel,
    options,
    register_,
    prack,
    subscribe,
    notify,
    publish,
    info,
    refer,
    message,
    update,
};

// Headers the engine knows by name. Compact forms (RFC 3261 §7.3.3 and the
// extension RFCs) map to the same id as the long form.
enum class HeaderId : std::uint8_t {
    other,
    via,
    from,
    to,
    call_id,
    cseq,
    contact,
    max_forwards,
    content_length,
    content_type,
    content_encoding,
    expires,
    user_agent,
    server,
    route,
    record_route,
    supported,
    require,
    proxy_require,
    subject,
    event,
    allow_events,
    allow,
    accept,
    refer_to,
    referred_by,
    session_expires,
    accept_contact,
    reject_contact,
    request_disposition,
    identity,
    identity_info,
    authorization,
    proxy_authorization,
    www_authenticate,
    proxy_authenticate,
    p_asserted_identity,
    diversion,
    date,
};

// "[2001:db8::1]" -> "2001:db8::1"; anything else unchanged.
constexpr std::string_view unbracket(std::string_view host) noexcept {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

enum class UriScheme : std::uint8_t { none, sip, sips, tel, other };

enum class HostType : std::uint8_t {
    none,
    name,  // RFC 3261 §25.1 hostname
    ipv4,  // dotted quad
    ipv6,  // IPv6reference: the view includes the brackets
};

// A parsed URI (RFC 3261 §19.1 for sip/sips, RFC 3966 for tel, RFC 3986
// scheme ":" opaque for the rest). All views are raw: %-escapes are kept.
struct Uri {
    std::string_view raw;        // the whole URI as it appeared
    UriScheme scheme = UriScheme::none;
    std::string_view scheme_text;
    std::string_view user;       // sip/sips: user part (escaped); tel: the number
    std::string_view password;   // sip/sips: text after ':' in userinfo
    std::string_view host;       // "[2001:db8::1]" for IPv6 references
    HostType host_type = HostType::none;
    std::uint16_t port = 0;
    bool has_port = false;
    bool has_user = false;
    std::string_view params;     // after the first ';' up to '?' (";" excluded); empty if none
    std::string_view headers;    // after '?' (excluded); empty if none
    std::string_view opaque;     // other schemes: everything after "scheme:"
    bool valid = false;

    // Host without the IPv6 brackets.
    std::string_view host_unbracketed() const noexcept { return unbracket(host); }
    bool is_sip() const noexcept { return scheme == UriScheme::sip || scheme == UriScheme::sips; }
};

// name-addr / addr-spec with its header parameters (RFC 3261 §20.10, §20.20,
// §20.39 and the §25.1 grammar).
struct NameAddr {
    std::string_view raw;           // the whole value (one list element for Contact)
    std::string_view display_name;  // without the surrounding quotes; escapes kept raw
    bool display_quoted = false;
    bool angle_brackets = false;    // URI was inside <...>
    Uri uri;
    std::string_view params;        // header parameters, starting at the first ';'
    std::string_view tag;           // value of the tag parameter
    bool has_tag = false;
    bool valid = false;
};

enum class ViaTransport : std::uint8_t { other, udp, tcp, tls, sctp, ws, wss };

// One via-parm (RFC 3261 §20.42, §18.2.1 received, RFC 3581 rport).
struct Via {
    std::string_view raw;
    std::string_view protocol_name;     // "SIP"
    std::string_view protocol_version;  // "2.0"
    std::string_view transport_text;    // "UDP", "TLS", "UNKNOWN", ...
    ViaTransport transport = ViaTransport::other;
    std::string_view host;              // sent-by host, brackets kept for IPv6
    HostType host_type = HostType::none;
    std::uint16_t port = 0;
    bool has_port = false;
    std::string_view params;            // starting at the first ';'
    std::string_view branch;
    bool has_branch = false;
    std::string_view received;          // as written: IPv4, IPv6 with or without [] (RFC 5118 §4.5)
    bool has_received = false;
    bool has_rport = false;             // rport present, with or without value
    bool rport_has_value = false;
    std::uint16_t rport = 0;
    std::string_view maddr;
    bool valid = false;

    std::string_view host_unbracketed() const noexcept { return unbracket(host); }
};

struct Contact {
    NameAddr addr;
    bool has_expires = false;
    bool expires_valid = false;   // false when above 2^32-1 or not digits
    std::uint32_t expires = 0;
    std::string_view q;
};

struct Header {
    std::string_view name;   // as written ("v", "ViA", ...)
    std::string_view value;  // trimmed, folding kept
    HeaderId id = HeaderId::other;
};

struct CSeq {
    std::uint32_t number = 0;        // valid only when number_valid
    bool number_valid = false;       // digits and at most 2^31-1 (RFC 3261 §8.1.1.5)
    std::string_view method_text;
    Method method = Method::unknown;
    bool present = false;
    bool valid = false;              // "number LWS method" syntax held
};

// An optional unsigned header value (Max-Forwards, Expires).
struct UintField {
    std::string_view text;
    std::uint32_t value = 0;
    bool present = false;
    bool valid = false;  // digits only and within the header's range
};

// Anomalies: things a well-behaved peer does not send but that do not stop the
// message from being delimited. Bit values and names are stable (they are
// counted and logged); anomaly_name() gives the snake_case name of one bit.
namespace anomaly {
inline constexpr std::uint32_t bare_lf = 1u << 0;                  // LF without CR ended a line
inline constexpr std::uint32_t leading_crlf = 1u << 1;             // CRLFs before the start line (RFC 3261 §7.5)
inline constexpr std::uint32_t trailing_data = 1u << 2;            // datagram bytes after Content-Length (RFC 3261 §18.3)
inline constexpr std::uint32_t missing_required_header = 1u << 3;  // no To/From/Call-ID/CSeq/Via (RFC 3261 §8.1.1)
inline constexpr std::uint32_t duplicate_header = 1u << 4;         // single-valued header repeated; first kept
inline constexpr std::uint32_t cseq_method_mismatch = 1u << 5;     // CSeq method != request method (§8.1.1.5)
inline constexpr std::uint32_t cseq_invalid = 1u << 6;             // CSeq not "number method"
inline constexpr std::uint32_t cseq_out_of_range = 1u << 7;        // CSeq number >= 2^31
inline constexpr std::uint32_t max_forwards_invalid = 1u << 8;     // not digits, or above 255 (§8.1.1.6)
inline constexpr std::uint32_t expires_invalid = 1u << 9;          // Expires or contact expires above 2^32-1 / not digits
inline constexpr std::uint32_t via_invalid = 1u << 10;             // a Via value did not parse; later Vias not extracted
inline constexpr std::uint32_t name_addr_invalid = 1u << 11;       // From/To/Contact did not parse
inline constexpr std::uint32_t call_id_invalid = 1u << 12;         // empty Call-ID or LWS inside
inline constexpr std::uint32_t request_uri_has_headers = 1u << 13; // '?' headers in Request-URI (§19.1.5)
inline constexpr std::uint32_t contact_star_mixed = 1u << 14;      // "*" together with other Contacts (§10.2.2)
inline constexpr std::uint32_t no_content_length = 1u << 15;       // datagram without Content-Length (allowed, noted)
inline constexpr std::uint32_t method_case = 1u << 16;             // a method known only ignoring case (Limits::methods_ignore_case)
inline constexpr std::uint32_t count = 17;
}  // namespace anomaly

const char* anomaly_name(std::uint32_t bit) noexcept;

struct SipMessage {
    MessageKind kind = MessageKind::none;

    // Start line.
    std::string_view start_line;
    Method method = Method::unknown;      // requests
    std::string_view method_text;
    std::string_view request_uri_text;
    Uri request_uri;
    std::string_view version;             // "SIP/2.0"
    std::uint16_t status_code = 0;        // responses
    std::string_view reason;              // may be empty

    // Every header field in order.
    Header headers[kMaxHeaders];
    std::size_t header_count = 0;

    // Extracted fields.
    Via vias[kMaxVias];
    std::size_t via_count = 0;
    Contact contacts[kMaxContacts];
    std::size_t contact_count = 0;
    bool contact_star = false;            // "Contact: *" (RFC 3261 §10.2.2)
    NameAddr from;
    bool has_from = false;
    NameAddr to;
    bool has_to = false;
    std::string_view call_id;
    bool has_call_id = false;
    CSeq cseq;
    UintField max_forwards;
    UintField expires;
    UintField content_length;
    std::string_view content_type;
    std::string_view user_agent;
    std::string_view server;

    std::string_view body;
    std::uint32_t anomalies = 0;

    // Clears the scalar fields and counts; the arrays are not wiped (only the
    // first *_count entries are meaningful).
    void reset() noexcept;

    // First header with this id / this name (case-insensitive, compact forms
    // are matched through their id), or nullptr.
    const Header* find(HeaderId id) const noexcept;
    const Header* find(std::string_view name) const noexcept;
    std::size_t count(HeaderId id) const noexcept;

    // Calls f(const Header&) for every header with this id, in order.
    template <typename F>
    void for_each_header(HeaderId id, F&& f) const {
        for (std::size_t i = 0; i < header_count; ++i)
            if (headers[i].id == id) f(headers[i]);
    }

    bool has_anomaly(std::uint32_t bit) const noexcept { return (anomalies & bit) != 0; }
    bool is_request() const noexcept { return kind == MessageKind::request; }
    bool is_response() const noexcept { return kind == MessageKind::response; }
};

}  // namespace vg::sip
