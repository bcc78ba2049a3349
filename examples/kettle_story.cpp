// SPDX-License-Identifier: MIT
// Lao Wang boils water, four ways: the course's story of synchronous and
// asynchronous, blocking and non-blocking, with one kettle::event as the
// kettle and one kettle::event_loop as the stove.
//
//   sync, blocking       stands by the kettle until it boils
//   sync, non-blocking   checks the kettle now and then, doing chores between
//   async, blocking      a whistling kettle, but he still waits beside it
//   async, non-blocking  a whistling kettle; he leaves, the whistle calls him
//   coroutine            the last one, written as straight-line code

#include <kettle/kettle.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto boil_time = 60ms;

// The stove: a loop on its own thread that sets `boiled` after boil_time,
// and burns until it is turned off.
class stove {
public:
    explicit stove(kettle::event& boiled) {
        m_loop.add_timer(boil_time, [&boiled] { boiled.set(); });
        // A timer that never fires keeps run() going until stop().
        m_flame = m_loop.add_timer(std::chrono::hours::max(), [] {});
    }
    stove(const stove&) = delete;
    stove& operator=(const stove&) = delete;
    ~stove() {
        m_loop.stop(); // from this thread: stop() is the one call made from anywhere
        m_thread.join();
    }

    kettle::event_loop<>& loop() noexcept { return m_loop; }
    void light() {
        m_thread = std::thread([this] { m_loop.run(); });
    }

private:
    kettle::event_loop<> m_loop;
    kettle::timer_id m_flame;
    std::thread m_thread;
};

long ms_since(clock_type::time_point start) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count());
}

void sync_blocking() {
    kettle::event boiled;
    stove s(boiled);
    const auto start = clock_type::now();
    s.light();
    boiled.wait(kettle::sync_blocking); // sleeps in the kernel meanwhile
    std::printf("sync, blocking:      stood by the kettle; it boiled after %ld ms\n", ms_since(start));
}

void sync_nonblocking() {
    kettle::event boiled;
    stove s(boiled);
    const auto start = clock_type::now();
    s.light();
    int looks = 1;
    while (!boiled.wait(kettle::sync_nonblocking)) { // "not yet": never blocks
        std::this_thread::sleep_for(10ms);            // a chore between two looks
        ++looks;
    }
    std::printf("sync, non-blocking:  looked %d times, did a chore between looks; boiled after %ld ms\n", looks,
                ms_since(start));
}

void async_blocking() {
    kettle::event boiled;
    stove s(boiled);
    kettle::future<void> whistle = boiled.wait(kettle::async_blocking, s.loop());
    const auto start = clock_type::now();
    s.light();
    std::printf("async, blocking:     whistle ready at once? %s\n", whistle.ready() ? "yes" : "no");
    whistle.get(); // stays beside it anyway
    std::printf("                     heard the whistle after %ld ms, standing beside the kettle\n",
                ms_since(start));
}

void async_nonblocking() {
    kettle::event boiled;
    stove s(boiled);
    std::atomic<bool> tea{false};
    boiled.wait(kettle::async_nonblocking, s.loop(), [&] { tea = true; }); // runs on the stove's thread
    const auto start = clock_type::now();
    s.light();
    int chores = 0;
    while (!tea) { // he is elsewhere; nobody looks at the kettle
        std::this_thread::sleep_for(5ms);
        ++chores;
    }
    std::printf("async, non-blocking: did %d chores elsewhere; the whistle called him after %ld ms\n", chores,
                ms_since(start));
}

kettle::task<long> make_tea(kettle::event& boiled, kettle::event_loop<>& loop, clock_type::time_point start) {
    co_await boiled.wait(loop); // suspends; resumes on the stove's thread
    co_return ms_since(start);
}

void coroutine() {
    kettle::event boiled;
    stove s(boiled);
    const auto start = clock_type::now();
    s.light();
    const long after = kettle::sync_wait(make_tea(boiled, s.loop(), start));
    std::printf("coroutine:           co_await boiled.wait(loop) came back after %ld ms\n", after);
}

} // namespace

int main() {
    sync_blocking();
    sync_nonblocking();
    async_blocking();
    async_nonblocking();
    coroutine();
}
