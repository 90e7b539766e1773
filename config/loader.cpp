// SPDX-License-Identifier: GPL-2.0-or-later
// Loading a policy (config/loader.h): the pipeline that runs the loader's
// parts (config/loader_internal.h lists them) - files and includes, the merged
// view, the model, the checks across keys, the effective YAML - and puts the
// diagnostics in file order, at most 100 errors; and the two text helpers
// every part uses (quote_value, join_path).
#include "config/loader.h"

#include "config/loader_internal.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <tuple>

namespace vg::config {

// ---- helpers shared by the loader's parts ------------------------------------------

namespace detail {

// Quoted value for messages, shortened and without control characters.
std::string quote_value(std::string_view v) {
    std::string s = "\"";
    for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
        const char c = v[i];
        s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
    if (v.size() > 64) s += "...";
    return s + "\"";
}

std::string larger_than(std::string_view file, std::size_t max_size) {
    return std::string(file) + " is larger than " + std::to_string(max_size) + " bytes";
}

std::string join_path(std::string_view base, std::string_view key) {
    if (base.empty()) return std::string(key);
    return std::string(base) + "." + std::string(key);
}

}  // namespace detail

// ---- the pipeline ----------------------------------------------------------------------

using detail::kError;
using detail::Loader;
using detail::View;

namespace {

LoadResult finish(Loader& loader, const LoadOptions& opt) {
    LoadResult r;
    r.diagnostics = std::move(loader.diags);
    if (!has_errors(r.diagnostics) && !loader.layers.empty()) {
        try {
            View view(loader.layers, &loader.prefix_files);
            Policy p;
            detail::build_policy(view, p);
            detail::check_semantics(view, p, opt, r.diagnostics);
            if (!has_errors(r.diagnostics)) {
                if (opt.render_effective) r.effective_yaml = detail::effective_yaml(view, p);
                r.policy = std::move(p);
            }
        } catch (const std::exception& e) {
            r.diagnostics.push_back({kError, loader.layers.back().file, 0, 0, "", std::string("internal error: ") + e.what()});
        }
    }
    // Past this many errors the rest is noise (and a flood on a router's log).
    constexpr std::size_t kMaxErrors = 100;
    std::size_t errors = 0;
    std::vector<Diagnostic> kept;
    for (auto& d : r.diagnostics) {
        if (d.severity == kError && ++errors > kMaxErrors) continue;
        kept.push_back(std::move(d));
    }
    if (errors > kMaxErrors)
        kept.push_back({kError, kept.front().file, 0, 0, "",
                        "too many errors (" + std::to_string(errors) + "); only the first " + std::to_string(kMaxErrors) +
                            " are shown"});
    r.diagnostics = std::move(kept);
    // File order of first appearance, then position.
    std::map<std::string, std::size_t> rank;
    for (const auto& d : r.diagnostics) rank.emplace(d.file, rank.size());
    std::stable_sort(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& a, const Diagnostic& b) {
        return std::make_tuple(rank[a.file], a.line, a.column) < std::make_tuple(rank[b.file], b.line, b.column);
    });
    return r;
}

}  // namespace

LoadResult load_policy_file(const std::string& path, const LoadOptions& options) {
    try {
        Loader loader(options);
        loader.load_file(path, path, true, 0, nullptr, "", "");
        return finish(loader, options);
    } catch (const std::exception& e) {
        LoadResult r;
        r.diagnostics.push_back({kError, path, 0, 0, "", std::string("cannot load: ") + e.what()});
        return r;
    }
}

LoadResult load_policy_text(std::string_view yaml, const std::string& name, const LoadOptions& options) {
    try {
        Loader loader(options);
        if (yaml.size() > options.max_file_size) {
            LoadResult r;
            r.diagnostics.push_back({kError, name, 0, 0, "", detail::larger_than(name, options.max_file_size)});
            return r;
        }
        loader.begin_text(name);
        loader.load_text(yaml, name, std::filesystem::path(name).parent_path(), true, 0);
        return finish(loader, options);
    } catch (const std::exception& e) {
        LoadResult r;
        r.diagnostics.push_back({kError, name, 0, 0, "", std::string("cannot load: ") + e.what()});
        return r;
    }
}

}  // namespace vg::config
