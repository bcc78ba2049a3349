// SPDX-License-Identifier: MIT
// kettle::thread_pool, measured against asio::thread_pool in one run:
//
//   pool.latency/<who>/<workers>     post one job, wait until it has run, repeat:
//                                    the submit-to-run round trip (workers asleep
//                                    between jobs, so it includes waking one)
//   pool.throughput/<who>/<workers>  post 10,000 small jobs from outside, wait for
//                                    all (time per batch; per_job = one job)
//   pool.spawn/<who>/<workers>       100 root jobs each post 100 children from
//                                    inside the pool (the case per-worker queues
//                                    are for), wait for all 10,100
//
// <who>: kettle_<locking>[_steal] (fcfs, one shared queue, or one queue per worker
// with stealing), or asio (asio::thread_pool + asio::post, when found). The same
// completion signal (an atomic wait/notify) is used for every pool. At the end a
// table prints kettle / asio and stealing / shared ratios from this run.

#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/spin.hpp>
#include <kettle/sched/thread_pool.hpp>

#if __has_include(<kettle/sched/detail/lock_free_fifo.hpp>)
#include <kettle/sched/lock_free.hpp>
#define KETTLE_BENCH_LOCK_FREE_POOL 1
#endif

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#if defined(KETTLE_HAVE_ASIO)
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace {

constexpr int throughput_jobs = 10'000;
constexpr int spawn_roots = 100;
constexpr int spawn_children = 100;

/// One waiter, one setter: the job signals, the benchmark thread sleeps on it.
class done_signal {
public:
    void set() noexcept {
        m_value.store(1, std::memory_order_release);
        m_value.notify_one();
    }
    void wait_and_reset() noexcept {
        while (m_value.load(std::memory_order_acquire) == 0)
            m_value.wait(0, std::memory_order_acquire);
        m_value.store(0, std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint32_t> m_value{0}; // 0 -> 1 by set (release), back by the waiter
};

template <class Locking, bool PerWorker>
class kettle_pool {
public:
    explicit kettle_pool(std::size_t workers)
        // Room for a whole batch: the lock-free rings are bounded, and a full
        // ring would measure the submitter's sleeping instead of the queue.
        : m_pool({.workers = workers, .per_worker_queues = PerWorker, .queue_capacity = 16'384}) {}
    template <class F>
    void post(F&& f) {
        m_pool.post(std::forward<F>(f));
    }

private:
    kettle::thread_pool<kettle::fcfs<kettle::pool_job>, Locking> m_pool;
};

#if defined(KETTLE_HAVE_ASIO)
class asio_pool {
public:
    explicit asio_pool(std::size_t workers) : m_pool(workers) {}
    asio_pool(const asio_pool&) = delete;
    asio_pool& operator=(const asio_pool&) = delete;
    ~asio_pool() { m_pool.join(); }
    template <class F>
    void post(F&& f) {
        asio::post(m_pool, std::forward<F>(f));
    }

private:
    asio::thread_pool m_pool;
};
#endif

template <class Pool>
void latency(benchmark::State& state) {
    Pool pool(static_cast<std::size_t>(state.range(0)));
    done_signal done;
    for (auto _ : state) {
        pool.post([&done] { done.set(); });
        done.wait_and_reset();
    }
}

template <class Pool>
void throughput(benchmark::State& state) {
    Pool pool(static_cast<std::size_t>(state.range(0)));
    done_signal done;
    std::atomic<int> left{0};
    for (auto _ : state) {
        left.store(throughput_jobs, std::memory_order_relaxed);
        for (int i = 0; i < throughput_jobs; ++i) {
            pool.post([&left, &done] {
                if (left.fetch_sub(1, std::memory_order_acq_rel) == 1)
                    done.set();
            });
        }
        done.wait_and_reset();
    }
    state.SetItemsProcessed(state.iterations() * throughput_jobs);
    state.counters["per_job"] = benchmark::Counter(
        throughput_jobs, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class Pool>
void spawn(benchmark::State& state) {
    Pool pool(static_cast<std::size_t>(state.range(0)));
    done_signal done;
    std::atomic<int> left{0};
    constexpr int total = spawn_roots * (spawn_children + 1);
    auto finish = [&left, &done] {
        if (left.fetch_sub(1, std::memory_order_acq_rel) == 1)
            done.set();
    };
    for (auto _ : state) {
        left.store(total, std::memory_order_relaxed);
        for (int r = 0; r < spawn_roots; ++r) {
            pool.post([&pool, finish] {
                for (int c = 0; c < spawn_children; ++c)
                    pool.post(finish);
                finish();
            });
        }
        done.wait_and_reset();
    }
    state.SetItemsProcessed(state.iterations() * total);
    state.counters["per_job"] = benchmark::Counter(
        total, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class Pool>
void register_pool(kettle_bench::ratio_reporter& reporter, const std::string& who) {
    for (const char* kind : {"latency", "throughput", "spawn"}) {
        const std::string base = std::string("pool.") + kind + "/" + who;
        auto* b = std::string(kind) == "latency"      ? benchmark::RegisterBenchmark(base.c_str(), latency<Pool>)
                  : std::string(kind) == "throughput" ? benchmark::RegisterBenchmark(base.c_str(), throughput<Pool>)
                                                      : benchmark::RegisterBenchmark(base.c_str(), spawn<Pool>);
        b->Arg(1)->Arg(2)->UseRealTime()->Apply(kettle_bench::add_min);
        if (std::string(kind) != "latency")
            b->Unit(benchmark::kMicrosecond);
#if defined(KETTLE_HAVE_ASIO)
        if (who != "asio") {
            for (const char* n : {"1", "2"}) {
                reporter.add_ratio(base + "/" + n, std::string("pool.") + kind + "/asio/" + n,
                                   std::string(kind) + ", " + n + " worker(s): " + who + " / asio");
            }
        }
#endif
        if (who.size() > 6 && who.compare(who.size() - 6, 6, "_steal") == 0) {
            const std::string shared = std::string("pool.") + kind + "/" + who.substr(0, who.size() - 6);
            for (const char* n : {"1", "2"}) {
                reporter.add_ratio(base + "/" + n, shared + "/" + n,
                                   std::string(kind) + ", " + n + " worker(s): " + who + " / shared");
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    kettle_bench::ratio_reporter reporter;
#if defined(KETTLE_HAVE_ASIO)
    register_pool<asio_pool>(reporter, "asio");
#endif
    register_pool<kettle_pool<kettle::mutex, false>>(reporter, "kettle_mutex");
    register_pool<kettle_pool<kettle::mutex, true>>(reporter, "kettle_mutex_steal");
    register_pool<kettle_pool<kettle::spin, false>>(reporter, "kettle_spin");
    register_pool<kettle_pool<kettle::spin, true>>(reporter, "kettle_spin_steal");
#if defined(KETTLE_BENCH_LOCK_FREE_POOL)
    register_pool<kettle_pool<kettle::lock_free, false>>(reporter, "kettle_lock_free");
    register_pool<kettle_pool<kettle::lock_free, true>>(reporter, "kettle_lock_free_steal");
#endif
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
