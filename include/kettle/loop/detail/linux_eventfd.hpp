// SPDX-License-Identifier: MIT
#pragma once

/// The eventfd wake-up for epoll-based loops on Linux.

#include <kettle/loop/detail/posix_fd.hpp>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace kettle::detail {

/// A non-blocking, close-on-exec eventfd. Registered edge-triggered, it needs
/// no read per wake-up: every `notify()` is a new edge. Only when its counter
/// nears overflow (after 2^64 - 2 notifications) is it read back to zero.
class linux_eventfd_wakeup {
public:
    /// Throws `std::system_error` if the eventfd cannot be created.
    linux_eventfd_wakeup() : m_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (!m_fd.valid()) {
            throw std::system_error(last_posix_error(), "kettle: eventfd");
        }
    }

    [[nodiscard]] int fd() const noexcept { return m_fd.get(); }

    /// Any thread.
    void notify() noexcept {
        const std::uint64_t one = 1;
        for (;;) {
            if (::write(m_fd.get(), &one, sizeof one) >= 0) {
                return;
            }
            if (errno == EAGAIN) {
                drain(); // counter saturated: reset it, then write the new edge
            } else if (errno != EINTR) {
                return;
            }
        }
    }

    /// Resets the counter to zero.
    void drain() noexcept {
        std::uint64_t value = 0;
        while (::read(m_fd.get(), &value, sizeof value) < 0 && errno == EINTR) {
        }
    }

private:
    posix_fd m_fd;
};

} // namespace kettle::detail
