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

bool add_prefix(PrefixList& out, std::string_view digits, const DialPlan& plan, std::string& error) {
    const std::string norm = normalise_prefix(digits, plan);
    const auto id = static_cast<std::uint32_t>(out.texts.size());
    if (norm == "+") {
        if (out.international) return true;
        out.international = id;
    } else if (out.set.insert(norm, id) == DigitPrefixSet::InsertResult::invalid) {
        error = "invalid dial prefix \"" + std::string(digits) + "\"";
        return false;
    }
    // A prefix listed twice keeps its first rule id (DigitPrefixSet::build).
    out.texts.push_back(digits);
    return true;
}

// Adds `list` (and, for the deny and allow lists, the prefix files' entries
// after it); build_list() makes them visible to lookups.
// Which prefix files feed a list: a deny list's, an allow list's, or the
// callback risk list's (its own files and the deny files).
enum class FileList : std::uint8_t { deny, allow, risk };

bool file_feeds(const config::PrefixFile& f, FileList l) {
    switch (l) {
    case FileList::deny: return f.deny && !f.risk;
    case FileList::allow: return !f.deny && !f.risk;
    case FileList::risk: return f.risk || f.deny;
    }
    return false;
}

bool fill_prefixes(PrefixList& out, const std::vector<config::DialPrefix>& list, const DialPlan& plan,
                   std::string& error, const config::Policy::TollFraud* files = nullptr,
                   FileList which = FileList::deny) {
    std::size_t n = out.texts.size() + list.size();
    if (files)
        for (const auto& f : files->prefix_files)
            if (file_feeds(f, which) && f.prefixes) n += f.prefixes->size();
    out.texts.reserve(n);
    out.set.reserve(n);
    for (const config::DialPrefix& d : list)
        if (!add_prefix(out, d.digits, plan, error)) return false;
    if (files)
        for (const auto& f : files->prefix_files) {
            if (!file_feeds(f, which) || !f.prefixes) continue;
            for (std::size_t i = 0; i < f.prefixes->size(); ++i)
                if (!add_prefix(out, f.prefixes->digits(i), plan, error)) return false;
        }
    return true;
}

void build_list(PrefixList& out) {
    out.set.build();
    out.texts.shrink_to_fit();
}

// Policy days: bit 0 = Monday .. bit 6 = Sunday; schedule: tm_wday bits.
// A window the schedule refuses is named by its key, `path`[index].
bool add_windows(WeeklySchedule& out, const std::vector<config::WeeklyWindow>& windows, const std::string& path,
                 std::string& error) {
    for (std::size_t n = 0; n < windows.size(); ++n) {
        const config::WeeklyWindow& w = windows[n];
        WeekdaySet days = 0;
        for (unsigned i = 0; i < 7; ++i)
            if (w.days & (1u << i)) days = static_cast<WeekdaySet>(days | (1u << ((i + 1) % 7)));
        if (!out.add(days, w.start_minute, w.end_minute)) {
            error = path + "[" + std::to_string(n) + "]: window not accepted (at most " +
                    std::to_string(WeeklySchedule::kMaxWindows) + " windows, start and end different)";
            return false;
        }
    }
    return true;
}

}  // namespace

std::uint64_t profile_id(std::string_view name) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h == 0 ? 1 : h;
}

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
        // An emergency number left out of the plan would be blocked: refuse
        // the policy instead (the validator lets none through that fails here).
        for (const std::string& e : tf.emergency_numbers)
            if (!c->dial_plan->add_service_number(e)) {
                error = "toll_fraud.emergency_numbers: \"" + e + "\" does not fit the dial plan (at most " +
                        std::to_string(DialPlan::kMaxServiceNumbers) + " numbers of 1.." +
                        std::to_string(DialPlan::kMaxServiceLength) + " digits)";
                return nullptr;
            }
        c->dial_plan->set_unprefixed_is_national(tf.unprefixed_is_national && !tf.country_code.empty());
        if (!fill_prefixes(c->deny, tf.deny_prefixes, *c->dial_plan, error, &tf, FileList::deny) ||
            (tf.callback.enabled &&
             !fill_prefixes(c->callback_risk, tf.callback.risk_prefixes, *c->dial_plan, error, &tf, FileList::risk)) ||
            !fill_prefixes(c->allow, tf.allow_prefixes, *c->dial_plan, error, &tf, FileList::allow) ||
            !fill_prefixes(c->out_of_hours_deny, tf.out_of_hours.deny_prefixes, *c->dial_plan, error) ||
            !fill_prefixes(c->nanp_international, tf.nanp_international, *c->dial_plan, error))
            return nullptr;
        if (tf.profiles.size() > 0xfe) {
            error = "too many destination profiles";
            return nullptr;
        }
        for (std::size_t i = 0; i < tf.profiles.size(); ++i) {
            const config::FraudProfile& fp = tf.profiles[i];
            CompiledProfile cp;
            cp.name = fp.name;
            cp.id = profile_id(fp.name);
            if (!add_windows(cp.hours, fp.hours, "toll_fraud.profiles[" + std::to_string(i) + "].hours", error))
                return nullptr;
            cp.same_prefix_digits = fp.same_prefix_digits;
            cp.same_prefix_gap = std::chrono::seconds(fp.same_prefix_gap.count());
            cp.max_call_warning = std::chrono::seconds(fp.max_call_warning.count());
            cp.max_call_critical = std::chrono::seconds(fp.max_call_critical.count());
            cp.per_handset = fp.per_handset;
            cp.per_site = fp.per_site;
            c->profiles.push_back(std::move(cp));
            if (!fill_prefixes(c->profile_prefixes, fp.prefixes, *c->dial_plan, error)) return nullptr;
            c->profile_of.resize(c->profile_prefixes.texts.size(), static_cast<std::uint8_t>(i));
        }
        for (PrefixList* l : {&c->deny, &c->allow, &c->callback_risk, &c->out_of_hours_deny, &c->nanp_international,
                               &c->profile_prefixes})
            build_list(*l);
    }
    if (tf.out_of_hours.enabled) {
        BusinessHours& bh = c->business_hours;
        bh.enabled = true;
        if (!add_windows(bh.schedule, tf.out_of_hours.business_hours, "toll_fraud.out_of_hours.business_hours", error))
            return nullptr;
    }

    for (const std::string& pat : p.sip.scanner_user_agents)
        if (!c->scanners.add(pat)) {
            error = "sip.scanner_user_agents: pattern \"" + pat + "\" not accepted (1.." +
                    std::to_string(ScannerPatternSet::kMaxPatternLength) + " characters)";
            return nullptr;
        }

    if (p.sip.rate_limits.size() > kMaxMethodRates) {
        error = "sip.rate_limits: " + std::to_string(p.sip.rate_limits.size()) +
                " methods with the defaults, at most " + std::to_string(kMaxMethodRates) + " are allowed";
        return nullptr;
    }

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
    if (auto m = set.longest_match(number)) best = Match{m->prefix.size(), texts[m->rule_id], m->rule_id};
    // "+" is every international number: every E.164 number outside the
    // site's own country (all of them when the country is not known).
    if (!best && international && number.size() > 1 && number[0] == '+' &&
        (country_code.empty() ||
         !(number.size() > country_code.size() && number.substr(1, country_code.size()) == country_code)))
        best = Match{1, texts[*international], *international};
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

const CompiledProfile* CompiledPolicy::profile_for(std::string_view number) const noexcept {
    if (profiles.empty() || !dial_plan) return nullptr;
    const auto m = profile_prefixes.match(number, dial_plan->country_code());
    if (!m || m->id >= profile_of.size()) return nullptr;
    return &profiles[profile_of[m->id]];
}

const CompiledProfile* CompiledPolicy::profile_by_id(std::uint64_t id) const noexcept {
    for (const CompiledProfile& p : profiles)
        if (p.id == id) return &p;
    return nullptr;
}

bool CompiledPolicy::profile_active(const CompiledProfile& prof, UnixSeconds wall) const noexcept {
    if (prof.hours.empty()) return true;
    return prof.hours.contains(wall, p().toll_fraud.out_of_hours.zone.utc_offset(wall));
}

std::int64_t CompiledPolicy::local_day(UnixSeconds wall) const noexcept {
    const std::int64_t local = wall + p().toll_fraud.out_of_hours.zone.utc_offset(wall);
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

bool CompiledPolicy::in_business_hours(UnixSeconds wall) const noexcept {
    if (!business_hours.enabled) return true;
    return business_hours.schedule.contains(wall, p().toll_fraud.out_of_hours.zone.utc_offset(wall));
}

}  // namespace vg::engine
