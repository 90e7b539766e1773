// SPDX-License-Identifier: GPL-2.0-or-later
// Reading a policy's files: the site file and, depth first in the order
// listed, the files it includes (relative to the including file). Each is
// checked (a regular file, LoadOptions::max_file_size, a warning when anyone
// may write it), parsed, validated (validator.cpp) and kept as a Layer in merge
// order, includes before the file that includes them. Include loops, a file
// included twice and includes nested deeper than max_include_depth are errors
// at the `include` entry. Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace vg::config::detail {

void Loader::load_text(std::string_view text, const std::string& file, const std::filesystem::path& dir, bool is_site,
                       int depth) {
    auto parsed = parse_yaml(text, file, opt_.max_depth);
    diags.insert(diags.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
    if (!parsed.root) return;
    Layer layer{file, dir, parsed.root, is_site};
    validate_layer(layer, opt_, diags, visited_);
    if (const YNode* inc = layer.root->is_map() ? layer.root->get("include") : nullptr;
        inc && inc->is_sequence() && opt_.allow_includes) {
        for (std::size_t i = 0; i < inc->items.size() && i < 16; ++i) {
            const YNode& item = *inc->items[i];
            if (!item.is_scalar() || item.value.empty()) continue;
            include(item, file, dir, "include[" + std::to_string(i) + "]", depth + 1);
        }
    }
    layers.push_back(std::move(layer));
}

void Loader::load_file(const std::string& path, const std::string& shown, bool is_site, int depth, const YNode* from,
                       const std::string& from_file, const std::string& from_path) {
    auto fail = [&](const std::string& msg) {
        if (from) diags.push_back({kError, from_file, from->line, from->column, from_path, msg});
        else diags.push_back({kError, shown, 0, 0, "", msg});
    };
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fail("cannot read " + shown + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail("cannot read " + shown + ": not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > opt_.max_file_size)
        return fail(larger_than(shown, opt_.max_file_size));
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot read " + shown + ": " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > opt_.max_file_size)
        return fail(larger_than(shown, opt_.max_file_size));
    if (opt_.check_file_permissions && (st.st_mode & S_IWOTH))
        diags.push_back({kWarning, shown, 0, 0, "",
                         "the policy file is writable by every user: anyone on this system can change the firewall policy"});
    const auto canon = std::filesystem::weakly_canonical(path).string();
    chain_.push_back(canon);
    seen_[canon] = from ? Origin{from_file, from->line, from->column} : Origin{shown, 0, 0};
    load_text(text, shown, std::filesystem::path(path).parent_path(), is_site, depth);
    chain_.pop_back();
}

void Loader::begin_text(const std::string& name) {
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(name, ec).string();
    chain_.push_back(canon);
    seen_[canon] = Origin{name, 0, 0};
}

void Loader::include(const YNode& item, const std::string& from_file, const std::filesystem::path& dir,
                     const std::string& path, int depth) {
    if (depth > opt_.max_include_depth) {
        diags.push_back({kError, from_file, item.line, item.column, path,
                         "includes nested deeper than " + std::to_string(opt_.max_include_depth) + " levels"});
        return;
    }
    const std::filesystem::path target = dir / item.value;
    const std::string shown = target.lexically_normal().string();
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(target, ec).string();
    if (std::find(chain_.begin(), chain_.end(), canon) != chain_.end()) {
        diags.push_back({kError, from_file, item.line, item.column, path,
                         "include loop: " + quote_value(item.value) + " includes itself (directly or through other files)"});
        return;
    }
    if (auto it = seen_.find(canon); it != seen_.end()) {
        diags.push_back({kError, from_file, item.line, item.column, path,
                         quote_value(item.value) + " is already included (at " + it->second.to_string() + ")"});
        return;
    }
    load_file(target.string(), shown, false, depth, &item, from_file, path);
}

}  // namespace vg::config::detail
