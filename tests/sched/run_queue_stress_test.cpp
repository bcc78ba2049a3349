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
