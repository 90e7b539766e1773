// SPDX-License-Identifier: GPL-2.0-or-later
// Every conformance message (RFC 4475 and RFC 5118) cut at every byte and
// parsed as a stream and as a datagram: no crash or out-of-bounds read (run
// under ASan/UBSan), and the status each prefix must get. The messages come
// from the third-party corpus (RFC 5118's in wire form); the tests skip
// without it.
#include "filters/sip/sip_parser.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_wire_form.h"

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

void cut_everywhere(const std::string& dir, bool wire_form) {
    auto msg = std::make_unique<SipMessage>();
    const auto names = test::list_corpus_dir(dir);
    ASSERT_FALSE(names.empty()) << test::corpus_path(dir);
    for (const auto& name : names) {
        std::string whole = test::corpus_bytes(dir + "/" + name);
        if (wire_form) whole = test::sip_wire_form(whole);
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
    VG_SKIP_WITHOUT_CORPUS("rfc4475", "every prefix of every RFC 4475 message, as stream and as datagram");
    cut_everywhere("rfc4475", false);
}

TEST(SipTruncation, Rfc5118EveryPrefixIncompleteOnStreamNeverIncompleteOnDatagram) {
    VG_SKIP_WITHOUT_CORPUS("rfc5118", "every prefix of every RFC 5118 message, as stream and as datagram");
    cut_everywhere("rfc5118", true);
}

// A prefix that ends inside the head of a datagram is unterminated; one that
// ends inside a Content-Length body exceeds the message.
TEST(SipTruncation, DatagramPrefixReasonsNameTheCut) {
    VG_CORPUS_FILE_OR_SKIP(whole, "rfc4475/wsinv.dat", "the parse reasons of datagrams cut in the head and in the body");
    auto msg = std::make_unique<SipMessage>();
    const std::size_t head = whole.find("\r\n\r\n") + 4;
    ParseResult r = parse_message(std::string_view(whole).substr(0, head - 10), Transport::datagram, Limits{}, *msg);
    EXPECT_STREQ(r.reason, "headers_unterminated");
    r = parse_message(std::string_view(whole).substr(0, head + 10), Transport::datagram, Limits{}, *msg);
    EXPECT_STREQ(r.reason, "content_length_exceeds_message");
}

}  // namespace
}  // namespace vg::sip
