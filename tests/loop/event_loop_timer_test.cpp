// SPDX-License-Identifier: MIT
// event_loop timers: order, ties, cancellation, repetition, huge delays.

#include <kettle/loop/event_loop.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"
#include "backends.hpp"

#include <chrono>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

TEMPLATE_LIST_TEST_CASE("timers run in deadline order", "[loop][timer]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::vector<int> order;
    // Absolute deadlines: on a loaded machine, relative ones added one after
    // another could land in another order than their delays say.
    const auto start = std::chrono::steady_clock::now();
    loop.add_timer_at(start + 30ms, [&] { order.push_back(30); });
    loop.add_timer_at(start + 10ms, [&] { order.push_back(10); });
    loop.add_timer_at(start + 20ms, [&] { order.push_back(20); });
    loop.add_timer_at(start, [&] { order.push_back(0); });
    CHECK(loop.run() == 4);
    CHECK(std::chrono::steady_clock::now() - start >= 30ms);
    CHECK(order == std::vector<int>{0, 10, 20, 30});
}

TEMPLATE_LIST_TEST_CASE("timers with equal deadlines run in scheduling order", "[loop][timer]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::vector<int> order;
    const auto when = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
        loop.add_timer_at(when, [&order, i] { order.push_back(i); });
    }
    CHECK(loop.run_once(0ms) == 100);
    REQUIRE(order.size() == 100);
    for (int i = 0; i < 100; ++i) {
        CHECK(order[static_cast<std::size_t>(i)] == i);
    }
}

TEMPLATE_LIST_TEST_CASE("cancel_timer", "[loop][timer][cancel]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::counted::reset();

    SECTION("a pending timer: true once, its callback destroyed unrun") {
        bool ran = false;
        const auto id = loop.add_timer(1h, [&ran, c = kettle_test::counted(1)] { ran = true; });
        CHECK(kettle_test::counted::live() == 1);
        CHECK(loop.cancel_timer(id));
        CHECK(kettle_test::counted::live() == 0);
        CHECK_FALSE(loop.cancel_timer(id));
        CHECK(loop.run() == 0); // no outstanding work left
        CHECK_FALSE(ran);
    }
    SECTION("after it fired: false; default id: false") {
        const auto id = loop.add_timer(0ms, [] {});
        CHECK(loop.run() == 1);
        CHECK_FALSE(loop.cancel_timer(id));
        CHECK_FALSE(loop.cancel_timer(kettle::timer_id{}));
        CHECK_FALSE(loop.cancel_timer(kettle::timer_id{12345, 1}));
    }
    SECTION("a one-shot timer cancelling itself: already fired, false") {
        kettle::timer_id self;
        bool result = true;
        self = loop.add_timer(0ms, [&] { result = loop.cancel_timer(self); });
        CHECK(loop.run() == 1);
        CHECK_FALSE(result);
    }
    SECTION("a repeating timer cancelling itself stops it") {
        kettle::timer_id self;
        int ticks = 0;
        bool result = false;
        self = loop.add_timer(0ms, 1ms, [&, c = kettle_test::counted(2)] {
            if (++ticks == 3) {
                result = loop.cancel_timer(self);
                CHECK(c.intact()); // still alive until it returns
            }
        });
        CHECK(loop.run() == 3);
        CHECK(result);
        CHECK(ticks == 3);
        CHECK(kettle_test::counted::live() == 0);
        CHECK_FALSE(loop.cancel_timer(self));
    }
    SECTION("a callback cancels another timer due in the same iteration") {
        std::vector<int> order;
        kettle::timer_id second;
        const auto when = std::chrono::steady_clock::now();
        loop.add_timer_at(when, [&] {
            order.push_back(1);
            CHECK(loop.cancel_timer(second));
        });
        second = loop.add_timer_at(when, [&] { order.push_back(2); });
        loop.add_timer(std::chrono::nanoseconds::min(), [&] { order.push_back(3); }); // far past: runs first
        CHECK(loop.run() == 2);
        CHECK(order == std::vector<int>{3, 1});
    }
    SECTION("ids are not reused: a stale id cannot cancel a newer timer in the same slot") {
        const auto old_id = loop.add_timer(1h, [] {});
        CHECK(loop.cancel_timer(old_id));
        bool ran = false;
        const auto new_id = loop.add_timer(0ms, [&] { ran = true; });
        CHECK(new_id != old_id);
        CHECK_FALSE(loop.cancel_timer(old_id));
        loop.run();
        CHECK(ran);
    }
}

TEMPLATE_LIST_TEST_CASE("repeating timers", "[loop][timer][repeat]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    int ticks = 0;
    kettle::timer_id id;
    const auto start = std::chrono::steady_clock::now();
    id = loop.add_timer(1ms, 2ms, [&] {
        if (++ticks == 5) {
            loop.cancel_timer(id);
        }
    });
    CHECK(loop.run() == 5);
    CHECK(std::chrono::steady_clock::now() - start >= 9ms);
    CHECK(ticks == 5);

    std::error_code ec;
    try {
        loop.add_timer(0ms, 0ms, [] {});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
    }
    CHECK_THROWS_AS(loop.add_timer(0ms, -1s, [] {}), std::system_error);
    CHECK(loop.run() == 0);
}

TEMPLATE_LIST_TEST_CASE("huge delays saturate: they never fire and keep the order intact", "[loop][timer][huge]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::vector<int> order;
    const auto a = loop.add_timer(std::chrono::hours::max(), [&] { order.push_back(-1); });
    const auto b = loop.add_timer(kettle::event_loop<TestType>::duration::max(), [&] { order.push_back(-2); });
    const auto c = loop.add_timer(std::chrono::nanoseconds::max(), [&] { order.push_back(-3); });
    const auto d = loop.add_timer(std::chrono::duration<double>(1e300), [&] { order.push_back(-4); });
    const auto e = loop.add_timer(std::chrono::hours::max(), std::chrono::hours::max(), [&] { order.push_back(-5); });
    loop.add_timer(2ms, [&] { order.push_back(2); });
    loop.add_timer(1ms, [&] { order.push_back(1); });
    CHECK(loop.run_for(50ms) == 2);
    CHECK(order == std::vector<int>{1, 2});
    for (const auto id : {a, b, c, d, e}) {
        CHECK(loop.cancel_timer(id));
    }
    CHECK(loop.run() == 0);
    // run_for with a huge duration returns when the work is done
    loop.add_timer(1ms, [&] { order.push_back(3); });
    CHECK(loop.run_for(std::chrono::hours::max()) == 1);
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEMPLATE_LIST_TEST_CASE("timers added by a timer callback run in a later iteration", "[loop][timer]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    int depth = 0;
    std::function<void()> again = [&] {
        if (++depth < 1000) {
            loop.add_timer(0ms, again);
        }
    };
    loop.add_timer(0ms, again);
    CHECK(loop.run_once(0ms) == 1); // not 1000: no starvation inside one iteration
    CHECK(loop.run() == 999);
}
