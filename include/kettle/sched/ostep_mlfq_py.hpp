// SPDX-License-Identifier: MIT
#pragma once

/// OSTEP compatibility: `kettle::ostep::run_mlfq_py` reproduces the homework
/// simulator `cpu-sched-mlfq/mlfq.py` published with *Operating Systems:
/// Three Easy Pieces*, job for job and tick for tick - including its I/O,
/// allotment, boost and tie-breaking rules and their quirks (docs/sched.md).

#include <kettle/sched/detail/python_random.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sim_report.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kettle::ostep {

/// One job of mlfq.py's `-l x1,y1,z1:x2,y2,z2:...`.
struct mlfq_py_job {
    tick_count start = 0;   // x: arrival, >= 0
    tick_count run = 0;     // y: CPU time, > 0
    tick_count io_freq = 0; // z: an I/O after every z ticks of CPU (<= 0: never)
};

/// The most queues `run_mlfq_py` takes. mlfq.py sets no limit, but scans
/// every queue at every tick: a million queues is no homework, and is refused
/// with a clear error rather than running out of memory.
inline constexpr std::size_t mlfq_py_max_queues = 4096;

/// mlfq.py's options, with its defaults. Levels are numbered as in mlfq.py:
/// the highest priority is `levels - 1`.
struct mlfq_py_options {
    std::int64_t seed = 0;                 // -s
    int num_queues = 3;                    // -n (when quantum_list is empty), 1 to mlfq_py_max_queues
    tick_count quantum = 10;               // -q (when quantum_list is empty)
    tick_count allotment = 1;              // -a, in quanta (when allotment_list is empty)
    std::vector<tick_count> quantum_list{};   // -Q, highest priority first
    std::vector<tick_count> allotment_list{}; // -A, highest first; one per queue
    int num_jobs = 3;                      // -j (random workloads)
    tick_count maxlen = 100;               // -m (random workloads)
    tick_count maxio = 10;                 // -M (random workloads)
    tick_count boost = 0;                  // -B, 0: never
    tick_count io_time = 5;                // -i, >= 0
    bool stay = false;                     // -S: I/O resets ticks and allotment
    bool iobump = false;                   // -I: a finished I/O goes to the front
    /// -l. Empty: `num_jobs` random jobs drawn as mlfq.py draws them.
    std::vector<mlfq_py_job> jlist{};
    /// Not mlfq.py's: a guard on the length of the trace kept (one entry per
    /// tick). A run that would go past it is refused with std::runtime_error
    /// (at once when a job cannot even start and run by then). > 0.
    tick_count max_ticks = sim_default_max_ticks;
};

/// The jobs mlfq.py would simulate for `o`.
inline std::vector<mlfq_py_job> mlfq_py_jobs(const mlfq_py_options& o) {
    if (!o.jlist.empty())
        return o.jlist;
    detail::python_random random(o.seed);
    std::vector<mlfq_py_job> jobs;
    for (int i = 0; i < o.num_jobs; ++i) {
        mlfq_py_job j;
        j.run = static_cast<tick_count>(random.random() * static_cast<double>(o.maxlen - 1) + 1);
        j.io_freq =
            static_cast<tick_count>(random.random() * static_cast<double>(o.maxio - 1) + 1);
        jobs.push_back(j);
    }
    return jobs;
}

/// What mlfq.py -c computes, as a report: per job (in job order) response
/// and turnaround equal mlfq.py's; the timeline is its execution trace
/// (`idle` where it prints IDLE). mlfq.py reports no waiting time; `waiting()`
/// is kettle's (turnaround - run time - time in I/O). Throws
/// std::invalid_argument on options mlfq.py rejects, aborts on or never
/// finishes with, and std::runtime_error past `max_ticks`. Thread-safe;
/// never blocks.
inline sim_report run_mlfq_py(const mlfq_py_options& o) {
    // MLFQ: how many queues, their quanta and allotments (index numQueues-1 is the top)
    std::size_t num_queues = o.quantum_list.empty() ? static_cast<std::size_t>(
                                                          o.num_queues < 1 ? 0 : o.num_queues)
                                                    : o.quantum_list.size();
    if (num_queues == 0)
        throw std::invalid_argument("kettle::ostep: mlfq.py needs at least one queue");
    if (num_queues > mlfq_py_max_queues)
        throw std::invalid_argument("kettle::ostep: at most " + std::to_string(mlfq_py_max_queues) +
                                    " queues (mlfq_py_max_queues)");
    std::vector<tick_count> quantum(num_queues, o.quantum), allotment(num_queues, o.allotment);
    for (std::size_t i = 0; i < o.quantum_list.size(); ++i)
        quantum[num_queues - 1 - i] = o.quantum_list[i];
    if (!o.allotment_list.empty()) {
        if (o.allotment_list.size() != num_queues)
            throw std::invalid_argument(
                "kettle::ostep: number of allotments specified must match number of quantums");
        for (std::size_t i = 0; i < num_queues; ++i) {
            const std::size_t qc = num_queues - 1 - i;
            allotment[qc] = o.allotment_list[i];
            if (qc != 0 && allotment[qc] <= 0)
                throw std::invalid_argument("kettle::ostep: allotment must be positive integer");
        }
    }
    if (o.io_time < 0)
        throw std::invalid_argument("kettle::ostep: io_time must not be negative");
    const std::size_t hi = num_queues - 1;

    struct job_state {
        std::size_t curr_pri;
        tick_count ticks_left, allot_left, start, run, time_left, io_freq;
        bool doing_io = false;
    };
    const std::vector<mlfq_py_job> jobs = mlfq_py_jobs(o);
    std::vector<job_state> job;
    // ioDone: time -> (job, is "JOB BEGINS") in insertion order
    std::map<tick_count, std::vector<std::pair<std::size_t, bool>>> io_done;
    sim_report r;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const mlfq_py_job& j = jobs[i];
        if (j.start < 0 || j.run <= 0)
            throw std::invalid_argument("kettle::ostep: mlfq.py jobs need start >= 0, run > 0");
        if (j.start > o.max_ticks - j.run)
            throw std::runtime_error("kettle::ostep: the workload cannot finish in max_ticks");
        job.push_back({hi, quantum[hi], allotment[hi], j.start, j.run, j.run, j.io_freq});
        io_done[j.start].emplace_back(i, true);
        r.jobs.push_back({std::string{}, j.start, j.run});
    }

    std::vector<std::deque<std::size_t>> queue(num_queues);
    auto find_queue = [&]() -> std::ptrdiff_t {
        for (std::size_t q = num_queues; q-- > 0;)
            if (!queue[q].empty())
                return static_cast<std::ptrdiff_t>(q);
        return -1;
    };
    std::optional<std::size_t> last;
    std::size_t finished = 0;
    tick_count now = 0;
    while (finished < job.size()) {
        if (now >= o.max_ticks)
            throw std::runtime_error("kettle::ostep: the workload did not finish in max_ticks");
        // Rule 5: the boost, before anything else at this tick
        if (o.boost > 0 && now != 0 && now % o.boost == 0) {
            for (std::size_t q = 0; q + 1 < num_queues; ++q) {
                for (std::size_t j : queue[q])
                    if (!job[j].doing_io)
                        queue[hi].push_back(j);
                queue[q].clear();
            }
            for (job_state& j : job)
                if (j.time_left > 0) {
                    j.curr_pri = hi;
                    j.ticks_left = allotment[hi]; // sic: mlfq.py resets ticks to the allotment
                }
        }
        // arrivals and I/O completions, in the order they were recorded
        if (auto it = io_done.find(now); it != io_done.end()) {
            for (auto [j, begins] : it->second) {
                job[j].doing_io = false;
                auto& q = queue[job[j].curr_pri];
                if (!o.iobump || begins)
                    q.push_back(j);
                else
                    q.push_front(j);
            }
        }
        const std::ptrdiff_t found = find_queue();
        if (found < 0) {
            r.timeline.push_back(sim_report::idle);
            ++now;
            continue;
        }
        const auto cq = static_cast<std::size_t>(found);
        const std::size_t cj = queue[cq].front();
        job_state& j = job[cj];
        --j.time_left;
        --j.ticks_left;
        if (r.jobs[cj].first_run < 0)
            r.jobs[cj].first_run = now;
        if (last && *last != cj)
            ++r.switches;
        last = cj;
        r.timeline.push_back(static_cast<int>(cj));
        const tick_count ticks_left = j.ticks_left;
        ++now;

        if (j.time_left == 0) {
            r.jobs[cj].completion = now;
            ++finished;
            queue[cq].pop_front();
            continue;
        }
        bool issued_io = false;
        if (j.io_freq > 0 && (j.run - j.time_left) % j.io_freq == 0) {
            issued_io = true;
            queue[cq].pop_front();
            j.doing_io = true;
            if (o.stay) {
                j.ticks_left = quantum[cq];
                j.allot_left = allotment[cq];
            }
            io_done[now + o.io_time].emplace_back(cj, false);
            r.jobs[cj].io_periods.emplace_back(now, now + o.io_time);
            r.jobs[cj].io_time += o.io_time;
        }
        if (ticks_left == 0) {
            if (!issued_io)
                queue[cq].pop_front();
            if (--j.allot_left == 0) {
                const std::size_t next = cq > 0 ? cq - 1 : cq;
                j.curr_pri = next;
                j.ticks_left = quantum[next];
                j.allot_left = allotment[next];
                if (!issued_io)
                    queue[next].push_back(cj);
            } else {
                j.ticks_left = quantum[cq];
                if (!issued_io)
                    queue[cq].push_back(cj);
            }
        }
    }
    return r;
}

} // namespace kettle::ostep
