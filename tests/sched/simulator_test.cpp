// SPDX-License-Identifier: MIT
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <stdexcept>
#include <string>
#include <vector>

using task = kettle::sim_task;

TEST_CASE("simulator: idle time, and response measured from arrival", "[sched][simulator]") {
    const auto r = kettle::simulate({{5, 3}, {20, 2}}, kettle::fcfs<task>());
    REQUIRE(r.makespan() == 22);
    REQUIRE(r.timeline[0] == kettle::sim_report::idle);
    REQUIRE(r.jobs[0].response() == 0);
    REQUIRE(r.jobs[0].completion == 8);
    REQUIRE(r.jobs[1].first_run == 20);
    REQUIRE(r.switches == 1); // a different job after idle is a switch
}

TEST_CASE("simulator: I/O blocks the job and frees the CPU", "[sched][simulator]") {
    // A: 4 ticks, I/O of 3 after every 2; B: 3 ticks of CPU.
    std::vector<kettle::sim_job> jobs{{0, 4, {2, 3}}, {0, 3}};
    const auto r = kettle::simulate(jobs, kettle::fcfs<task>());
    // A A B B B A A: A blocks at 2, wakes at 5 behind nothing (B runs to 5).
    REQUIRE(r.timeline == std::vector<int>{0, 0, 1, 1, 1, 0, 0});
    REQUIRE(r.jobs[0].io_time == 3);
    REQUIRE(r.jobs[0].io_periods.size() == 1); // no I/O in the tick the burst completes
    REQUIRE(r.jobs[0].waiting() == 0);
    REQUIRE(r.jobs[1].waiting() == 2);
}

TEST_CASE("simulator: a slice that ends as a job arrives re-queues first", "[sched][simulator]") {
    // A's slice ends at 2, when B arrives: A is queued before B.
    const auto r = kettle::simulate({{0, 4}, {2, 2}}, kettle::round_robin<task>({.quantum = 2}));
    REQUIRE(r.timeline == std::vector<int>{0, 0, 0, 0, 1, 1});
}

TEST_CASE("simulator: rejects bad workloads", "[sched][simulator]") {
    REQUIRE_THROWS_AS(kettle::simulate({{0, 0}}, kettle::fcfs<task>()), std::invalid_argument);
    REQUIRE_THROWS_AS(kettle::simulate({{-1, 3}}, kettle::fcfs<task>()), std::invalid_argument);
    REQUIRE_THROWS_AS(kettle::simulate({{0, 3}}, kettle::fcfs<task>(), {.switch_cost = -1}),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(kettle::simulate({{0, 30}}, kettle::fcfs<task>(), {.max_ticks = 10}),
                      std::runtime_error);
    REQUIRE(kettle::simulate(std::vector<kettle::sim_job>{}, kettle::fcfs<task>()).makespan() == 0);
    // A job that cannot finish in max_ticks is refused before the run, not
    // after ticking through the idle time up to its arrival.
    std::string message;
    try {
        static_cast<void>(kettle::simulate({{1'000'000'000'000, 5}}, kettle::fcfs<task>()));
    } catch (const std::runtime_error& e) {
        message = e.what();
    }
    REQUIRE(message.find("cannot finish") != std::string::npos);
    REQUIRE(kettle::simulate({{5, 5}}, kettle::fcfs<task>(), {.max_ticks = 10}).jobs[0].completion == 10);
}
