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
