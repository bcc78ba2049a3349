// SPDX-License-Identifier: MIT
#include <kettle/sched/detail/mpmc_ring.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

using kettle::detail::cache_line_size;
using kettle::detail::mpmc_ring;
using kettle_test::counted;

// Layout: whole cache lines, so that neither two rings nor a ring and its
// neighbours share one.
static_assert(alignof(mpmc_ring<int>) == cache_line_size);
static_assert(sizeof(mpmc_ring<int>) % cache_line_size == 0);
static_assert(sizeof(mpmc_ring<int>) >= 3 * cache_line_size); // read-only part, head, tail

TEST_CASE("mpmc_ring: capacity is rounded up to a power of two, at least 2", "[sched][mpmc_ring]") {
    CHECK(mpmc_ring<int>(1).capacity() == 2);
    CHECK(mpmc_ring<int>(2).capacity() == 2);
    CHECK(mpmc_ring<int>(3).capacity() == 4);
    CHECK(mpmc_ring<int>(1000).capacity() == 1024);
    CHECK(mpmc_ring<int>(1024).capacity() == 1024);
    CHECK(mpmc_ring<int>(1025).capacity() == 2048);
    REQUIRE_THROWS_AS(mpmc_ring<int>(0), std::invalid_argument);
    REQUIRE_THROWS_AS(mpmc_ring<int>(static_cast<std::size_t>(-1)), std::length_error);
}

TEST_CASE("mpmc_ring: FIFO order, full and empty", "[sched][mpmc_ring]") {
    mpmc_ring<int> r(5); // 8 slots
    REQUIRE(r.empty());
    REQUIRE_FALSE(r.try_pop().has_value());
    for (int i = 0; i < 8; ++i) {
        int v = i;
        REQUIRE(r.try_push(v));
        REQUIRE(r.size() == static_cast<std::size_t>(i + 1));
    }
    int extra = 99;
    REQUIRE_FALSE(r.try_push(extra));
    REQUIRE(extra == 99);
    REQUIRE(r.size() == 8);
    for (int i = 0; i < 8; ++i) {
        auto v = r.try_pop();
        REQUIRE(v.has_value());
        REQUIRE(*v == i);
    }
    REQUIRE(r.empty());
    REQUIRE_FALSE(r.try_pop().has_value());
    REQUIRE(r.push_position() == 8);
    REQUIRE(r.pop_position() == 8);
}

TEST_CASE("mpmc_ring: wraps around many times in order", "[sched][mpmc_ring]") {
    mpmc_ring<int> r(4);
    int next_in = 0;
    int next_out = 0;
    // Fill to a varying depth, drain to a varying depth, for thousands of laps.
    for (int round = 0; round < 20000; ++round) {
        const int fill = round % 5; // 0..4: sometimes exactly full
        for (int k = 0; k < fill; ++k) {
            int v = next_in;
            if (r.try_push(v))
                ++next_in;
            else
                REQUIRE(r.size() == 4);
        }
        const int drain = (round * 7) % 4;
        for (int k = 0; k < drain; ++k) {
            if (auto v = r.try_pop()) {
                REQUIRE(*v == next_out);
                ++next_out;
            } else {
                REQUIRE(next_out == next_in);
            }
        }
        REQUIRE(r.size() == static_cast<std::size_t>(next_in - next_out));
    }
    while (auto v = r.try_pop())
        REQUIRE(*v == next_out++);
    REQUIRE(next_out == next_in);
    REQUIRE(next_in > 10000); // many laps of a 4-slot ring
}

TEST_CASE("mpmc_ring: move-only elements; a failed push leaves the argument alone",
          "[sched][mpmc_ring]") {
    mpmc_ring<std::unique_ptr<int>> r(2);
    auto a = std::make_unique<int>(1);
    auto b = std::make_unique<int>(2);
    auto c = std::make_unique<int>(3);
    REQUIRE(r.try_push(a));
    REQUIRE(r.try_push(b));
    REQUIRE(a == nullptr); // moved in
    REQUIRE_FALSE(r.try_push(c));
    REQUIRE(c != nullptr); // full: still ours
    REQUIRE(*c == 3);
    auto x = r.try_pop();
    REQUIRE(x.has_value());
    REQUIRE(**x == 1);
    REQUIRE(r.try_push(c));
    REQUIRE(**r.try_pop() == 2);
    REQUIRE(**r.try_pop() == 3);
}

TEST_CASE("mpmc_ring: elements are neither leaked nor copied", "[sched][mpmc_ring]") {
    counted::reset();
    {
        mpmc_ring<counted> r(16);
        for (int lap = 0; lap < 50; ++lap) {
            for (int i = 0; i < 16; ++i) {
                counted c(i);
                REQUIRE(r.try_push(c));
                REQUIRE(c.moved_from());
            }
            counted spare(-1);
            REQUIRE_FALSE(r.try_push(spare));
            REQUIRE_FALSE(spare.moved_from());
            for (int i = 0; i < 10; ++i) {
                auto v = r.try_pop();
                REQUIRE(v.has_value());
                REQUIRE(v->intact());
                REQUIRE_FALSE(v->moved_from());
            }
            while (r.size() > 0)
                (void)r.try_pop();
        }
        // Leave some in the ring: the destructor must destroy them.
        for (int i = 0; i < 7; ++i) {
            counted c(i);
            REQUIRE(r.try_push(c));
        }
        REQUIRE(counted::live() == 7);
    }
    REQUIRE(counted::copies() == 0);
    REQUIRE(counted::live() == 0);
    REQUIRE(counted::constructions() == counted::destructions());
}

TEST_CASE("mpmc_ring: concurrent producers and consumers, no loss, no leak",
          "[sched][mpmc_ring][stress]") {
    counted::reset();
    constexpr int producers = 2;
    constexpr int consumers = 2;
    constexpr int per_producer = 20000;
    std::vector<std::vector<int>> seen(consumers);
    {
        mpmc_ring<counted> r(64);
        std::atomic<int> popped{0};
        std::vector<std::thread> threads;
        for (int p = 0; p < producers; ++p) {
            threads.emplace_back([&r, p] {
                for (int i = 0; i < per_producer; ++i) {
                    counted c(p * per_producer + i);
                    while (!r.try_push(c))
                        std::this_thread::yield();
                }
            });
        }
        for (int c = 0; c < consumers; ++c) {
            threads.emplace_back([&, c] {
                // Leave about 30 behind (fewer than the 64 slots, so that the
                // producers finish) for the destructor.
                while (popped.load(std::memory_order_relaxed) < producers * per_producer - 30) {
                    if (auto v = r.try_pop()) {
                        popped.fetch_add(1, std::memory_order_relaxed);
                        seen[static_cast<std::size_t>(c)].push_back(v->intact() ? v->value() : -1);
                    } else {
                        std::this_thread::yield();
                    }
                }
            });
        }
        for (auto& t : threads)
            t.join();
        std::size_t total = 0;
        for (const auto& s : seen)
            total += s.size();
        REQUIRE(total + r.size() == std::size_t{producers * per_producer});
        REQUIRE(r.size() > 0);
    }
    std::vector<int> count(producers * per_producer, 0);
    for (const auto& s : seen) {
        // Each consumer sees each producer's elements in the order it pushed them.
        std::vector<int> last(producers, -1);
        for (int v : s) {
            REQUIRE(v >= 0);
            ++count[static_cast<std::size_t>(v)];
            const int p = v / per_producer;
            REQUIRE(v > last[static_cast<std::size_t>(p)]);
            last[static_cast<std::size_t>(p)] = v;
        }
    }
    for (int n : count)
        REQUIRE(n <= 1);
    REQUIRE(counted::copies() == 0);
    REQUIRE(counted::live() == 0);
}
