// SPDX-License-Identifier: GPL-2.0-or-later
// IPv4 / IPv6 addresses and CIDR prefixes as plain values: parsed from text
// without heap allocation, compared, hashed, printed. Shared by the packet
// decoder, the SDP parser, the allow-list trie and the policy model.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vg::net {

enum class Family : std::uint8_t { none = 0, v4 = 4, v6 = 6 };

class IpAddress {
public:
    IpAddress() noexcept = default;

    static IpAddress v4(const std::uint8_t bytes[4]) noexcept;
    static IpAddress v4(std::uint32_t host_order) noexcept;
    static IpAddress v6(const std::uint8_t bytes[16]) noexcept;

    // Accepts dotted-quad IPv4 and RFC 4291 IPv6 text (with an embedded IPv4
    // tail); an IPv6 reference in brackets ("[2001:db8::1]", RFC 3261 §25.1)
    // is accepted too. Returns nullopt for anything else (text with a NUL
    // byte included).
    static std::optional<IpAddress> parse(std::string_view text) noexcept;

    Family family() const noexcept { return family_; }
    bool is_v4() const noexcept { return family_ == Family::v4; }
    bool is_v6() const noexcept { return family_ == Family::v6; }
    bool valid() const noexcept { return family_ != Family::none; }
    // 0.0.0.0 or :: (the RFC 3264 §8.4 "hold" connection address).
    bool is_unspecified() const noexcept;
    // An IPv4-mapped IPv6 address, ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    bool is_v4_mapped() const noexcept;
    // The IPv4 address of an IPv4-mapped one (invalid for any other).
    IpAddress mapped_v4() const noexcept;
    // Network-order bytes: 4 for IPv4, 16 for IPv6.
    const std::uint8_t* bytes() const noexcept { return bytes_.data(); }
    std::size_t byte_length() const noexcept { return family_ == Family::v4 ? 4 : family_ == Family::v6 ? 16 : 0; }
    unsigned bit_length() const noexcept { return static_cast<unsigned>(byte_length() * 8); }
    // Bit `i` counted from the most significant bit of the first byte.
    bool bit(unsigned i) const noexcept { return (bytes_[i / 8] >> (7 - i % 8)) & 1u; }

    std::string to_string() const;
    std::size_t hash() const noexcept;

    friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
        return a.family_ == b.family_ && a.bytes_ == b.bytes_;
    }
    friend bool operator!=(const IpAddress& a, const IpAddress& b) noexcept { return !(a == b); }
    friend bool operator<(const IpAddress& a, const IpAddress& b) noexcept {
        if (a.family_ != b.family_) return a.family_ < b.family_;
        return a.bytes_ < b.bytes_;
    }

private:
    Family family_ = Family::none;
    std::array<std::uint8_t, 16> bytes_{};
};

struct Cidr {
    IpAddress network;     // host bits cleared
    unsigned prefix = 0;   // 0..32 or 0..128

    // "192.0.2.0/24", "2001:db8::/32", or a bare address (host prefix).
    // Rejects host bits set past the prefix only when `strict` is true.
    static std::optional<Cidr> parse(std::string_view text, bool strict = false) noexcept;

    bool contains(const IpAddress& a) const noexcept;
    // True when the two prefixes share at least one address.
    bool overlaps(const Cidr& other) const noexcept;
    std::string to_string() const;

    friend bool operator==(const Cidr& a, const Cidr& b) noexcept {
        return a.prefix == b.prefix && a.network == b.network;
    }
};

struct IpAddressHash {
    std::size_t operator()(const IpAddress& a) const noexcept { return a.hash(); }
};

}  // namespace vg::net
