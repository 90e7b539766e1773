// SPDX-License-Identifier: GPL-2.0-or-later
// Dotted-numeric firmware versions from SIP User-Agent headers, for the
// passive firmware audit ("Yealink T46S below 66.86.0.15").
//
// Finding the version: find_version() looks for the model pattern
// (case-insensitive substring) and returns the first version-looking token
// after it. A version-looking token
//   - starts with a digit whose preceding character is not a letter, digit or
//     '.' (so model numbers glued to letters, "T46S", "SPA504G", "V1.1B" in
//     "HT-502 V1.1B 1.0.1.45", are passed over),
//   - is digits ('.' digits)+ : at least two numeric components,
//   - may end in ASCII letters directly after the last digit ("7.6.2c").
//   "Yealink SIP-T46S 66.86.0.15"          after "Yealink SIP-T46S" -> "66.86.0.15"
//   "PolycomVVX-VVX_410-UA/5.9.5.0614"     after "PolycomVVX-VVX_410" -> "5.9.5.0614"
//   "Grandstream GXP2170 1.0.11.23"        after "GXP2170" -> "1.0.11.23"
//   "snom760/10.1.54.13"                   after "snom760" -> "10.1.54.13"
//   "Cisco/SPA504G-7.6.2c"                 after "SPA504G" -> "7.6.2c"
//   "Linksys/SPA942-6.1.5(a)"              after "SPA942" -> "6.1.5" ("(a)" is not part of it)
//
// Comparing: components numerically, left to right ("66.86.0.15" > "66.85.0.5";
// "10.1.54.13" > "9.9.9.9"; leading zeros do not count, "5.9.5.0614" equals
// "5.9.5.614"); a missing component is 0 ("1.2" equals "1.2.0"). When the
// numbers are equal, the letter suffix decides: no suffix first, then shorter
// suffixes before longer ones, then alphabetical, case-insensitively:
//   7.6.2 < 7.6.2a < 7.6.2b < 7.6.2c < 7.6.2z < 7.6.2aa
// That is the maintenance-release convention of Cisco/Linksys SPA firmware.
// Pre-release tags are not recognised: "1.0rc1" reads as 1.0 with suffix "rc"
// and so ranks after 1.0; firmware audits compare release builds.
//
// Limits: at most 8 components (more are ignored), each up to 4294967295
// (larger saturates), suffix up to 7 letters (more are ignored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vg::engine {

class FirmwareVersion {
public:
    static constexpr std::size_t kMaxComponents = 8;
    static constexpr std::size_t kMaxSuffix = 7;

    // Parses a version token, the whole of `text` ("66.86.0.15", "7.6.2c",
    // "10"); nullopt if it is not digits('.'digits)*[letters].
    static std::optional<FirmwareVersion> parse(std::string_view text) noexcept;

    std::size_t components() const noexcept { return count_; }
    std::uint32_t component(std::size_t i) const noexcept { return i < count_ ? parts_[i] : 0; }
    std::string_view suffix() const noexcept { return {suffix_, suffix_len_}; }

    // <0, 0, >0.
    friend int compare(const FirmwareVersion& a, const FirmwareVersion& b) noexcept;
    friend bool operator<(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) < 0; }
    friend bool operator>(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) > 0; }
    friend bool operator<=(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) <= 0; }
    friend bool operator>=(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) >= 0; }
    friend bool operator==(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) == 0; }
    friend bool operator!=(const FirmwareVersion& a, const FirmwareVersion& b) noexcept { return compare(a, b) != 0; }

private:
    std::uint32_t parts_[kMaxComponents] = {};
    std::uint8_t count_ = 0;
    std::uint8_t suffix_len_ = 0;
    char suffix_[kMaxSuffix] = {};  // lower case
};

// The first version-looking token in `text` (see above), or an empty view.
std::string_view first_version_token(std::string_view text) noexcept;

// The first version-looking token after the first occurrence of
// `model_pattern` (case-insensitive) in `user_agent`; empty if the pattern
// does not occur or no version follows it. An empty pattern searches the
// whole User-Agent.
std::string_view find_version(std::string_view user_agent, std::string_view model_pattern) noexcept;

}  // namespace vg::engine
