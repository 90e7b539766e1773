// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/bench/malloc_count.h"

#include <atomic>
#include <cstddef>

// glibc's own allocator entry points (exported by libc.so.6 for exactly this
// purpose: a replacement malloc that wraps the original one).
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void __libc_free(void* p);
}

#if defined(__SANITIZE_ADDRESS__)
#error "malloc_count.cpp replaces malloc: build the benchmarks without sanitizers"
#endif

namespace {
std::atomic<std::size_t> g_count{0};
std::atomic<std::size_t> g_bytes{0};

inline void note(std::size_t bytes) noexcept {
    g_count.store(g_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    g_bytes.store(g_bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}
}  // namespace

namespace vg::bench {
std::size_t allocation_count() noexcept { return g_count.load(std::memory_order_relaxed); }
std::size_t allocated_bytes() noexcept { return g_bytes.load(std::memory_order_relaxed); }
bool allocation_counting() noexcept { return true; }
}  // namespace vg::bench

extern "C" {
void* malloc(std::size_t size) noexcept {
    note(size);
    return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
    note(n * size);
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
    note(size);
    return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
}
