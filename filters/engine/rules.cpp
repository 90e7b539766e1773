// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/rules.h"

#include <algorithm>

#include "filters/util/text.h"

namespace vg::engine {

namespace {

template <typename Peers, typename Get>
bool fill_trie(PrefixTrie<PeerIndex>& trie, const Peers& peers, Get&& addresses, std::string& error) {
    for (std::size_t i = 0; i < peers.size(); ++i) {
        for (const config::AddressEntry& a : addresses(peers[i])) {
            for (const net::Cidr& c : a.prefixes()) {
                // First listed peer wins where prefixes repeat.
                if (trie.find(c) != nullptr) continue;
                if (trie.insert(c, static_cast<PeerIndex>(i)) == PrefixTrie<PeerIndex>::InsertResult::invalid) {
                    error = "invalid prefix " + c.to_string();
                    return false;
                }
            }
        }
    }
    return true;
}

bool fill_prefixes(PrefixList& out, const std::vector<config::DialPrefix>& list, const DialPlan& plan,
                   std::string& error) {
    for (const config::DialPrefix& d : list) {
        const std::string norm = normalise_prefix(d.digits, plan);
        const auto id = static_cast<std::uint32_t>(out.texts.size());
        if (norm == "+") {
            if (out.international) continue;
            out.international = id;
        } else {
            if (out.set.find(norm)) continue;
            if (out.set.insert(norm, id) == DigitPrefixSet::InsertResult::invalid) {
                error = "invalid dial prefix \"" + d.digits + "\"";
                return false;
            }
        }
        out.texts.push_back(d.digits);
    }
    return true;
}

}  // namespace

std::string normalise_prefix(std::string_view prefix, const DialPlan& plan) {
    // One rule for the engine and `voipguard check` (config/policy.h).
    return config::normalised_prefix(prefix, plan.country_code(), plan.national_prefix(), plan.international_prefix());
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::compile(std::shared_ptr<const config::Policy> policy,
                                                              std::string& error) {
    auto c = std::make_shared<CompiledPolicy>();
    c->policy = policy;
    const config::Policy& p = *policy;

    for (const net::Cidr& n : p.handsets.networks) c->handsets.insert(n, 1);
    if (!fill_trie(c->pbx_signalling, p.peers.pbx, [](const config::PbxPeer& x) -> const auto& { return x.addresses; }, error))
        return nullptr;
    if (!fill_trie(c->pbx_media, p.peers.pbx,
                   [](const config::PbxPeer& x) -> const auto& {
                       return x.media.addresses.empty() ? x.addresses : x.media.addresses;
                   },
                   error))
        return nullptr;
    if (!fill_trie(c->support, p.peers.support, [](const config::ServicePeer& x) -> const auto& { return x.addresses; }, error))
        return nullptr;
    if (!fill_trie(c->egress, p.egress.allow, [](const config::ServicePeer& x) -> const auto& { return x.addresses; }, error))
        return nullptr;

    c->sip_ports = p.sip.ports;
    std::sort(c->sip_ports.begin(), c->sip_ports.end());

    const config::Policy::TollFraud& tf = p.toll_fraud;
    // Without a country code the plan still knows the international prefix:
    // numbers in international form, the built-in list and every limit are
    // enforced; national numbers stay as dialled (dialled_number.h).
    if (tf.enabled) {
        c->dial_plan = DialPlan::make(tf.country_code, tf.national_prefix, tf.international_prefix);
        if (!c->dial_plan) {
            error = "invalid dial plan (country code, national or international prefix)";
            return nullptr;
        }
        for (const std::string& e : tf.emergency_numbers) c->dial_plan->add_service_number(e);
        if (!fill_prefixes(c->deny, tf.deny_prefixes, *c->dial_plan, error) ||
            !fill_prefixes(c->allow, tf.allow_prefixes, *c->dial_plan, error) ||
            !fill_prefixes(c->out_of_hours_deny, tf.out_of_hours.deny_prefixes, *c->dial_plan, error))
            return nullptr;
    }
    if (tf.out_of_hours.enabled) {
        BusinessHours& bh = c->business_hours;
        bh.enabled = true;
        for (const config::WeeklyWindow& w : tf.out_of_hours.business_hours) {
            // Policy days: bit 0 = Monday .. bit 6 = Sunday; schedule: tm_wday bits.
            WeekdaySet days = 0;
            for (unsigned i = 0; i < 7; ++i)
                if (w.days & (1u << i)) days = static_cast<WeekdaySet>(days | (1u << ((i + 1) % 7)));
            if (!bh.schedule.add(days, w.start_minute, w.end_minute)) {
                error = "invalid business-hours window";
                return nullptr;
            }
        }
    }

    for (const std::string& pat : p.sip.scanner_user_agents) c->scanners.add(pat);

    for (const auto& [method, rate] : p.sip.rate_limits) {
        const auto spec = RateSpec::make(rate.count, std::chrono::seconds(rate.per.count()),
                                         rate.burst != 0 ? rate.burst : rate.count);
        if (!spec) {
            error = "invalid rate for " + method;
            return nullptr;
        }
        c->rates.push_back(MethodRate{method, *spec});
    }
    // "default" is looked up last.
    std::stable_partition(c->rates.begin(), c->rates.end(), [](const MethodRate& m) { return m.method != "default"; });

    for (const config::FirmwareMinimum& f : p.handsets.firmware_minimums) {
        const auto v = FirmwareVersion::parse(f.min_version);
        if (!v) {
            error = "invalid firmware version " + f.min_version;
            return nullptr;
        }
        c->firmware.push_back(FirmwareRule{f.match, *v, f.min_version});
    }
    return c;
}

std::optional<PrefixList::Match> PrefixList::match(std::string_view number,
                                                  std::string_view country_code) const noexcept {
    std::optional<Match> best;
    if (auto m = set.longest_match(number)) best = Match{m->prefix.size(), texts[m->rule_id]};
    // "+" is every international number: every E.164 number outside the
    // site's own country (all of them when the country is not known).
    if (!best && international && number.size() > 1 && number[0] == '+' &&
        (country_code.empty() ||
         !(number.size() > country_code.size() && number.substr(1, country_code.size()) == country_code)))
        best = Match{1, texts[*international]};
    return best;
}

bool CompiledPolicy::is_sip_port(std::uint16_t port) const noexcept {
    return std::binary_search(sip_ports.begin(), sip_ports.end(), port);
}

const MethodRate* CompiledPolicy::rate_for(std::string_view method) const noexcept {
    const MethodRate* fallback = nullptr;
    for (const MethodRate& r : rates) {
        if (r.method == method) return &r;
        if (r.method == "default") fallback = &r;
    }
    return fallback;
}

bool CompiledPolicy::in_business_hours(UnixSeconds wall) const noexcept {
    if (!business_hours.enabled) return true;
    return business_hours.schedule.contains(wall, p().toll_fraud.out_of_hours.zone.utc_offset(wall));
}

}  // namespace vg::engine
