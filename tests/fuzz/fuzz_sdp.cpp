// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the SDP parser. Checks that every view in the result lies
// inside the input and that the effective values are consistent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/sdp/sdp_parser.h"

namespace {

void check_view(std::string_view body, std::string_view v) {
    if (v.empty()) return;
    if (v.data() < body.data() || v.data() + v.size() > body.data() + body.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg::sdp;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    SessionDescription s;
    parse(body, s);
    if (s.media_count > kMaxMediaLines) __builtin_trap();
    check_view(body, s.origin.address_text);
    check_view(body, s.origin.username);
    check_view(body, s.connection.address_text);
    for (std::size_t i = 0; i < s.media_count; ++i) {
        const MediaDescription& m = s.media[i];
        check_view(body, m.type_text);
        check_view(body, m.proto_text);
        check_view(body, m.formats);
        check_view(body, m.connection.address_text);
        if (m.usable()) {
            if (!m.address.valid() || m.rtp_port == 0) __builtin_trap();
            if (m.is_rtp() && m.rtcp_port == 0) __builtin_trap();
        }
        if (m.rejected && (m.rtp_port != 0 || m.rtcp_port != 0)) __builtin_trap();
    }
    (void)s.on_hold();
    return 0;
}
