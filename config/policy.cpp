// SPDX-License-Identifier: GPL-2.0-or-later
// The few functions of the policy model (config/policy.h): enum names as the
// policy spells them, and the prefixes an address entry stands for.
#include "config/policy.h"

namespace vg::config {

const char* to_string(Mode m) { return m == Mode::enforce ? "enforce" : "monitor"; }
const char* to_string(OnFailure f) { return f == OnFailure::open ? "open" : "closed"; }
const char* to_string(Transport t) { return t == Transport::tcp ? "tcp" : "udp"; }

std::vector<net::Cidr> AddressEntry::prefixes() const {
    if (cidr) return {*cidr};
    std::vector<net::Cidr> out;
    for (const auto& a : resolved) out.push_back(net::Cidr{a, a.bit_length()});
    return out;
}

}  // namespace vg::config
