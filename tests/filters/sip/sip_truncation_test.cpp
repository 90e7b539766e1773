// SPDX-License-Identifier: GPL-2.0-or-later
// Every conformance message (RFC 4475 and RFC 5118) cut at every byte and
// parsed as a stream and as a datagram: no crash or out-of-bounds read (run
// under ASan/UBSan), and the status each prefix must get.
#include "filters/sip/sip_parser.h"
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace vg::sip {
namespace {

// Touches every view the parser handed out so ASan sees any bad pointer.
std::size_t walk(const SipMessage& m) {
    std::size_t sum = m.body.size() + m.start_line.size() + m.request_uri.raw.size();
    for (std::size_t i = 0; i < m.header_count; ++i)
        for (char c : m.headers[i].value) sum += static_cast<unsigned char>(c);
    for (std::size_t i = 0; i < m.via_count; ++i) sum += m.vias[i].host.size() + m.vias[i].branch.size();
    for (std::size_t i = 0; i < m.contact_count; ++i) sum += m.contacts[i].addr.uri.host.size();
    return sum;
}

void cut_everywhere(const std::string& dir) {
    auto msg = std::make_unique<SipMessage>();
    for (const auto& name : test::list_data_dir(dir)) {
        const std::string whole = test::read_data_file(dir + "/" + name);
        const ParseResult full_stream = parse_message(whole, Transport::stream, Limits{}, *msg);
        for (std::size_t len = 0; len < whole.size(); ++len) {
            // Each prefix in its own exact-size heap block: a read past the
            // end is an ASan error.
            std::unique_ptr<char[]> buf(new char[len ? len : 1]);
            std::memcpy(buf.get(), whole.data(), len);
            const std::string_view prefix(buf.get(), len);

            const ParseResult s = parse_message(prefix, Transport::stream, Limits{}, *msg);
            walk(*msg);
            if (s.status == Status::malformed) {
                // Only when the prefix already shows the whole message is bad.
                EXPECT_EQ(full_stream.status, Status::malformed) << dir << "/" << name << " cut at " << len;
            } else if (s.status == Status::ok) {
                // A complete message can end before the file does (dblreq).
                EXPECT_LE(s.consumed, len);
                EXPECT_EQ(full_stream.status, Status::ok) << dir << "/" << name << " cut at " << len;
            }
            if (full_stream.status == Status::ok && len < full_stream.consumed) {
                EXPECT_EQ(s.status, Status::incomplete) << dir << "/" << name << " cut at " << len;
            }

            const ParseResult d = parse_message(prefix, Transport::datagram, Limits{}, *msg);
            walk(*msg);
            EXPECT_NE(d.status, Status::incomplete) << dir << "/" << name << " cut at " << len;
            if (d.status == Status::malformed) {
                ASSERT_NE(d.reason, nullptr);
            } else {
                EXPECT_LE(d.consumed, len);
            }
        }
    }
}

TEST(SipTruncation, Rfc4475EveryPrefixIncompleteOnStreamNeverIncompleteOnDatagram) {
    cut_everywhere("rfc4475");
}

TEST(SipTruncation, Rfc5118EveryPrefixIncompleteOnStreamNeverIncompleteOnDatagram) {
    cut_everywhere("rfc5118");
}

// A prefix that ends inside the head of a datagram is unterminated; one that
// ends inside a Content-Length body exceeds the message.
TEST(SipTruncation, DatagramPrefixReasonsNameTheCut) {
    const std::string whole = test::read_data_file("rfc4475/wsinv.dat");
    auto msg = std::make_unique<SipMessage>();
    const std::size_t head = whole.find("\r\n\r\n") + 4;
    ParseResult r = parse_message(std::string_view(whole).substr(0, head - 10), Transport::datagram, Limits{}, *msg);
    EXPECT_STREQ(r.reason, "headers_unterminated");
    r = parse_message(std::string_view(whole).substr(0, head + 10), Transport::datagram, Limits{}, *msg);
    EXPECT_STREQ(r.reason, "content_length_exceeds_message");
}

}  // namespace
}  // namespace vg::sip
