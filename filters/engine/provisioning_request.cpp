// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/provisioning_request.h"

#include <array>

namespace vg::engine {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool iends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

ProvisioningRequest make(ProvisioningRequest::Protocol p, std::string_view file) {
    ProvisioningRequest r;
    r.protocol = p;
    r.file_truncated = file.size() > kProvisioningMaxFileName;
    r.file = file.substr(0, kProvisioningMaxFileName);
    return r;
}

bool looks_like_provisioning(std::string_view path) {
    static constexpr std::array<std::string_view, 7> kSuffixes{".cfg", ".xml", ".rom", ".bin", ".ld", ".img", ".zip"};
    for (std::string_view s : kSuffixes)
        if (iends_with(path, s)) return true;
    for (std::size_t i = 0; i < path.size(); ++i)
        if (path[i] == '/' && iequals(path.substr(i + 1, 4), "prov")) return true;
    return false;
}

}  // namespace

std::optional<ProvisioningRequest> parse_tftp_read_request(std::string_view d) {
    d = d.substr(0, kProvisioningMaxInspected);
    if (d.size() < 4 || d[0] != '\0' || d[1] != '\1') return std::nullopt;
    const std::string_view rest = d.substr(2);
    const std::size_t name_end = rest.find('\0');
    if (name_end == std::string_view::npos || name_end == 0) return std::nullopt;
    const std::string_view after = rest.substr(name_end + 1);
    const std::size_t mode_end = after.find('\0');
    if (mode_end == std::string_view::npos) return std::nullopt;
    const std::string_view mode = after.substr(0, mode_end);
    if (!iequals(mode, "octet") && !iequals(mode, "netascii") && !iequals(mode, "mail")) return std::nullopt;
    return make(ProvisioningRequest::Protocol::tftp, rest.substr(0, name_end));
}

std::optional<ProvisioningRequest> parse_http_provisioning_request(std::string_view d, std::uint16_t dst_port) {
    d = d.substr(0, kProvisioningMaxInspected);
    std::size_t sp = std::string_view::npos;
    for (std::string_view m : {"GET ", "HEAD ", "POST "})
        if (d.substr(0, m.size()) == m) sp = m.size();
    if (sp == std::string_view::npos) return std::nullopt;
    const std::string_view rest = d.substr(sp);
    const std::size_t target_end = rest.find(' ');
    // The request line must be whole within what is inspected.
    if (target_end == std::string_view::npos || target_end == 0) return std::nullopt;
    if (rest.substr(target_end + 1, 7) != "HTTP/1.") return std::nullopt;
    const std::string_view target = rest.substr(0, target_end);
    for (char c : target)
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return std::nullopt;
    std::string_view path = target.substr(0, target.find_first_of("?#"));
    if (path.empty()) return std::nullopt;
    if (dst_port != 80 && !looks_like_provisioning(path)) return std::nullopt;
    return make(ProvisioningRequest::Protocol::http, path);
}

const char* to_string(ProvisioningRequest::Protocol p) {
    return p == ProvisioningRequest::Protocol::tftp ? "tftp" : "http";
}

}  // namespace vg::engine
