// SPDX-License-Identifier: GPL-2.0-or-later
// The iptables + ipset backend, for kernels without the nftables queue
// statement. In the mangle table of iptables and ip6tables:
//
//   FORWARD     rule 1: -j NAME-fwd    (handset traffic: NAME-in / NAME-out)
//   POSTROUTING rule 1: -j NAME-post   (packet mark -> conntrack mark)
//
// and in the filter table (REJECT works only there):
//
//   FORWARD     rule 1: -j NAME-rst    (TCP with the reset mark -> REJECT tcp-reset)
//
// Allow-lists live in ipset sets (NAME-handsets4, NAME-pbx-sig6, ...), so a
// reload swaps set contents (`ipset swap`) without touching rules. The
// handset networks, which only a policy change changes, are matched in the
// rules themselves (-s/-d, native expressions under iptables-nft) while a
// family has at most kNativeHandsetPrefixes of them: every forwarded packet
// of the router walks those matches, and a set match costs it a call into
// the xtables compatibility layer and a hash lookup each. The
// router's rules are never flushed or edited. The rules only RETURN (the
// packet continues to the router's filter rules), NFQUEUE, mark, NFLOG,
// DROP or REJECT; never ACCEPT.
//
// Rules are replaced by stage and swap, never by removing the running ones
// first. Our chains come in two generations (NAME-fwd ... and NAME-fwd-2
// ...); the one the built-in chains do not jump to is written and filled
// (`iptables-restore --noflush`, nothing goes through it yet), the sets are
// swapped, and then one commit per table moves the built-in jumps to the new
// generation; the old generation is deleted last. A failure at any step
// (another tool holding the xtables lock past the `-w` bound, a refused
// rule) puts back what was swapped and leaves the running rules and set
// contents as they were.
//
// The text generators are public for the golden tests.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/kernel/backend.h"

namespace vg::kernel {

namespace ipt {

struct ChainNames {
    std::string fwd, in, out, post;   // mangle
    std::string src, frn;             // mangle: forged and foreign sources
    std::string lan, hs;              // mangle: from a voice interface; from a handset network
    std::string rst;                  // filter
};
// The chains of one generation: 0 is NAME-fwd, NAME-in, ...; 1 is
// NAME-fwd-2, NAME-in-2, ...
ChainNames chain_names(const std::string& name, int generation = 0);
// The generation (0 or 1) of one of our chains, -1 when it is not ours.
int chain_generation(const std::string& name, std::string_view chain);

// Up to this many handset prefixes per family are matched in the rules
// themselves; more take the NAME-handsets4/6 set.
inline constexpr std::size_t kNativeHandsetPrefixes = 8;

// One ipset set the rules use.
struct SetDef {
    std::string name;                    // e.g. "voipguard-handsets4"
    std::string type;                    // "hash:net" or "hash:net,port"
    net::Family family = net::Family::v4;
    std::vector<std::string> elements;   // ipset element syntax
    std::size_t maxelem = 65536;
};
// Every set of the spec, both families (IPv4 only when !ipv6). The list of
// names depends only on the policy's shape, not on addresses.
std::vector<SetDef> sets_for(const RuleSpec& spec, bool ipv6);
// Name a set is filled under before `ipset swap`.
std::string staging_name(const std::string& set_name);

// A set that exists in the kernel (`ipset list -t`).
struct SetState {
    std::string name, type, family;
};
std::vector<SetState> parse_ipset_list(const std::string& text);
// Sets named like ours (final and staging names), whether wanted or not.
std::vector<std::string> our_sets(const std::string& name, const std::vector<SetState>& existing);
// True when every wanted set that exists has the type and family it needs.
bool sets_compatible(const std::vector<SetDef>& wanted, const std::vector<SetState>& existing,
                     std::string& mismatch);

// `ipset restore` input: destroys leftover staging sets, creates missing
// sets, creates and fills a staging set per wanted set.
std::string render_ipset_stage(const std::vector<SetDef>& wanted, const std::vector<SetState>& existing);
// `ipset restore` input: swaps every staging set into place and, with
// `destroy`, destroys the staging sets (which hold the old contents then;
// without, a second swap puts the old contents back).
std::string render_ipset_swap(const std::vector<SetDef>& wanted, bool destroy = true);
std::string render_ipset_destroy(const std::vector<std::string>& names);

// What of ours exists in one family's mangle and filter tables
// (iptables-save output of all tables).
struct TableState {
    std::string name;                      // the name prefix (RuleSpec::name)
    std::vector<std::string> chains;       // our mangle chains (both generations)
    std::vector<std::string> references;   // rules of other chains that jump to ours: "FORWARD -j voipguard-fwd"
    std::vector<std::string> filter_chains;       // the same in the filter table
    std::vector<std::string> filter_references;
    int live = -1;   // the generation the mangle FORWARD jump leads to; -1: none
    bool empty() const {
        return chains.empty() && references.empty() && filter_chains.empty() && filter_references.empty();
    }
};
TableState parse_table(const std::string& save_text, const std::string& name);
// The generation new rules are written into: the one that is not live.
int staging_generation(const TableState& existing);

// iptables-restore --noflush input for one family: declares (creates or
// flushes) the chains of `generation` and fills them, the filter table's
// reset chain first. No jump leads there yet: the kernel's path is the same
// before and after (render_swap() makes them live).
std::string render_rules(const RuleSpec& spec, net::Family family, int generation = 0);
// iptables-restore --noflush input that makes `generation` live: deletes
// the jumps in `existing` and inserts ours at rule 1, one commit per table
// (each atomic). generation -1: only deletes the jumps.
std::string render_swap(const std::string& name, const TableState& existing, int generation);
// Whether the live generation in `save_text` (iptables-save of one family)
// is still what `rendered` (render_rules() of that generation) wrote: each
// of our chains has as many rules, and the built-in chains jump to it first
// (a firewall reload may have deleted our rules or put its own before ours).
bool rules_in_place(const std::string& save_text, const std::string& rendered, const std::string& name);
// iptables-restore --noflush input removing what `existing` lists except
// the chains of generation `keep` and the jumps to them (-1: everything);
// "" when there is nothing.
std::string render_removal(const TableState& existing, int keep = -1);

// Adds the counters of our rules in `iptables-save -c` output to `into`
// (of one generation, or of both with -1).
void add_counters(const std::string& save_text, const std::string& name, Counters& into, int generation = -1);

}  // namespace ipt

class IptablesBackend final : public RuleBackend {
public:
    IptablesBackend(std::string name, BackendOptions options = {});

    std::string name() const override { return "iptables"; }
    bool install(const RuleSpec& spec, std::string& error) override;
    bool update(const RuleSpec& spec, std::string& error) override;
    bool remove(std::string& error) override;
    Counters counters() override;

private:
    struct Family {
        net::Family family;
        std::string save, restore;
    };
    std::vector<Family> families() const;
    std::vector<std::string> restore_command(const Family& f) const;
    bool run(const std::vector<std::string>& argv, const std::string& input, std::string* out, std::string& error);
    bool read_sets(std::vector<ipt::SetState>& sets, std::string& error);
    bool stage_sets(const std::vector<ipt::SetDef>& wanted, const std::vector<ipt::SetState>& existing,
                    std::string& error);
    void drop_staged_sets(const std::vector<ipt::SetState>& existing);
    // New set contents under the rules in place.
    bool swap_sets(const std::vector<ipt::SetDef>& wanted, const std::vector<ipt::SetState>& existing,
                   std::string& error);
    bool replace_rules(const RuleSpec& spec, const std::vector<ipt::SetDef>& wanted,
                       const std::vector<ipt::SetState>& existing, std::string& error);
    void drop_unlive_chains(const Family& f);
    void destroy_unwanted_sets(const std::vector<ipt::SetDef>& wanted);
    bool check_spec(const RuleSpec& spec, std::string& error) const;
    bool read_counters(Counters& c);

    std::string rules_name_;
    BackendOptions options_;
    CommandRunner runner_;
    bool installed_ = false;
    std::array<std::string, 2> installed_rules_;   // render_rules(spec, family) per family (v4, v6)
    Counters base_;                                 // counts of rules that were replaced
};

}  // namespace vg::kernel
