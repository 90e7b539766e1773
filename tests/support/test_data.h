// SPDX-License-Identifier: GPL-2.0-or-later
// Access to the project's own test data under tests/data/ (replay policies,
// fuzz seeds and regressions). Third-party data (RFC torture messages, public
// captures) is not in this tree: tests/support/corpus.h reads it.
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
