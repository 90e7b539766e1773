// SPDX-License-Identifier: GPL-2.0-or-later
// Byte-level helpers for the netlink tests, written independently of the code
// under test: read a netlink message header and its attributes from raw bytes
// (host-order netlink fields, network-order values), and build messages by
// hand the way the kernel lays them out.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace vg::test::nl {

using Bytes = std::vector<std::uint8_t>;

inline std::uint16_t host16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline std::uint32_t host32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline std::uint16_t be16(const std::uint8_t* p) { return ntohs(host16(p)); }
inline std::uint32_t be32(const std::uint8_t* p) { return ntohl(host32(p)); }

// struct nlmsghdr + struct nfgenmsg, decoded.
struct Header {
    std::uint32_t len = 0;
    std::uint16_t type = 0;
    std::uint16_t flags = 0;
    std::uint32_t seq = 0;
    std::uint32_t pid = 0;
    std::uint8_t family = 0;
    std::uint8_t version = 0;
    std::uint16_t res_id = 0;  // host order (converted from network order)
};

inline Header header(const std::uint8_t* p) {
    Header h;
    h.len = host32(p);
    h.type = host16(p + 4);
    h.flags = host16(p + 6);
    h.seq = host32(p + 8);
    h.pid = host32(p + 12);
    h.family = p[16];
    h.version = p[17];
    h.res_id = be16(p + 18);
    return h;
}

struct Attr {
    std::uint16_t type = 0;  // with the NLA_F_* bits
    std::uint16_t len = 0;   // nla_len: header + payload, unpadded
    const std::uint8_t* payload = nullptr;
    std::size_t payload_len = 0;
};

// Attributes over [p, p + len). `ok` turns false on any malformation; the
// walk requires exact tiling (the last attribute may lack its padding).
inline std::vector<Attr> attrs(const std::uint8_t* p, std::size_t len, bool* ok = nullptr) {
    std::vector<Attr> out;
    std::size_t pos = 0;
    bool good = true;
    while (pos < len) {
        if (len - pos < 4) {
            good = false;
            break;
        }
        Attr a;
        a.len = host16(p + pos);
        a.type = host16(p + pos + 2);
        if (a.len < 4 || a.len > len - pos) {
            good = false;
            break;
        }
        a.payload = p + pos + 4;
        a.payload_len = a.len - 4u;
        out.push_back(a);
        pos += (a.len + 3u) & ~3u;
    }
    if (ok != nullptr) *ok = good;
    return out;
}

// The attributes of a message after the 20 bytes of nlmsghdr + nfgenmsg.
inline std::vector<Attr> message_attrs(const std::uint8_t* msg, bool* ok = nullptr) {
    const std::uint32_t len = host32(msg);
    return attrs(msg + 20, len - 20, ok);
}
inline std::vector<Attr> nested(const Attr& a, bool* ok = nullptr) { return attrs(a.payload, a.payload_len, ok); }

// Builds one message the way the kernel does: host-order header fields,
// attributes padded to 4 bytes except where `pad` is false.
class MessageBuilder {
public:
    MessageBuilder(std::uint16_t type, std::uint16_t flags, std::uint8_t family, std::uint16_t res_id,
                   std::uint32_t seq = 0)
        : bytes_(20, 0) {   // the header, made in one allocation (no resize of an empty vector)
        std::memcpy(&bytes_[4], &type, 2);
        std::memcpy(&bytes_[6], &flags, 2);
        std::memcpy(&bytes_[8], &seq, 4);
        bytes_[16] = family;
        bytes_[17] = 0;
        const std::uint16_t r = htons(res_id);
        std::memcpy(&bytes_[18], &r, 2);
    }

    MessageBuilder& attr(std::uint16_t type, const Bytes& payload, bool pad = true) {
        const std::uint16_t len = static_cast<std::uint16_t>(4 + payload.size());
        append16(len);
        append16(type);
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        if (pad)
            while (bytes_.size() % 4 != 0) bytes_.push_back(0);
        return *this;
    }
    MessageBuilder& attr_be32(std::uint16_t type, std::uint32_t v) { return attr(type, be32_bytes(v)); }
    MessageBuilder& attr_be16(std::uint16_t type, std::uint16_t v) {
        const std::uint16_t n = htons(v);
        return attr(type, Bytes{reinterpret_cast<const std::uint8_t*>(&n), reinterpret_cast<const std::uint8_t*>(&n) + 2});
    }
    MessageBuilder& attr_u8(std::uint16_t type, std::uint8_t v) { return attr(type, Bytes{v}); }
    // Raw bytes appended as they are (to build broken messages).
    MessageBuilder& raw(const Bytes& b) {
        bytes_.insert(bytes_.end(), b.begin(), b.end());
        return *this;
    }
    // Nesting: begin() returns the offset to hand to end().
    std::size_t begin(std::uint16_t type) {
        const std::size_t at = bytes_.size();
        append16(0);
        append16(type);
        return at;
    }
    MessageBuilder& end(std::size_t at) {
        const std::uint16_t len = static_cast<std::uint16_t>(bytes_.size() - at);
        std::memcpy(&bytes_[at], &len, 2);
        return *this;
    }

    // The finished message with nlmsg_len set to its size.
    Bytes finish() const {
        Bytes b = bytes_;
        const std::uint32_t len = static_cast<std::uint32_t>(b.size());
        std::memcpy(&b[0], &len, 4);
        return b;
    }

    static Bytes be32_bytes(std::uint32_t v) {
        const std::uint32_t n = htonl(v);
        return Bytes{reinterpret_cast<const std::uint8_t*>(&n), reinterpret_cast<const std::uint8_t*>(&n) + 4};
    }

private:
    void append16(std::uint16_t v) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        bytes_.insert(bytes_.end(), p, p + 2);
    }
    Bytes bytes_;
};

// A heap copy of exactly n bytes (AddressSanitizer catches any read past it).
inline std::unique_ptr<std::uint8_t[]> exact_copy(const Bytes& b, std::size_t n) {
    std::unique_ptr<std::uint8_t[]> p(new std::uint8_t[n == 0 ? 1 : n]);
    if (n > 0) std::memcpy(p.get(), b.data(), n);
    return p;
}

inline void set_len(std::uint8_t* msg, std::uint32_t len) { std::memcpy(msg, &len, 4); }

}  // namespace vg::test::nl
