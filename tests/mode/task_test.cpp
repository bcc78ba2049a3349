// SPDX-License-Identifier: MIT
#include <kettle/mode/channel.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/mode/when_all.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"
#include "manual_executor.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using kettle_test::counted;
using kettle_test::manual_executor;

namespace {

kettle::task<int> answer() { co_return 42; }
kettle::task<int> add(int a, int b) { co_return a + b; }
kettle::task<void> fail() {
    throw std::runtime_error("boiled dry");
    co_return;
}
kettle::task<int> sum_of_chain(int depth) {
    if (depth == 0)
        co_return 0;
    co_return 1 + co_await sum_of_chain(depth - 1);
}

} // namespace

TEST_CASE("task: lazy until awaited", "[mode][task]") {
    bool ran = false;
    auto body = [&]() -> kettle::task<int> {
        ran = true;
        co_return 1;
    };
    auto t = body();
    REQUIRE_FALSE(ran);
    REQUIRE_FALSE(t.done());
    REQUIRE(kettle::sync_wait(std::move(t)) == 1);
    REQUIRE(ran);
}

TEST_CASE("task: results, nesting and move-only values", "[mode][task]") {
    REQUIRE(kettle::sync_wait(answer()) == 42);
    REQUIRE(kettle::sync_wait(add(2, 3)) == 5);
    auto owner = []() -> kettle::task<std::unique_ptr<std::string>> {
        co_return std::make_unique<std::string>("kettle");
    };
    REQUIRE(*kettle::sync_wait(owner()) == "kettle");
}

TEST_CASE("task: exceptions reach the awaiter", "[mode][task]") {
    REQUIRE_THROWS_AS(kettle::sync_wait(fail()), std::runtime_error);
    auto outer = []() -> kettle::task<std::string> {
        try {
            co_await fail();
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what());
        }
        co_return std::string("not thrown");
    };
    REQUIRE(kettle::sync_wait(outer()) == "boiled dry");
}

TEST_CASE("task: deep chains of synchronously completing tasks", "[mode][task]") {
    // Each level hands control over by symmetric transfer. That the stack
    // stays flat however deep the chain is depends on the compiler turning
    // the transfer into a tail call (GCC and Clang do at -O2); at -O0 each
    // level costs a frame, so the depth here stays well inside a 1 MiB stack.
    REQUIRE(kettle::sync_wait(sum_of_chain(1000)) == 1000);
}

TEST_CASE("task: destroying an unstarted or finished task frees its frame", "[mode][task]") {
    counted::reset();
    {
        auto t = [](counted c) -> kettle::task<int> { co_return c.value(); }(counted(5));
        REQUIRE(counted::live() >= 1); // the parameter lives in the frame
    }
    REQUIRE(counted::live() == 0);
    {
        auto t = [](counted c) -> kettle::task<int> { co_return c.value(); }(counted(6));
        auto wrapper = [](kettle::task<int>& inner) -> kettle::task<int> { co_return co_await std::move(inner); };
        REQUIRE(kettle::sync_wait(wrapper(t)) == 6);
        REQUIRE(t.done());
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("task: resumes on the executor's thread after a real suspension", "[mode][task]") {
    manual_executor ex;
    kettle::channel<int> ch(1);
    std::thread::id resumed_on;
    auto body = [&]() -> kettle::task<int> {
        int v = co_await ch.pop(ex);
        resumed_on = std::this_thread::get_id();
        co_return v;
    };
    std::thread::id loop_thread;
    std::atomic<bool> done{false};
    std::thread loop([&] {
        loop_thread = std::this_thread::get_id();
        ex.wait_for_posts(1); // the coroutine suspended on the empty channel
        ch.push(kettle::sync_blocking, 8);
        ex.run_until(done);
    });
    REQUIRE(kettle::sync_wait(body()) == 8);
    done = true;
    loop.join();
    REQUIRE(resumed_on == loop_thread);
}

TEST_CASE("when_all: tuple of results, in order", "[mode][when_all]") {
    auto none = []() -> kettle::task<void> { co_return; };
    auto [a, b, c] = kettle::sync_wait(kettle::when_all(answer(), add(1, 1), none()));
    REQUIRE(a == 42);
    REQUIRE(b == 2);
    REQUIRE(c == std::monostate{});
}

TEST_CASE("when_all: vector of tasks", "[mode][when_all]") {
    std::vector<kettle::task<int>> tasks;
    for (int i = 0; i < 100; ++i)
        tasks.push_back(add(i, 0));
    auto results = kettle::sync_wait(kettle::when_all(std::move(tasks)));
    REQUIRE(results.size() == 100);
    for (int i = 0; i < 100; ++i)
        REQUIRE(results[static_cast<std::size_t>(i)] == i);
    REQUIRE(kettle::sync_wait(kettle::when_all(std::vector<kettle::task<int>>{})).empty());
}

TEST_CASE("when_all: rethrows after every task finished", "[mode][when_all]") {
    bool other_finished = false;
    auto other = [&]() -> kettle::task<int> {
        other_finished = true;
        co_return 1;
    };
    REQUIRE_THROWS_AS(kettle::sync_wait(kettle::when_all(fail(), other())), std::runtime_error);
    REQUIRE(other_finished);
}

TEST_CASE("when_all: tasks that suspend on another thread", "[mode][when_all][stress]") {
    manual_executor ex;
    kettle::channel<int> ch(4);
    auto take = [&]() -> kettle::task<int> { co_return co_await ch.pop(ex); };
    std::atomic<bool> done{false};
    std::thread loop([&] {
        for (int i = 1; i <= 3; ++i)
            ch.push(kettle::sync_blocking, i * 10);
        ex.run_until(done);
    });
    auto [x, y, z] = kettle::sync_wait(kettle::when_all(take(), take(), take()));
    done = true;
    loop.join();
    REQUIRE(x + y + z == 60);
}
