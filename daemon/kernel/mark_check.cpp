// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/mark_check.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "daemon/kernel/iptables_backend.h"

namespace vg::kernel {

namespace {

// What a mark-writing rule leaves in each of the 32 bits of the mark it
// writes: a constant, the bit it had (self), the same bit of the other mark
// (mirror: CONNMARK --save-mark/--restore-mark, "ct mark set meta mark"), or
// something else (shifted bits, packet data, a hash: "other"). A small
// abstract interpretation of the rule's expression, one state per bit.
//
// A mirrored bit is not a forgery: the other mark's bit was written by a rule
// that is checked itself (or by voipguard), so copying it can move or clear
// our value, not make it. Shifted, it could carry any bit into ours: other.
enum class Bit : std::uint8_t { zero, one, self, mirror, other };

struct Bits {
    std::array<Bit, 32> b{};
    static Bits all(Bit v) {
        Bits r;
        r.b.fill(v);
        return r;
    }
    static Bits constant(std::uint32_t k) {
        Bits r;
        for (int i = 0; i < 32; ++i) r.b[static_cast<std::size_t>(i)] = (k >> i) & 1u ? Bit::one : Bit::zero;
        return r;
    }
    // `v` in the bits of `m`, `zero` elsewhere (a field of the packet, or of
    // the other mark).
    static Bits field(std::uint32_t m, Bit v = Bit::other) {
        Bits r;
        for (int i = 0; i < 32; ++i) r.b[static_cast<std::size_t>(i)] = (m >> i) & 1u ? v : Bit::zero;
        return r;
    }
    std::uint32_t mask_of(Bit v) const {
        std::uint32_t m = 0;
        for (int i = 0; i < 32; ++i)
            if (b[static_cast<std::size_t>(i)] == v) m |= 1u << i;
        return m;
    }
};

Bit bit_and(Bit x, Bit y) {
    if (x == Bit::zero || y == Bit::zero) return Bit::zero;
    if (x == Bit::one) return y;
    if (y == Bit::one) return x;
    return x == y && (x == Bit::self || x == Bit::mirror) ? x : Bit::other;
}
Bit bit_or(Bit x, Bit y) {
    if (x == Bit::one || y == Bit::one) return Bit::one;
    if (x == Bit::zero) return y;
    if (y == Bit::zero) return x;
    return x == y && (x == Bit::self || x == Bit::mirror) ? x : Bit::other;
}
// A flipped bit of the old mark is no longer the old mark: it can turn the
// reset value into the verified one. Treated as "other".
Bit bit_xor(Bit x, Bit y) {
    if (x == Bit::zero) return y;
    if (y == Bit::zero) return x;
    if (x == Bit::one && y == Bit::one) return Bit::zero;
    return Bit::other;
}

Bits combine(const Bits& a, const Bits& c, Bit (*op)(Bit, Bit)) {
    Bits r;
    for (std::size_t i = 0; i < 32; ++i) r.b[i] = op(a.b[i], c.b[i]);
    return r;
}

Bits shift(const Bits& a, int n, bool left) {
    if (n == 0) return a;
    Bits r = Bits::all(Bit::zero);
    for (int i = 0; i < 32; ++i) {
        const int from = left ? i - n : i + n;
        if (from < 0 || from >= 32) continue;
        const Bit b = a.b[static_cast<std::size_t>(from)];
        // A bit moved to another position is no longer that position's own.
        r.b[static_cast<std::size_t>(i)] = b == Bit::self || b == Bit::mirror ? Bit::other : b;
    }
    return r;
}

// new = (old & ~m) ^ v: MARK/CONNMARK --set-xmark, TPROXY --tproxy-mark.
Bits xmark(std::uint32_t v, std::uint32_t m) {
    return combine(combine(Bits::all(Bit::self), Bits::constant(~m), bit_and), Bits::constant(v), bit_xor);
}

std::string hex(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(v));
    return buf;
}

std::optional<std::uint32_t> number(std::string_view t) {
    if (t.empty() || t.size() > 12) return std::nullopt;
    const std::string s(t);
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
    if (*end != '\0' || v > 0xffffffffull || s[0] == '-') return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

// "V/M" or "V" (M = all bits).
std::optional<std::pair<std::uint32_t, std::uint32_t>> value_mask(std::string_view t) {
    const auto slash = t.find('/');
    const auto v = number(t.substr(0, slash));
    if (!v) return std::nullopt;
    if (slash == std::string_view::npos) return std::make_pair(*v, 0xffffffffu);
    const auto m = number(t.substr(slash + 1));
    if (!m) return std::nullopt;
    return std::make_pair(*v, *m);
}

// Classifies what a rule leaves in `register_name` ("the packet mark" / "the
// conntrack mark") against our signature.
std::optional<MarkFinding> classify(const Bits& after, const MarkSignature& sig, const char* register_name) {
    const std::uint32_t M = sig.mask;
    const std::uint32_t other = after.mask_of(Bit::other) & M;
    MarkFinding f;
    if (other != 0) {
        f.kind = MarkFinding::Kind::conflict;
        f.why = "copies non-constant data (another mark, packet bits, a hash) into bits " + hex(other) +
                " of our mask " + hex(M) + " of " + register_name;
        return f;
    }
    const std::uint32_t mirrored = after.mask_of(Bit::mirror) & M;
    const std::uint32_t written = (after.mask_of(Bit::zero) | after.mask_of(Bit::one)) & M;
    if (written == 0 && mirrored == 0) return std::nullopt;
    if (written == 0) {
        f.kind = MarkFinding::Kind::overlap;
        f.why = "copies bits " + hex(mirrored) + " of the other mark into the same bits of " +
                std::string(register_name) + " (inside our mask " + hex(M) +
                "): it can move or clear our mark, not forge it";
        return f;
    }
    const std::uint32_t ones = after.mask_of(Bit::one) & M;
    for (const auto& [value, what] : {std::make_pair(sig.verified, "verified"), std::make_pair(sig.reset, "reset")}) {
        // Our value's one-bits written as ones (and none else): a packet
        // whose mark is still clear in the bits left alone gets exactly our
        // value. Writing only zeros, or other ones, cannot make it.
        if (ones == value) {
            f.kind = MarkFinding::Kind::conflict;
            f.why = "writes " + hex(ones) + " under " + hex(written) + " into " + register_name + ": our " + what +
                    " value is " + hex(value) + " under " + hex(M);
            return f;
        }
    }
    f.kind = MarkFinding::Kind::overlap;
    f.why = "writes the constant " + hex(ones) + " under " + hex(written) + " into " + register_name +
            ", inside our mask " + hex(M) + ": it can clear our mark (flows are queued again), not forge it";
    return f;
}

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= line.size()) break;
        std::string w;
        if (line[i] == '"') {
            ++i;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\' && i + 1 < line.size()) ++i;
                w += line[i++];
            }
            ++i;
        } else {
            while (i < line.size() && line[i] != ' ' && line[i] != '\t') w += line[i++];
        }
        out.push_back(std::move(w));
    }
    return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// The iptables backend's chains, of either generation.
bool our_chain(std::string_view chain, const std::string& name) { return ipt::chain_generation(name, chain) >= 0; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// --- iptables --------------------------------------------------------------------

struct Write {
    Bits after;
    const char* register_name;
};

// The mark writes of one iptables rule (its words after "-A CHAIN").
std::vector<Write> iptables_writes(const std::vector<std::string>& w) {
    static const char* kPacket = "the packet mark";
    static const char* kConntrack = "the conntrack mark";
    std::vector<Write> out;
    std::string target;
    std::size_t t = 0;
    for (std::size_t i = 0; i + 1 < w.size(); ++i)
        if (w[i] == "-j" || w[i] == "--jump") {
            target = w[i + 1];
            t = i + 2;
            break;
        }
    if (target.empty()) return out;
    auto opt = [&](const char* name) -> const std::string* {
        for (std::size_t i = t; i + 1 < w.size(); ++i)
            if (w[i] == name) return &w[i + 1];
        return nullptr;
    };
    auto has = [&](const char* name) {
        for (std::size_t i = t; i < w.size(); ++i)
            if (w[i] == name) return true;
        return false;
    };
    // MARK, and CONNMARK's --set-* forms on the conntrack mark.
    auto set_forms = [&](const char* reg) -> bool {
        Bits b = Bits::all(Bit::self);
        bool any = false;
        if (const auto* v = opt("--set-xmark")) {
            const auto vm = value_mask(*v);
            b = vm ? xmark(vm->first, vm->second) : Bits::all(Bit::other);
            any = true;
        } else if (const auto* v2 = opt("--set-mark")) {
            const auto vm = value_mask(*v2);
            b = vm ? combine(combine(b, Bits::constant(~vm->second), bit_and), Bits::constant(vm->first), bit_or)
                   : Bits::all(Bit::other);
            any = true;
        } else if (const auto* a = opt("--and-mark")) {
            const auto n = number(*a);
            b = n ? combine(b, Bits::constant(*n), bit_and) : Bits::all(Bit::other);
            any = true;
        } else if (const auto* o = opt("--or-mark")) {
            const auto n = number(*o);
            b = n ? combine(b, Bits::constant(*n), bit_or) : Bits::all(Bit::other);
            any = true;
        } else if (const auto* x = opt("--xor-mark")) {
            const auto n = number(*x);
            b = n ? combine(b, Bits::constant(*n), bit_xor) : Bits::all(Bit::other);
            any = true;
        }
        if (any) out.push_back({b, reg});
        return any;
    };
    if (target == "MARK") {
        set_forms(kPacket);
    } else if (target == "TPROXY") {
        if (const auto* v = opt("--tproxy-mark")) {
            const auto vm = value_mask(*v);
            out.push_back({vm ? xmark(vm->first, vm->second) : Bits::all(Bit::other), kPacket});
        }
    } else if (target == "HMARK") {
        out.push_back({Bits::all(Bit::other), kPacket});
    } else if (target == "CONNMARK") {
        if (set_forms(kConntrack)) return out;
        const bool save = has("--save-mark"), restore = has("--restore-mark");
        if (!save && !restore) return out;
        std::uint32_t nfmask = 0xffffffffu, ctmask = 0xffffffffu;
        if (const auto* m = opt("--mask")) nfmask = ctmask = number(*m).value_or(0xffffffffu);
        if (const auto* m = opt("--nfmask")) nfmask = number(*m).value_or(0xffffffffu);
        if (const auto* m = opt("--ctmask")) ctmask = number(*m).value_or(0xffffffffu);
        int sh = 0;
        bool left = true;
        if (const auto* s = opt("--left-shift-mark")) sh = static_cast<int>(number(*s).value_or(32));
        if (const auto* s = opt("--right-shift-mark")) {
            sh = static_cast<int>(number(*s).value_or(32));
            left = false;
        }
        // save: ct = (ct & ~ctmask) ^ shift(pkt & nfmask);
        // restore: pkt = (pkt & ~nfmask) ^ shift(ct & ctmask) (xt_connmark.c).
        const std::uint32_t keep_mask = save ? ctmask : nfmask;
        const std::uint32_t copy_mask = save ? nfmask : ctmask;
        Bits copied = shift(Bits::field(copy_mask, Bit::mirror), sh, left);
        Bits b = combine(combine(Bits::all(Bit::self), Bits::constant(~keep_mask), bit_and), copied, bit_xor);
        out.push_back({b, save ? kConntrack : kPacket});
    }
    return out;
}

// --- nftables --------------------------------------------------------------------

// The values of an anonymous map "KEY map { k1 : v1, k2 : v2 }" starting at
// w[pos] == "{"; nullopt when they are not all numbers or the map does not
// end on this line.
std::optional<std::vector<std::uint32_t>> map_values(const std::vector<std::string>& w, std::size_t pos) {
    std::vector<std::uint32_t> out;
    for (std::size_t i = pos + 1; i < w.size(); ++i) {
        if (w[i] == "}") return out;
        if (w[i] != ":" || i + 1 >= w.size()) continue;
        std::string v = w[i + 1];
        if (!v.empty() && v.back() == ',') v.pop_back();
        const auto n = number(v);
        if (!n) return std::nullopt;
        out.push_back(*n);
    }
    return std::nullopt;
}

// Parses the expression of "<reg> set EXPR" starting at w[i]; `self_reg` is
// "meta" or "ct". Returns what the mark can become: usually one state, one
// constant per value for a lookup in an anonymous map ("ip dscp map { ef :
// 0xb8000000, ... }", a common way to keep the DSCP in the conntrack mark).
std::vector<Bits> nft_expression(const std::vector<std::string>& w, std::size_t i, const std::string& self_reg) {
    std::size_t pos = i;
    auto term = [&]() -> Bits {
        if (pos >= w.size()) return Bits::all(Bit::other);
        const std::string& t = w[pos];
        if (auto n = number(t)) {
            ++pos;
            return Bits::constant(*n);
        }
        if (t == "mark") {   // "mark" alone is the packet mark
            ++pos;
            return self_reg == "meta" ? Bits::all(Bit::self) : Bits::all(Bit::mirror);
        }
        if ((t == "meta" || t == "ct") && pos + 1 < w.size() && w[pos + 1] == "mark") {
            pos += 2;
            return t == self_reg ? Bits::all(Bit::self) : Bits::all(Bit::mirror);
        }
        if ((t == "ip" || t == "ip6") && pos + 1 < w.size() && w[pos + 1] == "dscp") {
            pos += 2;
            return Bits::field(0x3f);
        }
        // A hash, a random number, a map lookup, another field: anything.
        pos = w.size();
        return Bits::all(Bit::other);
    };
    Bits v = term();
    while (pos < w.size()) {
        const std::string& op = w[pos];
        if (op == "map") {
            const auto values = pos + 1 < w.size() && w[pos + 1] == "{" ? map_values(w, pos + 1) : std::nullopt;
            if (!values || values->empty()) return {Bits::all(Bit::other)};
            std::vector<Bits> out;
            for (std::uint32_t value : *values) out.push_back(Bits::constant(value));
            return out;
        }
        if (op == "vmap") return {Bits::all(Bit::other)};
        Bit (*fn)(Bit, Bit) = nullptr;
        if (op == "&" || op == "and") fn = bit_and;
        else if (op == "|" || op == "or") fn = bit_or;
        else if (op == "^" || op == "xor") fn = bit_xor;
        if (fn) {
            ++pos;
            v = combine(v, term(), fn);
            continue;
        }
        if (op == "<<" || op == ">>" || op == "lshift" || op == "rshift") {
            const bool left = op == "<<" || op == "lshift";
            ++pos;
            const auto n = pos < w.size() ? number(w[pos]) : std::nullopt;
            if (!n) return {Bits::all(Bit::other)};
            ++pos;
            v = shift(v, static_cast<int>(*n), left);
            continue;
        }
        break;   // the next statement (comment, counter, return, ...)
    }
    return {v};
}

std::vector<Write> nft_writes(const std::vector<std::string>& w) {
    std::vector<Write> out;
    for (std::size_t i = 0; i + 1 < w.size(); ++i) {
        if (w[i] != "mark" || w[i + 1] != "set") continue;
        const bool ct = i > 0 && w[i - 1] == "ct";
        for (const Bits& b : nft_expression(w, i + 2, ct ? "ct" : "meta"))
            out.push_back({b, ct ? "the conntrack mark" : "the packet mark"});
    }
    return out;
}

}  // namespace

bool MarkCheck::conflict() const {
    for (const auto& f : findings)
        if (f.kind == MarkFinding::Kind::conflict) return true;
    return false;
}

std::vector<MarkFinding> find_mark_writers_iptables(std::string_view save_text, const std::string& name,
                                                    const MarkSignature& sig) {
    std::vector<MarkFinding> out;
    std::string table;
    for (auto line : lines_of(save_text)) {
        line = trim(line);
        if (!line.empty() && line[0] == '[') {   // iptables-save -c counters
            const auto close = line.find(']');
            if (close == std::string_view::npos) continue;
            line = trim(line.substr(close + 1));
        }
        if (!line.empty() && line[0] == '*') {
            table = std::string(line.substr(1));
            continue;
        }
        if (line.compare(0, 3, "-A ") != 0 && line.compare(0, 3, "-I ") != 0) continue;
        const auto w = words(line);
        if (w.size() < 2 || our_chain(w[1], name)) continue;
        std::optional<MarkFinding> worst;
        for (const auto& wr : iptables_writes(w)) {
            auto f = classify(wr.after, sig, wr.register_name);
            if (f && (!worst || (f->kind == MarkFinding::Kind::conflict && worst->kind != MarkFinding::Kind::conflict)))
                worst = std::move(f);
        }
        if (worst) {
            worst->rule = (table.empty() ? std::string() : "-t " + table + " ") + std::string(line);
            out.push_back(std::move(*worst));
        }
    }
    return out;
}

std::vector<MarkFinding> find_mark_writers_nft(std::string_view ruleset, const std::string& name,
                                               const MarkSignature& sig) {
    std::vector<MarkFinding> out;
    std::string table, chain;
    bool skip_table = false;
    for (auto line : lines_of(ruleset)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        const auto w = words(line);
        if (w.empty()) continue;
        if (w[0] == "table" && w.size() >= 3) {
            // "table inet voipguard {" (or "table ip6 foo {")
            table = w[1] + " " + w[2];
            skip_table = w[1] == "inet" && w[2] == name;
            chain.clear();
            continue;
        }
        if (w[0] == "chain" && w.size() >= 2) {
            chain = w[1];
            continue;
        }
        if (w[0] == "}" || w[0] == "set" || w[0] == "map" || w[0] == "type" || w[0] == "flags" ||
            w[0] == "elements" || w[0] == "policy")
            continue;
        if (skip_table || our_chain(chain, name)) continue;
        std::optional<MarkFinding> worst;
        for (const auto& wr : nft_writes(w)) {
            auto f = classify(wr.after, sig, wr.register_name);
            if (f && (!worst || (f->kind == MarkFinding::Kind::conflict && worst->kind != MarkFinding::Kind::conflict)))
                worst = std::move(f);
        }
        if (worst) {
            worst->rule = table + " " + chain + ": " + std::string(line);
            out.push_back(std::move(*worst));
        }
    }
    return out;
}

MarkCheck check_router_marks(const BackendOptions& tools, const std::string& name, const MarkSignature& sig) {
    MarkCheck c;
    const CommandRunner run = runner_for(tools);
    auto take = [&](const std::vector<std::string>& argv, bool nft) {
        // Without a command prefix, a tool that is not installed has no rules.
        if (tools.command_prefix.empty() && !tools.runner && find_program(argv[0]).empty()) return;
        const ExecResult r = run(argv, {});
        std::string label = argv[0];
        for (std::size_t i = 1; i < argv.size(); ++i) label += " " + argv[i];
        if (!r.ok()) {
            c.errors.push_back(describe(argv, r));
            return;
        }
        c.read.push_back(label);
        auto found = nft ? find_mark_writers_nft(r.out, name, sig) : find_mark_writers_iptables(r.out, name, sig);
        for (auto& f : found) c.findings.push_back(std::move(f));
    };
    take({tools.iptables_save}, false);
    if (tools.ipv6) take({tools.ip6tables_save}, false);
    take({tools.nft, "list", "ruleset"}, true);
    return c;
}

}  // namespace vg::kernel
