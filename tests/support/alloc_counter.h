// SPDX-License-Identifier: GPL-2.0-or-later
// Heap allocation counter for tests: the test binary's global operator new is
// replaced so that every allocation made through it is counted.
#pragma once

#include <cstddef>

namespace vg::test {

// Number of calls to any global operator new (all overloads) so far.
std::size_t allocation_count() noexcept;

// Counts the allocations made while it is alive.
class AllocationScope {
public:
    AllocationScope() noexcept : start_(allocation_count()) {}
    std::size_t allocations() const noexcept { return allocation_count() - start_; }

private:
    std::size_t start_;
};

}  // namespace vg::test
