// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/dialled_number.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
#include <string>

#include <ostream>
#include <string>

#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using test::case_name;

DialPlan uk() {
    auto p = DialPlan::make("44", "0", "00");
    EXPECT_TRUE(p.has_value());
    for (const char* s : {"999", "112", "101", "111", "118118"}) EXPECT_TRUE(p->add_service_number(s));
    return *p;
}

DialPlan us() {
    auto p = DialPlan::make("1", "1", "011");
    EXPECT_TRUE(p.has_value());
    for (const char* s : {"911", "411", "611", "988"}) EXPECT_TRUE(p->add_service_number(s));
    EXPECT_TRUE(p->set_short_length(3, 5));
    p->set_unprefixed_is_national(true);
    return *p;
}

struct Row {
    const char* plan;  // "uk" or "us"
    const char* input;
    NumberClass cls;
    const char* expected;  // the normalised number (valid input)
    NumberError error = NumberError::none;
};

std::ostream& operator<<(std::ostream& os, const Row& r) {
    os << r.plan << " \"" << r.input << "\" is " << to_string(r.cls);
    if (r.cls == NumberClass::invalid) return os << " " << to_string(r.error);
    return os << " " << r.expected;
}

class NormaliseNumber : public ::testing::TestWithParam<Row> {};

TEST_P(NormaliseNumber, ClassifiesAndNormalises) {
    const Row& row = GetParam();
    const DialPlan plan = std::string(row.plan) == "us" ? us() : uk();
    const NormalisedNumber n = normalise_number(row.input, plan);
    EXPECT_EQ(to_string(n.cls), to_string(row.cls)) << row;
    EXPECT_EQ(to_string(n.error), to_string(row.error)) << row;
    if (row.cls != NumberClass::invalid) {
        EXPECT_EQ(n.view(), row.expected) << row;
    }
}

constexpr auto E = NumberClass::e164;
constexpr auto S = NumberClass::short_number;
constexpr auto SV = NumberClass::service;
constexpr auto L = NumberClass::local;
constexpr auto F = NumberClass::feature;
constexpr auto X = NumberClass::invalid;

INSTANTIATE_TEST_SUITE_P(
    UkAndUs, NormaliseNumber,
    ::testing::Values(
        // UK: separators, international and national prefixes.
        Row{"uk", "+44 (20) 7946-0000", E, "+442079460000"},
        Row{"uk", "+442079460000", E, "+442079460000"},
        Row{"uk", "+44 (0)20 7946 0000", E, "+442079460000"},
        Row{"uk", "0044207946000", E, "+44207946000"},
        Row{"uk", "00 44 20 7946 0000", E, "+442079460000"},
        Row{"uk", "00881234567", E, "+881234567"},
        Row{"uk", "008823", E, "+8823"},  // truncated international is still international
        Row{"uk", "020 7946 0000", E, "+442079460000"},
        Row{"uk", "020.7946.0000", E, "+442079460000"},
        Row{"uk", "09098790000", E, "+449098790000"},
        Row{"uk", "07700 900123", E, "+447700900123"},
        Row{"uk", "999", SV, "999"},
        Row{"uk", "112", SV, "112"},
        Row{"uk", "118 118", SV, "118118"},
        Row{"uk", "201", S, "201"},
        Row{"uk", "4711", S, "4711"},
        Row{"uk", "0123", S, "0123"},  // short: not a national number
        Row{"uk", "79460000", L, "79460000"},
        Row{"uk", "0", L, "0"},
        Row{"uk", "*72", F, "*72"},
        Row{"uk", "#31#0044207946000", F, "#31#0044207946000"},
        Row{"uk", "*98#", F, "*98#"},
        // tel: URIs and parameters.
        Row{"uk", "tel:+44-20-7946-0000", E, "+442079460000"},
        Row{"uk", "TEL:020-7946-0000;phone-context=+44", E, "+442079460000"},
        Row{"uk", "7042;phone-context=example.com", S, "7042"},
        Row{"us", "tel:+1-201-555-0123;phone-context=example.com", E, "+12015550123"},
        // US: trunk prefix 1, international 011, ten-digit dialling.
        Row{"us", "1 (201) 555-0123", E, "+12015550123"},
        Row{"us", "1-201-555-0123", E, "+12015550123"},
        Row{"us", "201-555-0123", E, "+12015550123"},
        Row{"us", "(201) 555.0123", E, "+12015550123"},
        Row{"us", "011 44 20 7946 0000", E, "+442079460000"},
        Row{"us", "01188234567", E, "+88234567"},
        Row{"us", "+1 201 555 0123", E, "+12015550123"},
        Row{"us", "911", SV, "911"},
        Row{"us", "1234", S, "1234"},  // an extension, not trunk prefix + "234"
        Row{"us", "555-0123", E, "+15550123"},
        // Invalid input.
        Row{"uk", "", X, "", NumberError::empty},
        Row{"uk", "+", X, "", NumberError::empty},
        Row{"uk", "( - )", X, "", NumberError::empty},
        Row{"uk", "alice", X, "", NumberError::bad_character},
        Row{"uk", "0207p946", X, "", NumberError::bad_character},
        Row{"uk", "020_7946", X, "", NumberError::bad_character},
        Row{"uk", "44+20", X, "", NumberError::misplaced_plus},
        Row{"uk", "++44", X, "", NumberError::misplaced_plus},
        Row{"uk", "+0044207946000", X, "", NumberError::bad_country_code},
        Row{"uk", "000044", X, "", NumberError::bad_country_code},
        Row{"uk", "+1234567890123456", X, "", NumberError::too_long},
        Row{"uk", "0012345678901234567", X, "", NumberError::too_long},
        Row{"uk", "012345678901234567", X, "", NumberError::too_long},
        Row{"uk", "123456789012345678901234567890123", X, "", NumberError::too_long}),
    [](const auto& pi) { return case_name(pi); });

TEST(DialPlan, RejectsMalformedPlans) {
    EXPECT_FALSE(DialPlan::make("044", "0", "00"));
    EXPECT_FALSE(DialPlan::make("4x", "0", "00"));
    EXPECT_FALSE(DialPlan::make("4444", "0", "00"));
    EXPECT_FALSE(DialPlan::make("44", "x", "00"));
    EXPECT_FALSE(DialPlan::make("44", "0", ""));
    EXPECT_FALSE(DialPlan::make("44", "0", "00000"));
    EXPECT_TRUE(DialPlan::make("39", "", "00"));
}

TEST(DialPlan, ServiceNumberListIsBounded) {
    auto p = DialPlan::make("44", "0", "00");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->add_service_number(""));
    EXPECT_FALSE(p->add_service_number("12a"));
    EXPECT_FALSE(p->add_service_number("*99#"));
    EXPECT_FALSE(p->add_service_number("1234567890123456"));
    for (int i = 0; i < static_cast<int>(DialPlan::kMaxServiceNumbers); ++i)
        EXPECT_TRUE(p->add_service_number(std::to_string(100 + i)));
    EXPECT_TRUE(p->add_service_number("100"));  // already there
    EXPECT_FALSE(p->add_service_number("999"));
    EXPECT_FALSE(p->set_short_length(0, 4));
    EXPECT_FALSE(p->set_short_length(5, 4));
}

// toll_fraud.emergency_numbers allows 32 numbers of up to 15 digits: the
// plan holds every one, the longest and the last included.
TEST(DialPlan, HoldsWhatTheEmergencyNumbersKeyAllows) {
    EXPECT_GE(DialPlan::kMaxServiceNumbers, 32u);
    EXPECT_GE(DialPlan::kMaxServiceLength, 15u);
    auto p = DialPlan::make("44", "0", "00");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->add_service_number("123456789"));
    EXPECT_TRUE(p->add_service_number("123456789012345"));
    for (int i = 0; i < 30; ++i) EXPECT_TRUE(p->add_service_number(std::to_string(1000001 + i)));
    for (const char* n : {"123456789", "123456789012345", "1000001", "1000030"}) {
        const NormalisedNumber r = normalise_number(n, *p);
        EXPECT_EQ(r.cls, NumberClass::service) << n;
        EXPECT_EQ(r.view(), n);
    }
}

TEST(NormaliseNumber, PlanWithoutTrunkPrefixTreatsLeadingZeroAsNational) {
    auto it = DialPlan::make("39", "", "00");
    ASSERT_TRUE(it);
    it->set_unprefixed_is_national(true);
    EXPECT_EQ(normalise_number("06 1234 5678", *it).view(), "+390612345678");
    EXPECT_EQ(normalise_number("0044 20 7946 0000", *it).view(), "+442079460000");
}

TEST(NormaliseNumber, DoesNotAllocate) {
    const DialPlan plan = uk();
    test::AllocationScope scope;
    std::size_t total = 0;
    for (const char* s : {"+44 (20) 7946-0000", "0044207946000", "tel:+1-201-555-0123;x=y", "alice", "*72"})
        total += normalise_number(s, plan).number.size();
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_GT(total, 0u);
}

TEST(NormaliseNumber, ClassNamesAreStable) {
    EXPECT_EQ(to_string(NumberClass::short_number), "short");
    EXPECT_EQ(to_string(NumberError::bad_country_code), "bad_country_code");
}


// ---------------------------------------------------------------------------
// Without a country code, and every reading of a dial string.

TEST(DialPlan, WithoutACountryCodeNationalNumbersStayAsDialled) {
    const auto plan = DialPlan::make("", "0", "00");
    ASSERT_TRUE(plan);
    EXPECT_FALSE(plan->has_country_code());
    const auto n = normalise_number("020 7946 0000", *plan);
    EXPECT_EQ(n.cls, NumberClass::local);
    EXPECT_EQ(n.view(), "02079460000");
    // International form and the international prefix still become E.164.
    EXPECT_EQ(normalise_number("0088216123456", *plan).view(), "+88216123456");
    EXPECT_EQ(normalise_number("+882 16 123456", *plan).view(), "+88216123456");
}

struct ReadingCase {
    const char* dialled;
    const char* strict;                   // the primary reading
    std::vector<std::string> also;        // alternatives that must be among the readings
};

class DialReadingsTest : public ::testing::TestWithParam<ReadingCase> {};

TEST_P(DialReadingsTest, EveryReadingAPbxMightDialIsThere) {
    const auto plan = DialPlan::make("44", "0", "00");
    ASSERT_TRUE(plan);
    const DialReadings r = read_dial_string(GetParam().dialled, *plan);
    EXPECT_EQ(r.primary.view(), GetParam().strict) << GetParam().dialled;
    for (const std::string& want : GetParam().also) {
        bool found = false;
        for (std::size_t i = 0; i < r.alternative_count; ++i) found = found || r.alternatives[i].view() == want;
        EXPECT_TRUE(found) << GetParam().dialled << ": no reading " << want;
    }
}

INSTANTIATE_TEST_SUITE_P(
    DialStrings, DialReadingsTest,
    ::testing::Values(ReadingCase{"0088216123458%23", "+88216123458", {}},
                      ReadingCase{"0088216123458#", "+88216123458", {}},
                      ReadingCase{"%30%30%38%38%32%31%36", "+88216", {}},
                      ReadingCase{"0088216;phone-context=+44", "+88216", {}},
                      ReadingCase{"+88216;isub=12;postd=pp3", "+88216", {}},
                      ReadingCase{"0088216p1234", "+88216", {}},
                      ReadingCase{"00882x16123", "00882", {"+88216123"}},
                      ReadingCase{"*670088216123", "*670088216123", {"+88216123"}},
                      ReadingCase{"#31#0088216123", "#31#0088216123", {"+88216123"}},
                      ReadingCase{"tel:+882-16-123", "+88216123", {}},
                      ReadingCase{"%20%200088216", "+88216", {}},
                      ReadingCase{"02079460000", "+442079460000", {}},
                      ReadingCase{"0088216%00x", "0088216", {"+88216"}},
                      // A pause inside the international prefix: the digits
                      // of the whole string are a reading, not only those
                      // before the pause.
                      ReadingCase{"0p088216000101", "0", {"+88216000101"}},
                      ReadingCase{"00,88216000101", "00", {"+88216000101"}},
                      ReadingCase{"0088p216000101", "+88", {"+88216000101"}},
                      // The site's country code, then its trunk prefix: a
                      // route writing +44 as 0 dials an international number.
                      ReadingCase{"+44088216000101", "+44088216000101", {"+88216000101"}},
                      ReadingCase{"+44 (0)088216000101", "+44088216000101", {"+88216000101"}},
                      ReadingCase{"+440911234567", "+440911234567", {"+911234567"}},
                      ReadingCase{"+44-0-088216000101", "+440088216000101", {"+88216000101"}},
                      // No country code starts with 0: without its '+'.
                      ReadingCase{"+0088216000101", "+0088216000101", {"+88216000101"}},
                      ReadingCase{"000088216000101", "+0088216000101", {"+88216000101"}}),
    [](const ::testing::TestParamInfo<ReadingCase>& i) { return "case" + std::to_string(i.index); });

TEST(DialReadings, ANameHasNoDigits) {
    const auto plan = DialPlan::make("44", "0", "00");
    EXPECT_FALSE(read_dial_string("reception", *plan).digits);
    EXPECT_TRUE(read_dial_string("room101", *plan).digits);
}

struct DoubtCase {
    const char* dialled;
    DialDoubt doubt;
};

class DialDoubtTest : public ::testing::TestWithParam<DoubtCase> {};

// What SIP stacks read differently: the guard cannot know which reading the
// PBX makes, and says so.
TEST_P(DialDoubtTest, SaysWhyADialStringCannotBeRead) {
    const auto plan = DialPlan::make("44", "0", "00");
    ASSERT_TRUE(plan);
    EXPECT_EQ(to_string(read_dial_string(GetParam().dialled, *plan).doubt), to_string(GetParam().doubt))
        << GetParam().dialled;
}

INSTANTIATE_TEST_SUITE_P(
    DialStrings, DialDoubtTest,
    ::testing::Values(DoubtCase{"%2B881234567%%", DialDoubt::malformed_escape},
                      DoubtCase{"02079460000%", DialDoubt::malformed_escape},
                      DoubtCase{"02079460000%2", DialDoubt::malformed_escape},
                      DoubtCase{"0207946%2G0000", DialDoubt::malformed_escape},
                      DoubtCase{"0207946%g20000", DialDoubt::malformed_escape},
                      DoubtCase{"tel:+442079460000%", DialDoubt::malformed_escape},
                      DoubtCase{"%u002B88216000101", DialDoubt::malformed_escape},  // IIS-style %uXXXX
                      // the most specific doubt wins
                      DoubtCase{"%252B88%C0%B0%", DialDoubt::malformed_escape},
                      DoubtCase{"%252B881234567", DialDoubt::escaped_percent},
                      DoubtCase{"%25", DialDoubt::escaped_percent},
                      DoubtCase{"%C0%B0", DialDoubt::invalid_utf8},
                      DoubtCase{"%E0%80%B0", DialDoubt::invalid_utf8},
                      DoubtCase{"%F0%80%80%B0", DialDoubt::invalid_utf8},
                      DoubtCase{"%ED%BF%BF", DialDoubt::invalid_utf8},
                      DoubtCase{"%F4%90%80%80", DialDoubt::invalid_utf8},
                      DoubtCase{"%F5%80%80%80", DialDoubt::invalid_utf8},
                      DoubtCase{"%BF", DialDoubt::invalid_utf8},
                      DoubtCase{"%C3", DialDoubt::invalid_utf8},
                      DoubtCase{"%C3%C3%BC", DialDoubt::invalid_utf8},
                      DoubtCase{"%EF%BC%90", DialDoubt::non_ascii_digit},    // U+FF10 fullwidth 0
                      DoubtCase{"%EF%BC%99", DialDoubt::non_ascii_digit},    // U+FF19 fullwidth 9
                      DoubtCase{"%EF%BC%8B", DialDoubt::non_ascii_digit},    // U+FF0B fullwidth +
                      DoubtCase{"%D9%A0", DialDoubt::non_ascii_digit},       // U+0660 Arabic-Indic 0
                      DoubtCase{"%DB%B9", DialDoubt::non_ascii_digit},       // U+06F9 extended Arabic-Indic 9
                      DoubtCase{"%F0%9D%9F%BF", DialDoubt::non_ascii_digit}, // U+1D7FF mathematical 9
                      // what handsets send
                      DoubtCase{"%EF%BC%9A", DialDoubt::none},               // U+FF1A fullwidth colon
                      DoubtCase{"m%C3%BCller", DialDoubt::none},
                      DoubtCase{"%F0%9F%93%9E", DialDoubt::none},            // a telephone receiver emoji
                      DoubtCase{"%2b442079460000", DialDoubt::none},
                      DoubtCase{"0088216%00x", DialDoubt::none},
                      DoubtCase{"0088216000101%23", DialDoubt::none},
                      DoubtCase{"", DialDoubt::none}),
    [](const ::testing::TestParamInfo<DoubtCase>& i) { return "case" + std::to_string(i.index); });

TEST(DialReadings, ANumberBeforeAMalformedEscapeIsAReading) {
    const auto plan = DialPlan::make("44", "0", "00");
    const DialReadings r = read_dial_string("%2B881234567%%", *plan);
    bool found = false;
    for (std::size_t i = 0; i < r.alternative_count; ++i) found = found || r.alternatives[i].view() == "+881234567";
    EXPECT_TRUE(found);
    EXPECT_EQ(r.decoded.view(), "+881234567%%");
}

// A doubt past the first 128 decoded bytes is still found.
TEST(DialReadings, DoubtsAreFoundInTheWholeString) {
    const auto plan = DialPlan::make("44", "0", "00");
    EXPECT_EQ(read_dial_string(std::string(300, '0') + "%", *plan).doubt, DialDoubt::malformed_escape);
    EXPECT_EQ(read_dial_string(std::string(300, '0') + "%C0%B0", *plan).doubt, DialDoubt::invalid_utf8);
    EXPECT_EQ(read_dial_string(std::string(300, '0') + "%EF%BC%90", *plan).doubt, DialDoubt::non_ascii_digit);
}

// What does not fit the decoded buffer was never read: a PBX that drops
// the separators before it reads "0(((...(00881234567" as +881234567.
TEST(DialReadings, ADialStringLongerThanWhatIsReadIsADoubt) {
    const auto plan = DialPlan::make("44", "0", "00");
    const std::size_t max = DialReadings::kMaxDecoded;
    EXPECT_EQ(read_dial_string(std::string(max, '('), *plan).doubt, DialDoubt::none);
    EXPECT_EQ(read_dial_string(std::string(max + 1, '('), *plan).doubt, DialDoubt::too_long);
    EXPECT_EQ(read_dial_string("0" + std::string(300, '(') + "0881234567", *plan).doubt, DialDoubt::too_long);
    // Escapes count once decoded: 3 * max characters that decode to max bytes fit.
    std::string escaped;
    for (std::size_t i = 0; i < max; ++i) escaped += "%28";
    EXPECT_EQ(read_dial_string(escaped, *plan).doubt, DialDoubt::none);
    // Separators that fit are read through.
    const DialReadings r = read_dial_string("0" + std::string(200, '(') + "0881234567", *plan);
    EXPECT_EQ(r.doubt, DialDoubt::none);
    EXPECT_EQ(r.primary.view(), "+881234567");
}

TEST(DialReadings, DoubtNamesAreStable) {
    EXPECT_EQ(to_string(DialDoubt::none), "none");
    EXPECT_EQ(to_string(DialDoubt::malformed_escape), "malformed_escape");
    EXPECT_EQ(to_string(DialDoubt::escaped_percent), "escaped_percent");
    EXPECT_EQ(to_string(DialDoubt::invalid_utf8), "invalid_utf8");
    EXPECT_EQ(to_string(DialDoubt::non_ascii_digit), "non_ascii_digit");
    EXPECT_EQ(to_string(DialDoubt::too_long), "too_long");
}

TEST(DialReadings, OverlongNumberKeepsItsPrefixForMatching) {
    const auto plan = DialPlan::make("44", "0", "00");
    const DialReadings r = read_dial_string("+882160005131234567890", *plan);
    EXPECT_EQ(r.primary.error, NumberError::too_long);
    EXPECT_EQ(r.primary.view().substr(0, 4), "+882");
}

}  // namespace
}  // namespace vg::engine
