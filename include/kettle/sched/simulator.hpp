// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::simulate`: the discrete-time simulator, the teaching and
/// verification driver of the scheduling policies (DESIGN §2). Its exact
/// tick semantics are documented in docs/sched.md.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/sim_job.hpp>
#include <kettle/sched/sim_report.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace kettle {

namespace detail {
struct sim_progress {
    const sim_job* job;
    std::size_t index;
    tick_count remaining;
};
} // namespace detail

/// The simulator's handle on a job, the `value_type` of the policies it runs
/// (`kettle::mlfq<kettle::sim_task>`). Reports the job's *remaining* CPU time
/// as its `job_length()`, so `sjf` and `srtf` see what the textbook's
/// oracle-scheduler sees. Valid during the `simulate` call only.
class sim_task {
public:
    explicit sim_task(const detail::sim_progress& p) noexcept : m_progress(&p) {}

    /// Position of the job in the workload.
    [[nodiscard]] std::size_t id() const noexcept { return m_progress->index; }
    /// Remaining CPU time, in ticks.
    [[nodiscard]] tick_count job_length() const noexcept { return m_progress->remaining; }
    [[nodiscard]] int priority() const noexcept { return m_progress->job->priority; }
    [[nodiscard]] std::uint32_t weight() const noexcept { return m_progress->job->weight; }
    [[nodiscard]] const sim_job& job() const noexcept { return *m_progress->job; }

private:
    const detail::sim_progress* m_progress;
};

/// Settings of `simulate`.
struct sim_options {
    /// Ticks the CPU spends switching to a job other than the one that last
    /// ran (no job makes progress meanwhile). >= 0.
    tick_count switch_cost = 0;
    /// Give up (std::runtime_error) if the workload is not done by this tick:
    /// a guard against policies that never finish a job. > 0.
    tick_count max_ticks = sim_default_max_ticks;
};

/// Runs `jobs` under `policy` from tick 0 until every job completed.
///
/// Each tick t, in this order:
/// 1. `policy.advance_to(t)`; if a job is running (it has run a tick since
///    its dispatch: not switching, nor just switched in) and
///    `preempts(running)`, it is charged and pushed back (`preempted`);
/// 2. jobs arriving at t are pushed (`created`) in workload order, then jobs
///    whose I/O ends at t (`woken`) in the order their I/O started;
/// 3. the running job is preempted if `preempts(running)` now says so (the
///    same condition);
/// 4. if the CPU is free, `pop()` chooses the next job; dispatching a job
///    other than the one that last ran counts a switch and costs
///    `switch_cost` ticks;
/// 5. tick t executes (a switch tick, a tick of the job, or idle);
/// 6. at t+1 the job completes, or starts an I/O, or (its quantum used up)
///    is charged and pushed back (`preempted`) - before anything arrives at t+1.
///
/// A job switched in runs at least one tick before it can be preempted, as a
/// task does until the next timer interrupt: otherwise a policy whose
/// preemption test turns true while a switch is paid (an aging or boost
/// period no longer than `switch_cost`) would switch forever.
///
/// Throws std::invalid_argument for an invalid workload or options, and
/// std::runtime_error if the policy returns nothing while holding jobs or the
/// workload outlasts `max_ticks`. Single-threaded; never blocks.
template <scheduling_policy Policy>
    requires std::same_as<typename Policy::value_type, sim_task>
sim_report simulate(std::span<const sim_job> jobs, Policy policy, const sim_options& options = {}) {
    using entry_type = typename Policy::entry_type;
    if (options.switch_cost < 0 || options.max_ticks <= 0)
        throw std::invalid_argument("kettle::simulate: switch_cost must be >= 0, max_ticks > 0");
    for (const sim_job& j : jobs) {
        if (j.arrival < 0 || j.burst <= 0 || j.io.every < 0 || j.io.duration < 0 || j.weight == 0)
            throw std::invalid_argument("kettle::simulate: every job needs arrival >= 0, "
                                        "burst > 0, I/O every/duration >= 0 and weight > 0");
        // Said now, not after ticking through every idle tick up to it.
        if (j.arrival > options.max_ticks - j.burst)
            throw std::runtime_error("kettle::simulate: the workload cannot finish in max_ticks "
                                     "(a job's arrival + burst is later)");
    }

    const std::size_t n = jobs.size();
    sim_report report;
    std::vector<detail::sim_progress> progress;
    progress.reserve(n); // sim_task points into it: never reallocates
    for (std::size_t i = 0; i < n; ++i) {
        progress.push_back({&jobs[i], i, jobs[i].burst});
        report.jobs.push_back({jobs[i].name, jobs[i].arrival, jobs[i].burst});
    }
    std::vector<std::size_t> arrivals(n);
    std::iota(arrivals.begin(), arrivals.end(), std::size_t{0});
    std::stable_sort(arrivals.begin(), arrivals.end(), [&](std::size_t a, std::size_t b) {
        return jobs[a].arrival < jobs[b].arrival;
    });

    struct blocked {
        tick_count wake;
        entry_type entry;
    };
    std::vector<blocked> io; // sorted by wake time, then by I/O start
    // The running job's entry, when there is one (a vector, not an optional:
    // GCC 12 misreports the latter as maybe-uninitialized).
    std::vector<entry_type> running;
    running.reserve(1);
    std::optional<tick_count> quantum;
    tick_count ran = 0;          // since dispatch
    tick_count switch_left = 0;  // switch ticks still to pay before `running` runs
    std::vector<tick_count> since_io(n, 0);
    std::size_t current = 0;         // job of `running`, when there is one
    std::optional<std::size_t> last; // job that last held the CPU
    std::size_t next_arrival = 0, done = 0;

    auto requeue = [&](cause c) {
        policy.charge(running.front(), ran);
        policy.push(std::move(running.front()), c);
        running.clear();
    };
    auto check_preemption = [&] {
        if (!running.empty() && ran > 0 && policy.preempts(running.front()))
            requeue(cause::preempted);
    };

    for (tick_count t = 0; done < n; ++t) {
        if (t >= options.max_ticks)
            throw std::runtime_error("kettle::simulate: the workload did not finish in max_ticks");
        policy.advance_to(t);
        check_preemption();
        while (next_arrival < n && jobs[arrivals[next_arrival]].arrival == t) {
            const std::size_t i = arrivals[next_arrival++];
            policy.push(entry_type(sim_task(progress[i])), cause::created);
        }
        while (!io.empty() && io.front().wake == t) {
            policy.push(std::move(io.front().entry), cause::woken);
            io.erase(io.begin());
        }
        check_preemption();
        if (running.empty()) {
            if (auto d = policy.pop()) {
                running.push_back(std::move(d->entry));
                quantum = d->quantum;
                if (quantum && *quantum <= 0)
                    throw std::runtime_error("kettle::simulate: the policy gave a quantum <= 0");
                ran = 0;
                current = running.front().value.id();
                if (last && *last != current) {
                    ++report.switches;
                    switch_left = options.switch_cost;
                }
                last = current;
            } else if (!policy.empty()) {
                throw std::runtime_error("kettle::simulate: the policy holds jobs but pops none");
            }
        }

        if (!running.empty() && switch_left > 0) {
            --switch_left;
            ++report.switch_ticks;
            report.timeline.push_back(sim_report::switching);
            continue;
        }
        if (running.empty()) {
            report.timeline.push_back(sim_report::idle);
            continue;
        }
        const std::size_t id = current;
        sim_job_result& result = report.jobs[id];
        report.timeline.push_back(static_cast<int>(id));
        if (result.first_run < 0)
            result.first_run = t;
        --progress[id].remaining;
        ++ran;
        ++since_io[id];

        const tick_count end = t + 1;
        const io_pattern& pattern = jobs[id].io;
        if (progress[id].remaining == 0) {
            result.completion = end;
            policy.charge(running.front(), ran);
            running.clear();
            ++done;
        } else if (pattern.every > 0 && since_io[id] == pattern.every) {
            since_io[id] = 0;
            policy.charge(running.front(), ran);
            const tick_count wake = end + pattern.duration;
            result.io_periods.emplace_back(end, wake);
            result.io_time += pattern.duration;
            auto at = std::upper_bound(io.begin(), io.end(), wake,
                                       [](tick_count w, const blocked& b) { return w < b.wake; });
            io.insert(at, blocked{wake, std::move(running.front())});
            running.clear();
        } else if (quantum && ran >= *quantum) {
            requeue(cause::preempted);
        }
    }
    return report;
}

/// `simulate` for a braced list or any contiguous range of jobs.
template <scheduling_policy Policy>
    requires std::same_as<typename Policy::value_type, sim_task>
sim_report simulate(const std::vector<sim_job>& jobs, Policy policy,
                    const sim_options& options = {}) {
    return simulate(std::span<const sim_job>(jobs), std::move(policy), options);
}

} // namespace kettle
