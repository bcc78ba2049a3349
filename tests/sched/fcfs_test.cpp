// SPDX-License-Identifier: MIT
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <string>

using kettle::cause;

static_assert(kettle::scheduling_policy<kettle::fcfs<std::string>>);
static_assert(kettle::scheduling_policy<kettle::fcfs<kettle::sim_task>>);

TEST_CASE("fcfs: FIFO order whatever the cause, no quantum, no preemption", "[sched][fcfs]") {
    kettle::fcfs<int> p;
    using entry = kettle::fcfs<int>::entry_type;
    REQUIRE(p.empty());
    REQUIRE_FALSE(p.pop().has_value());
    p.push(entry(1), cause::created);
    p.push(entry(2), cause::woken);
    p.push(entry(3), cause::preempted);
    REQUIRE(p.size() == 3);
    REQUIRE_FALSE(p.preempts(entry(0)));
    for (int want : {1, 2, 3}) {
        auto d = p.pop();
        REQUIRE(d.has_value());
        REQUIRE(d->entry.value == want);
        REQUIRE_FALSE(d->quantum.has_value());
    }
    REQUIRE(p.empty());
}

// OSTEP ch. 7, "First In, First Out": three 10-tick jobs, then 100,10,10.
TEST_CASE("fcfs: OSTEP figures 7.1 and 7.2", "[sched][fcfs][ostep]") {
    const auto a = kettle::simulate({{0, 10}, {0, 10}, {0, 10}}, kettle::fcfs<kettle::sim_task>());
    REQUIRE(a.average_turnaround() == Catch::Approx(20));
    REQUIRE(a.average_response() == Catch::Approx(10));
    const auto b = kettle::simulate({{0, 100}, {0, 10}, {0, 10}}, kettle::fcfs<kettle::sim_task>());
    REQUIRE(b.average_turnaround() == Catch::Approx(110));
    REQUIRE(b.jobs[2].completion == 120);
}
