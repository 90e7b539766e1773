// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/address_map.h"

#include <cstring>

#include "filters/net/packet.h"

namespace vg::daemon {

namespace {

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alnum(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

void store_be16(std::uint8_t* p, std::size_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

// Maps the address of `width` bytes at `at` in place.
bool map_at(const AddressMap& m, std::uint8_t* at, std::size_t width) {
    const net::IpAddress a = width == 4 ? net::IpAddress::v4(at) : net::IpAddress::v6(at);
    const auto to = m.map(a);
    if (!to || *to == a) return false;
    std::memcpy(at, to->bytes(), width);
    return true;
}

// A SIP message starts with a request line ending in "SIP/2.0" or with a
// status line starting with it (RFC 3261 §7.1, §7.2).
bool looks_like_sip(std::string_view t) noexcept {
    if (t.substr(0, 8) == "SIP/2.0 ") return true;
    const auto eol = t.find('\n');
    if (eol == std::string_view::npos) return false;
    std::string_view line = t.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line.size() > 8 && line.substr(line.size() - 8) == " SIP/2.0";
}

// Where the body starts: after the first empty line.
std::size_t body_start(std::string_view t) noexcept {
    const auto crlf = t.find("\r\n\r\n");
    const auto lf = t.find("\n\n");
    if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf + 2 <= lf)) return crlf + 4;
    if (lf != std::string_view::npos) return lf + 2;
    return std::string_view::npos;
}

// Adds `delta` to the first Content-Length (or compact "l") header of the
// header section [0, end). False when there is none or it is no number.
bool fix_content_length(std::string& t, std::size_t end, long delta) {
    std::size_t line = 0;
    while (line < end) {
        std::size_t eol = t.find('\n', line);
        if (eol == std::string::npos || eol > end) eol = end;
        std::size_t i = line;
        std::size_t name_end = i;
        while (name_end < eol && t[name_end] != ':' && t[name_end] != ' ' && t[name_end] != '\t') ++name_end;
        std::string name;
        for (std::size_t k = i; k < name_end; ++k) name.push_back(lower(t[k]));
        if (name == "content-length" || name == "l") {
            std::size_t k = name_end;
            while (k < eol && (t[k] == ' ' || t[k] == '\t')) ++k;
            if (k < eol && t[k] == ':') {
                ++k;
                while (k < eol && (t[k] == ' ' || t[k] == '\t')) ++k;
                std::size_t d = k;
                long value = 0;
                while (d < eol && t[d] >= '0' && t[d] <= '9' && value < 100000000) value = value * 10 + (t[d++] - '0');
                if (d == k || value + delta < 0) return false;
                t.replace(k, d - k, std::to_string(value + delta));
                return true;
            }
        }
        line = eol + 1;
    }
    return false;
}

}  // namespace

bool AddressMap::add(std::string_view text, std::string& error) {
    const auto eq = text.find('=');
    const auto from = eq == std::string_view::npos ? std::nullopt : net::Cidr::parse(text.substr(0, eq));
    const auto to = eq == std::string_view::npos ? std::nullopt : net::Cidr::parse(text.substr(eq + 1));
    if (!from || !to) {
        error = "\"" + std::string(text) +
                "\" is not CAPTURE_CIDR=POLICY_CIDR (an address or prefix on each side, e.g. "
                "192.168.57.0/24=192.168.20.0/24)";
        return false;
    }
    if (from->network.family() != to->network.family()) {
        error = "\"" + std::string(text) + "\" maps an IPv" + (from->network.is_v4() ? "4" : "6") +
                " prefix onto an IPv" + (to->network.is_v4() ? "4" : "6") + " one";
        return false;
    }
    if (from->prefix != to->prefix) {
        error = "\"" + std::string(text) + "\": the prefixes differ in length (/" + std::to_string(from->prefix) +
                " and /" + std::to_string(to->prefix) +
                "); a mapping keeps the host bits, so both sides need the same length";
        return false;
    }
    for (const AddressMapping& m : mappings_) {
        if (m.from == *from) {
            error = "\"" + std::string(text) + "\": " + from->to_string() + " is mapped already (onto " +
                    m.to.to_string() + ")";
            return false;
        }
    }
    mappings_.push_back({*from, *to});
    return true;
}

std::optional<net::IpAddress> AddressMap::map(const net::IpAddress& a) const noexcept {
    const AddressMapping* best = nullptr;
    for (const AddressMapping& m : mappings_)
        if (m.from.contains(a) && (best == nullptr || m.from.prefix > best->from.prefix)) best = &m;
    if (best == nullptr) return std::nullopt;
    std::uint8_t b[16];
    const std::size_t n = a.byte_length();
    std::memcpy(b, a.bytes(), n);
    const std::uint8_t* net = best->to.network.bytes();
    for (unsigned bit = 0; bit < best->to.prefix; ++bit) {
        const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
        b[bit / 8] = static_cast<std::uint8_t>((b[bit / 8] & ~mask) | (net[bit / 8] & mask));
    }
    return n == 4 ? net::IpAddress::v4(b) : net::IpAddress::v6(b);
}

bool AddressMap::map_headers(std::uint8_t* l3, std::size_t length) const noexcept {
    if (mappings_.empty() || length < 1) return false;
    const net::DecodedPacket p = net::decode_ip(l3, length);
    if (!p.src.valid() || !p.dst.valid()) return false;
    bool changed = false;
    const unsigned version = l3[0] >> 4;
    const std::size_t width = version == 4 ? 4 : 16;
    const std::size_t src_at = version == 4 ? 12 : 8;
    changed |= map_at(*this, l3 + src_at, width);
    changed |= map_at(*this, l3 + src_at + width, width);
    // An ICMP error quotes the header of the packet it is about (RFC 792,
    // RFC 4443 §3): its addresses are the capture's too.
    if (p.ok() && !p.is_later_fragment() && p.payload != nullptr) {
        const bool icmp_error =
            (p.protocol == net::ipproto::icmp && p.payload_length >= 1 &&
             (p.payload[0] == 3 || p.payload[0] == 4 || p.payload[0] == 5 || p.payload[0] == 11 || p.payload[0] == 12)) ||
            (p.protocol == net::ipproto::icmpv6 && p.payload_length >= 1 && p.payload[0] < 128);
        const std::size_t quoted = static_cast<std::size_t>(p.payload - l3) + 8;
        if (icmp_error && quoted < length) {
            std::uint8_t* q = l3 + quoted;
            const std::size_t left = length - quoted;
            if ((q[0] >> 4) == 4 && left >= 20 && p.protocol == net::ipproto::icmp) {
                changed |= map_at(*this, q + 12, 4);
                changed |= map_at(*this, q + 16, 4);
            } else if ((q[0] >> 4) == 6 && left >= 40 && p.protocol == net::ipproto::icmpv6) {
                changed |= map_at(*this, q + 8, 16);
                changed |= map_at(*this, q + 24, 16);
            }
        }
    }
    return changed;
}

std::string AddressMap::rewrite_text(std::string_view t, std::size_t body, long& body_delta, bool& changed) const {
    std::string out;
    out.reserve(t.size() + 64);
    body_delta = 0;
    changed = false;
    std::size_t i = 0;
    const std::size_t n = t.size();
    while (i < n) {
        const char c = t[i];
        const bool starts = (is_hex(c) || c == ':') && (i == 0 || (!is_alnum(t[i - 1]) && t[i - 1] != '.'));
        if (!starts) {
            out.push_back(c);
            ++i;
            continue;
        }
        // The run of characters an address can have.
        std::size_t j = i;
        unsigned colons = 0;
        while (j < n && (is_hex(t[j]) || t[j] == ':' || t[j] == '.')) colons += t[j++] == ':';
        std::size_t end = j;   // of the address taken, if any
        std::optional<net::IpAddress> a;
        if (colons >= 2) {
            // IPv6: bracketed in URIs and Via, bare in SDP (RFC 3261 §25.1,
            // RFC 4566 §5.7). A bare one followed by ":port" does not parse
            // and is left alone.
            if (j >= n || !is_alnum(t[j])) a = net::IpAddress::parse(t.substr(i, j - i));
            if (a && !a->is_v6()) a.reset();
        } else {
            std::size_t k = i;
            while (k < n && ((t[k] >= '0' && t[k] <= '9') || t[k] == '.')) ++k;
            if (k > i && (k >= n || (!is_alnum(t[k]) && t[k] != '.'))) {
                a = net::IpAddress::parse(t.substr(i, k - i));
                if (a && !a->is_v4()) a.reset();
                end = k;
            }
        }
        const std::optional<net::IpAddress> to = a ? map(*a) : std::nullopt;
        if (to) {
            const std::string s = to->to_string();
            if (body != std::string_view::npos && i >= body)
                body_delta += static_cast<long>(s.size()) - static_cast<long>(end - i);
            out += s;
            changed = true;
            i = end;
        } else {
            out.append(t.substr(i, j - i));
            i = j;
        }
    }
    return out;
}

bool AddressMap::names_mapped_address(std::string_view text) const {
    if (mappings_.empty()) return false;
    long delta = 0;
    bool changed = false;
    (void)rewrite_text(text, std::string_view::npos, delta, changed);
    return changed;
}

bool AddressMap::map_sip_text(const std::uint8_t* l3, std::size_t length, std::vector<std::uint8_t>& out) const {
    if (mappings_.empty()) return false;
    const net::DecodedPacket p = net::decode_ip(l3, length);
    if (!p.ok() || p.is_fragment || !p.is_udp() || p.payload_length == 0) return false;
    const std::string_view text(reinterpret_cast<const char*>(p.payload), p.payload_length);
    if (!looks_like_sip(text)) return false;
    const std::size_t body = body_start(text);
    long body_delta = 0;
    bool changed = false;
    std::string t = rewrite_text(text, body, body_delta, changed);
    if (!changed) return false;
    if (body_delta != 0) {
        // The header section of the rewritten text ends where the body of
        // the old one did, moved by what changed before it.
        const std::size_t new_body = body_start(t);
        if (new_body != std::string::npos) fix_content_length(t, new_body, body_delta);
    }
    const std::size_t head = static_cast<std::size_t>(p.payload - l3);   // IP and UDP headers
    const std::size_t total = head + t.size();
    if (p.ip_version == 4 ? total > 65535 : total - 40 > 65535) return false;
    out.assign(l3, l3 + head);
    out.insert(out.end(), t.begin(), t.end());
    const std::size_t udp_at = head - 8;
    store_be16(out.data() + udp_at + 4, 8 + t.size());
    if (p.ip_version == 4) store_be16(out.data() + 2, total);
    else store_be16(out.data() + 4, total - 40);
    return true;
}

}  // namespace vg::daemon
