// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <limits>
#include <map>
#include <sstream>

namespace vg::config::detail {

const YNode* YNode::get(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k->is_scalar() && k->value == key) return v.get();
    return nullptr;
}

const char* YNode::kind_name() const {
    switch (kind) {
    case Kind::null: return "nothing";
    case Kind::scalar: return "a scalar";
    case Kind::sequence: return "a list";
    case Kind::map: return "a map";
    }
    return "?";
}

namespace {

struct StopParsing {
    YAML::Mark mark;
    std::string message;
};

class TreeBuilder final : public YAML::EventHandler {
public:
    TreeBuilder(const std::string& file, int max_depth, std::vector<Diagnostic>& diags)
        : file_(file), max_depth_(max_depth), diags_(diags) {}

    YNodeP root() const { return root_; }

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (documents_++ > 0) throw StopParsing{mark, "only one YAML document is allowed in a policy file"};
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        auto n = make(YNode::Kind::null, mark);
        finish(n, anchor);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = anchors_.find(anchor);
        if (it == anchors_.end())
            throw StopParsing{mark, "alias refers to an anchor whose value is not complete (recursive alias)"};
        add(it->second, mark);
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
        auto n = make(YNode::Kind::scalar, mark);
        n->value = value;
        finish(n, anchor);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(make(YNode::Kind::sequence, mark), anchor, mark);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(make(YNode::Kind::map, mark), anchor, mark);
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        std::shared_ptr<YNode> node;
        YAML::anchor_t anchor;
        YNodeP pending_key;   // maps: key waiting for its value
        bool skip_value = false;   // the pending key is a duplicate
    };

    static std::shared_ptr<YNode> make(YNode::Kind kind, const YAML::Mark& mark) {
        auto n = std::make_shared<YNode>();
        n->kind = kind;
        n->line = mark.line + 1;
        n->column = mark.column + 1;
        return n;
    }

    void finish(const std::shared_ptr<YNode>& n, YAML::anchor_t anchor) {
        if (anchor != YAML::NullAnchor) anchors_[anchor] = n;
        add(n, YAML::Mark{});
    }

    void open(const std::shared_ptr<YNode>& n, YAML::anchor_t anchor, const YAML::Mark& mark) {
        if (static_cast<int>(stack_.size()) >= max_depth_)
            throw StopParsing{mark, "nesting deeper than " + std::to_string(max_depth_) + " levels"};
        stack_.push_back(Frame{n, anchor, nullptr, false});
    }

    void close() {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        if (f.anchor != YAML::NullAnchor) anchors_[f.anchor] = f.node;
        add(f.node, YAML::Mark{});
    }

    void add(const YNodeP& n, const YAML::Mark&) {
        if (stack_.empty()) {
            root_ = n;
            return;
        }
        Frame& top = stack_.back();
        auto* parent = top.node.get();
        if (parent->kind == YNode::Kind::sequence) {
            parent->items.push_back(n);
            return;
        }
        if (!top.pending_key) {
            if (!n->is_scalar()) {
                diags_.push_back({Diagnostic::Severity::error, file_, n->line, n->column, "",
                                  "a key must be a plain value, not " + std::string(n->kind_name())});
                top.skip_value = true;
            } else {
                for (const auto& [k, v] : parent->entries) {
                    if (k->value == n->value) {
                        diags_.push_back({Diagnostic::Severity::error, file_, n->line, n->column,
                                          path_of(n->value),
                                          "duplicate key '" + n->value + "' (first at " + std::to_string(k->line) +
                                              ":" + std::to_string(k->column) + ")"});
                        top.skip_value = true;
                        break;
                    }
                }
            }
            top.pending_key = n;
            return;
        }
        if (!top.skip_value) parent->entries.emplace_back(top.pending_key, n);
        top.pending_key = nullptr;
        top.skip_value = false;
    }

    // Key path of a key in the innermost open map, from the enclosing keys.
    std::string path_of(const std::string& key) const {
        std::string p;
        for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
            const Frame& f = stack_[i];
            if (f.node->kind == YNode::Kind::map) {
                if (!f.pending_key) continue;
                if (!p.empty()) p += '.';
                p += f.pending_key->value;
            } else {
                p += "[" + std::to_string(f.node->items.size()) + "]";
            }
        }
        if (!p.empty()) p += '.';
        return p + key;
    }

    const std::string& file_;
    int max_depth_;
    std::vector<Diagnostic>& diags_;
    std::vector<Frame> stack_;
    std::map<YAML::anchor_t, YNodeP> anchors_;
    YNodeP root_;
    int documents_ = 0;
};

// The first tab in the indentation of a line that holds more than a
// comment, on lines 1..max_line (1-based line and column), or {0, 0}.
std::pair<int, int> indentation_tab(std::string_view text, int max_line) {
    int line = 1;
    std::size_t pos = 0;
    while (pos <= text.size() && line <= max_line) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view l = text.substr(pos, end - pos);
        std::size_t i = 0;
        std::size_t tab = std::string_view::npos;
        while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) {
            if (l[i] == '\t' && tab == std::string_view::npos) tab = i;
            ++i;
        }
        if (tab != std::string_view::npos && i < l.size() && l[i] != '#' && l[i] != '\r')
            return {line, static_cast<int>(tab) + 1};
        if (end == text.size()) break;
        pos = end + 1;
        ++line;
    }
    return {0, 0};
}

}  // namespace

ParseOutcome parse_yaml(std::string_view text, const std::string& file, int max_depth) {
    ParseOutcome out;
    std::istringstream in{std::string(text)};
    TreeBuilder builder(file, max_depth, out.diagnostics);
    try {
        YAML::Parser parser(in);
        auto empty = [] {
            auto n = std::make_shared<YNode>();
            n->line = n->column = 1;
            return n;
        };
        if (!parser.HandleNextDocument(builder)) {
            out.root = empty();   // empty file
            return out;
        }
        out.root = builder.root();
        parser.HandleNextDocument(builder);   // a second document throws StopParsing
        if (!out.root) out.root = empty();
    } catch (const StopParsing& e) {
        out.root = nullptr;
        out.diagnostics.push_back({Diagnostic::Severity::error, file, e.mark.line + 1, e.mark.column + 1, "", e.message});
    } catch (const YAML::Exception& e) {
        out.root = nullptr;
        // yaml-cpp reports a tab in the indentation where it gives up ("illegal
        // map value", "end of map not found"), often lines later: name the tab.
        if (const auto [line, column] = indentation_tab(text, e.mark.is_null() ? std::numeric_limits<int>::max() : e.mark.line + 1);
            line > 0) {
            out.diagnostics.push_back({Diagnostic::Severity::error, file, line, column, "",
                                       "tab character in the indentation; YAML indents with spaces"});
            return out;
        }
        out.diagnostics.push_back({Diagnostic::Severity::error, file, e.mark.line + 1, e.mark.column + 1, "",
                                   "YAML syntax error: " + e.msg});
    }
    return out;
}

}  // namespace vg::config::detail
