// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay`: the inspection engine offline over captures, with the
// capture's timestamps as the clock. What a managed-service engineer runs to
// test a policy against a capture from a site before deploying it.
//
// Every frame is treated as the daemon would see it: IP fragments are
// reassembled first (the kernel does that before the queue; the verdict of a
// datagram is reported on the frame that completed it), SIP over TCP is
// reassembled per stream, and packets the kernel would drop before the queue
// are still parsed when they are SIP, so scanner events are reported as the
// daemon reports them from sampled drops.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "config/policy.h"
#include "daemon/address_map.h"
#include "filters/net/ip_address.h"

namespace vg::daemon {

struct ReplayOptions {
    std::vector<std::string> captures;
    std::vector<net::Cidr> inside;   // extra handset networks for this run (--inside)
    AddressMap map;                  // capture -> policy addresses (--map, address_map.h)
    bool json = false;
    bool quiet = false;              // summary only
    bool no_resolve = false;         // host names were not looked up (--no-resolve): said in warnings
};

// One call of the capture (a SIP Call-ID), for the table at the end.
struct ReplayCall {
    std::string call;           // Call-ID short form (short_call_id)
    std::string direction;      // "out" (the handset called) or "in"
    std::string number;         // the INVITE's dialled number, as the daemon logs it (number=)
    std::string verdict;        // "answered", "blocked", "failed 486", "not answered"
    std::string rule;           // the first policy rule or key an event of the call named
    std::uint64_t packets = 0;  // its SIP messages and the media through its pinholes
    std::uint64_t dropped = 0;
    std::string drop_reason;    // the reason of its most frequent drop
};

struct ReplaySummary {
    std::uint64_t packets = 0;
    std::uint64_t accept = 0;
    std::uint64_t drop = 0;
    std::map<std::string, std::uint64_t> reasons;
    std::uint64_t sip_messages = 0;
    std::map<std::string, std::uint64_t> sip_methods;
    std::map<std::string, std::uint64_t> sip_responses;
    std::uint64_t dialogs = 0;
    std::uint64_t pinholes_opened = 0;
    std::uint64_t pinholes_closed = 0;
    std::map<std::string, std::uint64_t> events;
    std::uint64_t handsets = 0;
    // Media addresses the PBX's SDP named and the policy refuses (one-way or
    // no audio): address -> the policy key to list it under when it is the
    // PBX's media relay, and how many SDPs named it.
    struct RefusedMedia {
        std::string key;
        std::uint64_t sdps = 0;
    };
    std::map<std::string, RefusedMedia> refused_media;
    // Refused media ports: "address key" -> the ports the SDPs named.
    struct RefusedPorts {
        std::string address;
        std::string key;
        std::map<std::uint16_t, std::uint64_t> ports;   // port -> SDPs
    };
    std::map<std::string, RefusedPorts> refused_ports;
    std::vector<ReplayCall> calls;      // in the order their first packet came
    std::vector<std::string> warnings;  // also written to `err`, with "voipguard replay: warning: "
};

// The short form of a Call-ID replay prints: its first 8 characters (before
// any '@').
std::string short_call_id(std::string_view call_id);

// Runs the engine over every capture in order (one engine: state carries
// over from one file to the next). Writes per-packet lines and the summary
// to `out`. Returns 0, or 2 with a message on `err` when a capture cannot be
// read or the policy cannot be compiled.
int run_replay(const config::Policy& policy, const ReplayOptions& options, std::ostream& out, std::ostream& err,
               ReplaySummary* summary = nullptr);

}  // namespace vg::daemon
