// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay` over the 41 interop captures of real phones, PBXs and
// SBCs in the third-party corpus (interop/, its MANIFEST says what each is),
// each with a policy of its own addressing (tests/data/replay/interop/): the
// capture's phones are the handsets, its PBX, proxy or SBC the PBX.
//
// For each capture the test checks, against figures taken from the capture
// with tshark (never from replay's own output; the filters are below):
//   - the frame count, and the SIP messages the engine reads: every message
//     with exactly one end in the handset networks (handset<->handset SIP is
//     not the engine's to read; SIP quoted in ICMP, tunnelled in IPIP,
//     carried over SCTP or inside WebSocket frames is not readable to it);
//     tshark -Y 'sip && !icmp && !ip.proto==4 && !sctp && !websocket &&
//     ((H.src && !H.dst) || (H.dst && !H.src))', counting every method and
//     status code;
//   - on every handset<->PBX leg, the UDP SIP datagrams the engine passed as
//     sip_inspected: tshark -Y 'sip && udp && !icmp && ip.addr==HANDSET &&
//     ip.addr==PBX' (a datagram reassembled from fragments counts once, on
//     its last fragment, in both);
//   - the NAT keep-alives on the legs (sip_keepalive): tshark -Y 'udp && !sip
//     && !icmp && LEGS && udp.port==SIP_PORT && udp.length<=40';
//   - every drop on a handset<->PBX leg, by reason, each explained below with
//     the filter that finds it: there is no other.
// Each capture is a test of its own and skips without the corpus.
#include "daemon/replay.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/test_data.h"

namespace vg::daemon {
namespace {

struct Leg {
    const char* handsets;   // a handset network of the policy (CIDR)
    const char* pbx;        // a PBX address of the policy
    std::uint64_t udp_sip;  // UDP SIP datagrams between them (tshark)
};

struct Case {
    const char* file;       // in the corpus's interop/ folder
    std::uint64_t packets;
    std::uint64_t sip_messages;
    std::uint64_t keepalives;
    std::vector<Leg> legs;
    // Drops on the handset<->PBX legs, by reason.
    std::map<std::string, std::uint64_t> drops;
};

// Why each remaining drop is right (the capture's frames, as tshark finds them):
//
// asterisk-testsuite__ast-2016-003__crash (udp: 128): crafted UDPTL datagrams
//   with no signalling at all: no SDP opened a pinhole (media_no_pinhole).
// asterisk-testsuite__dtmf_sdp_recognition (udp: 974): RTP with no signalling:
//   likewise.
// digital-forensics (ip.dst==10.21.1.247 && udp.dstport==4301: 8): the PBX's
//   RTCP to a desk phone whose call began before the capture (no SDP of it:
//   ip.addr==10.21.1.247 && sdp: 0). A live router saw that call's SDP.
// TCP connections open before the capture began (digital-forensics: 1,
//   heplify__sip_ipv4_tcp_fragmented: 7 and 189, sngrep__ipip: 2): a
//   direction picked up mid-stream is followed from its receiver's ACK, and
//   its data before that ACK is dropped unjudged (tcp_unjudged); a live
//   sender sends it again, a capture cannot. In the fragmented capture the
//   PBX then acknowledges bytes it got in the capture but that were dropped
//   here, so the ACK point falls inside a message: the connection is cut
//   (sip_stream_cut, every later segment of it). Live, the PBX's ACK would
//   stay at the start of the message it never got.
// gprshome-wireshark (icmp.type==8 && ip.src==192.168.1.103: 2): the PBX
//   pings the phones; the kernel drops pings into the voice network too
//   (icmp_unsolicited, no longer unlisted_source).
// heplify__sip_sctp (sctp && ip.src==10.249.30.11: 3; ip.src==10.108.207.113:
//   2): SIP over SCTP (RFC 4168), a transport the engine does not follow:
//   the kernel drops SCTP from the handsets (egress_denied, detail sctp) and
//   to them (unlisted_source, the kernel's catch-all).
// heplify__sip_tcp_websocket (ip.src==10.243.17.55 && tcp.dstport==8080 &&
//   tcp.len>0: 8): a browser's SIP over plain WebSocket (RFC 7118) to the
//   PBX's port 8080. Its frames are masked: the INVITE inside cannot be read,
//   so the toll-fraud guard could not judge its number (+12263382742). The
//   upgrade asking for the "sip" subprotocol is refused (sip_other_port, the
//   connection reset) and the segments after it are not judged
//   (tcp_unjudged). SIP over TLS (wss) passes as uninspected TLS.
// ndpi__rtcp_multiple_pkts_in_the_same_datagram (udp: 5): RTCP with no
//   signalling: media_no_pinhole.
// ndpi__sip (ip.dst==212.242.33.36: 10): the phone sends RTP and an RTCP BYE
//   to the PBX's media server a second after the PBX failed the call (480 at
//   frame 93, ACK at 94, RTP from frame 95 on): no call, no pinhole.
// sip_captures__Forensic_challenge_4 (_ws.expert.message contains "exceeds
//   packet length": 6): frames shorter than their IPv4 total length, which
//   the router's IP stack discards too (malformed_packet).
// sip_captures__test_voip (ip.src==192.168.87.86 && tcp.srcport==22 &&
//   tcp.dstport==51799 && frame.number<3761: 1): an SSH session from a phone
//   to the PBX host began before the capture; its first packet in the
//   capture is the PBX's, before any the phone sent. The kernel's connection
//   tracking, which saw the session start, lets it through; replay, which
//   did not, drops that one packet (the rest are egress_return).
// trex-core__delay_10_sip_video_call_full (udp.port==10110: 1644): media
//   between 21.0.0.35:10110 and 22.0.0.6:10110, which no SDP names (the SDPs
//   say 21.0.0.61:10018 and 22.0.0.6:10018): a spliced capture.
const std::vector<Case>& cases() {
    static const std::vector<Case> kCases = {
        // Linphone "jaK\0" every 10 s; Asterisk's direct-media re-INVITEs
        // name the other phone (handset_internal media, no warning).
        {"ISA__hodinovy_rozhovor_s_filipem.pcap", 328, 25, 5,
         {{"192.168.1.2/32", "192.168.1.12", 14}, {"192.168.1.13/32", "192.168.1.12", 11}}, {}},
        {"ISA__real_sip_call.pcap", 1599, 33, 33,
         {{"10.0.2.4/32", "10.0.2.15", 15}, {"10.0.2.5/32", "10.0.2.15", 18}}, {}},
        // Four zero bytes both ways; the RTP and RTCP BYE after the BYE
        // (frames 176-188) come before its 200 OK (frame 189).
        {"Laborator09__sip.pcap", 195, 19, 5, {{"192.168.60.101/32", "199.7.175.101", 19}}, {}},
        {"asterisk-testsuite__ast-2016-003__crash.pcap", 128, 0, 0, {}, {{"media_no_pinhole", 128}}},
        {"asterisk-testsuite__dtmf_sdp_recognition__ulaw-2013785496.pcap", 974, 0, 0, {}, {{"media_no_pinhole", 974}}},
        {"callflow__register.pcap", 4, 4, 0, {{"192.168.1.15/32", "54.247.82.138", 4}}, {}},
        // The softphone's RTCP 0.5 ms before its 200 OK (frame 323) and its
        // RTCP BYEs 2-4 ms after the 200 OK to the PBX's BYE (1357, 1359).
        {"digital-forensics-network-forensics-challenge__SIP.pcap", 1511, 620, 0,
         {{"10.21.0.0/17", "10.21.128.1", 560}}, {{"media_no_pinhole", 8}, {"tcp_unjudged", 1}}},
        {"eim_lab9__sip.pcap", 395, 17, 0, {{"192.168.57.101/32", "199.7.173.103", 17}}, {}},
        // CRLF pings and pongs.
        {"gprshome-wireshark__sip.pcap", 6627, 60, 26,
         {{"192.168.1.104/32", "192.168.1.103", 36}, {"192.168.1.105/32", "192.168.1.103", 24}},
         {{"icmp_unsolicited", 2}}},
        // The fax gateway's first RTP (frames 45-47) before its 200 OK.
        {"heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 7217, 92, 0,
         {{"10.35.40.200/32", "10.35.40.25", 46},
          {"10.35.60.100/32", "10.35.60.72", 23},
          {"192.168.100.219/32", "138.132.169.101", 23}},
         {}},
        // SIP over TCP on 6060 (tshark -d tcp.port==6060,sip).
        {"heplify__sip_ipv4_tcp_fragmented.pcap", 1542, 323, 0, {}, {{"sip_stream_cut", 189}, {"tcp_unjudged", 7}}},
        {"heplify__sip_ipv4_tcp_retrans.pcap", 196, 4, 0, {}, {}},
        {"heplify__sip_sctp.pcap", 5, 0, 0, {}, {{"egress_denied", 3}, {"unlisted_source", 2}}},
        {"heplify__sip_tcp_websocket.pcap", 61, 0, 0, {}, {{"sip_other_port", 1}, {"tcp_unjudged", 7}}},
        // A scan of two hosts with no PBX in the capture: no leg.
        {"ipfixprobe__sip.pcap", 50, 37, 0, {}, {}},
        {"ndpi__rtcp_multiple_pkts_in_the_same_datagram.pcap", 5, 0, 0, {}, {{"media_no_pinhole", 5}}},
        // Five spaces as a keep-alive.
        {"ndpi__sip.pcap", 112, 81, 21,
         {{"192.168.1.2/32", "212.242.33.35", 63}, {"192.168.1.2/32", "200.68.120.81", 18}},
         {{"media_no_pinhole", 10}}},
        // "hello" both ways.
        {"ndpi__sip_hello.pcapng", 30, 8, 22, {{"172.29.38.91/32", "10.239.156.235", 8}}, {}},
        {"ndpi__stun_dtls_rtp.pcapng", 102, 0, 0, {}, {}},
        {"nfstream__webex.pcap", 1580, 22, 0, {{"10.8.0.1/32", "172.16.1.75", 22}}, {}},
        {"packetnet__udp-ip-fragmented.pcap", 14, 13, 0, {{"10.226.2.154/32", "10.226.40.56", 13}}, {}},
        {"pcap2sipp__example.pcap", 41, 41, 0,
         {{"172.22.204.0/24", "10.252.41.104", 15},
          {"172.22.204.0/24", "10.252.47.107", 12},
          {"172.22.204.0/24", "10.252.47.186", 14}},
         {}},
        {"sip_captures__Forensic_challenge_4.pcap", 4447, 17, 1, {{"172.25.105.3/32", "172.25.105.40", 17}},
         {{"malformed_packet", 6}}},
        {"sip_captures__RTP-Protocol.pcap", 259, 9, 0, {{"10.33.6.100/32", "10.33.6.101", 9}}, {}},
        // The proxy's port unreachable about a phone's REGISTER (frame 2)
        // passes as icmp_related.
        {"sip_captures__private-test-sip.pcapng", 2004, 276, 0,
         {{"172.16.98.1/32", "172.16.98.102", 99}, {"172.16.98.181/32", "172.16.98.102", 177}}, {}},
        {"sip_captures__sip-2phones-B2BUA-Asterisk.pcapng", 416, 60, 0,
         {{"172.16.98.1/32", "172.16.98.101", 17},
          {"172.16.98.1/32", "172.16.98.102", 2},
          {"172.16.98.145/32", "172.16.98.101", 41}},
         {}},
        {"sip_captures__sip-488-Not-Acceptable-Here-codec-null.pcapng", 13, 11, 0,
         {{"192.168.8.183/32", "192.168.8.13", 9}, {"192.168.8.138/32", "192.168.8.13", 2}}, {}},
        {"sip_captures__sip-cme-zoiper-register.pcapng", 9, 9, 0, {{"192.168.0.3/32", "192.168.0.102", 9}}, {}},
        {"sip_captures__sip-flow-private.pcapng", 643, 45, 0,
         {{"172.16.98.1/32", "172.16.98.102", 34}, {"172.16.98.182/32", "172.16.98.102", 11}}, {}},
        {"sip_captures__sip-register-ok-unregister.pcapng", 18, 18, 0, {{"172.16.98.1/32", "172.16.98.101", 18}}, {}},
        {"sip_captures__sip-register-publish-subscribe-489-401.pcapng", 60, 60, 0,
         {{"172.16.98.1/32", "172.16.98.101", 60}}, {}},
        {"sip_captures__sip-register-to-repo-proxy.pcapng", 108, 28, 0, {{"172.16.98.1/32", "172.16.98.102", 28}}, {}},
        {"sip_captures__sip-register-wrong_password-401-403-401-403.pcapng", 8, 8, 0,
         {{"172.16.98.1/32", "172.16.98.101", 8}}, {}},
        {"sip_captures__sip-routing-error-wireshark.pcapng", 58, 58, 0,
         {{"172.16.98.1/32", "172.16.98.101", 10},
          {"172.16.98.1/32", "172.16.98.102", 10},
          {"172.16.98.145/32", "172.16.98.101", 38}},
         {}},
        // CSipSimple's RTP and RTCP (frames 4024-4035) before its 200 OK.
        {"sip_captures__test_voip.pcap.pcapng", 5933, 26, 5,
         {{"192.168.87.32/32", "192.168.87.86", 13},
          {"192.168.87.45/32", "192.168.87.86", 2},
          {"192.168.87.49/32", "192.168.87.86", 11}},
         {{"unlisted_source", 1}}},
        // The PBX's RTCP BYE (frame 591) after its BYE, before the 200 OK.
        {"sip_captures__voip-extension.pcap", 609, 29, 0,
         {{"192.168.5.10/32", "192.168.5.11", 22}, {"192.168.5.20/32", "192.168.5.11", 7}}, {}},
        {"sip_captures__voip-extension2downata.pcap", 412, 25, 0,
         {{"192.168.5.2/32", "192.168.5.5", 19}, {"192.168.5.10/32", "192.168.5.5", 6}}, {}},
        {"sip_captures__voip1b.pcapng", 715, 37, 0,
         {{"172.16.98.181/32", "172.16.98.180", 16}, {"172.16.98.182/32", "172.16.98.180", 21}}, {}},
        // Two of the four SIP messages travel inside an IPv4-in-IPv4 tunnel.
        {"sngrep__ipip.pcap", 4, 0, 0, {}, {{"tcp_unjudged", 2}}},
        {"sngrep__ipv6frag.pcap", 34, 32, 0,
         {{"fd17:625c:f037:2:a00:27ff:feb9:4222/128", "fd17:625c:f037:2:a00:27ff:feb9:3519", 16},
          {"fd17:625c:f037:2:a00:27ff:feb9:1521/128", "fd17:625c:f037:2:a00:27ff:feb9:3519", 16}},
         {}},
        {"trex-core__delay_10_sip_video_call_full.pcap", 1651, 7, 0, {{"21.0.0.0/24", "22.0.0.6", 7}},
         {{"media_no_pinhole", 1644}}},
    };
    return kCases;
}

std::string stem(const std::string& file) {
    for (const char* ext : {".pcapng", ".pcap"}) {
        const std::string e(ext);
        if (file.size() > e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0)
            return file.substr(0, file.size() - e.size());
    }
    return file;
}

config::Policy load(const std::string& path) {
    config::LoadOptions o;
    o.resolve_host_names = false;
    o.check_file_permissions = false;
    config::LoadResult r = config::load_policy_file(path, o);
    if (!r.ok()) {
        for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
        return {};
    }
    return *r.policy;
}

// "10.0.2.4:5060" or "[fd17::1]:5062".
std::optional<net::IpAddress> address_of(const std::string& endpoint) {
    if (!endpoint.empty() && endpoint.front() == '[') {
        const auto close = endpoint.find(']');
        if (close == std::string::npos) return std::nullopt;
        return net::IpAddress::parse(endpoint.substr(1, close - 1));
    }
    return net::IpAddress::parse(endpoint.substr(0, endpoint.rfind(':')));
}

bool in_any(const std::vector<net::Cidr>& nets, const net::IpAddress& a) {
    for (const net::Cidr& c : nets)
        if (c.contains(a)) return true;
    return false;
}

// Test names and failures name the capture.
void PrintTo(const Case& c, std::ostream* os) { *os << c.file; }

class ReplayInterop : public ::testing::TestWithParam<Case> {};

TEST_P(ReplayInterop, LegsReplayWithTheirSipAndOnlyTheDropsThatAreRight) {
    const Case& c = GetParam();
    const std::string file = "interop/" + std::string(c.file);
    VG_SKIP_WITHOUT_CORPUS(file, "replay of this capture's handset<->PBX legs against tshark's view of it");
    const config::Policy policy = load(test::data_path("replay/interop/" + stem(c.file) + ".yaml"));

    ReplayOptions o;
    o.captures = {test::corpus_path(file)};
    std::ostringstream out, err;
    ReplaySummary sum;
    ASSERT_EQ(run_replay(policy, o, out, err, &sum), 0) << err.str();
    EXPECT_EQ(sum.packets, c.packets);
    EXPECT_EQ(sum.sip_messages, c.sip_messages);

    std::vector<net::Cidr> handsets = policy.handsets.networks;
    std::vector<net::Cidr> pbx;
    for (const config::PbxPeer& peer : policy.peers.pbx) {
        for (const config::AddressEntry& a : peer.addresses)
            for (const net::Cidr& p : a.prefixes()) pbx.push_back(p);
        for (const config::AddressEntry& a : peer.media.addresses)
            for (const net::Cidr& p : a.prefixes()) pbx.push_back(p);
    }

    // "INDEX TIME PROTO SRC > DST VERDICT REASON".
    std::map<std::string, std::uint64_t> drops;
    std::vector<std::uint64_t> leg_sip(c.legs.size(), 0);
    std::uint64_t keepalives = 0;
    std::istringstream lines(out.str());
    for (std::string l; std::getline(lines, l);) {
        std::istringstream f(l);
        std::string index, time, proto, src, arrow, dst, verdict, reason;
        if (!(f >> index >> time >> proto >> src >> arrow >> dst >> verdict >> reason) || arrow != ">") continue;
        const auto s = address_of(src), d = address_of(dst);
        ASSERT_TRUE(s && d) << l;
        const bool out_leg = in_any(handsets, *s) && in_any(pbx, *d);
        const bool in_leg = in_any(handsets, *d) && in_any(pbx, *s);
        if (!out_leg && !in_leg) continue;
        const net::IpAddress& handset = out_leg ? *s : *d;
        const net::IpAddress& peer = out_leg ? *d : *s;
        if (verdict == "drop") ++drops[reason];
        if (reason == "sip_keepalive") ++keepalives;
        if (proto != "UDP" || reason != "sip_inspected") continue;
        for (std::size_t i = 0; i < c.legs.size(); ++i)
            if (net::Cidr::parse(c.legs[i].handsets)->contains(handset) &&
                *net::IpAddress::parse(c.legs[i].pbx) == peer)
                ++leg_sip[i];
    }
    for (std::size_t i = 0; i < c.legs.size(); ++i)
        EXPECT_EQ(leg_sip[i], c.legs[i].udp_sip) << c.legs[i].handsets << " <-> " << c.legs[i].pbx;
    EXPECT_EQ(keepalives, c.keepalives);
    EXPECT_EQ(drops, c.drops);
    // No SDP names a media address the capture's policy refuses.
    EXPECT_TRUE(sum.refused_media.empty()) << sum.refused_media.begin()->first;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string n;
    for (char ch : stem(info.param.file)) n.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
    return n;
}

INSTANTIATE_TEST_SUITE_P(Capture, ReplayInterop, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace vg::daemon
