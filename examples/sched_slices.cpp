// SPDX-License-Identifier: MIT
// The time-slice trade-off, measured on kettle's coroutine scheduler.
//
// The same workload runs under round robin with slices from 10 us to 10 ms,
// then under MLFQ: four CPU-bound tasks (20 ms of arithmetic each, in 5 us
// chunks with a preemption point after each) and two interactive tasks (wait
// 1 ms for "I/O", then a 15 us burst, until the CPU-bound tasks are done).
//
// For each run it prints:
//   slices      dispatches of a task (each one is a switch, unless the same
//               task is dispatched again)
//   cpu done    when the last CPU-bound task finished (throughput: 80 ms of
//               work in that time)
//   response    how long an interactive task waited from the end of its I/O
//               until it ran (average and worst)
//   useful      share of the time spent inside the work chunks; the rest is
//               the scheduler's (measured around every co_await)
//   switch      the time from one task's code stopping (at a co_await) to
//               another task's code running, median: the scheduler's cost of
//               a switch (the policy's push and pop, its bookkeeping, the
//               clock samples and timer polls on the way), measured, not
//               assumed (net of the cost of the clock reads that measure it)
//   yield       the same for a yield that let the task go on (median)
//
// Short slices: good response, more switches. Long slices: the interactive
// tasks wait behind whole slices of the CPU-bound ones. MLFQ gets both: the
// interactive tasks give the CPU up before their allotment is used and stay
// on top, the CPU-bound ones sink to long slices.

#include <kettle/mode/task.hpp>
#include <kettle/sched/coroutine_scheduler.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/yield.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using kettle::coroutine_ref;

constexpr auto tick = 10us;
constexpr int cpu_tasks = 4;
constexpr auto cpu_work = 20ms; // per CPU-bound task
constexpr auto chunk = 5us;     // work between two preemption points
constexpr int interactive_tasks = 2;
constexpr auto io_wait = 1ms;
constexpr int burst_chunks = 3;

volatile std::uint64_t g_sink;

// Arithmetic that the optimiser cannot drop.
void burn(long iterations) {
    std::uint64_t x = g_sink;
    for (long i = 0; i < iterations; ++i)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    g_sink = x;
}

// Iterations of burn() that take about `d` on this machine, in this build.
long calibrate(clock_type::duration d) {
    long n = 1000;
    for (;;) {
        const auto start = clock_type::now();
        burn(n);
        const auto took = clock_type::now() - start;
        if (took >= 2ms)
            return std::max(1L, static_cast<long>(n * (static_cast<double>(d.count()) / took.count())));
        n *= 2;
    }
}

struct stats {
    clock_type::duration work{};          // inside work chunks
    clock_type::duration overhead{};      // from task code to task code
    std::vector<clock_type::duration> switches; // ... when another task ran next
    std::vector<clock_type::duration> yields;   // ... when the same task went on
    clock_type::time_point paused{};      // when task code last stopped
    clock_type::duration probe{};         // what the two clock reads around a gap add to it
    int last_task = -1;
    std::vector<clock_type::duration> responses;
    int cpu_left = cpu_tasks;
    clock_type::time_point cpu_done{};

    // Around every co_await: the time in between belongs to the scheduler
    // (while the CPU-bound tasks run, some task is always ready, so it is
    // never idle time).
    void pause() { paused = clock_type::now(); }
    void resume(int task) {
        if (cpu_left > 0) {
            const auto gap = std::max(clock_type::now() - paused - probe, clock_type::duration::zero());
            overhead += gap;
            (task != last_task ? switches : yields).push_back(gap);
        }
        last_task = task;
    }
};

// One chunk of measured work.
void work_chunk(stats& st, long iterations) {
    const auto start = clock_type::now();
    burn(iterations);
    st.work += clock_type::now() - start;
}

kettle::task<void> cpu_bound(int id, stats& st, int chunks, long iterations) {
    st.resume(id);
    for (int i = 0; i < chunks; ++i) {
        work_chunk(st, iterations);
        st.pause();
        co_await kettle::yield();
        st.resume(id);
    }
    if (--st.cpu_left == 0)
        st.cpu_done = clock_type::now();
    st.pause();
}

template <class Scheduler>
kettle::task<void> interactive(int id, Scheduler& sched, stats& st, long iterations) {
    st.resume(id);
    while (st.cpu_left > 0) {
        const auto ready_at = clock_type::now() + io_wait;
        st.pause();
        co_await sched.sleep_until(ready_at);
        st.resume(id);
        st.responses.push_back(clock_type::now() - ready_at);
        for (int i = 0; i < burst_chunks; ++i) {
            work_chunk(st, iterations);
            st.pause();
            co_await kettle::yield();
            st.resume(id);
        }
    }
    st.pause();
}

// The gap two back-to-back clock reads measure: the measuring's own cost.
clock_type::duration probe_cost() {
    std::vector<clock_type::duration> v;
    for (int i = 0; i < 1001; ++i) {
        const auto a = clock_type::now();
        v.push_back(clock_type::now() - a);
    }
    std::nth_element(v.begin(), v.begin() + 500, v.end());
    return v[500];
}

// The median: robust against the odd gap in which the OS ran something else.
clock_type::duration median(std::vector<clock_type::duration> v) {
    if (v.empty())
        return {};
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

double us(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

template <class Scheduler>
void run(const char* policy, const std::string& slice, Scheduler& sched, long iterations) {
    stats st;
    st.probe = probe_cost();
    const int chunks = static_cast<int>(cpu_work / chunk);
    int id = 0;
    for (int i = 0; i < cpu_tasks; ++i)
        sched.spawn_detached(cpu_bound(id++, st, chunks, iterations));
    for (int i = 0; i < interactive_tasks; ++i)
        sched.spawn_detached(interactive(id++, sched, st, iterations));
    const auto start = clock_type::now();
    st.pause();
    const std::size_t slices = sched.run();
    double avg = 0;
    clock_type::duration worst{};
    for (const auto r : st.responses) {
        avg += us(r);
        worst = std::max(worst, r);
    }
    avg /= static_cast<double>(std::max<std::size_t>(st.responses.size(), 1));
    std::printf("%-6s %-15s %7zu %8.1f ms %7.1f %% %8.0f us %8.0f us %8.0f ns %7.0f ns\n", policy, slice.c_str(),
                slices, ms(st.cpu_done - start), 100.0 * ms(st.work) / ms(st.work + st.overhead), avg, us(worst),
                1000.0 * us(median(st.switches)), 1000.0 * us(median(st.yields)));
}

} // namespace

int main() {
    const long iterations = calibrate(chunk);
    std::printf("%d CPU-bound tasks x %.0f ms of work, %d interactive tasks (%.0f ms I/O, then %d x %.0f us); tick %.0f us\n\n",
                cpu_tasks, ms(cpu_work), interactive_tasks, ms(io_wait), burst_chunks, us(chunk), us(tick));
    std::printf("%-6s %-15s %7s %11s %9s %11s %11s %11s %10s\n", "policy", "slice", "slices", "cpu done", "useful",
                "avg resp.", "worst resp.", "switch", "yield");
    std::printf("%-6s %-15s %7s %11s %9s %11s %11s %11s %10s\n", "", "", "", "", "", "", "", "", "no switch");
    const kettle::coroutine_scheduler_settings settings{.tick = tick};
    for (const kettle::tick_count quantum : {1, 10, 100, 1000}) {
        kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched(
            settings, kettle::round_robin_settings{.quantum = quantum});
        run("rr", std::to_string(static_cast<long>(us(quantum * tick))) + " us", sched, iterations);
    }
    {
        // 100 us on top, doubling per level; everyone back on top every 10 ms.
        kettle::coroutine_scheduler<kettle::mlfq<coroutine_ref>> sched(
            settings, kettle::mlfq_settings{.levels = 3, .base_quantum = 10, .boost_period = 1000});
        run("mlfq", "100/200/400 us", sched, iterations);
    }
    std::printf("\nresponse: from the end of an interactive task's I/O until it ran. switch / yield: "
                "median time from a task's co_await to the next task code.\n");
    return 0;
}
