// SPDX-License-Identifier: GPL-2.0-or-later
// What a datagram on the SIP flow is as a NAT keep-alive: the kinds real
// devices send, each at its size bound and one byte past it, and what must
// never count as one (SIP, however broken; STUN that is not a sane Binding).
#include "filters/engine/keepalive.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace vg::engine {
namespace {

using namespace std::string_literals;

// A STUN message: type, transaction id 12 x 0x42, the attributes as given
// (type, then value padded to 4 by the caller or by `pad`).
std::string stun(std::uint16_t type, const std::string& attributes = "", std::uint32_t cookie = kStunMagicCookie,
                 int length_delta = 0) {
    std::string s;
    auto u16 = [&](std::uint32_t v) {
        s.push_back(static_cast<char>((v >> 8) & 0xff));
        s.push_back(static_cast<char>(v & 0xff));
    };
    u16(type);
    u16(static_cast<std::uint32_t>(static_cast<int>(attributes.size()) + length_delta));
    u16(cookie >> 16);
    u16(cookie & 0xffff);
    s.append(12, '\x42');
    return s + attributes;
}

std::string attribute(std::uint16_t type, const std::string& value) {
    std::string a;
    a.push_back(static_cast<char>(type >> 8));
    a.push_back(static_cast<char>(type & 0xff));
    a.push_back(static_cast<char>(value.size() >> 8));
    a.push_back(static_cast<char>(value.size() & 0xff));
    a += value;
    while (a.size() % 4 != 0) a.push_back('\0');
    return a;
}

// XOR-MAPPED-ADDRESS for an IPv4 address (family 1, port, address).
const std::string kXorMapped = attribute(0x0020, "\x00\x01\x13\xc4\x5e\x12\xa4\x43"s);

KeepaliveKind kind(const std::string& s) { return classify_keepalive(s); }

TEST(Keepalive, TheKindsRealDevicesSendAreRecognised) {
    EXPECT_EQ(kind(""), KeepaliveKind::empty);
    EXPECT_EQ(kind("\r\n"), KeepaliveKind::crlf);                    // RFC 5626 pong
    EXPECT_EQ(kind("\r\n\r\n"), KeepaliveKind::crlf);                // RFC 5626 ping
    EXPECT_EQ(kind("     "), KeepaliveKind::spaces);                 // a softphone
    EXPECT_EQ(kind(std::string(13, ' ')), KeepaliveKind::spaces);
    EXPECT_EQ(kind("jaK\0"s), KeepaliveKind::token);                 // eXosip2 (Linphone)
    EXPECT_EQ(kind("hello"), KeepaliveKind::token);                  // a softswitch
    EXPECT_EQ(kind("hello\0\0\0\0\0\0\0"s), KeepaliveKind::token);
    EXPECT_EQ(kind(std::string(4, '\0')), KeepaliveKind::zeros);     // OnSIP, doubango
    EXPECT_EQ(kind(stun(kStunBindingRequest)), KeepaliveKind::stun); // RFC 5626 §4.4.2
    EXPECT_EQ(kind(stun(kStunBindingSuccess, kXorMapped)), KeepaliveKind::stun);
    EXPECT_EQ(kind(stun(kStunBindingError, attribute(0x0009, "\0\0\x04\x01"s "Unauthorized"))), KeepaliveKind::stun);
}

TEST(Keepalive, FillersAreBoundedInSize) {
    EXPECT_EQ(kind(std::string(kMaxFillerBytes, ' ')), KeepaliveKind::spaces);
    EXPECT_EQ(kind(std::string(kMaxFillerBytes + 1, ' ')), KeepaliveKind::none);
    EXPECT_EQ(kind(std::string(kMaxFillerBytes, '\n')), KeepaliveKind::crlf);
    EXPECT_EQ(kind(std::string(kMaxFillerBytes + 1, '\n')), KeepaliveKind::none);
    EXPECT_EQ(kind(std::string(kMaxFillerBytes, '\0')), KeepaliveKind::zeros);
    EXPECT_EQ(kind(std::string(kMaxFillerBytes + 1, '\0')), KeepaliveKind::none);
    EXPECT_EQ(kind(std::string(kMaxTokenBytes, 'a')), KeepaliveKind::token);
    EXPECT_EQ(kind(std::string(kMaxTokenBytes + 1, 'a')), KeepaliveKind::none);
    EXPECT_EQ(kind(std::string(kMaxTokenBytes, 'a') + std::string(kMaxFillerBytes - kMaxTokenBytes, '\0')),
              KeepaliveKind::token);
    EXPECT_EQ(kind(std::string(kMaxTokenBytes, 'a') + std::string(kMaxFillerBytes - kMaxTokenBytes + 1, '\0')),
              KeepaliveKind::none);
}

TEST(Keepalive, AnythingElseInAFillerIsNotAKeepalive) {
    EXPECT_EQ(kind("jaK\0x"s), KeepaliveKind::none);        // content after the padding
    EXPECT_EQ(kind("\0jaK"s), KeepaliveKind::none);         // padding first
    EXPECT_EQ(kind("ja K"), KeepaliveKind::none);
    EXPECT_EQ(kind("ja-K"), KeepaliveKind::none);
    EXPECT_EQ(kind("hello\r\n"), KeepaliveKind::none);
    EXPECT_EQ(kind("\r\n\0"s), KeepaliveKind::none);
    EXPECT_EQ(kind(" \0"s), KeepaliveKind::none);
    EXPECT_EQ(kind("\xff\xff\xff\xff"), KeepaliveKind::none);
}

// "A datagram that starts like SIP and is broken stays malformed": a method
// or the version alone is for the parser to judge.
TEST(Keepalive, WhatStartsLikeSipIsNeverAKeepalive) {
    for (const char* s : {"INVITE", "invite", "ACK", "BYE", "OPTIONS", "REGISTER", "SIP", "sip", "SIPx", "Sip20"})
        EXPECT_EQ(kind(s), KeepaliveKind::none) << s;
    EXPECT_EQ(kind("INVITE\0"s), KeepaliveKind::none);
    EXPECT_EQ(kind("INVITE sip:1@x SIP/2.0\r\n"), KeepaliveKind::none);
    EXPECT_EQ(kind("SIP/2.0 200 OK\r\n"), KeepaliveKind::none);
    EXPECT_EQ(kind("\r\nOPTIONS"), KeepaliveKind::none);
}

TEST(Keepalive, StunMustBeASaneBindingMessage) {
    // The magic cookie of RFC 5389/8489 (RFC 3489's classic STUN has none).
    EXPECT_EQ(kind(stun(kStunBindingRequest, "", 0x2112A443)), KeepaliveKind::none);
    // The length field says exactly what follows, a multiple of 4.
    EXPECT_EQ(kind(stun(kStunBindingSuccess, kXorMapped, kStunMagicCookie, 4)), KeepaliveKind::none);
    EXPECT_EQ(kind(stun(kStunBindingSuccess, kXorMapped, kStunMagicCookie, -4)), KeepaliveKind::none);
    EXPECT_EQ(kind(stun(kStunBindingRequest) + "\0\0"s), KeepaliveKind::none);
    EXPECT_EQ(kind(stun(kStunBindingRequest).substr(0, 19)), KeepaliveKind::none);
    // Binding requests and responses only: no indication, no other method
    // (Allocate 0x0003 is TURN), no top bits set.
    EXPECT_EQ(kind(stun(0x0011)), KeepaliveKind::none);
    EXPECT_EQ(kind(stun(0x0003)), KeepaliveKind::none);
    EXPECT_EQ(kind(stun(0x4001)), KeepaliveKind::none);
    // Attributes laid out exactly: one running past the end is refused.
    std::string bad = kXorMapped;
    bad[3] = 12;   // claims 12 bytes of value, 8 follow
    EXPECT_EQ(kind(stun(kStunBindingSuccess, bad)), KeepaliveKind::none);
    // An unknown comprehension-required attribute (a receiver answers 420):
    // refused; an unknown comprehension-optional one is ignorable.
    EXPECT_EQ(kind(stun(kStunBindingRequest, attribute(0x0013, "data"))), KeepaliveKind::none);   // DATA (TURN)
    EXPECT_EQ(kind(stun(kStunBindingRequest, attribute(0x8022, "softphone 1.0"))), KeepaliveKind::stun);
    // Bounded in size whatever it carries.
    const std::string software = attribute(0x8022, std::string(kMaxStunBytes - 20 - 4, 'x'));
    EXPECT_EQ(kind(stun(kStunBindingRequest, software)), KeepaliveKind::stun);
    const std::string too_much = attribute(0x8022, std::string(kMaxStunBytes - 20, 'x'));
    EXPECT_EQ(kind(stun(kStunBindingRequest, too_much)), KeepaliveKind::none);
}

TEST(Keepalive, KindNamesAreStable) {
    EXPECT_EQ(keepalive_kind_name(KeepaliveKind::crlf), "crlf");
    EXPECT_EQ(keepalive_kind_name(KeepaliveKind::stun), "stun");
    for (std::size_t i = 0; i < kKeepaliveKindCount; ++i)
        EXPECT_NE(keepalive_kind_name(static_cast<KeepaliveKind>(i)), "unknown");
}

}  // namespace
}  // namespace vg::engine
