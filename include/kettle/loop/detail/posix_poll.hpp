// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::poll_backend`: the portable POSIX readiness backend.

#include <kettle/loop/backend.hpp>
#include <kettle/loop/detail/posix_fd.hpp>
#include <kettle/loop/detail/posix_wakeup.hpp>
#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/trigger.hpp>

#include <cerrno>
#include <cstddef>
#include <new>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>

namespace kettle {

/// Readiness through `poll(2)`: works on every POSIX system; each wait costs
/// O(registered descriptors). Level-triggered only (`trigger::edge` fails with
/// `std::errc::operation_not_supported`).
///
/// Used by one `event_loop` on its thread; only `interrupt()` is thread-safe.
/// Keeps a `pollfd` array (slot 0 is the self-pipe wake-up) and a
/// descriptor-indexed table of positions, so add, modify and remove are O(1)
/// (removal swaps the last entry in). `add` checks the descriptor with
/// `fcntl(F_GETFD)`, so a closed descriptor fails there with `EBADF`. A
/// descriptor closed while registered comes back from poll as `POLLNVAL`: it
/// is reported once with `io_events::error_bit` and then no longer polled
/// until it is removed.
class poll_backend {
public:
    static constexpr std::string_view name = "poll";
    static constexpr bool supports_edge_trigger = false;

    /// Throws `std::system_error` if the wake-up pipe cannot be created.
    poll_backend() {
        m_fds.push_back(pollfd{m_wake.read_fd(), POLLIN, 0});
    }

    poll_backend(const poll_backend&) = delete;
    poll_backend& operator=(const poll_backend&) = delete;
    ~poll_backend() = default;

    void add(native_handle h, interest i, trigger t, std::error_code& ec) noexcept {
        ec.clear();
        if (t == trigger::edge) {
            ec = std::make_error_code(std::errc::operation_not_supported);
            return;
        }
        if (h < 0 || ::fcntl(h, F_GETFD) == -1) {
            ec = std::error_code(EBADF, std::system_category());
            return;
        }
        if (h == m_wake.read_fd() || position(h) != npos) {
            ec = std::error_code(EEXIST, std::system_category());
            return;
        }
        try {
            const auto index = static_cast<std::size_t>(h);
            if (m_position.size() <= index) {
                m_position.resize(index + 1, npos);
            }
            m_fds.push_back(pollfd{h, events_for(i), 0});
        } catch (const std::bad_alloc&) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return;
        }
        m_position[static_cast<std::size_t>(h)] = m_fds.size() - 1;
    }

    void modify(native_handle h, interest i, trigger /*t*/, std::error_code& ec) noexcept {
        ec.clear();
        const std::size_t at = position(h);
        if (at == npos) {
            ec = std::error_code(ENOENT, std::system_category());
            return;
        }
        m_fds[at].events = events_for(i);
    }

    void remove(native_handle h, std::error_code& ec) noexcept {
        ec.clear();
        const std::size_t at = position(h);
        if (at == npos) {
            ec = std::error_code(ENOENT, std::system_category());
            return;
        }
        const std::size_t last = m_fds.size() - 1;
        if (at != last) {
            m_fds[at] = m_fds[last];
            m_position[static_cast<std::size_t>(original_fd(m_fds[at].fd))] = at;
        }
        m_fds.pop_back();
        m_position[static_cast<std::size_t>(h)] = npos;
    }

    [[nodiscard]] std::span<const ready_event> wait(int timeout_ms, std::error_code& ec) noexcept {
        ec.clear();
        m_ready.clear();
        if (m_ready.capacity() < m_fds.size()) {
            try {
                m_ready.reserve(m_fds.size());
            } catch (const std::bad_alloc&) {
                ec = std::make_error_code(std::errc::not_enough_memory);
                return {};
            }
        }
        const int n = ::poll(m_fds.data(), static_cast<nfds_t>(m_fds.size()), timeout_ms);
        if (n < 0) {
            if (errno != EINTR) {
                ec = detail::last_posix_error();
            }
            return {};
        }
        int found = 0;
        for (std::size_t k = 0; k < m_fds.size() && found < n; ++k) {
            pollfd& p = m_fds[k];
            if (p.revents == 0) {
                continue;
            }
            ++found;
            const short revents = p.revents;
            p.revents = 0;
            if (k == 0) {
                m_wake.drain();
                continue;
            }
            unsigned bits = 0;
            if ((revents & (POLLIN | POLLPRI)) != 0) {
                bits |= io_events::readable_bit;
            }
            if ((revents & POLLOUT) != 0) {
                bits |= io_events::writable_bit;
            }
            if ((revents & (POLLERR | POLLNVAL)) != 0) {
                bits |= io_events::error_bit;
            }
            if ((revents & POLLHUP) != 0) {
                bits |= io_events::hangup_bit;
            }
            m_ready.push_back(ready_event{p.fd, io_events{bits}}); // capacity reserved above
            if ((revents & POLLNVAL) != 0) {
                p.fd = ~p.fd; // negative: poll skips it, and ~ recovers the number
            }
        }
        return m_ready;
    }

    /// Any thread.
    void interrupt() noexcept { m_wake.notify(); }

private:
    static constexpr std::size_t npos = ~std::size_t{0};

    static short events_for(interest i) noexcept {
        short events = 0;
        if (contains(i, interest::readable)) {
            events |= POLLIN;
        }
        if (contains(i, interest::writable)) {
            events |= POLLOUT;
        }
        return events;
    }

    static int original_fd(int fd) noexcept { return fd < 0 ? ~fd : fd; }

    [[nodiscard]] std::size_t position(native_handle h) const noexcept {
        const auto index = static_cast<std::size_t>(h);
        return h >= 0 && index < m_position.size() ? m_position[index] : npos;
    }

    detail::posix_pipe_wakeup m_wake;
    std::vector<pollfd> m_fds;            // [0] is the wake-up pipe
    std::vector<std::size_t> m_position;  // descriptor -> index in m_fds, or npos
    std::vector<ready_event> m_ready;
};

static_assert(loop_backend<poll_backend>, "poll_backend must model kettle::loop_backend");

} // namespace kettle
