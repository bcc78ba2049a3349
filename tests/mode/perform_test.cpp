// SPDX-License-Identifier: MIT
// The generic derivation of the four modes, on a hand-made operation whose
// every call is counted.
#include <kettle/mode/perform.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>

#include "../support/catch.hpp"
#include "manual_executor.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using kettle_test::manual_executor;

namespace {

// A source that completes after `ready_after` attempts, or throws on attempt
// `throw_on`. Its readiness token never sleeps (always "changed"), so every
// wait is a retry: the derivation must still terminate and count right.
struct scripted {
    int attempts = 0;
    int ready_after = 0;
    int throw_on = -1;
};

struct always_changed {
    void wait() const noexcept {}
    bool wait_until(const kettle::steady_time&) const noexcept { return true; }
    template <class E>
    bool arm(kettle::detail::waiter&, E&) const noexcept {
        return false; // "changed since the snapshot": try again at once
    }
    bool disarm(kettle::detail::waiter&) const noexcept { return false; }
};

struct scripted_op {
    using result_type = int;
    scripted* s;
    std::optional<int> try_complete() {
        const int n = ++s->attempts;
        if (n == s->throw_on)
            throw std::runtime_error("attempt failed");
        if (n > s->ready_after)
            return n;
        return std::nullopt;
    }
    always_changed readiness() const noexcept { return {}; }
};

static_assert(kettle::operation<scripted_op>);
static_assert(kettle::detail::async_operation<scripted_op, manual_executor>);

} // namespace

TEST_CASE("perform: sync non-blocking is exactly one attempt", "[mode][perform]") {
    scripted s{.ready_after = 2};
    REQUIRE_FALSE(kettle::perform(scripted_op{&s}, kettle::sync_nonblocking).has_value());
    REQUIRE(s.attempts == 1);
}

TEST_CASE("perform: sync blocking retries until the operation completes", "[mode][perform]") {
    scripted s{.ready_after = 4};
    REQUIRE(kettle::perform(scripted_op{&s}, kettle::sync_blocking) == 5);
    REQUIRE(s.attempts == 5);
}

TEST_CASE("perform: an operation ready at once costs a single attempt", "[mode][perform]") {
    scripted s;
    REQUIRE(kettle::perform(scripted_op{&s}, kettle::sync_blocking) == 1);
    REQUIRE(s.attempts == 1);
}

TEST_CASE("perform: exceptions from the operation reach every mode", "[mode][perform]") {
    manual_executor ex;
    SECTION("sync") {
        scripted s{.ready_after = 5, .throw_on = 2};
        REQUIRE_THROWS_AS(kettle::perform(scripted_op{&s}, kettle::sync_blocking), std::runtime_error);
    }
    SECTION("future") {
        scripted s{.ready_after = 5, .throw_on = 2};
        auto f = kettle::perform(scripted_op{&s}, kettle::async_blocking, ex);
        ex.drain();
        REQUIRE(f.ready());
        REQUIRE_THROWS_AS(f.get(), std::runtime_error);
        REQUIRE(ex.tracked() == 0);
    }
    SECTION("coroutine") {
        scripted s{.ready_after = 5, .throw_on = 2};
        auto body = [&]() -> kettle::task<int> { co_return co_await kettle::perform(scripted_op{&s}, ex); };
        std::atomic<bool> done{false};
        std::thread driver([&] { ex.run_until(done); });
        // the first attempt (in await_ready) fails without throwing; the
        // second, on the executor, throws into the coroutine
        REQUIRE_THROWS_AS(kettle::sync_wait(body()), std::runtime_error);
        done = true;
        driver.join();
    }
}

TEST_CASE("perform: async modes attempt on the executor, not in the caller", "[mode][perform]") {
    manual_executor ex;
    scripted s{.ready_after = 2};
    int got = 0;
    kettle::perform(scripted_op{&s}, kettle::async_nonblocking, ex, [&](int v) { got = v; });
    REQUIRE(s.attempts == 0);
    ex.drain();
    REQUIRE(got == 3);
    REQUIRE(ex.tracked() == 0);
}

TEST_CASE("perform: a deadline in the past still makes one attempt", "[mode][perform]") {
    scripted s{.ready_after = 0};
    auto r = kettle::perform_until(scripted_op{&s}, kettle::sync_blocking, std::chrono::steady_clock::now() - 1s);
    REQUIRE(r == std::optional<int>(1));
}
