// SPDX-License-Identifier: GPL-2.0-or-later
// Decoded packets and parsed SIP messages for the tests of the engine's units,
// which take a net::DecodedPacket (a view into bytes) and a sip::SipMessage
// (views into the payload): a PacketJar keeps the bytes and the messages
// alive for the whole test, so every view handed to a unit stays valid.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>

#include "filters/net/packet.h"
#include "filters/sip/sip_message.h"
#include "filters/sip/sip_parser.h"
#include "tests/support/sip_packets.h"

namespace vg::test {

class PacketJar {
public:
    // A packet built by sip_packets.h (v4udp, v4tcp, v6udp), decoded.
    const net::DecodedPacket& keep(Bytes b) {
        bytes_.push_back(std::move(b));
        packets_.push_back(net::decode_ip(bytes_.back().data(), bytes_.back().size()));
        EXPECT_TRUE(packets_.back().ok()) << packets_.back().reason;
        return packets_.back();
    }
    const net::DecodedPacket& udp(const char* src, unsigned sport, const char* dst, unsigned dport,
                                  const std::string& payload) {
        return keep(sip_packets::v4udp(src, sport, dst, dport, payload));
    }
    // The SIP message a UDP packet carries, parsed (a test failure if it does not parse).
    const sip::SipMessage& sip(const net::DecodedPacket& p) {
        messages_.push_back(std::make_unique<sip::SipMessage>());
        const sip::ParseResult r =
            sip::parse_message(p.payload_text(), sip::Transport::datagram, sip::Limits{}, *messages_.back());
        EXPECT_EQ(r.status, sip::Status::ok) << (r.reason != nullptr ? r.reason : "") << "\n" << p.payload_text();
        return *messages_.back();
    }

private:
    std::deque<Bytes> bytes_;                      // a deque: keeping more never moves what is kept
    std::deque<net::DecodedPacket> packets_;
    std::deque<std::unique_ptr<sip::SipMessage>> messages_;
};

}  // namespace vg::test
