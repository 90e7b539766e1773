// SPDX-License-Identifier: GPL-2.0-or-later
// The schema table and the value parsers.
#include "config/schema.h"

#include <gtest/gtest.h>

#include <set>

namespace vg::config {
namespace {

TEST(Schema, EveryKeyIsDocumentedAndItsParentExists) {
    std::set<std::string_view> paths;
    for (const auto& k : schema()) {
        EXPECT_FALSE(k.description.empty()) << k.path;
        EXPECT_TRUE(paths.insert(k.path).second) << "duplicate " << k.path;
        const auto dot = k.path.rfind('.');
        if (dot == std::string_view::npos) continue;
        std::string parent(k.path.substr(0, dot));
        if (parent.size() > 2 && parent.substr(parent.size() - 2) == "[]") parent.resize(parent.size() - 2);
        EXPECT_TRUE(paths.count(parent)) << k.path << " has no parent before it";
    }
}

TEST(Schema, FixedKeysOfTheIssueExist) {
    for (const char* p : {"version", "site", "mode", "on_failure", "handsets.networks", "peers.pbx", "peers.pbx[].name",
                          "peers.pbx[].addresses", "peers.pbx[].media.addresses", "peers.pbx[].media.ports",
                          "peers.support", "peers.support[].name", "peers.support[].addresses", "peers.support[].ports",
                          "sip.ports", "toll_fraud.country_code", "toll_fraud.national_prefix",
                          "toll_fraud.international_prefix", "toll_fraud.deny_prefixes",
                          "toll_fraud.limits.per_handset.concurrent_calls"})
        EXPECT_NE(find_key(p), nullptr) << p;
}

TEST(Schema, AorsOfTheInventory) {
    using Aor = std::pair<std::string, std::string>;
    EXPECT_EQ(parse_aor("201@PBX.Example.net"), Aor("201", "pbx.example.net"));
    EXPECT_EQ(parse_aor("201"), Aor("201", ""));
    EXPECT_EQ(parse_aor("alice.smith@203.0.113.10"), Aor("alice.smith", "203.0.113.10"));
    EXPECT_EQ(parse_aor("201@[2001:db8::10]"), Aor("201", "[2001:db8::10]"));
    EXPECT_EQ(parse_aor("+442079460000@pbx.example.net"), Aor("+442079460000", "pbx.example.net"));
    for (const char* bad : {"", "@pbx.example.net", "201@", "201@pbx example", "2 01", "201@[pbx]", "sip:201@pbx",
                            "201@pbx@x", "201@-pbx.example.net"})
        EXPECT_FALSE(parse_aor(bad)) << bad;
    EXPECT_FALSE(parse_aor(std::string(65, '1')));
}

TEST(Schema, ChildKeys) {
    const auto c = child_keys("peers.pbx[]");
    EXPECT_EQ(c, (std::vector<std::string_view>{"name", "addresses", "media"}));
    EXPECT_EQ(child_keys("").front(), "version");
}

TEST(Schema, RangeAndTypeText) {
    EXPECT_EQ(range_text(*find_key("media.idle_timeout")), "5s..1h");
    EXPECT_EQ(range_text(*find_key("sip.max_headers")), "16..256");
    EXPECT_EQ(type_name(*find_key("mode")), "one of enforce, monitor");
    EXPECT_EQ(type_name(*find_key("handsets.networks")), "list of CIDR");
    EXPECT_EQ(range_text(*find_key("sip.ports")), "1..65535; 1..16 entries");
}

TEST(Schema, BuiltinListsHaveSources) {
    for (const auto& b : builtin_high_risk_prefixes()) {
        EXPECT_TRUE(is_valid_prefix(b.prefix)) << b.prefix;
        EXPECT_FALSE(b.source.empty());
    }
    std::set<std::string_view> ua(builtin_scanner_user_agents().begin(), builtin_scanner_user_agents().end());
    for (const char* s : {"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipsak", "smap", "iWar",
                          "VaxSIPUserAgent", "pplsip", "sundayaddr", "sipptk"})
        EXPECT_TRUE(ua.count(s)) << s;
}

struct DurationCase {
    const char* text;
    long long seconds;   // -1 = invalid
};
class Durations : public ::testing::TestWithParam<DurationCase> {};
TEST_P(Durations, Parse) {
    const auto d = parse_duration(GetParam().text);
    if (GetParam().seconds < 0) EXPECT_FALSE(d.has_value());
    else {
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(d->count(), GetParam().seconds);
    }
}
INSTANTIATE_TEST_SUITE_P(Table, Durations,
                         ::testing::Values(DurationCase{"30s", 30}, DurationCase{"5m", 300}, DurationCase{"2h", 7200},
                                           DurationCase{"1d", 86400}, DurationCase{"0s", 0}, DurationCase{"30", -1},
                                           DurationCase{"s", -1}, DurationCase{"1.5h", -1}, DurationCase{"-1s", -1},
                                           DurationCase{"5 m", -1}, DurationCase{"1w", -1}, DurationCase{"", -1}));

struct RateCase {
    const char* text;
    bool ok;
    unsigned count, per, burst;
};
class Rates : public ::testing::TestWithParam<RateCase> {};
TEST_P(Rates, Parse) {
    const auto& c = GetParam();
    const auto r = parse_rate(c.text);
    ASSERT_EQ(r.has_value(), c.ok) << c.text;
    if (!r) return;
    EXPECT_EQ(r->count, c.count);
    EXPECT_EQ(r->per.count(), c.per);
    EXPECT_EQ(r->burst, c.burst);
}
INSTANTIATE_TEST_SUITE_P(Table, Rates,
                         ::testing::Values(RateCase{"10/s burst 20", true, 10, 1, 20}, RateCase{"10/s", true, 10, 1, 10},
                                           RateCase{"30/min", true, 30, 60, 30}, RateCase{"100/h burst 5", true, 100, 3600, 5},
                                           RateCase{"10/x", false, 0, 0, 0}, RateCase{"10/s burst", false, 0, 0, 0},
                                           RateCase{"10/sburst 2", false, 0, 0, 0}, RateCase{"/s", false, 0, 0, 0},
                                           RateCase{"ten/s", false, 0, 0, 0}, RateCase{"10/s bursts 2", false, 0, 0, 0}));

TEST(SchemaParsers, PortRanges) {
    EXPECT_EQ(parse_port_range("10000-20000")->last, 20000);
    EXPECT_EQ(parse_port_range("5060")->first, 5060);
    EXPECT_FALSE(parse_port_range("0-10"));
    EXPECT_FALSE(parse_port_range("20-10"));
    EXPECT_FALSE(parse_port_range("1-65536"));
    EXPECT_FALSE(parse_port_range("1-"));
    EXPECT_FALSE(parse_port_range("a-b"));
}

TEST(SchemaParsers, ServicePorts) {
    EXPECT_EQ(parse_service_port("tcp/443")->transport, Transport::tcp);
    EXPECT_EQ(parse_service_port("udp/161")->ports.first, 161);
    EXPECT_EQ(parse_service_port("tcp/8000-8080")->ports.last, 8080);
    EXPECT_FALSE(parse_service_port("443"));
    EXPECT_FALSE(parse_service_port("TCP/443"));
    EXPECT_FALSE(parse_service_port("sctp/5060"));
    EXPECT_FALSE(parse_service_port("tcp/0"));
}

TEST(SchemaParsers, Prefixes) {
    for (const char* ok : {"+881", "09", "+", "0", "+44123456789"}) EXPECT_TRUE(is_valid_prefix(ok)) << ok;
    for (const char* bad : {"", "++1", "+88a", "1+", " 09", "+1234567890123456"}) EXPECT_FALSE(is_valid_prefix(bad)) << bad;
}

TEST(SchemaParsers, WeeklyWindows) {
    const auto w = parse_weekly_window("mon-fri 08:00-18:00");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->days, 0x1f);
    EXPECT_EQ(w->start_minute, 480);
    EXPECT_EQ(w->end_minute, 1080);
    EXPECT_EQ(parse_weekly_window("sun 00:00-24:00")->days, 0x40);
    EXPECT_EQ(parse_weekly_window("mon,wed,fri 09:00-17:00")->days, 0x15);
    for (const char* bad : {"mon-fri", "fri-mon 08:00-18:00", "mon 18:00-08:00", "mon 8:00-18:00", "xyz 08:00-18:00",
                            "mon 08:00-24:01", "mon 08:60-09:00"})
        EXPECT_FALSE(parse_weekly_window(bad)) << bad;
}

TEST(SchemaParsers, HostNamesAndNames) {
    for (const char* ok : {"sip.example.net", "pbx", "a-b.example.net", "sip.example.net."})
        EXPECT_TRUE(is_valid_host_name(ok)) << ok;
    for (const char* bad : {"", "-a.example.net", "a..b", "192.0.2.300", "a_b.example.net", "sip example"})
        EXPECT_FALSE(is_valid_host_name(bad)) << bad;
    // A number as the last label: an address to the C library, not a name.
    for (const char* legacy : {"0x7f.0.0.1", "0xcb.0.113.010", "203.0.113.010", "10.1", "1", "pbx.0x1F", "pbx.0x",
                               "pbx.example.12."})
        EXPECT_FALSE(is_valid_host_name(legacy)) << legacy;
    for (const char* ok : {"pbx.0xz", "0x7f.example.net", "sip1.example.net", "1and1.example.net"})
        EXPECT_TRUE(is_valid_host_name(ok)) << ok;

    EXPECT_TRUE(is_valid_name("acme-london"));
    EXPECT_FALSE(is_valid_name("-acme"));
    EXPECT_FALSE(is_valid_name(std::string(64, 'a')));
}

TEST(SchemaParsers, LegacyIpv4Forms) {
    EXPECT_EQ(legacy_ipv4_address("0x7f.0.0.1"), net::IpAddress::parse("127.0.0.1"));
    EXPECT_EQ(legacy_ipv4_address("0xcb.0.113.010"), net::IpAddress::parse("203.0.113.8"));
    EXPECT_EQ(legacy_ipv4_address("203.0.113.010"), net::IpAddress::parse("203.0.113.8"));
    EXPECT_EQ(legacy_ipv4_address("10.1"), net::IpAddress::parse("10.0.0.1"));
    using namespace std::string_view_literals;
    for (const std::string_view not_legacy : {"203.0.113.10"sv, "pbx.example.net"sv, "192.0.2.300"sv, ""sv,
                                              "0x7f.0.0.1\0junk"sv, "::1"sv})
        EXPECT_FALSE(legacy_ipv4_address(not_legacy)) << not_legacy.size();
}

TEST(SchemaParsers, EmergencyNumbersArePlainDigits) {
    for (const char* ok : {"112", "999", "123456789012345"}) EXPECT_TRUE(is_valid_number(ok)) << ok;
    for (const char* bad : {"", "*99#", "#31#", "112#", "1234567890123456", "+112"})
        EXPECT_FALSE(is_valid_number(bad)) << bad;
}

TEST(SchemaParsers, VersionsAndTimezones) {
    EXPECT_EQ(*parse_version_text("96.86.0.70"), (std::vector<std::uint32_t>{96, 86, 0, 70}));
    EXPECT_FALSE(parse_version_text("1..2"));
    EXPECT_FALSE(parse_version_text("v1"));
    EXPECT_TRUE(is_valid_timezone("Europe/London"));
    EXPECT_TRUE(is_valid_timezone("UTC"));
    EXPECT_TRUE(is_valid_timezone("America/Argentina/Buenos_Aires"));
    EXPECT_FALSE(is_valid_timezone("../etc/passwd"));
    EXPECT_FALSE(is_valid_timezone("/etc/localtime"));
}

TEST(SchemaParsers, EditDistanceAndDurationFormat) {
    EXPECT_EQ(edit_distance("mdoe", "mode"), 2u);
    EXPECT_EQ(edit_distance("max_header", "max_headers"), 1u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(format_duration(Seconds(90)), "90s");
    EXPECT_EQ(format_duration(Seconds(300)), "5m");
    EXPECT_EQ(format_duration(Seconds(86400 * 2)), "2d");
}

}  // namespace
}  // namespace vg::config
