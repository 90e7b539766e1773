// SPDX-License-Identifier: GPL-2.0-or-later
// The few functions of the policy model (config/policy.h): enum names as the
// policy spells them, and the prefixes an address entry stands for.
#include "config/policy.h"

#include <unordered_set>

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

void PrefixFileEntries::add(std::string_view digits, std::string_view label, int line) {
    chars_.append(digits);
    ends_.push_back(static_cast<std::uint32_t>(chars_.size()));
    lines_.push_back(static_cast<std::uint32_t>(line));
    if (label.empty()) {
        if (!labels_of_.empty()) labels_of_.push_back(0);
        return;
    }
    if (labels_of_.empty()) {
        labels_of_.reserve(ends_.capacity());
        labels_of_.resize(lines_.size() - 1, 0);
    }
    auto it = label_index_.find(label);
    if (it == label_index_.end()) {
        labels_.emplace_back(label);
        it = label_index_.emplace(std::string(label), static_cast<std::uint32_t>(labels_.size())).first;
    }
    labels_of_.push_back(it->second);
}

void PrefixFileEntries::finish() {
    chars_.shrink_to_fit();
    ends_.shrink_to_fit();
    lines_.shrink_to_fit();
    labels_of_.shrink_to_fit();
    labels_.shrink_to_fit();
    label_index_.clear();
}

std::size_t PrefixFileEntries::memory_bytes() const {
    std::size_t n = chars_.capacity() + (ends_.capacity() + lines_.capacity() + labels_of_.capacity()) * 4 +
                    labels_.capacity() * sizeof(std::string);
    for (const auto& l : labels_) n += l.capacity() > 15 ? l.capacity() + 1 : 0;
    return n;
}

std::size_t Policy::TollFraud::distinct_prefixes(bool deny) const {
    std::unordered_set<std::string_view> seen;
    for (const auto& d : deny ? deny_prefixes : allow_prefixes) seen.insert(d.digits);
    for (const auto& f : prefix_files)
        if (f.deny == deny && !f.risk && f.prefixes)
            for (std::size_t i = 0; i < f.prefixes->size(); ++i) seen.insert(f.prefixes->digits(i));
    return seen.size();
}

}  // namespace vg::config
