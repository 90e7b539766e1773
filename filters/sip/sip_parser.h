// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SIP message parser (RFC 3261 §7, §18.3, §20), with a contract like
// picohttpparser: bytes in, views into them out, a status back, no allocation
// and no exceptions.
//
//   SipMessage msg;                       // caller-owned, reusable
//   ParseResult r = parse_message(buf, Transport::stream, Limits{}, msg);
//   if (r.status == Status::ok) { ... msg.vias[0].branch ...; buf.remove_prefix(r.consumed); }
//
// `malformed` means the message cannot be delimited or its start line is bad
// (the reason says which). A message that can be delimited but has a bad field
// is `ok` with an anomaly bit set and that field marked invalid: the policy,
// not the parser, decides what to drop.
#pragma once

#include "filters/sip/sip_message.h"
#include "filters/sip/sip_uri.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::sip {

struct Limits {
    std::size_t max_message_size = 65535;    // whole message incl. body (a UDP datagram's maximum)
    std::size_t max_headers = kMaxHeaders;   // header fields; capped at kMaxHeaders
    std::size_t max_line_length = 8192;      // one physical line, CRLF excluded
    // Methods are case-sensitive (RFC 3261 §7.1), but common PBX stacks
    // (pjsip-based ones among them) compare them ignoring case, so "invite"
    // reaches them as an INVITE. With this set, a request or CSeq method that
    // equals a known method ignoring case is parsed as that method, and the
    // message gets the `method_case` anomaly. A firewall judging what a PBX
    // will do sets it.
    bool methods_ignore_case = false;
};

struct ParseResult {
    Status status = Status::malformed;
    // ok: bytes that belong to this message (start of the next one on a
    // stream; on a datagram, trailing bytes after Content-Length are not
    // counted). incomplete/malformed: 0.
    std::size_t consumed = 0;
    // Stable snake_case name on malformed, nullptr otherwise.
    const char* reason = nullptr;
    std::uint32_t anomalies = 0;  // same bits as SipMessage::anomalies
};

// Reasons `malformed` can carry (stable names, counted by the engine):
//   empty_message, message_too_large, line_too_long, too_many_headers,
//   too_many_vias, too_many_contacts, bad_line_ending, headers_unterminated,
//   bad_request_line, bad_request_uri, bad_status_line, bad_sip_version,
//   bad_header_line, content_length_invalid, content_length_duplicate,
//   content_length_missing, content_length_exceeds_message
ParseResult parse_message(std::string_view data, Transport transport, const Limits& limits,
                          SipMessage& out) noexcept;

// ---------------------------------------------------------------------------
// Header fields of a message head (RFC 3261 §7.3 message-header, §7.3.1
// folding: a line starting with SP/HT continues the previous field). Starts at
// the first header line (after the start line); yields name and trimmed value
// (folds kept inside) and stops cleanly at the empty line, at the end of the
// data, or at the first line that is not `token *WSP ":"`.
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

class HeaderFieldIterator {
public:
    enum class Step : std::uint8_t {
        field,        // `f` is filled
        end,          // empty line reached; body_offset() is valid
        incomplete,   // ran out of data
        bad_line,     // not a header line (reason "bad_header_line")
        bad_ending,   // CR not followed by LF (reason "bad_line_ending")
        line_too_long,
    };
    HeaderFieldIterator(std::string_view data, std::size_t offset, std::size_t max_line) noexcept
        : s_(data), pos_(offset), max_line_(max_line) {}
    Step next(HeaderField& f) noexcept;
    std::size_t offset() const noexcept { return pos_; }      // next unread byte
    std::size_t body_offset() const noexcept { return pos_; }  // after Step::end
    bool saw_bare_lf() const noexcept { return bare_lf_; }

private:
    std::string_view s_;
    std::size_t pos_;
    std::size_t max_line_;
    bool bare_lf_ = false;
};

// Finds the end of the physical line starting at `pos` (RFC 3261 §7: CRLF;
// bare LF tolerated and reported). Returns 1 with eol (index of CR/LF) and next
// (index after the terminator), 0 if the data ends first, -1 on a CR that is
// not followed by LF.
int find_line_end(std::string_view s, std::size_t pos, std::size_t& eol, std::size_t& next, bool& bare_lf) noexcept;

// Parses one via-parm (RFC 3261 §20.42 / §25.1: sent-protocol LWS sent-by
// *( SEMI via-params ), LWS allowed around '/' ':' ';' '='). Returns v.valid.
bool parse_via(std::string_view element, Via& v) noexcept;

HeaderId header_id(std::string_view name) noexcept;
std::string_view header_name(HeaderId id) noexcept;  // canonical long form; "" for other
Method method_from_token(std::string_view token) noexcept;
// The known method equal to `token` ignoring ASCII case, else unknown.
Method method_from_token_ignore_case(std::string_view token) noexcept;
std::string_view method_name(Method m) noexcept;     // "" for unknown
const char* status_name(Status s) noexcept;

}  // namespace vg::sip
