// SPDX-License-Identifier: MIT
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <stdexcept>

using kettle::cause;

TEST_CASE("round_robin: FIFO with the configured quantum", "[sched][rr]") {
    REQUIRE_THROWS_AS(kettle::round_robin<int>({.quantum = 0}), std::invalid_argument);
    kettle::round_robin<int> p({.quantum = 4});
    using entry = kettle::round_robin<int>::entry_type;
    p.push(entry(1), cause::created);
    p.push(entry(2), cause::created);
    auto d = p.pop();
    REQUIRE(d->entry.value == 1);
    REQUIRE(d->quantum == 4);
    p.push(std::move(d->entry), cause::preempted); // slice over: to the tail
    REQUIRE(p.pop()->entry.value == 2);
    REQUIRE(p.pop()->entry.value == 1);
    REQUIRE_FALSE(p.pop().has_value());
}

// OSTEP ch. 7, figure 7.6: three 5-tick jobs, quantum 1.
TEST_CASE("round_robin: OSTEP figure 7.6", "[sched][rr][ostep]") {
    const auto r = kettle::simulate({{0, 5}, {0, 5}, {0, 5}},
                                    kettle::round_robin<kettle::sim_task>({.quantum = 1}));
    REQUIRE(r.average_response() == Catch::Approx(1));
    REQUIRE(r.average_turnaround() == Catch::Approx(14));
    REQUIRE(r.jobs[0].completion == 13);
    REQUIRE(r.jobs[2].completion == 15);
    REQUIRE(r.switches == 14); // every tick but the last changes job
}

TEST_CASE("round_robin: switch cost is charged per change of job", "[sched][rr]") {
    const auto r = kettle::simulate({{0, 2}, {0, 2}},
                                    kettle::round_robin<kettle::sim_task>({.quantum = 1}),
                                    {.switch_cost = 1});
    // A * B * A * B : 4 work ticks, 3 switches of 1 tick
    REQUIRE(r.makespan() == 7);
    REQUIRE(r.switches == 3);
    REQUIRE(r.switch_ticks == 3);
    REQUIRE(r.switch_share() == Catch::Approx(3.0 / 7.0));
    REQUIRE(r.jobs[1].response() == 2); // starts after the switch
    REQUIRE(r.jobs[0].waiting() == 3);
}
