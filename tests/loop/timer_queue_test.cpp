// SPDX-License-Identifier: MIT
// detail::timer_queue: heap order, FIFO ties, lazy cancellation, saturation,
// and a million timers.

#include <kettle/loop/detail/timer_queue.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

using namespace std::chrono_literals;
using kettle::detail::steady_duration;
using kettle::detail::steady_time;
using kettle::detail::timer_queue;

namespace {

/// Runs everything due at `now`.
void fire_all(timer_queue& q, steady_time now) {
    timer_queue::fired f;
    while (q.pop_due(now, q.next_sequence(), f)) {
        f.m_callback();
        if (f.m_repeating) {
            q.rearm(f, now);
        }
        f = timer_queue::fired{};
    }
}

} // namespace

TEST_CASE("saturating duration arithmetic", "[loop][timer_queue]") {
    using kettle::detail::saturate_duration;
    using kettle::detail::saturating_add;
    STATIC_REQUIRE(saturate_duration(std::chrono::hours::max()) == steady_duration::max());
    STATIC_REQUIRE(saturate_duration(std::chrono::hours::min()) == steady_duration::min());
    STATIC_REQUIRE(saturate_duration(2h) == steady_duration(2h));
    STATIC_REQUIRE(saturate_duration(std::chrono::duration<double>(1e300)) == steady_duration::max());
    STATIC_REQUIRE(saturate_duration(std::chrono::duration<double>(-1e300)) == steady_duration::min());
    STATIC_REQUIRE(saturate_duration(std::chrono::duration<double, std::milli>(1.5)) == steady_duration(1500us));
    const steady_time now = std::chrono::steady_clock::now();
    CHECK(saturating_add(now, steady_duration::max()) == steady_time::max());
    CHECK(saturating_add(now, steady_duration::min()) == now + steady_duration::min()); // representable
    CHECK(saturating_add(steady_time::min() + 1s, -2s) == steady_time::min());
    CHECK(saturating_add(steady_time::max(), 1ns) == steady_time::max());
    CHECK(saturating_add(now, 1s) == now + 1s);
}

TEST_CASE("timer_queue orders by deadline, ties by scheduling order", "[loop][timer_queue]") {
    timer_queue q;
    std::vector<int> out;
    const steady_time t0{};
    for (int i = 0; i < 50; ++i) {
        q.schedule(t0 + 5ms, {}, [&out, i] { out.push_back(100 + i); }); // 50 ties
        q.schedule(t0 + std::chrono::milliseconds(i % 7), {}, [&out, i] { out.push_back(i % 7); });
    }
    CHECK(q.size() == 100);
    fire_all(q, t0 + 10ms);
    REQUIRE(out.size() == 100);
    std::vector<int> ties;
    int previous = -1;
    for (int v : out) {
        if (v >= 100) {
            ties.push_back(v);
            CHECK(previous <= 5);
            previous = 5;
        } else {
            CHECK(v >= previous);
            previous = v;
        }
    }
    for (std::size_t i = 0; i < ties.size(); ++i) {
        CHECK(ties[i] == 100 + static_cast<int>(i));
    }
    CHECK(q.empty());
}

TEST_CASE("timer_queue cancels lazily and compacts", "[loop][timer_queue]") {
    kettle_test::counted::reset();
    timer_queue q;
    const steady_time t0{};
    std::vector<kettle::timer_id> ids;
    for (int i = 0; i < 10'000; ++i) {
        ids.push_back(q.schedule(t0 + std::chrono::microseconds(i), {}, [c = kettle_test::counted(i)] {}));
    }
    for (std::size_t i = 0; i < ids.size(); i += 2) {
        CHECK(q.cancel(ids[i]));
        CHECK_FALSE(q.cancel(ids[i]));
    }
    CHECK(q.size() == 5'000);
    CHECK(kettle_test::counted::live() == 5'000);
    timer_queue::fired f;
    std::size_t fired = 0;
    while (q.pop_due(t0 + 1s, q.next_sequence(), f)) {
        ++fired;
        f = timer_queue::fired{};
    }
    CHECK(fired == 5'000);
    CHECK(kettle_test::counted::live() == 0);
    CHECK_FALSE(q.next_deadline().has_value());
}

TEST_CASE("timer_queue: a million timers", "[loop][timer_queue][stress]") {
    timer_queue q;
    const steady_time t0{};
    std::uint64_t x = 88172645463325252ull;
    std::size_t count = 0;
    for (int i = 0; i < 1'000'000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        q.schedule(t0 + std::chrono::nanoseconds(x % 1'000'000'000), {}, [&count] { ++count; });
    }
    timer_queue::fired f;
    steady_time previous = t0;
    bool ordered = true;
    while (q.pop_due(steady_time::max(), q.next_sequence(), f)) {
        ordered = ordered && f.m_deadline >= previous;
        previous = f.m_deadline;
        f.m_callback();
    }
    CHECK(ordered);
    CHECK(count == 1'000'000);
}
