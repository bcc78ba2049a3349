// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::epoll_backend`: the Linux readiness backend.

#include <kettle/loop/backend.hpp>
#include <kettle/loop/detail/linux_eventfd.hpp>
#include <kettle/loop/detail/posix_fd.hpp>
#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/trigger.hpp>

#include <array>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include <sys/epoll.h>

namespace kettle {

/// Readiness through epoll: O(1) per ready descriptor however many are
/// registered; supports `trigger::edge` (EPOLLET).
///
/// Used by one `event_loop` on its thread; only `interrupt()` is thread-safe.
/// Wake-ups use an edge-triggered eventfd, so waking costs one `write` and no
/// `read`. Closing a registered descriptor makes epoll forget it silently (no
/// event is reported); `remove` still succeeds afterwards. epoll refuses
/// regular files (`EPERM` from `add`).
class epoll_backend {
public:
    static constexpr std::string_view name = "epoll";
    static constexpr bool supports_edge_trigger = true;
    /// Most descriptors reported by one `wait`; more stay ready for the next.
    static constexpr int max_events = 256;

    /// Throws `std::system_error` if epoll or the eventfd cannot be created.
    epoll_backend() : m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!m_epoll.valid()) {
            throw std::system_error(detail::last_posix_error(), "kettle: epoll_create1");
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.fd = m_wake.fd();
        if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_wake.fd(), &ev) != 0) {
            throw std::system_error(detail::last_posix_error(), "kettle: epoll_ctl(eventfd)");
        }
    }

    epoll_backend(const epoll_backend&) = delete;
    epoll_backend& operator=(const epoll_backend&) = delete;
    ~epoll_backend() = default;

    void add(native_handle h, interest i, trigger t, std::error_code& ec) noexcept {
        control(EPOLL_CTL_ADD, h, i, t, ec);
    }

    void modify(native_handle h, interest i, trigger t, std::error_code& ec) noexcept {
        control(EPOLL_CTL_MOD, h, i, t, ec);
    }

    void remove(native_handle h, std::error_code& ec) noexcept {
        ec.clear();
        epoll_event ev{}; // non-null for kernels before 2.6.9
        if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, h, &ev) != 0) {
            // EBADF/ENOENT: the descriptor was closed, and epoll dropped it then.
            if (errno != EBADF && errno != ENOENT) {
                ec = detail::last_posix_error();
            }
        }
    }

    [[nodiscard]] std::span<const ready_event> wait(int timeout_ms, std::error_code& ec) noexcept {
        ec.clear();
        const int n = ::epoll_wait(m_epoll.get(), m_raw.data(), max_events, timeout_ms);
        if (n < 0) {
            if (errno != EINTR) {
                ec = detail::last_posix_error();
            }
            return {};
        }
        std::size_t count = 0;
        for (int k = 0; k < n; ++k) {
            const epoll_event& e = m_raw[static_cast<std::size_t>(k)];
            if (e.data.fd == m_wake.fd()) {
                continue; // edge-triggered: nothing to drain
            }
            unsigned bits = 0;
            if ((e.events & (EPOLLIN | EPOLLPRI)) != 0) {
                bits |= io_events::readable_bit;
            }
            if ((e.events & EPOLLOUT) != 0) {
                bits |= io_events::writable_bit;
            }
            if ((e.events & EPOLLERR) != 0) {
                bits |= io_events::error_bit;
            }
            if ((e.events & EPOLLHUP) != 0) {
                bits |= io_events::hangup_bit;
            }
            m_ready[count++] = ready_event{e.data.fd, io_events{bits}};
        }
        return {m_ready.data(), count};
    }

    /// Any thread.
    void interrupt() noexcept { m_wake.notify(); }

private:
    void control(int op, native_handle h, interest i, trigger t, std::error_code& ec) noexcept {
        ec.clear();
        epoll_event ev{};
        ev.events = 0;
        if (contains(i, interest::readable)) {
            ev.events |= EPOLLIN;
        }
        if (contains(i, interest::writable)) {
            ev.events |= EPOLLOUT;
        }
        if (t == trigger::edge) {
            ev.events |= EPOLLET;
        }
        ev.data.fd = h;
        if (::epoll_ctl(m_epoll.get(), op, h, &ev) != 0) {
            ec = detail::last_posix_error();
        }
    }

    detail::posix_fd m_epoll;
    detail::linux_eventfd_wakeup m_wake;
    std::array<epoll_event, max_events> m_raw{};
    std::array<ready_event, max_events> m_ready{};
};

static_assert(loop_backend<epoll_backend>, "epoll_backend must model kettle::loop_backend");

} // namespace kettle
