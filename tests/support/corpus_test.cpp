// SPDX-License-Identifier: GPL-2.0-or-later
// The third-party corpus helpers: the corpus is what its manifests say it is
// (so the exact counts other tests expect hold), SHA-256, the RFC 5118 wire
// form, and the capture reader the fuzz seeds are cut with.
#include "tests/support/capture_file.h"
#include "tests/support/corpus.h"
#include "tests/support/corpus_gtest.h"
#include "tests/support/sip_wire_form.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace vg::test {
namespace {

// ---------------------------------------------------------------- the corpus and its manifests

TEST(CorpusManifest, EveryListedFileHasItsSizeAndSha256) {
    VG_SKIP_WITHOUT_CORPUS("MANIFEST.tsv", "every corpus file against the size and SHA-256 of its manifest");
    const std::vector<ManifestEntry> entries = corpus_manifest();
    ASSERT_FALSE(entries.empty());
    for (const ManifestEntry& e : entries) {
        const std::optional<std::string> bytes = read_corpus_file(e.file);
        if (!bytes) {
            ADD_FAILURE() << e.file << " is in the manifest but not in " << corpus_dir();
            continue;
        }
        EXPECT_EQ(bytes->size(), e.bytes) << e.file;
        EXPECT_EQ(sha256_hex(*bytes), e.sha256) << e.file << ": not the file the manifest names (" << e.source
                                                 << "); tests expecting its exact content will disagree";
        EXPECT_FALSE(e.license.empty()) << e.file;
    }
}

TEST(CorpusManifest, EveryCorpusFileIsListedWithItsLicence) {
    VG_SKIP_WITHOUT_CORPUS("MANIFEST.tsv", "that every corpus file has a manifest line naming its source and licence");
    std::set<std::string> listed;
    for (const ManifestEntry& e : corpus_manifest()) listed.insert(e.file);
    std::size_t files = 0;
    for (const char* folder : {"rfc4475", "rfc5118", "pcap", "interop"}) {
        for (const std::string& name : list_corpus_dir(folder)) {
            EXPECT_EQ(listed.count(std::string(folder) + "/" + name), 1u) << folder << "/" << name << " has no manifest line";
            ++files;
        }
    }
    EXPECT_GT(files, 0u);
}

TEST(CorpusDir, EnvironmentVariableOverridesTheConfiguredFolder) {
    const char* old = std::getenv("VOIPGUARD_CORPUS_DIR");
    const std::string saved = old ? old : "";
    setenv("VOIPGUARD_CORPUS_DIR", "/nonexistent/corpus", 1);
    EXPECT_EQ(corpus_dir(), "/nonexistent/corpus");
    EXPECT_EQ(corpus_path("pcap/x.pcap"), "/nonexistent/corpus/pcap/x.pcap");
    EXPECT_FALSE(corpus_has(""));
    EXPECT_FALSE(read_corpus_file("MANIFEST.tsv").has_value());
    EXPECT_TRUE(list_corpus_dir("pcap").empty());
    EXPECT_TRUE(corpus_manifest().empty());
    const std::string reason = corpus_skip_reason("pcap/x.pcap", "something");
    EXPECT_NE(reason.find("no third-party corpus at /nonexistent/corpus"), std::string::npos) << reason;
    EXPECT_NE(reason.find("would have checked something"), std::string::npos) << reason;
    setenv("VOIPGUARD_CORPUS_DIR", "", 1);  // empty: the configured folder
    EXPECT_EQ(corpus_dir(), configured_corpus_dir());
    if (old) setenv("VOIPGUARD_CORPUS_DIR", saved.c_str(), 1);
    else unsetenv("VOIPGUARD_CORPUS_DIR");
}

// ---------------------------------------------------------------- SHA-256

TEST(Sha256, Fips180Examples) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // 56 bytes: the padding needs a second block.
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// ---------------------------------------------------------------- RFC 5118 wire form

TEST(SipWireForm, LfLinesBecomeCrlfAndContentLengthTheBodyLength) {
    const std::string in =
        "INVITE sip:201@192.0.2.1 SIP/2.0\n"
        "Call-ID: a\n"
        "Content-Length: 999\n"
        "\n"
        "v=0\n"
        "s=-\n";
    EXPECT_EQ(sip_wire_form(in),
              "INVITE sip:201@192.0.2.1 SIP/2.0\r\n"
              "Call-ID: a\r\n"
              "Content-Length: 10\r\n"
              "\r\n"
              "v=0\r\n"
              "s=-\r\n");
}

TEST(SipWireForm, HeadWithoutEmptyLineGetsOne) {
    EXPECT_EQ(sip_wire_form("OPTIONS sip:[2001:db8::1] SIP/2.0\nContent-Length: 0\n"),
              "OPTIONS sip:[2001:db8::1] SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(sip_wire_form("OPTIONS sip:x SIP/2.0\nContent-Length: 0"),
              "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n");
}

TEST(SipWireForm, CompactFormAnyCaseAndSpacingAreRewritten) {
    EXPECT_EQ(sip_wire_form("BYE sip:x SIP/2.0\nl :  7\n\nab\n"), "BYE sip:x SIP/2.0\r\nl :  4\r\n\r\nab\r\n");
    EXPECT_EQ(sip_wire_form("BYE sip:x SIP/2.0\ncontent-length:1\n\n"), "BYE sip:x SIP/2.0\r\ncontent-length:0\r\n\r\n");
}

TEST(SipWireForm, OnlyHeaderLinesOfTheHeadAreTouched) {
    // A folded line and a body line that look like Content-Length stay.
    const std::string in =
        "MESSAGE sip:x SIP/2.0\r\n"
        "Subject: a\r\n"
        " l: 99\r\n"
        "Content-Length: 17\r\n"
        "\r\n"
        "Content-Length: 1";
    EXPECT_EQ(sip_wire_form(in), in);
}

TEST(SipWireForm, WireFormComesBackUnchanged) {
    const std::string wire = "SIP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nv=0\r\n";
    EXPECT_EQ(sip_wire_form(wire), wire);
    EXPECT_EQ(sip_wire_form(sip_wire_form("A sip:x SIP/2.0\nl: 0\n\nx\ny\n")),
              sip_wire_form("A sip:x SIP/2.0\nl: 0\n\nx\ny\n"));
}

// The RFC 5118 archive files in wire form are byte for byte the copies this
// tree held before it stopped keeping third-party data (normalised by hand
// then; SHA-256 of those copies).
TEST(SipWireForm, Rfc5118ArchiveWireFormsAreTheFormerHandNormalisedCopies) {
    VG_SKIP_WITHOUT_CORPUS("rfc5118", "the wire form of the RFC 5118 archive files against known SHA-256 values");
    const std::map<std::string, std::string> expected = {
        {"ipv4-mapped-ipv6", "c23dc587c6d6ed43ab32ca83eab066d0c992619fa869a8cd5b6b51de21b7f2f9"},
        {"ipv6-bad", "2d8a4e92b01c5164bba5e295a40442959b8ab67b977c91160f604546054bbdd7"},
        {"ipv6-bug-abnf-3-colons", "3990db23ca3586e0c0856a2862de737ad58fcd689de256bf8f53b91b7c83b4af"},
        {"ipv6-correct-abnf-2-colons", "3058711d518164b01161bde0bd68f56b4c76fa7fe082caee9e89dbed676a4d68"},
        {"ipv6-good", "ed7c9f32cc37be8b94369de52514b8e2be7421c5f6f312253af92503383dbae4"},
        {"ipv6-in-sdp", "93d01f978a86c1d01d67bbd9a104ae1c8536a87934d39ac6f39701a0a1c74e69"},
        {"mult-ip-in-header", "8002917ae4f54f8149fb8fe0c6ee61058efd523af67e5ba46adb5f521946fbc3"},
        {"mult-ip-in-sdp", "80416b7a51c97d81ea491f1911c26ebe0fd113f408d4e7e768fbae271f864db0"},
        {"port-ambiguous", "f91b46786e54477c5ebd2337d59cdf2dc49d2d062270a2f107a79b38833f3b6f"},
        {"port-unambiguous", "806e6a656e3b0d5c0cfc3661be73f1496e07380b3caa40bbccab07a9b77b9dd6"},
        {"via-received-param-no-delim", "0fa6dfa5c400a8f069b97b8592bf19da8e149551d21e6206edb771223a23fe56"},
        {"via-received-param-with-delim", "a0053013e73180030114fd5f7d9b681643eb4d2e0372d4921e749c74f392a74e"},
    };
    for (const auto& [name, sha] : expected) {
        const std::optional<std::string> archive = read_corpus_file("rfc5118/" + name);
        ASSERT_TRUE(archive.has_value()) << name;
        EXPECT_EQ(sha256_hex(sip_wire_form(*archive)), sha) << name;
    }
}

// ---------------------------------------------------------------- capture files

// Fields in host byte order (as a capture writer on this machine does), or
// swapped (as one on a machine of the other byte order).
void put32(std::string& s, std::uint32_t v, bool swap = false) {
    if (swap) v = __builtin_bswap32(v);
    char b[4];
    std::memcpy(b, &v, 4);
    s.append(b, 4);
}
void put16(std::string& s, std::uint16_t v, bool swap = false) {
    if (swap) v = __builtin_bswap16(v);
    char b[2];
    std::memcpy(b, &v, 2);
    s.append(b, 2);
}

std::string pcap(bool swap, const std::vector<std::string>& frames) {
    std::string s;
    put32(s, 0xa1b2c3d4u, swap);
    put16(s, 2, swap);  // version 2.4
    put16(s, 4, swap);
    put32(s, 0);
    put32(s, 0);
    put32(s, 65535, swap);
    put32(s, 101, swap);  // raw IP
    for (const std::string& f : frames) {
        put32(s, 1700000000, swap);
        put32(s, 0);
        put32(s, static_cast<std::uint32_t>(f.size()), swap);
        put32(s, static_cast<std::uint32_t>(f.size()), swap);
        s += f;
    }
    return s;
}

// A pcapng block: type, total length, body padded to 32 bits, total length.
std::string block(std::uint32_t type, std::string body) {
    body.resize((body.size() + 3) / 4 * 4, '\0');
    std::string s;
    put32(s, type);
    put32(s, static_cast<std::uint32_t>(body.size() + 12));
    s += body;
    put32(s, static_cast<std::uint32_t>(body.size() + 12));
    return s;
}

std::string section_header() {
    std::string b;
    put32(b, 0x1a2b3c4d);
    put16(b, 1);  // version 1.0
    put16(b, 0);
    b += std::string(8, '\xff');  // section length unknown
    return block(0x0a0d0d0a, b);
}

std::string interface(std::uint16_t linktype) {
    std::string b;
    put16(b, linktype);
    put16(b, 0);  // reserved
    put32(b, 65535);
    return block(1, b);
}

std::string enhanced_packet(std::uint32_t interface_id, const std::string& data) {
    std::string b;
    put32(b, interface_id);
    put32(b, 0);
    put32(b, 0);
    put32(b, static_cast<std::uint32_t>(data.size()));
    put32(b, static_cast<std::uint32_t>(data.size()));
    return block(6, b + data);
}

TEST(CaptureFile, ClassicPcapInEitherByteOrder) {
    for (bool swap : {false, true}) {
        const std::string file = pcap(swap, {"abc", "", "defgh"});  // the frames are views into it
        const CaptureFile c = parse_capture(file);
        ASSERT_TRUE(c.ok) << c.error;
        ASSERT_EQ(c.frames.size(), 3u);
        EXPECT_EQ(c.frames[0].linktype, 101u);
        EXPECT_EQ(c.frames[0].bytes, "abc");
        EXPECT_EQ(c.frames[1].bytes, "");
        EXPECT_EQ(c.frames[2].bytes, "defgh");
    }
}

TEST(CaptureFile, CutPcapKeepsTheFramesBeforeTheCut) {
    const std::string whole = pcap(false, {"abc", "defgh"});
    CaptureFile c = parse_capture(whole.substr(0, whole.size() - 2));
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.frames.size(), 1u);
    EXPECT_NE(c.error.find("record data cut"), std::string::npos) << c.error;
    c = parse_capture(whole.substr(0, 24 + 16 + 3 + 5));
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.error.find("record header cut"), std::string::npos) << c.error;
}

TEST(CaptureFile, PcapngFramesTakeTheLinkTypeOfTheirInterface) {
    std::string spb;
    put32(spb, 5);  // original length; the block holds all 5 bytes
    const std::string file = section_header() + interface(1) + interface(228) + enhanced_packet(1, "ipv4!") +
                             block(5, "skipped statistics") + enhanced_packet(0, "ether") + block(3, spb + "xyzzy");
    const CaptureFile c = parse_capture(file);
    ASSERT_TRUE(c.ok) << c.error;
    ASSERT_EQ(c.frames.size(), 3u);
    EXPECT_EQ(c.frames[0].linktype, 228u);
    EXPECT_EQ(c.frames[0].bytes, "ipv4!");
    EXPECT_EQ(c.frames[1].linktype, 1u);
    EXPECT_EQ(c.frames[1].bytes, "ether");
    EXPECT_EQ(c.frames[2].bytes, "xyzzy");  // simple packet: interface 0
}

TEST(CaptureFile, BrokenPcapngIsAnErrorNotACrash) {
    const std::string good = section_header() + interface(1) + enhanced_packet(0, "frame");
    EXPECT_TRUE(parse_capture(good).ok);
    // A packet of an interface never described.
    CaptureFile c = parse_capture(section_header() + enhanced_packet(0, "frame"));
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.error.find("undeclared interface"), std::string::npos) << c.error;
    // Every cut: no frame before the packet block is whole, and an error
    // unless the cut falls between two blocks; never a read outside (ASan).
    const std::size_t between[] = {section_header().size(), section_header().size() + interface(1).size()};
    for (std::size_t n = 0; n < good.size(); ++n) {
        c = parse_capture(good.substr(0, n));
        EXPECT_TRUE(c.frames.empty()) << n;
        EXPECT_EQ(c.ok, n == between[0] || n == between[1]) << n;
    }
    // A block length past the end of the file.
    std::string bad = good;
    const std::uint32_t huge = 0x7ffffff0u;
    std::memcpy(&bad[bad.size() - enhanced_packet(0, "frame").size() + 4], &huge, 4);
    c = parse_capture(bad);
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.error.find("bad block length"), std::string::npos) << c.error;
    EXPECT_FALSE(parse_capture("not a capture at all, just text").ok);
}

// Frame counts as tshark gives them (tshark -r FILE -T fields -e frame.number
// | wc -l; first frame: -c 1 -e frame.cap_len), pcap and pcapng.
TEST(CaptureFile, CorpusCapturesHaveTsharksFrameCounts) {
    VG_SKIP_WITHOUT_CORPUS("pcap", "the capture reader's frame counts against tshark's");
    struct Case {
        const char* file;
        std::size_t frames;
        std::size_t first_length;
        std::uint32_t linktype;
    };
    const Case cases[] = {
        {"pcap/heplify__sip_ipv4_tcp.pcap", 84, 78, 1},
        {"pcap/ndpi__rtp.pcapng", 112, 1486, 1},
        {"pcap/suricata-verify__sip-body-large__sip-body-large.pcap", 16, 68, 0},
        {"pcap/zeek__sip-long-request-response-paths.pcap", 2, 9591, 228},
        {"interop/sip_captures__sip-register-ok-unregister.pcapng", 18, 728, 1},
        {"interop/ndpi__stun_dtls_rtp.pcapng", 102, 158, 1},
    };
    for (const Case& k : cases) VG_SKIP_WITHOUT_CORPUS(k.file, "the capture reader's frame counts against tshark's");
    for (const Case& k : cases) {
        const std::string bytes = corpus_bytes(k.file);
        const CaptureFile c = parse_capture(bytes);
        EXPECT_TRUE(c.ok) << k.file << ": " << c.error;
        ASSERT_EQ(c.frames.size(), k.frames) << k.file;
        EXPECT_EQ(c.frames[0].bytes.size(), k.first_length) << k.file;
        EXPECT_EQ(c.frames[0].linktype, k.linktype) << k.file;
    }
}

}  // namespace
}  // namespace vg::test
