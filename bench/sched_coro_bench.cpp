// SPDX-License-Identifier: MIT
// The coroutine scheduler's costs, each beside its hand-written baseline.
//
//   switch/bare/layout:N   two hand-written coroutines resumed in turn by a
//                          driver loop: a resume and a suspend each (the
//                          baseline), in four copies at different addresses;
//                          the ratios divide by the fastest ("switch/bare")
//   switch/<policy>        two tasks handing the CPU to each other with
//                          co_await kettle::yield(kettle::always): each
//                          switch is a push and a pop of the policy
//   switch/minimal_policy  the same under a fixed-ring FIFO written here with
//                          only the members the concept requires (no
//                          try_push_pop): a user's policy, through push and pop
//   switch/rr_expired      the same with the plain yield() under round robin,
//                          every slice over (a fake clock that ticks at every
//                          read; the clock read at every yield)
//   spawn/bare             create a task, run it to completion, destroy it, by hand
//   spawn/detached         spawn_detached + complete, in batches of 64 per run()
//   spawn/joinable         spawn + run_once + get(), one task at a time
//   yield/noswitch         co_await kettle::yield() that does not switch
//   yield/noswitch_clock   the same, reading the steady clock at every yield
//   yield/call             baseline: a non-inlined function call per iteration
//   slice/sequential       the course's trade-off, baseline: the CPU-bound work
//                          of the runs below, done in a plain loop
//   slice/<policy>/<slice> two CPU-bound tasks (4 ms of work each, a yield
//                          every 5 us) and an interactive one (sleeps 200 us,
//                          again and again) under that policy and slice length:
//                          time until the CPU-bound work is done (throughput),
//                          and counters: slices dispatched, and the
//                          interactive task's response (from the end of its
//                          sleep until it runs), average and 99th percentile
//   io/loop                baseline: a byte written to a socket pair, read by an
//                          event_loop callback registered for it (add, wait,
//                          read, remove), by hand
//   io/wait_io             the same through a task: write, co_await
//                          sched.wait_io(fd, readable), read
//
// Each iteration of switch/* is one round trip: two switches.
//
// `sched_coro_bench --switch-instructions` runs each switch loop once,
// 200,000 round trips with a clock that never moves, for
// tools/check-zero-cost to count its instructions under callgrind (a figure
// that does not depend on what else the machine is doing).

#include <kettle/loop/detail/posix_fd.hpp>
#include <kettle/loop/event_loop.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/coroutine_scheduler.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/yield.hpp>

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using kettle::coroutine_ref;
using namespace std::chrono_literals;

// ---- (a) the baseline: two bare coroutines and a driver -------------------------------

struct bare_coroutine {
    struct promise_type {
        bare_coroutine get_return_object() noexcept {
            return bare_coroutine{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

// `Layout` only makes copies of the same code at other addresses (see
// switch_bare).
template <int Layout = 0>
bare_coroutine bare_loop(std::uint64_t& counter) {
    for (;;) {
        ++counter;
        co_await std::suspend_always{};
    }
}

// The baseline's time depends on where its code lies: the same loop has run
// at 3.7 and at 4.6 ns a round trip in two builds that differ only
// elsewhere. So it is measured in several copies, which the linker places
// at different addresses, and the ratios divide by the fastest
// (switch/bare): the baseline at its best, whatever a build does to it.
template <int Layout>
void switch_bare(benchmark::State& state) {
    std::uint64_t a_count = 0;
    std::uint64_t b_count = 0;
    auto a = bare_loop<Layout>(a_count);
    auto b = bare_loop<Layout>(b_count);
    for (auto _ : state) {
        a.handle.resume();
        b.handle.resume();
    }
    benchmark::DoNotOptimize(a_count + b_count);
    a.handle.destroy();
    b.handle.destroy();
}

// ---- (b) yield-and-switch between two tasks -------------------------------------------

template <class Sched>
kettle::task<void> driver_task(benchmark::State& state, bool& done) {
    for (auto _ : state)
        co_await kettle::yield(kettle::always);
    done = true;
}

template <class Sched>
kettle::task<void> partner_task(const bool& done) {
    while (!done)
        co_await kettle::yield(kettle::always);
}

template <class Policy, class... Args>
void switch_tasks(benchmark::State& state, Args... policy_args) {
    kettle::coroutine_scheduler<Policy> sched(kettle::coroutine_scheduler_settings{}, policy_args...);
    bool done = false;
    sched.spawn_detached(driver_task<decltype(sched)>(state, done));
    sched.spawn_detached(partner_task<decltype(sched)>(done));
    sched.run();
}

// The least a FIFO policy can do: a fixed ring, no checks beyond empty.
class minimal_fifo {
public:
    using value_type = coroutine_ref;
    using entry_type = kettle::sched_entry<coroutine_ref>;

    void push(entry_type e, kettle::cause) { m_slots[m_tail++ % m_slots.size()].emplace(std::move(e)); }
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() {
        if (m_head == m_tail)
            return std::nullopt;
        auto& slot = m_slots[m_head++ % m_slots.size()];
        return kettle::dispatch<entry_type>{std::move(*slot), std::nullopt};
    }
    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, kettle::tick_count) noexcept {}
    void advance_to(kettle::tick_count) noexcept {}
    [[nodiscard]] std::size_t size() const noexcept { return m_tail - m_head; }
    [[nodiscard]] bool empty() const noexcept { return m_head == m_tail; }

private:
    std::array<std::optional<entry_type>, 64> m_slots; // more than the tasks of this benchmark
    std::size_t m_head = 0;
    std::size_t m_tail = 0;
};
static_assert(kettle::scheduling_policy<minimal_fifo>);

void switch_fcfs(benchmark::State& state) { switch_tasks<kettle::fcfs<coroutine_ref>>(state); }
void switch_minimal(benchmark::State& state) { switch_tasks<minimal_fifo>(state); }
void switch_rr(benchmark::State& state) {
    switch_tasks<kettle::round_robin<coroutine_ref>>(state, kettle::round_robin_settings{.quantum = 10});
}
void switch_mlfq(benchmark::State& state) { switch_tasks<kettle::mlfq<coroutine_ref>>(state); }
void switch_sjf(benchmark::State& state) { switch_tasks<kettle::sjf<coroutine_ref>>(state); }

// A clock that moves one tick per read: every sampled yield ends the slice.
struct ticking_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<ticking_clock>;
    [[maybe_unused]] static constexpr bool is_steady = true;
    static inline rep s_now = 0;
    static time_point now() noexcept { return time_point(duration(s_now += 1000)); }
};

kettle::task<void> expiring_driver(benchmark::State& state, bool& done) {
    for (auto _ : state)
        co_await kettle::yield();
    done = true;
}
kettle::task<void> expiring_partner(const bool& done) {
    while (!done)
        co_await kettle::yield();
}

void switch_rr_expired(benchmark::State& state) {
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>, ticking_clock> sched(
        {.tick = 1us, .max_events_per_sample = 1}, kettle::round_robin_settings{.quantum = 1});
    bool done = false;
    sched.spawn_detached(expiring_driver(state, done));
    sched.spawn_detached(expiring_partner(done));
    sched.run();
}

// ---- (b') the same loops, counted: for callgrind -----------------------------------------

struct frozen_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<frozen_clock>;
    [[maybe_unused]] static constexpr bool is_steady = true;
    static time_point now() noexcept { return time_point(duration(0)); }
};

kettle::task<void> counted_driver(long rounds, bool& done) {
    for (long i = 0; i < rounds; ++i)
        co_await kettle::yield(kettle::always);
    done = true;
}

// One function per policy (a template: a symbol each), holding only the run,
// so that its inclusive count is the switches and nothing else to speak of.
template <class Sched>
[[gnu::noinline]] void ic_run(Sched& sched) {
    sched.run();
}

template <class Policy, class... Args>
void ic_switch(long rounds, Args... policy_args) {
    kettle::coroutine_scheduler<Policy, frozen_clock> sched(kettle::coroutine_scheduler_settings{}, policy_args...);
    bool done = false;
    sched.spawn_detached(counted_driver(rounds, done));
    sched.spawn_detached(partner_task<decltype(sched)>(done));
    ic_run(sched);
}

[[gnu::noinline]] std::uint64_t ic_bare(long rounds) {
    std::uint64_t a_count = 0;
    std::uint64_t b_count = 0;
    auto a = bare_loop(a_count);
    auto b = bare_loop(b_count);
    for (long i = 0; i < rounds; ++i) {
        a.handle.resume();
        b.handle.resume();
    }
    a.handle.destroy();
    b.handle.destroy();
    return a_count + b_count;
}

int switch_instructions_main() {
    constexpr long rounds = 200'000;
    const std::uint64_t sink = ic_bare(rounds);
    ic_switch<kettle::fcfs<coroutine_ref>>(rounds);
    ic_switch<kettle::round_robin<coroutine_ref>>(rounds, kettle::round_robin_settings{.quantum = 10});
    ic_switch<kettle::mlfq<coroutine_ref>>(rounds);
    ic_switch<kettle::sjf<coroutine_ref>>(rounds);
    ic_switch<minimal_fifo>(rounds);
    std::printf("round trips %ld, checksum %llu\n", rounds, static_cast<unsigned long long>(sink));
    return 0;
}

// ---- (c) spawn and complete ---------------------------------------------------------------

kettle::task<void> trivial(std::uint64_t& counter) {
    ++counter;
    co_return;
}
kettle::task<int> trivial_value(int v) { co_return v + 1; }

void spawn_bare(benchmark::State& state) {
    std::uint64_t counter = 0;
    for (auto _ : state) {
        auto t = trivial(counter);
        auto awaiter = std::move(t).operator co_await();
        awaiter.await_suspend(std::noop_coroutine()).resume();
        awaiter.await_resume();
    }
    benchmark::DoNotOptimize(counter);
}

void spawn_detached(benchmark::State& state) {
    kettle::coroutine_scheduler<kettle::fcfs<coroutine_ref>> sched;
    std::uint64_t counter = 0;
    int batch = 0;
    for (auto _ : state) {
        sched.spawn_detached(trivial(counter));
        if (++batch == 64) {
            sched.run();
            batch = 0;
        }
    }
    sched.run();
    benchmark::DoNotOptimize(counter);
}

void spawn_joinable(benchmark::State& state) {
    kettle::coroutine_scheduler<kettle::fcfs<coroutine_ref>> sched;
    long sum = 0;
    for (auto _ : state) {
        auto h = sched.spawn(trivial_value(1));
        sched.run_once();
        sum += h.get();
    }
    benchmark::DoNotOptimize(sum);
}

// ---- (d) a yield that does not switch ---------------------------------------------------

kettle::task<void> yielding(benchmark::State& state) {
    for (auto _ : state)
        co_await kettle::yield();
}

void yield_noswitch(benchmark::State& state) {
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched(
        kettle::coroutine_scheduler_settings{}, kettle::round_robin_settings{.quantum = 1'000'000});
    sched.spawn_detached(yielding(state));
    sched.run();
}

void yield_noswitch_clock(benchmark::State& state) {
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched(
        {.max_events_per_sample = 1}, kettle::round_robin_settings{.quantum = 1'000'000});
    sched.spawn_detached(yielding(state));
    sched.run();
}

[[gnu::noinline]] void opaque_call(std::uint64_t& n) {
    ++n;
    benchmark::ClobberMemory();
}

void yield_call(benchmark::State& state) {
    std::uint64_t n = 0;
    for (auto _ : state)
        opaque_call(n);
    benchmark::DoNotOptimize(n);
}

// ---- (d') a task woken by its socket, against the loop's own callback ----------------------

class socket_pair_fds {
public:
    socket_pair_fds() {
        int fd[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fd) != 0)
            std::abort();
        m_reader.reset(fd[0]);
        m_writer.reset(fd[1]);
    }
    [[nodiscard]] int reader() const noexcept { return m_reader.get(); }
    void send_byte() const {
        if (::write(m_writer.get(), "x", 1) != 1)
            std::abort();
    }
    void take_byte() const {
        char c = 0;
        if (::read(m_reader.get(), &c, 1) != 1)
            std::abort();
    }

private:
    kettle::detail::posix_fd m_reader;
    kettle::detail::posix_fd m_writer;
};

void io_loop(benchmark::State& state) {
    socket_pair_fds pair;
    kettle::event_loop<> loop;
    for (auto _ : state) {
        bool got = false;
        loop.add(pair.reader(), kettle::interest::readable, [&](kettle::io_events) {
            pair.take_byte();
            loop.remove(pair.reader());
            got = true;
        });
        pair.send_byte();
        while (!got)
            loop.run_once(std::chrono::milliseconds(0));
    }
}

template <class Sched>
kettle::task<void> io_waiter(Sched& sched, benchmark::State& state, const socket_pair_fds& pair) {
    for (auto _ : state) {
        pair.send_byte();
        co_await sched.wait_io(pair.reader(), kettle::interest::readable);
        pair.take_byte();
    }
}

void io_wait_io(benchmark::State& state) {
    socket_pair_fds pair;
    kettle::coroutine_scheduler<kettle::fcfs<coroutine_ref>> sched;
    sched.spawn_detached(io_waiter(sched, state, pair));
    sched.run();
}

// ---- (e) the slice trade-off: throughput and response against the slice length -----------

constexpr auto slice_tick = 10us;
constexpr int slice_cpu_tasks = 2;
constexpr int slice_chunks = 800; // per CPU-bound task, about 5 us each
constexpr auto slice_chunk = 5us;
constexpr auto slice_io_wait = 200us;

using steady = std::chrono::steady_clock;

volatile std::uint64_t g_burn_sink;

// Arithmetic that the optimiser cannot drop.
[[gnu::noinline]] void burn(long iterations) {
    std::uint64_t x = g_burn_sink;
    for (long i = 0; i < iterations; ++i)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    g_burn_sink = x;
}

// Iterations of burn() that take about one chunk on this machine.
long chunk_iterations() {
    static const long iterations = [] {
        long n = 1000;
        for (;;) {
            const auto start = steady::now();
            burn(n);
            const auto took = steady::now() - start;
            if (took >= 2ms)
                return std::max(1L, static_cast<long>(static_cast<double>(n) * slice_chunk / took));
            n *= 2;
        }
    }();
    return iterations;
}

struct slice_run {
    int cpu_left = slice_cpu_tasks;
    steady::time_point cpu_done{};
    std::vector<double>* responses_us; // of every run of the benchmark
};

kettle::task<void> slice_cpu(slice_run& r, long iterations) {
    for (int i = 0; i < slice_chunks; ++i) {
        burn(iterations);
        co_await kettle::yield();
    }
    if (--r.cpu_left == 0)
        r.cpu_done = steady::now();
}

template <class Sched>
kettle::task<void> slice_interactive(Sched& sched, slice_run& r) {
    while (r.cpu_left > 0) {
        const auto ready_at = steady::now() + slice_io_wait;
        co_await sched.sleep_until(ready_at);
        // Only a wait behind CPU-bound work: a wake into an idle scheduler
        // measures the loop's sleep (whole milliseconds), not the slices.
        if (r.cpu_left > 0 || ready_at < r.cpu_done)
            r.responses_us->push_back(std::chrono::duration<double, std::micro>(steady::now() - ready_at).count());
    }
}

void slice_sequential(benchmark::State& state) {
    const long iterations = chunk_iterations();
    for (auto _ : state) {
        const auto start = steady::now();
        for (int t = 0; t < slice_cpu_tasks; ++t)
            for (int i = 0; i < slice_chunks; ++i)
                burn(iterations);
        state.SetIterationTime(std::chrono::duration<double>(steady::now() - start).count());
    }
}

template <class Policy, class Settings>
void slice_tradeoff(benchmark::State& state, Settings policy_settings) {
    const long iterations = chunk_iterations();
    double slices = 0;
    std::vector<double> responses_us;
    responses_us.reserve(1 << 16);
    for (auto _ : state) {
        kettle::coroutine_scheduler<Policy> sched({.tick = slice_tick}, policy_settings);
        slice_run r{.responses_us = &responses_us};
        const auto start = steady::now();
        // The interactive task first: it starts its first sleep before any
        // CPU-bound slice, so that even one slice of 10 ms keeps it waiting.
        sched.spawn_detached(slice_interactive(sched, r));
        for (int t = 0; t < slice_cpu_tasks; ++t)
            sched.spawn_detached(slice_cpu(r, iterations));
        slices += static_cast<double>(sched.run()); // the interactive task's last sleep is not timed
        state.SetIterationTime(std::chrono::duration<double>(r.cpu_done - start).count());
    }
    state.counters["slices"] = benchmark::Counter(slices, benchmark::Counter::kAvgIterations);
    if (responses_us.empty())
        return;
    // The 99th percentile, not the maximum: the worst of thousands is the
    // odd millisecond in which the machine ran something else.
    double sum = 0;
    for (const double r : responses_us)
        sum += r;
    state.counters["resp_avg_us"] = sum / static_cast<double>(responses_us.size());
    const auto p99 = responses_us.begin() + static_cast<std::ptrdiff_t>(responses_us.size() * 99 / 100);
    std::nth_element(responses_us.begin(), p99, responses_us.end());
    state.counters["resp_p99_us"] = *p99;
}

void register_slice_benchmarks() {
    benchmark::RegisterBenchmark("slice/sequential", slice_sequential)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Apply(kettle_bench::add_min);
    for (const kettle::tick_count quantum : {1, 10, 100, 1000}) {
        const std::string name = "slice/round_robin/" + std::to_string(quantum * slice_tick.count()) + "us";
        benchmark::RegisterBenchmark(name.c_str(), [quantum](benchmark::State& state) {
            slice_tradeoff<kettle::round_robin<coroutine_ref>>(state, kettle::round_robin_settings{.quantum = quantum});
        })->UseManualTime()->Unit(benchmark::kMillisecond)->Apply(kettle_bench::add_min);
    }
    // 100 us on top, doubling per level; everyone back on top every 10 ms.
    benchmark::RegisterBenchmark("slice/mlfq/100-200-400us", [](benchmark::State& state) {
        slice_tradeoff<kettle::mlfq<coroutine_ref>>(
            state, kettle::mlfq_settings{.levels = 3, .base_quantum = 10, .boost_period = 1000});
    })->UseManualTime()->Unit(benchmark::kMillisecond)->Apply(kettle_bench::add_min);
}

} // namespace

// Every benchmark also reports its fastest repetition (kettle_bench::add_min).
BENCHMARK(switch_bare<0>)->Name("switch/bare/layout:0")->Apply(kettle_bench::add_min);
BENCHMARK(switch_bare<1>)->Name("switch/bare/layout:1")->Apply(kettle_bench::add_min);
BENCHMARK(switch_bare<2>)->Name("switch/bare/layout:2")->Apply(kettle_bench::add_min);
BENCHMARK(switch_bare<3>)->Name("switch/bare/layout:3")->Apply(kettle_bench::add_min);
BENCHMARK(switch_fcfs)->Name("switch/fcfs")->Apply(kettle_bench::add_min);
BENCHMARK(switch_rr)->Name("switch/round_robin")->Apply(kettle_bench::add_min);
BENCHMARK(switch_mlfq)->Name("switch/mlfq")->Apply(kettle_bench::add_min);
BENCHMARK(switch_sjf)->Name("switch/sjf")->Apply(kettle_bench::add_min);
BENCHMARK(switch_minimal)->Name("switch/minimal_policy")->Apply(kettle_bench::add_min);
BENCHMARK(switch_rr_expired)->Name("switch/rr_expired")->Apply(kettle_bench::add_min);
BENCHMARK(spawn_bare)->Name("spawn/bare")->Apply(kettle_bench::add_min);
BENCHMARK(spawn_detached)->Name("spawn/detached")->Apply(kettle_bench::add_min);
BENCHMARK(spawn_joinable)->Name("spawn/joinable")->Apply(kettle_bench::add_min);
BENCHMARK(yield_call)->Name("yield/call")->Apply(kettle_bench::add_min);
BENCHMARK(yield_noswitch)->Name("yield/noswitch")->Apply(kettle_bench::add_min);
BENCHMARK(yield_noswitch_clock)->Name("yield/noswitch_clock")->Apply(kettle_bench::add_min);
BENCHMARK(io_loop)->Name("io/loop")->Apply(kettle_bench::add_min);
BENCHMARK(io_wait_io)->Name("io/wait_io")->Apply(kettle_bench::add_min);

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--switch-instructions") == 0)
        return switch_instructions_main();
    register_slice_benchmarks();
    kettle_bench::ratio_reporter reporter;
    reporter.add_fastest_of("switch/bare", {"switch/bare/layout:0", "switch/bare/layout:1", "switch/bare/layout:2",
                                            "switch/bare/layout:3"});
    reporter.add_ratio("switch/fcfs", "switch/bare", "yield+switch, fcfs / bare resume (target <= 3)");
    reporter.add_ratio("switch/round_robin", "switch/bare", "yield+switch, round_robin / bare (target <= 3)");
    reporter.add_ratio("switch/mlfq", "switch/bare", "yield+switch, mlfq / bare (target <= 5)");
    reporter.add_ratio("switch/sjf", "switch/bare", "yield+switch, sjf / bare (target <= 5)");
    reporter.add_ratio("switch/minimal_policy", "switch/bare", "yield+switch, minimal ring policy / bare");
    reporter.add_ratio("switch/rr_expired", "switch/bare", "slice expiry switch, rr, clock per yield / bare");
    reporter.add_ratio("spawn/detached", "spawn/bare", "spawn_detached+complete / create+run by hand");
    reporter.add_ratio("spawn/joinable", "spawn/bare", "spawn+complete+get / create+run by hand");
    reporter.add_ratio("yield/noswitch", "yield/call", "yield without switch / function call");
    reporter.add_ratio("yield/noswitch_clock", "yield/call", "same, clock read per yield / function call");
    reporter.add_ratio("io/wait_io", "io/loop", "task woken by wait_io / loop callback by hand");
    for (const char* slice : {"round_robin/10us", "round_robin/100us", "round_robin/1000us", "round_robin/10000us",
                              "mlfq/100-200-400us"})
        reporter.add_ratio(std::string("slice/") + slice, "slice/sequential",
                           std::string("slice ") + slice + ", time / no scheduler");
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
