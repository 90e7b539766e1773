// SPDX-License-Identifier: GPL-2.0-or-later
// The native nftables backend: one table `inet NAME` of our own with
//
//   sets    handsets4/6, pbx_sig4/6, pbx_media4/6 (interval sets of prefixes),
//           support4/6, egress4/6 (address . protocol . port, intervals),
//           static4/6 (address . UDP source port) for the static media allowance
//   chains  forward (hook forward, priority mangle) -> to_handsets / from_handsets,
//           send_reset (hook forward, priority filter): TCP with the reset mark -> reject with tcp reset
//           postrouting (hook postrouting, priority mangle): packet mark -> ct mark
//   named counters queued, drop_in, drop_out
//
// install() is one `nft -f -` transaction that creates the table, deletes it
// (ours or a previous instance's) and defines it again: atomic replace.
// update() flushes and refills the sets in one transaction, or replaces the
// table when the rules changed. remove() deletes the table. Our base chains
// drop or reject, never accept: a packet that passes them still meets the router's own
// chains (fw4 and others) of every priority.
#pragma once

#include <string>

#include "daemon/kernel/backend.h"

namespace vg::kernel {

namespace nft {

// The whole `nft -f` transaction of install(). Without elements it is the
// shape update() compares to decide whether the rules must change.
std::string render_table(const RuleSpec& spec, bool with_elements = true);
// The transaction of update() when only set contents change.
std::string render_set_update(const RuleSpec& spec);
// Deletes the table if it exists, succeeds if not.
std::string render_delete(const std::string& name);
// Adds `nft list counters table inet NAME` output to `into`.
void add_counters(const std::string& list_text, Counters& into);

}  // namespace nft

class NftablesBackend final : public RuleBackend {
public:
    NftablesBackend(std::string name, BackendOptions options = {});

    std::string name() const override { return "nftables"; }
    bool install(const RuleSpec& spec, std::string& error) override;
    bool update(const RuleSpec& spec, std::string& error) override;
    bool remove(std::string& error) override;
    Counters counters() override;

private:
    bool run_nft(const std::string& input, std::string& error);
    bool read_counters(Counters& c);

    std::string rules_name_;
    BackendOptions options_;
    CommandRunner runner_;
    bool installed_ = false;
    std::string installed_shape_;   // render_table(spec, false)
    Counters base_;
};

}  // namespace vg::kernel
