// SPDX-License-Identifier: GPL-2.0-or-later
// The policy loader's parts, as they see each other. Internal to config/: not
// part of the public API (that is config/loader.h); nothing outside config/
// includes this header, and its names may change with the loader.
//
// Where to find what (the order a load runs in):
//   includes.cpp     Loader: reads the site file and its includes (size,
//                    permissions, loops, depth) into layers, each parsed and
//                    validated
//   validator.cpp    validate_layer: one file against the schema table
//                    (unknown keys, types, ranges, counts, required keys)
//   merged_view.cpp  View: the layers as one policy (last file wins, lists
//                    marked append are concatenated, rate maps merge per key)
//   builder.cpp      build_policy: the Policy model from the merged view
//   semantics.cpp    check_semantics: checks across keys and files, warnings,
//                    the schedule's time zone
//   resolver.cpp     host names: resolved at load, refreshed by the daemon
//   printer.cpp      effective_yaml (`check --print`), summary_line,
//                    toll_fraud_enforcement
//   loader.cpp       load_policy_file / load_policy_text: the pipeline, the
//                    cap and order of diagnostics
#pragma once

#include "config/diagnostics.h"
#include "config/loader.h"
#include "config/policy.h"
#include "config/yaml_tree.h"

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vg::config::detail {

constexpr auto kError = Diagnostic::Severity::error;
constexpr auto kWarning = Diagnostic::Severity::warning;

// Quoted value for messages, shortened and without control characters.
std::string quote_value(std::string_view v);
// "FILE is larger than N bytes" (LoadOptions::max_file_size).
std::string larger_than(std::string_view file, std::size_t max_size);
// "base.key", or "key" when base is empty.
std::string join_path(std::string_view base, std::string_view key);

// One parsed file of the policy.
struct Layer {
    std::string file;   // as shown in diagnostics
    std::filesystem::path dir;
    YNodeP root;
    bool is_site = false;
};

// A prefix file's contents (toll_fraud.deny_prefix_files / allow_prefix_files).
struct PrefixFileData {
    PrefixFile meta;   // meta.prefixes: the entries (shared with the policy built from them)
};

// Limits of one prefix file (the schema's descriptions say them).
constexpr std::size_t kMaxPrefixFileEntries = 250000;
constexpr std::size_t kMaxPrefixFileBytes = 8u * 1024 * 1024;

// A value found in the layers, or a default (layer == nullptr).
struct Val {
    const YNode* node = nullptr;
    const Layer* layer = nullptr;
    int index = -1;   // position in its own file's list
    bool is_default() const { return layer == nullptr; }
};

// ---- includes.cpp, validator.cpp ---------------------------------------------------

// Checks one parsed file against the schema table; `visited` counts values
// over every file of the policy (LoadOptions::max_nodes).
void validate_layer(const Layer& layer, const LoadOptions& opt, std::vector<Diagnostic>& out, std::size_t& visited);

class Loader {
public:
    explicit Loader(const LoadOptions& opt) : opt_(opt) {}

    std::vector<Diagnostic> diags;
    std::vector<Layer> layers;   // merge order: includes first, the site file last
    std::vector<PrefixFileData> prefix_files;   // in the order the files name them

    // Reads, parses and validates one file and its includes.
    void load_text(std::string_view text, const std::string& file, const std::filesystem::path& dir, bool is_site,
                   int depth);
    void load_file(const std::string& path, const std::string& shown, bool is_site, int depth, const YNode* from,
                   const std::string& from_file, const std::string& from_path);
    void begin_text(const std::string& name);

private:
    void prefix_files_of(const Layer& layer);
    void read_prefix_file(const YNode& item, const std::string& from_file, const std::filesystem::path& dir,
                          const std::string& path, bool deny, bool risk = false);
    void include(const YNode& item, const std::string& from_file, const std::filesystem::path& dir,
                 const std::string& path, int depth);

    const LoadOptions& opt_;
    std::size_t visited_ = 0;
    std::vector<std::string> chain_;
    std::map<std::string, Origin> seen_;
};

// ---- merged_view.cpp ----------------------------------------------------------------

// The node at a dotted path below `n` ("peers.pbx"), or nullptr.
const YNode* find_in(const YNode* n, std::string_view dotted);

class View {
public:
    explicit View(const std::vector<Layer>& layers, const std::vector<PrefixFileData>* prefix_files = nullptr)
        : layers_(layers), prefix_files_(prefix_files) {}

    const Layer& site() const { return layers_.back(); }
    const std::vector<Layer>& layers() const { return layers_; }
    // The prefix files read with the layers (none when there are none).
    const std::vector<PrefixFileData>& prefix_files() const {
        static const std::vector<PrefixFileData> none;
        return prefix_files_ ? *prefix_files_ : none;
    }

    // Default value of a key as a node (nullptr if none or descriptive).
    const YNode* default_node(std::string_view pattern);
    // A top-level key (no list in the path): the last file that sets it, else the default.
    Val get(std::string_view pattern);
    // A key inside one list item.
    Val field(const Val& item, std::string_view rel, std::string_view pattern);
    // The effective items of a list: appended over all files, or from the last
    // file that sets it, or the default.
    std::vector<Val> items(std::string_view pattern);
    std::vector<Val> field_items(const Val& item, std::string_view rel, std::string_view pattern);
    // sip.rate_limits: the default map, then each file's keys on top.
    std::vector<std::pair<std::string, Val>> rate_map(std::string_view pattern);

private:
    const std::vector<Layer>& layers_;
    const std::vector<PrefixFileData>* prefix_files_;
    std::map<std::string, YNodeP> defaults_;
};

Origin origin_of(const Val& v);
std::string text_of(const Val& v);
// "list[index]"
std::string item_path(std::string_view list, int index);

// ---- builder.cpp, semantics.cpp, resolver.cpp, printer.cpp ---------------------------

// Fills `p` from the merged view (values the validator accepted).
void build_policy(View& view, Policy& p);
// Checks across keys and files (errors and warnings into `out`); resolves
// host names (with LoadOptions::resolve_host_names) and the schedule's time zone.
void check_semantics(View& view, Policy& p, const LoadOptions& opt, std::vector<Diagnostic>& out);
// Resolves every host name of `p` (LoadOptions::resolver, else
// system_resolve); a name that does not resolve is an error in `out`.
void resolve_host_names(Policy& p, const LoadOptions& opt, std::vector<Diagnostic>& out);
// The effective policy as YAML, defaults marked (LoadOptions::render_effective).
// `p` is the policy built from the view (the dial plan, the time zone used).
std::string effective_yaml(View& view, const Policy& p);

}  // namespace vg::config::detail
