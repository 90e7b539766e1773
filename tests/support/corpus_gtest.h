// SPDX-License-Identifier: GPL-2.0-or-later
// GoogleTest side of the third-party corpus (tests/support/corpus.h): a test
// that needs a corpus file skips, with the path and what it would have
// checked, when the file is absent:
//
//   TEST(LinkRecorded, ...) {
//       VG_CORPUS_FILE_OR_SKIP(bytes, "pcap/sipp__g711a.pcap", "every packet decodes as UDP");
//       ...
//   }
//
// VG_SKIP_WITHOUT_CORPUS(relative, what) does the check alone (also in a
// fixture's SetUp, which then skips every test of the fixture).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/support/corpus.h"

namespace vg::test {

// "third-party corpus file /x/pcap/a.pcap not found (...): would have checked WHAT".
inline std::string corpus_skip_reason(const std::string& relative, const std::string& what) {
    const std::string dir = corpus_dir();
    std::string reason;
    if (!corpus_has("")) {
        reason = "no third-party corpus at " + dir;
    } else {
        reason = "third-party corpus has no " + corpus_path(relative);
    }
    return reason +
           " (set VOIPGUARD_CORPUS_DIR, at run time or in CMake, to the folder holding rfc4475/, rfc5118/, pcap/ "
           "and interop/; see tests/data/README.md): would have checked " +
           what;
}

// A corpus file that corpus_has() found; a read error fails the test.
inline std::string corpus_bytes(const std::string& relative) {
    const std::optional<std::string> bytes = read_corpus_file(relative);
    if (!bytes) {
        ADD_FAILURE() << "cannot read corpus file " << corpus_path(relative);
        return {};
    }
    return *bytes;
}

}  // namespace vg::test

#define VG_SKIP_WITHOUT_CORPUS(relative, what)                                                  \
    do {                                                                                        \
        if (!::vg::test::corpus_has(relative))                                                  \
            GTEST_SKIP() << ::vg::test::corpus_skip_reason((relative), (what));                 \
    } while (0)

#define VG_CORPUS_FILE_OR_SKIP(var, relative, what) \
    VG_SKIP_WITHOUT_CORPUS(relative, what);         \
    const std::string var = ::vg::test::corpus_bytes(relative)
