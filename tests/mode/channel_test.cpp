// SPDX-License-Identifier: MIT
#include <kettle/mode/channel.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"
#include "manual_executor.hpp"

#include <atomic>
#include <chrono>
#include <coroutine>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using kettle_test::counted;
using kettle_test::manual_executor;

static_assert(kettle::operation<kettle::channel<int>::pop_operation>);
static_assert(kettle::operation<kettle::channel<int>::push_operation>);

TEST_CASE("channel: capacity 0 is rejected", "[mode][channel]") {
    REQUIRE_THROWS_AS(kettle::channel<int>(0), std::invalid_argument);
}

TEST_CASE("channel: sync non-blocking reports empty and full, and keeps the value", "[mode][channel]") {
    kettle::channel<std::string> ch(2);
    REQUIRE_FALSE(ch.pop(kettle::sync_nonblocking).has_value());
    REQUIRE(ch.push(kettle::sync_nonblocking, std::string("a")));
    REQUIRE(ch.push(kettle::sync_nonblocking, std::string("b")));
    std::string c = "c";
    REQUIRE_FALSE(ch.push(kettle::sync_nonblocking, std::move(c)));
    REQUIRE(c == "c"); // not consumed by the failed push
    REQUIRE(ch.size() == 2);
    REQUIRE(ch.pop(kettle::sync_nonblocking) == std::optional<std::string>("a"));
    REQUIRE(ch.pop(kettle::sync_blocking) == "b");
    REQUIRE(ch.size() == 0);
}

TEST_CASE("channel: FIFO order across wrap-around", "[mode][channel]") {
    kettle::channel<int> ch(3);
    int next_out = 0;
    for (int i = 0; i < 10; ++i) {
        REQUIRE(ch.try_push(i));
        if (i % 2 == 1) {
            REQUIRE(*ch.try_pop() == next_out++);
            REQUIRE(*ch.try_pop() == next_out++);
        }
    }
    REQUIRE(next_out == 10);
}

TEST_CASE("channel: sync blocking pop sleeps until a push from another thread", "[mode][channel]") {
    kettle::channel<int> ch(1);
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
        std::this_thread::sleep_for(20ms);
        pushed = true;
        ch.push(kettle::sync_blocking, 42);
    });
    int v = ch.pop(); // sync_blocking is the default
    REQUIRE(pushed);
    REQUIRE(v == 42);
    producer.join();
}

TEST_CASE("channel: sync blocking push waits for room", "[mode][channel]") {
    kettle::channel<int> ch(1);
    ch.push(kettle::sync_blocking, 1);
    std::thread consumer([&] {
        std::this_thread::sleep_for(20ms);
        (void)ch.pop();
    });
    ch.push(kettle::sync_blocking, 2); // blocks until the consumer took 1
    consumer.join();
    REQUIRE(ch.pop(kettle::sync_nonblocking) == std::optional<int>(2));
}

TEST_CASE("channel: pop_for times out on an empty channel", "[mode][channel]") {
    kettle::channel<int> ch(1);
    const auto before = std::chrono::steady_clock::now();
    REQUIRE_FALSE(ch.pop_for(30ms).has_value());
    REQUIRE(std::chrono::steady_clock::now() - before >= 30ms);
    REQUIRE(ch.try_push(5));
    REQUIRE(ch.pop_for(std::chrono::hours::max()) == std::optional<int>(5)); // huge: no overflow
}

TEST_CASE("channel: async blocking pop returns a future fulfilled on the executor", "[mode][channel]") {
    manual_executor ex;
    kettle::channel<int> ch(4);
    auto f = ch.pop(kettle::async_blocking, ex);
    REQUIRE(f.valid());
    REQUIRE_FALSE(f.ready());
    ex.drain(); // attempts, finds nothing, arms
    REQUIRE_FALSE(f.ready());
    REQUIRE(ex.tracked() == 1);
    REQUIRE(ch.try_push(7)); // notifies: the record is posted
    REQUIRE_FALSE(f.ready());
    ex.drain();
    REQUIRE(f.ready());
    REQUIRE(f.get() == 7);
    REQUIRE_FALSE(f.valid());
    REQUIRE(ex.tracked() == 0);
}

TEST_CASE("channel: async non-blocking pop calls back on the executor, never inline", "[mode][channel]") {
    manual_executor ex;
    kettle::channel<int> ch(4);
    REQUIRE(ch.try_push(1));
    std::vector<int> got;
    ch.pop(kettle::async_nonblocking, ex, [&](int v) { got.push_back(v); });
    REQUIRE(got.empty()); // even though a value was there
    ex.drain();
    REQUIRE(got == std::vector<int>{1});

    ch.pop(kettle::async_nonblocking, ex, [&](int v) { got.push_back(v); });
    ex.drain();
    REQUIRE(got.size() == 1);
    ch.push(kettle::sync_blocking, 2);
    ex.drain();
    REQUIRE(got == std::vector<int>{1, 2});
}

TEST_CASE("channel: async push waits for room and keeps the value meanwhile", "[mode][channel]") {
    manual_executor ex;
    kettle::channel<counted> ch(1);
    counted::reset();
    {
        REQUIRE(ch.try_push(counted(1)));
        bool pushed = false;
        ch.push(kettle::async_nonblocking, counted(2), ex, [&] { pushed = true; });
        ex.drain();
        REQUIRE_FALSE(pushed);
        REQUIRE(ch.try_pop()->value() == 1);
        ex.drain();
        REQUIRE(pushed);
        REQUIRE(ch.try_pop()->value() == 2);
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("channel: co_await pop on the executor", "[mode][channel]") {
    manual_executor ex;
    kettle::channel<int> ch(1);
    auto consumer = [&]() -> kettle::task<int> {
        int a = co_await ch.pop(ex);
        int b = co_await ch.pop(ex);
        co_return a + b;
    };
    REQUIRE(ch.try_push(1)); // the first pop completes at once, without the executor
    std::atomic<bool> done{false};
    std::thread driver([&] {
        ch.push(kettle::sync_blocking, 2);
        ex.run_until(done);
    });
    REQUIRE(kettle::sync_wait(consumer()) == 3);
    done = true;
    driver.join();
}

TEST_CASE("channel: a dropped future cancels its pop and loses nothing", "[mode][channel][cancel]") {
    manual_executor ex;
    kettle::channel<counted> ch(2);
    counted::reset();
    {
        auto f = ch.pop(kettle::async_blocking, ex);
        ex.drain(); // armed on the channel
        REQUIRE(ex.tracked() == 1);
        f = {}; // cancel
        ex.drain();
        REQUIRE(ex.tracked() == 0);
        REQUIRE(ch.try_push(counted(9)));
        ex.drain();
        REQUIRE(ch.size() == 1); // nobody took it
        REQUIRE(ch.try_pop()->value() == 9);
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("channel: a future dropped before its pop ran cancels it too", "[mode][channel][cancel]") {
    manual_executor ex;
    kettle::channel<int> ch(2);
    REQUIRE(ch.try_push(3));
    {
        auto f = ch.pop(kettle::async_blocking, ex);
    } // dropped while posted
    ex.drain();
    REQUIRE(ch.size() == 1);
}

namespace {

// A coroutine owned by a bare handle, so a test can destroy it while suspended.
struct driver {
    struct promise_type {
        driver get_return_object() {
            return driver{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() { std::terminate(); }
    };
    std::coroutine_handle<promise_type> h;
};

driver pop_into(kettle::channel<int>& ch, manual_executor& ex, bool& resumed) {
    (void)co_await ch.pop(ex);
    resumed = true;
}

} // namespace

TEST_CASE("channel: a destroyed coroutine cancels its pop", "[mode][channel][cancel]") {
    manual_executor ex;
    kettle::channel<int> ch(2);
    bool resumed = false;
    SECTION("destroyed while armed on the channel") {
        auto d = pop_into(ch, ex, resumed);
        ex.drain();
        REQUIRE(ex.tracked() == 1);
        d.h.destroy();
        ex.drain();
    }
    SECTION("destroyed while its first attempt is still posted") {
        auto d = pop_into(ch, ex, resumed);
        d.h.destroy();
        ex.drain();
    }
    REQUIRE(ex.tracked() == 0);
    REQUIRE(ch.try_push(5));
    ex.drain();
    REQUIRE_FALSE(resumed);
    REQUIRE(ch.size() == 1); // the cancelled pop took nothing
}

TEST_CASE("channel: destroying the executor abandons pending operations without leaks", "[mode][channel][cancel]") {
    kettle::channel<int> ch(1);
    counted::reset();
    kettle::future<int> f;
    {
        manual_executor ex;
        auto token = std::make_shared<counted>(1);
        ch.pop(kettle::async_nonblocking, ex, [token](int) { FAIL("must not be called"); });
        f = ch.pop(kettle::async_blocking, ex);
        ex.drain(); // both armed
        REQUIRE(ex.tracked() == 2);
        auto posted_only = ch.pop(kettle::async_blocking, ex); // never runs: discarded
        (void)posted_only;
    }
    REQUIRE(counted::live() == 0); // the callback (and its capture) was destroyed
    REQUIRE(f.ready());
    REQUIRE_THROWS_AS(f.get(), std::future_error);
    REQUIRE(ch.try_push(1)); // no waiter left behind in the channel
    REQUIRE(ch.size() == 1);
}

TEST_CASE("channel: destroying the channel abandons its waiters", "[mode][channel][cancel]") {
    manual_executor ex;
    counted::reset();
    kettle::future<int> f;
    {
        kettle::channel<int> ch(1);
        auto token = std::make_shared<counted>(1);
        ch.pop(kettle::async_nonblocking, ex, [token](int) { FAIL("must not be called"); });
        f = ch.pop(kettle::async_blocking, ex);
        ex.drain();
        REQUIRE(ex.tracked() == 2);
    }
    ex.drain(); // the records learn their source is gone
    REQUIRE(ex.tracked() == 0);
    REQUIRE(counted::live() == 0);
    REQUIRE_THROWS_AS(f.get(), std::future_error);
}

TEST_CASE("channel: elements are destroyed exactly once", "[mode][channel]") {
    counted::reset();
    {
        kettle::channel<counted> ch(4);
        REQUIRE(ch.try_push(counted(1)));
        REQUIRE(ch.try_push(counted(2)));
        auto one = ch.try_pop();
        REQUIRE(one->value() == 1);
        REQUIRE(counted::live() == 2); // `one` and the element still inside
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("channel: many producers and consumers deliver every item exactly once", "[mode][channel][stress]") {
    constexpr int producers = 3, consumers = 3, per_producer = 20000;
    kettle::channel<int> ch(64);
    std::vector<std::atomic<int>> seen(producers * per_producer);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                const int v = p * per_producer + i;
                if (i % 2)
                    ch.push(kettle::sync_blocking, v);
                else
                    while (!ch.push(kettle::sync_nonblocking, int(v)))
                        std::this_thread::yield();
            }
        });
    std::atomic<int> taken{0};
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&] {
            while (taken.fetch_add(1) < producers * per_producer)
                seen[static_cast<std::size_t>(ch.pop(kettle::sync_blocking))].fetch_add(1);
        });
    for (auto& t : threads)
        t.join();
    for (auto& s : seen)
        REQUIRE(s.load() == 1);
    REQUIRE(ch.size() == 0);
}

TEST_CASE("channel: async pops from an executor thread race with producers", "[mode][channel][stress]") {
    constexpr int items = 5000;
    manual_executor ex;
    kettle::channel<int> ch(8);
    std::vector<int> got;
    std::atomic<int> pending{0};
    std::function<void()> issue = [&] {
        pending.fetch_add(1);
        ch.pop(kettle::async_nonblocking, ex, [&](int v) {
            got.push_back(v);
            pending.fetch_sub(1);
            if (got.size() < items)
                issue();
        });
    };
    issue();
    std::thread producer([&] {
        for (int i = 0; i < items; ++i)
            ch.push(kettle::sync_blocking, i);
    });
    REQUIRE(ex.run_until_idle(std::chrono::seconds(60)));
    producer.join();
    REQUIRE(got.size() == items);
    for (int i = 0; i < items; ++i)
        REQUIRE(got[static_cast<std::size_t>(i)] == i);
}
