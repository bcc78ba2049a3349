// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::sim_report`: what a simulation measured, with its text renderings
/// (Gantt chart, metrics table).

#include <kettle/sched/dispatch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace kettle {

/// The longest run the simulators take by default (`sim_options::max_ticks`
/// and the OSTEP engines' own): each keeps one timeline entry per tick.
inline constexpr tick_count sim_default_max_ticks = 100'000'000;

/// The measurements of one job. All times in ticks.
struct sim_job_result {
    std::string name;
    tick_count arrival = 0;
    tick_count burst = 0;
    tick_count first_run = -1;  // first tick it executed
    tick_count completion = -1; // tick at which its last tick of CPU ended
    tick_count io_time = 0;     // ticks spent blocked on I/O
    /// [start, end) of each I/O.
    std::vector<std::pair<tick_count, tick_count>> io_periods{};

    /// first_run - arrival.
    [[nodiscard]] tick_count response() const noexcept { return first_run - arrival; }
    /// completion - arrival.
    [[nodiscard]] tick_count turnaround() const noexcept { return completion - arrival; }
    /// Time ready but not running (including context switches to other jobs
    /// and to itself): turnaround - burst - io_time.
    [[nodiscard]] tick_count waiting() const noexcept { return turnaround() - burst - io_time; }
};

/// The result of a simulation. Plain data; renderings below.
struct sim_report {
    /// What the CPU did in each tick: a job index, `idle` or `switching`.
    static constexpr int idle = -1;
    static constexpr int switching = -2;

    std::vector<sim_job_result> jobs;
    std::vector<int> timeline;   // one entry per tick, from tick 0
    std::size_t switches = 0;    // context switches between different jobs
    tick_count switch_ticks = 0; // ticks spent switching

    /// Ticks from 0 until the last job completed.
    [[nodiscard]] tick_count makespan() const noexcept {
        return static_cast<tick_count>(timeline.size());
    }
    [[nodiscard]] double average_response() const { return average(&sim_job_result::response); }
    [[nodiscard]] double average_turnaround() const {
        return average(&sim_job_result::turnaround);
    }
    [[nodiscard]] double average_waiting() const { return average(&sim_job_result::waiting); }
    /// Share of the makespan spent switching, in [0, 1].
    [[nodiscard]] double switch_share() const noexcept {
        return timeline.empty() ? 0.0
                                : static_cast<double>(switch_ticks) /
                                      static_cast<double>(timeline.size());
    }

private:
    double average(tick_count (sim_job_result::*metric)() const noexcept) const {
        if (jobs.empty())
            return 0.0;
        double sum = 0;
        for (const auto& j : jobs)
            sum += static_cast<double>((j.*metric)());
        return sum / static_cast<double>(jobs.size());
    }
};

namespace detail {

inline std::string chart_label(const sim_report& r, std::size_t job) {
    return r.jobs[job].name.empty() ? std::string(1, static_cast<char>('A' + job % 26))
                                    : r.jobs[job].name;
}

inline char cpu_mark(const sim_report& r, int what) {
    if (what == sim_report::idle)
        return '-';
    if (what == sim_report::switching)
        return '*';
    const std::string label = chart_label(r, static_cast<std::size_t>(what));
    return label.empty() ? '?' : label[0];
}

} // namespace detail

/// The schedule as text, one column per tick (or per `ceil(makespan /
/// max_width)` ticks when longer than `max_width` columns):
///
/// ```text
///        0         10        20
///  CPU   AAAAAAAAAABBBBBBBBBB
///  A     ##########
///  B     ..........##########
/// ```
/// CPU row: the job that ran (first letter of its name), `*` switching, `-`
/// idle. Job rows: `#` ran, `.` ready, `i` blocked on I/O, blank before
/// arrival and after completion. A scaled column shows in the CPU row what
/// took most of its ticks, and in a job row the first of `#`, `i`, `.` that
/// occurred in it. `max_width == 0` never scales. Thread-safe; never blocks.
inline std::string gantt_chart(const sim_report& r, std::size_t max_width = 100) {
    const std::size_t ticks = r.timeline.size();
    std::size_t scale = 1;
    if (max_width != 0 && ticks > max_width)
        scale = (ticks + max_width - 1) / max_width;
    const std::size_t cols = (ticks + scale - 1) / scale;
    std::size_t label_width = 4;
    for (std::size_t j = 0; j < r.jobs.size(); ++j)
        label_width = std::max(label_width, detail::chart_label(r, j).size() + 1);

    std::string out;
    // time axis: a tick number every 10 columns
    std::string axis(label_width + 2 + cols + 12, ' ');
    for (std::size_t c = 0; c <= cols; c += 10) {
        const std::string n = std::to_string(c * scale);
        axis.replace(label_width + 2 + c, n.size(), n);
    }
    while (!axis.empty() && axis.back() == ' ')
        axis.pop_back();
    out += axis + '\n';

    auto row_start = [&](const std::string& label) {
        out += label;
        out.append(label_width + 2 - label.size(), ' ');
    };
    row_start("CPU");
    for (std::size_t c = 0; c < cols; ++c) {
        const std::size_t lo = c * scale, hi = std::min(ticks, lo + scale);
        int best = r.timeline[lo];
        std::size_t best_count = 0;
        for (std::size_t t = lo; t < hi; ++t) {
            const auto n = static_cast<std::size_t>(
                std::count(r.timeline.begin() + static_cast<std::ptrdiff_t>(lo),
                           r.timeline.begin() + static_cast<std::ptrdiff_t>(hi), r.timeline[t]));
            if (n > best_count) {
                best = r.timeline[t];
                best_count = n;
            }
        }
        out += detail::cpu_mark(r, best);
    }
    out += '\n';

    for (std::size_t j = 0; j < r.jobs.size(); ++j) {
        const sim_job_result& job = r.jobs[j];
        row_start(detail::chart_label(r, j));
        std::string row(cols, ' ');
        for (std::size_t c = 0; c < cols; ++c) {
            bool ran = false, io = false, ready = false;
            for (std::size_t t = c * scale; t < std::min(ticks, (c + 1) * scale); ++t) {
                const auto tt = static_cast<tick_count>(t);
                if (tt < job.arrival || (job.completion >= 0 && tt >= job.completion))
                    continue;
                if (r.timeline[t] == static_cast<int>(j))
                    ran = true;
                else if (std::any_of(job.io_periods.begin(), job.io_periods.end(),
                                     [&](const auto& p) { return p.first <= tt && tt < p.second; }))
                    io = true;
                else
                    ready = true;
            }
            row[c] = ran ? '#' : io ? 'i' : ready ? '.' : ' ';
        }
        while (!row.empty() && row.back() == ' ')
            row.pop_back();
        out += row + '\n';
    }
    if (scale > 1)
        out += "(one column = " + std::to_string(scale) + " ticks)\n";
    return out;
}

/// Per-job response, turnaround and waiting time, their averages, and the
/// switching overhead, as an aligned text table. Thread-safe; never blocks.
inline std::string metrics_table(const sim_report& r) {
    std::string out;
    char line[160];
    std::snprintf(line, sizeof line, "%-8s %8s %8s %9s %11s %8s\n", "job", "arrival", "burst",
                  "response", "turnaround", "waiting");
    out += line;
    for (std::size_t j = 0; j < r.jobs.size(); ++j) {
        const auto& job = r.jobs[j];
        std::snprintf(line, sizeof line, "%-8s %8lld %8lld %9lld %11lld %8lld\n",
                      detail::chart_label(r, j).c_str(), static_cast<long long>(job.arrival),
                      static_cast<long long>(job.burst), static_cast<long long>(job.response()),
                      static_cast<long long>(job.turnaround()),
                      static_cast<long long>(job.waiting()));
        out += line;
    }
    std::snprintf(line, sizeof line, "%-8s %8s %8s %9.2f %11.2f %8.2f\n", "average", "", "",
                  r.average_response(), r.average_turnaround(), r.average_waiting());
    out += line;
    std::snprintf(line, sizeof line,
                  "switches: %zu, switching: %lld of %lld ticks (%.1f%%)\n", r.switches,
                  static_cast<long long>(r.switch_ticks), static_cast<long long>(r.makespan()),
                  100.0 * r.switch_share());
    out += line;
    return out;
}

} // namespace kettle
