// SPDX-License-Identifier: MIT
#include <kettle/sched/simulator.hpp>
#include <kettle/sched/srtf.hpp>

#include "../support/catch.hpp"

using kettle::cause;

TEST_CASE("srtf: a strictly shorter waiting job preempts; ties do not", "[sched][srtf]") {
    kettle::srtf<int> p;
    using entry = kettle::srtf<int>::entry_type;
    REQUIRE_FALSE(p.preempts(entry(5)));
    p.push(entry(5), cause::created);
    REQUIRE_FALSE(p.preempts(entry(5)));
    REQUIRE(p.preempts(entry(6)));
    REQUIRE(p.pop()->entry.value == 5);
}

// OSTEP ch. 7, figure 7.5 (STCF): A 100 at 0, B and C 10 at 10.
TEST_CASE("srtf: OSTEP figure 7.5", "[sched][srtf][ostep]") {
    const auto r = kettle::simulate({{0, 100}, {10, 10}, {10, 10}}, kettle::srtf<kettle::sim_task>());
    REQUIRE(r.average_turnaround() == Catch::Approx(50));
    REQUIRE(r.jobs[0].completion == 120);
    REQUIRE(r.jobs[1].completion == 20);
    REQUIRE(r.jobs[2].completion == 30);
    REQUIRE(r.switches == 3);
}
