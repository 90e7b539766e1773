// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: arbitrary bytes as a policy text. Includes are disabled,
// host names resolve through a fixed fake (no DNS), and the effective policy
// is rendered too so the printer is fuzzed with every policy that loads.
#include "config/loader.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

vg::config::ResolveResult fake_resolve(const std::string& host) {
    vg::config::ResolveResult r;
    if (host.size() % 2 == 0) r.addresses.push_back(*vg::net::IpAddress::parse("192.0.2.1"));
    else r.error = "not found";
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    vg::config::LoadOptions options;
    options.allow_includes = false;
    options.check_file_permissions = false;
    options.render_effective = true;
    options.resolver = fake_resolve;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = vg::config::load_policy_text(text, "fuzz.yaml", options);
    for (const auto& d : result.diagnostics) (void)d.format();
    if (result.ok()) {
        (void)vg::config::summary_line(*result.policy);
        // What --print shows must load again.
        const auto again = vg::config::load_policy_text(result.effective_yaml, "printed.yaml", options);
        if (!again.ok()) __builtin_trap();
    }
    return 0;
}
