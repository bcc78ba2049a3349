// SPDX-License-Identifier: MIT
#pragma once

/// OSTEP compatibility: `kettle::ostep::run_scheduler_py` reproduces the
/// homework simulator `cpu-sched/scheduler.py` published with *Operating
/// Systems: Three Easy Pieces* (FIFO, SJF, RR), job for job.

#include <kettle/sched/detail/python_random.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sim_report.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kettle::ostep {

/// scheduler.py's `-p`.
enum class scheduler_py_policy { fifo, sjf, rr };

/// scheduler.py's options, with its defaults.
struct scheduler_py_options {
    scheduler_py_policy policy = scheduler_py_policy::fifo; // -p
    /// -l: the run time of each job (all arrive at 0). Empty: `jobs` random
    /// jobs of length int(maxlen * random()) + 1, seeded with `seed`, as
    /// Python's `random` would draw them. Lengths must be >= 0 (whole ticks:
    /// scheduler.py also accepts fractions, kettle does not).
    std::vector<tick_count> jlist{};
    int jobs = 3;          // -j, >= 0
    int maxlen = 10;       // -m, >= 0
    std::int64_t seed = 0; // -s
    tick_count quantum = 1; // -q, > 0 (scheduler.py loops forever on 0)
    /// Not scheduler.py's: a guard on the length of the trace kept (one
    /// entry per tick). A workload whose lengths add up to more is refused
    /// with std::runtime_error. > 0.
    tick_count max_ticks = sim_default_max_ticks;
};

/// The job lengths scheduler.py would use for `o` (its "job list").
inline std::vector<tick_count> scheduler_py_jobs(const scheduler_py_options& o) {
    if (!o.jlist.empty())
        return o.jlist;
    if (o.jobs < 0 || o.maxlen < 0)
        throw std::invalid_argument("kettle::ostep: jobs and maxlen must not be negative");
    detail::python_random random(o.seed);
    std::vector<tick_count> lengths;
    for (int i = 0; i < o.jobs; ++i)
        lengths.push_back(static_cast<tick_count>(o.maxlen * random.random()) + 1);
    return lengths;
}

/// What scheduler.py -c computes, as a report: per job (in job order)
/// response, turnaround and wait (`waiting()`) equal scheduler.py's. The
/// timeline is the execution trace; `switches` counts changes of job.
/// Throws std::invalid_argument on options scheduler.py would reject or
/// never finish on, and std::runtime_error when the jobs add up to more
/// than `max_ticks`. Thread-safe; never blocks.
inline sim_report run_scheduler_py(const scheduler_py_options& o) {
    if (o.quantum <= 0)
        throw std::invalid_argument("kettle::ostep: the RR quantum must be positive");
    const std::vector<tick_count> lengths = scheduler_py_jobs(o);
    sim_report r;
    tick_count total = 0;
    for (tick_count len : lengths) {
        if (len < 0)
            throw std::invalid_argument("kettle::ostep: job lengths must not be negative");
        if (len > o.max_ticks - total)
            throw std::runtime_error("kettle::ostep: the jobs add up to more than max_ticks");
        total += len;
        r.jobs.push_back({std::string{}, 0, len});
    }
    std::optional<std::size_t> last;
    auto run = [&](std::size_t job, tick_count from, tick_count len) {
        if (r.jobs[job].first_run < 0)
            r.jobs[job].first_run = from;
        if (len > 0) {
            if (last && *last != job)
                ++r.switches;
            last = job;
        }
        r.timeline.insert(r.timeline.end(), static_cast<std::size_t>(len), static_cast<int>(job));
    };

    std::vector<std::size_t> order(lengths.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (o.policy == scheduler_py_policy::sjf) // sorted(..., key=runtime): stable
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });

    tick_count now = 0;
    if (o.policy != scheduler_py_policy::rr) {
        for (std::size_t job : order) {
            run(job, now, lengths[job]);
            now += lengths[job];
            r.jobs[job].completion = now;
        }
        return r;
    }
    std::deque<std::pair<std::size_t, tick_count>> runlist; // (job, time left)
    for (std::size_t job : order)
        runlist.emplace_back(job, lengths[job]);
    while (!runlist.empty()) {
        auto [job, left] = runlist.front();
        runlist.pop_front();
        if (left > o.quantum) {
            run(job, now, o.quantum);
            now += o.quantum;
            runlist.emplace_back(job, left - o.quantum);
        } else {
            run(job, now, left);
            now += left;
            r.jobs[job].completion = now;
        }
    }
    return r;
}

} // namespace kettle::ostep
