// SPDX-License-Identifier: GPL-2.0-or-later
// malloc_count.h for timing binaries: malloc stays glibc's own, nothing is counted.
#include "tests/bench/malloc_count.h"

namespace vg::bench {
std::size_t allocation_count() noexcept { return 0; }
std::size_t allocated_bytes() noexcept { return 0; }
bool allocation_counting() noexcept { return false; }
}  // namespace vg::bench
