// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/sip_uri.h"

#include "filters/sip/sip_scan.h"
#include "filters/util/text.h"

namespace vg::sip {

using text::iequals;

namespace {

// Length of a valid %HH escape at s[i], or 0.
std::size_t escape_len(std::string_view s, std::size_t i) noexcept {
    if (i < s.size() && s[i] == '%' && s.size() - i >= 3 && scan::is(s[i + 1], scan::hex) &&
        scan::is(s[i + 2], scan::hex))
        return 3;
    return 0;
}

std::size_t skip_lws(std::string_view s, std::size_t i) noexcept { return scan::skip(s, i, scan::lws); }

// Length of the dotted quad at s[0] (IPv4address = 1*3DIGIT "." 1*3DIGIT "."
// 1*3DIGIT "." 1*3DIGIT, each part at most 255) when the host ends right
// after it; 0 otherwise (scan_host then takes the general path).
std::size_t dotted_quad_length(std::string_view s) noexcept {
    const std::size_t n = s.size();
    std::size_t i = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (i >= n || s[i] != '.') return 0;
            ++i;
        }
        if (i >= n || !text::is_digit(s[i])) return 0;
        unsigned v = static_cast<unsigned>(s[i++] - '0');
        if (i < n && text::is_digit(s[i])) {
            v = v * 10 + static_cast<unsigned>(s[i++] - '0');
            if (i < n && text::is_digit(s[i])) {
                v = v * 10 + static_cast<unsigned>(s[i++] - '0');
                if (v > 255) return 0;
            }
        }
    }
    if (i < n && scan::is(s[i], scan::host_name)) return 0;  // the host goes on
    return i;
}

bool all_uri_chars(std::string_view s) noexcept {
    return scan::skip_until(s, 0, scan::uri_forbidden) == s.size();
}

}  // namespace

// ---------------------------------------------------------------------------

bool lws_equals(std::string_view a, std::string_view b, bool ignore_case) noexcept {
    std::size_t i = skip_lws(a, 0), j = skip_lws(b, 0);
    while (true) {
        const bool a_end = i >= a.size(), b_end = j >= b.size();
        if (a_end || b_end) return a_end && b_end;
        const bool a_ws = is_lws_char(a[i]), b_ws = is_lws_char(b[j]);
        if (a_ws || b_ws) {
            if (!(a_ws && b_ws)) return false;
            i = skip_lws(a, i);
            j = skip_lws(b, j);
            // trailing LWS on one side only
            if ((i >= a.size()) != (j >= b.size())) return false;
            continue;
        }
        const char x = ignore_case ? text::ascii_lower(a[i]) : a[i];
        const char y = ignore_case ? text::ascii_lower(b[j]) : b[j];
        if (x != y) return false;
        ++i;
        ++j;
    }
}

std::size_t copy_unfolded(std::string_view value, char* out, std::size_t cap) noexcept {
    std::size_t n = 0;
    bool overflow = false;
    auto put = [&](char c) {
        if (n < cap) out[n++] = c;
        else overflow = true;
    };
    std::size_t i = skip_lws(value, 0);
    while (i < value.size()) {
        if (is_lws_char(value[i])) {
            i = skip_lws(value, i);
            if (i < value.size()) put(' ');
            continue;
        }
        put(value[i++]);
    }
    return overflow ? cap + 1 : n;
}

// ---------------------------------------------------------------------------

// RFC 3261 §7.3.1: elements are separated by commas outside quoted strings
// and <...>. Jumps from one of ',' '"' '<' to the next.
bool CommaIterator::next(std::string_view& element) noexcept {
    if (done_) return false;
    const std::size_t start = pos_;
    std::size_t i = pos_;
    while (true) {
        i = scan::find_any_of3(s_, i, ',', '"', '<');
        if (i >= s_.size()) break;
        const char c = s_[i];
        if (c == ',') break;
        if (c == '"') {
            const std::size_t e = scan::quoted_end(s_, i);
            if (e == 0) {
                error_ = true;
                i = s_.size();
                break;
            }
            i = e;
            continue;
        }
        // '<': the element goes on to the matching '>'.
        i = scan::find_char(s_, i + 1, '>');
        if (i == s_.size()) {
            error_ = true;
            break;
        }
        ++i;
    }
    element = scan::trim_lws(scan::slice(s_, start, i - start));
    if (i >= s_.size()) done_ = true;
    else pos_ = i + 1;  // past the comma
    return true;
}

// ---------------------------------------------------------------------------

// RFC 3261 §25.1 generic-param list; the step is scan::next_param, which the
// parsers in this file and sip_parser.cpp inline through scan::Params.
bool ParamIterator::next(Param& p) noexcept {
    return scan::next_param(s_, pos_, leading_semicolon_, first_, error_, p);
}

bool find_param(std::string_view params, std::string_view name, Param& out) noexcept {
    const std::size_t b = skip_lws(params, 0);
    const bool semi = b < params.size() && params[b] == ';';
    scan::Params it(params, semi);
    Param p;
    while (it.next(p)) {
        if (iequals(p.name, name)) {
            out = p;
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------

std::size_t scan_host(std::string_view s, HostType& type) noexcept {
    type = HostType::none;
    if (s.empty()) return 0;
    if (s[0] == '[') {
        std::size_t i = 1;
        std::size_t colons = 0;
        while (i < s.size() && scan::is(s[i], scan::ipv6_ref)) {
            if (s[i] == ':') ++colons;
            ++i;
        }
        // "[" 2..45ish chars "]": at least two colons, bounded length.
        if (i >= s.size() || s[i] != ']' || colons < 2 || i - 1 > 64) return 0;
        type = HostType::ipv6;
        return i + 1;
    }
    if (const std::size_t q = dotted_quad_length(s)) {
        type = HostType::ipv4;
        return q;
    }
    // Not a dotted quad (when the quad fast path fails, the host is no
    // IPv4address either: it has a part that is not 1-3 digits, or goes on
    // after the fourth). hostname = *( domainlabel "." ) toplabel [ "." ]:
    // the host is the run of alphanum / "-" / "." at s[0]; its labels are not
    // empty and start and end with an alphanumeric, and the top label starts
    // with a letter (so "1.2.3" and "192.0.2.300" are not host names).
    std::size_t i = 0;
    std::size_t top = 0;  // start of the last label
    char prev = '.';      // the start of the host behaves like a '.'
    bool ok = true;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (scan::is(c, scan::alnum)) {
            if (prev == '.') top = i;
        } else if (c == '-') {
            if (prev == '.') ok = false;  // label starting with '-'
        } else if (c == '.') {
            if (prev == '.' || prev == '-') ok = false;  // empty label, or one ending with '-'
        } else {
            break;
        }
        prev = c;
    }
    if (i == 0 || !ok || prev == '-' || !text::is_alpha(s[top])) return 0;
    type = HostType::name;
    return i;
}

bool parse_port(std::string_view s, std::uint16_t& port) noexcept {
    if (s.empty() || s.size() > 5) return false;
    std::uint32_t v = 0;  // five digits cannot overflow it
    for (const char c : s) {
        if (!text::is_digit(c)) return false;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

// ---------------------------------------------------------------------------

namespace {

// userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
// Returns the length of "userinfo@" at the start of `s`, or 0 if there is no
// userinfo (the text is then hostport...). Sets user/password.
std::size_t scan_userinfo(std::string_view s, std::string_view& user, std::string_view& password,
                          bool& bad) noexcept {
    bad = false;
    // No '@' at all: no userinfo. Otherwise everything before the first '@'
    // must be user characters, escapes, and at most one ':' that starts the
    // password. An escape cannot run over the '@' (it is not a hex digit).
    const std::size_t at = scan::find_char(s, 0, '@');
    if (at == s.size()) return 0;
    const std::string_view u = scan::slice(s, 0, at);
    std::size_t colon = std::string_view::npos;
    scan::Classes allowed = scan::user;
    std::size_t i = 0;
    while (true) {
        i = scan::skip(u, i, allowed);
        if (i >= u.size()) break;
        if (escape_len(u, i) != 0) {
            i += 3;
            continue;
        }
        if (u[i] != ':' || colon != std::string_view::npos) return 0;
        colon = i++;
        allowed = scan::password;
    }
    const std::size_t user_end = colon == std::string_view::npos ? at : colon;
    if (user_end == 0) {
        bad = true;  // "sip:@host" or "sip::pw@host"
        return 0;
    }
    user = scan::slice(s, 0, user_end);
    password = colon == std::string_view::npos ? std::string_view{} : scan::slice(s, colon + 1, at - colon - 1);
    return at + 1;
}

// The part of a sip/sips URI after "sip:" (RFC 3261 §19.1.1). `checked` is
// set to the length of the prefix whose characters the grammar has already
// checked (userinfo, hostport); what follows (parameters, headers) may
// still hold bytes that are forbidden in a URI.
bool parse_sip_rest(std::string_view rest, Uri& out, std::size_t& checked) noexcept {
    checked = 0;
    bool bad = false;
    std::size_t i = scan_userinfo(rest, out.user, out.password, bad);
    if (bad) return false;
    out.has_user = i != 0;
    const std::size_t hl = scan_host(scan::tail(rest, i), out.host_type);
    if (hl == 0) return false;
    out.host = scan::slice(rest, i, hl);
    i += hl;
    if (i < rest.size() && rest[i] == ':') {
        std::size_t pb = ++i;
        i = scan::skip(rest, i, scan::digit);
        if (!parse_port(scan::slice(rest, pb, i - pb), out.port)) return false;
        out.has_port = true;
    }
    checked = i;
    if (i < rest.size() && rest[i] == ';') {
        const std::size_t q = scan::find_char(rest, i, '?');
        out.params = scan::slice(rest, i + 1, q - i - 1);
        // uri-parameters must be well formed (RFC 3261 §19.1.1).
        scan::Params it(scan::slice(rest, i, q - i));
        Param p;
        while (it.next(p)) {
        }
        if (it.error()) return false;
        i = q;
    }
    if (i < rest.size() && rest[i] == '?') {
        out.headers = scan::tail(rest, i + 1);
        i = rest.size();
    }
    return i == rest.size();
}

}  // namespace

bool parse_uri(std::string_view s, Uri& out) noexcept {
    scan::reset_to_default(out);
    out.raw = s;
    if (s.empty() || !text::is_alpha(s[0])) return false;
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
    const std::size_t i = scan::skip(s, 1, scan::scheme);
    if (i >= s.size() || s[i] != ':') return false;
    const std::string_view scheme_text = scan::slice(s, 0, i);
    const std::string_view rest = scan::tail(s, i + 1);
    if (scan::iequals_lower(scheme_text, "sip") || scan::iequals_lower(scheme_text, "sips")) {
        out.scheme_text = scheme_text;
        out.scheme = scheme_text.size() == 3 ? UriScheme::sip : UriScheme::sips;
        // A URI never holds SP, CTLs, '<', '>' or '"'. The grammar checks of
        // parse_sip_rest exclude them from userinfo and hostport; the rest is
        // scanned here, and the whole URI when it did not parse (a URI with
        // such a byte is rejected before any field is filled in).
        std::size_t checked = 0;
        const bool ok = parse_sip_rest(rest, out, checked);
        if (!all_uri_chars(ok ? scan::tail(rest, checked) : s)) {
            scan::reset_to_default(out);
            out.raw = s;
            return false;
        }
        out.valid = ok;
        return out.valid;
    }
    if (!all_uri_chars(s)) return false;
    out.scheme_text = scheme_text;
    if (scan::iequals_lower(scheme_text, "tel")) {
        out.scheme = UriScheme::tel;
        const std::size_t semi = rest.find(';');
        out.user = rest.substr(0, semi);
        out.has_user = !out.user.empty();
        if (semi != std::string_view::npos) {
            out.params = rest.substr(semi + 1);
            scan::Params it(rest.substr(semi));
            Param p;
            while (it.next(p)) {
            }
            if (it.error()) return false;
        }
        if (scan::skip(out.user, 0, scan::tel_user) != out.user.size()) return false;
        out.valid = out.has_user;
        return out.valid;
    }
    out.scheme = UriScheme::other;
    out.opaque = rest;
    out.valid = !rest.empty();
    return out.valid;
}

// ---------------------------------------------------------------------------

bool parse_name_addr(std::string_view value, NameAddr& out) noexcept {
    scan::reset_to_default(out);
    const std::string_view s = scan::trim_lws(value);
    out.raw = s;
    if (s.empty()) return false;
    std::size_t i = 0;
    std::size_t laquot = std::string_view::npos;
    if (s[0] == '"') {
        const std::size_t e = scan::quoted_end(s, 0);
        if (e == 0) return false;  // unterminated display name (RFC 4475 §3.1.2.6)
        out.display_name = scan::slice(s, 1, e - 2);
        out.display_quoted = true;
        i = skip_lws(s, e);
        if (i >= s.size() || s[i] != '<') return false;
        laquot = i;
    } else if (s[0] == '<') {
        laquot = 0;
    } else {
        // display-name = *(token LWS): tokens and LWS up to '<' (RFC 4475
        // §3.1.1.6 allows no LWS before '<').
        const std::size_t k = scan::skip(s, 0, scan::token | scan::lws);
        if (k < s.size() && s[k] == '<') {
            out.display_name = scan::trim_lws(s.substr(0, k));
            laquot = k;
        }
    }

    std::size_t rest;
    if (laquot != std::string_view::npos) {
        out.angle_brackets = true;
        const std::size_t ub = laquot + 1;
        const std::size_t raquot = scan::find_char(s, ub, '>');
        if (raquot == s.size()) return false;
        const std::string_view u = scan::slice(s, ub, raquot - ub);
        // No LWS inside <...> (RFC 4475 §3.1.2.14); parse_uri rejects it.
        if (!parse_uri(u, out.uri)) return false;
        rest = raquot + 1;
    } else {
        // addr-spec: the URI ends at ';' or LWS; it may not contain ',' or '?'
        // (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
        std::size_t k = 0;
        while (k < s.size() && s[k] != ';' && !scan::is(s[k], scan::lws)) ++k;
        const std::string_view u = s.substr(0, k);
        if (u.find_first_of(",?") != std::string_view::npos) {
            parse_uri(u, out.uri);
            return false;
        }
        if (!parse_uri(u, out.uri)) return false;
        rest = k;
    }
    rest = skip_lws(s, rest);
    out.params = scan::tail(s, rest);
    scan::Params it(out.params);
    Param p;
    while (it.next(p)) {
        if (!out.has_tag && scan::iequals_lower(p.name, "tag")) {
            out.tag = p.value;
            out.has_tag = true;
        }
    }
    if (it.error()) return false;
    out.valid = true;
    return true;
}

// ---------------------------------------------------------------------------

UnescapeResult uri_unescape(std::string_view in, char* out, std::size_t cap) noexcept {
    UnescapeResult r;
    auto hexval = [](char c) -> unsigned {
        if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
        return static_cast<unsigned>(c - 'A' + 10);
    };
    std::size_t i = 0;
    while (i < in.size()) {
        char c = in[i];
        if (c == '%') {
            if (escape_len(in, i) == 0) return r;
            c = static_cast<char>(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            if (c == '\0') r.had_nul = true;
            i += 3;
        } else {
            ++i;
        }
        if (r.length >= cap) return UnescapeResult{false, r.length, r.had_nul};
        out[r.length++] = c;
    }
    r.ok = true;
    return r;
}

}  // namespace vg::sip
