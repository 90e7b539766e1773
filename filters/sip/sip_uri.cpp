// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/sip_uri.h"

#include "filters/util/text.h"

namespace vg::sip {

using text::iequals;
using text::is_alnum;
using text::is_alpha;
using text::is_digit;
using text::is_hex;
using text::is_token_char;

namespace {

constexpr bool is_mark(char c) noexcept {
    switch (c) {
    case '-': case '_': case '.': case '!': case '~': case '*': case '\'': case '(': case ')':
        return true;
    default:
        return false;
    }
}
constexpr bool is_unreserved(char c) noexcept { return is_alnum(c) || is_mark(c); }

// RFC 3261 §25.1 user-unreserved.
constexpr bool is_user_unreserved(char c) noexcept {
    switch (c) {
    case '&': case '=': case '+': case '$': case ',': case ';': case '?': case '/':
        return true;
    default:
        return false;
    }
}
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
constexpr bool is_password_char(char c) noexcept {
    return is_unreserved(c) || c == '&' || c == '=' || c == '+' || c == '$' || c == ',';
}

// Characters allowed in parameter values: token, host (':' '[' ']' for IPv6)
// and the uri-parameter extras "[" "]" "/" ":" "&" "+" "$".
constexpr bool is_param_value_char(char c) noexcept {
    return is_token_char(c) || c == ':' || c == '[' || c == ']' || c == '/' || c == '&' || c == '$';
}

// Bytes that can never be inside a URI (SP, CTLs, delimiters of name-addr).
constexpr bool is_uri_forbidden(char c) noexcept {
    const unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"';
}

// Length of a valid %HH escape at s[i], or 0.
std::size_t escape_len(std::string_view s, std::size_t i) noexcept {
    if (i < s.size() && s[i] == '%' && s.size() - i >= 3 && is_hex(s[i + 1]) && is_hex(s[i + 2]))
        return 3;
    return 0;
}

std::size_t skip_lws(std::string_view s, std::size_t i) noexcept {
    while (i < s.size() && is_lws_char(s[i])) ++i;
    return i;
}

// Quoted string starting at s[i] == '"' (RFC 3261 §25.1 quoted-string with
// quoted-pair). Returns the index just past the closing quote, or 0 if it is
// unterminated or a quoted-pair escapes CR/LF.
std::size_t scan_quoted(std::string_view s, std::size_t i) noexcept {
    ++i;  // opening quote
    while (i < s.size()) {
        const char c = s[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (s.size() - i < 2) return 0;
            if (s[i + 1] == '\r' || s[i + 1] == '\n') return 0;
            i += 2;
            continue;
        }
        ++i;
    }
    return 0;
}

bool all_uri_chars(std::string_view s) noexcept {
    for (char c : s)
        if (is_uri_forbidden(c)) return false;
    return true;
}

// Checks the dotted-quad shape; returns false if it is not all digits/dots.
bool is_ipv4(std::string_view s) noexcept {
    int parts = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t b = i;
        unsigned v = 0;
        while (i < s.size() && is_digit(s[i]) && i - b < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        if (i == b || v > 255) return false;
        ++parts;
        if (i == s.size()) break;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
        if (i == s.size()) return false;
    }
    return parts == 4;
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

bool CommaIterator::next(std::string_view& element) noexcept {
    if (done_) return false;
    const std::size_t start = pos_;
    std::size_t i = pos_;
    while (i < s_.size()) {
        const char c = s_[i];
        if (c == '"') {
            const std::size_t e = scan_quoted(s_, i);
            if (e == 0) {
                error_ = true;
                i = s_.size();
                break;
            }
            i = e;
            continue;
        }
        if (c == '<') {
            while (i < s_.size() && s_[i] != '>') ++i;
            if (i == s_.size()) {
                error_ = true;
                break;
            }
            ++i;
            continue;
        }
        if (c == ',') break;
        ++i;
    }
    element = text::trim_lws(s_.substr(start, i - start));
    if (i >= s_.size()) done_ = true;
    else pos_ = i + 1;  // past the comma
    return true;
}

// ---------------------------------------------------------------------------

bool ParamIterator::next(Param& p) noexcept {
    if (error_) return false;
    std::size_t i = skip_lws(s_, pos_);
    if (i >= s_.size()) {
        pos_ = i;
        return false;
    }
    if (first_ && !leading_semicolon_) {
        first_ = false;
    } else {
        first_ = false;
        if (s_[i] != ';') {
            error_ = true;
            return false;
        }
        i = skip_lws(s_, i + 1);
    }
    const std::size_t nb = i;
    while (i < s_.size() && is_token_char(s_[i])) ++i;
    if (i == nb) {
        error_ = true;
        return false;
    }
    p.name = s_.substr(nb, i - nb);
    p.value = {};
    p.has_value = false;
    std::size_t j = skip_lws(s_, i);
    if (j < s_.size() && s_[j] == '=') {
        j = skip_lws(s_, j + 1);
        const std::size_t vb = j;
        if (j < s_.size() && s_[j] == '"') {
            const std::size_t e = scan_quoted(s_, j);
            if (e == 0) {
                error_ = true;
                return false;
            }
            j = e;
        } else {
            while (j < s_.size() && (is_param_value_char(s_[j]) || escape_len(s_, j) != 0)) ++j;
        }
        if (j == vb) {
            error_ = true;
            return false;
        }
        p.value = s_.substr(vb, j - vb);
        p.has_value = true;
        i = j;
    }
    pos_ = i;
    return true;
}

bool find_param(std::string_view params, std::string_view name, Param& out) noexcept {
    const std::size_t b = skip_lws(params, 0);
    const bool semi = b < params.size() && params[b] == ';';
    ParamIterator it(params, semi);
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
        while (i < s.size() && (is_hex(s[i]) || s[i] == ':' || s[i] == '.')) {
            if (s[i] == ':') ++colons;
            ++i;
        }
        // "[" 2..45ish chars "]": at least two colons, bounded length.
        if (i >= s.size() || s[i] != ']' || colons < 2 || i - 1 > 64) return 0;
        type = HostType::ipv6;
        return i + 1;
    }
    std::size_t i = 0;
    while (i < s.size() && (is_alnum(s[i]) || s[i] == '-' || s[i] == '.')) ++i;
    if (i == 0) return 0;
    const std::string_view h = s.substr(0, i);
    if (is_ipv4(h)) {
        type = HostType::ipv4;
        return i;
    }
    // hostname = *( domainlabel "." ) toplabel [ "." ]; labels start and end
    // with an alphanumeric; the top label starts with a letter (so "1.2.3"
    // and "192.0.2.300" are not host names).
    std::size_t end = i;
    if (h.back() == '.') --end;
    std::size_t lb = 0;
    std::size_t top = 0;
    for (std::size_t k = 0; k <= end; ++k) {
        if (k == end || h[k] == '.') {
            if (k == lb) return 0;  // empty label
            if (!is_alnum(h[lb]) || !is_alnum(h[k - 1])) return 0;
            top = lb;
            lb = k + 1;
        }
    }
    if (!is_alpha(h[top])) return 0;
    type = HostType::name;
    return i;
}

bool parse_port(std::string_view s, std::uint16_t& port) noexcept {
    if (s.empty() || s.size() > 5) return false;
    return text::parse_uint_as<std::uint16_t>(s, 65535, port);
}

// ---------------------------------------------------------------------------

namespace {

// userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
// Returns the length of "userinfo@" at the start of `s`, or 0 if there is no
// userinfo (the text is then hostport...). Sets user/password.
std::size_t scan_userinfo(std::string_view s, std::string_view& user, std::string_view& password,
                          bool& bad) noexcept {
    bad = false;
    std::size_t i = 0;
    std::size_t colon = std::string_view::npos;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '@') break;
        if (const std::size_t e = escape_len(s, i)) {
            i += e;
            continue;
        }
        if (colon == std::string_view::npos) {
            if (c == ':') {
                colon = i;
                ++i;
                continue;
            }
            if (!is_unreserved(c) && !is_user_unreserved(c)) return 0;
        } else if (!is_password_char(c)) {
            return 0;
        }
        ++i;
    }
    if (i >= s.size()) return 0;  // no '@': no userinfo
    const std::size_t user_end = colon == std::string_view::npos ? i : colon;
    if (user_end == 0) {
        bad = true;  // "sip:@host" or "sip::pw@host"
        return 0;
    }
    user = s.substr(0, user_end);
    password = colon == std::string_view::npos ? std::string_view{} : s.substr(colon + 1, i - colon - 1);
    return i + 1;
}

bool parse_sip_rest(std::string_view rest, Uri& out) noexcept {
    bool bad = false;
    std::size_t i = scan_userinfo(rest, out.user, out.password, bad);
    if (bad) return false;
    out.has_user = i != 0;
    const std::size_t hl = scan_host(rest.substr(i), out.host_type);
    if (hl == 0) return false;
    out.host = rest.substr(i, hl);
    i += hl;
    if (i < rest.size() && rest[i] == ':') {
        std::size_t pb = ++i;
        while (i < rest.size() && is_digit(rest[i])) ++i;
        if (!parse_port(rest.substr(pb, i - pb), out.port)) return false;
        out.has_port = true;
    }
    if (i < rest.size() && rest[i] == ';') {
        const std::size_t q = rest.find('?', i);
        const std::size_t pe = q == std::string_view::npos ? rest.size() : q;
        out.params = rest.substr(i + 1, pe - i - 1);
        // uri-parameters must be well formed (RFC 3261 §19.1.1).
        ParamIterator it(rest.substr(i, pe - i));
        Param p;
        while (it.next(p)) {
        }
        if (it.error()) return false;
        i = pe;
    }
    if (i < rest.size() && rest[i] == '?') {
        out.headers = rest.substr(i + 1);
        i = rest.size();
    }
    return i == rest.size();
}

}  // namespace

bool parse_uri(std::string_view s, Uri& out) noexcept {
    out = Uri{};
    out.raw = s;
    if (s.empty() || !is_alpha(s[0]) || !all_uri_chars(s)) return false;
    std::size_t i = 1;
    while (i < s.size() && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
    if (i >= s.size() || s[i] != ':') return false;
    out.scheme_text = s.substr(0, i);
    const std::string_view rest = s.substr(i + 1);
    if (iequals(out.scheme_text, "sip") || iequals(out.scheme_text, "sips")) {
        out.scheme = out.scheme_text.size() == 3 ? UriScheme::sip : UriScheme::sips;
        out.valid = parse_sip_rest(rest, out);
        return out.valid;
    }
    if (iequals(out.scheme_text, "tel")) {
        out.scheme = UriScheme::tel;
        const std::size_t semi = rest.find(';');
        out.user = rest.substr(0, semi);
        out.has_user = !out.user.empty();
        if (semi != std::string_view::npos) {
            out.params = rest.substr(semi + 1);
            ParamIterator it(rest.substr(semi));
            Param p;
            while (it.next(p)) {
            }
            if (it.error()) return false;
        }
        for (char c : out.user)
            if (!(is_hex(c) || c == '+' || c == '-' || c == '.' || c == '(' || c == ')' || c == '*' || c == '#' ||
                  c == '%'))
                return false;
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
    out = NameAddr{};
    const std::string_view s = text::trim_lws(value);
    out.raw = s;
    if (s.empty()) return false;
    std::size_t i = 0;
    std::size_t laquot = std::string_view::npos;
    if (s[0] == '"') {
        const std::size_t e = scan_quoted(s, 0);
        if (e == 0) return false;  // unterminated display name (RFC 4475 §3.1.2.6)
        out.display_name = s.substr(1, e - 2);
        out.display_quoted = true;
        i = skip_lws(s, e);
        if (i >= s.size() || s[i] != '<') return false;
        laquot = i;
    } else if (s[0] == '<') {
        laquot = 0;
    } else {
        // display-name = *(token LWS): tokens and LWS up to '<' (RFC 4475
        // §3.1.1.6 allows no LWS before '<').
        std::size_t k = 0;
        while (k < s.size() && (is_token_char(s[k]) || is_lws_char(s[k]))) ++k;
        if (k < s.size() && s[k] == '<') {
            out.display_name = text::trim_lws(s.substr(0, k));
            laquot = k;
        }
    }

    std::size_t rest;
    if (laquot != std::string_view::npos) {
        out.angle_brackets = true;
        const std::size_t ub = laquot + 1;
        const std::size_t raquot = s.find('>', ub);
        if (raquot == std::string_view::npos) return false;
        const std::string_view u = s.substr(ub, raquot - ub);
        // No LWS inside <...> (RFC 4475 §3.1.2.14); parse_uri rejects it.
        if (!parse_uri(u, out.uri)) return false;
        rest = raquot + 1;
    } else {
        // addr-spec: the URI ends at ';' or LWS; it may not contain ',' or '?'
        // (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
        std::size_t k = 0;
        while (k < s.size() && s[k] != ';' && !is_lws_char(s[k])) ++k;
        const std::string_view u = s.substr(0, k);
        if (u.find_first_of(",?") != std::string_view::npos) {
            parse_uri(u, out.uri);
            return false;
        }
        if (!parse_uri(u, out.uri)) return false;
        rest = k;
    }
    rest = skip_lws(s, rest);
    out.params = s.substr(rest);
    ParamIterator it(out.params);
    Param p;
    while (it.next(p)) {
        if (!out.has_tag && iequals(p.name, "tag")) {
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
