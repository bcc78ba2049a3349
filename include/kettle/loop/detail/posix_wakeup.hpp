// SPDX-License-Identifier: MIT
#pragma once

/// The self-pipe wake-up for poll-based loops on any POSIX system.

#include <kettle/loop/detail/posix_fd.hpp>

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace kettle::detail {

/// A non-blocking, close-on-exec pipe: `notify()` writes a byte from any
/// thread, the loop polls `read_fd()` and `drain()`s it on its own thread.
class posix_pipe_wakeup {
public:
    /// Throws `std::system_error` if the pipe cannot be created.
    posix_pipe_wakeup() {
        int fds[2] = {-1, -1};
#if defined(__APPLE__)
        // No pipe2 here: set the flags right after; the window only matters to
        // a concurrent fork+exec.
        if (::pipe(fds) != 0) {
            throw std::system_error(last_posix_error(), "kettle: pipe");
        }
        m_read.reset(fds[0]);
        m_write.reset(fds[1]);
        for (int fd : fds) {
            if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
                throw std::system_error(last_posix_error(), "kettle: fcntl");
            }
        }
#else
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            throw std::system_error(last_posix_error(), "kettle: pipe2");
        }
        m_read.reset(fds[0]);
        m_write.reset(fds[1]);
#endif
    }

    [[nodiscard]] int read_fd() const noexcept { return m_read.get(); }

    /// Any thread. A full pipe is already readable, so EAGAIN is success.
    void notify() noexcept {
        const char byte = 1;
        while (::write(m_write.get(), &byte, 1) < 0 && errno == EINTR) {
        }
    }

    /// Loop thread: empties the pipe so that level-triggered polling sleeps again.
    void drain() noexcept {
        char buffer[256];
        for (;;) {
            const ::ssize_t n = ::read(m_read.get(), buffer, sizeof buffer);
            if (n == static_cast<::ssize_t>(sizeof buffer) || (n < 0 && errno == EINTR)) {
                continue;
            }
            return;
        }
    }

private:
    posix_fd m_read;
    posix_fd m_write;
};

} // namespace kettle::detail
