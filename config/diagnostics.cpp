// SPDX-License-Identifier: GPL-2.0-or-later
// How a diagnostic reads (config/diagnostics.h): "FILE:LINE:COL: [warning: ]
// key.path: message", a position left out when unknown.
#include "config/diagnostics.h"

#include <algorithm>

namespace vg::config {

std::string Origin::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::format() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += ": ";
    if (severity == Severity::warning) s += "warning: ";
    if (!path.empty()) s += path + ": ";
    return s + message;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

}  // namespace vg::config
