// SPDX-License-Identifier: GPL-2.0-or-later
// Counts heap allocations of the whole process: malloc_count.cpp defines
// malloc/calloc/realloc/free in the benchmark executable (glibc lets a program
// replace them) and forwards to glibc's allocator. C++ operator new and
// libraries written in C (libosip2) both end up here, so one counter covers
// voipguard's parser and libosip2's alike.
//
// The counter is bumped with a relaxed load + store, not an atomic add: it
// costs one plain increment per allocation (the benchmarks are
// single-threaded) instead of a locked instruction. Still, the wrapper adds a
// call per malloc/free, about 4 % to libosip2's parse; so timings of
// allocation-heavy code come from a binary linked with malloc_nocount.cpp
// (same API, counts nothing) and the counts from a separate run.
#pragma once

#include <cstddef>

namespace vg::bench {

// Calls of malloc, calloc and realloc (a realloc counts as one allocation)
// since the start of the process, and the bytes they asked for.
std::size_t allocation_count() noexcept;
std::size_t allocated_bytes() noexcept;

// True when this binary counts (malloc_count.cpp), false with malloc_nocount.cpp.
bool allocation_counting() noexcept;

}  // namespace vg::bench
