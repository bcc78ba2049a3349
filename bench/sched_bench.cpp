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
//   wake/<queue>/<consumers>    one producer pushes ints one at a time, each
//                               once the one before was taken, to 1, 2 or 4
//                               threads sleeping in a blocking pop: time per
//                               item. <queue>: run_queue<fcfs<int>,
//                               mutex> (pop()), or the textbook by hand
//                               (cv_queue: a deque under a std::mutex, a
//                               condition variable signalled once per push),
//                               with the context switches per item (getrusage:
//                               threads put to sleep and woken, a count the
//                               machine's noise moves less than the time)
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

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

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

// ---- blocking pops: waking the consumers ----------------------------------------------

// The blocking queue one writes by hand: a deque under a mutex, and a
// condition variable signalled once per push.
class cv_queue {
public:
    void push(int v) {
        {
            std::lock_guard lock(m_mutex);
            m_items.push_back(v);
        }
        m_cv.notify_one();
    }
    int pop() {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return !m_items.empty(); });
        const int v = m_items.front();
        m_items.pop_front();
        return v;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<int> m_items;
};

void wake_push(cv_queue& q, int v) { q.push(v); }
int wake_pop(cv_queue& q) { return q.pop(); }
void wake_push(fifo_queue<kettle::mutex>& q, int v) { q.push(v); }
int wake_pop(fifo_queue<kettle::mutex>& q) { return q.pop()->entry.value; }

constexpr int wake_items = 2000;

// Voluntary and involuntary context switches of the whole process so far.
long context_switches() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_nvcsw + u.ru_nivcsw;
}

template <class Queue>
void bench_wake(benchmark::State& state) {
    const auto consumers = static_cast<int>(state.range(0));
    const long switches_before = context_switches();
    for (auto _ : state) {
        Queue q;
        std::atomic<long> sum{0};
        std::atomic<int> taken{0};
        std::vector<std::thread> threads;
        for (int c = 0; c < consumers; ++c)
            threads.emplace_back([&] {
                long mine = 0;
                for (int v; (v = wake_pop(q)) >= 0;) {
                    mine += v;
                    taken.fetch_add(1, std::memory_order_release);
                }
                sum += mine;
            });
        for (int i = 0; i < wake_items; ++i) {
            wake_push(q, i);
            // Every consumer is asleep, or on its way there, at each push.
            while (taken.load(std::memory_order_acquire) <= i)
                std::this_thread::yield();
        }
        for (int c = 0; c < consumers; ++c)
            wake_push(q, -1); // one end marker per consumer
        for (auto& t : threads)
            t.join();
        if (sum != static_cast<long>(wake_items) * (wake_items - 1) / 2)
            std::abort(); // every item taken exactly once
    }
    state.SetItemsProcessed(state.iterations() * wake_items);
    state.counters["switches/item"] = static_cast<double>(context_switches() - switches_before) /
                                      static_cast<double>(state.iterations() * wake_items);
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
    RegisterBenchmark("zero_cost.run_queue/hand_ring", bench_ring_hand)
        ->Apply(kettle_bench::add_min);
    RegisterBenchmark("zero_cost.run_queue/fcfs_single_thread", bench_zc_run_queue)
        ->Apply(kettle_bench::add_min);
    RegisterBenchmark("locking/single_thread", bench_run_queue<kettle::single_thread>)
        ->Apply(kettle_bench::add_min);
    RegisterBenchmark("locking/spin", bench_run_queue<kettle::spin>)->Apply(kettle_bench::add_min);
    RegisterBenchmark("locking/mutex", bench_run_queue<kettle::mutex>)
        ->Apply(kettle_bench::add_min);
#if __has_include(<kettle/sched/detail/lock_free_fifo.hpp>)
    RegisterBenchmark("locking/lock_free", bench_run_queue<kettle::lock_free>)
        ->Apply(kettle_bench::add_min);
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
        RegisterBenchmark((base + "/1000").c_str(), p.fn)->Arg(1000)->Apply(kettle_bench::add_min);
        RegisterBenchmark((base + "/1000000").c_str(), p.fn)->Arg(1000000)
        ->Apply(kettle_bench::add_min);
        reporter.add_ratio(base + "/1000000/1000000", base + "/1000/1000",
                           std::string(p.name) + ": 1M queued / 1k queued");
        if (std::strcmp(p.name, "fcfs") != 0)
            reporter.add_ratio(base + "/1000/1000", "policy/fcfs/1000/1000",
                               std::string(p.name) + " / fcfs, 1k queued");
    }
    for (const int consumers : {1, 2, 4}) {
        const std::string n = std::to_string(consumers);
        RegisterBenchmark(("wake/run_queue/" + n).c_str(), bench_wake<fifo_queue<kettle::mutex>>)
            ->Arg(consumers)
            ->UseRealTime()
            ->Apply(kettle_bench::add_min);
        RegisterBenchmark(("wake/cv_queue/" + n).c_str(), bench_wake<cv_queue>)
            ->Arg(consumers)
            ->UseRealTime()
            ->Apply(kettle_bench::add_min);
        reporter.add_ratio("wake/run_queue/" + n + "/" + n, "wake/cv_queue/" + n + "/" + n,
                           "blocking pop, " + n + " consumers: run_queue / by hand");
    }
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
