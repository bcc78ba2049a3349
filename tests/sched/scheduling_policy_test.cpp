// SPDX-License-Identifier: MIT
// kettle::try_push_pop: for every shipped policy, exactly the effect of a push
// followed by a pop, checked against a second copy of the policy driven by the
// pair; and the fallback for policies without their own.
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/srtf.hpp>

#include "../support/catch.hpp"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

using kettle::cause;
using kettle::tick_count;

namespace {

bool same_state(kettle::no_state, kettle::no_state) { return true; }
bool same_state(const kettle::mlfq_state& a, const kettle::mlfq_state& b) {
    return a.level == b.level && a.used == b.used && a.slice_end == b.slice_end && a.epoch == b.epoch;
}
bool same_state(const kettle::fair_share_state& a, const kettle::fair_share_state& b) {
    return a.vruntime == b.vruntime;
}

template <class Entry>
bool same(const kettle::dispatch<Entry>& a, const kettle::dispatch<Entry>& b) {
    return a.entry.value == b.entry.value && same_state(a.entry.state, b.entry.state) && a.quantum == b.quantum;
}

// Drives `fused` with try_push_pop and `paired` with push + pop through the
// same random history (arrivals, switches with every cause, blocking and
// waking, time) and requires the same dispatch every time. Returns how
// often try_push_pop declined (and the pair was used on both instead).
template <class Policy>
int differential(Policy fused, Policy paired, unsigned seed, int steps = 20'000) {
    using entry_type = typename Policy::entry_type;
    using dispatch_type = kettle::dispatch<entry_type>;
    std::mt19937 rng(seed);
    auto roll = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };

    struct held {
        dispatch_type fused, paired;
    };
    // The task "on the CPU". (On the heap: GCC 12 at -O2 takes an
    // std::optional of it for maybe-uninitialised.)
    std::unique_ptr<held> running;
    std::vector<std::pair<entry_type, entry_type>> blocked;
    int next_value = 0;
    int declined = 0;
    tick_count now = 0;

    auto dispatch_next = [&] {
        auto a = fused.pop();
        auto b = paired.pop();
        REQUIRE(a.has_value() == b.has_value());
        if (a) {
            REQUIRE(same(*a, *b));
            running = std::make_unique<held>(held{std::move(*a), std::move(*b)});
        }
    };

    for (int step = 0; step < steps; ++step) {
        switch (roll(8)) {
        case 0: // a new task (at most 40 alive)
            if (next_value < 40 || roll(50) == 0) {
                const int v = next_value++ % 1000;
                fused.push(entry_type(v), cause::created);
                paired.push(entry_type(v), cause::created);
            }
            break;
        case 1: // time passes
            now += roll(7);
            fused.advance_to(now);
            paired.advance_to(now);
            break;
        case 2: // the running task blocks
            if (running) {
                blocked.emplace_back(std::move(running->fused.entry), std::move(running->paired.entry));
                running.reset();
            }
            break;
        case 3: // a blocked task wakes
            if (!blocked.empty()) {
                const std::size_t i = static_cast<std::size_t>(roll(static_cast<int>(blocked.size())));
                auto [a, b] = std::move(blocked[i]);
                blocked.erase(blocked.begin() + static_cast<std::ptrdiff_t>(i));
                fused.push(std::move(a), cause::woken);
                paired.push(std::move(b), cause::woken);
            }
            break;
        default: // a switch: the running task is charged and handed back
            if (!running) {
                dispatch_next();
                break;
            }
            {
                REQUIRE(fused.preempts(running->fused.entry) == paired.preempts(running->paired.entry));
                const tick_count ran = roll(4) == 0 ? 0 : roll(12);
                fused.charge(running->fused.entry, ran);
                paired.charge(running->paired.entry, ran);
                // Drivers hand over as preempted or yielded; the other
                // causes must work as well (a woken task that had been
                // running; a task pushed as new by a driver of its own).
                constexpr cause causes[] = {cause::preempted, cause::yielded, cause::preempted,
                                            cause::yielded,   cause::woken,   cause::created};
                const cause c = causes[roll(6)];
                paired.push(std::move(running->paired.entry), c);
                running->paired = std::move(*paired.pop());
                if (!kettle::try_push_pop(fused, running->fused, c)) {
                    ++declined;
                    fused.push(std::move(running->fused.entry), c);
                    running->fused = std::move(*fused.pop());
                }
                REQUIRE(same(running->fused, running->paired));
                REQUIRE(fused.size() == paired.size());
            }
            break;
        }
    }
    // What is left comes out the same, in the same order.
    if (running) {
        fused.push(std::move(running->fused.entry), cause::yielded);
        paired.push(std::move(running->paired.entry), cause::yielded);
    }
    for (auto& [a, b] : blocked) {
        fused.push(std::move(a), cause::woken);
        paired.push(std::move(b), cause::woken);
    }
    while (auto a = fused.pop()) {
        auto b = paired.pop();
        REQUIRE(b.has_value());
        REQUIRE(same(*a, *b));
    }
    REQUIRE(paired.empty());
    return declined;
}

// A policy with only the required members, and a push that may throw.
class plain_fifo {
public:
    using value_type = int;
    using entry_type = kettle::sched_entry<int>;
    void push(entry_type e, cause) { m_queue.push_back(std::move(e)); }
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() {
        if (m_queue.empty())
            return std::nullopt;
        kettle::dispatch<entry_type> d{m_queue.front(), std::nullopt};
        m_queue.erase(m_queue.begin());
        return d;
    }
    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count) noexcept {}
    [[nodiscard]] std::size_t size() const noexcept { return m_queue.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_queue.empty(); }

private:
    std::vector<entry_type> m_queue;
};
static_assert(kettle::scheduling_policy<plain_fifo>);

// The same with a push and pop that promise not to throw.
class nothrow_fifo : public plain_fifo {
public:
    void push(entry_type e, cause c) noexcept {
        try {
            plain_fifo::push(std::move(e), c);
        } catch (...) {
            std::terminate(); // a test policy: the vector never fails here
        }
    }
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() noexcept {
        try {
            return plain_fifo::pop();
        } catch (...) {
            std::terminate();
        }
    }
};
static_assert(kettle::scheduling_policy<nothrow_fifo>);

struct throwing_length {
    tick_count operator()(int v) const {
        if (v == 7)
            throw std::runtime_error("no estimate for 7");
        return v % 5;
    }
};

} // namespace

TEST_CASE("try_push_pop: fcfs and round robin hand over exactly as push then pop",
          "[sched][try_push_pop]") {
    CHECK(differential(kettle::fcfs<int>{}, kettle::fcfs<int>{}, 1) == 0);
    const kettle::round_robin_settings rr{.quantum = 3};
    CHECK(differential(kettle::round_robin<int>(rr), kettle::round_robin<int>(rr), 2) == 0);
}

TEST_CASE("try_push_pop: the heaps hand over exactly as push then pop", "[sched][try_push_pop]") {
    CHECK(differential(kettle::sjf<int>{}, kettle::sjf<int>{}, 3) == 0);
    CHECK(differential(kettle::srtf<int>{}, kettle::srtf<int>{}, 4) == 0);
    const kettle::priority_settings aging{.aging_interval = 4};
    CHECK(differential(kettle::priority<int>{}, kettle::priority<int>{}, 5) == 0);
    CHECK(differential(kettle::priority<int>(aging), kettle::priority<int>(aging), 6) == 0);
    const kettle::fair_share_settings fs{.slice = 4};
    CHECK(differential(kettle::fair_share<int>(fs), kettle::fair_share<int>(fs), 7) == 0);
}

TEST_CASE("try_push_pop: mlfq hands over exactly as push then pop, under every rule",
          "[sched][try_push_pop][mlfq]") {
    const auto rule = GENERATE(kettle::mlfq_io_rule::keep_allotment, kettle::mlfq_io_rule::reset_allotment);
    const tick_count boost = GENERATE(tick_count{0}, tick_count{25});
    const kettle::mlfq_settings s{
        .levels = 4, .quanta = {2, 4, 8, 16}, .allotments = {3, 6, 8, 20}, .boost_period = boost, .io_rule = rule};
    CAPTURE(static_cast<int>(rule), boost);
    // Declining is allowed only where a higher level waits and the task's
    // own level would have to grow; it must stay rare.
    const int declined = differential(kettle::mlfq<int>(s), kettle::mlfq<int>(s), 8);
    CHECK(declined < 500);
}

TEST_CASE("try_push_pop: mlfq declines, untouched, when the level would have to grow",
          "[sched][try_push_pop][mlfq]") {
    using mlfq = kettle::mlfq<int>;
    mlfq q({.levels = 2, .quanta = {1, 1}});
    // A task that used its allotment goes down a level, whose ring has no
    // buffer yet, while a new task waits at the top.
    q.push(mlfq::entry_type(1), cause::created);
    auto d = *q.pop();
    q.push(mlfq::entry_type(2), cause::created);
    q.charge(d.entry, 1);
    const kettle::mlfq_state before = d.entry.state;
    REQUIRE_FALSE(kettle::try_push_pop(q, d, cause::preempted));
    REQUIRE(d.entry.value == 1);
    REQUIRE(same_state(d.entry.state, before));
    REQUIRE(q.size() == 1);
    // The pair does it (and allocates).
    q.push(std::move(d.entry), cause::preempted);
    d = *q.pop();
    REQUIRE(d.entry.value == 2);
    REQUIRE(q.level_of(q.pop()->entry) == 1);
}

TEST_CASE("try_push_pop: without its own, the pair when it cannot throw, else nothing",
          "[sched][try_push_pop]") {
    SECTION("a push that may throw: declined, untouched") {
        plain_fifo q;
        q.push(plain_fifo::entry_type(1), cause::created);
        q.push(plain_fifo::entry_type(2), cause::created);
        auto d = *q.pop();
        REQUIRE_FALSE(kettle::try_push_pop(q, d, cause::yielded));
        REQUIRE(d.entry.value == 1);
        REQUIRE(q.size() == 1);
    }
    SECTION("noexcept push and pop: the pair") {
        nothrow_fifo q;
        q.push(nothrow_fifo::entry_type(1), cause::created);
        q.push(nothrow_fifo::entry_type(2), cause::created);
        auto d = *q.pop();
        REQUIRE(kettle::try_push_pop(q, d, cause::yielded));
        REQUIRE(d.entry.value == 2);
        REQUIRE(q.pop()->entry.value == 1);
    }
}

TEST_CASE("try_push_pop: a projection that throws makes it decline, nothing moved",
          "[sched][try_push_pop]") {
    kettle::sjf<int, throwing_length> q;
    q.push(kettle::sjf<int, throwing_length>::entry_type(3), cause::created);
    kettle::dispatch<kettle::sjf<int, throwing_length>::entry_type> d{
        kettle::sjf<int, throwing_length>::entry_type(7), std::nullopt};
    REQUIRE_FALSE(kettle::try_push_pop(q, d, cause::yielded));
    REQUIRE(d.entry.value == 7);
    REQUIRE(q.size() == 1);
    REQUIRE_THROWS_AS(q.push(std::move(d.entry), cause::yielded), std::runtime_error);
}

TEST_CASE("mlfq: at most 64 levels", "[sched][mlfq]") {
    REQUIRE_THROWS_AS(kettle::mlfq<int>({.levels = 65}), std::invalid_argument);
    kettle::mlfq<int> q({.levels = 64, .base_quantum = 1});
    REQUIRE(q.levels() == 64);
    q.push(kettle::mlfq<int>::entry_type(1), cause::created);
    auto d = *q.pop();
    for (int i = 0; i < 70; ++i) { // sinks to the bottom level and stays there
        q.charge(d.entry, d.entry.state.slice_left());
        q.push(std::move(d.entry), cause::preempted);
        d = *q.pop();
    }
    REQUIRE(d.entry.state.level == 63);
}
