// SPDX-License-Identifier: MIT
// Several producers and consumers on every locking policy: every task is
// delivered exactly once, through bounded queues that fill up, blocking and
// non-blocking pushes and pops, preemption round trips and close(). Bounded
// in count so that each case takes well under a second, also under TSan.

#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/spin.hpp>

#include "../support/catch.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

using kettle::cause;

namespace {

constexpr int producers = 3;
constexpr int consumers = 3;
constexpr int per_producer = 8000;
constexpr int total = producers * per_producer;

// Producers push `total` distinct values (blocking and non-blocking pushes
// alternate), consumers pop until the queue is closed and drained; one task
// in ten goes back once as preempted before it counts, so tasks also cross
// between consumers. Every value must be counted exactly once.
template <class Queue>
void deliver_everything(Queue& q) {
    std::vector<std::atomic<int>> seen(total);
    std::vector<std::atomic<bool>> requeued(total);
    std::atomic<int> producing{producers};
    std::atomic<int> damaged{0}; // Catch2 assertions are for the main thread only
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_producer; ++i) {
                const int v = p * per_producer + i;
                if (i % 2 == 0) {
                    q.push(kettle::sync_blocking, typename Queue::entry_type(v), cause::created);
                } else {
                    int value = v;
                    while (!q.try_push(std::move(value)))
                        std::this_thread::yield(); // full: the value stays ours
                    if (value != v)
                        damaged.fetch_add(1); // a failed push must not touch the value
                }
            }
            if (producing.fetch_sub(1) == 1) // the last producer closes
                q.close();
        });
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&] {
            while (auto d = q.pop()) {
                const int v = d->entry.value;
                const auto slot = static_cast<std::size_t>(v);
                if (v % 10 == 0 && !requeued[slot].exchange(true)) {
                    q.charge(d->entry, 1);
                    // May fail only once the queue is closed; then count it here.
                    if (q.try_push(std::move(d->entry), cause::preempted))
                        continue;
                }
                seen[slot].fetch_add(1);
            }
        });
    for (auto& t : threads)
        t.join();
    int wrong = 0;
    for (auto& s : seen)
        wrong += s.load() != 1;
    REQUIRE(wrong == 0);
    REQUIRE(damaged.load() == 0);
    REQUIRE(q.empty());
}

} // namespace

TEMPLATE_TEST_CASE("run_queue stress: FIFO policies under every thread-safe locking",
                   "[sched][run_queue][stress]", kettle::mutex, kettle::spin, kettle::lock_free) {
    SECTION("fcfs") {
        kettle::run_queue<kettle::fcfs<int>, TestType> q(kettle::bounded{64});
        deliver_everything(q);
    }
    SECTION("round_robin") {
        kettle::run_queue<kettle::round_robin<int>, TestType> q(
            kettle::bounded{64}, kettle::round_robin_settings{.quantum = 2});
        deliver_everything(q);
    }
}

TEMPLATE_TEST_CASE("run_queue stress: MLFQ under every thread-safe locking",
                   "[sched][run_queue][stress]", kettle::mutex, kettle::spin, kettle::lock_free) {
    kettle::run_queue<kettle::mlfq<int>, TestType> q(kettle::bounded{64},
                                                     kettle::mlfq_settings{.base_quantum = 1});
    deliver_everything(q);
}

TEMPLATE_TEST_CASE("run_queue stress: keyed policies under the locks", "[sched][run_queue][stress]",
                   kettle::mutex, kettle::spin) {
    SECTION("sjf") {
        kettle::run_queue<kettle::sjf<int>, TestType> q(kettle::bounded{64});
        deliver_everything(q);
    }
    SECTION("priority") {
        kettle::run_queue<kettle::priority<int>, TestType> q(kettle::bounded{64});
        deliver_everything(q);
    }
}

namespace {

// A push wakes one sleeping consumer, not all: with several asleep, each
// handed-over task must still reach one of them. Tasks go one at a time,
// each once the one before was taken, so that every consumer is asleep (or
// falling asleep) at every push; a lost wake-up leaves a task in the queue
// with every consumer asleep, which the producer sees as a stall.
template <class Queue>
int stalls_handing_over_to_sleepers(Queue& q) {
    constexpr int sleepers = 4;
    constexpr int handovers = 1000;
    std::atomic<int> taken{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < sleepers; ++c)
        threads.emplace_back([&] {
            while (q.pop())
                taken.fetch_add(1);
        });
    int stalls = 0;
    for (int i = 0; i < handovers && stalls == 0; ++i) {
        q.push(i);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (taken.load() <= i) {
            if (std::chrono::steady_clock::now() > give_up) {
                ++stalls;
                break;
            }
            std::this_thread::yield();
        }
    }
    q.close();
    for (auto& t : threads)
        t.join();
    return stalls;
}

} // namespace

TEMPLATE_TEST_CASE("run_queue stress: each push reaches one of many sleeping consumers",
                   "[sched][run_queue][stress]", kettle::mutex, kettle::spin, kettle::lock_free) {
    kettle::run_queue<kettle::fcfs<int>, TestType> q(kettle::bounded{8});
    REQUIRE(stalls_handing_over_to_sleepers(q) == 0);
    REQUIRE(q.empty());
}

TEMPLATE_TEST_CASE("run_queue stress: each pop frees room for one of many blocked producers",
                   "[sched][run_queue][stress]", kettle::mutex, kettle::spin, kettle::lock_free) {
    // Capacity 1 (the lock-free rings round it up to 2): producers block in
    // push for almost every task, and each pop wakes one of them.
    constexpr int blocked_producers = 4;
    constexpr int pushes_each = 250;
    kettle::run_queue<kettle::fcfs<int>, TestType> q(kettle::bounded{1});
    std::vector<std::thread> threads;
    for (int p = 0; p < blocked_producers; ++p)
        threads.emplace_back([&q, p] {
            for (int i = 0; i < pushes_each; ++i)
                q.push(kettle::sync_blocking, kettle::sched_entry<int>(p * pushes_each + i), cause::created);
        });
    std::vector<int> seen(blocked_producers * pushes_each);
    int stalls = 0;
    for (int n = 0; n < blocked_producers * pushes_each; ++n) {
        auto d = q.pop_for(std::chrono::seconds(10)); // a lost wake-up leaves every producer asleep
        if (!d || !*d) {
            ++stalls;
            break;
        }
        ++seen[static_cast<std::size_t>((*d)->entry.value)];
    }
    q.close();
    for (auto& t : threads)
        t.join();
    REQUIRE(stalls == 0);
    int wrong = 0;
    for (const int s : seen)
        wrong += s != 1;
    REQUIRE(wrong == 0);
}
