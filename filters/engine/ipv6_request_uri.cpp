// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/ipv6_request_uri.h"

#include <cstddef>
#include <cstdint>
#include <utility>

#include "filters/net/ip_address.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

bool is_v6(std::string_view s) {
    const auto a = net::IpAddress::parse(s);
    return a && a->is_v6();
}

// port = 1*DIGIT, 1..65535 (RFC 3261 §25.1 with the range of a UDP port).
bool is_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return false;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v >= 1 && v <= 65535;
}

}  // namespace

bool bracket_ipv6_request_uri(std::string_view m, std::string& out) {
    // The request line, after the CRLFs a receiver skips (RFC 3261 §7.5).
    std::size_t start = 0;
    while (start < m.size() && (m[start] == '\r' || m[start] == '\n')) ++start;
    const std::size_t eol = m.find_first_of("\r\n", start);
    if (eol == std::string_view::npos) return false;
    const std::string_view line = m.substr(start, eol - start);
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return false;
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return false;
    const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);

    std::size_t host = 0;
    if (text::istarts_with(uri, "sip:")) host = 4;
    else if (text::istarts_with(uri, "sips:")) host = 5;
    else return false;
    // After the userinfo, if any: one '@' at most before the parameters.
    const std::size_t end = uri.find_first_of(";?", host);
    const std::string_view userhost = uri.substr(host, end == std::string_view::npos ? uri.size() - host : end - host);
    const std::size_t at = userhost.find('@');
    if (at != std::string_view::npos) {
        if (userhost.find('@', at + 1) != std::string_view::npos) return false;
        host += at + 1;
    }
    const std::string_view hostport = userhost.substr(at == std::string_view::npos ? 0 : at + 1);
    if (hostport.empty() || hostport.front() == '[') return false;
    if (hostport.find(':') == hostport.rfind(':')) return false;   // a host name or IPv4 address (and port)

    // Two readings: all of it is the address, or the last group is a port.
    const bool whole = is_v6(hostport);
    const std::size_t colon = hostport.rfind(':');
    const std::string_view addr = hostport.substr(0, colon);
    const std::string_view port = hostport.substr(colon + 1);
    const bool with_port = is_port(port) && is_v6(addr);
    if (whole == with_port) return false;   // none, or ambiguous

    const std::size_t at_host = start + sp1 + 1 + host;
    std::string r;
    r.reserve(m.size() + 2);
    r.append(m.substr(0, at_host));
    r.push_back('[');
    r.append(whole ? hostport : addr);
    r.push_back(']');
    if (with_port) {
        r.push_back(':');
        r.append(port);
    }
    r.append(m.substr(at_host + hostport.size()));
    out = std::move(r);
    return true;
}

}  // namespace vg::engine
