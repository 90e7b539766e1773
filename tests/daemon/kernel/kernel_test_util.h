// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the kernel backend tests: a representative rule spec and a fake
// command runner that records what a backend runs.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "daemon/kernel/backend.h"
#include "daemon/kernel/rule_spec.h"

namespace vg::test {

net::Cidr cidr(const char* text);
kernel::ServiceEntry service(const char* prefix, kernel::L4 protocol, std::uint16_t first, std::uint16_t last);

// IPv4 + IPv6 handsets, two PBXs (one with separate media prefixes), SIP on
// 5060 and 5061, support on tcp/22 and tcp/443, an egress allow-list, queue
// 3, fail open, enforce.
kernel::RuleSpec representative_spec();

// Records every command with its stdin; answers from `replies` (keyed by the
// command line joined with spaces), else with `default_reply`.
class FakeRunner {
public:
    struct Call {
        std::string command;
        std::string input;
    };

    kernel::CommandRunner runner();
    void reply(const std::string& command, std::string out, int exit_code = 0);
    std::vector<std::string> commands() const;
    // The stdin texts of every call of `command`, in order.
    std::vector<std::string> inputs_of(const std::string& command) const;
    void clear() { calls_.clear(); }

    // Consulted first: return true with `out` filled to answer a call.
    std::function<bool(const std::string& command, const std::string& input, kernel::ExecResult& out)> handler;

    std::vector<Call> calls_;
    std::map<std::string, kernel::ExecResult> replies_;
    kernel::ExecResult default_reply = [] {
        kernel::ExecResult r;
        r.exit_code = 0;
        return r;
    }();
};

}  // namespace vg::test
