// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/toll_guard.h"

#include <algorithm>

namespace vg::engine {

namespace {

template <std::size_t N>
void set_rule(FixedString<N>& out, std::string_view a, std::string_view b = {}) noexcept {
    out.assign(a.substr(0, N));
    out.append(b.substr(0, N - out.size()));
}

// Could the reading reach the PSTN? Extensions and names cannot; an invalid
// reading counts when it failed only for its length (an overdialled number is
// routed on its prefix by carriers).
bool routable(const NormalisedNumber& n) noexcept {
    return n.cls == NumberClass::e164 || n.cls == NumberClass::local || n.cls == NumberClass::feature ||
           (n.cls == NumberClass::invalid && n.error == NumberError::too_long);
}

}  // namespace

void LimitKeys::add(std::uint64_t k) noexcept {
    for (std::uint8_t i = 0; i < count; ++i)
        if (key[i] == k) return;
    if (count < kMax) key[count++] = k;
    else overflow = true;
}

std::uint64_t limit_key(std::string_view kind, std::string_view value) noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : kind) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (char c : value) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h == 0 ? 1 : h;
}

TollGuard::TollGuard(std::size_t max_keys, std::size_t max_callback_marks, const SipHashKey& secret)
    : limits_(std::max<std::size_t>(16, max_keys)), profiles_(max_keys), callbacks_(max_callback_marks, secret) {}

namespace {

// One hourly bucket across a reload (see reload() in the header). Every
// hourly spec has the same token credit (one hour in nanoseconds), so the
// credit keeps its meaning under the new rate. Returns false when the bucket
// must start afresh (no old limit to carry from).
bool carry_hourly(TokenBucketState& b, std::uint32_t old_per_hour, std::uint32_t new_per_hour,
                  Timestamp mono) noexcept {
    const auto old_spec = RateSpec::make(old_per_hour, std::chrono::hours(1), old_per_hour);
    const auto new_spec = RateSpec::make(new_per_hour, std::chrono::hours(1), new_per_hour);
    if (!old_spec || !new_spec) return false;
    b.refill(*old_spec, mono);
    std::uint64_t credit = b.credit;
    if (new_per_hour > old_per_hour) credit += std::uint64_t{new_per_hour - old_per_hour} * new_spec->token_credit();
    b.credit = std::min(credit, new_spec->max_credit());
    return true;
}

}  // namespace

void TollGuard::reload(const CompiledPolicy& old_rules, const CompiledPolicy& new_rules, Timestamp mono) noexcept {
    const auto& o = old_rules.p().toll_fraud;
    const auto& n = new_rules.p().toll_fraud;
    const std::uint32_t old_key = o.enabled ? o.limits.per_handset_calls_per_hour : 0;
    const std::uint32_t new_key = n.enabled ? n.limits.per_handset_calls_per_hour : 0;
    const std::uint32_t old_site = o.enabled ? o.limits.per_site_calls_per_hour : 0;
    const std::uint32_t new_site = n.enabled ? n.limits.per_site_calls_per_hour : 0;
    for (auto e : limits_)
        if (e.value.hourly_init) e.value.hourly_init = carry_hourly(e.value.hourly, old_key, new_key, mono);
    if (site_hourly_init_) site_hourly_init_ = carry_hourly(site_hourly_, old_site, new_site, mono);
}

TollGuard::Counters* TollGuard::counters(std::uint64_t key, bool create) noexcept {
    if (!create) return limits_.touch(key);
    auto ins = limits_.find_or_insert(key);
    if (ins.evicted) ++evictions_;
    if (ins.value != nullptr && ins.inserted) *ins.value = Counters{};
    return ins.value;
}

TollDecision TollGuard::judge(std::string_view escaped_user, const CompiledPolicy& r, UnixSeconds wall) const noexcept {
    TollDecision d;
    const config::Policy::TollFraud& tf = r.p().toll_fraud;
    if (!tf.enabled || !r.dial_plan) return d;
    const DialReadings reads = read_dial_string(escaped_user, *r.dial_plan);
    d.number = reads.primary;
    d.dialled = reads.decoded;
    d.number_like = reads.digits;
    // A dial string that cannot be read with certainty is judged whatever it
    // seems to be (a name, an emergency number) and denied below.
    const bool unreadable = reads.doubt != DialDoubt::none;
    if (!unreadable) {
        if (!reads.digits) return d;   // a name
        if (reads.primary.cls == NumberClass::service) {
            d.service = true;
            return d;
        }
    }
    const std::string_view cc = r.dial_plan->country_code();
    const bool out_of_hours = tf.out_of_hours.enabled && !r.in_business_hours(wall);

    auto block = [&](const NormalisedNumber& n, std::string_view rule, std::string_view arg) {
        d.blocked = true;
        d.reason = Reason::toll_fraud;
        d.event = EventType::toll_fraud;
        d.number = n;
        set_rule(d.rule, rule, arg);
        return d;
    };
    // Deny prefixes (and out of hours), for one reading.
    auto denied = [&](const NormalisedNumber& n, std::string_view& rule, std::string_view& text) {
        if (!routable(n)) return false;
        const auto allow = r.allow.match(n.view(), cc);
        const std::size_t allow_len = allow ? allow->length : 0;
        if (auto m = r.deny.match(n.view(), cc); m && m->length > allow_len) {
            rule = "deny_prefix:";
            text = m->text;
            return true;
        }
        // NANP area codes billed internationally: "+1809..." as normalised,
        // or ten digits dialled without a prefix (a local reading here,
        // which is "+1" and its ten digits to the carrier).
        if (!r.nanp_international.empty()) {
            FixedString<NormalisedNumber::kMaxLength> as_e164;
            std::string_view v = n.view();
            if (n.cls == NumberClass::local && v.size() == 10) {
                as_e164.assign("+1");
                as_e164.append(v);
                v = as_e164.view();
            }
            const auto allow_as = r.allow.match(v, cc);
            if (auto m = r.nanp_international.match(v, cc);
                m && m->length > std::max(allow_len, allow_as ? allow_as->length : std::size_t{0})) {
                rule = "nanp_international:";
                text = m->text;
                return true;
            }
        }
        if (out_of_hours) {
            if (auto m = r.out_of_hours_deny.match(n.view(), cc); m && m->length > allow_len) {
                rule = "out_of_hours:";
                text = m->text;
                return true;
            }
        }
        return false;
    };
    std::string_view rule, text;
    if (denied(reads.primary, rule, text)) return block(reads.primary, rule, text);
    for (std::size_t i = 0; i < reads.alternative_count; ++i)
        if (denied(reads.alternatives[i], rule, text)) return block(reads.alternatives[i], rule, text);

    // Fail closed: what the PBX dials is not known. The log shows the first
    // reading that is a number (the one before a malformed escape, where
    // libosip2 stops), else the strict one.
    if (unreadable) {
        const NormalisedNumber* shown = &reads.primary;
        for (std::size_t i = 0; i < reads.alternative_count && !shown->valid(); ++i) shown = &reads.alternatives[i];
        if (!shown->valid()) shown = &reads.primary;
        return block(*shown, "unreadable:", to_string(reads.doubt));
    }

    if (tf.allow_list) {
        // The strict reading must be an allowed number (or an extension, or
        // a dial string the policy allows as written); every other reading
        // that could reach the PSTN must be allowed too.
        auto allowed = [&](const NormalisedNumber& n) {
            if (n.cls == NumberClass::short_number || n.cls == NumberClass::service) return true;
            if (n.cls != NumberClass::e164 && n.cls != NumberClass::local) return false;
            return r.allow.match(n.view(), cc).has_value();
        };
        const NormalisedNumber& p = reads.primary;
        const bool literal = p.cls == NumberClass::feature && r.allow.match(p.view(), cc).has_value();
        if (!literal) {
            if (!allowed(p)) return block(p, "allow_list", "");
            for (std::size_t i = 0; i < reads.alternative_count; ++i) {
                const NormalisedNumber& a = reads.alternatives[i];
                if (routable(a) && !allowed(a)) return block(a, "allow_list", "");
            }
        }
    }
    return d;
}

bool TollGuard::admit(const LimitKeys& keys, bool concurrent, bool count, const CompiledPolicy& r, const Now& now,
                      TollDecision& d) noexcept {
    const config::Policy::TollFraud& tf = r.p().toll_fraud;
    if (!tf.enabled) return true;
    const config::Policy::TollFraud::Limits& lim = tf.limits;
    auto block = [&](std::string_view rule) {
        d.blocked = true;
        d.reason = Reason::call_limit;
        d.event = EventType::call_limit;
        set_rule(d.rule, rule);
        return false;
    };
    if (keys.overflow) return block("limit:too_many_credentials");
    if (concurrent) {
        if (lim.per_handset_concurrent_calls > 0)
            for (std::uint8_t i = 0; i < keys.count; ++i)
                if (const Counters* c = counters(keys.key[i], false); c && c->active >= lim.per_handset_concurrent_calls)
                    return block("limit:per_handset_concurrent_calls");
        if (lim.per_site_concurrent_calls > 0 && site_active_ >= lim.per_site_concurrent_calls)
            return block("limit:per_site_concurrent_calls");
    }
    if (!count) return true;
    const bool out_of_hours = tf.out_of_hours.enabled && !r.in_business_hours(now.wall);
    std::uint32_t per_hour = lim.per_handset_calls_per_hour;
    if (out_of_hours && tf.out_of_hours.per_handset_calls_per_hour > 0)
        per_hour = tf.out_of_hours.per_handset_calls_per_hour;
    std::optional<RateSpec> spec;
    if (per_hour > 0) spec = RateSpec::make(per_hour, std::chrono::hours(1), per_hour);
    std::optional<RateSpec> site_spec;
    if (lim.per_site_calls_per_hour > 0)
        site_spec = RateSpec::make(lim.per_site_calls_per_hour, std::chrono::hours(1), lim.per_site_calls_per_hour);
    // Check every budget before taking from any, so a refused call costs none.
    Counters* cs[LimitKeys::kMax] = {};
    if (spec) {
        for (std::uint8_t i = 0; i < keys.count; ++i) {
            cs[i] = counters(keys.key[i], true);
            if (cs[i] == nullptr) continue;
            if (!cs[i]->hourly_init) {
                cs[i]->hourly = TokenBucketState::full(*spec, now.mono);
                cs[i]->hourly_init = true;
            }
            if (cs[i]->hourly.available(*spec, now.mono) < 1)
                return block(out_of_hours && tf.out_of_hours.per_handset_calls_per_hour > 0
                                 ? "limit:out_of_hours_calls_per_hour"
                                 : "limit:per_handset_calls_per_hour");
        }
    }
    if (site_spec) {
        if (!site_hourly_init_) {
            site_hourly_ = TokenBucketState::full(*site_spec, now.mono);
            site_hourly_init_ = true;
        }
        if (site_hourly_.available(*site_spec, now.mono) < 1) return block("limit:per_site_calls_per_hour");
        site_hourly_.take(*site_spec, now.mono);
    }
    if (spec)
        for (std::uint8_t i = 0; i < keys.count; ++i)
            if (cs[i] != nullptr) cs[i]->hourly.take(*spec, now.mono);
    return true;
}

void TollGuard::call_started(const LimitKeys& keys) noexcept {
    ++site_active_;
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = counters(keys.key[i], true); c && c->active < 0xffff) ++c->active;
}

void TollGuard::call_ended(const LimitKeys& keys) noexcept {
    if (site_active_ > 0) --site_active_;
    for (std::uint8_t i = 0; i < keys.count; ++i)
        if (Counters* c = counters(keys.key[i], false); c && c->active > 0) --c->active;
}

}  // namespace vg::engine
