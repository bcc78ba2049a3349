// SPDX-License-Identifier: MIT
#pragma once

/// A POSIX descriptor that closes itself, and errno as a `std::error_code`.

#include <cerrno>
#include <system_error>
#include <utility>

#include <unistd.h>

namespace kettle::detail {

/// `errno` now, as a `std::system_category()` code.
[[nodiscard]] inline std::error_code last_posix_error() noexcept {
    return {errno, std::system_category()};
}

/// Owns one descriptor; closes it on destruction. Move-only; not thread-safe.
class posix_fd {
public:
    posix_fd() noexcept = default;
    explicit posix_fd(int fd) noexcept : m_fd(fd) {}
    posix_fd(posix_fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    posix_fd& operator=(posix_fd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.m_fd, -1));
        }
        return *this;
    }
    posix_fd(const posix_fd&) = delete;
    posix_fd& operator=(const posix_fd&) = delete;
    ~posix_fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return m_fd; }
    [[nodiscard]] bool valid() const noexcept { return m_fd >= 0; }

    /// Closes the owned descriptor (never retried: after EINTR the descriptor is gone on Linux).
    void reset(int fd = -1) noexcept {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = fd;
    }

private:
    int m_fd = -1;
};

} // namespace kettle::detail
