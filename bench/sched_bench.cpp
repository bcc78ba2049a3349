// SPDX-License-Identifier: MIT
// What a scheduling queue costs, each figure beside its baseline:
//
//   zero_cost.run_queue/<how>   push + pop of one int, with 16 queued: a
//                               hand-written growable ring vs
//                               run_queue<fcfs<int>, single_thread>
//   locking/<policy>            the same push + pop on one thread under each
//                               locking policy (the price of the lock alone)
//   policy/<name>/<depth>       pop, charge one tick, push back as preempted,
//                               with 1,000 or 1,000,000 tasks queued
//
// `sched_bench --zero-cost` runs each zero-cost body once, 100,000 rounds,
// for tools/check-zero-cost to count instructions under callgrind.

#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/spin.hpp>
#include <kettle/sched/srtf.hpp>

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace {

// What a careful programmer writes by hand for a FIFO of ints: a power-of-two
// ring indexed by free-running counters, doubling when full.
class hand_ring {
public:
    hand_ring() : m_slots(std::make_unique<int[]>(16)), m_capacity(16) {}
    void push(int v) {
        if (m_tail - m_head == m_capacity)
            grow();
        m_slots[m_tail++ & (m_capacity - 1)] = v;
    }
    bool pop(int& out) {
        if (m_head == m_tail)
            return false;
        out = m_slots[m_head++ & (m_capacity - 1)];
        return true;
    }

private:
    [[gnu::noinline]] void grow() {
        auto bigger = std::make_unique<int[]>(m_capacity * 2);
        for (std::size_t i = 0; i < m_capacity; ++i)
            bigger[i] = m_slots[(m_head + i) & (m_capacity - 1)];
        m_tail -= m_head;
        m_head = 0;
        m_capacity *= 2;
        m_slots = std::move(bigger);
    }
    std::unique_ptr<int[]> m_slots;
    std::size_t m_capacity;
    std::size_t m_head = 0;
    std::size_t m_tail = 0;
};

template <class Locking>
using fifo_queue = kettle::run_queue<kettle::fcfs<int>, Locking>;

constexpr int standing = 16; // queued tasks during the push + pop rounds

// ---- the zero-cost bodies: one function each, never inlined ------------------------

[[gnu::noinline]] long zc_ring_hand(hand_ring& q, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        q.push(i);
        int v;
        if (!q.pop(v))
            std::abort();
        sum += v;
    }
    return sum;
}

[[gnu::noinline]] long zc_run_queue_fcfs(fifo_queue<kettle::single_thread>& q, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        if (!q.try_push(int{i}))
            std::abort();
        auto d = q.try_pop();
        if (!d)
            std::abort();
        sum += d->entry.value;
    }
    return sum;
}

void bench_ring_hand(benchmark::State& state) {
    hand_ring q;
    for (int i = 0; i < standing; ++i)
        q.push(i);
    for (auto _ : state)
        benchmark::DoNotOptimize(zc_ring_hand(q, 1000));
    state.SetItemsProcessed(state.iterations() * 1000);
}

template <class Locking>
void bench_run_queue(benchmark::State& state) {
    fifo_queue<Locking> q;
    for (int i = 0; i < standing; ++i)
        q.push(i);
    for (auto _ : state) {
        long sum = 0;
        for (int i = 0; i < 1000; ++i) {
            if (!q.try_push(int{i}))
                std::abort();
            sum += q.try_pop()->entry.value;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}

void bench_zc_run_queue(benchmark::State& state) {
    fifo_queue<kettle::single_thread> q;
    for (int i = 0; i < standing; ++i)
        q.push(i);
    for (auto _ : state)
        benchmark::DoNotOptimize(zc_run_queue_fcfs(q, 1000));
    state.SetItemsProcessed(state.iterations() * 1000);
}

// ---- policy cost at depth ----------------------------------------------------------

// A deterministic spread of lengths/priorities: the heaps do real work.
int task_value(std::uint64_t i) {
    return static_cast<int>((i * 2654435761u) % 1000u);
}

template <class Policy>
void bench_policy(benchmark::State& state) {
    const auto depth = static_cast<std::uint64_t>(state.range(0));
    kettle::run_queue<Policy> q;
    for (std::uint64_t i = 0; i < depth; ++i)
        q.push(task_value(i));
    kettle::tick_count now = 0;
    for (auto _ : state) {
        auto d = q.try_pop();
        q.charge(d->entry, 1);
        q.advance_to(++now);
        q.push(std::move(d->entry), kettle::cause::preempted);
    }
    state.SetItemsProcessed(state.iterations());
}

int zero_cost_main() {
    constexpr int rounds = 100000;
    hand_ring ring;
    fifo_queue<kettle::single_thread> q;
    for (int i = 0; i < standing; ++i) {
        ring.push(i);
        q.push(i);
    }
    long sink = zc_ring_hand(ring, rounds) + zc_run_queue_fcfs(q, rounds);
    std::printf("checksum %ld\n", sink);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--zero-cost") == 0)
        return zero_cost_main();

    // glibc takes an uncontended mutex without atomics until the process
    // starts its first thread; a locked queue is only ever used by
    // multi-threaded programs, so measure it as one.
    std::thread([] {}).join();

    using benchmark::RegisterBenchmark;
    kettle_bench::ratio_reporter reporter;
    RegisterBenchmark("zero_cost.run_queue/hand_ring", bench_ring_hand);
    RegisterBenchmark("zero_cost.run_queue/fcfs_single_thread", bench_zc_run_queue);
    RegisterBenchmark("locking/single_thread", bench_run_queue<kettle::single_thread>);
    RegisterBenchmark("locking/spin", bench_run_queue<kettle::spin>);
    RegisterBenchmark("locking/mutex", bench_run_queue<kettle::mutex>);
#if __has_include(<kettle/sched/detail/lock_free_fifo.hpp>)
    RegisterBenchmark("locking/lock_free", bench_run_queue<kettle::lock_free>);
#endif
    reporter.add_ratio("zero_cost.run_queue/fcfs_single_thread", "zero_cost.run_queue/hand_ring",
                       "run_queue<fcfs, single_thread> / hand ring");
    for (const char* lock : {"spin", "mutex", "lock_free"})
        reporter.add_ratio(std::string("locking/") + lock, "locking/single_thread",
                           std::string(lock) + " / single_thread");

    struct policy_entry {
        const char* name;
        void (*fn)(benchmark::State&);
    };
    const policy_entry policies[] = {
        {"fcfs", bench_policy<kettle::fcfs<int>>},
        {"round_robin", bench_policy<kettle::round_robin<int>>},
        {"mlfq", bench_policy<kettle::mlfq<int>>},
        {"sjf", bench_policy<kettle::sjf<int>>},
        {"srtf", bench_policy<kettle::srtf<int>>},
        {"priority", bench_policy<kettle::priority<int>>},
        {"fair_share", bench_policy<kettle::fair_share<int>>},
    };
    for (const auto& p : policies) {
        const std::string base = std::string("policy/") + p.name;
        RegisterBenchmark((base + "/1000").c_str(), p.fn)->Arg(1000);
        RegisterBenchmark((base + "/1000000").c_str(), p.fn)->Arg(1000000);
        reporter.add_ratio(base + "/1000000/1000000", base + "/1000/1000",
                           std::string(p.name) + ": 1M queued / 1k queued");
        if (std::strcmp(p.name, "fcfs") != 0)
            reporter.add_ratio(base + "/1000/1000", "policy/fcfs/1000/1000",
                               std::string(p.name) + " / fcfs, 1k queued");
    }
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
