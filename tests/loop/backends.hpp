// SPDX-License-Identifier: MIT
#pragma once

// What the loop tests run against: every backend that builds on this platform
// (epoll and poll on Linux, poll elsewhere on POSIX, WSAPoll on Windows), and
// loopback TCP socket pairs, so the same suite runs everywhere sockets do.

#include <kettle/loop/event_loop.hpp>

#include <cstddef>
#include <system_error>
#include <tuple>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace kettle_test {

/// The suite's backend list: TEMPLATE_LIST_TEST_CASE(..., loop_backends).
using loop_backends = kettle::available_backends;

/// Makes sockets usable for the lifetime of a test program (Winsock start-up).
struct socket_library {
#if defined(_WIN32)
    socket_library() {
        WSADATA data{};
        ::WSAStartup(MAKEWORD(2, 2), &data);
    }
    ~socket_library() { ::WSACleanup(); }
#else
    socket_library() = default;
#endif
    socket_library(const socket_library&) = delete;
    socket_library& operator=(const socket_library&) = delete;
};

inline void close_handle(kettle::native_handle h) noexcept {
#if defined(_WIN32)
    ::closesocket(h);
#else
    ::close(h);
#endif
}

inline void set_nonblocking(kettle::native_handle h) noexcept {
#if defined(_WIN32)
    u_long on = 1;
    ::ioctlsocket(h, FIONBIO, &on);
#else
    ::fcntl(h, F_SETFL, ::fcntl(h, F_GETFL) | O_NONBLOCK);
#endif
}

/// Two connected, non-blocking TCP sockets on 127.0.0.1 (closed on destruction).
class socket_pair {
public:
    socket_pair() {
        [[maybe_unused]] static socket_library library;
        const kettle::native_handle listener = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_type len = sizeof addr;
        ::bind(listener, as_sockaddr(&addr), len);
        ::listen(listener, 1);
        ::getsockname(listener, as_sockaddr(&addr), &len);
        m_first = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        ::connect(m_first, as_sockaddr(&addr), len);
        m_second = ::accept(listener, nullptr, nullptr);
        close_handle(listener);
        int one = 1;
        ::setsockopt(m_first, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
        ::setsockopt(m_second, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
        set_nonblocking(m_first);
        set_nonblocking(m_second);
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        close_first();
        close_second();
    }

    [[nodiscard]] kettle::native_handle first() const noexcept { return m_first; }
    [[nodiscard]] kettle::native_handle second() const noexcept { return m_second; }
    [[nodiscard]] bool valid() const noexcept {
        return m_first != kettle::invalid_native_handle && m_second != kettle::invalid_native_handle;
    }

    void close_first() noexcept { close_one(m_first); }
    void close_second() noexcept { close_one(m_second); }

private:
#if defined(_WIN32)
    using socklen_type = int;
#else
    using socklen_type = socklen_t;
#endif
    static sockaddr* as_sockaddr(sockaddr_in* a) noexcept { return reinterpret_cast<sockaddr*>(a); }
    static void close_one(kettle::native_handle& h) noexcept {
        if (h != kettle::invalid_native_handle) {
            close_handle(h);
            h = kettle::invalid_native_handle;
        }
    }

    kettle::native_handle m_first = kettle::invalid_native_handle;
    kettle::native_handle m_second = kettle::invalid_native_handle;
};

/// Sends `n` bytes; returns how many went out.
inline std::size_t send_bytes(kettle::native_handle h, std::size_t n) {
    std::size_t sent = 0;
    char buffer[1024] = {};
    while (sent < n) {
        const std::size_t chunk = n - sent < sizeof buffer ? n - sent : sizeof buffer;
        const auto rc = ::send(h, buffer, static_cast<int>(chunk), 0);
        if (rc <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(rc);
    }
    return sent;
}

/// Reads until the socket would block (or the peer closed); returns bytes read.
inline std::size_t drain(kettle::native_handle h) {
    std::size_t total = 0;
    char buffer[4096];
    for (;;) {
        const auto rc = ::recv(h, buffer, static_cast<int>(sizeof buffer), 0);
        if (rc <= 0) {
            return total;
        }
        total += static_cast<std::size_t>(rc);
    }
}

/// A handle number that names nothing: a socket that was opened and closed.
inline kettle::native_handle closed_handle() {
    [[maybe_unused]] static socket_library library;
    const kettle::native_handle h = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    close_handle(h);
    return h;
}

/// What a backend reports for a closed or invalid descriptor at `add`.
inline bool is_bad_descriptor(const std::error_code& ec) {
#if defined(_WIN32)
    return ec.category() == std::system_category() && ec.value() == WSAENOTSOCK;
#else
    return ec == std::errc::bad_file_descriptor;
#endif
}

} // namespace kettle_test
