// SPDX-License-Identifier: MIT
// The four ways to wait, measured against the hand-written calls they stand for.
//
//   zero_cost.channel/<how>   push + pop of one int on a kettle::channel:
//                             hand (try_push/try_pop), sync_nonblocking, sync_blocking
//   zero_cost.event/<how>     waiting on an event that is already set
//   async.pop/<how>           one pop completed through an event loop:
//                             post (a hand-written closure posted to the loop: the
//                             baseline), async_nonblocking, async_blocking, coroutine;
//                             the counter allocs_per_op counts operator new calls
//
// `mode_bench --zero-cost` runs each zero-cost body once, 100,000 rounds, for
// tools/check-zero-cost to count instructions under callgrind, and prints the
// allocations per asynchronous operation.

#include <kettle/loop/event_loop.hpp>
#include <kettle/mode/channel.hpp>
#include <kettle/mode/event.hpp>
#include <kettle/mode/task.hpp>

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

// ---- allocation counting --------------------------------------------------------

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}
// GCC sees free() inside operator delete and takes it for a mismatch; here
// both halves of the pair are ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace std::chrono_literals;
using loop_type = kettle::event_loop<>;

// ---- the zero-cost bodies: one function each, never inlined, so that
// callgrind can count each one's instructions on its own ----------------------------

[[gnu::noinline]] long zc_channel_hand(kettle::channel<int>& ch, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        if (!ch.try_push(int{i}))
            std::abort();
        sum += *ch.try_pop();
    }
    return sum;
}

[[gnu::noinline]] long zc_channel_sync_nonblocking(kettle::channel<int>& ch, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        if (!ch.push(kettle::sync_nonblocking, int{i}))
            std::abort();
        sum += *ch.pop(kettle::sync_nonblocking);
    }
    return sum;
}

// What a careful programmer writes for a blocking push and pop by hand:
// attempt; if that fails, take a readiness token, attempt again, sleep.
int hand_pop_blocking(kettle::channel<int>& ch) {
    if (auto v = ch.try_pop())
        return *v;
    for (;;) {
        auto token = ch.pop_op().readiness();
        if (auto v = ch.try_pop())
            return *v;
        token.wait();
    }
}
void hand_push_blocking(kettle::channel<int>& ch, int v) {
    if (ch.try_push(int{v}))
        return;
    for (;;) {
        auto token = ch.push_op(0).readiness();
        if (ch.try_push(int{v}))
            return;
        token.wait();
    }
}

[[gnu::noinline]] long zc_channel_hand_blocking(kettle::channel<int>& ch, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        hand_push_blocking(ch, i);
        sum += hand_pop_blocking(ch);
    }
    return sum;
}

[[gnu::noinline]] long zc_channel_sync_blocking(kettle::channel<int>& ch, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        ch.push(kettle::sync_blocking, int{i});
        sum += ch.pop(kettle::sync_blocking);
    }
    return sum;
}

[[gnu::noinline]] long zc_event_hand(const kettle::event& ev, int rounds) {
    long n = 0;
    for (int i = 0; i < rounds; ++i) {
        benchmark::ClobberMemory();
        n += ev.is_set();
    }
    return n;
}

[[gnu::noinline]] long zc_event_sync_nonblocking(const kettle::event& ev, int rounds) {
    long n = 0;
    for (int i = 0; i < rounds; ++i) {
        benchmark::ClobberMemory();
        n += ev.wait(kettle::sync_nonblocking);
    }
    return n;
}

[[gnu::noinline]] long zc_event_hand_blocking(const kettle::event& ev, int rounds) {
    long n = 0;
    for (int i = 0; i < rounds; ++i) {
        benchmark::ClobberMemory();
        if (!ev.is_set()) {
            for (;;) {
                auto token = ev.wait_op().readiness();
                if (ev.is_set())
                    break;
                token.wait();
            }
        }
        ++n;
    }
    return n;
}

[[gnu::noinline]] long zc_event_sync_blocking(const kettle::event& ev, int rounds) {
    long n = 0;
    for (int i = 0; i < rounds; ++i) {
        benchmark::ClobberMemory();
        ev.wait(kettle::sync_blocking);
        ++n;
    }
    return n;
}

template <long (*Body)(kettle::channel<int>&, int)>
void bench_channel(benchmark::State& state) {
    kettle::channel<int> ch(64);
    for (auto _ : state)
        benchmark::DoNotOptimize(Body(ch, 1));
}

template <long (*Body)(const kettle::event&, int)>
void bench_event(benchmark::State& state) {
    kettle::event ev(true);
    for (auto _ : state)
        benchmark::DoNotOptimize(Body(ev, 1));
}

// ---- asynchronous completions through a loop --------------------------------------

void count_allocations(benchmark::State& state, long before) {
    state.counters["allocs_per_op"] = benchmark::Counter(
        static_cast<double>(g_allocations.load() - before), benchmark::Counter::kAvgIterations);
}

void async_post_baseline(benchmark::State& state) {
    loop_type loop;
    kettle::channel<int> ch(64);
    long sum = 0;
    const long before = g_allocations.load();
    for (auto _ : state) {
        (void)ch.try_push(1);
        loop.post([&] { sum += *ch.try_pop(); });
        loop.run_once(0ms);
    }
    count_allocations(state, before);
    benchmark::DoNotOptimize(sum);
}

void async_nonblocking_pop(benchmark::State& state) {
    loop_type loop;
    kettle::channel<int> ch(64);
    long sum = 0;
    const long before = g_allocations.load();
    for (auto _ : state) {
        (void)ch.try_push(1);
        ch.pop(kettle::async_nonblocking, loop, [&](int v) { sum += v; });
        loop.run_once(0ms);
    }
    count_allocations(state, before);
    benchmark::DoNotOptimize(sum);
}

void async_blocking_pop(benchmark::State& state) {
    loop_type loop;
    kettle::channel<int> ch(64);
    long sum = 0;
    const long before = g_allocations.load();
    for (auto _ : state) {
        (void)ch.try_push(1);
        auto f = ch.pop(kettle::async_blocking, loop);
        loop.run_once(0ms);
        sum += f.get();
    }
    count_allocations(state, before);
    benchmark::DoNotOptimize(sum);
}

// A coroutine owned by a bare handle, that pops until it is destroyed.
struct consumer {
    struct promise_type {
        consumer get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::abort(); }
    };
    std::coroutine_handle<promise_type> handle;
};

consumer consume_forever(kettle::channel<int>& ch, loop_type& loop, long& sum) {
    for (;;)
        sum += co_await ch.pop(loop);
}

void async_coroutine_pop(benchmark::State& state) {
    loop_type loop;
    kettle::channel<int> ch(64);
    long sum = 0;
    consumer c = consume_forever(ch, loop, sum); // suspends on the empty channel
    loop.run_once(0ms);
    const long before = g_allocations.load();
    for (auto _ : state) {
        (void)ch.try_push(1); // resumes it; it pops, adds, and suspends again
        loop.run_once(0ms);
    }
    count_allocations(state, before);
    c.handle.destroy();
    loop.run_once(0ms);
    if (sum != static_cast<long>(state.iterations()))
        state.SkipWithError("the coroutine missed a value");
}

// ---- --zero-cost: the deterministic figures ------------------------------------------

template <class F>
double allocations_per_op(int ops, F&& one_op) {
    const long before = g_allocations.load();
    for (int i = 0; i < ops; ++i)
        one_op();
    return static_cast<double>(g_allocations.load() - before) / ops;
}

int zero_cost_main() {
    constexpr int rounds = 100000;
    kettle::channel<int> ch(64);
    kettle::event ev(true);
    long sink = 0;
    sink += zc_channel_hand(ch, rounds);
    sink += zc_channel_sync_nonblocking(ch, rounds);
    sink += zc_channel_hand_blocking(ch, rounds);
    sink += zc_channel_sync_blocking(ch, rounds);
    sink += zc_event_hand(ev, rounds);
    sink += zc_event_sync_nonblocking(ev, rounds);
    sink += zc_event_hand_blocking(ev, rounds);
    sink += zc_event_sync_blocking(ev, rounds);

    loop_type loop;
    long sum = 0;
    auto warm = [&] {
        (void)ch.try_push(1);
        ch.pop(kettle::async_nonblocking, loop, [&](int v) { sum += v; });
        loop.run_once(0ms);
    };
    for (int i = 0; i < 100; ++i)
        warm(); // let the loop's own buffers reach their size
    const double callback = allocations_per_op(1000, warm);
    const double fut = allocations_per_op(1000, [&] {
        (void)ch.try_push(1);
        auto f = ch.pop(kettle::async_blocking, loop);
        loop.run_once(0ms);
        sum += f.get();
    });
    consumer c = consume_forever(ch, loop, sum);
    loop.run_once(0ms);
    const double coro = allocations_per_op(1000, [&] {
        (void)ch.try_push(1);
        loop.run_once(0ms);
    });
    c.handle.destroy();
    loop.run_once(0ms);
    std::printf("allocations per operation: async_nonblocking %.2f, async_blocking %.2f, coroutine %.2f\n",
                callback, fut, coro);
    std::printf("checksum %ld\n", sink + sum);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--zero-cost") == 0)
        return zero_cost_main();

    using benchmark::RegisterBenchmark;
    kettle_bench::ratio_reporter reporter;
    RegisterBenchmark("zero_cost.channel/hand", bench_channel<zc_channel_hand>);
    RegisterBenchmark("zero_cost.channel/sync_nonblocking", bench_channel<zc_channel_sync_nonblocking>);
    RegisterBenchmark("zero_cost.channel/hand_blocking", bench_channel<zc_channel_hand_blocking>);
    RegisterBenchmark("zero_cost.channel/sync_blocking", bench_channel<zc_channel_sync_blocking>);
    RegisterBenchmark("zero_cost.event/hand", bench_event<zc_event_hand>);
    RegisterBenchmark("zero_cost.event/sync_nonblocking", bench_event<zc_event_sync_nonblocking>);
    RegisterBenchmark("zero_cost.event/hand_blocking", bench_event<zc_event_hand_blocking>);
    RegisterBenchmark("zero_cost.event/sync_blocking", bench_event<zc_event_sync_blocking>);
    RegisterBenchmark("async.pop/post", async_post_baseline);
    RegisterBenchmark("async.pop/async_nonblocking", async_nonblocking_pop);
    RegisterBenchmark("async.pop/async_blocking", async_blocking_pop);
    RegisterBenchmark("async.pop/coroutine", async_coroutine_pop);

    reporter.add_ratio("zero_cost.channel/sync_nonblocking", "zero_cost.channel/hand", "channel, sync_nonblocking / hand");
    reporter.add_ratio("zero_cost.channel/sync_blocking", "zero_cost.channel/hand_blocking", "channel, sync_blocking / hand");
    reporter.add_ratio("zero_cost.event/sync_nonblocking", "zero_cost.event/hand", "event, sync_nonblocking / hand");
    reporter.add_ratio("zero_cost.event/sync_blocking", "zero_cost.event/hand_blocking", "event, sync_blocking / hand");
    reporter.add_ratio("async.pop/async_nonblocking", "async.pop/post", "pop, async_nonblocking / posted closure");
    reporter.add_ratio("async.pop/async_blocking", "async.pop/post", "pop, async_blocking / posted closure");
    reporter.add_ratio("async.pop/coroutine", "async.pop/post", "pop, coroutine / posted closure");
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}
