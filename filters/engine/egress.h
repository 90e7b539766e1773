// SPDX-License-Identifier: GPL-2.0-or-later
// Handset egress that is not SIP to the PBX and not call media: the egress
// allow-list (egress.mode), the memory of flows a handset opened (their exact
// return traffic is accepted), and the judgement of a TCP connection on its
// first data (is it SIP?) before it is verified and left to the kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include "filters/engine/bounded_table.h"
#include "filters/engine/engine_context.h"
#include "filters/net/packet.h"

namespace vg::engine {

class EgressTracker {
public:
    EgressTracker(EngineContext& ctx, std::size_t max_flows);

    // The egress allow-list (egress.mode: allow_list) lets this packet out;
    // always true with egress.mode: open, except for SCTP, which the kernel
    // drops from the handsets in any mode. Drops get an egress_denied event
    // (detail "sctp" for SCTP).
    bool allowed(const net::DecodedPacket& p, Timestamp now, EventSink& ev);
    // Remembers the packet's flow so its return traffic is accepted.
    void remember(const net::DecodedPacket& p, Timestamp now);
    // Return traffic of a flow a handset opened (exact 5-tuple, not expired).
    bool is_return_traffic(const net::DecodedPacket& p, Timestamp now);
    // A flow a handset opened, as it sent it (`out.src` the handset), is
    // remembered and not expired (an ICMP error quoting it is related).
    bool knows(const net::FiveTuple& out, Timestamp now) const noexcept;

    // What a TCP segment from a handset (allowed by allowed()) needs.
    enum class Tcp : std::uint8_t {
        pass,         // SYN, ACK, FIN without data: accept, not verified yet
        judge_start,  // the first data of the connection: the caller judges its content
        unjudged,     // data before the first byte was judged (out of order), or on a SYN
        verified,     // the connection was judged already
    };
    Tcp tcp(const net::DecodedPacket& p, Timestamp now);
    // The caller judged the start of the connection: not SIP.
    void tcp_judged(const net::DecodedPacket& p);

    void tick(Timestamp now);
    std::size_t memory_bytes() const noexcept { return flows_.memory_bytes(); }
    std::size_t flow_count() const noexcept { return flows_.size(); }

private:
    struct Flow {
        net::IpAddress initiator;
        Timestamp expires{};
        // TCP: judged on its first data segment (is it SIP?), then verified.
        std::uint32_t isn = 0;
        bool syn_seen = false;
        bool judged = false;
    };
    Flow* flow(const net::DecodedPacket& p);

    EngineContext& ctx_;
    BoundedTable<net::FlowKey, Flow, net::FlowKeyHash> flows_;
};

}  // namespace vg::engine
