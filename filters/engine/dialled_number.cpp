// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/dialled_number.h"

#include "filters/util/text.h"

namespace vg::engine {

namespace {

bool all_digits(std::string_view s) noexcept {
    for (char c : s)
        if (!text::is_digit(c)) return false;
    return true;
}

constexpr std::size_t kMaxE164Digits = 15;

bool is_separator(char c) noexcept {
    return c == '-' || c == '.' || c == '(' || c == ')' || c == ' ';
}

NormalisedNumber fail(NormalisedNumber r, NumberError e) noexcept {
    r.cls = NumberClass::invalid;
    r.error = e;
    return r;
}

// Builds "+" cc rest as an E.164 number (rules 6, 8, 9, 11).
NormalisedNumber make_e164(std::string_view cc, std::string_view rest) noexcept {
    NormalisedNumber r;
    r.number.push_back('+');
    r.number.append(cc);
    if (cc.empty() && rest.empty()) return fail(r, NumberError::empty);
    const std::string_view first = cc.empty() ? rest : cc;
    if (first.front() == '0') {
        r.number.append(rest.substr(0, NormalisedNumber::kMaxLength - r.number.size()));
        return fail(r, NumberError::bad_country_code);
    }
    if (cc.size() + rest.size() > kMaxE164Digits) {
        r.number.append(rest.substr(0, NormalisedNumber::kMaxLength - r.number.size()));
        return fail(r, NumberError::too_long);
    }
    r.number.append(rest);
    r.cls = NumberClass::e164;
    r.error = NumberError::none;
    return r;
}

NormalisedNumber make_as_is(NumberClass cls, std::string_view digits) noexcept {
    NormalisedNumber r;
    r.number.assign(digits);
    r.cls = cls;
    r.error = NumberError::none;
    return r;
}

}  // namespace

std::string_view to_string(NumberClass c) noexcept {
    switch (c) {
    case NumberClass::e164: return "e164";
    case NumberClass::service: return "service";
    case NumberClass::short_number: return "short";
    case NumberClass::local: return "local";
    case NumberClass::feature: return "feature";
    case NumberClass::invalid: return "invalid";
    }
    return "invalid";
}

std::string_view to_string(NumberError e) noexcept {
    switch (e) {
    case NumberError::none: return "none";
    case NumberError::empty: return "empty";
    case NumberError::bad_character: return "bad_character";
    case NumberError::misplaced_plus: return "misplaced_plus";
    case NumberError::too_long: return "too_long";
    case NumberError::bad_country_code: return "bad_country_code";
    }
    return "none";
}

std::optional<DialPlan> DialPlan::make(std::string_view country_code, std::string_view national_prefix,
                                       std::string_view international_prefix) noexcept {
    if (country_code.empty() || country_code.size() > 3 || !all_digits(country_code) ||
        country_code.front() == '0')
        return std::nullopt;
    if (national_prefix.size() > 3 || !all_digits(national_prefix)) return std::nullopt;
    if (international_prefix.empty() || international_prefix.size() > 4 ||
        !all_digits(international_prefix))
        return std::nullopt;
    DialPlan p;
    p.country_code_.assign(country_code);
    p.national_prefix_.assign(national_prefix);
    p.international_prefix_.assign(international_prefix);
    return p;
}

bool DialPlan::add_service_number(std::string_view digits) noexcept {
    if (digits.empty() || digits.size() > kMaxServiceLength || !all_digits(digits)) return false;
    if (is_service_number(digits)) return true;
    if (service_count_ >= kMaxServiceNumbers) return false;
    service_[service_count_++].assign(digits);
    return true;
}

bool DialPlan::set_short_length(std::uint8_t min, std::uint8_t max) noexcept {
    if (min < 1 || min > max || max > kMaxE164Digits) return false;
    short_min_ = min;
    short_max_ = max;
    return true;
}

bool DialPlan::is_service_number(std::string_view digits) const noexcept {
    for (std::uint8_t i = 0; i < service_count_; ++i)
        if (service_[i] == digits) return true;
    return false;
}

NormalisedNumber normalise_number(std::string_view user, const DialPlan& plan) noexcept {
    NormalisedNumber r;
    // Rules 1 and 2.
    if (text::istarts_with(user, "tel:")) user.remove_prefix(4);
    if (const auto semi = user.find(';'); semi != std::string_view::npos) user = user.substr(0, semi);

    // Rules 3 and 4: collect digits, '*', '#' and a leading '+'.
    bool plus = false;
    bool feature = false;
    for (std::size_t i = 0; i < user.size(); ++i) {
        const char c = user[i];
        if (text::is_digit(c) || c == '*' || c == '#') {
            if (!r.number.push_back(c)) return fail(r, NumberError::too_long);
            feature = feature || c == '*' || c == '#';
        } else if (c == '+') {
            if (plus || !r.number.empty()) return fail(r, NumberError::misplaced_plus);
            plus = true;
            r.number.push_back('+');
        } else if (plus && user.substr(i, 3) == "(0)") {
            i += 2;  // the optional trunk prefix of "+44 (0)20 ..."
        } else if (!is_separator(c)) {
            return fail(r, NumberError::bad_character);
        }
    }
    const std::string_view all = r.number.view();
    const std::string_view digits = plus ? all.substr(1) : all;
    if (digits.empty()) return fail(r, NumberError::empty);

    // Rule 5.
    if (feature) {
        r.cls = NumberClass::feature;
        r.error = NumberError::none;
        return r;
    }
    // Rule 6. `digits` points into r.number, so copy before rebuilding.
    const FixedString<NormalisedNumber::kMaxLength> collected = r.number;
    const std::string_view d = plus ? collected.view().substr(1) : collected.view();
    if (plus) return make_e164({}, d);
    // Rule 7.
    if (plan.is_service_number(d)) return make_as_is(NumberClass::service, d);
    // Rule 8.
    const std::string_view intl = plan.international_prefix();
    if (d.size() > intl.size() && text::starts_with(d, intl)) return make_e164({}, d.substr(intl.size()));
    // Rule 9.
    const std::string_view nat = plan.national_prefix();
    if (!nat.empty() && d.size() > plan.short_max() && d.size() > nat.size() && text::starts_with(d, nat))
        return make_e164(plan.country_code(), d.substr(nat.size()));
    // Rule 10.
    if (d.size() >= plan.short_min() && d.size() <= plan.short_max())
        return make_as_is(NumberClass::short_number, d);
    // Rule 11.
    if (plan.unprefixed_is_national() && d.size() > plan.short_max())
        return make_e164(plan.country_code(), d);
    // Rule 12.
    return make_as_is(NumberClass::local, d);
}

}  // namespace vg::engine
