// SPDX-License-Identifier: GPL-2.0-or-later
// The few functions of the policy model (config/policy.h): enum names as the
// policy spells them, and the prefixes an address entry stands for.
#include "config/policy.h"

namespace vg::config {

const char* to_string(Mode m) { return m == Mode::enforce ? "enforce" : "monitor"; }
const char* to_string(OnFailure f) { return f == OnFailure::open ? "open" : "closed"; }
const char* to_string(Transport t) { return t == Transport::tcp ? "tcp" : "udp"; }
const char* to_string(FraudThreshold t) {
    switch (t) {
    case FraudThreshold::calls_per_minute: return "calls_per_minute";
    case FraudThreshold::concurrent_calls: return "concurrent_calls";
    case FraudThreshold::calls_per_day: return "calls_per_day";
    case FraudThreshold::same_prefix_calls: return "same_prefix_calls";
    case FraudThreshold::minutes_per_day: return "minutes_per_day";
    case FraudThreshold::count_: break;
    }
    return "?";
}

std::string normalised_prefix(std::string_view prefix, std::string_view country_code,
                              std::string_view national_prefix, std::string_view international_prefix) {
    auto starts = [&](std::string_view p) { return !p.empty() && prefix.substr(0, p.size()) == p; };
    if (!prefix.empty() && prefix[0] == '+') return std::string(prefix);
    // "00" alone is every international number ("+"); "0" alone every
    // national one ("+44").
    if (starts(international_prefix)) return "+" + std::string(prefix.substr(international_prefix.size()));
    if (starts(national_prefix))
        return "+" + std::string(country_code) + std::string(prefix.substr(national_prefix.size()));
    return std::string(prefix);
}

std::vector<net::Cidr> AddressEntry::prefixes() const {
    if (cidr) return {*cidr};
    std::vector<net::Cidr> out;
    for (const auto& a : resolved) out.push_back(net::Cidr{a, a.bit_length()});
    return out;
}

}  // namespace vg::config
