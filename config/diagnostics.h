// SPDX-License-Identifier: GPL-2.0-or-later
// Diagnostics of the policy loader: one per problem, each naming the file,
// the 1-based line and column, and the key path ("peers.pbx[0].addresses[1]"),
// in the style of ISC Kea: `site.yaml:12:5: sip.rate_limits.INVITE: message`.
#pragma once

#include <string>
#include <vector>

namespace vg::config {

// Where a value was written. line/column are 1-based; 0 when unknown (then
// only the file is named).
struct Origin {
    std::string file;
    int line = 0;
    int column = 0;

    // "site.yaml:12:5", or "site.yaml" when the position is unknown.
    std::string to_string() const;
};

struct Diagnostic {
    enum class Severity { error, warning };

    Severity severity = Severity::error;
    std::string file;
    int line = 0;      // 1-based; 0 = the whole file
    int column = 0;    // 1-based
    std::string path;  // key path, empty when the problem has no key (syntax)
    std::string message;

    // Errors:   "FILE:LINE:COL: key.path: message"
    // Warnings: "FILE:LINE:COL: warning: key.path: message"
    std::string format() const;
};

// True when any diagnostic is an error.
bool has_errors(const std::vector<Diagnostic>& diagnostics);

}  // namespace vg::config
