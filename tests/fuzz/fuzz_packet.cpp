// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the IP decoder, then the media classifier on the decoded
// payload. The first input byte selects a link type so the link-layer decoder
// is fuzzed too; the rest is the frame.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "filters/media/media_classifier.h"
#include "filters/net/link.h"
#include "filters/net/packet.h"

namespace {

void check_inside(const std::uint8_t* base, std::size_t size, const std::uint8_t* p, std::size_t n) {
    if (p == nullptr) return;
    if (p < base || n > size || p + n > base + size) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg;
    if (size == 0) return 0;
    static constexpr net::LinkType kTypes[] = {net::LinkType::raw, net::LinkType::ethernet,
                                               net::LinkType::linux_sll, net::LinkType::linux_sll2,
                                               net::LinkType::null, net::LinkType::loop};
    const net::LinkType type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
    const std::uint8_t* frame = data + 1;
    const std::size_t frame_size = size - 1;

    // Decode the whole input as an IP packet as well, so every byte is fuzzed
    // as an IP header regardless of the selector.
    const net::DecodedPacket direct = net::decode_ip(frame, frame_size);
    check_inside(frame, frame_size, direct.payload, direct.payload_length);
    if (direct.ok() && direct.payload_length > 0) {
        media::Options o;
        o.srtp = (data[0] & 0x80) != 0;
        (void)media::classify(direct.payload, direct.payload_length, o);
    }

    const net::LinkFrame link = net::decode_link(type, frame, frame_size);
    if (!link.ok() || !link.is_ip) return 0;
    check_inside(frame, frame_size, link.l3, link.l3_length);
    const net::DecodedPacket p = net::decode_ip(link.l3, link.l3_length);
    check_inside(link.l3, link.l3_length, p.payload, p.payload_length);
    if (p.ok()) {
        const net::FlowKey k = p.flow_key();
        const net::FlowKey r = net::FlowKey::from(p.tuple().reversed());
        if (k != r || k.hash() != r.hash()) __builtin_trap();
        const media::Classification c = media::classify(p.payload, p.payload_length);
        if (c.kind == media::Kind::rtp && c.header_length + c.payload_length > p.payload_length) __builtin_trap();
    }
    return 0;
}
