// SPDX-License-Identifier: MIT
// Expected values are the output of the published cpu-sched-mlfq/mlfq.py -c
// for the same options (shown beside each case).
#include <kettle/sched/ostep_mlfq_py.hpp>

#include "../support/catch.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace ostep = kettle::ostep;
using pair = std::pair<kettle::tick_count, kettle::tick_count>;

namespace {
// (response, turnaround) of each job, in job order
std::vector<pair> results(const kettle::sim_report& r) {
    std::vector<pair> out;
    for (const auto& j : r.jobs)
        out.emplace_back(j.response(), j.turnaround());
    return out;
}
} // namespace

// -l 0,180,0:100,20,0
TEST_CASE("mlfq.py: figure 8.3, a short job arrives", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.jlist = {{0, 180, 0}, {100, 20, 0}};
    REQUIRE(results(ostep::run_mlfq_py(o)) == std::vector<pair>{{0, 200}, {0, 20}});
}

// -l 0,180,0:100,20,0 -B 50. mlfq.py's boost sets every job's remaining
// ticks to the top level's *allotment* (1 slice) rather than its quantum
// (10 ticks): after a boost each job runs one tick at the top, then drops a
// level. So B first runs at 101, not 110 as with a 10-tick slice (kettle's
// mlfq, and the book's figure): response 1, turnaround 41 instead of 10, 40.
TEST_CASE("mlfq.py: its boost gives one tick at the top", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.jlist = {{0, 180, 0}, {100, 20, 0}};
    o.boost = 50;
    REQUIRE(results(ostep::run_mlfq_py(o)) == std::vector<pair>{{0, 200}, {1, 41}});
}

// -l 0,200,0:100,50,9 (I/O of 5 ticks), with and without -S
TEST_CASE("mlfq.py: figure 8.4, gaming", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.jlist = {{0, 200, 0}, {100, 50, 9}};
    REQUIRE(results(ostep::run_mlfq_py(o)) == std::vector<pair>{{0, 250}, {0, 120}});
    o.stay = true;
    REQUIRE(results(ostep::run_mlfq_py(o)) == std::vector<pair>{{0, 250}, {0, 75}});
}

// -Q 10,20,40 -l 0,200,0:0,200,0
TEST_CASE("mlfq.py: figure 8.6, per-level quanta", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.quantum_list = {10, 20, 40};
    o.jlist = {{0, 200, 0}, {0, 200, 0}};
    const auto r = ostep::run_mlfq_py(o);
    REQUIRE(results(r) == std::vector<pair>{{0, 390}, {10, 400}});
    REQUIRE(r.average_response() == Catch::Approx(5));
    REQUIRE(r.average_turnaround() == Catch::Approx(395));
}

// -s 7 -j 4 -B 30 -I: random jobs, boost, I/O bump, idle ticks
TEST_CASE("mlfq.py: random jobs from a seed", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.seed = 7;
    o.num_jobs = 4;
    o.boost = 30;
    o.iobump = true;
    const auto r = ostep::run_mlfq_py(o);
    REQUIRE(results(r) == std::vector<pair>{{0, 128}, {2, 387}, {3, 149}, {10, 34}});
    REQUIRE(r.timeline[34] == kettle::sim_report::idle);
}

TEST_CASE("mlfq.py: options it rejects or aborts on", "[sched][ostep][mlfq]") {
    ostep::mlfq_py_options o;
    o.allotment_list = {1, 1};
    REQUIRE_THROWS_AS(ostep::run_mlfq_py(o), std::invalid_argument);
    o.allotment_list = {};
    o.jlist = {{0, 0, 0}};
    REQUIRE_THROWS_AS(ostep::run_mlfq_py(o), std::invalid_argument);
    // More queues than any homework: refused at once, not after exhausting memory.
    ostep::mlfq_py_options many;
    many.num_queues = 1'215'752'191;
    REQUIRE_THROWS_AS(ostep::run_mlfq_py(many), std::invalid_argument);
    many.num_queues = static_cast<int>(ostep::mlfq_py_max_queues);
    many.jlist = {{0, 5, 0}};
    REQUIRE(ostep::run_mlfq_py(many).jobs[0].completion == 5);
    // A trace longer than max_ticks is refused, at once if a job starts too late.
    ostep::mlfq_py_options late;
    late.jlist = {{99'999'999'999, 5, 0}};
    REQUIRE_THROWS_AS(ostep::run_mlfq_py(late), std::runtime_error);
    late.jlist = {{0, 50, 0}, {0, 50, 0}};
    late.max_ticks = 60;
    REQUIRE_THROWS_AS(ostep::run_mlfq_py(late), std::runtime_error);
    late.max_ticks = 100;
    REQUIRE(ostep::run_mlfq_py(late).makespan() == 100);
}
