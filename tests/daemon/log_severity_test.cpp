// SPDX-License-Identifier: GPL-2.0-or-later
// Severity and facility names and numbers (daemon/log_severity.cpp).
#include "daemon/log_severity.h"

#include <gtest/gtest.h>

namespace vg::daemon {
namespace {

TEST(LogSeverity, SeverityAndFacilityNames_Parse) {
    EXPECT_EQ(parse_severity("notice"), Severity::notice);
    EXPECT_FALSE(parse_severity("warn").has_value());
    EXPECT_EQ(parse_facility("daemon"), 3 << 3);
    EXPECT_EQ(parse_facility("local0"), 16 << 3);
    EXPECT_EQ(parse_facility("local7"), 23 << 3);
    EXPECT_FALSE(parse_facility("user").has_value());
    EXPECT_EQ(syslog_priority(Severity::warning), 4);
    EXPECT_EQ(syslog_priority(Severity::debug), 7);
}

TEST(LogSeverity, EveryNameParsesBackAndNumbersFollowRfc5424) {
    const Severity all[] = {Severity::debug, Severity::info, Severity::notice, Severity::warning, Severity::error};
    const int numbers[] = {7, 6, 5, 4, 3};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        EXPECT_EQ(parse_severity(severity_name(all[i])), all[i]);
        EXPECT_EQ(syslog_priority(all[i]), numbers[i]);
    }
    EXPECT_EQ(severity_name(Severity::notice), "notice");
    EXPECT_FALSE(parse_severity("").has_value());
    EXPECT_FALSE(parse_severity("Notice").has_value());
}

}  // namespace
}  // namespace vg::daemon
