// SPDX-License-Identifier: MIT
#include <kettle/mode/event.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>

#include "../support/catch.hpp"
#include "manual_executor.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using kettle_test::manual_executor;

static_assert(kettle::operation<kettle::event::wait_operation>);

TEST_CASE("event: the four ways to wait", "[mode][event]") {
    manual_executor ex;
    kettle::event ev;

    SECTION("sync, non-blocking: false until set") {
        REQUIRE_FALSE(ev.wait(kettle::sync_nonblocking));
        ev.set();
        REQUIRE(ev.wait(kettle::sync_nonblocking));
    }
    SECTION("sync, blocking: sleeps until another thread sets it") {
        std::atomic<bool> set_done{false};
        std::thread setter([&] {
            std::this_thread::sleep_for(20ms);
            set_done = true;
            ev.set();
        });
        ev.wait(kettle::sync_blocking);
        REQUIRE(set_done);
        setter.join();
    }
    SECTION("sync, blocking with a timeout") {
        REQUIRE_FALSE(ev.wait_for(20ms));
        ev.set();
        REQUIRE(ev.wait_for(0ms));
        REQUIRE(ev.wait_for(std::chrono::nanoseconds::max()));
    }
    SECTION("async, blocking: a future") {
        auto f = ev.wait(kettle::async_blocking, ex);
        ex.drain();
        REQUIRE_FALSE(f.ready());
        REQUIRE_FALSE(f.get_for(1ms));
        ev.set();
        ex.drain();
        REQUIRE(f.ready());
        REQUIRE(f.get_for(0ms));
        REQUIRE_FALSE(f.valid());
    }
    SECTION("async, non-blocking: a callback on the executor") {
        int calls = 0;
        ev.wait(kettle::async_nonblocking, ex, [&] { ++calls; });
        ev.wait(kettle::async_nonblocking, ex, [&] { ++calls; });
        ex.drain();
        REQUIRE(calls == 0);
        ev.set();
        REQUIRE(calls == 0); // only posted
        ex.drain();
        REQUIRE(calls == 2);
    }
    SECTION("coroutine") {
        bool after = false;
        auto waiter = [&]() -> kettle::task<void> {
            co_await ev.wait(ex);
            after = true;
        };
        std::atomic<bool> done{false};
        std::thread driver([&] {
            ex.wait_for_posts(1); // the coroutine suspended
            ev.set();
            ex.run_until(done);
        });
        kettle::sync_wait(waiter());
        done = true;
        driver.join();
        REQUIRE(after);
    }
}

TEST_CASE("event: reset makes later waits wait again", "[mode][event]") {
    kettle::event ev(true);
    REQUIRE(ev.is_set());
    ev.reset();
    REQUIRE_FALSE(ev.wait(kettle::sync_nonblocking));
}

TEST_CASE("event: many threads released by one set", "[mode][event][stress]") {
    kettle::event ev;
    std::atomic<int> woken{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            ev.wait();
            woken.fetch_add(1);
        });
    std::this_thread::sleep_for(10ms);
    ev.set();
    for (auto& t : threads)
        t.join();
    REQUIRE(woken == 8);
}

TEST_CASE("event: set races with arming from the executor thread", "[mode][event][stress]") {
    // Each round: the executor arms a waiter while another thread sets the
    // event. Whoever wins, the callback must run exactly once.
    for (int round = 0; round < 300; ++round) {
        manual_executor ex;
        kettle::event ev;
        int calls = 0;
        ev.wait(kettle::async_nonblocking, ex, [&] { ++calls; });
        std::thread setter([&] { ev.set(); });
        REQUIRE(ex.run_until_idle(5s));
        setter.join();
        REQUIRE(calls == 1);
    }
}
