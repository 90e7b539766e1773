// SPDX-License-Identifier: GPL-2.0-or-later
// The wire form of a SIP message stored as text with bare LF line ends, as
// the RFC 5118 archive (corpus rfc5118/) holds its messages:
//   - every LF that no CR precedes becomes CRLF, in the head and in the body
//     (SDP lines end in CRLF on the wire too);
//   - a head without the empty line that ends it gets one (the archive's
//     ipv6-bug-abnf-3-colons and ipv6-correct-abnf-2-colons stop after the
//     last header);
//   - every Content-Length (or compact "l") value is set to the length of the
//     body that follows the empty line (the archive's is wrong in
//     ipv6-in-sdp, mult-ip-in-sdp and ipv4-mapped-ipv6, and every body grows
//     by one byte per line when its line ends become CRLF). A message without
//     one is left without one.
// A message already in wire form with a right Content-Length comes back
// unchanged. The tests normalise the archive files with it, so the corpus
// stays bit-exact.
#pragma once

#include <string>
#include <string_view>

namespace vg::test {

std::string sip_wire_form(std::string_view message);

}  // namespace vg::test
