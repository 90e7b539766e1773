// SPDX-License-Identifier: GPL-2.0-or-later
// PcapReader: pcap/pcapng through libpcap, frame numbering as tshark's, link
// decoding, and clear errors for missing, cut and foreign files.
//
// Expected frame counts come from tshark:
//   tshark -r FILE -T fields -e frame.number | wc -l
// IP frame counts from `tshark -r FILE -Y ip` (or `-Y ipv6`), VLAN frames from
// `tshark -r FILE -Y vlan`, first-frame times and lengths from
//   tshark -r FILE -c 1 -T fields -e frame.time_epoch -e frame.cap_len -e frame.len
// The recorded captures are in the third-party corpus (pcap/, with their
// SHA-256 in its manifest: CorpusManifest checks them); a test that needs
// one skips without it.
#include "daemon/pcap_reader.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "filters/net/packet.h"
#include "tests/support/corpus_gtest.h"

namespace vg::daemon {
namespace {

using net::LinkType;

std::string corpus(const std::string& name) { return vg::test::corpus_path("pcap/" + name); }

#define VG_SKIP_WITHOUT_CAPTURE(name, what) VG_SKIP_WITHOUT_CORPUS("pcap/" + std::string(name), what)

std::string temp_file(const std::string& name, const std::string& bytes) {
    const std::string path = ::testing::TempDir() + "vg_pcap_reader_" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

void put32(std::string& s, std::uint32_t v) {  // host byte order, as a pcap writer does
    char b[4];
    std::memcpy(b, &v, 4);
    s.append(b, 4);
}
void put16(std::string& s, std::uint16_t v) {
    char b[2];
    std::memcpy(b, &v, 2);
    s.append(b, 2);
}

// Classic pcap file: global header + records. `nano` selects the
// nanosecond-resolution magic.
std::string pcap_file(std::uint32_t linktype, const std::vector<std::string>& frames, bool nano = false,
                      std::uint32_t sub_second = 0) {
    std::string s;
    put32(s, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16(s, 2);
    put16(s, 4);
    put32(s, 0);
    put32(s, 0);
    put32(s, 65535);
    put32(s, linktype);
    std::uint32_t sec = 1700000000;
    for (const auto& f : frames) {
        put32(s, sec++);
        put32(s, sub_second);
        put32(s, static_cast<std::uint32_t>(f.size()));
        put32(s, static_cast<std::uint32_t>(f.size()));
        s += f;
    }
    return s;
}

// A minimal IPv4/UDP packet (checksums zero).
std::string ipv4_udp() {
    const unsigned char p[] = {0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
                               0x13, 0xc4, 0x13, 0xc4, 0, 10, 0, 0, 'h', 'i'};
    return std::string(reinterpret_cast<const char*>(p), sizeof p);
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Count {
    std::uint64_t frames = 0;
    std::uint64_t ip = 0;
    std::uint64_t vlan = 0;
    PcapReader::Next last = PcapReader::Next::frame;
};

Count count_frames(PcapReader& r) {
    Count c;
    PcapFrame f;
    while ((c.last = r.next(f)) == PcapReader::Next::frame) {
        ++c.frames;
        EXPECT_EQ(f.index, c.frames);
        if (f.link.ok() && f.link.is_ip) ++c.ip;
        if (f.link.vlan_count > 0) ++c.vlan;
    }
    return c;
}

struct Expected {
    const char* file;
    std::uint64_t frames;  // tshark -T fields -e frame.number | wc -l
    std::uint64_t ip;      // tshark -Y ip (or ipv6) | wc -l
    LinkType link;
};

void PrintTo(const Expected& e, std::ostream* os) { *os << e.file; }

class PcapReaderCorpus : public ::testing::TestWithParam<Expected> {};

TEST_P(PcapReaderCorpus, FrameCountLinkTypeAndIpFramesMatchTshark) {
    const Expected& e = GetParam();
    VG_SKIP_WITHOUT_CAPTURE(e.file, "its frame count, link type and IP frames against tshark's");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus(e.file))) << r.error();
    EXPECT_EQ(r.link_type(), e.link);
    const Count c = count_frames(r);
    EXPECT_EQ(c.last, PcapReader::Next::end) << r.error();
    EXPECT_EQ(c.frames, e.frames);
    EXPECT_EQ(c.ip, e.ip);
    EXPECT_EQ(r.frames_read(), e.frames);
    EXPECT_TRUE(r.error().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Tshark, PcapReaderCorpus,
    ::testing::Values(Expected{"heplify__sip_ipv4_tcp.pcap", 84, 84, LinkType::ethernet},
                      Expected{"heplify__rtp_rtcp_sip_ipv4_udp.pcap", 4269, 4105, LinkType::ethernet},
                      Expected{"heplify__sip_ipv6_udp.pcap", 6, 6, LinkType::ethernet},
                      Expected{"suricata-verify__sip-method__sip.pcap", 691, 647, LinkType::ethernet},
                      Expected{"ndpi__rtp.pcapng", 112, 112, LinkType::ethernet},
                      Expected{"suricata-verify__sip-body-large__sip-body-large.pcap", 16, 16, LinkType::null},
                      Expected{"zeek__sip-long-request-response-paths.pcap", 2, 2, LinkType::ipv4}),
    [](const ::testing::TestParamInfo<Expected>& param_info) {
        std::string n = param_info.param.file;
        n = n.substr(0, n.find('.'));
        for (char& ch : n)
            if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return n;
    });

TEST(PcapReader, FirstFrameTimestampAndLengthsMatchTshark) {
    // frame.time_epoch 1311857686.556175000, cap_len 78, len 78 (microsecond
    // file, read with nanosecond precision).
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "the first frame's timestamp and lengths against tshark's");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("heplify__sip_ipv4_tcp.pcap")));
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.index, 1u);
    EXPECT_EQ(f.ts_sec, 1311857686);
    EXPECT_EQ(f.ts_nsec, 556175000u);
    EXPECT_EQ(f.captured_length, 78u);
    EXPECT_EQ(f.original_length, 78u);
    EXPECT_EQ(f.link.l3_offset, 14u);
    const net::DecodedPacket p = net::decode_ip(f.link.l3, f.link.l3_length);
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(p.is_tcp());
}

TEST(PcapReader, PcapngFirstFrameMatchesTshark) {
    // frame.time_epoch 1332741131.936370000, cap_len 1486, len 1486.
    VG_SKIP_WITHOUT_CAPTURE("ndpi__rtp.pcapng", "the first pcapng frame against tshark");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("ndpi__rtp.pcapng")));
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.ts_sec, 1332741131);
    EXPECT_EQ(f.ts_nsec, 936370000u);
    EXPECT_EQ(f.captured_length, 1486u);
    EXPECT_EQ(f.original_length, 1486u);
}

TEST(PcapReader, PcapngVlanTaggedFramesAreDecodedToIp) {
    // tshark -r ndpi__rtp.pcapng -Y vlan: 30 frames.
    VG_SKIP_WITHOUT_CAPTURE("ndpi__rtp.pcapng", "VLAN-tagged pcapng frames decode to IP");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("ndpi__rtp.pcapng")));
    const Count c = count_frames(r);
    EXPECT_EQ(c.vlan, 30u);
    EXPECT_EQ(c.ip, 112u);
}

TEST(PcapReader, NullLinkHeaderIsSkipped) {
    VG_SKIP_WITHOUT_CAPTURE("suricata-verify__sip-body-large__sip-body-large.pcap", "the BSD loopback header is skipped");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("suricata-verify__sip-body-large__sip-body-large.pcap")));
    EXPECT_EQ(r.link_type(), LinkType::null);
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.link.l3_offset, 4u);
    EXPECT_EQ(f.captured_length, 68u);  // tshark frame.cap_len
    EXPECT_TRUE(net::decode_ip(f.link.l3, f.link.l3_length).ok());
}

TEST(PcapReader, RawIpv4LinkStartsAtTheIpHeader) {
    // tshark: File encapsulation Raw IPv4; frame 1 cap_len 9591.
    VG_SKIP_WITHOUT_CAPTURE("zeek__sip-long-request-response-paths.pcap", "a raw IPv4 capture starts at the IP header");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("zeek__sip-long-request-response-paths.pcap")));
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.link.l3_offset, 0u);
    EXPECT_EQ(f.captured_length, 9591u);
    const net::DecodedPacket p = net::decode_ip(f.link.l3, f.link.l3_length);
    EXPECT_TRUE(p.ok()) << p.reason;
    EXPECT_TRUE(p.is_udp());
}

TEST(PcapReader, LinuxCookedSllFileIsDecoded) {
    std::string sll;
    put16(sll, 0);             // packet type (byte order irrelevant: 0)
    sll += std::string("\x00\x01", 2);  // ARPHRD_ETHER
    sll += std::string("\x00\x06", 2);  // address length
    sll += std::string(8, '\x11');      // address
    sll += std::string("\x08\x00", 2);  // protocol IPv4
    const std::string path = temp_file("sll.pcap", pcap_file(113, {sll + ipv4_udp()}));
    PcapReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    EXPECT_EQ(r.link_type(), LinkType::linux_sll);
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_TRUE(f.link.ok());
    EXPECT_TRUE(f.link.is_ip);
    EXPECT_EQ(f.link.l3_offset, 16u);
    EXPECT_TRUE(net::decode_ip(f.link.l3, f.link.l3_length).is_udp());
    EXPECT_EQ(r.next(f), PcapReader::Next::end);
    std::remove(path.c_str());
}

TEST(PcapReader, LinuxCookedSll2FileIsDecoded) {
    std::string sll2;
    sll2 += std::string("\x08\x00", 2);      // protocol IPv4
    sll2 += std::string(2, '\0');            // reserved
    sll2 += std::string("\x00\x00\x00\x02", 4);  // interface index
    sll2 += std::string("\x00\x01", 2);      // ARPHRD_ETHER
    sll2 += std::string("\x00\x06", 2);      // packet type, address length
    sll2 += std::string(8, '\x22');          // address
    const std::string path = temp_file("sll2.pcap", pcap_file(276, {sll2 + ipv4_udp()}));
    PcapReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    EXPECT_EQ(r.link_type(), LinkType::linux_sll2);
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_TRUE(f.link.is_ip);
    EXPECT_EQ(f.link.l3_offset, 20u);
    EXPECT_TRUE(net::decode_ip(f.link.l3, f.link.l3_length).is_udp());
    std::remove(path.c_str());
}

TEST(PcapReader, NanosecondFileKeepsNanoseconds) {
    const std::string path = temp_file("nano.pcap", pcap_file(101, {ipv4_udp()}, true, 123456789));
    PcapReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.ts_sec, 1700000000);
    EXPECT_EQ(f.ts_nsec, 123456789u);
    EXPECT_EQ(f.link.l3_offset, 0u);
    std::remove(path.c_str());
}

TEST(PcapReader, FrameThatIsNotIpIsReportedPerFrameNotAsAnError) {
    std::string arp(14, '\0');
    arp[12] = '\x08';
    arp[13] = '\x06';
    arp += std::string(28, '\0');
    const std::string path = temp_file("arp.pcap", pcap_file(1, {arp}));
    PcapReader r;
    ASSERT_TRUE(r.open(path));
    PcapFrame f;
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_TRUE(f.link.ok());
    EXPECT_FALSE(f.link.is_ip);
    EXPECT_EQ(f.link.reason, "not_ip");
    EXPECT_EQ(r.next(f), PcapReader::Next::end);
    std::remove(path.c_str());
}

TEST(PcapReader, MissingFileIsAnErrorNamingTheFile) {
    PcapReader r;
    const std::string path = ::testing::TempDir() + "vg_pcap_reader_does_not_exist.pcap";
    EXPECT_FALSE(r.open(path));
    EXPECT_FALSE(r.is_open());
    EXPECT_EQ(r.error().rfind(path + ": cannot read capture", 0), 0u) << r.error();
    PcapFrame f;
    EXPECT_EQ(r.next(f), PcapReader::Next::error);
}

TEST(PcapReader, EmptyFileIsAnError) {
    const std::string path = temp_file("empty.pcap", "");
    PcapReader r;
    EXPECT_FALSE(r.open(path));
    EXPECT_NE(r.error().find("cannot read capture"), std::string::npos) << r.error();
    std::remove(path.c_str());
}

TEST(PcapReader, TextFileIsNotACapture) {
    const std::string path = temp_file("text.pcap", "This is not a capture file, just some text.\n");
    PcapReader r;
    EXPECT_FALSE(r.open(path));
    EXPECT_NE(r.error().find("cannot read capture"), std::string::npos) << r.error();
    std::remove(path.c_str());
}

TEST(PcapReader, UnsupportedLinkTypeIsAnError) {
    const std::string path = temp_file("wifi.pcap", pcap_file(105, {std::string(40, '\0')}));  // 802.11
    PcapReader r;
    EXPECT_FALSE(r.open(path));
    EXPECT_NE(r.error().find("unsupported link type: 105"), std::string::npos) << r.error();
    PcapFrame f;
    EXPECT_EQ(r.next(f), PcapReader::Next::error);
    std::remove(path.c_str());
}

TEST(PcapReader, RecordCutInItsDataIsAnErrorAfterTheGoodFrames) {
    // Global header (24) + record 1 (16 + 78) + record 2 header + 10 bytes.
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "a record cut in its data is an error after the good frames");
    const std::string whole = read_all(corpus("heplify__sip_ipv4_tcp.pcap"));
    ASSERT_GT(whole.size(), 24u + 16 + 78 + 16 + 10);
    const std::string path = temp_file("cut.pcap", whole.substr(0, 24 + 16 + 78 + 16 + 10));
    PcapReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    const Count c = count_frames(r);
    EXPECT_EQ(c.frames, 1u);
    EXPECT_EQ(c.last, PcapReader::Next::error);
    EXPECT_NE(r.error().find("frame 2"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();
    PcapFrame f;
    EXPECT_EQ(r.next(f), PcapReader::Next::error);  // stays in error
    std::remove(path.c_str());
}

TEST(PcapReader, RecordCutInItsHeaderIsAnError) {
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "a record cut in its header is an error");
    const std::string whole = read_all(corpus("heplify__sip_ipv4_tcp.pcap"));
    const std::string path = temp_file("cut_header.pcap", whole.substr(0, 24 + 16 + 78 + 7));
    PcapReader r;
    ASSERT_TRUE(r.open(path));
    const Count c = count_frames(r);
    EXPECT_EQ(c.frames, 1u);
    EXPECT_EQ(c.last, PcapReader::Next::error) << "libpcap accepted a cut record header";
    std::remove(path.c_str());
}

TEST(PcapReader, TruncatedPcapngIsAnErrorNotACrash) {
    VG_SKIP_WITHOUT_CAPTURE("ndpi__rtp.pcapng", "a pcapng cut in half is an error, not a crash");
    const std::string whole = read_all(corpus("ndpi__rtp.pcapng"));
    const std::string path = temp_file("cut.pcapng", whole.substr(0, whole.size() / 2));
    PcapReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    const Count c = count_frames(r);
    EXPECT_GT(c.frames, 0u);
    EXPECT_LT(c.frames, 112u);
    EXPECT_EQ(c.last, PcapReader::Next::error);
    EXPECT_FALSE(r.error().empty());
    std::remove(path.c_str());
}

TEST(PcapReader, CorruptRecordLengthIsAnError) {
    // Record 2 claims 0x7fffffff captured bytes.
    VG_SKIP_WITHOUT_CAPTURE("heplify__sip_ipv4_tcp.pcap", "a corrupt record length is an error");
    std::string bytes = read_all(corpus("heplify__sip_ipv4_tcp.pcap"));
    const std::size_t rec2 = 24 + 16 + 78;
    ASSERT_GT(bytes.size(), rec2 + 16);
    const std::uint32_t huge = 0x7fffffffu;
    std::string patched = bytes;
    // The file's byte order is the writer's; overwrite both length fields
    // with a value that is huge in either order.
    std::memcpy(&patched[rec2 + 8], &huge, 4);
    std::memcpy(&patched[rec2 + 12], &huge, 4);
    const std::string path = temp_file("corrupt.pcap", patched);
    PcapReader r;
    ASSERT_TRUE(r.open(path));
    const Count c = count_frames(r);
    EXPECT_EQ(c.frames, 1u);
    EXPECT_EQ(c.last, PcapReader::Next::error);
    EXPECT_NE(r.error().find("frame 2"), std::string::npos) << r.error();
    std::remove(path.c_str());
}

TEST(PcapReader, ReopeningStartsNumberingAgainAndMovesKeepTheHandle) {
    for (const char* f : {"suricata-verify__sip-tcp-method__sip-tcp.pcap", "suricata-verify__sip-tcp-pattern-matching__sip.pcap"})
        VG_SKIP_WITHOUT_CAPTURE(f, "reopening restarts frame numbers and a move keeps the handle");
    PcapReader r;
    ASSERT_TRUE(r.open(corpus("suricata-verify__sip-tcp-method__sip-tcp.pcap")));
    EXPECT_EQ(count_frames(r).frames, 11u);  // tshark: 11 frames
    PcapFrame f;
    EXPECT_EQ(r.next(f), PcapReader::Next::end);
    ASSERT_TRUE(r.open(corpus("suricata-verify__sip-tcp-pattern-matching__sip.pcap")));
    ASSERT_EQ(r.next(f), PcapReader::Next::frame);
    EXPECT_EQ(f.index, 1u);
    PcapReader moved(std::move(r));
    EXPECT_TRUE(moved.is_open());
    while (moved.next(f) == PcapReader::Next::frame) {
    }
    EXPECT_EQ(f.index, 7u);  // tshark: 7 frames
    EXPECT_EQ(moved.frames_read(), 7u);
}

}  // namespace
}  // namespace vg::daemon
