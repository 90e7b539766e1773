// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/net/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "filters/util/text.h"

namespace vg::net {

IpAddress IpAddress::v4(const std::uint8_t bytes[4]) noexcept {
    IpAddress a;
    a.family_ = Family::v4;
    std::memcpy(a.bytes_.data(), bytes, 4);
    return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(host_order >> 24),
                               static_cast<std::uint8_t>(host_order >> 16),
                               static_cast<std::uint8_t>(host_order >> 8),
                               static_cast<std::uint8_t>(host_order)};
    return v4(b);
}

IpAddress IpAddress::v6(const std::uint8_t bytes[16]) noexcept {
    IpAddress a;
    a.family_ = Family::v6;
    std::memcpy(a.bytes_.data(), bytes, 16);
    return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    // INET6_ADDRSTRLEN is 46; anything longer is not an address.
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
    // inet_pton reads a C string: "203.0.113.10\0junk" would pass as the
    // address before the NUL.
    if (std::memchr(text.data(), '\0', text.size()) != nullptr) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    std::uint8_t raw[16];
    if (text.find(':') == std::string_view::npos) {
        // inet_pton accepts only strict dotted-quad, which is what we want.
        if (inet_pton(AF_INET, buf, raw) == 1) return v4(raw);
        return std::nullopt;
    }
    if (inet_pton(AF_INET6, buf, raw) == 1) return v6(raw);
    return std::nullopt;
}

bool IpAddress::is_unspecified() const noexcept {
    const std::size_t n = byte_length();
    if (n == 0) return false;
    for (std::size_t i = 0; i < n; ++i)
        if (bytes_[i] != 0) return false;
    return true;
}

bool IpAddress::is_v4_mapped() const noexcept {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return is_v6() && std::memcmp(bytes_.data(), kPrefix, sizeof kPrefix) == 0;
}

IpAddress IpAddress::mapped_v4() const noexcept { return is_v4_mapped() ? v4(bytes_.data() + 12) : IpAddress{}; }

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (family_ == Family::v4) {
        inet_ntop(AF_INET, bytes_.data(), buf, sizeof buf);
    } else if (family_ == Family::v6) {
        inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
    } else {
        return "-";
    }
    return buf;
}

std::size_t IpAddress::hash() const noexcept {
    // FNV-1a over family + address bytes: cheap, stable across platforms.
    std::uint64_t h = 1469598103934665603ull;
    h = (h ^ static_cast<std::uint8_t>(family_)) * 1099511628211ull;
    for (std::size_t i = 0; i < byte_length(); ++i) h = (h ^ bytes_[i]) * 1099511628211ull;
    return static_cast<std::size_t>(h);
}

namespace {

IpAddress masked(const IpAddress& a, unsigned prefix) noexcept {
    std::uint8_t b[16] = {0};
    const std::size_t n = a.byte_length();
    std::memcpy(b, a.bytes(), n);
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned first_bit = static_cast<unsigned>(i * 8);
        if (first_bit >= prefix) {
            b[i] = 0;
        } else if (prefix - first_bit < 8) {
            b[i] = static_cast<std::uint8_t>(b[i] & (0xffu << (8 - (prefix - first_bit))));
        }
    }
    return a.is_v4() ? IpAddress::v4(b) : IpAddress::v6(b);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, bool strict) noexcept {
    const auto slash = text.find('/');
    const auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned prefix = addr->bit_length();
    if (slash != std::string_view::npos) {
        if (!text::parse_uint_as<unsigned>(text.substr(slash + 1), addr->bit_length(), prefix))
            return std::nullopt;
    }
    Cidr c{masked(*addr, prefix), prefix};
    if (strict && c.network != *addr) return std::nullopt;
    return c;
}

bool Cidr::contains(const IpAddress& a) const noexcept {
    if (a.family() != network.family()) return false;
    return masked(a, prefix) == network;
}

bool Cidr::overlaps(const Cidr& other) const noexcept {
    if (other.network.family() != network.family()) return false;
    return prefix <= other.prefix ? contains(other.network) : other.contains(network);
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix);
}

}  // namespace vg::net
