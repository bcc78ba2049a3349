// SPDX-License-Identifier: MIT
// Expected values are the output of the published cpu-sched/scheduler.py -c
// for the same options.
#include <kettle/sched/ostep_scheduler_py.hpp>

#include "../support/catch.hpp"

#include <stdexcept>
#include <tuple>
#include <vector>

namespace ostep = kettle::ostep;
using triple = std::tuple<kettle::tick_count, kettle::tick_count, kettle::tick_count>;

namespace {
// (response, turnaround, wait) of each job, in job order
std::vector<triple> results(const kettle::sim_report& r) {
    std::vector<triple> out;
    for (const auto& j : r.jobs)
        out.emplace_back(j.response(), j.turnaround(), j.waiting());
    return out;
}
} // namespace

TEST_CASE("scheduler.py: the chapter 7 figures", "[sched][ostep]") {
    ostep::scheduler_py_options o;
    o.jlist = {100, 10, 10};
    REQUIRE(ostep::run_scheduler_py(o).average_turnaround() == Catch::Approx(110));
    o.policy = ostep::scheduler_py_policy::sjf;
    REQUIRE(ostep::run_scheduler_py(o).average_turnaround() == Catch::Approx(50));
    o.policy = ostep::scheduler_py_policy::rr;
    o.jlist = {5, 5, 5};
    const auto rr = ostep::run_scheduler_py(o);
    REQUIRE(rr.average_response() == Catch::Approx(1));
    REQUIRE(rr.average_turnaround() == Catch::Approx(14));
}

TEST_CASE("scheduler.py: SJF sorts stably by length", "[sched][ostep]") {
    ostep::scheduler_py_options o;
    o.policy = ostep::scheduler_py_policy::sjf;
    o.jlist = {20, 10, 10, 5};
    REQUIRE(results(ostep::run_scheduler_py(o)) ==
            std::vector<triple>{{25, 45, 25}, {5, 15, 5}, {15, 25, 15}, {0, 5, 0}});
}

TEST_CASE("scheduler.py: random jobs from a seed (-s 3 -j 5)", "[sched][ostep]") {
    ostep::scheduler_py_options o;
    o.seed = 3;
    o.jobs = 5;
    REQUIRE(ostep::scheduler_py_jobs(o) == std::vector<kettle::tick_count>{3, 6, 4, 7, 7});
    o.policy = ostep::scheduler_py_policy::rr;
    o.quantum = 2;
    REQUIRE(results(ostep::run_scheduler_py(o)) ==
            std::vector<triple>{{0, 11, 8}, {2, 21, 15}, {4, 15, 11}, {6, 26, 19}, {8, 27, 20}});
    o.policy = ostep::scheduler_py_policy::sjf;
    REQUIRE(results(ostep::run_scheduler_py(o)) ==
            std::vector<triple>{{0, 3, 0}, {7, 13, 7}, {3, 7, 3}, {13, 20, 13}, {20, 27, 20}});
}

TEST_CASE("scheduler.py: options it cannot finish with are rejected", "[sched][ostep]") {
    ostep::scheduler_py_options o;
    o.quantum = 0;
    REQUIRE_THROWS_AS(ostep::run_scheduler_py(o), std::invalid_argument);
    // A trace longer than max_ticks is refused before it is built.
    ostep::scheduler_py_options longer;
    longer.jlist = {99'999'999'999};
    REQUIRE_THROWS_AS(ostep::run_scheduler_py(longer), std::runtime_error);
    longer.jlist = {30, 30};
    longer.max_ticks = 59;
    REQUIRE_THROWS_AS(ostep::run_scheduler_py(longer), std::runtime_error);
    longer.max_ticks = 60;
    REQUIRE(ostep::run_scheduler_py(longer).makespan() == 60);
}
