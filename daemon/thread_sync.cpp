// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/thread_sync.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace vg::daemon {

PiMutex::PiMutex() noexcept {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    inherits_ = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) == 0;
    if (pthread_mutex_init(&m_, &a) != 0) {
        // Without inheritance, then (no C library refuses a default mutex).
        inherits_ = false;
        pthread_mutex_init(&m_, nullptr);
    }
    pthread_mutexattr_destroy(&a);
}

PiMutex::~PiMutex() { pthread_mutex_destroy(&m_); }

void PiMutex::lock() noexcept {
    // A non-recursive, non-robust mutex fails only on a bug (locking it twice
    // on one thread): going on unlocked would corrupt what it guards.
    if (pthread_mutex_lock(&m_) != 0) std::abort();
}

bool PiMutex::try_lock() noexcept { return pthread_mutex_trylock(&m_) == 0; }

void PiMutex::unlock() noexcept { pthread_mutex_unlock(&m_); }

WakeFd::WakeFd() noexcept : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) error_ = errno;
}

WakeFd::~WakeFd() {
    if (fd_ >= 0) ::close(fd_);
}

void WakeFd::signal() noexcept {
    if (fd_ < 0) return;
    const std::uint64_t one = 1;
    // Fails only when the counter is full (2^64 - 2 signals not taken): the
    // waiter is woken anyway then.
    (void)!::write(fd_, &one, sizeof one);
}

void WakeFd::wait(int timeout_ms) noexcept {
    if (fd_ < 0) {
        // No eventfd (the start refused it): never block for ever.
        ::usleep(static_cast<useconds_t>((timeout_ms < 0 ? 20 : timeout_ms) * 1000));
        return;
    }
    pollfd p{fd_, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    std::uint64_t n = 0;
    while (::read(fd_, &n, sizeof n) > 0) {
    }
}

}  // namespace vg::daemon
