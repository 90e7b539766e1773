// SPDX-License-Identifier: GPL-2.0-or-later
// What the engine asks of the kernel's flow table, handed back with its
// decisions instead of done through a callback in the middle of one.
//
// A pinhole that closes must take its flows' fast path with it: every
// conntrack entry the engine verified through that pinhole (the verified mark
// lets the kernel pass the rest of the flow without asking) is deleted, so
// the next packet is judged again and dropped. The engine records each
// verified flow of a pinhole (the remote end of media in either direction,
// up to Pinhole::kMaxFlows) and, when the pinhole closes, asks for each one
// to be deleted by its tuple: one request to the kernel, no table walk. A
// pinhole that had more flows than it could record asks for every entry on
// the handset's port instead (a table dump). A call the engine never saw
// start (it began before a restart) hung up: every verified entry of that
// handset goes.
//
// The engine hands them to its EventSink (events.h) as it decides, like its
// events; the daemon's sink only records them, and the daemon carries them
// out once the verdicts of the packets it drained are sent. Replay and the
// benchmarks ignore them; the tests look at them.
#pragma once

#include <cstdint>
#include <vector>

#include "filters/net/ip_address.h"

namespace vg::engine {

enum class EffectKind : std::uint8_t {
    close_flow,      // delete the entry of the flow handset:port <-> remote:port (either end may be its origin)
    close_endpoint,  // delete every entry with handset:port at one end
    close_handset,   // delete every verified entry with the handset at one end
};

struct Effect {
    EffectKind kind = EffectKind::close_flow;
    std::uint8_t protocol = 0;        // IPPROTO_UDP for media
    net::IpAddress handset;
    std::uint16_t handset_port = 0;   // close_flow, close_endpoint
    net::IpAddress remote;            // close_flow
    std::uint16_t remote_port = 0;    // close_flow
};

using Effects = std::vector<Effect>;

}  // namespace vg::engine
