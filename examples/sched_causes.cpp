// SPDX-License-Identifier: MIT
// The three reasons a task re-enters the ready queue, as the course lists
// them, seen from inside the policy of kettle's coroutine scheduler:
//
//   created    it is new
//   preempted  its time slice ran out (a CPU-bound task, at a yield)
//   woken      it was blocked and is ready again: its timer fired
//              (sleep_for), or a descriptor it waits on became readable
//              (wait_io, through the poll loop)
//
// The policy is MLFQ with a 2 ms slice on top, doubling per level, wrapped
// so that every push is printed with its cause, and every dispatch with the
// level and slice it gets.
// A "device" thread writes one byte to a socket every 15 ms; the reader task
// waits for each with co_await sched.wait_io(...). The cruncher computes and
// sinks level by level; the sleeper and the reader block before their slices
// run out, and stay on top.

#include <kettle/mode/task.hpp>
#include <kettle/sched/coroutine_scheduler.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/yield.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using kettle::coroutine_ref;

namespace {

const clock_type::time_point g_start = clock_type::now();

double ms_since_start() {
    return std::chrono::duration<double, std::milli>(clock_type::now() - g_start).count();
}

// Each task's name travels in spawn_options::priority, which MLFQ ignores.
constexpr std::array<const char*, 4> names{"cruncher", "sleeper", "reader", "latecomer"};

const char* cause_name(kettle::cause c) {
    switch (c) {
    case kettle::cause::created:
        return "created";
    case kettle::cause::preempted:
        return "preempted";
    case kettle::cause::woken:
        return "woken";
    case kettle::cause::yielded:
        return "yielded";
    }
    return "?";
}

// MLFQ, printing every push: who, why, and at which level it queues.
class traced_mlfq {
public:
    using inner_type = kettle::mlfq<coroutine_ref>;
    using value_type = inner_type::value_type;
    using entry_type = inner_type::entry_type;

    explicit traced_mlfq(kettle::mlfq_settings s) : m_inner(std::move(s)) {}

    void push(entry_type e, kettle::cause c) {
        std::printf("%7.1f ms  %-9s  %s\n", ms_since_start(), name(e), cause_name(c));
        m_inner.push(std::move(e), c);
        ++m_counts[static_cast<std::size_t>(c)];
    }
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() {
        auto d = m_inner.pop();
        if (d)
            std::printf("%7.1f ms  %-9s    runs at level %zu, slice %lld ms\n", ms_since_start(),
                        name(d->entry), m_inner.level_of(d->entry),
                        static_cast<long long>(d->quantum.value_or(0)));
        return d;
    }
    [[nodiscard]] bool preempts(const entry_type& running) const {
        return m_inner.preempts(running);
    }
    void charge(entry_type& e, kettle::tick_count ran) { m_inner.charge(e, ran); }
    void advance_to(kettle::tick_count now) { m_inner.advance_to(now); }
    [[nodiscard]] std::size_t size() const noexcept { return m_inner.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_inner.empty(); }

    [[nodiscard]] int count(kettle::cause c) const { return m_counts[static_cast<std::size_t>(c)]; }

private:
    static const char* name(const entry_type& e) {
        return names.at(static_cast<std::size_t>(e.value.priority()));
    }

    inner_type m_inner;
    std::array<int, 4> m_counts{};
};
static_assert(kettle::scheduling_policy<traced_mlfq>);

using scheduler = kettle::coroutine_scheduler<traced_mlfq>;

volatile std::uint64_t g_sink;

// About `d` of arithmetic the optimiser cannot drop.
void compute(clock_type::duration d) {
    const auto until = clock_type::now() + d;
    std::uint64_t x = g_sink;
    while (clock_type::now() < until)
        for (int i = 0; i < 1000; ++i)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    g_sink = x;
}

kettle::task<void> cruncher() {
    for (int i = 0; i < 200; ++i) { // 40 ms of work, a preemption point every 200 us
        compute(200us);
        co_await kettle::yield();
    }
}

kettle::task<void> sleeper(scheduler& sched) {
    for (int i = 0; i < 3; ++i) {
        co_await sched.sleep_for(10ms); // blocked on a timer
        compute(300us);
    }
}

kettle::task<void> latecomer() {
    compute(300us);
    co_return;
}

kettle::task<void> reader(scheduler& sched, kettle::native_handle socket) {
    for (int i = 0; i < 3; ++i) {
        const kettle::io_events ready = co_await sched.wait_io(socket, kettle::interest::readable);
        char got = 0;
        if (!ready.readable() || ::recv(socket, &got, 1, 0) != 1)
            break;
        compute(300us);
    }
    sched.spawn_detached(latecomer(), {.priority = 3}); // a new task, mid-run
}

// Two connected loopback TCP sockets: a socket is what every backend watches
// (WSAPoll on Windows takes nothing else).
class socket_pair {
public:
    socket_pair() {
#if defined(_WIN32)
        WSADATA data{};
        ::WSAStartup(MAKEWORD(2, 2), &data);
#endif
        const kettle::native_handle listener = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        auto* a = reinterpret_cast<sockaddr*>(&addr);
#if defined(_WIN32)
        int len = sizeof addr;
#else
        socklen_t len = sizeof addr;
#endif
        if (::bind(listener, a, len) != 0 || ::listen(listener, 1) != 0 ||
            ::getsockname(listener, a, &len) != 0)
            std::perror("socket_pair");
        m_writer = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (::connect(m_writer, a, len) != 0)
            std::perror("socket_pair: connect");
        m_reader = ::accept(listener, nullptr, nullptr);
        close(listener);
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        close(m_reader);
        close(m_writer);
#if defined(_WIN32)
        ::WSACleanup();
#endif
    }
    [[nodiscard]] kettle::native_handle reader() const noexcept {
        return m_reader;
    }
    [[nodiscard]] kettle::native_handle writer() const noexcept {
        return m_writer;
    }

private:
    static void close(kettle::native_handle h) noexcept {
#if defined(_WIN32)
        ::closesocket(h);
#else
        ::close(h);
#endif
    }
    kettle::native_handle m_reader = kettle::invalid_native_handle;
    kettle::native_handle m_writer = kettle::invalid_native_handle;
};

} // namespace

int main() {
    socket_pair sockets;
    // The device: a byte every 15 ms, three times.
    std::thread device([&sockets] {
        for (int i = 0; i < 3; ++i) {
            std::this_thread::sleep_for(15ms);
            const char tick = 'x';
            ::send(sockets.writer(), &tick, 1, 0);
        }
    });

    // 1 ms ticks; MLFQ slices of 2, 4 and 8 ms, an allotment of one slice.
    scheduler sched({.tick = 1ms}, kettle::mlfq_settings{.levels = 3, .base_quantum = 2});
    std::printf("   time     task       re-enters because / runs\n");
    sched.spawn_detached(cruncher(), {.priority = 0});
    sched.spawn_detached(sleeper(sched), {.priority = 1});
    sched.spawn_detached(reader(sched, sockets.reader()), {.priority = 2});
    sched.run();
    device.join();

    const traced_mlfq& policy = sched.policy();
    std::printf("\nre-entries: created %d, preempted %d, woken %d\n",
                policy.count(kettle::cause::created), policy.count(kettle::cause::preempted),
                policy.count(kettle::cause::woken));
    return 0;
}
