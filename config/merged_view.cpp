// SPDX-License-Identifier: GPL-2.0-or-later
// The merged view over a policy's files (layers in merge order, the site file
// last): how includes combine (config/REFERENCE.md, "Includes"). A single
// value comes from the last file that sets it, else from the schema's
// default; a list marked append in the schema is the concatenation over all
// files, any other list comes whole from the last file that sets it; a rate
// map (sip.rate_limits) is the default map with each file's keys on top. Every
// value keeps the file and position it came from. Part of the loader (see
// config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"

namespace vg::config::detail {

const YNode* find_in(const YNode* n, std::string_view dotted) {
    while (n && !dotted.empty()) {
        if (!n->is_map()) return nullptr;
        const auto dot = dotted.find('.');
        n = n->get(dotted.substr(0, dot));
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }
    return n;
}

const YNode* View::default_node(std::string_view pattern) {
    const KeyInfo* k = find_key(pattern);
    if (!k || k->dflt.empty() || (k->flags & kDescriptiveDefault)) return nullptr;
    auto it = defaults_.find(std::string(pattern));
    if (it == defaults_.end()) {
        auto parsed = parse_yaml(k->dflt, "(default)", 8);
        it = defaults_.emplace(std::string(pattern), parsed.root).first;
    }
    return it->second.get();
}

Val View::get(std::string_view pattern) {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
        if (const YNode* n = find_in(it->root.get(), pattern); n && !n->is_null()) return Val{n, &*it};
    return Val{default_node(pattern), nullptr};
}

Val View::field(const Val& item, std::string_view rel, std::string_view pattern) {
    if (const YNode* n = find_in(item.node, rel); n && !n->is_null()) return Val{n, item.layer};
    return Val{default_node(pattern), nullptr};
}

std::vector<Val> View::items(std::string_view pattern) {
    const KeyInfo* k = find_key(pattern);
    std::vector<Val> out;
    if (k && k->append()) {
        bool any = false;
        for (const auto& layer : layers_) {
            const YNode* n = find_in(layer.root.get(), pattern);
            if (!n || !n->is_sequence()) continue;
            any = true;
            for (std::size_t i = 0; i < n->items.size(); ++i)
                out.push_back(Val{n->items[i].get(), &layer, static_cast<int>(i)});
        }
        if (any) return out;
    } else {
        const Val v = get(pattern);
        if (v.node && v.node->is_sequence() && !v.is_default()) {
            for (std::size_t i = 0; i < v.node->items.size(); ++i)
                out.push_back(Val{v.node->items[i].get(), v.layer, static_cast<int>(i)});
            return out;
        }
    }
    if (const YNode* d = default_node(pattern); d && d->is_sequence())
        for (std::size_t i = 0; i < d->items.size(); ++i) out.push_back(Val{d->items[i].get(), nullptr, static_cast<int>(i)});
    return out;
}

std::vector<Val> View::field_items(const Val& item, std::string_view rel, std::string_view pattern) {
    std::vector<Val> out;
    const Val v = field(item, rel, pattern);
    if (v.node && v.node->is_sequence())
        for (std::size_t i = 0; i < v.node->items.size(); ++i)
            out.push_back(Val{v.node->items[i].get(), v.layer, static_cast<int>(i)});
    return out;
}

std::vector<std::pair<std::string, Val>> View::rate_map(std::string_view pattern) {
    std::vector<std::pair<std::string, Val>> out;
    auto put = [&](const std::string& key, const Val& v) {
        for (auto& e : out)
            if (e.first == key) {
                e.second = v;
                return;
            }
        out.emplace_back(key, v);
    };
    if (const YNode* d = default_node(pattern); d && d->is_map())
        for (const auto& [k, v] : d->entries) put(k->value, Val{v.get(), nullptr});
    for (const auto& layer : layers_) {
        const YNode* n = find_in(layer.root.get(), pattern);
        if (!n || !n->is_map()) continue;
        for (const auto& [k, v] : n->entries) put(k->value, Val{v.get(), &layer});
    }
    return out;
}

Origin origin_of(const Val& v) {
    if (!v.layer || !v.node) return Origin{"(default)", 0, 0};
    return Origin{v.layer->file, v.node->line, v.node->column};
}

std::string text_of(const Val& v) { return v.node && v.node->is_scalar() ? v.node->value : std::string(); }

std::string item_path(std::string_view list, int index) {
    return std::string(list) + "[" + std::to_string(index) + "]";
}

}  // namespace vg::config::detail
