// SPDX-License-Identifier: MIT
#include <kettle/sched/detail/lock_free_fifo.hpp>
#include <kettle/sched/detail/lock_free_mlfq.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/round_robin.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using kettle::cause;
using kettle::tick_count;
using kettle_test::counted;

namespace {

template <class Policy>
using core = kettle::detail::run_queue_core<Policy, kettle::lock_free>;

// Stress sizes: bounded, and smaller under ThreadSanitizer so that every
// test finishes in seconds there too.
#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif
#else
constexpr bool under_tsan = false;
#endif

} // namespace

static_assert(kettle::lock_free::supports<kettle::fcfs<int>>);
static_assert(kettle::lock_free::supports<kettle::round_robin<int>>);
static_assert(kettle::lock_free::supports<kettle::mlfq<int>>);

// ---- every core ----------------------------------------------------------------------

TEMPLATE_TEST_CASE("lock-free cores: elements are neither leaked nor copied", "[sched][lock_free]",
                   kettle::fcfs<counted>, kettle::round_robin<counted>, kettle::mlfq<counted>) {
    counted::reset();
    {
        core<TestType> q(64);
        using entry_type = typename core<TestType>::entry_type;
        REQUIRE(q.empty());
        for (int i = 0; i < 50; ++i) {
            entry_type e{counted(i % 7)};
            REQUIRE(q.try_push(e, cause::created));
            REQUIRE(e.value.moved_from());
        }
        REQUIRE(q.size() == 50);
        q.advance_to(1);
        for (int i = 0; i < 20; ++i) {
            auto d = q.try_pop();
            REQUIRE(d.has_value());
            REQUIRE(d->entry.value.intact());
            REQUIRE_FALSE(d->entry.value.moved_from());
            q.charge(d->entry, 1);
            if (i % 2 == 0)
                REQUIRE(q.try_push(d->entry, cause::preempted));
        }
        REQUIRE(q.size() == 40);
        REQUIRE(counted::copies() == 0);
    } // 40 still queued: the destructor destroys them
    REQUIRE(counted::live() == 0);
}

// ---- fcfs and round robin --------------------------------------------------------------

TEST_CASE("lock-free fcfs: capacity, FIFO order, full", "[sched][lock_free]") {
    REQUIRE(core<kettle::fcfs<int>>().capacity() == kettle::detail::lock_free_default_capacity);
    core<kettle::fcfs<counted>> q(5);
    REQUIRE(q.capacity() == 8);
    using entry_type = core<kettle::fcfs<counted>>::entry_type;
    for (int i = 0; i < 8; ++i) {
        entry_type e{counted(i)};
        REQUIRE(q.try_push(e, i % 2 ? cause::woken : cause::created));
    }
    entry_type extra{counted(100)};
    REQUIRE_FALSE(q.try_push(extra, cause::created));
    REQUIRE_FALSE(extra.value.moved_from());
    REQUIRE(extra.value.value() == 100);
    REQUIRE(q.size() == 8);

    auto first = q.try_pop();
    REQUIRE(first.has_value());
    REQUIRE(first->entry.value.value() == 0);
    REQUIRE_FALSE(first->quantum.has_value());
    REQUIRE_FALSE(q.preempts(first->entry));
    REQUIRE(q.try_push(extra, cause::created)); // room again
    for (int i = 1; i < 8; ++i)
        REQUIRE(q.try_pop()->entry.value.value() == i);
    REQUIRE(q.try_pop()->entry.value.value() == 100);
    REQUIRE_FALSE(q.try_pop().has_value());
    REQUIRE(q.empty());
}

TEST_CASE("lock-free round robin: the quantum rides on every dispatch", "[sched][lock_free]") {
    core<kettle::round_robin<int>> q(0, kettle::round_robin_settings{.quantum = 4});
    REQUIRE(q.quantum() == 4);
    REQUIRE(q.capacity() == kettle::detail::lock_free_default_capacity);
    using entry_type = core<kettle::round_robin<int>>::entry_type;
    for (int i = 0; i < 3; ++i) {
        entry_type e(i);
        REQUIRE(q.try_push(e, cause::created));
    }
    auto d = q.try_pop();
    REQUIRE(d->entry.value == 0);
    REQUIRE(d->quantum == 4);
    q.charge(d->entry, 4);
    REQUIRE(q.try_push(d->entry, cause::preempted)); // to the tail
    REQUIRE(q.try_pop()->entry.value == 1);
    REQUIRE(q.try_pop()->entry.value == 2);
    auto again = q.try_pop();
    REQUIRE(again->entry.value == 0);
    REQUIRE(again->quantum == 4);
    REQUIRE_FALSE(q.try_pop().has_value());

    REQUIRE_THROWS_AS(core<kettle::round_robin<int>>(8, kettle::round_robin_settings{.quantum = 0}),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(
        core<kettle::round_robin<int>>(8, kettle::round_robin_settings{.quantum = -3}),
        std::invalid_argument);
}

// ---- mlfq ----------------------------------------------------------------------------

namespace {
using mlfq_core = core<kettle::mlfq<int>>;
using mlfq_entry = mlfq_core::entry_type;

void push(mlfq_core& q, mlfq_entry& e, cause c) {
    REQUIRE(q.try_push(e, c));
}
mlfq_entry pop_one(mlfq_core& q) {
    auto d = q.try_pop();
    REQUIRE(d.has_value());
    return std::move(d->entry);
}
void create(mlfq_core& q, int v) {
    mlfq_entry e(v);
    push(q, e, cause::created);
}
} // namespace

TEST_CASE("lock-free mlfq: settings are checked as mlfq checks them", "[sched][lock_free][mlfq]") {
    using s = kettle::mlfq_settings;
    REQUIRE_THROWS_AS(mlfq_core(8, s{.levels = 0}), std::invalid_argument);
    REQUIRE_THROWS_AS(mlfq_core(8, s{.levels = 2, .quanta = {1}}), std::invalid_argument);
    REQUIRE_THROWS_AS(mlfq_core(8, s{.levels = 2, .allotments = {1, 0}}), std::invalid_argument);
    REQUIRE_THROWS_AS(mlfq_core(8, s{.base_quantum = 0}), std::invalid_argument);
    REQUIRE_THROWS_AS(mlfq_core(8, s{.boost_period = -1}), std::invalid_argument);
    REQUIRE_THROWS_AS(mlfq_core(8, s{.levels = 65}), std::invalid_argument);
    REQUIRE(mlfq_core(2, s{.levels = 64}).levels() == 64);

    const s settings{.levels = 3, .base_quantum = 5, .allotments = {7, 8, 9}};
    const mlfq_core q(0, settings);
    const kettle::mlfq<int> reference(settings);
    REQUIRE(q.levels() == 3);
    REQUIRE(q.capacity() == kettle::detail::lock_free_default_capacity);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(q.quantum(i) == reference.quantum(i));
        REQUIRE(q.allotment(i) == reference.allotment(i));
    }
    REQUIRE(q.quantum(2) == 20);
    REQUIRE_THROWS_AS(q.quantum(3), std::out_of_range);
}

TEST_CASE("lock-free mlfq: higher levels first, demotion, bottom level",
          "[sched][lock_free][mlfq]") {
    mlfq_core q(16, {.levels = 3, .quanta = {10, 20, 40}});
    create(q, 1);
    create(q, 2);
    auto a = pop_one(q);
    REQUIRE(a.value == 1);
    REQUIRE(a.state.level == 0);
    q.charge(a, 10); // its whole allotment at level 0
    push(q, a, cause::preempted);
    REQUIRE(q.size() == 2);
    create(q, 3);

    // Level 0 first, in FIFO order; then level 1, with its own quantum.
    auto d = q.try_pop();
    REQUIRE(d->entry.value == 2);
    REQUIRE(d->quantum == 10);
    d = q.try_pop();
    REQUIRE(d->entry.value == 3);
    d = q.try_pop();
    REQUIRE(d->entry.value == 1);
    REQUIRE(d->entry.state.level == 1);
    REQUIRE(d->quantum == 20);
    REQUIRE_FALSE(q.try_pop().has_value());

    // Down to the bottom, where a used-up allotment starts afresh.
    q.charge(d->entry, 20);
    push(q, d->entry, cause::preempted);
    d = q.try_pop();
    REQUIRE(d->entry.state.level == 2);
    REQUIRE(d->quantum == 40);
    q.charge(d->entry, 40);
    push(q, d->entry, cause::preempted);
    d = q.try_pop();
    REQUIRE(d->entry.state.level == 2);
    REQUIRE(d->entry.state.used == 0);
    REQUIRE(d->quantum == 40);
}

TEST_CASE("lock-free mlfq: a fresh slice is capped by the allotment left",
          "[sched][lock_free][mlfq]") {
    mlfq_core q(4, {.levels = 2, .quanta = {10, 10}, .allotments = {15, 15}});
    create(q, 1);
    auto a = pop_one(q);
    q.charge(a, 10);
    push(q, a, cause::preempted); // slice used up, 5 ticks of allotment left
    auto d = q.try_pop();
    REQUIRE(d->entry.state.level == 0);
    REQUIRE(d->quantum == 5);
}

TEST_CASE("lock-free mlfq: preempted mid-slice, a task resumes its slice from the tail",
          "[sched][lock_free][mlfq]") {
    // The documented difference from the lock-based mlfq, which puts it at
    // the front of its level.
    mlfq_core q(8, {.levels = 2, .quanta = {10, 10}});
    kettle::mlfq<int> locked({.levels = 2, .quanta = {10, 10}});
    create(q, 1);
    create(q, 2);
    locked.push(mlfq_entry(1), cause::created);
    locked.push(mlfq_entry(2), cause::created);

    auto a = pop_one(q);
    auto la = locked.pop()->entry;
    q.charge(a, 4);
    locked.charge(la, 4);
    push(q, a, cause::preempted);
    locked.push(std::move(la), cause::preempted);

    REQUIRE(locked.pop()->entry.value == 1); // front
    auto d = q.try_pop();
    REQUIRE(d->entry.value == 2); // tail
    d = q.try_pop();
    REQUIRE(d->entry.value == 1);
    REQUIRE(d->quantum == 6); // the rest of its slice
}

TEST_CASE("lock-free mlfq: the I/O rule, both ways", "[sched][lock_free][mlfq]") {
    for (auto rule :
         {kettle::mlfq_io_rule::keep_allotment, kettle::mlfq_io_rule::reset_allotment}) {
        mlfq_core q(4, {.levels = 2, .quanta = {10, 10}, .io_rule = rule});
        create(q, 1);
        // Run 9 of every 10 ticks, then block: the gaming pattern.
        std::vector<std::size_t> levels;
        for (int round = 0; round < 4; ++round) {
            auto d = q.try_pop();
            REQUIRE(d.has_value());
            levels.push_back(d->entry.state.level);
            const tick_count ran = std::min<tick_count>(9, *d->quantum);
            q.charge(d->entry, ran);
            push(q, d->entry, cause::woken);
        }
        if (rule == kettle::mlfq_io_rule::keep_allotment)
            REQUIRE(levels == std::vector<std::size_t>{0, 0, 1, 1}); // 9 + 1 ticks use up level 0
        else
            REQUIRE(levels == std::vector<std::size_t>{0, 0, 0, 0}); // stays on top forever
    }
}

TEST_CASE("lock-free mlfq: preempts when a higher level is waiting", "[sched][lock_free][mlfq]") {
    mlfq_core q(8, {.levels = 3, .quanta = {5, 5, 5}});
    create(q, 1);
    auto a = pop_one(q);
    q.charge(a, 5);
    push(q, a, cause::preempted); // level 1
    a = pop_one(q);
    REQUIRE(a.state.level == 1);
    REQUIRE_FALSE(q.preempts(a));
    create(q, 2);
    REQUIRE(q.preempts(a));
    auto b = pop_one(q);
    REQUIRE_FALSE(q.preempts(a)); // the bit may linger; the ring is empty
    REQUIRE_FALSE(q.preempts(b));
    push(q, a, cause::yielded);
    REQUIRE_FALSE(q.preempts(b)); // a lower level never preempts
}

TEST_CASE("lock-free mlfq: a full level reports full and leaves the entry as it was",
          "[sched][lock_free][mlfq]") {
    mlfq_core q(2, {.levels = 2, .quanta = {3, 3}});
    create(q, 1);
    create(q, 2);
    mlfq_entry e(3);
    e.state = {.level = 1, .epoch = 7, .used = 2, .slice_end = 3};
    REQUIRE_FALSE(q.try_push(e, cause::created));
    REQUIRE(e.value == 3);
    REQUIRE(e.state.level == 1);
    REQUIRE(e.state.used == 2);
    REQUIRE(e.state.slice_left() == 1);
    REQUIRE(e.state.epoch == 7);
    REQUIRE(q.try_pop()->entry.value == 1);
    REQUIRE(q.try_push(e, cause::created));
    REQUIRE(q.size() == 2);
}

TEST_CASE("lock-free mlfq: a boost puts every task back on top, in the lock-based order",
          "[sched][lock_free][mlfq]") {
    const kettle::mlfq_settings settings{.levels = 3, .quanta = {10, 10, 10}, .boost_period = 50};
    mlfq_core q(8, settings);
    kettle::mlfq<int> locked(settings);

    // The same script on both: A sinks to level 2, B to level 1, C waits on
    // top and D runs (held by the driver) when the boost comes.
    auto both_create = [&](int v) {
        create(q, v);
        locked.push(mlfq_entry(v), cause::created);
    };
    auto both_pop = [&](int expect) {
        auto d = q.try_pop();
        auto ld = locked.pop();
        REQUIRE(d.has_value());
        REQUIRE(ld.has_value());
        REQUIRE(d->entry.value == expect);
        REQUIRE(ld->entry.value == expect);
        REQUIRE(d->quantum == ld->quantum);
        REQUIRE(d->entry.state.level == ld->entry.state.level);
        return std::pair{std::move(d->entry), std::move(ld->entry)};
    };
    auto both_demote = [&](std::pair<mlfq_entry, mlfq_entry>& p) {
        q.charge(p.first, 10);
        locked.charge(p.second, 10);
        push(q, p.first, cause::preempted);
        locked.push(std::move(p.second), cause::preempted);
    };

    both_create('A');
    both_create('B');
    auto a = both_pop('A');
    both_demote(a); // A: level 1
    auto b = both_pop('B');
    both_demote(b); // B: level 1
    a = both_pop('A');
    both_demote(a); // A: level 2
    both_create('D');
    auto d = both_pop('D');
    both_create('C');

    q.advance_to(49);
    locked.advance_to(49);
    REQUIRE_FALSE(q.preempts(d.first));
    REQUIRE(q.level_of(d.first) == 0);
    q.advance_to(50);
    locked.advance_to(50);
    REQUIRE(q.preempts(d.first)); // the running task is boosted too
    REQUIRE(locked.preempts(d.second));
    q.charge(d.first, 3); // boosted meanwhile: not charged
    REQUIRE(d.first.state.used == 0);

    // C (top before the boost), then B (level 1), then A (level 2), all
    // restarted at the top; then D, pushed back after the boost.
    push(q, d.first, cause::preempted);
    locked.push(std::move(d.second), cause::preempted);
    auto c = both_pop('C');
    REQUIRE(c.first.state.level == 0);
    b = both_pop('B');
    REQUIRE(b.first.state.level == 0);
    REQUIRE(b.first.state.used == 0);
    a = both_pop('A');
    REQUIRE(a.first.state.level == 0);
    both_pop('D');
    REQUIRE_FALSE(q.try_pop().has_value());
    REQUIRE_FALSE(locked.pop().has_value());
}

TEST_CASE("lock-free mlfq: a task demoted after a boost waits behind the boosted ones",
          "[sched][lock_free][mlfq]") {
    const kettle::mlfq_settings settings{.levels = 3, .quanta = {10, 10, 10}, .boost_period = 100};
    mlfq_core q(8, settings);
    kettle::mlfq<int> locked(settings);
    for (int v : {1, 2, 3}) {
        create(q, v);
        locked.push(mlfq_entry(v), cause::created);
    }
    // 1 and 2 sink to level 1; 3 stays on top.
    for (int i = 0; i < 2; ++i) {
        auto e = pop_one(q);
        auto le = locked.pop()->entry;
        REQUIRE(e.value == le.value);
        q.charge(e, 10);
        locked.charge(le, 10);
        push(q, e, cause::preempted);
        locked.push(std::move(le), cause::preempted);
    }
    q.advance_to(100);
    locked.advance_to(100);
    // 3 runs first and sinks again, into the level-1 ring that still holds
    // 1 and 2 from before the boost; they are top-level, 3 is not.
    auto e = pop_one(q);
    auto le = locked.pop()->entry;
    REQUIRE(e.value == 3);
    REQUIRE(le.value == 3);
    q.charge(e, 10);
    locked.charge(le, 10);
    push(q, e, cause::preempted);
    locked.push(std::move(le), cause::preempted);
    create(q, 4);
    locked.push(mlfq_entry(4), cause::created);
    std::vector<int> order;
    std::vector<int> locked_order;
    while (auto d = q.try_pop())
        order.push_back(d->entry.value);
    while (auto d = locked.pop())
        locked_order.push_back(d->entry.value);
    REQUIRE(locked_order == std::vector<int>{1, 2, 4, 3});
    REQUIRE(order == locked_order);
}

TEST_CASE("lock-free mlfq: several boosts due at once make one; a time makes one boost once",
          "[sched][lock_free][mlfq]") {
    mlfq_core q(8, {.levels = 2, .quanta = {5, 5}, .boost_period = 10});
    auto epoch_now = [&] {
        create(q, 0);
        return pop_one(q).state.epoch;
    };
    REQUIRE(epoch_now() == 0);
    q.advance_to(9);
    REQUIRE(epoch_now() == 0);
    q.advance_to(35); // 10, 20 and 30 were due
    REQUIRE(epoch_now() == 1);
    q.advance_to(35);
    q.advance_to(39);
    REQUIRE(epoch_now() == 1);
    q.advance_to(40);
    REQUIRE(epoch_now() == 2);
}

TEST_CASE("lock-free mlfq: concurrent advance_to performs each boost exactly once",
          "[sched][lock_free][mlfq][stress]") {
    mlfq_core q(8, {.levels = 2, .quanta = {5, 5}, .boost_period = 10});
    constexpr int steps = under_tsan ? 20 : 100;
    for (int k = 1; k <= steps; ++k) {
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&q, k] {
                for (int r = 0; r < 10; ++r)
                    q.advance_to(10 * k);
            });
        for (auto& t : threads)
            t.join();
        create(q, k);
        REQUIRE(pop_one(q).state.epoch == static_cast<std::uint64_t>(k));
    }
}

TEST_CASE("lock-free mlfq: random scripts match the lock-based mlfq", "[sched][lock_free][mlfq]") {
    // Single-threaded, without boosts and without mid-slice preemption (the
    // two documented differences): every dispatch must be identical.
    const auto io_rule =
        GENERATE(kettle::mlfq_io_rule::keep_allotment, kettle::mlfq_io_rule::reset_allotment);
    const kettle::mlfq_settings settings{
        .levels = 4, .quanta = {2, 4, 8, 16}, .allotments = {3, 6, 8, 20}, .io_rule = io_rule};
    mlfq_core q(64, settings);
    kettle::mlfq<int> locked(settings);
    std::mt19937 rng(12345);
    auto roll = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };

    std::vector<std::pair<mlfq_entry, mlfq_entry>> held;
    int next_id = 0;
    int dispatches = 0;
    for (int step = 0; step < 20000; ++step) {
        const unsigned op = roll(10);
        if (op < 2 && q.size() < 40) {
            create(q, next_id);
            locked.push(mlfq_entry(next_id), cause::created);
            ++next_id;
        } else if (op < 5 && held.size() < 8) {
            auto d = q.try_pop();
            auto ld = locked.pop();
            REQUIRE(d.has_value() == ld.has_value());
            if (d) {
                REQUIRE(d->entry.value == ld->entry.value);
                REQUIRE(d->quantum == ld->quantum);
                REQUIRE(d->entry.state.level == ld->entry.state.level);
                REQUIRE(d->entry.state.used == ld->entry.state.used);
                held.emplace_back(std::move(d->entry), std::move(ld->entry));
                ++dispatches;
            }
        } else if (!held.empty()) {
            const std::size_t i = roll(static_cast<unsigned>(held.size()));
            auto& [e, le] = held[i];
            REQUIRE(q.preempts(e) == locked.preempts(le));
            const tick_count slice = e.state.slice_left();
            const tick_count ran = 1 + static_cast<tick_count>(roll(static_cast<unsigned>(slice)));
            q.charge(e, ran);
            locked.charge(le, ran);
            const cause c =
                ran == slice ? cause::preempted : (roll(2) ? cause::woken : cause::yielded);
            if (roll(8) != 0) { // else it finishes
                push(q, e, c);
                locked.push(std::move(le), c);
            }
            held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        }
        REQUIRE(q.size() == locked.size());
    }
    REQUIRE(dispatches > 2000);
}

// ---- many threads ----------------------------------------------------------------------

TEST_CASE("lock-free fcfs: producers and consumers deliver every item exactly once",
          "[sched][lock_free][stress]") {
    constexpr int producers = 4;
    constexpr int consumers = 4;
    constexpr int total = under_tsan ? 60000 : 200000;
    constexpr int per_producer = total / producers;
    core<kettle::fcfs<int>> q(256);
    using entry_type = core<kettle::fcfs<int>>::entry_type;
    std::atomic<int> popped{0};
    std::vector<std::vector<int>> seen(consumers);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&q, p] {
            for (int i = 0; i < per_producer; ++i) {
                entry_type e(p * per_producer + i);
                while (!q.try_push(e, cause::created))
                    std::this_thread::yield();
            }
        });
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&, c] {
            auto& mine = seen[static_cast<std::size_t>(c)];
            while (popped.load(std::memory_order_relaxed) < total) {
                if (auto d = q.try_pop()) {
                    mine.push_back(d->entry.value);
                    popped.fetch_add(1, std::memory_order_relaxed);
                } else {
                    std::this_thread::yield();
                }
            }
        });
    for (auto& t : threads)
        t.join();

    std::vector<int> count(total, 0);
    for (const auto& s : seen) {
        std::vector<int> last(producers, -1);
        for (int v : s) {
            ++count[static_cast<std::size_t>(v)];
            auto& l = last[static_cast<std::size_t>(v / per_producer)];
            REQUIRE(v > l); // one producer's items, in its order
            l = v;
        }
    }
    int exactly_once = 0;
    for (int n : count)
        exactly_once += n == 1;
    REQUIRE(exactly_once == total);
    REQUIRE(q.empty());
}

TEST_CASE("lock-free mlfq: threads pushing at every level, with boosts, lose nothing",
          "[sched][lock_free][mlfq][stress]") {
    // Items are created by producers; consumers run them a few times each,
    // demoting them (whole slices) or sending them back woken, while time
    // advances and boosts. An item finishes after 6 dispatches. Producers
    // keep the queue under half full, so that a consumer can always push
    // back.
    //
    // Time is counted in dispatches (a tick per 100), not in how fast a
    // thread spins: a boost every 5,000 dispatches leaves every item time to
    // sink to the bottom between boosts, and makes boosts happen at all,
    // however the threads are scheduled. A clock thread and the consumers
    // both advance it, so that advance_to races with everything else.
    constexpr int producers = 2;
    constexpr int consumers = 2;
    constexpr int total = under_tsan ? 12000 : 40000;
    constexpr int per_producer = total / producers;
    constexpr int runs = 6;
    mlfq_core q(1024, {.levels = 4, .quanta = {1, 2, 4, 8}, .boost_period = 50});
    std::vector<std::atomic<int>> dispatched(total);
    std::atomic<int> finished{0};
    std::atomic<bool> stop{false};
    std::atomic<unsigned> levels_seen{0};
    std::atomic<long> dispatches{0};
    auto now = [&] { return static_cast<tick_count>(dispatches.load(std::memory_order_relaxed) / 100); };
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&q, p] {
            for (int i = 0; i < per_producer; ++i) {
                mlfq_entry e(p * per_producer + i);
                while (q.size() >= q.capacity() / 2 || !q.try_push(e, cause::created))
                    std::this_thread::yield();
            }
        });
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&, c] {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            std::minstd_rand rng(static_cast<unsigned>(c + 1));
            while (finished.load(std::memory_order_relaxed) < total &&
                   std::chrono::steady_clock::now() < deadline) {
                auto d = q.try_pop();
                if (!d) {
                    std::this_thread::yield();
                    continue;
                }
                auto& e = d->entry;
                if (e.state.slice_left() != *d->quantum || *d->quantum <= 0)
                    return;          // caught below: the dispatch is inconsistent
                (void)q.preempts(e); // concurrently with everything else
                levels_seen.fetch_or(1u << e.state.level, std::memory_order_relaxed);
                if (dispatches.fetch_add(1, std::memory_order_relaxed) % 64 == 0)
                    q.advance_to(now());
                const int n = dispatched[static_cast<std::size_t>(e.value)].fetch_add(1) + 1;
                if (n == runs) {
                    finished.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                const bool whole = rng() % 2 == 0;
                q.charge(e, whole ? *d->quantum : 1);
                const cause why = whole ? cause::preempted : cause::woken;
                while (!q.try_push(e, why))
                    std::this_thread::yield();
            }
        });
    std::thread clock([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            q.advance_to(now());
            std::this_thread::yield();
        }
    });
    for (auto& t : threads)
        t.join();
    stop.store(true);
    clock.join();

    REQUIRE(finished.load() == total);
    int exact = 0;
    for (auto& n : dispatched)
        exact += n.load() == runs;
    REQUIRE(exact == total);
    REQUIRE(q.empty());
    REQUIRE_FALSE(q.try_pop().has_value());
    REQUIRE(levels_seen.load() == 0b1111u); // dispatches at every level
    create(q, 0);
    REQUIRE(pop_one(q).state.epoch > 0); // and boosts happened
}
