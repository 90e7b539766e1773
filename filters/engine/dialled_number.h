// SPDX-License-Identifier: GPL-2.0-or-later
// Normalises the number a handset dialled (the user part of a sip:/sips:
// Request-URI, or a tel: URI) into one comparable form for the toll-fraud
// guard, and classifies it. Allocation-free: the result is a small value.
//
// Input: the user part, already %-unescaped, e.g. "+44 (20) 7946-0000",
// "0044207946000", "020 7946 0000", or a whole tel: URI
// "tel:+1-201-555-0123;phone-context=example.com". The dial plan supplies the
// site's country code ("44"), national (trunk) prefix ("0") and international
// prefix ("00").
//
// Rules, applied in this order (examples for the UK plan 44 / "0" / "00"
// unless a US plan 1 / "1" / "011" is named):
//  1. A leading "tel:" (any case) is dropped:   "tel:+442079460000" -> "+442079460000".
//  2. Everything from the first ';' is dropped (URI parameters such as
//     phone-context, isub, ext; RFC 3966 §3):   "+1-201-555-0123;phone-context=x" -> "+12015550123".
//     phone-context is not used to complete local numbers.
//  3. Visual separators are removed: '-', '.', '(', ')' (RFC 3966 §5.1.1) and
//     spaces:                                    "+44 (20) 7946-0000" -> "+442079460000".
//     In a number starting with '+', the group "(0)" (the optional trunk
//     prefix written in international format) is dropped as a whole:
//                                                "+44 (0)20 7946 0000" -> "+442079460000".
//  4. Any character other than digits, separators, '*', '#' and one leading
//     '+' makes the number invalid:               "alice" -> invalid (bad_character),
//                                                "0207p946" -> invalid (bad_character),
//                                                "44+20" -> invalid (misplaced_plus).
//     Nothing left after the separators:         "" / "()" / "+" -> invalid (empty).
//     More than 32 characters:                    invalid (too_long).
//  5. '*' or '#' anywhere: a feature code (call forwarding, CLIR, voicemail),
//     kept as it is after step 3, not interpreted: "*72" -> feature "*72",
//                                                "#31#0044207946000" -> feature "#31#0044207946000".
//     A feature code can carry a destination; treat the class as its own risk.
//  6. A leading '+': international (E.164) form already. 1 to 15 digits, the
//     first not 0 (country codes never start with 0):
//                                                "+1 201 555 0123" -> e164 "+12015550123",
//                                                "+0044..." -> invalid (bad_country_code),
//                                                "+1234567890123456" -> invalid (too_long).
//  7. Exactly one of the plan's service numbers (digits only: one with '*'
//     or '#' would be a feature code by rule 5): kept unchanged.
//                                                "999" -> service "999", "112" -> service "112",
//                                                US "911" -> service "911".
//  8. Starts with the international prefix and has at least one more digit:
//     the prefix becomes '+' (then as rule 6), whatever the length, so a
//     truncated international number never passes as an extension:
//                                                "0044207946000" -> e164 "+44207946000",
//                                                "00881234567" -> e164 "+881234567",
//                                                US "011 44 20 7946 0000" -> e164 "+442079460000".
//  9. Starts with the national prefix and is longer than the longest
//     extension: the prefix becomes '+' and the country code:
//                                                "020 7946 0000" -> e164 "+442079460000",
//                                                US "1 (201) 555-0123" -> e164 "+12015550123".
//     The length condition keeps US extensions such as "1234" internal.
// 10. short_min..short_max digits (3 to 6 by default): an internal extension,
//     unchanged:                                  "201" -> short "201", "4711" -> short "4711".
// 11. Longer and the plan says unprefixed numbers are national (closed
//     numbering or 10-digit dialling, e.g. the US): '+' and the country code
//     are put in front:                           US "201-555-0123" -> e164 "+12015550123".
// 12. Anything else is a local number (dialled without area or trunk prefix),
//     unchanged; it cannot leave the country:     UK "79460000" -> local "79460000",
//                                                "0" -> local "0".
//
// A plan without a country code (a policy without toll_fraud.country_code)
// skips rules 9 and 11: national numbers stay local numbers as dialled
// ("020 7946 0000" -> local "02079460000"), while numbers in international
// form and with the international prefix still become E.164.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/engine/fixed_string.h"

namespace vg::engine {

enum class NumberClass : std::uint8_t {
    e164,     // "+" and 1..15 digits
    service,  // one of the dial plan's service / emergency numbers
    short_number,  // an internal extension
    local,    // dialled without a prefix, not an extension
    feature,  // contains '*' or '#'
    invalid,  // see NumberError
};

enum class NumberError : std::uint8_t {
    none,
    empty,
    bad_character,
    misplaced_plus,
    too_long,
    bad_country_code,
};

// Stable lower-case names for logs: "e164", "service", "short", "local",
// "feature", "invalid"; "none", "empty", "bad_character", "misplaced_plus",
// "too_long", "bad_country_code".
std::string_view to_string(NumberClass c) noexcept;
std::string_view to_string(NumberError e) noexcept;

class DialPlan {
public:
    // What toll_fraud.emergency_numbers allows (config/schema.cpp): 32
    // numbers of up to 15 digits. compile() refuses a policy whose numbers
    // do not fit, so none is silently left out.
    static constexpr std::size_t kMaxServiceNumbers = 32;
    static constexpr std::size_t kMaxServiceLength = 15;

    // country_code: 1-3 digits, not starting with 0, or empty (unknown: see
    // above). national_prefix: 0-3 digits (empty where there is no trunk
    // prefix). international_prefix: 1-4 digits. nullopt otherwise.
    static std::optional<DialPlan> make(std::string_view country_code,
                                        std::string_view national_prefix,
                                        std::string_view international_prefix) noexcept;

    // A service or emergency number (1-15 digits). False when it is not digits,
    // is too long, or the list is full.
    bool add_service_number(std::string_view digits) noexcept;
    // Extensions are min..max digits long; false unless 1 <= min <= max <= 15.
    bool set_short_length(std::uint8_t min, std::uint8_t max) noexcept;
    // Rule 11 (see above); off by default.
    void set_unprefixed_is_national(bool on) noexcept { unprefixed_is_national_ = on; }

    std::string_view country_code() const noexcept { return country_code_.view(); }
    bool has_country_code() const noexcept { return !country_code_.empty(); }
    std::string_view national_prefix() const noexcept { return national_prefix_.view(); }
    std::string_view international_prefix() const noexcept { return international_prefix_.view(); }
    std::uint8_t short_min() const noexcept { return short_min_; }
    std::uint8_t short_max() const noexcept { return short_max_; }
    bool unprefixed_is_national() const noexcept { return unprefixed_is_national_; }
    bool is_service_number(std::string_view digits) const noexcept;

private:
    DialPlan() noexcept = default;

    FixedString<3> country_code_;
    FixedString<3> national_prefix_;
    FixedString<4> international_prefix_;
    FixedString<kMaxServiceLength> service_[kMaxServiceNumbers];
    std::uint8_t service_count_ = 0;
    std::uint8_t short_min_ = 3;
    std::uint8_t short_max_ = 6;
    bool unprefixed_is_national_ = false;
};

struct NormalisedNumber {
    static constexpr std::size_t kMaxLength = 32;

    NumberClass cls = NumberClass::invalid;
    NumberError error = NumberError::empty;
    // The normalised number; for invalid input, whatever was collected before
    // the error (for the log line), possibly empty.
    FixedString<kMaxLength> number;

    bool valid() const noexcept { return cls != NumberClass::invalid; }
    std::string_view view() const noexcept { return number.view(); }
};

NormalisedNumber normalise_number(std::string_view user, const DialPlan& plan) noexcept;

// Why a dial string cannot be read with certainty. SIP stacks disagree on
// such a string in ways no list of readings covers, so the toll-fraud guard
// denies it (fails closed) whatever number it seems to hold. Listed from the
// most to the least specific; a dial string reports the first that applies.
enum class DialDoubt : std::uint8_t {
    none,
    // A '%' not followed by two hex digits ("%%", "%2G", "%2" or "%" at the
    // end). libosip2 ends the user part there ("%2B881234567%%" dials
    // +881234567), sscanf("%02X")-style decoders read "%2G" as 0x02 "G",
    // others keep the '%', drop it, or refuse the message.
    malformed_escape,
    // "%25": a '%' after decoding. A PBX that unescapes twice (its stack,
    // then a dial-plan function) reads "%252B88..." as "+88...".
    escaped_percent,
    // Decoded bytes that are not UTF-8 (RFC 3629): overlong forms ("%C0%B0"
    // is '0' to a lenient decoder), surrogates, stray or cut sequences.
    invalid_utf8,
    // A decimal digit of another script (Unicode category Nd: fullwidth
    // "%EF%BC%90", Arabic-Indic, Devanagari...) or the fullwidth '+': digits
    // to Unicode-aware code (Java's Character.isDigit, Python's int(), \d).
    non_ascii_digit,
    // Longer, once decoded, than the guard reads (kMaxDecoded bytes): what a
    // PBX reads past that ("0(((...(00881234567": separators it drops) was
    // never judged.
    too_long,
};

// "none", "malformed_escape", "escaped_percent", "invalid_utf8",
// "non_ascii_digit", "too_long" (logged in the rule "unreadable:CAUSE").
std::string_view to_string(DialDoubt d) noexcept;

// Every destination a PBX might read in a dial string: the user part of a
// sip/sips Request-URI, Refer-To or Contact as it appears on the wire
// (%-escaped), or a tel number. A PBX strips decorations before it dials, and
// PBXs differ in which, so the guard judges every reading and denies the
// dial string if any reading is denied:
//   - `primary`: %-escapes decoded everywhere, URI parameters (from the first
//     ';': phone-context, isub, postd, ext) cut, trailing '#' "dial now"
//     terminators and post-dial pauses (p, w, ',' and what follows a digit)
//     removed, then normalise_number(): "0088216123458%23" -> +88216123458.
//   - alternatives: what comes before a malformed escape, where libosip2
//     ends the user part ("%2B881234567%%" -> +881234567); the digits
//     alone, for PBXs that drop every other character ("00882x16..." ->
//     +88216...); what comes before an escaped NUL, for PBXs that keep the
//     user as a C string ("0088216%00x"); and for a dial string that starts
//     with a feature code ('*' or '#', e.g. *67, #31#) the rest after each
//     plausible code length, which the PBX dials after acting on the code
//     ("*670088216..." -> +88216...); the digits alone of the whole string
//     too, past its pauses ("0p088216..." -> +88216...); a number invalid
//     for its country code without its '+' ("+0088216..." -> +88216...,
//     as a route that drops the '+' dials it); and the site's own country
//     code followed by its trunk prefix in national form ("+44 088216..."
//     -> 0088216... -> +88216..., as a route writing the site's numbers
//     nationally, +44 -> 0, dials it).
// A malformed escape is kept as written (its '%' is no digit) and decoding
// goes on after it. `doubt` says why the string cannot be read with
// certainty (see DialDoubt; the whole string is checked, however long, and a
// string longer than kMaxDecoded is one).
// `digits` is false when the decoded string holds no ASCII digit: a name
// ("alice"), not a telephone number, unless `doubt` says otherwise.
struct DialReadings {
    static constexpr std::size_t kMaxAlternatives = 12;
    static constexpr std::size_t kMaxDecoded = 256;   // bytes of the decoded dial string read
    NormalisedNumber primary;
    NormalisedNumber alternatives[kMaxAlternatives];
    std::size_t alternative_count = 0;
    bool digits = false;
    bool feature_code = false;     // starts with '*' or '#' after decoding
    DialDoubt doubt = DialDoubt::none;
    FixedString<48> decoded;       // the decoded dial string (for logs), truncated
};

DialReadings read_dial_string(std::string_view escaped_user, const DialPlan& plan) noexcept;

}  // namespace vg::engine
