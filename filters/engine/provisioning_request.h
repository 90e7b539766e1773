// SPDX-License-Identifier: GPL-2.0-or-later
// Cleartext provisioning and firmware requests from a handset: a TFTP read
// request (UDP, opcode 1) or an HTTP request line for a configuration or
// firmware file, read from the first bytes of a datagram or of the first
// TCP data segment. Bounded: at most kMaxInspected bytes are looked at; the
// file name is a view into the input, at most kMaxFileName bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vg::engine {

struct ProvisioningRequest {
    enum class Protocol : std::uint8_t { tftp, http };
    Protocol protocol = Protocol::tftp;
    std::string_view file;        // TFTP file name, HTTP path (no query); a view into the input
    bool file_truncated = false;  // longer than kMaxFileName: `file` is its start
};

inline constexpr std::size_t kProvisioningMaxInspected = 1024;
inline constexpr std::size_t kProvisioningMaxFileName = 255;

// A TFTP read request (RFC 1350: opcode 1, file name, NUL, mode, NUL; the
// mode netascii, octet or mail in any case). Anything else (write requests,
// data, truncated names or modes): nullopt.
std::optional<ProvisioningRequest> parse_tftp_read_request(std::string_view datagram);

// An HTTP request line "GET|HEAD|POST <target> HTTP/1.x" at the start of
// `data`. On port 80 every such request counts; on another port only a
// target whose path ends in .cfg, .xml, .rom, .bin, .ld, .img or .zip or has
// a segment starting with "prov" (case-insensitive). Else nullopt.
std::optional<ProvisioningRequest> parse_http_provisioning_request(std::string_view data, std::uint16_t dst_port);

const char* to_string(ProvisioningRequest::Protocol p);

}  // namespace vg::engine
