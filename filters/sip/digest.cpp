// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/sip/digest.h"

#include "filters/util/text.h"

namespace vg::sip {

namespace {

constexpr bool is_lws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A cursor over the header value; every read is bounds-checked.
struct Cursor {
    std::string_view s;
    std::size_t i = 0;

    bool done() const noexcept { return i >= s.size(); }
    char peek() const noexcept { return s[i]; }
    void skip_lws() noexcept {
        while (i < s.size() && is_lws(s[i])) ++i;
    }
};

DigestValue* slot(DigestCredentials& c, std::string_view name) noexcept {
    using text::iequals;
    if (iequals(name, "username")) return &c.username;
    if (iequals(name, "username*")) return &c.username_star;
    if (iequals(name, "realm")) return &c.realm;
    if (iequals(name, "nonce")) return &c.nonce;
    if (iequals(name, "uri")) return &c.uri;
    if (iequals(name, "response")) return &c.response;
    if (iequals(name, "algorithm")) return &c.algorithm;
    if (iequals(name, "cnonce")) return &c.cnonce;
    if (iequals(name, "opaque")) return &c.opaque;
    if (iequals(name, "qop")) return &c.qop;
    if (iequals(name, "nc")) return &c.nc;
    if (iequals(name, "userhash")) return &c.userhash;
    return nullptr;
}

DigestResult fail(const char* why) noexcept { return {DigestStatus::malformed, why}; }

}  // namespace

std::size_t DigestValue::unescape_into(char* out, std::size_t cap) const noexcept {
    std::size_t n = 0;
    bool over = false;
    for_each_unescaped([&](char c) {
        if (n < cap) out[n++] = c;
        else over = true;
    });
    return over ? cap + 1 : n;
}

// RFC 7616 §3.4 / RFC 2617 §3.2.2: the scheme, then a comma list of
// name=value; empty list elements (",,") are allowed as in every #rule.
DigestResult parse_digest_credentials(std::string_view value, DigestCredentials& out) noexcept {
    out = DigestCredentials{};
    Cursor c{value};
    c.skip_lws();
    const std::size_t scheme_start = c.i;
    while (!c.done() && text::is_token_char(c.peek())) ++c.i;
    if (!text::iequals(value.substr(scheme_start, c.i - scheme_start), "digest"))
        return {DigestStatus::not_digest, "not_digest"};
    if (c.done() || !is_lws(c.peek())) return fail("digest_no_parameters");

    for (;;) {
        c.skip_lws();
        if (c.done()) break;
        if (c.peek() == ',') {
            ++c.i;
            continue;
        }
        // auth-param-name (token; username* carries its '*' as a token char)
        const std::size_t name_start = c.i;
        while (!c.done() && text::is_token_char(c.peek())) ++c.i;
        if (c.i == name_start) return fail("digest_bad_parameter_name");
        const std::string_view name = value.substr(name_start, c.i - name_start);
        c.skip_lws();
        if (c.done() || c.peek() != '=') return fail("digest_parameter_without_value");
        ++c.i;
        c.skip_lws();
        if (c.done()) return fail("digest_parameter_without_value");
        DigestValue v;
        v.present = true;
        if (c.peek() == '"') {
            v.quoted = true;
            ++c.i;
            const std::size_t start = c.i;
            bool closed = false;
            while (!c.done()) {
                const char ch = c.peek();
                if (ch == '\\') {
                    if (c.i + 1 >= value.size()) return fail("digest_unterminated_quote");
                    v.escaped = true;
                    c.i += 2;
                    continue;
                }
                if (ch == '"') {
                    closed = true;
                    break;
                }
                if (ch == '\0') return fail("digest_control_character");
                ++c.i;
            }
            if (!closed) return fail("digest_unterminated_quote");
            v.raw = value.substr(start, c.i - start);
            ++c.i;   // the closing quote
        } else {
            const std::size_t start = c.i;
            while (!c.done() && text::is_token_char(c.peek())) ++c.i;
            if (c.i == start) return fail("digest_bad_parameter_value");
            v.raw = value.substr(start, c.i - start);
        }
        if (v.raw.size() > kMaxDigestValue) return fail("digest_value_too_long");
        if (++out.params > kMaxDigestParams) return fail("digest_too_many_parameters");
        if (DigestValue* dst = slot(out, name)) {
            if (dst->present) return fail("digest_duplicate_parameter");
            *dst = v;
        }
        c.skip_lws();
        if (c.done()) break;
        if (c.peek() != ',') return fail("digest_missing_comma");
        ++c.i;
    }
    if (!out.username.present && !out.username_star.present) return fail("digest_missing_username");
    if (!out.realm.present) return fail("digest_missing_realm");
    if (!out.nonce.present) return fail("digest_missing_nonce");
    if (!out.uri.present) return fail("digest_missing_uri");
    if (!out.response.present) return fail("digest_missing_response");
    return {DigestStatus::ok, ""};
}

}  // namespace vg::sip
