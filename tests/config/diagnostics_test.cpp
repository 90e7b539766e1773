// SPDX-License-Identifier: GPL-2.0-or-later
// How a diagnostic reads (config/diagnostics.cpp).
#include "config/diagnostics.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

TEST(Diagnostics, FormatNamesFilePositionSeverityAndKey) {
    Diagnostic d{Diagnostic::Severity::error, "p.yaml", 12, 5, "sip.rate_limits.INVITE", "bad"};
    EXPECT_EQ(d.format(), "p.yaml:12:5: sip.rate_limits.INVITE: bad");
    d.severity = Diagnostic::Severity::warning;
    EXPECT_EQ(d.format(), "p.yaml:12:5: warning: sip.rate_limits.INVITE: bad");
    d.line = 0;
    d.path.clear();
    EXPECT_EQ(d.format(), "p.yaml: warning: bad");
}

TEST(Diagnostics, OriginWithoutAPositionIsTheFileAlone) {
    EXPECT_EQ((Origin{"site.yaml", 12, 5}.to_string()), "site.yaml:12:5");
    EXPECT_EQ((Origin{"site.yaml", 0, 0}.to_string()), "site.yaml");
}

TEST(Diagnostics, HasErrorsIgnoresWarnings) {
    std::vector<Diagnostic> v;
    EXPECT_FALSE(has_errors(v));
    v.push_back({Diagnostic::Severity::warning, "p.yaml", 1, 1, "", "w"});
    EXPECT_FALSE(has_errors(v));
    v.push_back({Diagnostic::Severity::error, "p.yaml", 2, 1, "", "e"});
    EXPECT_TRUE(has_errors(v));
}

}  // namespace
}  // namespace vg::config
