// SPDX-License-Identifier: MIT
// event_loop::post: from other threads, exactly once, on the loop's thread,
// with coalesced wake-ups.

#include <kettle/loop/event_loop.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"
#include "backends.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEMPLATE_LIST_TEST_CASE("posts from 4 threads run exactly once, in per-thread order, on the loop thread",
                        "[loop][post][stress]", kettle_test::loop_backends) {
    constexpr int threads = 4;
    constexpr int per_thread = 10'000;
    kettle::event_loop<TestType> loop;
    kettle::detail::tracked_node guard; // keeps run() going until every post ran
    guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
    loop.track(guard);

    std::vector<std::vector<int>> seen(threads, std::vector<int>(per_thread, 0));
    std::vector<int> last(threads, -1);
    int total = 0;
    int out_of_order = 0;
    int wrong_thread = 0;
    std::thread::id loop_thread;

    std::atomic<bool> go{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) {
        producers.emplace_back([&, t] {
            while (!go.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
            for (int i = 0; i < per_thread; ++i) {
                loop.post([&, t, i] {
                    if (std::this_thread::get_id() != loop_thread || !loop.running_in_this_thread()) {
                        ++wrong_thread;
                    }
                    ++seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
                    auto& l = last[static_cast<std::size_t>(t)];
                    if (i <= l) {
                        ++out_of_order;
                    }
                    l = i;
                    if (++total == threads * per_thread) {
                        loop.untrack(guard);
                    }
                });
            }
        });
    }
    std::thread runner([&] {
        loop_thread = std::this_thread::get_id();
        go.store(true, std::memory_order_release);
        loop.run();
    });
    for (auto& p : producers) {
        p.join();
    }
    runner.join();

    CHECK(total == threads * per_thread);
    CHECK(out_of_order == 0);
    CHECK(wrong_thread == 0);
    int not_once = 0;
    for (const auto& per : seen) {
        for (int n : per) {
            not_once += n == 1 ? 0 : 1;
        }
    }
    CHECK(not_once == 0);
}

TEMPLATE_LIST_TEST_CASE("wake-ups coalesce: many posts, one interrupt, one iteration", "[loop][post][coalesce]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::atomic<int> ran{0};
    std::thread poster([&] {
        for (int i = 0; i < 1000; ++i) {
            loop.post([&] { ran.fetch_add(1, std::memory_order_relaxed); });
        }
    });
    poster.join();
    CHECK(loop.run_once(0ms) == 1000); // one iteration runs them all
    CHECK(ran.load() == 1000);
}

TEMPLATE_LIST_TEST_CASE("wake-ups coalesce: interrupt count", "[loop][post][coalesce]", kettle_test::loop_backends) {
    // Count interrupts through a backend that shares its counter with the test.
    struct shared_counter {
        static std::atomic<long>& interrupts() {
            static std::atomic<long> n{0};
            return n;
        }
    };
    struct backend : TestType {
        void interrupt() noexcept {
            shared_counter::interrupts().fetch_add(1, std::memory_order_relaxed);
            TestType::interrupt();
        }
    };
    STATIC_REQUIRE(kettle::loop_backend<backend>);
    shared_counter::interrupts() = 0;
    kettle::event_loop<backend> loop;

    std::thread poster([&] {
        for (int i = 0; i < 1000; ++i) {
            loop.post([] {});
        }
    });
    poster.join();
    CHECK(shared_counter::interrupts() == 1); // only the first post found the queue empty
    CHECK(loop.run_once(0ms) == 1000);

    std::thread again([&] {
        loop.post([] {});
        loop.post([] {});
    });
    again.join();
    CHECK(shared_counter::interrupts() == 2);
    CHECK(loop.run_once(0ms) == 2);

    // Posts from the loop's own thread while it runs need no wake-up at all.
    loop.post([&] {
        for (int i = 0; i < 10; ++i) {
            loop.post([] {});
        }
    });
    CHECK(shared_counter::interrupts() == 3); // that first post came from outside the loop
    CHECK(loop.run() == 11);
    CHECK(shared_counter::interrupts() == 3);
}

TEMPLATE_LIST_TEST_CASE("a post wakes a loop blocked in run_once", "[loop][post]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::atomic<bool> ran{false};
    std::thread poster([&] {
        std::this_thread::sleep_for(20ms);
        loop.post([&] { ran = true; });
    });
    const auto start = std::chrono::steady_clock::now();
    std::size_t n = 0;
    while (n == 0 && std::chrono::steady_clock::now() - start < 5s) {
        n += loop.run_once(std::chrono::milliseconds(10'000));
    }
    poster.join();
    CHECK(n == 1);
    CHECK(ran.load());
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEMPLATE_LIST_TEST_CASE("post(F) callables are destroyed exactly once, run or not", "[loop][post][lifetime]",
                        kettle_test::loop_backends) {
    kettle_test::counted::reset();
    int ran = 0;
    {
        kettle::event_loop<TestType> loop;
        for (int i = 0; i < 10; ++i) {
            loop.post([&ran, c = kettle_test::counted(i)] { ran += c.intact() ? 1 : 100; });
        }
        CHECK(loop.run_once(0ms) == 10);
        CHECK(kettle_test::counted::live() == 0);
        for (int i = 0; i < 10; ++i) {
            loop.post([&ran, c = kettle_test::counted(i)] { ran += 1000; });
        }
        CHECK(kettle_test::counted::live() == 10);
    }
    CHECK(ran == 10);
    CHECK(kettle_test::counted::live() == 0);
}

namespace {

/// Counts what a backend is asked to do: sleeps (waits with a non-zero
/// timeout) and interrupts. One set of counters per backend type.
template <class Backend>
struct counted_backend : Backend {
    static std::atomic<long>& sleeps() {
        static std::atomic<long> n{0};
        return n;
    }
    static std::atomic<long>& interrupts() {
        static std::atomic<long> n{0};
        return n;
    }
    std::span<const kettle::ready_event> wait(int timeout_ms, std::error_code& ec) noexcept {
        if (timeout_ms != 0) {
            sleeps().fetch_add(1, std::memory_order_relaxed);
        }
        return Backend::wait(timeout_ms, ec);
    }
    void interrupt() noexcept {
        interrupts().fetch_add(1, std::memory_order_relaxed);
        Backend::interrupt();
    }
};

/// Registers and unregisters one end of a socket pair that never becomes
/// readable, so that the loop alternates between sleeping in its backend
/// (something registered) and parking (nothing registered). Loop thread only.
template <class Loop>
class registration_toggle {
public:
    registration_toggle(Loop& loop, kettle::native_handle h) noexcept : m_loop(loop), m_handle(h) {}
    void flip() {
        if (m_registered) {
            m_loop.remove(m_handle);
        } else {
            m_loop.add(m_handle, kettle::interest::readable, [h = m_handle](kettle::io_events) {
                kettle_test::drain(h);
            });
        }
        m_registered = !m_registered;
        ++m_flips;
    }
    void unregister() {
        if (m_registered) {
            flip();
        }
    }
    [[nodiscard]] int flips() const noexcept { return m_flips; }

private:
    Loop& m_loop;
    kettle::native_handle m_handle;
    bool m_registered = false;
    int m_flips = 0;
};

/// Waits up to `limit` for `flag`; true if it was set.
bool wait_for_flag(const std::atomic<bool>& flag, std::chrono::steady_clock::duration limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!flag.load(std::memory_order_acquire)) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// Joins `runner`, which sets `done` when its run returns. True if that
/// happened within `limit`. Otherwise the loop lost a wake-up: it is then
/// kicked with `stop()` and `kick()` until it returns, and if nothing gets it
/// out, the test aborts loudly rather than hang.
template <class Loop, class Kick>
bool join_runner(std::thread& runner, const std::atomic<bool>& done, Loop& loop,
                 std::chrono::steady_clock::duration limit, Kick kick) {
    const bool in_time = wait_for_flag(done, limit);
    for (int k = 0; !done.load(std::memory_order_acquire) && k < 500; ++k) {
        loop.stop();
        kick();
        std::this_thread::sleep_for(10ms);
    }
    if (!done.load(std::memory_order_acquire)) {
        std::fputs("event_loop_post_test: the loop never woke up\n", stderr);
        std::abort();
    }
    runner.join();
    return in_time;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("posts from several threads while the loop alternates between parking and polling",
                        "[loop][post][park][stress]", kettle_test::loop_backends) {
    // Producers mostly wait for each post to run before the next, so the loop
    // sleeps between posts; posts flip a registration on and off, so those
    // sleeps alternate between the backend and the parking spot, and every
    // post races with the loop moving from one to the other. A lost wake-up
    // shows as a producer that waits in vain (the loop sleeps without a
    // timeout). Every post must run exactly once, in per-thread order.
    using backend = counted_backend<TestType>;
    constexpr int threads = 3;
    constexpr int per_thread = 1500;
    backend::sleeps() = 0;
    backend::interrupts() = 0;
    kettle_test::socket_pair pair;
    REQUIRE(pair.valid());
    kettle::event_loop<backend> loop;
    registration_toggle<kettle::event_loop<backend>> toggle(loop, pair.first());
    kettle::detail::tracked_node guard;
    guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
    loop.track(guard);

    std::vector<std::vector<int>> seen(threads, std::vector<int>(per_thread, 0));
    std::vector<int> last(threads, -1);
    int out_of_order = 0;
    std::vector<std::atomic<int>> ran(threads);
    std::vector<int> stuck_at(threads, -1);

    std::atomic<bool> finished{false};
    std::thread runner([&] {
        loop.run();
        finished.store(true, std::memory_order_release);
    });
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) {
        producers.emplace_back([&, t] {
            const auto ut = static_cast<std::size_t>(t);
            for (int i = 0; i < per_thread; ++i) {
                loop.post([&, t, i, ut] {
                    ++seen[ut][static_cast<std::size_t>(i)];
                    if (i <= last[ut]) {
                        ++out_of_order;
                    }
                    last[ut] = i;
                    if ((i + t) % 3 == 0) {
                        toggle.flip();
                    }
                    ran[ut].store(i + 1, std::memory_order_release);
                });
                if (i % 8 == 7) {
                    continue; // now and then a burst: two posts in a row
                }
                const auto deadline = std::chrono::steady_clock::now() + 10s;
                while (ran[ut].load(std::memory_order_acquire) <= i) {
                    if (std::chrono::steady_clock::now() > deadline) {
                        stuck_at[ut] = i;
                        return;
                    }
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& p : producers) {
        p.join();
    }
    loop.post([&] {
        toggle.unregister();
        loop.untrack(guard);
    });
    // A kick for a loop stuck in its backend: make the registered end readable.
    const auto kick = [&] { kettle_test::send_bytes(pair.second(), 1); };
    CHECK(join_runner(runner, finished, loop, 20s, kick));

    for (int t = 0; t < threads; ++t) {
        CAPTURE(t);
        CHECK(stuck_at[static_cast<std::size_t>(t)] == -1);
    }
    CHECK(out_of_order == 0);
    int not_once = 0;
    for (const auto& per : seen) {
        for (int n : per) {
            not_once += n == 1 ? 0 : 1;
        }
    }
    CHECK(not_once == 0);
    CHECK(toggle.flips() > 100);
    CHECK(backend::sleeps() > 0);     // it did sleep in the backend
    CHECK(backend::interrupts() > 0); // and was woken there
}

TEMPLATE_LIST_TEST_CASE("stop from another thread wakes a loop parked or sleeping in its backend",
                        "[loop][post][park][stop]", kettle_test::loop_backends) {
    using backend = counted_backend<TestType>;
    kettle_test::socket_pair pair;
    REQUIRE(pair.valid());
    for (const bool registered : {false, true}) {
        for (const bool timed : {false, true}) {
            CAPTURE(registered, timed);
            backend::sleeps() = 0;
            kettle::event_loop<backend> loop;
            kettle::detail::tracked_node guard;
            guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
            loop.track(guard);
            if (registered) {
                loop.add(pair.first(), kettle::interest::readable, [](kettle::io_events) {});
            }
            std::atomic<bool> started{false};
            std::atomic<bool> returned{false};
            loop.post([&] { started.store(true, std::memory_order_release); });
            std::thread runner([&] {
                if (timed) {
                    loop.run_for(1h);
                } else {
                    loop.run();
                }
                returned.store(true, std::memory_order_release);
            });
            REQUIRE(wait_for_flag(started, 10s));
            std::this_thread::sleep_for(30ms); // the loop is asleep by now
            loop.stop();
            const auto kick = [&] { kettle_test::send_bytes(pair.second(), 1); };
            CHECK(join_runner(runner, returned, loop, 5s, kick));
            kettle_test::drain(pair.first());
            CHECK_FALSE(loop.stopped());
            // Nothing registered: the loop never sleeps in the backend.
            CHECK((backend::sleeps() > 0) == registered);

            // A stop while no thread runs the loop cuts its next sleep short.
            loop.stop();
            const auto before = std::chrono::steady_clock::now();
            CHECK(loop.run_once(10s) == 0);
            CHECK(std::chrono::steady_clock::now() - before < 5s);
            CHECK(loop.run() == 0); // consumes the request
            CHECK_FALSE(loop.stopped());

            if (registered) {
                loop.remove(pair.first());
            }
            loop.untrack(guard);
            CHECK(loop.run() == 0);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("with nothing registered, posts and stop wake the loop without the backend",
                        "[loop][post][park]", kettle_test::loop_backends) {
    // A backend whose wake-up channel is never written: a loop with nothing
    // registered must not need it, whether it parks with a timeout or without.
    struct deaf_backend : TestType {
        void interrupt() noexcept {}
    };
    STATIC_REQUIRE(kettle::loop_backend<deaf_backend>);
    constexpr int threads = 2;
    constexpr int per_thread = 300;
    for (const bool timed : {false, true}) {
        CAPTURE(timed);
        kettle::event_loop<deaf_backend> loop;
        kettle::detail::tracked_node guard;
        guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
        loop.track(guard);
        std::atomic<bool> returned{false};
        std::thread runner([&] {
            if (timed) {
                loop.run_for(1h);
            } else {
                loop.run();
            }
            returned.store(true, std::memory_order_release);
        });
        std::vector<std::atomic<int>> ran(threads);
        std::vector<int> stuck_at(threads, -1);
        std::vector<std::thread> producers;
        for (int t = 0; t < threads; ++t) {
            producers.emplace_back([&, t] {
                const auto ut = static_cast<std::size_t>(t);
                for (int i = 0; i < per_thread; ++i) {
                    loop.post([&ran, ut] { ran[ut].fetch_add(1, std::memory_order_release); });
                    const auto deadline = std::chrono::steady_clock::now() + 10s;
                    while (ran[ut].load(std::memory_order_acquire) <= i) {
                        if (std::chrono::steady_clock::now() > deadline) {
                            stuck_at[ut] = i;
                            return;
                        }
                        std::this_thread::yield();
                    }
                }
            });
        }
        for (auto& p : producers) {
            p.join();
        }
        std::this_thread::sleep_for(20ms); // parked again by now
        std::thread stopper([&] { loop.stop(); });
        stopper.join();
        CHECK(join_runner(runner, returned, loop, 5s, [] {}));
        for (int t = 0; t < threads; ++t) {
            CAPTURE(t);
            CHECK(stuck_at[static_cast<std::size_t>(t)] == -1);
            CHECK(ran[static_cast<std::size_t>(t)].load() == per_thread);
        }
        loop.untrack(guard);
    }
}

TEMPLATE_LIST_TEST_CASE("a stop from another thread while the loop runs cuts its next sleep short, in either mode",
                        "[loop][post][park][stop]", kettle_test::loop_backends) {
    kettle_test::socket_pair pair;
    REQUIRE(pair.valid());
    for (const bool registered : {false, true}) {
        CAPTURE(registered);
        kettle::event_loop<TestType> loop;
        kettle::detail::tracked_node guard;
        guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
        loop.track(guard);
        if (registered) {
            loop.add(pair.first(), kettle::interest::readable, [](kettle::io_events) {});
        }
        // The stop arrives while the loop is awake (inside a callback), so it
        // has no sleep to interrupt: the next one must not happen.
        loop.post([&] {
            std::thread other([&] { loop.stop(); });
            other.join();
        });
        CHECK(loop.run_once(0ms) == 1);
        CHECK(loop.stopped()); // run_once does not consume it
        const auto before = std::chrono::steady_clock::now();
        CHECK(loop.run_once(10s) == 0);
        CHECK(std::chrono::steady_clock::now() - before < 5s);
        CHECK(loop.run() == 0);
        CHECK_FALSE(loop.stopped());
        if (registered) {
            loop.remove(pair.first());
        }
        loop.untrack(guard);
    }
}
