// SPDX-License-Identifier: MIT
#pragma once

/// Winsock start-up and the loopback socket-pair wake-up for WSAPoll loops.

#include <kettle/loop/native_handle.hpp>

#include <system_error>
#include <type_traits>
#include <utility>

#include <winsock2.h>
#include <ws2tcpip.h>

#if defined(_MSC_VER)
#pragma comment(lib, "ws2_32")
#endif

namespace kettle::detail {

static_assert(std::is_same_v<SOCKET, native_handle>, "kettle::native_handle must be SOCKET on Windows");

/// The last Winsock error, as a `std::system_category()` code.
[[nodiscard]] inline std::error_code last_wsa_error() noexcept {
    return {::WSAGetLastError(), std::system_category()};
}

/// Keeps Winsock initialised while it lives. Winsock counts `WSAStartup` and
/// `WSACleanup` calls itself, so one of these per user is the whole protocol.
class win32_wsa_session {
public:
    /// Throws `std::system_error` if Winsock 2.2 is not available.
    win32_wsa_session() {
        WSADATA data{};
        if (const int rc = ::WSAStartup(MAKEWORD(2, 2), &data); rc != 0) {
            throw std::system_error(std::error_code(rc, std::system_category()), "kettle: WSAStartup");
        }
    }
    win32_wsa_session(const win32_wsa_session&) = delete;
    win32_wsa_session& operator=(const win32_wsa_session&) = delete;
    ~win32_wsa_session() { ::WSACleanup(); }
};

/// Owns one socket; closes it on destruction. Move-only.
class win32_socket {
public:
    win32_socket() noexcept = default;
    explicit win32_socket(SOCKET s) noexcept : m_socket(s) {}
    win32_socket(win32_socket&& other) noexcept : m_socket(std::exchange(other.m_socket, INVALID_SOCKET)) {}
    win32_socket& operator=(win32_socket&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.m_socket, INVALID_SOCKET));
        }
        return *this;
    }
    win32_socket(const win32_socket&) = delete;
    win32_socket& operator=(const win32_socket&) = delete;
    ~win32_socket() { reset(); }

    [[nodiscard]] SOCKET get() const noexcept { return m_socket; }
    [[nodiscard]] bool valid() const noexcept { return m_socket != INVALID_SOCKET; }
    void reset(SOCKET s = INVALID_SOCKET) noexcept {
        if (m_socket != INVALID_SOCKET) {
            ::closesocket(m_socket);
        }
        m_socket = s;
    }

private:
    SOCKET m_socket = INVALID_SOCKET;
};

/// A connected, non-inheritable TCP socket pair on 127.0.0.1, both ends
/// non-blocking. Throws `std::system_error`.
inline std::pair<win32_socket, win32_socket> win32_loopback_pair() {
    const auto fail = [](const char* what) { throw std::system_error(last_wsa_error(), what); };
    const auto make = [&] {
        win32_socket s(::WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_NO_HANDLE_INHERIT));
        if (!s.valid()) {
            fail("kettle: WSASocketW");
        }
        return s;
    };
    win32_socket listener = make();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = ::htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(listener.get(), sa, len) != 0 || ::listen(listener.get(), 1) != 0 ||
        ::getsockname(listener.get(), sa, &len) != 0) {
        fail("kettle: loopback listener");
    }
    win32_socket client = make();
    if (::connect(client.get(), sa, len) != 0) {
        fail("kettle: connect");
    }
    sockaddr_in client_addr{};
    int client_len = sizeof client_addr;
    if (::getsockname(client.get(), reinterpret_cast<sockaddr*>(&client_addr), &client_len) != 0) {
        fail("kettle: getsockname");
    }
    for (;;) { // accept our own connection, not a stranger's that raced in
        sockaddr_in peer{};
        int peer_len = sizeof peer;
        win32_socket server(::accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len));
        if (!server.valid()) {
            fail("kettle: accept");
        }
        if (peer.sin_port != client_addr.sin_port || peer.sin_addr.s_addr != client_addr.sin_addr.s_addr) {
            continue;
        }
        ::SetHandleInformation(reinterpret_cast<HANDLE>(server.get()), HANDLE_FLAG_INHERIT, 0);
        u_long on = 1;
        BOOL nodelay = TRUE;
        if (::ioctlsocket(server.get(), FIONBIO, &on) != 0 || ::ioctlsocket(client.get(), FIONBIO, &on) != 0) {
            fail("kettle: ioctlsocket(FIONBIO)");
        }
        ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&nodelay), sizeof nodelay);
        ::setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&nodelay), sizeof nodelay);
        return {std::move(server), std::move(client)};
    }
}

/// WSAPoll watches sockets only, so the wake-up is a loopback socket pair:
/// `notify()` sends a byte from any thread, the loop polls `read_socket()`
/// and `drain()`s it.
class win32_socket_wakeup {
public:
    /// Throws `std::system_error`. Requires Winsock to be started.
    win32_socket_wakeup() {
        auto pair = win32_loopback_pair();
        m_read = std::move(pair.first);
        m_write = std::move(pair.second);
    }

    [[nodiscard]] SOCKET read_socket() const noexcept { return m_read.get(); }

    /// Any thread. Never sleeps; retries (yielding) only while another
    /// thread's `notify` is inside `send` on the same socket.
    ///
    /// WSAEWOULDBLOCK does not prove the buffer full: Wine also returns it
    /// while another thread's send on this socket is still completing, having
    /// sent nothing, with nothing for the loop to read, and the loop then
    /// slept on with a post queued. So a refused byte counts as sent only if
    /// a byte is waiting at the read end (not drained yet: the loop wakes, or
    /// is waking and will see this caller's work); otherwise it is sent again.
    void notify() noexcept {
        const char byte = 1;
        for (;;) {
            if (::send(m_write.get(), &byte, 1, 0) == 1 || ::WSAGetLastError() != WSAEWOULDBLOCK) {
                return;
            }
            u_long waiting = 0;
            if (::ioctlsocket(m_read.get(), FIONREAD, &waiting) != 0 || waiting > 0) {
                return;
            }
            ::SwitchToThread();
        }
    }

    /// Loop thread.
    void drain() noexcept {
        char buffer[256];
        while (::recv(m_read.get(), buffer, sizeof buffer, 0) == static_cast<int>(sizeof buffer)) {
        }
    }

private:
    win32_socket m_read;
    win32_socket m_write;
};

} // namespace kettle::detail
