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

template <std::size_t N>
void assign_truncated_text(FixedString<N>& out, std::string_view s) noexcept {
    out.assign(s.substr(0, N));
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

std::string_view to_string(DialDoubt d) noexcept {
    switch (d) {
    case DialDoubt::none: return "none";
    case DialDoubt::malformed_escape: return "malformed_escape";
    case DialDoubt::escaped_percent: return "escaped_percent";
    case DialDoubt::invalid_utf8: return "invalid_utf8";
    case DialDoubt::non_ascii_digit: return "non_ascii_digit";
    case DialDoubt::too_long: return "too_long";
    }
    return "none";
}

std::optional<DialPlan> DialPlan::make(std::string_view country_code, std::string_view national_prefix,
                                       std::string_view international_prefix) noexcept {
    if (country_code.size() > 3 || !all_digits(country_code) ||
        (!country_code.empty() && country_code.front() == '0'))
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
    // Rule 9 (needs the country code).
    const std::string_view nat = plan.national_prefix();
    if (plan.has_country_code() && !nat.empty() && d.size() > plan.short_max() && d.size() > nat.size() &&
        text::starts_with(d, nat))
        return make_e164(plan.country_code(), d.substr(nat.size()));
    // Rule 10.
    if (d.size() >= plan.short_min() && d.size() <= plan.short_max())
        return make_as_is(NumberClass::short_number, d);
    // Rule 11 (needs the country code).
    if (plan.has_country_code() && plan.unprefixed_is_national() && d.size() > plan.short_max())
        return make_e164(plan.country_code(), d);
    // Rule 12.
    return make_as_is(NumberClass::local, d);
}

namespace {

bool is_pause(char c) noexcept { return c == 'p' || c == 'P' || c == 'w' || c == 'W' || c == ','; }

// "0088216123458#" -> "0088216123458", "00882p12" -> "00882": what a PBX
// dials of a dial string before its post-dial part.
std::string_view dialled_part(std::string_view s) noexcept {
    if (const auto semi = s.find(';'); semi != std::string_view::npos) s = s.substr(0, semi);
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (is_pause(s[i]) && text::is_digit(s[i - 1])) {
            s = s.substr(0, i);
            break;
        }
    }
    while (s.size() > 1 && s.back() == '#') s.remove_suffix(1);
    return s;
}

unsigned hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    return static_cast<unsigned>(c - 'A' + 10);
}

// The decimal digits outside ASCII (Unicode general category Nd) come in
// runs of ten, '0' to '9'; these are the first of each run, as of Unicode
// 15.0. A script's digits added later read as letters here until listed.
constexpr std::uint32_t kDigitZeros[] = {
    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,   0xC66,   0xCE6,
    0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,  0x17E0,  0x1810,  0x1946,  0x19D0,
    0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,  0xA9F0,
    0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60,
    0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
};

bool reads_as_digit(std::uint32_t cp) noexcept {
    if (cp == 0xFF0B) return true;   // FULLWIDTH PLUS SIGN, '+' once normalised (NFKC)
    for (const std::uint32_t zero : kDigitZeros)
        if (cp >= zero && cp < zero + 10) return true;
    return false;
}

// UTF-8 checked byte by byte (RFC 3629 §4): overlong forms, surrogates,
// code points above U+10FFFF, stray continuation bytes and lead bytes that
// never start a sequence (C0, C1, F5-FF) are invalid_utf8; a code point
// that reads as a digit is non_ascii_digit.
class Utf8Check {
public:
    DialDoubt feed(unsigned char b) noexcept {
        if (need_ == 0) {
            if (b < 0x80) return DialDoubt::none;
            if (b >= 0xC2 && b <= 0xDF) return start(b & 0x1Fu, 1, 0x80);
            if (b >= 0xE0 && b <= 0xEF) return start(b & 0x0Fu, 2, 0x800);
            if (b >= 0xF0 && b <= 0xF4) return start(b & 0x07u, 3, 0x10000);
            return DialDoubt::invalid_utf8;
        }
        if ((b & 0xC0u) != 0x80) {
            need_ = 0;
            return DialDoubt::invalid_utf8;
        }
        cp_ = (cp_ << 6) | (b & 0x3Fu);
        if (--need_ != 0) return DialDoubt::none;
        if (cp_ < min_ || (cp_ >= 0xD800 && cp_ <= 0xDFFF) || cp_ > 0x10FFFF) return DialDoubt::invalid_utf8;
        return reads_as_digit(cp_) ? DialDoubt::non_ascii_digit : DialDoubt::none;
    }
    // A sequence was still open at the end.
    bool cut_short() const noexcept { return need_ != 0; }

private:
    DialDoubt start(std::uint32_t bits, unsigned need, std::uint32_t min) noexcept {
        cp_ = bits;
        need_ = need;
        min_ = min;
        return DialDoubt::none;
    }
    std::uint32_t cp_ = 0;
    std::uint32_t min_ = 0;
    unsigned need_ = 0;
};

void add_alternative(DialReadings& r, const NormalisedNumber& n) noexcept {
    if (!n.valid() && n.error != NumberError::too_long) return;
    if (n.number == r.primary.number && n.cls == r.primary.cls) return;
    for (std::size_t i = 0; i < r.alternative_count; ++i)
        if (r.alternatives[i].number == n.number) return;
    if (r.alternative_count < DialReadings::kMaxAlternatives) r.alternatives[r.alternative_count++] = n;
}

}  // namespace

DialReadings read_dial_string(std::string_view escaped_user, const DialPlan& plan) noexcept {
    DialReadings r;
    if (text::istarts_with(escaped_user, "tel:")) escaped_user.remove_prefix(4);
    auto doubt = [&r](DialDoubt d) {
        if (r.doubt == DialDoubt::none || d < r.doubt) r.doubt = d;
    };
    // %-escapes decode anywhere (RFC 3261 §19.1.2), hex digits in either
    // case (RFC 3986 §2.1). A malformed escape is kept as written, and
    // decoding goes on after it. The first kMaxDecoded decoded bytes are
    // read; the whole string is checked for doubts, and one that does not
    // fit is one.
    char buf[DialReadings::kMaxDecoded];
    std::size_t len = 0;
    std::size_t total = 0;
    constexpr std::size_t npos = std::string_view::npos;
    std::size_t nul_at = npos;   // decoded position of the first escaped NUL
    std::size_t cut_at = npos;   // decoded position of the first malformed escape
    Utf8Check utf8;
    for (std::size_t i = 0; i < escaped_user.size();) {
        char c = escaped_user[i];
        if (c == '%' && escaped_user.size() - i >= 3 && text::is_hex(escaped_user[i + 1]) &&
            text::is_hex(escaped_user[i + 2])) {
            c = static_cast<char>(hex_value(escaped_user[i + 1]) * 16 + hex_value(escaped_user[i + 2]));
            i += 3;
            if (c == '%') doubt(DialDoubt::escaped_percent);
            if (c == '\0' && nul_at == npos && len < sizeof buf) nul_at = len;
        } else {
            if (c == '%') {
                doubt(DialDoubt::malformed_escape);
                if (cut_at == npos && len < sizeof buf) cut_at = len;
            }
            ++i;
        }
        if (const DialDoubt d = utf8.feed(static_cast<unsigned char>(c)); d != DialDoubt::none) doubt(d);
        if (len < sizeof buf) buf[len++] = c;
        ++total;
    }
    if (utf8.cut_short()) doubt(DialDoubt::invalid_utf8);
    if (total > sizeof buf) doubt(DialDoubt::too_long);

    std::string_view s(buf, len);
    // An escaped NUL: a PBX that keeps the decoded user as a C string reads
    // only what comes before it, so that is a reading of its own.
    const std::string_view before_nul = nul_at != npos ? s.substr(0, nul_at) : std::string_view();
    // libosip2 ends the user part at a malformed escape.
    const std::string_view before_cut = cut_at != npos ? s.substr(0, cut_at) : std::string_view();
    assign_truncated_text(r.decoded, s);
    for (char c : s) r.digits = r.digits || text::is_digit(c);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    r.feature_code = !s.empty() && (s.front() == '*' || s.front() == '#');

    // A reading that is no valid E.164 number because of its country code
    // ("+0088216...", or "000088216..." once the international prefix is
    // '+'), as an outbound route that drops the '+' dials it: 0088216...
    const auto add_reading = [&](const NormalisedNumber& n) {
        add_alternative(r, n);
        if (n.cls == NumberClass::invalid && n.error == NumberError::bad_country_code && n.view().size() > 1)
            add_alternative(r, normalise_number(n.view().substr(1), plan));
    };
    const std::string_view dialled = dialled_part(s);
    r.primary = normalise_number(dialled, plan);
    add_reading(r.primary);
    if (!before_cut.empty()) add_reading(normalise_number(dialled_part(before_cut), plan));

    // The digits alone (and a leading '+'), of the dialled part and of the
    // whole string before its parameters: a PBX that drops every other
    // character dials "0p088216..." as 0088216..., not as the "0" before the
    // pause.
    const auto digits_alone = [&](std::string_view text) {
        char only[NormalisedNumber::kMaxLength + 1];
        std::size_t n = 0;
        bool seen_digit = false;
        for (char c : text) {
            if (c == '+' && !seen_digit && n == 0) only[n++] = '+';
            if (!text::is_digit(c)) continue;
            seen_digit = true;
            if (n < NormalisedNumber::kMaxLength) only[n++] = c;
        }
        if (seen_digit) add_reading(normalise_number(std::string_view(only, n), plan));
    };
    digits_alone(dialled);
    digits_alone(s.substr(0, s.find(';')));
    if (!before_nul.empty()) add_reading(normalise_number(dialled_part(before_nul), plan));

    // After a leading feature code of 1..4 characters past its '*' or '#'
    // ("*67", "#31#", "*82*"): what the PBX dials once it has acted on it.
    if (r.feature_code) {
        for (std::size_t k = 2; k <= 5 && k < dialled.size(); ++k) {
            const char c = dialled[k];
            if (!text::is_digit(c) && c != '+') continue;
            std::string_view rest = dialled.substr(k);
            // The rest itself must not be another feature code.
            if (rest.find_first_of("*#") != std::string_view::npos) continue;
            add_reading(normalise_number(rest, plan));
        }
    }

    // The site's own country code followed by its trunk prefix ("+44 0..."
    // is no UK number): an outbound route that writes the site's own
    // numbers in national form (+44 -> 0) dials "+44 088216..." as
    // 0088216..., an international number (and "+44 020 7946 0000", a
    // contact saved with its trunk prefix, as 00207946..., Egypt).
    const std::string_view cc = plan.country_code();
    const std::string_view nat = plan.national_prefix();
    if (!cc.empty() && !nat.empty()) {
        const std::size_t readings = r.alternative_count;
        for (std::size_t i = 0; i <= readings; ++i) {
            const NormalisedNumber& n = i == 0 ? r.primary : r.alternatives[i - 1];
            if (n.cls != NumberClass::e164) continue;
            const std::string_view own = n.view().substr(1);
            if (!text::starts_with(own, cc) || !text::starts_with(own.substr(cc.size()), nat)) continue;
            char national[NormalisedNumber::kMaxLength + 4];
            const std::string_view rest = own.substr(cc.size());
            std::size_t k = 0;
            for (char c : nat) national[k++] = c;
            for (char c : rest)
                if (k < sizeof national) national[k++] = c;
            add_reading(normalise_number(std::string_view(national, k), plan));
            // A route that only strips the country code: "+44 00882..."
            // dials 00882...
            add_reading(normalise_number(rest, plan));
        }
    }
    return r;
}

}  // namespace vg::engine
