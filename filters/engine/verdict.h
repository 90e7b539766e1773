// SPDX-License-Identifier: GPL-2.0-or-later
// What the engine says about one packet: a verdict, a reason with a stable
// name (counted, logged, printed by replay), and events (events.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace vg::engine {

enum class Verdict : std::uint8_t {
    accept,           // let it continue (the router's own firewall still applies)
    accept_verified,  // accept and mark the flow verified: the kernel fast path takes the rest
    drop,
};

// Why. The names (reason_name) are stable: syslog collectors and replay's
// JSON output use them. Keep the order of existing entries.
enum class Reason : std::uint8_t {
    // accept
    not_voice_network,     // neither end is in the handset networks
    handset_internal,      // both ends are in the handset networks
    sip_inspected,         // SIP to/from the PBX, inspected, nothing against it
    media_pinhole,         // media into an open pinhole from an allowed PBX media source
    media_outbound,        // media from a handset's negotiated endpoint
    support_allowed,       // support address to one of its listed handset ports
    egress_allowed,        // handset egress the policy allows (the flow is remembered)
    egress_return,         // return traffic of a flow a handset opened to an allowed destination
    // drop
    malformed_packet,      // IP/UDP/TCP headers do not decode
    unlisted_source,       // inbound from an address in none of the allow-lists
    sip_malformed,         // SIP from the PBX that does not parse (sip.malformed: drop)
    sip_scanner,           // scanner User-Agent or behaviour
    sip_rate_limited,      // over sip.rate_limits for this source and method
    rogue_sip_destination, // a handset sending SIP to a server that is not the PBX
    toll_fraud,            // INVITE to a denied destination (prefix, allow-list, out of hours), or a
                           // dial string the guard cannot read with certainty (toll_guard.h)
    call_limit,            // INVITE over a concurrent or hourly call limit
    media_no_pinhole,      // media-looking traffic from a PBX media source, no pinhole open
    media_injection,       // a pinhole's port hit from a source the pinhole does not allow
    media_not_rtp,         // first packet of a pinhole flow is not RTP/RTCP/STUN/DTLS
    support_port_denied,   // support address to a port it is not listed for
    egress_denied,         // handset egress to a destination not on the egress allow-list
    fragment,              // an unreassembled IP fragment (the kernel reassembles before the queue)
    // Added later; the order above is kept for stable numbering.
    sip_stream_cut,        // SIP over TCP after a dropped message, junk, or a gap: the connection is cut (reset)
    tcp_unjudged,          // TCP the engine cannot judge yet (ahead of a gap, a stale retransmission, the start
                           // of a stream too short to tell): dropped without cutting, TCP sends it again
    sip_unknown_method,    // a request method the engine does not know, from a handset (fails closed)
    sip_other_port,        // SIP from a handset to a PBX address on a port outside sip.ports
    media_destination_denied,  // handset media from a pinhole port to an address outside the PBX's media
    forged_source,         // (kernel) a handset source address arriving on a non-voice interface
    foreign_source,        // (kernel) a voice-interface packet for the PBX/SIP with a source outside the handset networks
    tls_uninspected,       // accept: a TLS connection to the PBX; its SIP cannot be read (logged once per connection)
    dialog_table_full,     // an INVITE starting a dialog while every entry of the full dialog table is a
                           // confirmed call: refused rather than push out a live call (calls.h)
    sip_keepalive,         // accept: a NAT keep-alive on the SIP flow between a handset and its PBX (CRLF,
                           // spaces, a NUL-padded token, zero bytes, a STUN Binding; keepalive.h)
    icmp_related,          // accept: an ICMP error to a handset about a flow the handset sent (to the PBX, its
                           // media, an egress flow): what the kernel's ESTABLISHED/RELATED rule lets through
    icmp_unsolicited,      // ICMP to a handset from a listed peer (PBX, support) that is no error about the
                           // handset's own flows: a ping; the kernel drops it too
    fraud_threshold,       // INVITE over a critical level of a destination profile (fraud_profiles.h)
    media_refused_by_policy,  // media from the endpoint the PBX's SDP named for a pinhole, which the policy
                           // refuses (an address outside peers.pbx[].media.addresses, a port outside its
                           // media.ports; VG_MEDIA_ADDRESS_NOT_ALLOWED / VG_MEDIA_PORT_NOT_ALLOWED said so
                           // when the SDP passed): one-way audio from a policy mismatch, not an attack
    media_static_allowance,  // accept: media from a PBX media range to a handset under media.static_allowance,
                             // no pinhole (the SDP was not read: TLS): inspection is blind for it
    callback,              // INVITE to a number marked by a one-ring call from a risk prefix within
                           // toll_fraud.callback.window (callback_guard.h)
    count_
};

constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::count_);

std::string_view reason_name(Reason r) noexcept;
// True for the reasons that come with a drop verdict (counters, stats lines).
bool reason_is_drop(Reason r) noexcept;
std::string_view verdict_name(Verdict v) noexcept;  // "accept" | "accept" | "drop"

struct Decision {
    Verdict verdict = Verdict::accept;
    Reason reason = Reason::not_voice_network;
    // mode: monitor turned a drop into an accept; `reason` says what would
    // have dropped it.
    bool monitored = false;
    // With a drop of a TCP segment: cut the connection. The daemon lets the
    // kernel answer the sender with a TCP reset (a rule of voipguard's own
    // matches the reset mark the verdict sets) instead of dropping silently,
    // so a handset whose stream was cut reconnects at once instead of
    // retransmitting into the void for minutes. Never set without a drop.
    bool reset = false;

    bool dropped() const noexcept { return verdict == Verdict::drop; }
    bool would_drop() const noexcept { return dropped() || monitored; }
};

}  // namespace vg::engine
