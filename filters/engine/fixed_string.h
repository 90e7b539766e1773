// SPDX-License-Identifier: GPL-2.0-or-later
// A string of at most N characters stored inline (no heap), for results that
// the data path hands around by value: normalised numbers, patterns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vg::engine {

template <std::size_t N>
class FixedString {
    static_assert(N > 0 && N < 256, "FixedString keeps its length in one byte");

public:
    static constexpr std::size_t kCapacity = N;

    constexpr FixedString() noexcept = default;

    // Replaces the contents; false (and empty) if `s` is longer than N.
    bool assign(std::string_view s) noexcept {
        size_ = 0;
        if (s.size() > N) return false;
        if (!s.empty()) std::memcpy(data_, s.data(), s.size());
        size_ = static_cast<std::uint8_t>(s.size());
        return true;
    }
    // Appends one character; false (unchanged) when full.
    bool push_back(char c) noexcept {
        if (size_ >= N) return false;
        data_[size_++] = c;
        return true;
    }
    bool append(std::string_view s) noexcept {
        if (s.size() > N - size_) return false;
        if (!s.empty()) std::memcpy(data_ + size_, s.data(), s.size());
        size_ = static_cast<std::uint8_t>(size_ + s.size());
        return true;
    }
    void clear() noexcept { size_ = 0; }

    std::string_view view() const noexcept { return {data_, size_}; }
    const char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    char operator[](std::size_t i) const noexcept { return data_[i]; }

    friend bool operator==(const FixedString& a, std::string_view b) noexcept { return a.view() == b; }
    friend bool operator!=(const FixedString& a, std::string_view b) noexcept { return a.view() != b; }
    friend bool operator==(const FixedString& a, const FixedString& b) noexcept { return a.view() == b.view(); }

private:
    char data_[N] = {};
    std::uint8_t size_ = 0;
};

}  // namespace vg::engine
