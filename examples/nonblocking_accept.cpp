// SPDX-License-Identifier: MIT
// The course's non-blocking accept, two ways, with the CPU time each one burns
// while it waits for three loopback connections that arrive 100 ms apart.
//
// 1. Busy polling -- the Python version from the course:
//
//        s.setblocking(False)
//        while True:
//            try:
//                conn, addr = s.accept()
//            except BlockingIOError:
//                pass            # "not yet": ask again, immediately
//
//    Sync, non-blocking: "checks now and then" with no "then" -- the thread never
//    sleeps, so it uses a whole core to wait.
//
// 2. The poll loop -- async, non-blocking: register the listening socket with
//    kettle::event_loop and let the kernel wake the thread when a connection is
//    ready. Waiting costs (almost) nothing.

#if defined(_WIN32)

#include <cstdio>

int main() {
    std::puts("nonblocking_accept: this example uses POSIX sockets and getrusage; not supported on Windows.");
    return 0;
}

#else

#include <kettle/loop/event_loop.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr int connections = 3;
constexpr auto gap = std::chrono::milliseconds(100);

/// User + system CPU time of the whole process so far.
std::chrono::microseconds cpu_time() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto to_us = [](const timeval& tv) {
        return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    };
    return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

/// A non-blocking listening socket on 127.0.0.1, on a port the kernel picks.
int make_listener(sockaddr_in& addr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr = sockaddr_in{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("listener");
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); // setblocking(False)
    return fd;
}

/// Connects `connections` times, `gap` apart, from another thread.
std::thread start_client(sockaddr_in addr) {
    return std::thread([addr] {
        for (int i = 0; i < connections; ++i) {
            std::this_thread::sleep_for(gap);
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
                std::perror("connect");
            }
            ::close(fd);
        }
    });
}

void report(const char* what, std::chrono::steady_clock::duration wall, std::chrono::microseconds cpu) {
    const double wall_ms = std::chrono::duration<double, std::milli>(wall).count();
    const double cpu_ms = std::chrono::duration<double, std::milli>(cpu).count();
    std::printf("%-14s waited %6.1f ms, used %6.1f ms of CPU (%5.1f%% of one core)\n", what, wall_ms, cpu_ms,
                100.0 * cpu_ms / wall_ms);
}

/// 1. while True: try: accept() except BlockingIOError: pass
bool busy_polling() {
    sockaddr_in addr{};
    const int listener = make_listener(addr);
    if (listener < 0) {
        return false;
    }
    const auto wall_start = std::chrono::steady_clock::now();
    const auto cpu_start = cpu_time();
    std::thread client = start_client(addr);
    int accepted = 0;
    long attempts = 0;
    while (accepted < connections) {
        ++attempts;
        const int conn = ::accept(listener, nullptr, nullptr);
        if (conn < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                continue; // BlockingIOError: pass
            }
            std::perror("accept");
            break;
        }
        ::close(conn);
        ++accepted;
    }
    client.join();
    report("busy polling:", std::chrono::steady_clock::now() - wall_start, cpu_time() - cpu_start);
    std::printf("%14s %ld accept() calls for %d connections\n", "", attempts, accepted);
    ::close(listener);
    return accepted == connections;
}

/// 2. The same wait on the poll loop: the thread sleeps until the kernel says
///    "readable" (a connection is waiting), then accepts what is there.
bool poll_loop() {
    sockaddr_in addr{};
    const int listener = make_listener(addr);
    if (listener < 0) {
        return false;
    }
    const auto wall_start = std::chrono::steady_clock::now();
    const auto cpu_start = cpu_time();
    std::thread client = start_client(addr);

    kettle::event_loop<> loop;
    int accepted = 0;
    long attempts = 0;
    loop.add(listener, kettle::interest::readable, [&](kettle::io_events) {
        for (;;) { // accept everything that is ready, then go back to sleep
            ++attempts;
            const int conn = ::accept(listener, nullptr, nullptr);
            if (conn < 0) {
                return; // EAGAIN: nothing more now
            }
            ::close(conn);
            if (++accepted == connections) {
                loop.remove(listener); // nothing left to wait for: run() returns
                return;
            }
        }
    });
    loop.run();
    client.join();
    report("poll loop:", std::chrono::steady_clock::now() - wall_start, cpu_time() - cpu_start);
    std::printf("%14s %ld accept() calls for %d connections\n", "", attempts, accepted);
    ::close(listener);
    return accepted == connections;
}

} // namespace

int main() {
    std::printf("waiting for %d loopback connections, %lld ms apart\n", connections,
                static_cast<long long>(gap.count()));
    const bool ok = busy_polling() && poll_loop();
    return ok ? 0 : 1;
}

#endif
