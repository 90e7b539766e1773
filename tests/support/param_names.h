// SPDX-License-Identifier: GPL-2.0-or-later
// Readable, unique GoogleTest parameter names from a printable parameter:
// INSTANTIATE_TEST_SUITE_P(..., [](const auto& i) { return vg::test::case_name(i); })
// turns "+44 (20) 7946-0000" into "44_20_7946_0000_3".
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace vg::test {

template <typename T>
std::string case_name(const ::testing::TestParamInfo<T>& info) {
    std::ostringstream os;
    os << info.param;
    std::string out;
    for (char c : os.str()) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (ok) out += c;
        else if (!out.empty() && out.back() != '_') out += '_';
    }
    return out + "_" + std::to_string(info.index);
}

}  // namespace vg::test
