// SPDX-License-Identifier: GPL-2.0-or-later
// `voipguard replay` of a capture taken elsewhere against a site's real
// policy: --map (IPv4, IPv6, the SIP/SDP text), the warnings (a capture
// that never touches the voice network; a host name without an address),
// what each packet line names (SIP method or status, number, rule, call;
// JSON: protocol, addresses, ports) and the table of calls. The generated
// captures are written here; the recorded one is in the third-party corpus
// (the test skips without it).
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

config::Policy load_text(const std::string& yaml) {
    config::LoadOptions o;
    o.resolve_host_names = false;
    o.check_file_permissions = false;
    o.allow_includes = false;
    config::LoadResult r = config::load_policy_text(yaml, "site.yaml", o);
    if (!r.ok()) {
        for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
        return {};
    }
    return *r.policy;
}

config::Policy load_file(const std::string& path) {
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

// The site: phones in 192.168.20.0/24 (2001:db8:20::/64), a PBX at
// 203.0.113.10 (2001:db8:10::10) with media from 203.0.113.64/27
// (2001:db8:10::/64) on ports 10000-20000.
const char* kSite = R"(
version: 1
site: site
handsets:
  networks: [192.168.20.0/24, "2001:db8:20::/64"]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10, "2001:db8:10::10"]
      media:
        addresses: [203.0.113.64/27, "2001:db8:10::/64"]
        ports: "10000-20000"
toll_fraud:
  country_code: "44"
  deny_prefixes: ["+882"]
)";

// A classic pcap (LINKTYPE_RAW), one packet each 20 ms, in a directory of
// its own that goes with the object.
class Capture {
public:
    Capture() {
        char dir[] = "/tmp/vg-replay-site-XXXXXX";
        if (mkdtemp(dir) != nullptr) dir_ = dir;
        path_ = dir_ + "/capture.pcap";
        out_.open(path_, std::ios::binary);
        put32(0xa1b2c3d4);
        put16(2);
        put16(4);
        put32(0);
        put32(0);
        put32(65535);
        put32(101);
    }
    ~Capture() {
        std::remove(path_.c_str());
        rmdir(dir_.c_str());
    }
    void add(const Bytes& ip) {
        put32(sec_);
        put32(usec_);
        put32(static_cast<std::uint32_t>(ip.size()));
        put32(static_cast<std::uint32_t>(ip.size()));
        out_.write(reinterpret_cast<const char*>(ip.data()), static_cast<std::streamsize>(ip.size()));
        usec_ += 20000;
        if (usec_ >= 1000000) {
            usec_ -= 1000000;
            ++sec_;
        }
    }
    const std::string& path() {
        out_.flush();
        return path_;
    }

private:
    void put32(std::uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), 4); }
    void put16(std::uint16_t v) { out_.write(reinterpret_cast<const char*>(&v), 2); }
    std::string dir_;
    std::string path_;
    std::ofstream out_;
    std::uint32_t sec_ = 1700000000, usec_ = 0;
};

struct ReplayRun {
    int rc = -1;
    ReplaySummary sum;
    std::vector<std::string> lines;
    std::string err;
};

ReplayRun replay(const config::Policy& policy, const std::string& capture, const std::vector<std::string>& maps,
           bool json = false, bool no_resolve = false) {
    ReplayOptions o;
    o.captures = {capture};
    o.json = json;
    o.no_resolve = no_resolve;
    for (const std::string& m : maps) {
        std::string error;
        EXPECT_TRUE(o.map.add(m, error)) << error;
    }
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

// A phone at the other place (10.5.5.10) calls 02079460000 through its PBX
// (198.18.0.10, media 198.18.0.70:12000), with five RTP packets each way;
// then it tries +882 (denied) and hangs up the first call.
void write_call_v4(Capture& c) {
    const char* h = "10.5.5.10";
    const char* pbx = "198.18.0.10";
    const char* media = "198.18.0.70";
    auto via = [&](const std::string& m) {   // the phone's own address in its Via and Contact
        std::string s = m;
        for (std::size_t at; (at = s.find("192.168.20.10")) != std::string::npos;) s.replace(at, 13, h);
        return s;
    };
    c.add(v4udp(h, 5060, pbx, 5060,
                via(request("INVITE", "sip:02079460000@198.18.0.10", "call-one@10.5.5.10", "f1", "", 1,
                            sdp(h, 40000)))));
    c.add(v4udp(pbx, 5060, h, 5060, via(response(100, "Trying", "INVITE", 1, "call-one@10.5.5.10", ""))));
    c.add(v4udp(pbx, 5060, h, 5060,
                via(response(200, "OK", "INVITE", 1, "call-one@10.5.5.10", "t1", sdp(media, 12000)))));
    c.add(v4udp(h, 5060, pbx, 5060,
                via(request("ACK", "sip:02079460000@198.18.0.10", "call-one@10.5.5.10", "f1", "t1", 1))));
    for (unsigned i = 0; i < 5; ++i) {
        c.add(v4udp(media, 12000, h, 40000, rtp(i)));
        c.add(v4udp(h, 40000, media, 12000, rtp(i)));
    }
    c.add(v4udp(h, 5060, pbx, 5060,
                via(request("INVITE", "sip:0088213000001@198.18.0.10", "fraud-two@10.5.5.10", "f2", "", 1,
                            sdp(h, 40010)))));
    c.add(v4udp(h, 5060, pbx, 5060,
                via(request("BYE", "sip:02079460000@198.18.0.10", "call-one@10.5.5.10", "f1", "t1", 2))));
    c.add(v4udp(pbx, 5060, h, 5060, via(response(200, "OK", "BYE", 2, "call-one@10.5.5.10", "t1", "", "", "f1"))));
}

const std::vector<std::string> kMapV4 = {"10.5.5.0/24=192.168.20.0/24", "198.18.0.10=203.0.113.10",
                                         "198.18.0.64/27=203.0.113.64/27"};

TEST(ReplaySite, WithoutAMapNothingTouchesTheVoiceNetworkAndReplaySaysWhatToMap) {
    Capture c;
    write_call_v4(c);
    const ReplayRun r = replay(load_text(kSite), c.path(), {});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(get(r.sum.reasons, "not_voice_network"), 17u);
    const std::string w =
        "no packet of the capture touches the voice network (all 17 are not_voice_network): the capture's SIP "
        "traffic uses 10.5.5.10, 198.18.0.10; the policy's handsets are 192.168.20.0/24, 2001:db8:20::/64 and its "
        "PBX 203.0.113.10, 2001:db8:10::10: map the capture's addresses onto the policy's with --map "
        "CAPTURE_CIDR=POLICY_CIDR";
    ASSERT_EQ(r.sum.warnings, std::vector<std::string>{w});
    EXPECT_EQ(r.err, "voipguard replay: warning: " + w + "\n");
    // Calls outside the voice network are none of the engine's: no table.
    EXPECT_TRUE(r.sum.calls.empty());
    // JSON carries it in the summary.
    const ReplayRun j = replay(load_text(kSite), c.path(), {}, true);
    EXPECT_NE(j.lines.back().find("\"warnings\":[\"no packet of the capture touches the voice network"),
              std::string::npos)
        << j.lines.back();
}

TEST(ReplaySite, MappedCaptureCallsWithItsMediaAsOnSite) {
    Capture c;
    write_call_v4(c);
    const ReplayRun r = replay(load_text(kSite), c.path(), kMapV4);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(r.sum.warnings.empty()) << r.err;
    EXPECT_EQ(r.err, "");
    // The PBX's SDP (c=198.18.0.70, now 203.0.113.70) opened the way for
    // its media: the SDP's text was mapped too, or the relay would be refused.
    EXPECT_EQ(get(r.sum.reasons, "media_pinhole"), 5u);
    EXPECT_EQ(get(r.sum.reasons, "media_outbound"), 5u);
    EXPECT_TRUE(r.sum.refused_media.empty());
    EXPECT_EQ(get(r.sum.reasons, "toll_fraud"), 1u);
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 6u);
    EXPECT_EQ(r.sum.drop, 1u);
    // Each SIP line names the message, the number, the rule and the call.
    EXPECT_EQ(r.lines[0].substr(r.lines[0].find(" UDP ")),
              " UDP 192.168.20.10:5060 > 203.0.113.10:5060 accept sip_inspected sip=INVITE number=+4420xxxxxx00 "
              "rule=peers.pbx[0] call=call-one");
    // The answer starts the call: its line has the number as VG_CALL_STARTED logs it.
    EXPECT_EQ(r.lines[2].substr(r.lines[2].find(" UDP ")),
              " UDP 203.0.113.10:5060 > 192.168.20.10:5060 accept sip_inspected sip=200/INVITE number=+4420xxxxxx00 "
              "rule=peers.pbx[0] call=call-one");
    EXPECT_EQ(r.lines[4].substr(r.lines[4].find(" UDP ")),
              " UDP 203.0.113.70:12000 > 192.168.20.10:40000 accept media_pinhole rule=peers.pbx[0].media "
              "call=call-one");
    EXPECT_EQ(r.lines[14].substr(r.lines[14].find(" UDP ")),
              " UDP 192.168.20.10:5060 > 203.0.113.10:5060 drop toll_fraud sip=INVITE number=+8821xxxxx01 "
              "rule=deny_prefix:+882 call=fraud-tw");
    // The table of calls, after the summary.
    const auto table = std::find(r.lines.begin(), r.lines.end(), "  calls: 2");
    ASSERT_NE(table, r.lines.end());
    ASSERT_GE(r.lines.end() - table, 4);
    EXPECT_EQ(table[1], "    call      dir  number         verdict       rule              packets  dropped");
    EXPECT_EQ(table[2], "    call-one  out  +4420xxxxxx00  answered      -                 16       0");
    EXPECT_EQ(table[3], "    fraud-tw  out  +8821xxxxx01   blocked       deny_prefix:+882  1        1 (toll_fraud)");
}

// Numbers are masked as the log masks them (logging.mask_numbers, on by
// default: above); with it off they are shown whole.
TEST(ReplaySite, NumbersAreWholeWithMaskingOff) {
    Capture c;
    write_call_v4(c);
    config::Policy p = load_text(kSite);
    p.logging.mask_numbers = false;
    const ReplayRun r = replay(p, c.path(), kMapV4);
    const auto table = std::find(r.lines.begin(), r.lines.end(), "  calls: 2");
    ASSERT_NE(table, r.lines.end());
    ASSERT_GE(r.lines.end() - table, 4);
    EXPECT_EQ(table[2], "    call-one  out  +442079460000  answered      -                 16       0");
    EXPECT_EQ(table[3], "    fraud-tw  out  +88213000001   blocked       deny_prefix:+882  1        1 (toll_fraud)");
}

TEST(ReplaySite, JsonLinesCarryTheAddressesAndTheCallsTable) {
    Capture c;
    write_call_v4(c);
    const ReplayRun r = replay(load_text(kSite), c.path(), kMapV4, true);
    ASSERT_EQ(r.rc, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 18u);
    const std::string head = "{\"file\":\"" + c.path() + "\",";
    EXPECT_EQ(r.lines[0], head +
                              "\"index\":1,\"proto\":\"UDP\",\"src\":\"192.168.20.10\",\"src_port\":5060,\"dst\":"
                              "\"203.0.113.10\",\"dst_port\":5060,\"verdict\":\"accept\",\"reason\":\"sip_inspected\","
                              "\"sip\":\"INVITE\",\"number\":\"+4420xxxxxx00\",\"rule\":\"peers.pbx[0]\",\"call\":"
                              "\"call-one\"}");
    EXPECT_EQ(r.lines[5], head +
                              "\"index\":6,\"proto\":\"UDP\",\"src\":\"192.168.20.10\",\"src_port\":40000,\"dst\":"
                              "\"203.0.113.70\",\"dst_port\":12000,\"verdict\":\"accept\",\"reason\":\"media_outbound\","
                              "\"rule\":\"peers.pbx[0].media\",\"call\":\"call-one\"}");
    const std::string& s = r.lines.back();
    EXPECT_NE(s.find("\"calls\":[{\"call\":\"call-one\",\"direction\":\"out\",\"number\":\"+4420xxxxxx00\","
                     "\"verdict\":\"answered\",\"rule\":\"\",\"packets\":16,\"dropped\":0},{\"call\":\"fraud-tw\","
                     "\"direction\":\"out\",\"number\":\"+8821xxxxx01\",\"verdict\":\"blocked\",\"rule\":"
                     "\"deny_prefix:+882\",\"packets\":1,\"dropped\":1,\"drop_reason\":\"toll_fraud\"}]"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("\"warnings\":[]"), std::string::npos) << s;
}

TEST(ReplaySite, Ipv6CaptureIsMappedInHeadersAndSdp) {
    Capture c;
    const char* h = "fd00:5::10";
    const char* pbx = "fd00:18::10";
    const char* media = "fd00:18::70";
    c.add(v6udp(h, 5060, pbx, 5060,
                request("INVITE", "sip:02079460000@[fd00:18::10]", "six", "f1", "", 1, sdp(h, 40000, "", true))));
    c.add(v6udp(pbx, 5060, h, 5060, response(200, "OK", "INVITE", 1, "six", "t1", sdp(media, 12000, "", true))));
    c.add(v6udp(media, 12000, h, 40000, rtp(1)));
    c.add(v6udp(h, 40000, media, 12000, rtp(1)));
    const ReplayRun none = replay(load_text(kSite), c.path(), {});
    EXPECT_EQ(get(none.sum.reasons, "not_voice_network"), 4u);
    ASSERT_EQ(none.sum.warnings.size(), 1u);
    EXPECT_NE(none.sum.warnings[0].find("the capture's SIP traffic uses fd00:18::10, fd00:5::10;"), std::string::npos)
        << none.sum.warnings[0];
    const ReplayRun r = replay(load_text(kSite), c.path(), {"fd00:5::/64=2001:db8:20::/64", "fd00:18::/64=2001:db8:10::/64"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(r.sum.warnings.empty()) << r.err;
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 2u);
    EXPECT_EQ(get(r.sum.reasons, "media_pinhole"), 1u);
    EXPECT_EQ(get(r.sum.reasons, "media_outbound"), 1u);
    EXPECT_EQ(r.lines[2].substr(r.lines[2].find(" UDP ")),
              " UDP [2001:db8:10::70]:12000 > [2001:db8:20::10]:40000 accept media_pinhole rule=peers.pbx[0].media "
              "call=six");
}

// A PBX given by host name, not looked up: the peer has no address and all
// its packets are dropped. Replay says so before the packets, and at the end
// the capture's traffic to it is all drops.
TEST(ReplaySite, AnUnresolvedPbxHostNameIsAWarning) {
    const config::Policy p = load_text(R"(
version: 1
site: site
handsets:
  networks: [192.168.20.0/24]
peers:
  pbx:
    - name: cloud
      addresses: [pbx.example.net]
  support:
    - name: noc
      addresses: [noc.example.net, 198.51.100.7]
      ports: ["tcp/22"]
)");
    Capture c;
    c.add(v4udp("192.168.20.10", 5060, "203.0.113.10", 5060,
                request("REGISTER", "sip:pbx.example.net", "reg", "f", "", 1)));
    const ReplayRun r = replay(p, c.path(), {}, false, true);
    ASSERT_EQ(r.rc, 0) << r.err;
    const std::vector<std::string> expected = {
        "peers.pbx[0].addresses[0]: the host name pbx.example.net was not resolved (--no-resolve): the PBX cloud "
        "has no address, and its packets will be dropped; give its address in the policy, or replay without "
        "--no-resolve where the name resolves",
        "peers.support[0].addresses[0]: the host name noc.example.net was not resolved (--no-resolve): the packets "
        "of that host will be dropped (the support peer noc keeps its other addresses); give its address in the "
        "policy, or replay without --no-resolve where the name resolves",
    };
    EXPECT_EQ(r.sum.warnings, expected);
    EXPECT_EQ(r.err, "voipguard replay: warning: " + expected[0] + "\nvoipguard replay: warning: " + expected[1] + "\n");
    EXPECT_EQ(r.sum.drop, 1u);
    EXPECT_EQ(get(r.sum.reasons, "rogue_sip_destination"), 1u);
}

// Packet text in a line is escaped: a crafted Call-ID cannot write control
// bytes to the terminal or split the line's fields.
TEST(ReplaySite, PacketTextInLinesIsEscaped) {
    Capture c;
    c.add(v4udp("192.168.20.10", 5060, "203.0.113.10", 5060,
                request("INVITE", "sip:02079460000@203.0.113.10", "\x1b[2J\xc3@x", "f1", "", 1,
                        sdp("192.168.20.10", 40000))));
    const ReplayRun r = replay(load_text(kSite), c.path(), {});
    ASSERT_EQ(r.rc, 0) << r.err;
    ASSERT_FALSE(r.lines.empty());
    EXPECT_EQ(r.lines[0].substr(r.lines[0].find(" UDP ")),
              " UDP 192.168.20.10:5060 > 203.0.113.10:5060 accept sip_inspected sip=INVITE number=+4420xxxxxx00 "
              "rule=peers.pbx[0] call=\\x1b[2J\\xc3");
}

// SIP over TCP keeps its text (rewriting it would shift the stream's
// sequence numbers): replay maps its IP headers and says how many segments
// name a mapped address (tshark -r FILE -Y 'tcp.len>0 && tcp contains
// "10.33.6."': 7, every SIP segment of the capture).
TEST(ReplaySite, SipOverTcpTextIsNotMappedAndReplaySaysSo) {
    const std::string file = "pcap/heplify__sip_ipv4_tcp.pcap";
    VG_SKIP_WITHOUT_CORPUS(file, "the warning about SIP-over-TCP text that --map leaves as captured");
    const config::Policy p = load_text("version: 1\nsite: s\nhandsets:\n  networks: [192.168.33.100/32]\n"
                                       "peers:\n  pbx:\n    - name: p\n      addresses: [192.168.33.101]\n");
    const ReplayRun r = replay(p, test::corpus_path(file), {"10.33.6.0/24=192.168.33.0/24"});
    ASSERT_EQ(r.rc, 0) << r.err;
    const std::string w = "7 SIP-over-TCP segments name a mapped address in their text: --map rewrote only their IP "
                          "headers (a TCP stream's text is replayed as captured)";
    EXPECT_EQ(r.sum.warnings, std::vector<std::string>{w});
    EXPECT_EQ(r.err, "voipguard replay: warning: " + w + "\n");
    // The headers were mapped: the 16 packets of the SIP stream (tshark -Y
    // tcp.port==5060) are inspected between the policy's handset and PBX.
    EXPECT_EQ(get(r.sum.reasons, "sip_inspected"), 16u);
    EXPECT_EQ(r.sum.handsets, 1u);
}

// The recorded call of a doubango phone through OnSIP, replayed against the
// example office policy (config/examples/office.yaml) unchanged: the phone,
// the PBX and its media relay mapped onto the policy's addresses. OnSIP's
// relay offers port 50052 (tshark -r FILE -Y 'sdp && ip.src==199.7.173.103'
// -T fields -e sdp.media: "audio 50052 RTP/AVP 0 8 101"), outside the
// office's media ports 10000-20000: the 375 packets of its audio
// (ip.src==199.7.175.76 && ip.dst==192.168.57.101) are dropped as what they
// are, a policy mismatch, and the SDP is named with the key to widen.
TEST(ReplaySite, OfficePolicyAgainstARecordedCallNamesTheRefusedMediaPort) {
    const std::string file = "interop/eim_lab9__sip.pcap";
    VG_SKIP_WITHOUT_CORPUS(file, "replay of a recorded call against the example office policy through --map");
    const config::Policy office = load_file(std::string(VG_SOURCE_DIR) + "/config/examples/office.yaml");
    const ReplayRun r = replay(office, test::corpus_path(file),
                         {"192.168.57.0/24=192.168.20.0/24", "199.7.173.103=203.0.113.10", "199.7.175.76=203.0.113.70"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(r.sum.warnings.empty()) << r.err;
    EXPECT_EQ(get(r.sum.reasons, "media_refused_by_policy"), 375u);
    EXPECT_EQ(get(r.sum.reasons, "media_injection"), 0u);
    EXPECT_EQ(get(r.sum.events, "media_port_not_allowed"), 1u);
    ASSERT_EQ(r.sum.refused_ports.size(), 1u);
    const ReplaySummary::RefusedPorts& rp = r.sum.refused_ports.begin()->second;
    EXPECT_EQ(rp.address, "203.0.113.70");
    EXPECT_EQ(rp.key, "peers.pbx[0].media.ports");
    EXPECT_EQ(rp.ports, (std::map<std::uint16_t, std::uint64_t>{{50052, 1}}));
    // Frame 15 is the relay's first RTP packet.
    EXPECT_EQ(r.lines[14].substr(r.lines[14].find(" UDP ")),
              " UDP 203.0.113.70:50052 > 192.168.20.101:54410 drop media_refused_by_policy (no pinhole: SDP refused by "
              "policy) rule=peers.pbx[0].media.ports call=dc8b5170");
    bool said = false;
    for (const std::string& l : r.lines)
        said = said || l == "  refused media: the PBX's SDP named port 50052 of 203.0.113.70 (1 SDP), outside "
                            "peers.pbx[0].media.ports: its calls lose their audio; widen peers.pbx[0].media.ports to "
                            "the ports the PBX uses";
    EXPECT_TRUE(said);
    ASSERT_EQ(r.sum.calls.size(), 1u);
    const ReplayCall& call = r.sum.calls[0];
    EXPECT_EQ(call.call, "dc8b5170");
    EXPECT_EQ(call.number, "thetestcall");   // sip:thetestcall@getonsip.com
    EXPECT_EQ(call.verdict, "answered");
    EXPECT_EQ(call.rule, "peers.pbx[0].media.ports");
    EXPECT_EQ(call.drop_reason, "media_refused_by_policy");
}

}  // namespace
}  // namespace vg::daemon
