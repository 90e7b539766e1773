// SPDX-License-Identifier: GPL-2.0-or-later
// Field values of a log line (daemon/log_format.cpp): escaping, quoting,
// keys, masking of passwords in URIs; and the terminal and JSON escaping of
// the same packet text for `voipguard calls` / `handsets` (daemon/json.h has
// no test file of its own).
#include "daemon/log_format.h"

#include <gtest/gtest.h>

#include <string>

#include "daemon/json.h"

namespace vg::daemon {
namespace {

std::string value(std::string_view v) {
    std::string out;
    append_value(out, v);
    return out;
}

TEST(LogFormat, PlainValue_IsNotQuoted) { EXPECT_EQ(value("friendly-scanner"), "friendly-scanner"); }

TEST(LogFormat, ValueWithSpace_IsQuoted) { EXPECT_EQ(value("Yealink T46"), "\"Yealink T46\""); }

TEST(LogFormat, ValueWithQuoteOrEquals_IsQuotedAndQuoteEscaped) {
    EXPECT_EQ(value("a\"b"), "\"a\\\"b\"");
    EXPECT_EQ(value("k=v"), "\"k=v\"");
}

TEST(LogFormat, EmptyValue_IsQuoted) { EXPECT_EQ(value(""), "\"\""); }

TEST(LogFormat, ControlAndNonAsciiBytes_AreHexEscaped) {
    EXPECT_EQ(value(std::string_view("a\nb\rc\td\0e\x7f", 10)), "a\\x0ab\\x0dc\\x09d\\x00e\\x7f");
    EXPECT_EQ(value("caf\xc3\xa9"), "caf\\xc3\\xa9");
}

TEST(LogFormat, Backslash_IsDoubled) { EXPECT_EQ(value("a\\x0a"), "a\\\\x0a"); }

TEST(LogFormat, Fields_AreSpaceKeyEqualsValue_EmptyTextLeftOut) {
    std::string line = "VG_X";
    append_field(line, "ua", "Yealink T46");
    append_field(line, "method", "");
    append_field(line, "count", std::uint64_t{0});
    append_field(line, "port", std::uint64_t{5060});
    EXPECT_EQ(line, "VG_X ua=\"Yealink T46\" count=0 port=5060");
}

TEST(LogFormat, Keys_HaveNoSeparatorsQuotesOrControlBytes) {
    std::string key = "drop_";
    append_key(key, "sip scanner=\"x\"/a@b\n|c");
    EXPECT_EQ(key, "drop_sip_scanner__x__a_b__c");
    key.clear();
    append_key(key, "unlisted_source");
    EXPECT_EQ(key, "unlisted_source");
}

// `voipguard calls` / `handsets` print Call-IDs and User-Agents from packets:
// a terminal escape sequence (ESC [ ... ) must reach the screen as text.
TEST(LogFormatEscapeText, TerminalControlBytesQuotesAndBackslashesBecomeVisibleText) {
    const std::string ua = "evil\x1b[2J\x1b]0;pwned\x07 \"q\" \\ caf\xc3\xa9\x7f";
    const std::string out = escape_text(ua);
    EXPECT_EQ(out, "evil\\x1b[2J\\x1b]0;pwned\\x07 \\\"q\\\" \\\\ caf\\xc3\\xa9\\x7f");
    for (char c : out) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
    }
    EXPECT_EQ(escape_text("a81@192.168.20.10"), "a81@192.168.20.10");
    std::string appended = "x";
    append_escaped(appended, std::string_view("\0\n", 2));
    EXPECT_EQ(appended, "x\\x00\\x0a");
}

// The --json output of the same commands stays valid JSON with any bytes.
TEST(JsonEscape, ControlBytesHighBytesAndQuotesAreEscaped) {
    std::string o = "{";
    json::field(o, "user_agent", "a\x1b[31m\"b\"\\\xff\xc3\xa9\t\x01");
    o += "}";
    EXPECT_EQ(o, "{\"user_agent\":\"a\\u001b[31m\\\"b\\\"\\\\\\u00ff\\u00c3\\u00a9\\t\\u0001\"}");
    for (char c : o) {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE(u >= 0x20 && u < 0x7f) << int(u);
    }
}

TEST(LogFormatMask, SipUriPassword_IsMasked) {
    EXPECT_EQ(mask_secrets("sip:alice:secret@pbx.example.net"), "sip:alice:***@pbx.example.net");
    EXPECT_EQ(mask_secrets("SIPS:alice:s3cr=t,x@pbx;transport=tls"), "SIPS:alice:***@pbx;transport=tls");
}

TEST(LogFormatMask, UriWithoutPassword_IsUnchanged) {
    EXPECT_EQ(mask_secrets("sip:alice@pbx.example.net"), "sip:alice@pbx.example.net");
    EXPECT_EQ(mask_secrets("sip:pbx.example.net:5060"), "sip:pbx.example.net:5060");
    EXPECT_EQ(mask_secrets("tel:+442071234567"), "tel:+442071234567");
    EXPECT_EQ(mask_secrets("alice@pbx"), "alice@pbx");
    EXPECT_EQ(mask_secrets("sip:alice:@pbx"), "sip:alice:@pbx");
}

TEST(LogFormatMask, UserPasswordWithoutOrWithOtherScheme_IsMasked) {
    EXPECT_EQ(mask_secrets("alice:pw@pbx"), "alice:***@pbx");
    EXPECT_EQ(mask_secrets("https://admin:admin@192.168.20.10/"), "https://admin:***@192.168.20.10/");
}

TEST(LogFormatMask, SeveralUrisInText_AreAllMasked) {
    EXPECT_EQ(mask_secrets("<sip:bob:pw1@h1>;tag=1, \"x\" <sip:carol:pw2@h2>"),
              "<sip:bob:***@h1>;tag=1, \"x\" <sip:carol:***@h2>");
}

}  // namespace
}  // namespace vg::daemon
