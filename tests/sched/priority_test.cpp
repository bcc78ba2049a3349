// SPDX-License-Identifier: MIT
#include <kettle/sched/priority.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <limits>
#include <stdexcept>
#include <vector>

using kettle::cause;
using task = kettle::sim_task;

TEST_CASE("priority: smallest number first, ties in arrival order", "[sched][priority]") {
    kettle::priority<int> p;
    using entry = kettle::priority<int>::entry_type;
    for (int v : {3, 1, 2, 1})
        p.push(entry(v), cause::created);
    REQUIRE(p.preempts(entry(2)));
    REQUIRE_FALSE(p.preempts(entry(1)));
    std::vector<int> order;
    while (auto d = p.pop())
        order.push_back(d->entry.value);
    REQUIRE(order == std::vector<int>{1, 1, 2, 3});
    REQUIRE_THROWS_AS(kettle::priority<int>({.aging_interval = -1}), std::invalid_argument);
}

TEST_CASE("priority: preemptive and non-preemptive", "[sched][priority]") {
    std::vector<kettle::sim_job> jobs{{0, 10}, {2, 3}};
    jobs[0].priority = 5;
    jobs[1].priority = 1;
    const auto pre = kettle::simulate(jobs, kettle::priority<task>());
    REQUIRE(pre.jobs[1].completion == 5);
    const auto non = kettle::simulate(jobs, kettle::priority<task>({.preemptive = false}));
    REQUIRE(non.jobs[1].completion == 13);
}

TEST_CASE("priority: aging ends starvation", "[sched][priority][reliability]") {
    // A low-priority job L and a stream of urgent 5-tick jobs until 500.
    std::vector<kettle::sim_job> jobs{{0, 10}};
    jobs[0].priority = 10;
    for (kettle::tick_count t = 0; t < 500; t += 5) {
        jobs.push_back({t, 5});
        jobs.back().priority = 0;
    }
    const auto starved = kettle::simulate(jobs, kettle::priority<task>());
    REQUIRE(starved.jobs[0].first_run == 500);
    // Aging one level per 4 ticks: after 40 ticks of waiting L ranks 0 and,
    // having waited longest, wins. Running, it ranks 10 again and the next
    // arrival preempts it, so it keeps coming back a tick at a time.
    const auto aged = kettle::simulate(jobs, kettle::priority<task>({.aging_interval = 4}));
    REQUIRE(aged.jobs[0].first_run <= 45);
    REQUIRE(aged.jobs[0].completion < 500);
}

TEST_CASE("priority: with aging, equals take turns of one aging interval", "[sched][priority]") {
    // A waiter must be a whole level more urgent to preempt: two equal jobs
    // hand the CPU over every 4 ticks, not at every tick.
    const std::vector<kettle::sim_job> jobs{{0, 10}, {0, 10}};
    const auto r = kettle::simulate(jobs, kettle::priority<task>({.aging_interval = 4}));
    REQUIRE(r.timeline == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1});
    REQUIRE(r.switches == 5);

    // With a switch cost the turns stay whole and the run ends (a waiter that
    // preempted whenever it had waited a tick once switched forever here).
    const auto costly = kettle::simulate(jobs, kettle::priority<task>({.aging_interval = 4}),
                                         {.switch_cost = 1, .max_ticks = 1000});
    REQUIRE(costly.jobs[0].completion + costly.jobs[1].completion < 60);
    REQUIRE(costly.switch_ticks == static_cast<kettle::tick_count>(costly.switches));
}

TEST_CASE("priority: an aging interval no longer than a switch still makes progress", "[sched][priority]") {
    // Each dispatch runs a tick before it can be preempted.
    const std::vector<kettle::sim_job> jobs{{0, 10}, {0, 10}};
    const auto r = kettle::simulate(jobs, kettle::priority<task>({.aging_interval = 1}),
                                    {.switch_cost = 2, .max_ticks = 1000});
    REQUIRE(r.jobs[0].completion > 0);
    REQUIRE(r.jobs[1].completion > 0);
    REQUIRE(static_cast<kettle::tick_count>(r.timeline.size()) == 20 + r.switch_ticks);
}

TEST_CASE("priority: extreme priorities with aging saturate instead of overflowing", "[sched][priority]") {
    using entry = kettle::priority<int>::entry_type;
    kettle::priority<int> p({.aging_interval = kettle::tick_count{1} << 40});
    p.push(entry(std::numeric_limits<int>::min()), cause::created);
    REQUIRE(p.preempts(entry(std::numeric_limits<int>::max())));
    REQUIRE_FALSE(p.preempts(entry(std::numeric_limits<int>::min())));
    p.push(entry(std::numeric_limits<int>::max()), cause::created);
    REQUIRE(p.pop()->entry.value == std::numeric_limits<int>::min());
    REQUIRE(p.pop()->entry.value == std::numeric_limits<int>::max());
}
