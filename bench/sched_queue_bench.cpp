// SPDX-License-Identifier: MIT
// The lock-free run queue against the queues one would otherwise reach for.
//
//   queue.1p1c/<queue>       one producer pushes N ints, one consumer pops them:
//                            time per item, from the start signal to the last pop
//   queue.2p2c/<queue>       two producers and two consumers, N ints in all
//   queue.ping_pong/<queue>  one int sent back and forth between two threads
//                            through two queues: time per round trip
//
// <queue>: kettle_queue (run_queue<fcfs<int>, lock_free>, what a user holds:
// the core plus its close flag and wake-ups), kettle_core (the
// run_queue_core<fcfs<int>, lock_free> inside it), kettle_ring (its
// mpmc_ring<int>), mutex_ring (a ring under a std::mutex: the baseline),
// moodycamel (ConcurrentQueue, enqueue/try_dequeue without tokens: unbounded,
// it allocates blocks as it grows) and boost_lockfree (boost::lockfree::queue,
// bounded_push/pop). Bounded queues hold 1024 elements. Each figure is the best
// of several runs (--reps=N, default 7), each run with fresh threads and a
// fresh queue. A thread that finds its queue full or empty spins, then yields
// (the same loop for every queue; it yields early when there are more threads
// than cores).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/lock_free_fifo.hpp>
#include <kettle/sched/detail/mpmc_ring.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/run_queue.hpp>

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#if defined(KETTLE_HAVE_MOODYCAMEL)
#include KETTLE_MOODYCAMEL_HEADER
#endif
#if defined(KETTLE_HAVE_BOOST_LOCKFREE)
#include <boost/lockfree/queue.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace {

constexpr std::size_t capacity = 1024;
constexpr long throughput_items = 1L << 21;
constexpr long ping_pong_rounds = 1L << 17;
int g_reps = 7;

void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// How long a thread that found its queue full or empty spins before it
// yields: briefly when there are more threads than cores (2p2c on two cores,
// where the thread it waits for may need the core), long otherwise.
int g_spins_before_yield = 64;

// The wait of every thread that found its queue full or empty.
class backoff {
public:
    void operator()() noexcept {
        if (++m_spins < g_spins_before_yield) {
            spin_pause();
        } else {
            m_spins = 0;
            std::this_thread::yield();
        }
    }

private:
    int m_spins = 0;
};

// ---- the queues, behind one interface: try_push(int), try_pop(int&) ----------

class kettle_core {
public:
    bool try_push(int v) {
        entry_type e(v);
        return m_core.try_push(e, kettle::cause::created);
    }
    bool try_pop(int& v) {
        if (auto d = m_core.try_pop()) {
            v = d->entry.value;
            return true;
        }
        return false;
    }

private:
    using core_type = kettle::detail::run_queue_core<kettle::fcfs<int>, kettle::lock_free>;
    using entry_type = core_type::entry_type;
    core_type m_core{capacity};
};

class kettle_queue {
public:
    bool try_push(int v) { return m_queue.try_push(std::move(v)); }
    bool try_pop(int& v) {
        if (auto d = m_queue.try_pop()) {
            v = d->entry.value;
            return true;
        }
        return false;
    }

private:
    kettle::run_queue<kettle::fcfs<int>, kettle::lock_free> m_queue{kettle::bounded{capacity}};
};

class kettle_ring {
public:
    bool try_push(int v) { return m_ring.try_push(v); }
    bool try_pop(int& v) {
        if (auto x = m_ring.try_pop()) {
            v = *x;
            return true;
        }
        return false;
    }

private:
    kettle::detail::mpmc_ring<int> m_ring{capacity};
};

// What one writes without a lock-free queue at hand.
class mutex_ring {
public:
    bool try_push(int v) {
        std::lock_guard lock(m_mutex);
        if (m_tail - m_head == capacity)
            return false;
        m_buffer[m_tail++ % capacity] = v;
        return true;
    }
    bool try_pop(int& v) {
        std::lock_guard lock(m_mutex);
        if (m_head == m_tail)
            return false;
        v = m_buffer[m_head++ % capacity];
        return true;
    }

private:
    std::mutex m_mutex;
    std::vector<int> m_buffer = std::vector<int>(capacity);
    std::size_t m_head = 0;
    std::size_t m_tail = 0;
};

#if defined(KETTLE_HAVE_MOODYCAMEL)
class moodycamel_queue {
public:
    bool try_push(int v) { return m_queue.enqueue(v); }
    bool try_pop(int& v) { return m_queue.try_dequeue(v); }

private:
    moodycamel::ConcurrentQueue<int> m_queue{capacity};
};
#endif

#if defined(KETTLE_HAVE_BOOST_LOCKFREE)
class boost_queue {
public:
    bool try_push(int v) { return m_queue.bounded_push(v); }
    bool try_pop(int& v) { return m_queue.pop(v); }

private:
    boost::lockfree::queue<int> m_queue{capacity};
};
#endif

template <class Q>
void push(Q& q, int v) {
    backoff wait;
    while (!q.try_push(v))
        wait();
}

template <class Q>
int pop(Q& q) {
    backoff wait;
    int v = 0;
    while (!q.try_pop(v))
        wait();
    return v;
}

using clock_type = std::chrono::steady_clock;

// ---- one run of each scenario: seconds per item (per round trip) ---------------

template <class Q>
double throughput_run(int producers, int consumers) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    g_spins_before_yield = static_cast<unsigned>(producers + consumers) > cores ? 64 : 4096;
    auto q = std::make_unique<Q>();
    std::atomic<bool> go{false};
    std::atomic<long> sum{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            while (!go.load(std::memory_order_acquire))
                spin_pause();
            const long n = throughput_items / producers;
            for (long i = 0; i < n; ++i)
                push(*q, static_cast<int>(i % 1000 + p));
        });
    }
    for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&] {
            while (!go.load(std::memory_order_acquire))
                spin_pause();
            long local = 0;
            const long n = throughput_items / consumers;
            for (long i = 0; i < n; ++i)
                local += pop(*q);
            sum.fetch_add(local, std::memory_order_relaxed);
        });
    }
    // Let every thread reach the start line.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto start = clock_type::now();
    go.store(true, std::memory_order_release);
    for (auto& t : threads)
        t.join();
    const auto stop = clock_type::now();
    long expected = 0;
    for (int p = 0; p < producers; ++p)
        for (long i = 0; i < throughput_items / producers; ++i)
            expected += i % 1000 + p;
    if (sum.load() != expected)
        std::abort();
    return std::chrono::duration<double>(stop - start).count() / throughput_items;
}

template <class Q>
double ping_pong_run() {
    g_spins_before_yield = std::thread::hardware_concurrency() < 2 ? 64 : 4096;
    auto there = std::make_unique<Q>();
    auto back = std::make_unique<Q>();
    std::atomic<bool> go{false};
    std::thread echo([&] {
        while (!go.load(std::memory_order_acquire))
            spin_pause();
        for (long i = 0; i < ping_pong_rounds; ++i)
            push(*back, pop(*there));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto start = clock_type::now();
    go.store(true, std::memory_order_release);
    for (long i = 0; i < ping_pong_rounds; ++i) {
        push(*there, static_cast<int>(i));
        if (pop(*back) != static_cast<int>(i))
            std::abort();
    }
    const auto stop = clock_type::now();
    echo.join();
    return std::chrono::duration<double>(stop - start).count() / ping_pong_rounds;
}

template <class Run>
void best_of(benchmark::State& state, Run run) {
    for (auto _ : state) {
        double best = std::numeric_limits<double>::infinity();
        for (int r = 0; r < g_reps; ++r)
            best = std::min(best, run());
        state.SetIterationTime(best);
    }
}

template <class Q>
void bench_1p1c(benchmark::State& state) {
    best_of(state, [] { return throughput_run<Q>(1, 1); });
}
template <class Q>
void bench_2p2c(benchmark::State& state) {
    best_of(state, [] { return throughput_run<Q>(2, 2); });
}
template <class Q>
void bench_ping_pong(benchmark::State& state) {
    best_of(state, [] { return ping_pong_run<Q>(); });
}

// Google Benchmark names a run "<name>/iterations:1/manual_time"; the reporter drops "/manual_time".
std::string run_name(const std::string& name) {
    return name + "/iterations:1";
}

template <class Q>
void register_queue(const std::string& queue) {
    benchmark::RegisterBenchmark(("queue.1p1c/" + queue).c_str(), bench_1p1c<Q>)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("queue.2p2c/" + queue).c_str(), bench_2p2c<Q>)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("queue.ping_pong/" + queue).c_str(), bench_ping_pong<Q>)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kNanosecond);
}

} // namespace

int main(int argc, char** argv) {
    // Our own option, taken out before Google Benchmark sees the arguments.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--reps=", 7) == 0)
            g_reps = std::max(1, std::atoi(argv[i] + 7));
        else
            argv[kept++] = argv[i];
    }
    argc = kept;

    kettle_bench::ratio_reporter reporter;
    std::vector<std::string> peers{"mutex_ring"};
    register_queue<kettle_queue>("kettle_queue");
    register_queue<kettle_core>("kettle_core");
    register_queue<kettle_ring>("kettle_ring");
    register_queue<mutex_ring>("mutex_ring");
#if defined(KETTLE_HAVE_MOODYCAMEL)
    register_queue<moodycamel_queue>("moodycamel");
    peers.emplace_back("moodycamel");
#endif
#if defined(KETTLE_HAVE_BOOST_LOCKFREE)
    register_queue<boost_queue>("boost_lockfree");
    peers.emplace_back("boost_lockfree");
#endif

    for (const char* scenario : {"1p1c", "2p2c", "ping_pong"}) {
        const std::string prefix = std::string("queue.") + scenario + "/";
        for (const std::string& peer : peers)
            reporter.add_ratio(run_name(prefix + "kettle_queue"), run_name(prefix + peer),
                               std::string(scenario) + ", kettle_queue / " + peer);
        reporter.add_ratio(run_name(prefix + "kettle_queue"), run_name(prefix + "kettle_core"),
                           std::string(scenario) + ", kettle_queue / kettle_core");
        reporter.add_ratio(run_name(prefix + "kettle_core"), run_name(prefix + "kettle_ring"),
                           std::string(scenario) + ", kettle_core / kettle_ring");
    }
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
