// SPDX-License-Identifier: GPL-2.0-or-later
// RFC 5424 and JSON lines (daemon/log_structured.h): the key=value line taken
// apart again, each format's escaping, hostile values, and the size limit.
// tests/daemon/syslog_formats_test.py has rsyslog parse what the sink sends.
#include "daemon/log_structured.h"

#include <gtest/gtest.h>

#include <string>

#include "daemon/log_events.h"
#include "daemon/log_format.h"
#include "filters/engine/events.h"

namespace vg::daemon {
namespace {

using namespace std::chrono;

LineContext context() {
    LineContext c;
    c.priority = (3 << 3) | 4;
    c.severity = Severity::warning;
    c.time = system_clock::time_point(seconds(1764780428) + microseconds(123456));
    c.hostname = "router1";
    c.ident = "voipguard";
    c.pid = 4242;
    return c;
}

// A line as the catalogue writes it, with one field of `value`.
std::string line_with(std::string_view value) {
    std::string line = "VG_TEST";
    append_field(line, "site", "acme");
    append_field(line, "ua", value);
    return line;
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += n;
    }
    return true;
}

TEST(LogStructured, FormatNamesRoundTrip) {
    for (LogFormat f : {LogFormat::rfc3164, LogFormat::rfc5424, LogFormat::json})
        EXPECT_EQ(parse_log_format(log_format_name(f)), f);
    EXPECT_FALSE(parse_log_format("RFC5424").has_value());
    EXPECT_FALSE(parse_log_format("").has_value());
}

TEST(LogStructured, ParseLineGivesBackTheValuesTheCatalogueWasGiven) {
    const std::string hostile = std::string("a \"b\" c=d \\ e\n\x01\xff]") + '\0' + "end";
    const ParsedLine p = parse_line(line_with(hostile) + " (old policy kept)");
    EXPECT_EQ(p.id, "VG_TEST");
    ASSERT_EQ(p.fields.size(), 2u);
    EXPECT_EQ(p.fields[0], (std::pair<std::string, std::string>{"site", "acme"}));
    EXPECT_EQ(p.fields[1].first, "ua");
    EXPECT_EQ(p.fields[1].second, hostile);
    EXPECT_EQ(p.text, "(old policy kept)");
}

TEST(LogStructured, ParseLineOfEveryEngineEventKeepsItsIdAndFields) {
    engine::Event e;
    e.source = net::IpAddress::parse("203.0.113.7").value();
    e.source_port = 5060;
    for (std::size_t i = 0; i < engine::kEventTypeCount; ++i) {
        e.type = static_cast<engine::EventType>(i);
        const ParsedLine p = parse_line(format_event(e, "acme", NumberMask{}));
        EXPECT_EQ(p.id, engine::event_id(e.type));
        EXPECT_LE(p.id.size(), 32u) << "RFC 5424 MSGID holds at most 32 characters: " << p.id;
        EXPECT_TRUE(p.text.empty()) << p.text;
        ASSERT_GE(p.fields.size(), 3u);
        EXPECT_EQ(p.fields[1], (std::pair<std::string, std::string>{"src", "203.0.113.7"}));
    }
}

TEST(LogStructured, ParseLineNeverFailsOnTextThatIsNotKeyValue) {
    const ParsedLine p = parse_line("VG_X why=\"unterminated \\q x=\\x4");
    EXPECT_EQ(p.id, "VG_X");
    ASSERT_EQ(p.fields.size(), 1u);
    EXPECT_EQ(p.fields[0].second, "unterminated \\q x=\\x4");
    EXPECT_TRUE(parse_line("").id.empty());
    EXPECT_EQ(parse_line("   ").fields.size(), 0u);
}

TEST(LogStructured, ValueTextKeepsUtf8AndWritesOtherBytesAsHex) {
    std::string out;
    append_value_text(out, std::string("T\xc3\xa9l\xc3\xa9phone \xe2\x82\xac \xf0\x9f\x93\x9e", 20));
    EXPECT_EQ(out, "T\xc3\xa9l\xc3\xa9phone \xe2\x82\xac \xf0\x9f\x93\x9e");
    out.clear();
    // Controls, DEL, a C1 control (U+009B, CSI), overlong '/', a surrogate,
    // a lone continuation byte, a cut sequence, a backslash.
    append_value_text(out, std::string("\n\x7f\xc2\x9b\xc0\xaf\xed\xa0\x80\x80\xe2\x82\\", 13));
    EXPECT_EQ(out, "\\x0a\\x7f\\xc2\\x9b\\xc0\\xaf\\xed\\xa0\\x80\\x80\\xe2\\x82\\\\");
}

TEST(LogStructured, ValueTextEscapesLineSeparatorsAndBidiControls) {
    std::string out;
    // U+2028, U+2029, U+202E (right-to-left override), U+2066, U+200F,
    // U+061C, U+FEFF; U+2027 and U+2070 next to them are kept.
    append_value_text(out, "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xae\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c\xef\xbb\xbf"
                           "\xe2\x80\xa7\xe2\x81\xb0");
    EXPECT_EQ(out, "\\xe2\\x80\\xa8\\xe2\\x80\\xa9\\xe2\\x80\\xae\\xe2\\x81\\xa6\\xe2\\x80\\x8f\\xd8\\x9c"
                   "\\xef\\xbb\\xbf\xe2\x80\xa7\xe2\x81\xb0");
}

TEST(LogStructured, Rfc3339IsUtcWithMicroseconds) {
    EXPECT_EQ(rfc3339_utc(context().time), "2025-12-03T16:47:08.123456Z");
    EXPECT_EQ(rfc3339_utc(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
}

TEST(LogStructured, Rfc5424HasTheFullHeaderAndTheFieldsAsStructuredData) {
    const std::string out =
        render_rfc5424(context(), "VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 ua=\"Yealink T46\"", 2048);
    EXPECT_EQ(out,
              "<28>1 2025-12-03T16:47:08.123456Z router1 voipguard 4242 VG_TOLL_FRAUD_BLOCKED "
              "[voipguard@32473 site=\"acme-london\" handset=\"192.168.20.10\" ua=\"Yealink T46\"] VG_TOLL_FRAUD_BLOCKED");
}

TEST(LogStructured, Rfc5424EscapesQuoteBackslashAndBracketAndKeepsOneLine) {
    const std::string out = render_rfc5424(context(), line_with("a\"b\\c]d\ne"), 2048);
    EXPECT_NE(out.find(" ua=\"a\\\"b\\\\\\\\c\\]d\\\\x0ae\"]"), std::string::npos) << out;
    EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(LogStructured, Rfc5424WithoutFieldsHasNilStructuredDataAndNilsForMissingHeaderParts) {
    LineContext c = context();
    c.hostname = "";
    c.pid = 0;
    EXPECT_EQ(render_rfc5424(c, "VG_DNS_REFRESHED addresses changed", 2048),
              "<28>1 2025-12-03T16:47:08.123456Z - voipguard - VG_DNS_REFRESHED - VG_DNS_REFRESHED addresses changed");
}

TEST(LogStructured, Rfc5424ParamNamesAreCutAndCleaned) {
    const std::string out = render_rfc5424(
        context(), "VG_X abcdefghijklmnopqrstuvwxyz0123456789=1 drop_a.b-c=2", 2048);
    EXPECT_NE(out.find(" abcdefghijklmnopqrstuvwxyz012345=\"1\""), std::string::npos) << out;
    EXPECT_NE(out.find(" drop_a.b-c=\"2\""), std::string::npos) << out;
}

TEST(LogStructured, JsonIsOneObjectWithHeaderFieldsThenTheLinesFields) {
    const std::string out = render_json(context(), "VG_RELOAD_FAILED site=acme errors=1 error1=\"x: y\" (old policy kept)", 2048);
    EXPECT_EQ(out,
              "{\"time\":\"2025-12-03T16:47:08.123456Z\",\"host\":\"router1\",\"ident\":\"voipguard\",\"pid\":4242,"
              "\"severity\":\"warning\",\"event\":\"VG_RELOAD_FAILED\",\"site\":\"acme\",\"errors\":\"1\","
              "\"error1\":\"x: y\",\"msg\":\"(old policy kept)\"}");
}

TEST(LogStructured, JsonEscapesHostileValuesAndStaysValidUtf8OnOneLine) {
    const std::string hostile = std::string("q\"b\\]\n\r\t") + '\0' + "\xff\xfe" + "\xc3\xa9" + "\xe2\x80\xa8";
    const std::string out = render_json(context(), line_with(hostile), 2048);
    EXPECT_NE(out.find("\"ua\":\"q\\\"b\\\\\\\\]\\\\x0a\\\\x0d\\\\x09\\\\x00\\\\xff\\\\xfe\xc3\xa9\\\\xe2\\\\x80\\\\xa8\"}"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find('\n'), std::string::npos);
    EXPECT_TRUE(valid_utf8(out));
}

TEST(LogStructured, JsonFieldNamedLikeAHeaderKeyIsRenamed) {
    const std::string out = render_json(context(), "VG_X time=1 event=2 msg=3", 2048);
    EXPECT_NE(out.find("\"f_time\":\"1\",\"f_event\":\"2\",\"f_msg\":\"3\""), std::string::npos) << out;
    EXPECT_EQ(out.find("\"time\":\"1\""), std::string::npos) << out;
}

TEST(LogStructured, LongValuesAreCutToFitAndNamedInTruncated) {
    const std::string big(2000, 'A');
    const std::string utf8_big = [] {
        std::string s;
        for (int i = 0; i < 700; ++i) s += "\xc3\xa9";
        return s;
    }();
    std::string line = "VG_X";
    append_field(line, "site", "acme");
    append_field(line, "detail", big);
    append_field(line, "ua", utf8_big);
    append_field(line, "junk", std::string(600, '\xff'));
    for (std::size_t max : {2048u, 1024u, 480u}) {
        const std::string s5424 = render_rfc5424(context(), line, max);
        EXPECT_LE(s5424.size(), max);
        EXPECT_NE(s5424.find("truncated=\""), std::string::npos) << s5424;
        EXPECT_EQ(s5424.back(), 'X');
        EXPECT_TRUE(valid_utf8(s5424));
        EXPECT_NE(s5424.find("site=\"acme\""), std::string::npos);
        const std::string js = render_json(context(), line, max);
        EXPECT_LE(js.size(), max);
        EXPECT_EQ(js.back(), '}');
        EXPECT_NE(js.find("\"truncated\":\""), std::string::npos) << js;
        EXPECT_TRUE(valid_utf8(js));
        // Never an escape cut in half.
        EXPECT_EQ(js.find("\\x\""), std::string::npos);
        EXPECT_EQ(js.find("\\xf\""), std::string::npos);
    }
    const std::string fits = render_json(context(), "VG_X site=acme", 2048);
    EXPECT_EQ(fits.find("truncated"), std::string::npos);
}

TEST(LogStructured, ManyFieldsThatCannotBeCutAreDroppedFromTheEnd) {
    std::string line = "VG_X";
    for (int i = 0; i < 100; ++i) append_field(line, "k" + std::to_string(i), "0123456789abcdef");
    const std::string out = render_json(context(), line, 480);
    EXPECT_LE(out.size(), 480u);
    EXPECT_NE(out.find("\"k0\":"), std::string::npos);
    EXPECT_EQ(out.find("\"k99\":"), std::string::npos);
    EXPECT_NE(out.find("k99"), std::string::npos) << "truncated names the dropped fields";
}

TEST(LogStructured, AnIdOfControlBytesAndLongKeysStillFitsTheSmallestLimit) {
    // Not a catalogue line, but the renderer takes any text: an ID of 64
    // control bytes escapes to 256 (5424) or 320 (JSON) bytes, and with the
    // list of cut names beside it the line did not fit 480 bytes (a fuzzer
    // finding).
    std::string line(200, '\x01');
    for (int i = 0; i < 12; ++i) line += " " + std::string(70, static_cast<char>('a' + i)) + "=" + std::string(40, '\x02');
    line += " trailing words";
    for (std::size_t max : {480u, 481u, 600u, 2048u}) {
        const std::string s5424 = render_rfc5424(context(), line, max);
        EXPECT_LE(s5424.size(), max) << s5424;
        EXPECT_TRUE(valid_utf8(s5424));
        EXPECT_NE(s5424.find("truncated=\""), std::string::npos);
        const std::string js = render_json(context(), line, max);
        EXPECT_LE(js.size(), max) << js;
        EXPECT_TRUE(valid_utf8(js));
        EXPECT_EQ(js.back(), '}');
        EXPECT_NE(js.find("\"truncated\":\""), std::string::npos);
    }
}

TEST(LogStructured, ThousandsOfFieldsKeepTheFirstAndCountTheRest) {
    std::string line = "VG_X";
    for (int i = 0; i < 5000; ++i) append_field(line, "k" + std::to_string(i), std::string(30, 'v'));
    const std::string js = render_json(context(), line, 480);
    EXPECT_LE(js.size(), 480u);
    EXPECT_NE(js.find("\"k0\":"), std::string::npos);
    EXPECT_EQ(js.find("\"k4999\":"), std::string::npos);
    // Eight names, then how many more were cut or dropped.
    EXPECT_NE(js.find(",+4"), std::string::npos) << js;
    const std::string s5424 = render_rfc5424(context(), line, 480);
    EXPECT_LE(s5424.size(), 480u);
    EXPECT_NE(s5424.find("k0=\""), std::string::npos);
}

}  // namespace
}  // namespace vg::daemon
