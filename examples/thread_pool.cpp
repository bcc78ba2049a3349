// SPDX-License-Identifier: MIT
// A thread pool in three short acts: results through futures, a priority
// pool, and a shutdown that drains what is queued.

#include <kettle/mode/event.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/thread_pool.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>

int main() {
    // 1. Two workers, FIFO. Results and exceptions come back through futures.
    {
        kettle::thread_pool<> pool({.workers = 2});
        auto answer = pool.submit([] { return 6 * 7; });
        auto dry = pool.submit([]() -> int { throw std::runtime_error("the kettle boiled dry"); });
        std::printf("answer: %d\n", answer.get());
        try {
            dry.get();
        } catch (const std::exception& e) {
            std::printf("error:  %s\n", e.what());
        }
        // A coroutine can hop onto the pool, too.
        auto hop = [&pool]() -> kettle::task<bool> {
            co_await pool.schedule();
            co_return pool.running_in_this_thread();
        };
        std::printf("coroutine on a worker: %s\n", kettle::sync_wait(hop()) ? "yes" : "no");
    }

    // 2. One worker, by priority (smaller first). The first job holds the
    // worker until the others are queued, so the order is the policy's.
    {
        kettle::event gate;
        kettle::thread_pool<kettle::priority<kettle::pool_job>> pool({.workers = 1});
        pool.post([&gate] { gate.wait(); }); // priority 0: runs first in any case
        struct chore {
            const char* what;
            int priority;
        };
        for (chore c : {chore{"water the plants", 3}, chore{"turn off the stove", 1},
                        chore{"read the paper", 9}, chore{"answer the door", 2}}) {
            pool.post([c] { std::printf("  %d %s\n", c.priority, c.what); },
                      {.priority = c.priority});
        }
        std::printf("by priority:\n");
        gate.set();
        pool.shutdown(kettle::shutdown_policy::drain);
    }

    // 3. Shutdown: `drain` runs everything queued (`cancel` would drop it).
    std::atomic<int> boiled{0};
    {
        kettle::thread_pool<> pool({.workers = 2});
        for (int i = 0; i < 1000; ++i)
            pool.post([&boiled] { boiled.fetch_add(1, std::memory_order_relaxed); });
        pool.shutdown(kettle::shutdown_policy::drain);
    }
    std::printf("drained: %d of 1000 jobs ran\n", boiled.load());
}
