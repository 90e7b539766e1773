// SPDX-License-Identifier: GPL-2.0-or-later
// Request-URIs with an unbracketed IPv6 host: read with brackets when the
// host reads one way only, left alone (malformed) otherwise.
#include "filters/engine/ipv6_request_uri.h"

#include <gtest/gtest.h>

#include <string>

namespace vg::engine {
namespace {

std::string fixed(const std::string& line) {
    std::string out = "untouched";
    if (!bracket_ipv6_request_uri(line + "\r\nVia: x\r\n\r\n", out)) return "refused (" + out + ")";
    return out.substr(0, out.find("\r\n"));
}

TEST(Ipv6RequestUri, AFullAddressFollowedByAPortReadsOneWay) {
    // The capture's phone: eight groups, then the port.
    EXPECT_EQ(fixed("INVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0"),
              "INVITE sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c]:5060 SIP/2.0");
    // Eight groups, no port; with parameters; without a user part; sips.
    EXPECT_EQ(fixed("BYE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c SIP/2.0"),
              "BYE sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c] SIP/2.0");
    EXPECT_EQ(fixed("ACK sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060;transport=udp SIP/2.0"),
              "ACK sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c]:5060;transport=udp SIP/2.0");
    EXPECT_EQ(fixed("OPTIONS sip:2001:db8:0:0:0:0:0:1:5061 SIP/2.0"), "OPTIONS sip:[2001:db8:0:0:0:0:0:1]:5061 SIP/2.0");
    EXPECT_EQ(fixed("INVITE SIPS:100@2001:db8:1:2:3:4:5:6 SIP/2.0"), "INVITE SIPS:100@[2001:db8:1:2:3:4:5:6] SIP/2.0");
    // A compressed address that cannot end in a port (a trailing "::"), and
    // one with an IPv4 tail followed by a port.
    EXPECT_EQ(fixed("INVITE sip:100@2001:db8:: SIP/2.0"), "INVITE sip:100@[2001:db8::] SIP/2.0");
    EXPECT_EQ(fixed("INVITE sip:100@::ffff:192.0.2.1:5060 SIP/2.0"), "INVITE sip:100@[::ffff:192.0.2.1]:5060 SIP/2.0");
}

TEST(Ipv6RequestUri, AnAddressThatReadsTwoWaysOrNoneIsLeftAlone) {
    // "fe80::1:5060" is fe80::1:5060, or fe80::1 port 5060: the firewall
    // cannot know which the PBX reads.
    EXPECT_EQ(fixed("INVITE sip:100@fe80::1:5060 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:100@2001:db8::5:6 SIP/2.0"), "refused (untouched)");
    // Nine groups and no port, a port out of range, not an address at all.
    EXPECT_EQ(fixed("INVITE sip:100@1:2:3:4:5:6:7:8:9:10 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:100@fec0:0:0:0:216:d3ff:fe0d:22c:65536 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:100@pbx.example.net:5060:5060 SIP/2.0"), "refused (untouched)");
    // Not for this repair: bracketed already, a host name, IPv4, another
    // scheme, two '@'.
    EXPECT_EQ(fixed("INVITE sip:100@[2001:db8::1]:5060 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:100@pbx.example.net:5060 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:100@192.0.2.1:5060 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE tel:+442079460000 SIP/2.0"), "refused (untouched)");
    EXPECT_EQ(fixed("INVITE sip:a@b@1:2:3:4:5:6:7:8 SIP/2.0"), "refused (untouched)");
    // A status line or no line end.
    EXPECT_EQ(fixed("SIP/2.0 200 OK"), "refused (untouched)");
    std::string out = "untouched";
    EXPECT_FALSE(bracket_ipv6_request_uri("INVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0", out));
    EXPECT_EQ(out, "untouched");
}

TEST(Ipv6RequestUri, TheRestOfTheMessageIsKeptByteForByte) {
    const std::string head = "\r\nINVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0\r\n";
    const std::string rest = "To: <sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c>\r\nContent-Length: 4\r\n\r\nv=0\n";
    std::string out;
    ASSERT_TRUE(bracket_ipv6_request_uri(head + rest, out));
    EXPECT_EQ(out, "\r\nINVITE sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c]:5060 SIP/2.0\r\n" + rest);
}

}  // namespace
}  // namespace vg::engine
