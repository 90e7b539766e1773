// SPDX-License-Identifier: GPL-2.0-or-later
// Internal to config/: a small read-only YAML tree built from yaml-cpp's
// parser events, so that every key keeps its position, duplicate keys are
// seen (yaml-cpp keeps the last silently), nesting is capped while parsing and
// aliases are shared, never copied (walks over them are capped by the caller).
#pragma once

#include "config/diagnostics.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vg::config::detail {

struct YNode;
using YNodeP = std::shared_ptr<const YNode>;

struct YNode {
    enum class Kind { null, scalar, sequence, map };
    Kind kind = Kind::null;
    int line = 0;     // 1-based
    int column = 0;   // 1-based
    std::string value;                             // scalar
    std::vector<YNodeP> items;                     // sequence
    std::vector<std::pair<YNodeP, YNodeP>> entries;   // map, first occurrence of each key

    bool is_map() const { return kind == Kind::map; }
    bool is_sequence() const { return kind == Kind::sequence; }
    bool is_scalar() const { return kind == Kind::scalar; }
    bool is_null() const { return kind == Kind::null; }
    // The value of a scalar key of a map, or nullptr.
    const YNode* get(std::string_view key) const;
    // "a scalar", "a list", "a map", "nothing".
    const char* kind_name() const;
};

struct ParseOutcome {
    YNodeP root;                          // null node for an empty document; nullptr on a syntax error
    std::vector<Diagnostic> diagnostics;  // syntax errors, duplicate keys, limits
};

// Parses one YAML document. `file` names it in diagnostics.
ParseOutcome parse_yaml(std::string_view text, const std::string& file, int max_depth);

}  // namespace vg::config::detail
