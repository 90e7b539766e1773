// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the SIP parser: the input is parsed as one datagram and
// as a TCP stream (message after message), and every extracted field and
// helper is exercised so the sanitizers see every view the parser returns.
#include "filters/sip/sip_parser.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

volatile std::size_t g_sink;

void touch(std::string_view v) {
    std::size_t s = 0;
    for (char c : v) s += static_cast<unsigned char>(c);
    g_sink = g_sink + s;
}

void walk_uri(const vg::sip::Uri& u) {
    touch(u.raw);
    touch(u.scheme_text);
    touch(u.user);
    touch(u.password);
    touch(u.host);
    touch(u.host_unbracketed());
    touch(u.params);
    touch(u.headers);
    touch(u.opaque);
    char buf[128];
    const auto r = vg::sip::uri_unescape(u.user, buf, sizeof buf);
    if (r.ok) touch(std::string_view(buf, r.length));
    vg::sip::Param p;
    if (vg::sip::find_param(u.params, "transport", p)) touch(p.value);
}

void walk_name_addr(const vg::sip::NameAddr& na) {
    touch(na.raw);
    touch(na.display_name);
    touch(na.params);
    touch(na.tag);
    walk_uri(na.uri);
}

void walk(const vg::sip::SipMessage& m) {
    touch(m.start_line);
    touch(m.method_text);
    touch(m.request_uri_text);
    walk_uri(m.request_uri);
    touch(m.version);
    touch(m.reason);
    char buf[256];
    for (std::size_t i = 0; i < m.header_count; ++i) {
        const vg::sip::Header& h = m.headers[i];
        touch(h.name);
        touch(h.value);
        const std::size_t n = vg::sip::copy_unfolded(h.value, buf, sizeof buf);
        if (n <= sizeof buf) touch(std::string_view(buf, n));
        g_sink = g_sink + vg::sip::lws_equals(h.value, "a b", true);
        // Generic list/param/name-addr parsing over every header value.
        vg::sip::CommaIterator ci(h.value);
        std::string_view e;
        for (int k = 0; k < 64 && ci.next(e); ++k) {
            vg::sip::NameAddr na;
            vg::sip::parse_name_addr(e, na);
            walk_name_addr(na);
            vg::sip::Via v;
            vg::sip::parse_via(e, v);
            touch(v.host);
        }
        vg::sip::ParamIterator pi(h.value);
        vg::sip::Param p;
        for (int k = 0; k < 64 && pi.next(p); ++k) {
            touch(p.name);
            touch(p.value);
        }
        g_sink = g_sink + m.find(h.name)->value.size();
    }
    for (std::size_t i = 0; i < m.via_count; ++i) {
        const vg::sip::Via& v = m.vias[i];
        touch(v.raw);
        touch(v.protocol_name);
        touch(v.protocol_version);
        touch(v.transport_text);
        touch(v.host);
        touch(v.params);
        touch(v.branch);
        touch(v.received);
        touch(v.maddr);
    }
    for (std::size_t i = 0; i < m.contact_count; ++i) {
        walk_name_addr(m.contacts[i].addr);
        touch(m.contacts[i].q);
    }
    walk_name_addr(m.from);
    walk_name_addr(m.to);
    touch(m.call_id);
    touch(m.cseq.method_text);
    touch(m.max_forwards.text);
    touch(m.expires.text);
    touch(m.content_length.text);
    touch(m.content_type);
    touch(m.user_agent);
    touch(m.server);
    touch(m.body);
}

vg::sip::SipMessage g_msg;  // ~20 KiB: static, as the engine keeps one per worker

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    vg::sip::Limits limits;

    vg::sip::ParseResult r = vg::sip::parse_message(in, vg::sip::Transport::datagram, limits, g_msg);
    if (r.status == vg::sip::Status::ok) {
        if (r.consumed > in.size()) __builtin_trap();
        walk(g_msg);
    } else if (r.status == vg::sip::Status::incomplete || r.reason == nullptr) {
        __builtin_trap();  // a datagram is never incomplete; malformed always has a reason
    }

    std::string_view rest = in;
    for (int i = 0; i < 1024 && !rest.empty(); ++i) {
        r = vg::sip::parse_message(rest, vg::sip::Transport::stream, limits, g_msg);
        if (r.status != vg::sip::Status::ok) break;
        if (r.consumed == 0 || r.consumed > rest.size()) __builtin_trap();  // must make progress
        walk(g_msg);
        rest.remove_prefix(r.consumed);
    }
    return 0;
}
