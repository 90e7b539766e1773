// SPDX-License-Identifier: GPL-2.0-or-later
// What the daemon asks the kernel to do, independent of the rule backend
// (nftables or iptables + ipset). Built from the policy by
// rule_spec_from_policy(); a backend turns it into its own ruleset, installs
// it atomically, updates only the sets on reload, and removes everything it
// installed on shutdown.
//
// The packet path (see README "Kernel rules"):
//   forward hook, mangle priority (before the router's filter rules):
//     source in the handset networks, input interface not a voice interface
//                                              -> NFLOG, DROP (forged source)
//     from a voice interface, source outside the handset networks, to a PBX
//       signalling or media address or a SIP port -> NFLOG, DROP (foreign source)
//     not to/from a handset network            -> continue (not ours)
//     both ends in handset networks            -> continue
//     conntrack mark & `mark_mask` == `verified_mark` -> continue (fast path)
//   towards the handsets:
//     SIP ports from a PBX signalling address  -> NFQUEUE
//     support address to its listed port      -> set `verified_mark` under the mask, continue
//     [static_media: from PBX media addresses and ports -> set mark, continue]
//     UDP from a PBX media address             -> NFQUEUE (first packets of media;
//       this comes BEFORE the return-traffic rule: media the handset sent
//       first must still be verified by the engine, so that its pinhole, and
//       the conntrack entry the daemon deletes at BYE, govern it)
//     reply direction of a handset-initiated
//       connection (ESTABLISHED/RELATED)       -> continue
//     anything else                            -> NFLOG (rate-limited sample), DROP (counted)
//   from the handsets:
//     TCP and UDP, to anywhere                 -> NFQUEUE (the engine judges SIP by
//       content on every port, egress, media; it marks the flows it is done
//       with as verified, so their later packets take the fast path: TCP
//       egress after its first data segment, UDP media to the PBX)
//     SCTP                                     -> NFLOG + DROP (a SIP transport the
//       engine does not follow; no handset needs it)
//     other protocols (ICMP, ...):
//       egress allow-list (when enabled)       -> continue if listed, else NFLOG + DROP
//       anything else                          -> continue
//   forward hook, filter priority (after the queue verdict): TCP whose packet
//     mark has `reset_mark` under `mark_mask` (the daemon cut the stream)
//     -> REJECT with a TCP reset to the sender
//   postrouting hook, after the router's filter: packet mark `verified_mark`
//     under `mark_mask` -> copied (those bits only) to the conntrack mark (the
//     queue verdict sets the packet mark; kernels without
//     CONFIG_NETFILTER_NETLINK_GLUE_CT cannot set the conntrack mark from the
//     verdict directly).
// The daemon's rules never accept: they drop, reject, or let the packet
// continue to the router's own firewall.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/net/ip_address.h"

namespace vg::kernel {

enum class L4 : std::uint8_t { tcp, udp };

// The packet/conntrack mark values voipguard writes are a signature of
// several bits under a mask, never one bit: a single bit is set by accident
// by other rules (QoS scripts keep the DSCP in the top six bits of the
// conntrack mark, the layout of tc's ctinfo action) and then made an
// attacker's flow "verified". The default mask 0x00ff0000 is clear of the
// common layouts: ctinfo/DSCP (0xfc000000 with the state bit 0x01000000),
// OpenWrt mwan3 (0x3f00), kube-proxy (0x4000, 0x8000). Tailscale writes
// 0x40000 and 0x80000 under 0xff0000, the same mask, but values that differ
// from ours in several bits; they clobber our mark (the flow is queued
// again), they cannot forge it. The start-up check (mark_check.h) refuses a
// router rule that can write our values.
constexpr std::uint32_t kDefaultMarkMask = 0x00ff0000;
constexpr std::uint32_t kDefaultVerifiedMark = 0x005a0000;
// The reset value: the complement of the verified value under the mask.
constexpr std::uint32_t reset_mark_for(std::uint32_t verified, std::uint32_t mask) { return ~verified & mask; }

// ICMP errors from the PBX that conntrack cannot place (the flow they quote
// is gone), queued to the engine at most this many a second (each of the
// signalling and media addresses); the rest are dropped and sampled.
constexpr int kIcmpQueueRate = 50;

struct MarkSignature {
    std::uint32_t mask = kDefaultMarkMask;
    std::uint32_t verified = kDefaultVerifiedMark;
    std::uint32_t reset = reset_mark_for(kDefaultVerifiedMark, kDefaultMarkMask);
};

// `--mark VALUE[/MASK]` (hex, 0x optional; without a mask the default mask):
// the mask has at least 4 bits, the value lies inside it and is neither 0
// nor the whole mask (so the reset value is not 0 either). False with the
// reason.
bool parse_mark_signature(std::string_view text, MarkSignature& out, std::string& error);
// The same checks for a value and mask (RuleSpec validation).
bool valid_mark_signature(std::uint32_t verified, std::uint32_t mask, std::string& error);

struct ServiceEntry {
    net::Cidr source;          // support address / egress destination
    L4 protocol = L4::tcp;
    std::uint16_t first_port = 0;
    std::uint16_t last_port = 0;
};

struct RuleSpec {
    std::string name = "voipguard";      // table / chain / set name prefix
    std::uint16_t queue = 0;             // NFQUEUE number
    bool fail_open = true;               // policy on_failure: open (bypass + fail-open)
    bool monitor = false;                // mode: monitor: the kernel drops nothing either
    // The mark signature (see MarkSignature): flows whose conntrack mark
    // has `verified_mark` under `mark_mask` take the fast path; packets
    // whose packet mark has `reset_mark` under it are rejected with a TCP
    // reset.
    std::uint32_t mark_mask = kDefaultMarkMask;
    std::uint32_t verified_mark = kDefaultVerifiedMark;
    std::uint32_t reset_mark = reset_mark_for(kDefaultVerifiedMark, kDefaultMarkMask);
    std::uint16_t nflog_group = 5060;    // samples of kernel drops
    std::uint32_t nflog_rate_per_second = 10;   // sample budget
    std::uint32_t nflog_burst = 20;

    std::vector<net::Cidr> handsets;
    // The interfaces the handset networks are attached to. When set, a
    // handset source arriving on another interface is forged, and a packet
    // from these interfaces with a source outside the handset networks, to
    // the PBX or a SIP port, is foreign: both NFLOG-sampled and dropped
    // before anything else. Empty: no interface binding.
    std::vector<std::string> voice_interfaces;
    std::vector<net::Cidr> pbx_signalling;
    std::vector<net::Cidr> pbx_media;
    std::vector<std::uint16_t> sip_ports;
    std::vector<ServiceEntry> support;   // to handset ports
    bool egress_allow_list = false;
    std::vector<ServiceEntry> egress;    // from handsets, when egress_allow_list
    // Static media allowance (SRTP/TLS without readable SDP).
    bool static_media = false;
    std::uint16_t static_media_first_port = 0;
    std::uint16_t static_media_last_port = 0;
    // Per PBX: its media prefixes with its own media port range (UDP source
    // ports). When empty, backends use pbx_media x first..last port above;
    // rule_spec_from_policy() fills this list and sets first..last to the
    // smallest range covering every PBX's range. The backends check the
    // static allowance before the "UDP from a PBX media address -> NFQUEUE"
    // rule, which would otherwise take every packet it covers.
    std::vector<ServiceEntry> static_media_sources;
};

// Checks what every backend relies on: the name is 1..16 characters
// [A-Za-z][A-Za-z0-9_]* (it prefixes chain, set and table names), the mark
// signature is valid (valid_mark_signature, reset = complement), port ranges are ordered, the prefix lists are not empty where the
// packet path needs them (handsets). Returns false with the reason.
bool validate(const RuleSpec& spec, std::string& error);

// The prefixes sorted (IPv4 first), without duplicates and without prefixes
// inside another one of the list: the same addresses, and valid elements of
// an nftables interval set (which refuses overlaps).
std::vector<net::Cidr> minimal_prefixes(std::vector<net::Cidr> prefixes);

// The same (address, protocol, port) space as `entries`, as entries that do
// not overlap one another (nftables concatenated interval sets refuse
// overlaps), sorted by family, protocol, port range, address.
std::vector<ServiceEntry> disjoint_services(const std::vector<ServiceEntry>& entries);

// The static media allowance as entries (empty unless spec.static_media):
// static_media_sources, or pbx_media x first..last when that list is empty.
std::vector<ServiceEntry> static_media_entries(const RuleSpec& spec);

// "192.0.2.1" for a host prefix, "192.0.2.0/24" otherwise.
std::string prefix_text(const net::Cidr& c);

const char* to_string(L4 protocol);

}  // namespace vg::kernel

namespace vg::config {
struct Policy;
}

namespace vg::kernel {

// The rule spec of a policy: handset networks, PBX signalling and media
// prefixes (media.addresses, or the PBX's addresses where media.addresses is
// absent), SIP ports, support and egress entries (one per prefix and port),
// the static media allowance, mode and on_failure. `base` supplies what the
// policy does not set (name, mark signature, NFLOG group and budget).
RuleSpec rule_spec_from_policy(const config::Policy& policy, std::uint16_t queue, RuleSpec base = {});

}  // namespace vg::kernel
