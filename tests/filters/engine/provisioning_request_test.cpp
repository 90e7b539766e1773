// SPDX-License-Identifier: GPL-2.0-or-later
// The cleartext provisioning request parsers (provisioning_request.h): TFTP
// read requests and HTTP request lines for configuration and firmware files,
// with hostile inputs (truncated, huge names, other opcodes).
#include "filters/engine/provisioning_request.h"

#include <gtest/gtest.h>

#include <string>

namespace vg::engine {
namespace {

using namespace std::string_literals;
using P = ProvisioningRequest::Protocol;

TEST(TftpReadRequest, OpcodeOneWithNameAndModeIsRead) {
    const std::string rrq = "\0\1y000000000044.cfg\0octet\0"s;
    const auto r = parse_tftp_read_request(rrq);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->protocol, P::tftp);
    EXPECT_EQ(r->file, "y000000000044.cfg");
    EXPECT_FALSE(r->file_truncated);
    EXPECT_TRUE(parse_tftp_read_request("\0\1fw.rom\0NetASCII\0"s));
}

TEST(TftpReadRequest, OtherOpcodesAndBrokenRequestsAreNot) {
    EXPECT_FALSE(parse_tftp_read_request("\0\2upload.cfg\0octet\0"s));   // write request
    EXPECT_FALSE(parse_tftp_read_request("\0\3\0\1data"s));               // data
    EXPECT_FALSE(parse_tftp_read_request("\1\1a.cfg\0octet\0"s));
    EXPECT_FALSE(parse_tftp_read_request(""));
    EXPECT_FALSE(parse_tftp_read_request("\0"s));
    EXPECT_FALSE(parse_tftp_read_request("\0\1"s));
    EXPECT_FALSE(parse_tftp_read_request("\0\1a.cfg"s));                  // truncated name
    EXPECT_FALSE(parse_tftp_read_request("\0\1a.cfg\0oct"s));             // truncated mode
    EXPECT_FALSE(parse_tftp_read_request("\0\1\0octet\0"s));              // empty name
    EXPECT_FALSE(parse_tftp_read_request("\0\1a.cfg\0binary\0"s));        // no such mode
}

TEST(TftpReadRequest, AHugeNameIsCappedOrNotReadPastTheInspectedBytes) {
    const std::string name(400, 'a');
    const std::string rrq = "\0\1"s + name + "\0octet\0"s;   // `file` is a view into it
    const auto r = parse_tftp_read_request(rrq);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->file_truncated);
    EXPECT_EQ(r->file.size(), kProvisioningMaxFileName);
    EXPECT_EQ(r->file, name.substr(0, kProvisioningMaxFileName));
    // Its mode beyond the inspected bytes: not a read request it can tell.
    EXPECT_FALSE(parse_tftp_read_request("\0\1"s + std::string(5000, 'b') + "\0octet\0"s));
}

TEST(HttpProvisioningRequest, AnyRequestOnPort80) {
    const auto r = parse_http_provisioning_request("GET /phone/index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 80);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->protocol, P::http);
    EXPECT_EQ(r->file, "/phone/index.html");
}

TEST(HttpProvisioningRequest, OnOtherPortsOnlyConfigurationAndFirmwareFiles) {
    for (const char* ok : {"GET /cfg/001565aabbcc.cfg HTTP/1.1\r\n", "HEAD /fw/T54W-96.86.0.70.ROM HTTP/1.0\r\n",
                           "GET /y000000000044.xml?mac=1 HTTP/1.1\r\n", "POST /provisioning/phone HTTP/1.1\r\n",
                           "GET /fw.bin HTTP/1.1\r\n"}) {
        const auto r = parse_http_provisioning_request(ok, 8080);
        EXPECT_TRUE(r) << ok;
    }
    for (const char* no : {"GET /index.html HTTP/1.1\r\n", "GET /app.js HTTP/1.1\r\n",
                           "\x16\x03\x01\x00\x2a", "INVITE sip:x SIP/2.0\r\n", "GET /a.cfg", "GET  HTTP/1.1\r\n",
                           "GET /a.cfg SIP/2.0\r\n", "get /a.cfg HTTP/1.1\r\n", "GET /a\x01.cfg HTTP/1.1\r\n"}) {
        EXPECT_FALSE(parse_http_provisioning_request(no, 8080)) << no;
    }
    EXPECT_FALSE(parse_http_provisioning_request("", 80));
    EXPECT_FALSE(parse_http_provisioning_request("GET ?x HTTP/1.1\r\n", 80));
}

TEST(HttpProvisioningRequest, AHugeTargetIsNotReadPastTheInspectedBytes) {
    const std::string path = "/" + std::string(600, 'p') + ".cfg";
    const std::string request = "GET " + path + " HTTP/1.1\r\n";
    const auto r = parse_http_provisioning_request(request, 8080);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->file_truncated);
    EXPECT_EQ(r->file.size(), kProvisioningMaxFileName);
    EXPECT_FALSE(parse_http_provisioning_request("GET /" + std::string(5000, 'p') + ".cfg HTTP/1.1\r\n", 80));
}

}  // namespace
}  // namespace vg::engine
