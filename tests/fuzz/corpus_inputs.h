// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz inputs cut out of the third-party corpus (tests/support/corpus.h) at
// run time, never stored in this tree. The same function gives
// tests/fuzz/run its seeds (through vg_fuzz_seeds) and the unit test
// FuzzReplay.TARGET the inputs it replays when the corpus is there:
//   packet  fuzz_packet: up to six IP packets from each capture of pcap/ and
//           interop/ (the first of each kind: IP version, protocol, fragment,
//           SIP text, RTP-like, other; then more distinct ones), as the
//           link-type selector byte 0 (raw IP) and the packet without its
//           link-layer header;
//   sip     fuzz_sip: every RFC 4475 message, every RFC 5118 message in wire
//           form (tests/support/sip_wire_form.h), and up to eight SIP
//           messages (UDP datagrams, TCP segments) from each capture, one per
//           method or status code;
//   sdp     fuzz_sdp: the SDP bodies of those messages (the RFC ones, and up
//           to four distinct ones from each capture).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vg::fuzz {

enum class InputKind { packet, sip, sdp };

// "packet", "sip" or "sdp"; false for anything else.
bool input_kind_from_name(std::string_view name, InputKind& out);

struct Input {
    std::string name;   // unique, a file name: "interop-ndpi__sip-3", "rfc4475-wsinv.dat"
    std::string bytes;
};

// The inputs of that kind from the corpus at tests/support/corpus.h's
// corpus_dir(); empty when there is no corpus.
std::vector<Input> corpus_inputs(InputKind kind);

}  // namespace vg::fuzz
