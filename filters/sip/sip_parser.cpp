// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/sip_parser.h"

#include "filters/sip/sip_scan.h"
#include "filters/util/text.h"

#include <cstring>

namespace vg::sip {

using text::iequals;
using text::is_digit;

namespace {

struct HeaderNameEntry {
    std::string_view name;
    HeaderId id;
};

// Long form first: header_name() returns the first entry of an id.
// Compact forms: RFC 3261 §7.3.3 (i f t v m l c k s e), RFC 6665 (o u),
// RFC 3515 (r), RFC 3892 (b), RFC 4028 (x), RFC 3841 (a j d), RFC 4474 (y n).
constexpr HeaderNameEntry kHeaderNames[] = {
    {"Via", HeaderId::via},
    {"v", HeaderId::via},
    {"From", HeaderId::from},
    {"f", HeaderId::from},
    {"To", HeaderId::to},
    {"t", HeaderId::to},
    {"Call-ID", HeaderId::call_id},
    {"i", HeaderId::call_id},
    {"CSeq", HeaderId::cseq},
    {"Contact", HeaderId::contact},
    {"m", HeaderId::contact},
    {"Max-Forwards", HeaderId::max_forwards},
    {"Content-Length", HeaderId::content_length},
    {"l", HeaderId::content_length},
    {"Content-Type", HeaderId::content_type},
    {"c", HeaderId::content_type},
    {"Content-Encoding", HeaderId::content_encoding},
    {"e", HeaderId::content_encoding},
    {"Expires", HeaderId::expires},
    {"User-Agent", HeaderId::user_agent},
    {"Server", HeaderId::server},
    {"Route", HeaderId::route},
    {"Record-Route", HeaderId::record_route},
    {"Supported", HeaderId::supported},
    {"k", HeaderId::supported},
    {"Require", HeaderId::require},
    {"Proxy-Require", HeaderId::proxy_require},
    {"Subject", HeaderId::subject},
    {"s", HeaderId::subject},
    {"Event", HeaderId::event},
    {"o", HeaderId::event},
    {"Allow-Events", HeaderId::allow_events},
    {"u", HeaderId::allow_events},
    {"Allow", HeaderId::allow},
    {"Accept", HeaderId::accept},
    {"Refer-To", HeaderId::refer_to},
    {"r", HeaderId::refer_to},
    {"Referred-By", HeaderId::referred_by},
    {"b", HeaderId::referred_by},
    {"Session-Expires", HeaderId::session_expires},
    {"x", HeaderId::session_expires},
    {"Accept-Contact", HeaderId::accept_contact},
    {"a", HeaderId::accept_contact},
    {"Reject-Contact", HeaderId::reject_contact},
    {"j", HeaderId::reject_contact},
    {"Request-Disposition", HeaderId::request_disposition},
    {"d", HeaderId::request_disposition},
    {"Identity", HeaderId::identity},
    {"y", HeaderId::identity},
    {"Identity-Info", HeaderId::identity_info},
    {"n", HeaderId::identity_info},
    {"Authorization", HeaderId::authorization},
    {"Proxy-Authorization", HeaderId::proxy_authorization},
    {"WWW-Authenticate", HeaderId::www_authenticate},
    {"Proxy-Authenticate", HeaderId::proxy_authenticate},
    {"P-Asserted-Identity", HeaderId::p_asserted_identity},
    {"Diversion", HeaderId::diversion},
    {"Date", HeaderId::date},
};

// header_id() hashes a name by its lowercased first letter and its length
// into kHeaderBuckets buckets of up to kHeaderSlots entries each, then
// compares the few candidates. Built at compile time from kHeaderNames.
constexpr std::size_t kHeaderBuckets = 64;
constexpr std::size_t kHeaderSlots = 3;
constexpr std::size_t kHeaderNameCount = sizeof kHeaderNames / sizeof kHeaderNames[0];
static_assert(kHeaderNameCount < 255, "slots hold index + 1 in a byte");

// Every known name starts with a letter, and (c | 0x20) lowercases a letter:
// a name matching one in either case lands in that one's bucket.
constexpr std::size_t header_bucket(char first, std::size_t length) noexcept {
    return (static_cast<unsigned char>(first | 0x20) + 9 * length) % kHeaderBuckets;
}

struct HeaderIndex {
    std::uint8_t slots[kHeaderBuckets][kHeaderSlots] = {};  // kHeaderNames index + 1; 0 = empty
    bool fits = true;                                       // no bucket overflowed
};

constexpr HeaderIndex make_header_index() noexcept {
    HeaderIndex x;
    for (std::size_t e = 0; e < kHeaderNameCount; ++e) {
        const std::string_view name = kHeaderNames[e].name;
        std::uint8_t* slot = x.slots[header_bucket(name[0], name.size())];
        std::size_t k = 0;
        while (k < kHeaderSlots && slot[k] != 0) ++k;
        if (k == kHeaderSlots) {
            x.fits = false;
            continue;
        }
        slot[k] = static_cast<std::uint8_t>(e + 1);
    }
    return x;
}

constexpr HeaderIndex kHeaderIndex = make_header_index();
static_assert(kHeaderIndex.fits, "a header_id() bucket overflowed: change header_bucket() or kHeaderSlots");

// Each known name lowercased, and a mask with 0x20 on its letters: a byte b
// matches position i, ignoring ASCII case, exactly when
// (b | mask[i]) == lower[i] (a letter in either case, or the same
// non-letter). That lets a candidate be compared 8 bytes at a time.
constexpr std::size_t kHeaderKeyLength = 20;  // longest name (19) + 1
struct HeaderKey {
    char lower[kHeaderKeyLength] = {};
    char mask[kHeaderKeyLength] = {};
    std::uint8_t length = 0;
    HeaderId id = HeaderId::other;
};
struct HeaderKeys {
    HeaderKey keys[kHeaderNameCount];
    bool fits = true;  // every name shorter than kHeaderKeyLength
};

constexpr HeaderKeys make_header_keys() noexcept {
    HeaderKeys x;
    for (std::size_t e = 0; e < kHeaderNameCount; ++e) {
        const std::string_view name = kHeaderNames[e].name;
        if (name.size() >= kHeaderKeyLength) {
            x.fits = false;
            continue;
        }
        for (std::size_t i = 0; i < name.size(); ++i) {
            x.keys[e].lower[i] = text::ascii_lower(name[i]);
            x.keys[e].mask[i] = text::is_alpha(name[i]) ? '\x20' : '\0';
        }
        x.keys[e].length = static_cast<std::uint8_t>(name.size());
        x.keys[e].id = kHeaderNames[e].id;
    }
    return x;
}

constexpr HeaderKeys kHeaderKeys = make_header_keys();
static_assert(kHeaderKeys.fits, "a header name is longer than kHeaderKeyLength - 1");

// One word of the case-insensitive comparison above, at name offset i.
template <typename Word>
bool key_word_matches(const char* name, const HeaderKey& k, std::size_t i) noexcept {
    Word w, m, l;
    std::memcpy(&w, name + i, sizeof w);
    std::memcpy(&m, k.mask + i, sizeof m);
    std::memcpy(&l, k.lower + i, sizeof l);
    return (w | m) == l;
}

// True if `name` (as long as the key's header name) is that name, ignoring
// ASCII case; the same answer as text::iequals. Tails are compared as an
// overlapping word.
bool key_matches(std::string_view name, const HeaderKey& k) noexcept {
    const char* const p = name.data();
    const std::size_t n = name.size();
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 <= n; i += 8)
            if (!key_word_matches<std::uint64_t>(p, k, i)) return false;
        return n % 8 == 0 || key_word_matches<std::uint64_t>(p, k, n - 8);
    }
    if (n >= 4) return key_word_matches<std::uint32_t>(p, k, 0) && key_word_matches<std::uint32_t>(p, k, n - 4);
    for (std::size_t i = 0; i < n; ++i)
        if (static_cast<char>(p[i] | k.mask[i]) != k.lower[i]) return false;
    return true;
}

// header_id(), inlined into the header loop.
VG_SIP_ALWAYS_INLINE HeaderId lookup_header(std::string_view name) noexcept {
    if (name.empty()) return HeaderId::other;
    for (const std::uint8_t e : kHeaderIndex.slots[header_bucket(name[0], name.size())]) {
        if (e == 0) break;
        const HeaderKey& k = kHeaderKeys.keys[e - 1];
        if (k.length == name.size() && key_matches(name, k)) return k.id;
    }
    return HeaderId::other;
}

struct MethodEntry {
    std::string_view name;
    Method method;
};
constexpr MethodEntry kMethods[] = {
    {"INVITE", Method::invite},       {"ACK", Method::ack},           {"BYE", Method::bye},
    {"CANCEL", Method::cancel},       {"OPTIONS", Method::options},   {"REGISTER", Method::register_},
    {"PRACK", Method::prack},         {"SUBSCRIBE", Method::subscribe}, {"NOTIFY", Method::notify},
    {"PUBLISH", Method::publish},     {"INFO", Method::info},         {"REFER", Method::refer},
    {"MESSAGE", Method::message},     {"UPDATE", Method::update},
};

constexpr const char* kAnomalyNames[anomaly::count] = {
    "bare_lf",
    "leading_crlf",
    "trailing_data",
    "missing_required_header",
    "duplicate_header",
    "cseq_method_mismatch",
    "cseq_invalid",
    "cseq_out_of_range",
    "max_forwards_invalid",
    "expires_invalid",
    "via_invalid",
    "name_addr_invalid",
    "call_id_invalid",
    "request_uri_has_headers",
    "contact_star_mixed",
    "no_content_length",
    "method_case",
};

std::size_t skip_lws(std::string_view s, std::size_t i) noexcept { return scan::skip(s, i, scan::lws); }

std::size_t scan_token(std::string_view s, std::size_t i) noexcept { return scan::skip_long(s, i, scan::token); }

bool all_token(std::string_view s) noexcept { return !s.empty() && scan_token(s, 0) == s.size(); }

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (RFC 3261 §7.1, §25.1).
// Returns 2 for SIP/2.0, 1 for another well-formed version, 0 otherwise.
int classify_version(std::string_view v) noexcept {
    if (!scan::iequals_lower(v.substr(0, 4), "sip/")) return 0;
    std::size_t i = 4;
    const std::size_t a = i;
    while (i < v.size() && is_digit(v[i])) ++i;
    if (i == a || i >= v.size() || v[i] != '.') return 0;
    const std::size_t b = ++i;
    while (i < v.size() && is_digit(v[i])) ++i;
    if (i == b || i != v.size()) return 0;
    return v.substr(4) == "2.0" ? 2 : 1;
}

// Status-Line / Request-Line (RFC 3261 §7.1, §7.2): single SP separators,
// nothing after SIP-Version. Returns a reason or nullptr.
const char* parse_start_line(std::string_view line, SipMessage& out) noexcept {
    out.start_line = line;
    if (scan::iequals_lower(line.substr(0, 4), "sip/")) {
        const std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos) return "bad_status_line";
        const std::string_view version = line.substr(0, sp);
        const int vc = classify_version(version);
        if (vc == 0) return "bad_status_line";
        if (vc == 1) return "bad_sip_version";
        out.version = version;
        const std::string_view rest = line.substr(sp + 1);
        std::size_t ce = rest.find(' ');
        const std::string_view code = rest.substr(0, ce);
        // Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21).
        if (code.size() != 3 || !is_digit(code[0]) || !is_digit(code[1]) || !is_digit(code[2]) ||
            code[0] < '1' || code[0] > '6')
            return "bad_status_line";
        out.status_code = static_cast<std::uint16_t>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
        out.reason = ce == std::string_view::npos ? std::string_view{} : rest.substr(ce + 1);
        out.kind = MessageKind::response;
        return nullptr;
    }
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return "bad_request_line";
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return "bad_request_line";
    const std::string_view method = line.substr(0, sp1);
    const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!all_token(method) || uri.empty()) return "bad_request_line";
    const int vc = classify_version(version);
    if (vc == 0) return "bad_request_line";
    if (vc == 1) return "bad_sip_version";
    out.method_text = method;
    out.method = method_from_token(method);
    out.request_uri_text = uri;
    out.version = version;
    if (!parse_uri(uri, out.request_uri)) return "bad_request_uri";
    out.kind = MessageKind::request;
    if (out.request_uri.is_sip() && !out.request_uri.headers.empty())
        out.anomalies |= anomaly::request_uri_has_headers;
    return nullptr;
}

// Unsigned decimal header value. Returns 1 if it is digits within `max`,
// 0 if it is digits above `max`, -1 if it is not digits at all.
int parse_bounded(std::string_view s, std::uint64_t max, std::uint32_t& out) noexcept {
    if (s.empty() || scan::skip(s, 0, scan::digit) != s.size()) return -1;
    std::uint64_t v = 0;
    if (s.size() <= 19) {
        // 19 digits cannot overflow 64 bits: no check per digit.
        for (const char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v > max) return 0;
    } else if (!text::parse_uint(s, max, v)) {
        return 0;  // long runs of leading zeros still count by value
    }
    out = static_cast<std::uint32_t>(v);
    return 1;
}

void parse_uint_field(std::string_view value, std::uint64_t max, UintField& f, std::uint32_t bad_bit,
                      std::uint32_t& anomalies) noexcept {
    f.present = true;
    f.text = value;
    f.valid = parse_bounded(value, max, f.value) == 1;
    if (!f.valid) {
        f.value = 0;
        anomalies |= bad_bit;
    }
}

// CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number is below 2^31
// (§8.1.1.5).
void parse_cseq(std::string_view value, CSeq& c, std::uint32_t& anomalies) noexcept {
    c.present = true;
    std::size_t i = 0;
    while (i < value.size() && is_digit(value[i])) ++i;
    const std::string_view num = value.substr(0, i);
    const std::size_t mb = skip_lws(value, i);
    const std::size_t me = scan_token(value, mb);
    if (num.empty() || mb == i || me == mb || me != value.size()) {
        anomalies |= anomaly::cseq_invalid;
        return;
    }
    c.valid = true;
    c.method_text = value.substr(mb, me - mb);
    c.method = method_from_token(c.method_text);
    c.number_valid = parse_bounded(num, 0x7fffffffu, c.number) == 1;
    if (!c.number_valid) {
        c.number = 0;
        anomalies |= anomaly::cseq_out_of_range;
    }
}

// transport = "UDP" / "TCP" / "TLS" / "SCTP" / other-transport (RFC 3261
// §20.42), "WS" / "WSS" (RFC 7118 §5.1); case-insensitive.
ViaTransport via_transport(std::string_view t) noexcept {
    switch (t.size()) {
    case 2:
        if (scan::iequals_lower(t, "ws")) return ViaTransport::ws;
        break;
    case 3:
        if (scan::iequals_lower(t, "udp")) return ViaTransport::udp;
        if (scan::iequals_lower(t, "tcp")) return ViaTransport::tcp;
        if (scan::iequals_lower(t, "tls")) return ViaTransport::tls;
        if (scan::iequals_lower(t, "wss")) return ViaTransport::wss;
        break;
    case 4:
        if (scan::iequals_lower(t, "sctp")) return ViaTransport::sctp;
        break;
    default:
        break;
    }
    return ViaTransport::other;
}

void parse_contact_params(Contact& c, std::uint32_t& anomalies) noexcept {
    scan::Params it(c.addr.params);
    Param p;
    while (it.next(p)) {
        if (!c.has_expires && scan::iequals_lower(p.name, "expires")) {
            c.has_expires = true;
            c.expires_valid = parse_bounded(p.value, 0xffffffffu, c.expires) == 1;
            if (!c.expires_valid) anomalies |= anomaly::expires_invalid;
        } else if (c.q.empty() && scan::iequals_lower(p.name, "q")) {
            c.q = p.value;
        }
    }
}

struct HeaderState {
    bool via_stopped = false;
    bool saw_via = false;  // a Via header field, parsed or not
};

// Interprets one header field. Returns a malformed reason or nullptr.
const char* process_header(const Header& h, SipMessage& m, HeaderState& st) noexcept {
    std::uint32_t& an = m.anomalies;
    switch (h.id) {
    case HeaderId::via: {
        st.saw_via = true;
        if (st.via_stopped) break;
        CommaIterator ci(h.value);
        std::string_view e;
        while (ci.next(e)) {
            if (m.via_count >= kMaxVias) return "too_many_vias";
            if (!parse_via(e, m.vias[m.via_count])) {
                an |= anomaly::via_invalid;
                st.via_stopped = true;
                break;
            }
            ++m.via_count;
        }
        if (ci.error()) {
            an |= anomaly::via_invalid;
            st.via_stopped = true;
        }
        break;
    }
    case HeaderId::contact: {
        CommaIterator ci(h.value);
        std::string_view e;
        while (ci.next(e)) {
            if (e == "*") {
                if (m.contact_star || m.contact_count != 0) an |= anomaly::contact_star_mixed;
                m.contact_star = true;
                continue;
            }
            if (m.contact_star) an |= anomaly::contact_star_mixed;
            if (m.contact_count >= kMaxContacts) return "too_many_contacts";
            Contact& c = m.contacts[m.contact_count++];
            // parse_name_addr() resets c.addr; the other fields start out empty.
            c.has_expires = false;
            c.expires_valid = false;
            c.expires = 0;
            c.q = {};
            if (!parse_name_addr(e, c.addr)) {
                an |= anomaly::name_addr_invalid;
                continue;
            }
            parse_contact_params(c, an);
        }
        if (ci.error()) an |= anomaly::name_addr_invalid;
        break;
    }
    case HeaderId::from:
    case HeaderId::to: {
        bool& has = h.id == HeaderId::from ? m.has_from : m.has_to;
        NameAddr& na = h.id == HeaderId::from ? m.from : m.to;
        if (has) {
            an |= anomaly::duplicate_header;
            break;
        }
        has = true;
        if (!parse_name_addr(h.value, na)) an |= anomaly::name_addr_invalid;
        break;
    }
    case HeaderId::call_id: {
        if (m.has_call_id) {
            an |= anomaly::duplicate_header;
            break;
        }
        m.has_call_id = true;
        m.call_id = h.value;
        // callid = word [ "@" word ] (RFC 3261 §25.1): never empty, no LWS.
        if (h.value.empty() || scan::find_ctl(h.value, 0) != h.value.size())
            an |= anomaly::call_id_invalid;
        break;
    }
    case HeaderId::cseq:
        if (m.cseq.present) {
            an |= anomaly::duplicate_header;
            break;
        }
        parse_cseq(h.value, m.cseq, an);
        break;
    case HeaderId::max_forwards:
        if (m.max_forwards.present) {
            an |= anomaly::duplicate_header;
            break;
        }
        // RFC 3261 §20.22 / §8.1.1.6: 0..255 (RFC 4475 §3.1.2.4).
        parse_uint_field(h.value, 255, m.max_forwards, anomaly::max_forwards_invalid, an);
        break;
    case HeaderId::expires:
        if (m.expires.present) {
            an |= anomaly::duplicate_header;
            break;
        }
        // delta-seconds: up to 2^32-1 (RFC 3261 §20.19, §25.1).
        parse_uint_field(h.value, 0xffffffffu, m.expires, anomaly::expires_invalid, an);
        break;
    case HeaderId::content_length: {
        // Two lengths make the framing ambiguous (RFC 4475 §3.3.9): a firewall
        // and the endpoint could split the stream differently.
        if (m.content_length.present) return "content_length_duplicate";
        m.content_length.present = true;
        m.content_length.text = h.value;
        const int r = parse_bounded(h.value, 0xffffffffu, m.content_length.value);
        if (r < 0) return "content_length_invalid";
        if (r == 0) return "message_too_large";
        m.content_length.valid = true;
        break;
    }
    case HeaderId::content_type:
        if (!m.content_type.empty()) an |= anomaly::duplicate_header;
        else m.content_type = h.value;
        break;
    case HeaderId::user_agent:
        if (m.user_agent.empty()) m.user_agent = h.value;
        break;
    case HeaderId::server:
        if (m.server.empty()) m.server = h.value;
        break;
    default:
        break;
    }
    return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------

const char* anomaly_name(std::uint32_t bit) noexcept {
    for (std::uint32_t i = 0; i < anomaly::count; ++i)
        if (bit == (1u << i)) return kAnomalyNames[i];
    return "unknown";
}

const char* status_name(Status s) noexcept {
    switch (s) {
    case Status::ok: return "ok";
    case Status::incomplete: return "incomplete";
    case Status::malformed: return "malformed";
    }
    return "unknown";
}

HeaderId header_id(std::string_view name) noexcept { return lookup_header(name); }

std::string_view header_name(HeaderId id) noexcept {
    for (const auto& e : kHeaderNames)
        if (e.id == id) return e.name;
    return {};
}

Method method_from_token(std::string_view token) noexcept {
    for (const auto& e : kMethods)
        if (e.name == token) return e.method;  // methods are case-sensitive (RFC 3261 §7.1)
    return Method::unknown;
}

namespace {
bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
        const char y = b[i] >= 'a' && b[i] <= 'z' ? static_cast<char>(b[i] - 32) : b[i];
        if (x != y) return false;
    }
    return true;
}
}  // namespace

Method method_from_token_ignore_case(std::string_view token) noexcept {
    for (const auto& e : kMethods)
        if (e.name.size() == token.size() && ascii_iequals(token, e.name)) return e.method;
    return Method::unknown;
}

std::string_view method_name(Method m) noexcept {
    for (const auto& e : kMethods)
        if (e.method == m) return e.name;
    return {};
}

void SipMessage::reset() noexcept {
    kind = MessageKind::none;
    start_line = {};
    method = Method::unknown;
    method_text = {};
    request_uri_text = {};
    scan::reset_to_default(request_uri);
    version = {};
    status_code = 0;
    reason = {};
    header_count = 0;
    via_count = 0;
    contact_count = 0;
    contact_star = false;
    scan::reset_to_default(from);
    has_from = false;
    scan::reset_to_default(to);
    has_to = false;
    call_id = {};
    has_call_id = false;
    cseq = CSeq{};
    max_forwards = UintField{};
    expires = UintField{};
    content_length = UintField{};
    content_type = {};
    user_agent = {};
    server = {};
    body = {};
    anomalies = 0;
}

const Header* SipMessage::find(HeaderId id) const noexcept {
    for (std::size_t i = 0; i < header_count; ++i)
        if (headers[i].id == id) return &headers[i];
    return nullptr;
}

const Header* SipMessage::find(std::string_view name) const noexcept {
    const HeaderId id = header_id(name);
    if (id != HeaderId::other) return find(id);
    for (std::size_t i = 0; i < header_count; ++i)
        if (iequals(headers[i].name, name)) return &headers[i];
    return nullptr;
}

std::size_t SipMessage::count(HeaderId id) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < header_count; ++i)
        if (headers[i].id == id) ++n;
    return n;
}

// ---------------------------------------------------------------------------

namespace {

// find_line_end(), inlined into the header loop.
inline int line_end(std::string_view s, std::size_t pos, std::size_t& eol, std::size_t& next,
                    bool& bare_lf) noexcept {
    if (pos >= s.size()) return 0;
    // The line ends at the first CR or LF.
    const std::size_t i = scan::find_either(s, pos, '\r', '\n');
    if (i == s.size()) return 0;
    if (s[i] == '\n') {
        eol = i;
        next = i + 1;
        bare_lf = true;
        return 1;
    }
    if (s.size() - i < 2) return 0;  // CR at the end: its LF may still come
    if (s[i + 1] != '\n') return -1;
    eol = i;
    next = i + 2;
    return 1;
}

using Step = HeaderFieldIterator::Step;

// One header field at s[pos] (HeaderFieldIterator::next(), inlined into the
// header loop of parse_message), with its HeaderId. Advances `pos` past the
// field or the empty line; leaves it alone otherwise.
VG_SIP_ALWAYS_INLINE Step next_field(std::string_view s, std::size_t& pos, std::size_t max_line, bool& bare_lf,
                                     HeaderField& f, HeaderId& id) noexcept {
    std::size_t eol = 0, nxt = 0;
    int r = line_end(s, pos, eol, nxt, bare_lf);
    if (r == 0) return s.size() - pos > max_line ? Step::line_too_long : Step::incomplete;
    if (r < 0) return Step::bad_ending;
    if (eol - pos > max_line) return Step::line_too_long;
    if (eol == pos) {
        pos = nxt;
        return Step::end;
    }
    // field-name HCOLON, HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 §7.3.1,
    // §25.1): before the first ':' there must be a token and nothing but WSP
    // after it. A continuation line with no field before it fails here too.
    // A name header_id() knows is a token (it matched one byte for byte), so
    // only other names are checked character by character.
    const std::string_view line(s.data() + pos, eol - pos);
    // (Searched for in the rest of the message: no short tail to scan byte
    // by byte.)
    const std::size_t colon = scan::find_char(s, pos, ':') - pos;
    if (colon >= line.size()) return Step::bad_line;
    std::size_t ne = colon;
    while (ne > 0 && scan::is(line[ne - 1], scan::wsp)) --ne;
    if (ne == 0) return Step::bad_line;
    const std::string_view name = scan::slice(line, 0, ne);
    id = lookup_header(name);
    if (id == HeaderId::other && scan_token(name, 0) != ne) return Step::bad_line;
    const std::size_t value_begin = pos + colon + 1;
    std::size_t value_end = eol;
    std::size_t p = nxt;
    // Folded continuation lines: CRLF followed by SP/HT (RFC 3261 §7.3.1).
    while (true) {
        if (p >= s.size()) return Step::incomplete;  // cannot tell yet whether it continues
        if (!scan::is(s[p], scan::wsp)) break;
        std::size_t eol2 = 0, nxt2 = 0;
        r = line_end(s, p, eol2, nxt2, bare_lf);
        if (r == 0) return s.size() - p > max_line ? Step::line_too_long : Step::incomplete;
        if (r < 0) return Step::bad_ending;
        if (eol2 - p > max_line) return Step::line_too_long;
        value_end = eol2;
        p = nxt2;
    }
    f.name = name;
    f.value = scan::trim_lws(std::string_view(s.data() + value_begin, value_end - value_begin));
    pos = p;
    return Step::field;
}

}  // namespace

int find_line_end(std::string_view s, std::size_t pos, std::size_t& eol, std::size_t& next, bool& bare_lf) noexcept {
    return line_end(s, pos, eol, next, bare_lf);
}

HeaderFieldIterator::Step HeaderFieldIterator::next(HeaderField& f) noexcept {
    HeaderId id = HeaderId::other;
    return next_field(s_, pos_, max_line_, bare_lf_, f, id);
}

// ---------------------------------------------------------------------------

bool parse_via(std::string_view element, Via& v) noexcept {
    scan::reset_to_default(v);
    const std::string_view s = scan::trim_lws(element);
    v.raw = s;
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport,
    // SLASH = SWS "/" SWS. The three tokens are kept in locals until all
    // three are there (an array indexed in a loop would be stored a half at
    // a time and read back whole, which stalls store forwarding).
    std::string_view protocol_name, protocol_version, transport;
    std::size_t i = 0;
    // The next token, after a SLASH unless it is the first one.
    auto part = [&](bool slash, std::string_view& out) {
        if (slash) {
            i = skip_lws(s, i);
            if (i >= s.size() || s[i] != '/') return false;
            i = skip_lws(s, i + 1);
        }
        const std::size_t e = scan_token(s, i);
        if (e == i) return false;
        out = scan::slice(s, i, e - i);
        i = e;
        return true;
    };
    if (s.size() >= 8 && std::memcmp(s.data(), "SIP/2.0/", 8) == 0) {
        // The usual start: part() would find the same two tokens.
        protocol_name = scan::slice(s, 0, 3);
        protocol_version = scan::slice(s, 4, 3);
        i = 7;
    } else if (!part(false, protocol_name) || !part(true, protocol_version)) {
        return false;
    }
    if (!part(true, transport)) return false;
    v.protocol_name = protocol_name;
    v.protocol_version = protocol_version;
    v.transport_text = transport;
    v.transport = via_transport(v.transport_text);
    // LWS sent-by
    const std::size_t hb = skip_lws(s, i);
    if (hb == i) return false;
    const std::size_t hl = scan_host(scan::tail(s, hb), v.host_type);
    if (hl == 0) return false;
    v.host = scan::slice(s, hb, hl);
    i = skip_lws(s, hb + hl);
    if (i < s.size() && s[i] == ':') {  // COLON = SWS ":" SWS
        i = skip_lws(s, i + 1);
        const std::size_t pb = i;
        i = scan::skip(s, i, scan::digit);
        if (!parse_port(scan::slice(s, pb, i - pb), v.port)) return false;
        v.has_port = true;
        i = skip_lws(s, i);
    }
    v.params = scan::tail(s, i);
    scan::Params it(v.params);
    Param p;
    while (it.next(p)) {
        if (scan::iequals_lower(p.name, "branch")) {
            if (!v.has_branch) {
                v.branch = p.value;
                v.has_branch = true;
            }
        } else if (scan::iequals_lower(p.name, "received")) {
            if (!v.has_received) {
                v.received = p.value;
                v.has_received = true;
            }
        } else if (scan::iequals_lower(p.name, "rport")) {
            v.has_rport = true;
            if (p.has_value) {
                if (!parse_port(p.value, v.rport)) return false;
                v.rport_has_value = true;
            }
        } else if (scan::iequals_lower(p.name, "maddr")) {
            v.maddr = p.value;
        }
    }
    if (it.error()) return false;
    v.valid = true;
    return true;
}

// ---------------------------------------------------------------------------

ParseResult parse_message(std::string_view data, Transport transport, const Limits& limits,
                          SipMessage& out) noexcept {
    out.reset();
    ParseResult res;
    const bool stream = transport == Transport::stream;
    const std::size_t n = data.size();
    const std::size_t max_headers = limits.max_headers < kMaxHeaders ? limits.max_headers : kMaxHeaders;

    auto fail = [&](const char* reason) {
        res.status = Status::malformed;
        res.consumed = 0;
        res.reason = reason;
        res.anomalies = out.anomalies;
        return res;
    };
    // The data ended inside the message head.
    auto need_more = [&]() {
        if (!stream) return fail("headers_unterminated");
        if (n > limits.max_message_size) return fail("message_too_large");
        res.status = Status::incomplete;
        res.consumed = 0;
        res.reason = nullptr;
        res.anomalies = out.anomalies;
        return res;
    };

    if (!stream && n > limits.max_message_size) return fail("message_too_large");

    // CRLFs before the start line are ignored (RFC 3261 §7.5); a buffer of
    // nothing but CRLFs is a keep-alive (RFC 5626 §3.5.1).
    std::size_t pos = 0;
    while (pos < n && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
    if (n == 0) {
        if (stream) return need_more();
        return fail("empty_message");
    }
    if (pos == n) {
        out.kind = MessageKind::keepalive;
        res.status = Status::ok;
        res.consumed = n;
        return res;
    }
    if (pos > 0) out.anomalies |= anomaly::leading_crlf;

    // Start line.
    std::size_t eol = 0, nxt = 0;
    bool bare_lf = false;
    const int r = find_line_end(data, pos, eol, nxt, bare_lf);
    if (r == 0) {
        if (n - pos > limits.max_line_length) return fail("line_too_long");
        return need_more();
    }
    if (r < 0) return fail("bad_line_ending");
    if (eol - pos > limits.max_line_length) return fail("line_too_long");
    if (const char* why = parse_start_line(data.substr(pos, eol - pos), out)) return fail(why);

    // Header fields: HeaderFieldIterator's loop, with its state in locals so
    // that next_field() is inlined here.
    std::size_t hpos = nxt;
    bool header_bare_lf = false;
    HeaderState st;
    HeaderField f;
    HeaderId id = HeaderId::other;
    bool done = false;
    while (!done) {
        switch (next_field(data, hpos, limits.max_line_length, header_bare_lf, f, id)) {
        case Step::field: {
            if (out.header_count >= max_headers) return fail("too_many_headers");
            // process_header() reads the local copy: reading back the views
            // just stored into `out` a half at a time would stall store
            // forwarding.
            const Header h{f.name, f.value, id};
            out.headers[out.header_count++] = h;
            if (const char* why = process_header(h, out, st)) return fail(why);
            break;
        }
        case Step::end:
            done = true;
            break;
        case Step::incomplete:
            if (header_bare_lf || bare_lf) out.anomalies |= anomaly::bare_lf;
            return need_more();
        case Step::bad_line:
            return fail("bad_header_line");
        case Step::bad_ending:
            return fail("bad_line_ending");
        case Step::line_too_long:
            return fail("line_too_long");
        }
    }
    if (header_bare_lf || bare_lf) out.anomalies |= anomaly::bare_lf;
    const std::size_t head_end = hpos;
    if (head_end > limits.max_message_size) return fail("message_too_large");

    // Message-level checks (RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Via).
    if (!out.has_to || !out.has_from || !out.has_call_id || !out.cseq.present || !st.saw_via)
        out.anomalies |= anomaly::missing_required_header;
    if (out.kind == MessageKind::request && out.cseq.valid && out.cseq.method_text != out.method_text)
        out.anomalies |= anomaly::cseq_method_mismatch;

    // Body (RFC 3261 §18.3, §20.14).
    const std::size_t avail = n - head_end;
    std::size_t end = n;
    if (out.content_length.present) {
        const std::size_t cl = out.content_length.value;
        if (cl > limits.max_message_size - head_end) return fail("message_too_large");
        if (cl > avail) {
            if (stream) {
                res.status = Status::incomplete;
                res.anomalies = out.anomalies;
                return res;
            }
            return fail("content_length_exceeds_message");
        }
        end = head_end + cl;
        if (!stream && avail > cl) out.anomalies |= anomaly::trailing_data;
    } else {
        if (stream) return fail("content_length_missing");
        out.anomalies |= anomaly::no_content_length;
    }
    out.body = data.substr(head_end, end - head_end);
    if (limits.methods_ignore_case) {
        if (out.kind == MessageKind::request && out.method == Method::unknown) {
            out.method = method_from_token_ignore_case(out.method_text);
            if (out.method != Method::unknown) out.anomalies |= anomaly::method_case;
        }
        if (out.cseq.valid && out.cseq.method == Method::unknown) {
            out.cseq.method = method_from_token_ignore_case(out.cseq.method_text);
            if (out.cseq.method != Method::unknown) out.anomalies |= anomaly::method_case;
        }
    }
    res.status = Status::ok;
    res.consumed = end;
    res.reason = nullptr;
    res.anomalies = out.anomalies;
    return res;
}

}  // namespace vg::sip
