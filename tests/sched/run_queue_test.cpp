// SPDX-License-Identifier: MIT
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/single_thread.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/srtf.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

using kettle::cause;
using kettle_test::counted;

namespace kettle_test { // adapt the test type for the SJF family, as a user would
inline int job_length(const counted& c) noexcept { return c.value(); }
} // namespace kettle_test

namespace {
struct counted_priority {
    int operator()(const counted& c) const noexcept { return c.value(); }
};

// A locking policy that, like a lock-free ring, cannot protect a heap.
struct ring_only {
    struct mutex_type {
        void lock() noexcept {}
        void unlock() noexcept {}
    };
    static constexpr bool thread_safe = true;
    template <class Policy>
    static constexpr bool supports = false;
};
} // namespace

static_assert(kettle::locking_policy<kettle::single_thread>);
static_assert(kettle::locking_policy_for<kettle::single_thread, kettle::sjf<int>>);
static_assert(kettle::locking_policy<ring_only>);
static_assert(!kettle::locking_policy_for<ring_only, kettle::sjf<int>>);
static_assert(kettle::has_job_length<counted>);

TEMPLATE_TEST_CASE("run_queue: elements are neither leaked nor copied", "[sched][run_queue]",
                   kettle::fcfs<counted>, kettle::round_robin<counted>, kettle::sjf<counted>,
                   kettle::srtf<counted>, (kettle::priority<counted, counted_priority>),
                   kettle::mlfq<counted>, kettle::fair_share<counted>) {
    counted::reset();
    {
        kettle::run_queue<TestType> q;
        REQUIRE(q.empty());
        for (int i = 0; i < 50; ++i)
            q.push(counted(i % 7));
        REQUIRE(q.size() == 50);
        q.advance_to(1);
        for (int i = 0; i < 20; ++i) {
            auto d = q.try_pop();
            REQUIRE(d.has_value());
            REQUIRE(d->entry.value.intact());
            REQUIRE_FALSE(d->entry.value.moved_from());
            q.charge(d->entry, 1);
            if (i % 2 == 0)
                q.push(std::move(d->entry), cause::preempted);
        }
        REQUIRE(q.size() == 40);
        REQUIRE(counted::copies() == 0);
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("run_queue: forwards settings to the policy", "[sched][run_queue]") {
    kettle::run_queue<kettle::round_robin<int>> q(kettle::round_robin_settings{.quantum = 4});
    q.push(7);
    auto d = q.try_pop();
    REQUIRE(d->entry.value == 7);
    REQUIRE(d->quantum == 4);
    REQUIRE_FALSE(q.try_pop().has_value());
    REQUIRE_FALSE(q.preempts(d->entry));
}

// --- locking policies, bounds, waiting in the four modes, close --------------------------

#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/spin.hpp>

#include "../mode/manual_executor.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using kettle_test::manual_executor;

static_assert(kettle::locking_policy_for<kettle::mutex, kettle::sjf<int>>);
static_assert(kettle::locking_policy_for<kettle::spin, kettle::mlfq<int>>);
static_assert(kettle::locking_policy_for<kettle::lock_free, kettle::fcfs<int>>);
static_assert(kettle::locking_policy_for<kettle::lock_free, kettle::round_robin<int>>);
static_assert(kettle::locking_policy_for<kettle::lock_free, kettle::mlfq<int>>);
static_assert(!kettle::locking_policy_for<kettle::lock_free, kettle::sjf<int>>);
static_assert(!kettle::locking_policy_for<kettle::lock_free, kettle::srtf<int>>);
static_assert(!kettle::locking_policy_for<kettle::lock_free, kettle::fair_share<int>>);
static_assert(kettle::operation<kettle::run_queue<kettle::fcfs<int>, kettle::mutex>::pop_operation>);
static_assert(kettle::operation<kettle::run_queue<kettle::fcfs<int>, kettle::mutex>::push_operation>);

namespace {
template <class Q>
typename Q::entry_type entry(int v) {
    return typename Q::entry_type(v);
}
template <class Q>
int popped_value(Q& q) {
    auto d = q.try_pop();
    REQUIRE(d.has_value());
    return d->entry.value;
}

// The waiting queues the mode tests run on: each thread-safe locking, and
// MLFQ (one ring per level when lock-free) beside the FIFO rings.
using fcfs_mutex = kettle::run_queue<kettle::fcfs<int>, kettle::mutex>;
using fcfs_spin = kettle::run_queue<kettle::fcfs<int>, kettle::spin>;
using fcfs_lock_free = kettle::run_queue<kettle::fcfs<int>, kettle::lock_free>;
using mlfq_mutex = kettle::run_queue<kettle::mlfq<int>, kettle::mutex>;
using mlfq_lock_free = kettle::run_queue<kettle::mlfq<int>, kettle::lock_free>;
using rr_mutex = kettle::run_queue<kettle::round_robin<int>, kettle::mutex>;
using rr_spin = kettle::run_queue<kettle::round_robin<int>, kettle::spin>;
using rr_lock_free = kettle::run_queue<kettle::round_robin<int>, kettle::lock_free>;

// Settings that give a new task a quantum of 3, whatever the policy.
template <class Q>
auto quantum_3() {
    if constexpr (std::is_same_v<typename Q::policy_type, kettle::mlfq<int>>)
        return kettle::mlfq_settings{.base_quantum = 3};
    else
        return kettle::round_robin_settings{.quantum = 3};
}

// Fills `q` to its bound with 1, 2, ... (the lock-free forms round the bound
// up); returns how many it took.
template <class Q>
int fill(Q& q) {
    int n = 0;
    for (int v = 1; q.try_push(int{v}); ++v)
        ++n;
    REQUIRE(n >= 1);
    return n;
}

// Pops everything; returns the last value.
template <class Q>
int drain_last(Q& q) {
    int last = -1;
    while (auto d = q.try_pop())
        last = d->entry.value;
    return last;
}
} // namespace

TEMPLATE_TEST_CASE("run_queue: every locking policy keeps FIFO order", "[sched][run_queue]",
                   kettle::single_thread, kettle::mutex, kettle::spin) {
    kettle::run_queue<kettle::fcfs<int>, TestType> q;
    REQUIRE(q.capacity() == 0);
    for (int i = 0; i < 100; ++i)
        q.push(i);
    REQUIRE(q.size() == 100);
    for (int i = 0; i < 100; ++i)
        REQUIRE(popped_value(q) == i);
    REQUIRE(q.empty());
}

TEST_CASE("run_queue: a zero bound is rejected", "[sched][run_queue]") {
    using Q = kettle::run_queue<kettle::fcfs<int>, kettle::mutex>;
    REQUIRE_THROWS_AS(Q(kettle::bounded{0}), std::invalid_argument);
}

TEST_CASE("run_queue: a full single_thread queue says so and keeps the task", "[sched][run_queue]") {
    counted::reset();
    {
        kettle::run_queue<kettle::fcfs<counted>> q(kettle::bounded{2});
        REQUIRE(q.capacity() == 2);
        REQUIRE(q.try_push(counted(1)));
        q.push(counted(2));
        counted third(3);
        REQUIRE_FALSE(q.try_push(std::move(third)));
        REQUIRE(third.value() == 3); // untouched
        REQUIRE_THROWS_AS(q.push(counted(4)), std::length_error);
        REQUIRE(q.size() == 2);
        REQUIRE(q.try_pop()->entry.value.value() == 1);
        REQUIRE(q.try_push(std::move(third)));
    }
    REQUIRE(counted::live() == 0);
}

TEMPLATE_TEST_CASE("run_queue: a full bounded queue reports it in every mode", "[sched][run_queue]",
                   fcfs_mutex, fcfs_spin, fcfs_lock_free, mlfq_mutex, mlfq_lock_free) {
    using Q = TestType;
    Q q(kettle::bounded{1});
    const int held = fill(q);
    constexpr int late = 1000;

    SECTION("sync non-blocking: false, the entry untouched") {
        auto e = entry<Q>(late);
        REQUIRE_FALSE(q.push(kettle::sync_nonblocking, std::move(e), cause::created));
        REQUIRE(e.value == late);
        REQUIRE(q.size() == static_cast<std::size_t>(held));
    }
    SECTION("sync blocking: waits until a pop makes room") {
        std::atomic<bool> pushed{false};
        std::thread producer([&] {
            q.push(kettle::sync_blocking, entry<Q>(late), cause::created);
            pushed = true;
        });
        std::this_thread::sleep_for(20ms);
        REQUIRE_FALSE(pushed.load());
        REQUIRE(popped_value(q) == 1);
        producer.join();
        REQUIRE(pushed.load());
        REQUIRE(drain_last(q) == late);
    }
    SECTION("async blocking: the future is ready once there is room") {
        manual_executor ex;
        auto f = q.push(kettle::async_blocking, entry<Q>(late), cause::created, ex);
        ex.drain();
        REQUIRE_FALSE(f.ready());
        REQUIRE(popped_value(q) == 1);
        ex.drain();
        REQUIRE(f.ready());
        f.get();
        REQUIRE(drain_last(q) == late);
    }
    SECTION("async non-blocking: the callback runs once there is room") {
        manual_executor ex;
        bool pushed = false;
        q.push(kettle::async_nonblocking, entry<Q>(late), cause::created, ex, [&] { pushed = true; });
        ex.drain();
        REQUIRE_FALSE(pushed);
        REQUIRE(popped_value(q) == 1);
        ex.drain();
        REQUIRE(pushed);
        REQUIRE(drain_last(q) == late);
    }
    SECTION("co_await: resumes once there is room") {
        manual_executor ex;
        bool pushed = false;
        auto producer = [&]() -> kettle::task<void> {
            co_await q.push(ex, entry<Q>(late), cause::created);
            pushed = true;
        };
        std::atomic<bool> done{false};
        std::atomic<bool> popped{false};
        std::thread driver([&] { ex.run_until(done); });
        std::thread consumer([&] {
            std::this_thread::sleep_for(10ms);
            popped = q.pop().has_value();
        });
        kettle::sync_wait(producer());
        done = true;
        driver.join();
        consumer.join();
        REQUIRE(popped.load());
        REQUIRE(pushed);
        REQUIRE(drain_last(q) == late);
    }
}

TEMPLATE_TEST_CASE("run_queue: pop waits in the four modes", "[sched][run_queue]", rr_mutex, rr_spin,
                   rr_lock_free, mlfq_mutex, mlfq_lock_free) {
    using Q = TestType;
    Q q(quantum_3<Q>());

    SECTION("sync non-blocking: empty now") {
        REQUIRE_FALSE(q.try_pop().has_value());
        auto a = q.pop(kettle::sync_nonblocking);
        REQUIRE_FALSE(a.has_value()); // not completed
        q.push(5);
        a = q.pop(kettle::sync_nonblocking);
        REQUIRE(a.has_value());
        REQUIRE((*a)->entry.value == 5);
        REQUIRE((*a)->quantum == 3);
    }
    SECTION("sync blocking: sleeps until another thread pushes") {
        std::thread producer([&] {
            std::this_thread::sleep_for(10ms);
            q.push(6);
        });
        auto d = q.pop();
        producer.join();
        REQUIRE(d.has_value());
        REQUIRE(d->entry.value == 6);
    }
    SECTION("pop_for: times out, then succeeds") {
        REQUIRE_FALSE(q.pop_for(5ms).has_value());
        q.push(7);
        auto d = q.pop_for(1s);
        REQUIRE(d.has_value());
        REQUIRE((*d)->entry.value == 7);
    }
    SECTION("async blocking: a future fulfilled on the executor") {
        manual_executor ex;
        auto f = q.pop(kettle::async_blocking, ex);
        ex.drain();
        REQUIRE_FALSE(f.ready());
        q.push(8);
        ex.drain();
        REQUIRE(f.ready());
        auto d = f.get();
        REQUIRE(d->entry.value == 8);
    }
    SECTION("async non-blocking: a callback on the executor") {
        manual_executor ex;
        std::vector<int> got;
        q.pop(kettle::async_nonblocking, ex,
              [&](std::optional<typename Q::dispatch_type> d) { got.push_back(d->entry.value); });
        ex.drain();
        REQUIRE(got.empty());
        q.push(9);
        ex.drain();
        REQUIRE(got == std::vector<int>{9});
    }
    SECTION("co_await on the executor") {
        manual_executor ex;
        auto consumer = [&]() -> kettle::task<int> {
            auto a = co_await q.pop(ex);
            auto b = co_await q.pop(ex);
            co_return a->entry.value + b->entry.value;
        };
        std::atomic<bool> done{false};
        std::thread driver([&] {
            q.push(1);
            q.push(2);
            ex.run_until(done);
        });
        REQUIRE(kettle::sync_wait(consumer()) == 3);
        done = true;
        driver.join();
    }
    SECTION("a dropped future cancels its pop and loses nothing") {
        manual_executor ex;
        {
            auto f = q.pop(kettle::async_blocking, ex);
            ex.drain();
        }
        ex.drain();
        q.push(10);
        ex.drain();
        REQUIRE(popped_value(q) == 10);
    }
}

TEMPLATE_TEST_CASE("run_queue: close drains, then ends every wait", "[sched][run_queue]", fcfs_mutex,
                   fcfs_spin, fcfs_lock_free, mlfq_mutex, mlfq_lock_free) {
    using Q = TestType;
    Q q;
    q.push(1);
    q.close();
    REQUIRE(q.closed());
    REQUIRE_FALSE(q.try_push(2));
    REQUIRE_THROWS_AS(q.push(3), std::logic_error);
    auto first = q.pop();
    REQUIRE(first.has_value());
    REQUIRE(first->entry.value == 1);
    REQUIRE_FALSE(q.pop().has_value()); // closed and drained: returns at once

    Q open;
    std::thread closer([&] {
        std::this_thread::sleep_for(10ms);
        open.close();
    });
    REQUIRE_FALSE(open.pop().has_value()); // woken by close()
    closer.join();

    manual_executor ex;
    Q async_q;
    bool ended = false;
    async_q.pop(kettle::async_nonblocking, ex, [&](std::optional<typename Q::dispatch_type> d) {
        ended = !d.has_value();
    });
    ex.drain();
    REQUIRE_FALSE(ended);
    async_q.close();
    ex.drain();
    REQUIRE(ended);
}
