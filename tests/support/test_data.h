// SPDX-License-Identifier: GPL-2.0-or-later
// Access to the recorded test data under tests/data/.
#pragma once

#include <string>
#include <vector>

namespace vg::test {

// Absolute path of a file below tests/data/ ("rfc4475/wsinv.dat").
std::string data_path(const std::string& relative);

// Whole file as bytes; fails the current test (and returns "") if unreadable.
std::string read_data_file(const std::string& relative);

// Names of the regular files in a tests/data/ subdirectory, sorted.
std::vector<std::string> list_data_dir(const std::string& relative);

}  // namespace vg::test
