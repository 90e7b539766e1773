// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay` over recorded and generated captures. Every expected
// figure is derived from the capture's content (the tshark command that shows
// it is in the comment), never copied from replay's own output. The recorded
// captures are in the third-party corpus (pcap/; their SHA-256 is checked
// against its manifest by CorpusManifest), the policies written for them in
// tests/data/replay/; a test skips without its capture.
#include "daemon/replay.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "config/loader.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_packets.h"
#include "tests/support/test_data.h"

namespace vg::daemon {
namespace {

using namespace test::sip_packets;
using test::Bytes;

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

config::Policy load_text(const std::string& yaml) {
    config::LoadOptions o;
    o.resolve_host_names = false;
    o.check_file_permissions = false;
    o.allow_includes = false;
    config::LoadResult r = config::load_policy_text(yaml, "generated.yaml", o);
    if (!r.ok()) {
        for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
        return {};
    }
    return *r.policy;
}

struct ReplayRun {
    int rc = -1;
    ReplaySummary sum;
    std::vector<std::string> lines;
    std::string err;
};

ReplayRun replay(const config::Policy& policy, const std::vector<std::string>& captures, bool json = true) {
    ReplayOptions o;
    o.captures = captures;
    o.json = json;
    std::ostringstream out, err;
    ReplayRun r;
    r.rc = run_replay(policy, o, out, err, &r.sum);
    r.err = err.str();
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) r.lines.push_back(l);
    return r;
}

std::uint64_t get(const std::map<std::string, std::uint64_t>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
}

// --- recorded captures -------------------------------------------------------

std::string capture(const std::string& name) { return test::corpus_path("pcap/" + name); }

#define VG_SKIP_WITHOUT_CAPTURE(name, what) VG_SKIP_WITHOUT_CORPUS("pcap/" + std::string(name), what)

TEST(ReplayCorpus, HeplifyUdpCallMatchesTheCaptureContent) {
    VG_SKIP_WITHOUT_CAPTURE("heplify__rtp_rtcp_sip_ipv4_udp.pcap", "replay's verdicts and summary against tshark's view of it");
    const ReplayRun r = replay(load(test::data_path("replay/heplify-udp.yaml")),
                               {capture("heplify__rtp_rtcp_sip_ipv4_udp.pcap")});
    ASSERT_EQ(r.rc, 0) << r.err;
    // tshark -r FILE | wc -l: 4269 frames, one JSON line each, then the summary.
    EXPECT_EQ(r.sum.packets, 4269u);
    EXPECT_EQ(r.lines.size(), 4270u);
    // tshark -Y sip: 14 SIP messages (INVITE x2, ACK, REGISTER x3, 100 x2,
    // 180 x2, 200 x4); three more datagrams on 5060 are bare CRLF keep-alives.
    EXPECT_EQ(r.sum.sip_messages, 14u);
    EXPECT_EQ(get(r.sum.sip_methods, "INVITE"), 2u);
    EXPECT_EQ(get(r.sum.sip_methods, "ACK"), 1u);
    EXPECT_EQ(get(r.sum.sip_methods, "REGISTER"), 3u);
    EXPECT_EQ(get(r.sum.sip_responses, "100"), 2u);
    EXPECT_EQ(get(r.sum.sip_responses, "180"), 2u);
    EXPECT_EQ(get(r.sum.sip_responses, "200"), 4u);
    // tshark -Y 'udp.port==5060 && !sip': the three keep-alives (2 bytes each).
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 14u);
    EXPECT_EQ(get(r.sum.reasons, "sip_keepalive"), 3u);
    // Two INVITEs with different Call-IDs (12013223@..., 12015624@...).
    EXPECT_EQ(r.sum.dialogs, 2u);
    // The handset's 200 OK (frame 498) offers 200.57.7.204:8000: RTP 8000 and
    // RTCP 8001. The second INVITE is never answered: no second SDP.
    EXPECT_EQ(r.sum.pinholes_opened, 2u);
    EXPECT_EQ(r.sum.pinholes_closed, 0u);   // no BYE in the capture
    // ip.src==200.57.7.196 && ip.dst==200.57.7.204: 897 (891 RTP + 6 RTCP),
    // all into the pinholes; the reverse direction: 556.
    EXPECT_EQ(get(r.sum.reasons, "media_pinhole"), 897u);
    EXPECT_EQ(get(r.sum.reasons, "media_outbound"), 556u);
    // Other traffic from the handsets (HTTP, POP, telnet, H.225): 267
    // packets; towards them 222, of which frame 495 (telnet data from
    // 200.57.7.195:23) belongs to a session opened before the capture began,
    // so no outbound packet made it return traffic: dropped.
    EXPECT_EQ(get(r.sum.reasons, "egress_allowed"), 267u);
    EXPECT_EQ(get(r.sum.reasons, "egress_return"), 221u);
    EXPECT_EQ(r.sum.drop, 1u);
    // Every packet line carries its protocol, addresses and ports.
    EXPECT_EQ(r.lines[494], "{\"file\":\"" + capture("heplify__rtp_rtcp_sip_ipv4_udp.pcap") +
                                "\",\"index\":495,\"proto\":\"TCP\",\"src\":\"200.57.7.195\",\"src_port\":23,"
                                "\"dst\":\"200.57.7.205\",\"dst_port\":3432,\"verdict\":\"drop\",\"reason\":"
                                "\"unlisted_source\"}");
    // ip && not handset traffic: 2146; not ip (ARP, ...): 164.
    EXPECT_EQ(get(r.sum.reasons, "not_voice_network"), 2146u);
    EXPECT_EQ(get(r.sum.reasons, "not_ip"), 164u);
    // Both phones REGISTER (frames 152 and 1724).
    EXPECT_EQ(r.sum.handsets, 2u);
    EXPECT_EQ(get(r.sum.events, "call_started"), 1u);
}

TEST(ReplayCorpus, HeplifyTcpCallIsReassembledAndItsMediaFollowsTheSdp) {
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "replay of a SIP-over-TCP call and its media against tshark");
    const ReplayRun r = replay(load(test::data_path("replay/heplify-tcp.yaml")), {capture("heplify__sip_ipv4_tcp.pcap")});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.sum.packets, 84u);
    // tshark -Y sip: INVITE, 100, 180, 200, ACK, BYE, 200 over TCP.
    EXPECT_EQ(r.sum.sip_messages, 7u);
    EXPECT_EQ(get(r.sum.sip_methods, "BYE"), 1u);
    // tshark -Y tcp: 16 segments, all between the phone and the PBX.
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 16u);
    // The INVITE offers 10.33.6.100:6000 (RTP + RTCP pinholes); the BYE
    // (frame 81) closes both.
    EXPECT_EQ(r.sum.pinholes_opened, 2u);
    EXPECT_EQ(r.sum.pinholes_closed, 2u);
    // udp && ip.src==10.33.6.101: 43 media packets in; ip.src==10.33.6.100: 25 out.
    EXPECT_EQ(get(r.sum.reasons, "media_pinhole"), 43u);
    EXPECT_EQ(get(r.sum.reasons, "media_outbound"), 25u);
    EXPECT_EQ(r.sum.drop, 0u);
}

TEST(ReplayCorpus, Ipv6CaptureWithUnbracketedRequestUrisIsReadAndPasses) {
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv6_udp.pcap", "replay reads an IPv6 call with unbracketed Request-URIs");
    const ReplayRun r = replay(load(test::data_path("replay/heplify-ipv6.yaml")), {capture("heplify__sip_ipv6_udp.pcap")});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.sum.packets, 6u);
    // The phone's INVITE, ACK and BYE carry "sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060",
    // an IPv6 host without brackets (RFC 5118 §4.2 wants them). Eight groups
    // and a port: it reads one way only, so the messages are judged as if
    // bracketed and pass with the PBX's 100 / 200 / 200: the call is not
    // dropped (tshark -Y sip: 6 messages).
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 6u);
    EXPECT_EQ(r.sum.sip_messages, 6u);
    EXPECT_EQ(get(r.sum.sip_methods, "INVITE"), 1u);
    EXPECT_EQ(get(r.sum.sip_methods, "ACK"), 1u);
    EXPECT_EQ(get(r.sum.sip_methods, "BYE"), 1u);
    EXPECT_EQ(get(r.sum.events, "malformed"), 0u);
    // Its SDP (c=IN IP6 fe80:0:0:0:21a:a0ff:fe07:32e0, m=audio 5008) opens RTP
    // and RTCP.
    EXPECT_EQ(r.sum.pinholes_opened, 2u);
}

// A PBX whose media relay is not its signalling address, with a policy that
// does not list the relay: every packet of the call's audio is refused. The
// summary says which address and under which key to list it.
TEST(ReplayCorpus, ARefusedMediaRelayIsNamedWithTheKeyToAddItTo) {
    const std::string file = "interop/eim_lab9__sip.pcap";
    VG_SKIP_WITHOUT_CORPUS(file, "replay names the PBX's media relay the policy refuses, and its key");
    const config::Policy p = load_text(
        "version: 1\nsite: no-relay\non_failure: closed\nhandsets:\n  networks: [192.168.57.101/32]\n"
        "peers:\n  pbx:\n    - name: onsip\n      addresses: [199.7.173.103]\ntoll_fraud:\n  country_code: \"1\"\n");
    const ReplayRun r = replay(p, {test::corpus_path(file)}, false);
    ASSERT_EQ(r.rc, 0) << r.err;
    // tshark -Y 'sdp && ip.src==199.7.173.103': one answer, c=IN IP4 199.7.175.76.
    ASSERT_EQ(r.sum.refused_media.size(), 1u);
    const auto& relay = r.sum.refused_media.begin();
    EXPECT_EQ(relay->first, "199.7.175.76");
    EXPECT_EQ(relay->second.key, "peers.pbx[0].media.addresses");
    EXPECT_EQ(relay->second.sdps, 1u);
    // ip.src==199.7.175.76 && ip.dst==192.168.57.101: 375 packets of audio
    // refused, from the very endpoint the SDP named (199.7.175.76:50052): a
    // policy mismatch, not an injection; the handset's 3 the other way.
    EXPECT_EQ(get(r.sum.reasons, "media_refused_by_policy"), 375u);
    EXPECT_EQ(get(r.sum.reasons, "media_injection"), 0u);
    EXPECT_EQ(get(r.sum.events, "media_injection"), 0u);
    EXPECT_EQ(get(r.sum.reasons, "media_destination_denied"), 3u);
    bool said = false;
    std::uint64_t refused_lines = 0;
    for (const std::string& l : r.lines) {
        said = said || (l.find("refused media: the PBX's SDP named 199.7.175.76") != std::string::npos &&
                        l.find("add it to peers.pbx[0].media.addresses") != std::string::npos);
        if (l.find(" UDP 199.7.175.76:50052 > 192.168.57.101:54410 drop media_refused_by_policy (no pinhole: SDP "
                   "refused by policy) rule=peers.pbx[0].media.addresses call=dc8b5170") != std::string::npos)
            ++refused_lines;
    }
    EXPECT_TRUE(said);
    EXPECT_EQ(refused_lines, 375u);
    // With the relay listed, the same call has its audio (the policy written
    // for this capture).
    const ReplayRun ok = replay(load(test::data_path("replay/interop/eim_lab9__sip.yaml")), {test::corpus_path(file)});
    EXPECT_TRUE(ok.sum.refused_media.empty());
    EXPECT_EQ(get(ok.sum.reasons, "media_pinhole"), 375u);
    EXPECT_EQ(ok.sum.drop, 0u);
}

TEST(ReplayCorpus, SipMessageCountsAgreeWithTshark) {
    // tshark -r FILE -Y sip | wc -l for each capture, with a policy whose
    // handsets and PBX are the capture's two SIP parties.
    struct Case {
        const char* policy;
        const char* capture;
        std::uint64_t tshark_sip;
    };
    const Case cases[] = {
        {"replay/heplify-udp.yaml", "heplify__rtp_rtcp_sip_ipv4_udp.pcap", 14},
        {"replay/heplify-udp.yaml", "suricata-verify__sip-body-frames__public-cloudshark-sip-s0.pcap", 10},
        {"replay/heplify-tcp.yaml", "heplify__sip_ipv4_tcp.pcap", 7},
    };
    for (const Case& c : cases) VG_SKIP_WITHOUT_CAPTURE(c.capture, "replay's SIP message counts against tshark's");
    for (const Case& c : cases) {
        const ReplayRun r = replay(load(test::data_path(c.policy)), {capture(c.capture)});
        EXPECT_EQ(r.sum.sip_messages, c.tshark_sip) << c.capture;
    }
}

TEST(ReplayCorpus, TextOutputHasOneLinePerPacketAndASummary) {
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "replay's text output: a line per packet and a summary");
    const ReplayRun r = replay(load(test::data_path("replay/heplify-tcp.yaml")), {capture("heplify__sip_ipv4_tcp.pcap")},
                               false);
    ASSERT_EQ(r.rc, 0);
    ASSERT_GE(r.lines.size(), 85u);
    EXPECT_EQ(r.lines[2].rfind("3 1311857686.", 0), 0u) << r.lines[2];
    EXPECT_NE(r.lines[2].find("TCP 10.33.6.100:64802 > 10.33.6.101:5060 accept sip_inspected"), std::string::npos)
        << r.lines[2];
    EXPECT_EQ(r.lines[84].rfind("summary: 84 packets, 84 accepted, 0 dropped", 0), 0u) << r.lines[84];
}

TEST(ReplayErrors, UnreadableCaptureIsExit2WithMessage) {
    const ReplayRun r = replay(load(test::data_path("replay/heplify-tcp.yaml")), {"/nonexistent/capture.pcap"});
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.err.find("/nonexistent/capture.pcap"), std::string::npos) << r.err;
    EXPECT_TRUE(r.lines.empty());
}

TEST(ReplayErrors, NotACaptureIsExit2) {
    const ReplayRun r = replay(load(test::data_path("replay/heplify-tcp.yaml")), {test::data_path("replay/heplify-tcp.yaml")});
    EXPECT_EQ(r.rc, 2);
    EXPECT_FALSE(r.err.empty());
}

// --- a generated capture: a whole call and the attacks around it ---------------

// Writes a classic pcap (LINKTYPE_RAW) with one packet per 20 ms.
class PcapWriter {
public:
    explicit PcapWriter(const std::string& path) : out_(path, std::ios::binary) {
        put32(0xa1b2c3d4);
        put16(2);
        put16(4);
        put32(0);
        put32(0);
        put32(65535);
        put32(101);
    }
    void add(const Bytes& ip, std::uint32_t sec, std::uint32_t usec) {
        put32(sec);
        put32(usec);
        put32(static_cast<std::uint32_t>(ip.size()));
        put32(static_cast<std::uint32_t>(ip.size()));
        out_.write(reinterpret_cast<const char*>(ip.data()), static_cast<std::streamsize>(ip.size()));
    }

private:
    void put32(std::uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), 4); }
    void put16(std::uint16_t v) { out_.write(reinterpret_cast<const char*>(&v), 2); }
    std::ofstream out_;
};

const char* kSitePolicy = R"(
version: 1
site: generated
handsets:
  networks: [192.168.20.0/24]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10]
      media:
        addresses: [203.0.113.64/27]
        ports: "10000-20000"
  support:
    - name: noc
      addresses: [198.51.100.7]
      ports: ["tcp/22"]
toll_fraud:
  country_code: "44"
  deny_prefixes: ["+882"]
)";

TEST(ReplayGenerated, CallWithAttacksGivesTheExpectedVerdicts) {
    char dir[] = "/tmp/vg-replay-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/call.pcap";
    {
        PcapWriter w(path);
        std::uint32_t t = 1700000000, us = 0;
        auto add = [&](const Bytes& b) {
            w.add(b, t, us);
            us += 20000;
            if (us >= 1000000) { us -= 1000000; ++t; }
        };
        const char* h = "192.168.20.10";
        const char* pbx = "203.0.113.10";
        const char* media = "203.0.113.70";
        // 1-2: registration.
        add(v4udp(h, 5060, pbx, 5060, request("REGISTER", "sip:pbx.example.net", "reg", "f", "", 1)));
        add(v4udp(pbx, 5060, h, 5060, response(200, "OK", "REGISTER", 1, "reg", "t", "",
                                               "Contact: <sip:201@192.168.20.10>;expires=600\r\n")));
        // 3-6: a national call, answered.
        add(v4udp(h, 5060, pbx, 5060, request("INVITE", "sip:02079460000@pbx.example.net", "call", "f", "", 1,
                                              sdp(h, 40000))));
        add(v4udp(pbx, 5060, h, 5060, response(100, "Trying", "INVITE", 1, "call", "")));
        add(v4udp(pbx, 5060, h, 5060, response(200, "OK", "INVITE", 1, "call", "t1", sdp(media, 12000))));
        add(v4udp(h, 5060, pbx, 5060, request("ACK", "sip:02079460000@pbx.example.net", "call", "f", "t1", 1)));
        // 7-16: five RTP packets each way.
        for (unsigned i = 0; i < 5; ++i) {
            add(v4udp(media, 12000, h, 40000, rtp(i)));
            add(v4udp(h, 40000, media, 12000, rtp(i)));
        }
        // 17-18: RTP injected into the pinhole by an attacker; a scanner.
        add(v4udp("192.0.2.66", 12000, h, 40000, rtp(9)));
        add(v4udp("192.0.2.66", 5060, h, 5060,
                  request("OPTIONS", "sip:100@192.168.20.10", "scan", "a", "", 1, "", "friendly-scanner")));
        // 19: the same handset tries a denied destination.
        add(v4udp(h, 5060, pbx, 5060, request("INVITE", "sip:0088213000001@pbx.example.net", "fraud", "f", "", 1,
                                              sdp(h, 40010))));
        // 20-21: support reaches SSH; telnet is not listed.
        add(v4tcp("198.51.100.7", 50000, h, 22, 0x02, ""));
        add(v4tcp("198.51.100.7", 50001, h, 23, 0x02, ""));
        // 22-23: hang-up, answered; 24: RTP in flight 20 ms after the
        // answer; 25: RTP 1 s later, to the closed pinhole.
        add(v4udp(h, 5060, pbx, 5060, request("BYE", "sip:02079460000@pbx.example.net", "call", "f", "t1", 2)));
        add(v4udp(pbx, 5060, h, 5060, response(200, "OK", "BYE", 2, "call", "t1", "", "", "f")));
        add(v4udp(media, 12000, h, 40000, rtp(6)));
        ++t;
        add(v4udp(media, 12000, h, 40000, rtp(7)));
    }
    const ReplayRun r = replay(load_text(kSitePolicy), {path});
    ASSERT_EQ(r.rc, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 26u);
    auto verdict_of = [&](int index) {
        const std::string& l = r.lines[static_cast<std::size_t>(index - 1)];
        const auto v = l.find("\"verdict\":\"");
        const auto e = l.find('"', v + 11);
        const auto rs = l.find("\"reason\":\"");
        const auto re = l.find('"', rs + 10);
        return l.substr(v + 11, e - v - 11) + "/" + l.substr(rs + 10, re - rs - 10);
    };
    for (int i = 1; i <= 6; ++i) EXPECT_EQ(verdict_of(i), "accept/sip_inspected") << i;
    for (int i = 7; i <= 16; i += 2) EXPECT_EQ(verdict_of(i), "accept/media_pinhole") << i;
    for (int i = 8; i <= 16; i += 2) EXPECT_EQ(verdict_of(i), "accept/media_outbound") << i;
    EXPECT_EQ(verdict_of(17), "drop/media_injection");
    EXPECT_EQ(verdict_of(18), "drop/unlisted_source");
    EXPECT_EQ(verdict_of(19), "drop/toll_fraud");
    EXPECT_EQ(verdict_of(20), "accept/support_allowed");
    EXPECT_EQ(verdict_of(21), "drop/support_port_denied");
    EXPECT_EQ(verdict_of(22), "accept/sip_inspected");
    EXPECT_EQ(verdict_of(23), "accept/sip_inspected");
    EXPECT_EQ(verdict_of(24), "accept/media_pinhole");
    EXPECT_EQ(verdict_of(25), "drop/media_no_pinhole");
    // 25 packets: 5 dropped (17, 18, 19, 21, 25).
    EXPECT_EQ(r.sum.packets, 25u);
    EXPECT_EQ(r.sum.drop, 5u);
    // SIP: REGISTER, 200, INVITE, 100, 200, ACK, OPTIONS (scanner), INVITE
    // (fraud), BYE, 200.
    EXPECT_EQ(r.sum.sip_messages, 10u);
    // One dialog: the fraudulent INVITE never becomes one.
    EXPECT_EQ(r.sum.dialogs, 1u);
    // RTP 40000 + RTCP 40001 opened by the INVITE's SDP, both closed by the
    // BYE's 200.
    EXPECT_EQ(r.sum.pinholes_opened, 2u);
    EXPECT_EQ(r.sum.pinholes_closed, 2u);
    EXPECT_EQ(get(r.sum.events, "scanner"), 1u);
    EXPECT_EQ(get(r.sum.events, "toll_fraud"), 1u);
    EXPECT_EQ(get(r.sum.events, "media_injection"), 1u);
    EXPECT_EQ(r.sum.handsets, 1u);
    // The last line is the JSON summary.
    EXPECT_EQ(r.lines.back().rfind("{\"summary\":{\"packets\":25,\"verdicts\":{\"accept\":20,\"drop\":5}", 0), 0u)
        << r.lines.back();
    std::remove(path.c_str());
    rmdir(dir);
}

}  // namespace
}  // namespace vg::daemon
