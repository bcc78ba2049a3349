// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::wsapoll_backend`: the Windows readiness backend.

#include <kettle/loop/backend.hpp>
#include <kettle/loop/detail/win32_wakeup.hpp>
#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/trigger.hpp>

#include <cstddef>
#include <new>
#include <span>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <winsock2.h>

namespace kettle {

/// Readiness through `WSAPoll`: sockets only, level-triggered only
/// (`trigger::edge` fails with `std::errc::operation_not_supported`), each
/// wait O(registered sockets).
///
/// Used by one `event_loop` on its thread; only `interrupt()` is thread-safe.
/// Holds a Winsock session for its lifetime (Winsock counts them). Only input
/// flags (`POLLRDNORM`, `POLLWRNORM`) are ever passed in `events`: WSAPoll
/// rejects output-only flags there with `WSAEINVAL`. `add` checks the handle
/// with `getsockopt(SO_TYPE)`, so a closed socket or a non-socket fails there
/// (`WSAENOTSOCK`). A socket reported `POLLNVAL` while waiting is reported
/// once with `io_events::error_bit` and then no longer polled until removed.
///
/// Caveat: WSAPoll may not report a failed non-blocking `connect` (older
/// Windows versions never signal it); callers must bound connects with a
/// timeout, as the networking layer does.
class wsapoll_backend {
public:
    static constexpr std::string_view name = "wsapoll";
    static constexpr bool supports_edge_trigger = false;

    /// Throws `std::system_error` if Winsock or the wake-up pair fails.
    wsapoll_backend() {
        m_fds.push_back(WSAPOLLFD{m_wake.read_socket(), POLLRDNORM, 0});
    }

    wsapoll_backend(const wsapoll_backend&) = delete;
    wsapoll_backend& operator=(const wsapoll_backend&) = delete;
    ~wsapoll_backend() = default;

    void add(native_handle h, interest i, trigger t, std::error_code& ec) noexcept {
        ec.clear();
        if (t == trigger::edge) {
            ec = std::make_error_code(std::errc::operation_not_supported);
            return;
        }
        int type = 0;
        int len = sizeof type;
        if (h == INVALID_SOCKET ||
            ::getsockopt(h, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == SOCKET_ERROR) {
            ec = h == INVALID_SOCKET ? std::error_code(WSAENOTSOCK, std::system_category()) : detail::last_wsa_error();
            return;
        }
        if (h == m_wake.read_socket() || m_position.find(h) != m_position.end()) {
            ec = std::make_error_code(std::errc::file_exists);
            return;
        }
        try {
            m_fds.push_back(WSAPOLLFD{h, events_for(i), 0});
            m_position.emplace(h, m_fds.size() - 1);
        } catch (const std::bad_alloc&) {
            if (m_fds.size() > 1 && m_fds.back().fd == h) {
                m_fds.pop_back();
            }
            ec = std::make_error_code(std::errc::not_enough_memory);
        }
    }

    void modify(native_handle h, interest i, trigger /*t*/, std::error_code& ec) noexcept {
        ec.clear();
        const auto it = m_position.find(h);
        if (it == m_position.end()) {
            ec = std::make_error_code(std::errc::no_such_file_or_directory);
            return;
        }
        if (it->second != parked) {
            m_fds[it->second].events = events_for(i);
        }
    }

    void remove(native_handle h, std::error_code& ec) noexcept {
        ec.clear();
        const auto it = m_position.find(h);
        if (it == m_position.end()) {
            ec = std::make_error_code(std::errc::no_such_file_or_directory);
            return;
        }
        if (it->second != parked) {
            unpoll(it->second);
        }
        m_position.erase(it);
    }

    [[nodiscard]] std::span<const ready_event> wait(int timeout_ms, std::error_code& ec) noexcept {
        ec.clear();
        m_ready.clear();
        if (m_ready.capacity() < m_fds.size() || m_invalid.capacity() < m_fds.size()) {
            try {
                m_ready.reserve(m_fds.size());
                m_invalid.reserve(m_fds.size());
            } catch (const std::bad_alloc&) {
                ec = std::make_error_code(std::errc::not_enough_memory);
                return {};
            }
        }
        const int n = ::WSAPoll(m_fds.data(), static_cast<ULONG>(m_fds.size()), timeout_ms);
        if (n == SOCKET_ERROR) {
            ec = detail::last_wsa_error();
            return {};
        }
        // Every entry is looked at, not just the first `n` with events: Wine
        // leaves entries it marks POLLNVAL out of the count it returns (even
        // returning 0 for one closed socket), and the array is walked by
        // WSAPoll itself anyway.
        for (std::size_t k = 0; k < m_fds.size(); ++k) {
            WSAPOLLFD& p = m_fds[k];
            if (p.revents == 0) {
                continue;
            }
            const SHORT revents = p.revents;
            p.revents = 0;
            if (k == 0) {
                m_wake.drain();
                continue;
            }
            unsigned bits = 0;
            if ((revents & (POLLRDNORM | POLLRDBAND)) != 0) {
                bits |= io_events::readable_bit;
            }
            if ((revents & POLLWRNORM) != 0) {
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
                m_invalid.push_back(p.fd); // capacity reserved above
            }
        }
        // Park sockets found invalid: out of the polled array, still registered.
        for (const SOCKET s : m_invalid) {
            const auto it = m_position.find(s);
            if (it != m_position.end() && it->second != parked) {
                unpoll(it->second);
                it->second = parked;
            }
        }
        m_invalid.clear();
        return m_ready;
    }

    /// Any thread.
    void interrupt() noexcept { m_wake.notify(); }

private:
    static constexpr std::size_t parked = ~std::size_t{0};

    static SHORT events_for(interest i) noexcept {
        SHORT events = 0;
        if (contains(i, interest::readable)) {
            events |= POLLRDNORM;
        }
        if (contains(i, interest::writable)) {
            events |= POLLWRNORM;
        }
        return events;
    }

    void unpoll(std::size_t at) noexcept {
        const std::size_t last = m_fds.size() - 1;
        if (at != last) {
            m_fds[at] = m_fds[last];
            m_position.find(m_fds[at].fd)->second = at; // every polled socket but [0] is in the map
        }
        m_fds.pop_back();
    }

    detail::win32_wsa_session m_session; // first in, last out
    detail::win32_socket_wakeup m_wake;
    std::vector<WSAPOLLFD> m_fds;                          // [0] is the wake-up socket
    std::unordered_map<SOCKET, std::size_t> m_position;    // socket -> index in m_fds, or parked
    std::vector<ready_event> m_ready;
    std::vector<SOCKET> m_invalid;
};

static_assert(loop_backend<wsapoll_backend>, "wsapoll_backend must model kettle::loop_backend");

} // namespace kettle
