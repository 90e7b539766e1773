// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/sip_content.h"

#include <algorithm>

#include "filters/sip/sip_uri.h"
#include "filters/sip/tcp_stream.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

bool ci_sip_version_at(std::string_view s, std::size_t i) noexcept {
    return s.size() >= i + 5 && (s[i] | 0x20) == 's' && (s[i + 1] | 0x20) == 'i' && (s[i + 2] | 0x20) == 'p' &&
           s[i + 3] == '/' && text::is_digit(s[i + 4]);
}

}  // namespace

StartKind classify_start(std::string_view s, bool whole) noexcept {
    constexpr std::size_t kMaxLine = 4096;
    std::size_t i = 0;
    while (i < s.size() && (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '\t')) ++i;
    s.remove_prefix(i);
    if (s.empty()) return whole ? StartKind::other : StartKind::undecided;
    if (sip::starts_like_tls(s)) return StartKind::other;
    std::size_t eol = s.find_first_of("\r\n");
    if (eol == std::string_view::npos) {
        if (!whole) return s.size() < kMaxLine && sip::starts_like_sip(s) ? StartKind::undecided : StartKind::other;
        eol = s.size();
    }
    const std::string_view line = s.substr(0, eol);
    if (ci_sip_version_at(line, 0)) return StartKind::sip;            // status line
    // SIP inside a WebSocket (RFC 7118): the upgrade request asks for the
    // "sip" subprotocol; the frames after it are masked, unreadable.
    if (line.size() > 9 && text::iequals(line.substr(line.size() - 9, 6), " HTTP/")) {
        const std::size_t head = s.find("\r\n\r\n");
        const std::string_view h = s.substr(0, head == std::string_view::npos ? s.size() : head);
        for (std::size_t at = 0; at < h.size();) {
            const std::size_t e = h.find('\n', at);
            const std::string_view hl = h.substr(at, (e == std::string_view::npos ? h.size() : e) - at);
            at = e == std::string_view::npos ? h.size() : e + 1;
            if (!text::istarts_with(hl, "sec-websocket-protocol:")) continue;
            sip::CommaIterator it(text::trim_wsp(hl.substr(23)));
            std::string_view proto;
            while (it.next(proto))
                if (text::iequals(text::trim_wsp(proto), "sip")) return StartKind::sip;
        }
        // An upgrade whose head is not complete yet could still ask for it.
        if (head == std::string_view::npos && !whole && text::icontains(h, "websocket")) return StartKind::undecided;
        return StartKind::other;
    }
    // A request line, as lenient stacks read it: pjsip skips spaces and
    // tabs around its tokens, Kamailio spaces after them; trailing white
    // space or a tab between the tokens must not make SIP plain egress.
    std::string_view l = line;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
    std::size_t t = 0;
    while (t < l.size() && text::is_token_char(l[t])) ++t;
    if (t == 0 || t >= l.size() || (l[t] != ' ' && l[t] != '\t')) return StartKind::other;
    const std::size_t last = l.find_last_of(" \t");
    if (l.find_first_not_of(" \t", t) >= last || !ci_sip_version_at(l, last + 1)) return StartKind::other;
    return StartKind::sip;                                             // request line
}

bool looks_like_sdp(const sip::SipMessage& m) noexcept {
    if (m.body.empty()) return false;
    if (!m.content_type.empty()) return text::icontains(m.content_type, "application/sdp");
    return text::starts_with(m.body, "v=0");
}

std::string_view message_bytes(const sip::SipMessage& m) noexcept {
    if (m.start_line.data() == nullptr || m.body.data() == nullptr) return m.start_line;
    return std::string_view(m.start_line.data(),
                            static_cast<std::size_t>(m.body.data() + m.body.size() - m.start_line.data()));
}

std::string_view uri_target(const sip::Uri& u) noexcept {
    if (!u.valid) return {};
    if (u.scheme == sip::UriScheme::tel) return u.user;
    if (u.is_sip() && u.has_user) return u.user;
    return {};
}

std::string_view lenient_target(std::string_view raw) noexcept {
    std::string_view s = raw;
    if (const std::size_t lt = s.find('<'); lt != std::string_view::npos) {
        s.remove_prefix(lt + 1);
        s = s.substr(0, s.find('>'));
    }
    s = text::trim_lws(s);
    for (const std::string_view scheme : {std::string_view("sip:"), std::string_view("sips:")}) {
        if (!text::istarts_with(s, scheme)) continue;
        s.remove_prefix(scheme.size());
        const std::size_t at = s.find('@');
        if (at == std::string_view::npos) return {};
        s = s.substr(0, at);
        return s.substr(0, s.find(':'));
    }
    if (text::istarts_with(s, "tel:")) {
        s.remove_prefix(4);
        return s.substr(0, s.find(';'));
    }
    return raw;
}

std::string_view dial_target(const sip::NameAddr& na) noexcept {
    if (na.uri.valid) return uri_target(na.uri);
    return lenient_target(na.raw);
}

sip::Limits sip_limits(const config::Policy& pol) noexcept {
    sip::Limits lim;
    lim.max_message_size = pol.sip.max_message_size;
    lim.max_headers = std::min<std::size_t>(pol.sip.max_headers, sip::kMaxHeaders);
    // Judge methods as the PBX will take them (see sip_parser.h).
    lim.methods_ignore_case = true;
    return lim;
}

}  // namespace vg::engine
