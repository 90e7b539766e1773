// SPDX-License-Identifier: GPL-2.0-or-later
// Reading a policy's files: the site file and, depth first in the order
// listed, the files it includes (relative to the including file). Each is
// checked (a regular file, LoadOptions::max_file_size, a warning when anyone
// may write it), parsed, validated (validator.cpp) and kept as a Layer in merge
// order, includes before the file that includes them. Include loops, a file
// included twice and includes nested deeper than max_include_depth are errors
// at the `include` entry. Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"
#include "config/schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
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
    prefix_files_of(layer);
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

// ---- prefix files (toll_fraud.deny_prefix_files, allow_prefix_files) ---------------

void Loader::prefix_files_of(const Layer& layer) {
    const YNode* tf = layer.root->is_map() ? layer.root->get("toll_fraud") : nullptr;
    if (!tf || !tf->is_map()) return;
    const YNode* callback = tf->get("callback");
    for (const int kind : {0, 1, 2}) {   // deny, allow, callback risk
        const char* key = kind == 0 ? "deny_prefix_files" : kind == 1 ? "allow_prefix_files" : "risk_prefix_files";
        const YNode* list = kind == 2 ? (callback && callback->is_map() ? callback->get(key) : nullptr) : tf->get(key);
        if (!list || !list->is_sequence()) continue;   // the validator said why
        const std::string base = kind == 2 ? "toll_fraud.callback." : "toll_fraud.";
        for (std::size_t i = 0; i < list->items.size() && i < 16; ++i) {
            const YNode& item = *list->items[i];
            if (!item.is_scalar() || item.value.empty()) continue;
            read_prefix_file(item, layer.file, layer.dir, base + key + "[" + std::to_string(i) + "]", kind == 0,
                             kind == 2);
        }
    }
}

namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace

// One prefix per line, or "prefix,label"; '#' starts a comment; a first line
// "prefix,label" (a CSV header) is skipped. Each prefix is checked like an
// inline one (Type::prefix); the checks that need the dial plan run with the
// policy's (semantics.cpp).
void Loader::read_prefix_file(const YNode& item, const std::string& from_file, const std::filesystem::path& dir,
                              const std::string& path, bool deny, bool risk) {
    const std::filesystem::path target = dir / item.value;
    const std::string shown = target.lexically_normal().string();
    auto fail = [&](const std::string& msg) {
        diags.push_back({kError, from_file, item.line, item.column, path, msg});
    };
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) return fail("cannot read " + shown + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail("cannot read " + shown + ": not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxPrefixFileBytes)
        return fail(larger_than(shown, kMaxPrefixFileBytes) + " (the most a prefix file may have)");
    std::ifstream in(target, std::ios::binary);
    if (!in) return fail("cannot read " + shown + ": " + std::strerror(errno));
    // Read at its size (no doubling buffer); a file that grew since stat() is
    // read to the end and checked again.
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in && in.peek() != std::char_traits<char>::eof())
        text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.size() > kMaxPrefixFileBytes)
        return fail(larger_than(shown, kMaxPrefixFileBytes) + " (the most a prefix file may have)");
    if (opt_.check_file_permissions && (st.st_mode & S_IWOTH))
        diags.push_back({kWarning, shown, 0, 0, "",
                         "the prefix file is writable by every user: anyone on this system can change which numbers may be called"});

    PrefixFileData data;
    data.meta.file = shown;
    data.meta.named_at = Origin{from_file, item.line, item.column};
    data.meta.deny = deny;
    data.meta.risk = risk;
    auto entries = std::make_shared<PrefixFileEntries>();
    constexpr int kMaxFileErrors = 20;
    int errors = 0;
    auto bad = [&](int line, std::string msg) {
        if (++errors <= kMaxFileErrors) diags.push_back({kError, shown, line, 1, "", std::move(msg)});
    };
    std::size_t pos = 0;
    int line = 0;
    bool first_entry = true;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view l(text.data() + pos, end - pos);
        pos = end + 1;
        ++line;
        if (const auto hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
        l = trimmed(l);
        if (l.empty()) continue;
        std::string_view pre = l, label;
        if (const auto comma = l.find(','); comma != std::string_view::npos) {
            pre = trimmed(l.substr(0, comma));
            label = trimmed(l.substr(comma + 1));
            if (label.size() >= 2 && label.front() == '"' && label.back() == '"') label = label.substr(1, label.size() - 2);
        }
        if (first_entry && ieq(pre, "prefix")) {   // a CSV header
            first_entry = false;
            continue;
        }
        first_entry = false;
        if (!is_valid_prefix(pre)) {
            bad(line, "bad prefix " + quote_value(pre) + " (expected digits with an optional leading +, e.g. +881)");
            continue;
        }
        bool label_ok = label.size() <= 64 && label.find(',') == std::string_view::npos;
        for (const char c : label)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) label_ok = false;
        if (!label_ok) {
            bad(line, "bad label " + quote_value(label) + " (at most 64 printable characters, no comma)");
            continue;
        }
        if (entries->size() >= kMaxPrefixFileEntries) {
            bad(line, shown + " has more than " + std::to_string(kMaxPrefixFileEntries) +
                          " prefixes (the most a prefix file may have)");
            break;
        }
        entries->add(pre, label, line);
        if (!label.empty()) ++data.meta.labelled;
    }
    if (errors > kMaxFileErrors)
        diags.push_back({kError, shown, 0, 0, "",
                         std::to_string(errors) + " bad lines; only the first " + std::to_string(kMaxFileErrors) +
                             " are shown"});
    text.clear();
    text.shrink_to_fit();   // the file's text is not kept
    entries->finish();
    data.meta.entries = entries->size();
    data.meta.prefixes = std::move(entries);
    prefix_files.push_back(std::move(data));
}

}  // namespace vg::config::detail
