// SPDX-License-Identifier: MIT
#include <kettle/loop/event_loop.hpp>
#include <kettle/mode/channel.hpp>
#include <kettle/mode/event.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/mode/when_all.hpp>
#include <kettle/sched/coroutine_scheduler.hpp>
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/srtf.hpp>
#include <kettle/sched/yield.hpp>

#include "../loop/backends.hpp"
#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using kettle::cause;
using kettle::coroutine_ref;
using kettle_test::counted;

namespace {

// A clock the test moves by hand; read on the scheduler's thread only.
struct test_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<test_clock>;
    [[maybe_unused]] static constexpr bool is_steady = true;
    static inline rep s_now = 0;
    static time_point now() noexcept { return time_point(duration(s_now)); }
    static void advance(duration d) noexcept { s_now += d.count(); }
};

// Every yield and dispatch reads the clock: slices are exact in ticks.
constexpr kettle::coroutine_scheduler_settings exact{.tick = 1ms, .samples_per_tick = 1, .max_events_per_sample = 1};

template <class Policy>
using sim_scheduler = kettle::coroutine_scheduler<Policy, test_clock>;

using fcfs_sched = kettle::coroutine_scheduler<kettle::fcfs<coroutine_ref>>;
using rr_sched = kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>>;

static_assert(kettle::executor<fcfs_sched>);
static_assert(kettle::executor<kettle::coroutine_scheduler<kettle::mlfq<coroutine_ref>, test_clock>>);
static_assert(kettle::scheduling_policy<kettle::sjf<coroutine_ref>>);
static_assert(kettle::scheduling_policy<kettle::srtf<coroutine_ref>>);
static_assert(kettle::scheduling_policy<kettle::priority<coroutine_ref>>);
static_assert(kettle::scheduling_policy<kettle::fair_share<coroutine_ref>>);

// CPU work of `ticks` ticks of the test clock, with a preemption point after each.
kettle::task<void> worker(char name, int ticks, std::string& log) {
    for (int i = 0; i < ticks; ++i) {
        log += name;
        test_clock::advance(1ms);
        co_await kettle::yield();
    }
}

kettle::task<void> hand_over(char name, int rounds, std::string& log) {
    for (int i = 0; i < rounds; ++i) {
        log += name;
        co_await kettle::yield(kettle::always);
    }
}

// FCFS with a record of every push: (task priority as its id, cause).
struct recording_fcfs {
    using value_type = coroutine_ref;
    using entry_type = kettle::sched_entry<coroutine_ref>;
    using record = std::vector<std::pair<std::int64_t, cause>>;

    explicit recording_fcfs(record* r) : m_record(r) {}
    void push(entry_type e, cause c) {
        m_record->emplace_back(e.value.priority(), c);
        m_inner.push(std::move(e), c);
    }
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() { return m_inner.pop(); }
    [[nodiscard]] bool preempts(const entry_type& e) const noexcept { return m_inner.preempts(e); }
    void charge(entry_type& e, kettle::tick_count t) noexcept { m_inner.charge(e, t); }
    void advance_to(kettle::tick_count t) noexcept { m_inner.advance_to(t); }
    [[nodiscard]] std::size_t size() const noexcept { return m_inner.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_inner.empty(); }

    record* m_record;
    kettle::fcfs<coroutine_ref> m_inner;
};
static_assert(kettle::scheduling_policy<recording_fcfs>);

// Round robin with a record of every push, also through the fused
// hand-over the scheduler uses at a switch.
struct recording_rr : recording_fcfs {
    using recording_fcfs::recording_fcfs;
    [[nodiscard]] std::optional<kettle::dispatch<entry_type>> pop() {
        auto d = m_inner.pop();
        if (d)
            d->quantum = 2;
        return d;
    }
    [[nodiscard]] bool try_push_pop(kettle::dispatch<entry_type>& d, cause c) noexcept {
        m_record->emplace_back(d.entry.value.priority(), c);
        static_cast<void>(m_inner.try_push_pop(d, c));
        d.quantum = 2;
        return true;
    }
};
static_assert(kettle::scheduling_policy<recording_rr>);

} // namespace

// ---- order of execution ------------------------------------------------------------

TEST_CASE("coroutine_scheduler: fcfs runs each task until it ends; yield never switches",
          "[sched][coroutine]") {
    test_clock::s_now = 0;
    sim_scheduler<kettle::fcfs<coroutine_ref>> sched(exact);
    std::string log;
    sched.spawn_detached(worker('A', 3, log));
    sched.spawn_detached(worker('B', 3, log));
    sched.spawn_detached(worker('C', 2, log));
    REQUIRE(sched.tasks() == 3);
    REQUIRE(sched.ready() == 3);
    REQUIRE(sched.run() == 3);
    REQUIRE(log == "AAABBBCC");
    REQUIRE(sched.tasks() == 0);
}

TEST_CASE("coroutine_scheduler: yield(always) hands over in FIFO order", "[sched][coroutine]") {
    fcfs_sched sched;
    std::string log;
    sched.spawn_detached(hand_over('A', 3, log));
    sched.spawn_detached(hand_over('B', 2, log));
    sched.spawn_detached(hand_over('C', 3, log));
    sched.run();
    REQUIRE(log == "ABCABCAC");
}

TEST_CASE("coroutine_scheduler: round robin interleaves when the slice is used up",
          "[sched][coroutine][rr]") {
    test_clock::s_now = 0;
    sim_scheduler<kettle::round_robin<coroutine_ref>> sched(exact, kettle::round_robin_settings{.quantum = 2});
    std::string log;
    sched.spawn_detached(worker('A', 5, log));
    sched.spawn_detached(worker('B', 4, log));
    sched.spawn_detached(worker('C', 1, log));
    sched.run();
    // A's third tick starts a fresh slice: a slice of 2 ends at the second tick boundary.
    REQUIRE(log == "AABBCAABBA");
    REQUIRE(sched.now_ticks() == 10);
}

TEST_CASE("coroutine_scheduler: a longer tick means longer slices", "[sched][coroutine][rr]") {
    test_clock::s_now = 0;
    sim_scheduler<kettle::round_robin<coroutine_ref>> sched({.tick = 2ms, .samples_per_tick = 1, .max_events_per_sample = 1},
                                                            kettle::round_robin_settings{.quantum = 1});
    std::string log;
    sched.spawn_detached(worker('A', 4, log));
    sched.spawn_detached(worker('B', 4, log));
    sched.run();
    REQUIRE(log == "AABBAABB");
}

TEST_CASE("coroutine_scheduler: the causes the policy hears", "[sched][coroutine]") {
    recording_fcfs::record record;
    kettle::coroutine_scheduler<recording_fcfs> sched({}, &record);
    kettle::channel<int> ch(1);
    std::string log;
    auto consumer = [&]() -> kettle::task<void> {
        co_await kettle::yield(kettle::always);
        log += std::to_string(co_await ch.pop(sched));
    };
    auto producer = [&]() -> kettle::task<void> {
        co_await kettle::yield(kettle::always);
        co_await kettle::yield(kettle::always);
        ch.push(kettle::sync_blocking, 7);
        log += 'p';
    };
    sched.spawn_detached(consumer(), {.priority = 1});
    sched.spawn_detached(producer(), {.priority = 2});
    sched.run();
    REQUIRE(log == "p7");
    const recording_fcfs::record expected{
        {1, cause::created}, {2, cause::created}, // spawned
        {1, cause::yielded}, {2, cause::yielded}, // first hand-over of each
        {2, cause::yielded},                      // the consumer blocked on the channel meanwhile
        {1, cause::woken},                        // the producer's push
    };
    REQUIRE(record == expected);
}

TEST_CASE("coroutine_scheduler: a used-up slice re-enters as preempted, a hand-over as yielded",
          "[sched][coroutine]") {
    test_clock::s_now = 0;
    recording_fcfs::record record;
    sim_scheduler<recording_rr> sched(exact, &record);
    std::string log;
    sched.spawn_detached(worker('A', 3, log), {.priority = 1});
    sched.spawn_detached(hand_over('h', 2, log), {.priority = 2});
    sched.spawn_detached(worker('B', 2, log), {.priority = 3});
    sched.run();
    REQUIRE(log == "AAhBBAh");
    const recording_fcfs::record expected{
        {1, cause::created},   {2, cause::created}, {3, cause::created},
        {1, cause::preempted}, // A's slice of 2 ticks is over at its second yield
        {2, cause::yielded},   // h hands over
        {3, cause::preempted}, // B's slice is over at its last yield, before it ends
        {2, cause::yielded},   // h's last hand-over, before it ends
    };
    REQUIRE(record == expected);
}

// ---- MLFQ -------------------------------------------------------------------------

namespace {
kettle::task<void> long_job(int ticks, int spawn_at, std::string& log,
                            sim_scheduler<kettle::mlfq<coroutine_ref>>& sched) {
    for (int i = 0; i < ticks; ++i) {
        log += static_cast<char>('0' + i);
        test_clock::advance(1ms);
        if (i == spawn_at)
            sched.spawn_detached(hand_over('B', 1, log));
        co_await kettle::yield();
    }
}
} // namespace

TEST_CASE("coroutine_scheduler: MLFQ demotes a long task; a new task preempts it",
          "[sched][coroutine][mlfq]") {
    test_clock::s_now = 0;
    // Quanta (and allotments) 1, 2, 4 ticks: the long job reaches the bottom
    // level after 3 ticks.
    sim_scheduler<kettle::mlfq<coroutine_ref>> sched(exact, kettle::mlfq_settings{.levels = 3, .base_quantum = 1});
    std::string log;
    sched.spawn_detached(long_job(9, 5, log, sched));
    sched.run();
    // B arrives during tick 5, at the top level: the demoted job's next yield
    // gives it the CPU, though its own slice (ticks 3-6) is not over.
    REQUIRE(log == "012345B678");
}

TEST_CASE("coroutine_scheduler: MLFQ at the same level lets the slice finish",
          "[sched][coroutine][mlfq]") {
    test_clock::s_now = 0;
    sim_scheduler<kettle::mlfq<coroutine_ref>> sched(exact, kettle::mlfq_settings{.levels = 2, .base_quantum = 4});
    std::string log;
    sched.spawn_detached(long_job(6, 0, log, sched));
    sched.run();
    // B is spawned during the job's first tick, on the job's own level: no
    // preemption; B runs when the 4-tick slice ends.
    REQUIRE(log == "0123B45");
}

TEST_CASE("coroutine_scheduler: MLFQ boost preempts the running task", "[sched][coroutine][mlfq]") {
    test_clock::s_now = 0;
    sim_scheduler<kettle::mlfq<coroutine_ref>> sched(
        exact, kettle::mlfq_settings{.levels = 2, .quanta = {1, 100}, .boost_period = 5});
    std::string log;
    sched.spawn_detached(worker('A', 8, log));
    sched.spawn_detached(worker('B', 8, log));
    sched.run();
    // A, B use their top-level tick, then A runs at the bottom until the boost
    // at tick 5 sends everyone back to the top: B goes first (it was queued).
    REQUIRE(log.substr(0, 6) == "ABAAAB");
    REQUIRE(log.size() == 16);
}

TEST_CASE("coroutine_scheduler: a task that only hands over is charged too", "[sched][coroutine][mlfq]") {
    test_clock::s_now = 0;
    using sched_t = sim_scheduler<kettle::mlfq<coroutine_ref>>;
    sched_t sched(exact, kettle::mlfq_settings{.levels = 2, .quanta = {1, 10}});
    std::string log;
    auto newcomer = [&]() -> kettle::task<void> {
        for (int i = 0; i < 3; ++i) {
            log += 'c';
            test_clock::advance(1ms);
            co_await kettle::yield();
        }
    };
    auto hander = [&]() -> kettle::task<void> {
        for (int i = 0; i < 6; ++i) {
            log += 'a';
            test_clock::advance(1ms);
            if (i == 2)
                sched.spawn_detached(newcomer());
            co_await kettle::yield(kettle::always);
        }
    };
    sched.spawn_detached(hander());
    sched.run();
    // The hander's slices are charged their ticks, so it sinks to the lower
    // level after its first tick, and the newcomer, once demoted too, takes
    // turns with it. Uncharged, it would stay on top: "aaacaaacc".
    REQUIRE(log == "aaacaccaa");
}

// ---- SJF, priority, fair share ---------------------------------------------------------

TEST_CASE("coroutine_scheduler: sjf picks the shortest; yield(always) re-queues by length",
          "[sched][coroutine][sjf]") {
    kettle::coroutine_scheduler<kettle::sjf<coroutine_ref>> sched;
    std::string log;
    auto job = [&](char name) -> kettle::task<void> {
        log += name;
        co_await kettle::yield(kettle::always);
        log += name;
    };
    sched.spawn_detached(job('L'), {.length = 50});
    sched.spawn_detached(job('S'), {.length = 5});
    sched.spawn_detached(job('M'), {.length = 20});
    sched.run();
    REQUIRE(log == "SSMMLL");
}

TEST_CASE("coroutine_scheduler: priority and fair share run", "[sched][coroutine]") {
    {
        kettle::coroutine_scheduler<kettle::priority<coroutine_ref>> sched;
        std::string log;
        sched.spawn_detached(hand_over('c', 1, log), {.priority = 9});
        sched.spawn_detached(hand_over('a', 1, log), {.priority = 1});
        sched.spawn_detached(hand_over('b', 1, log), {.priority = 5});
        sched.run();
        REQUIRE(log == "abc");
    }
    {
        kettle::coroutine_scheduler<kettle::fair_share<coroutine_ref>> sched;
        std::string log;
        sched.spawn_detached(hand_over('x', 3, log), {.weight = 1});
        sched.spawn_detached(hand_over('y', 3, log), {.weight = 2});
        // A weight of 0 is refused at spawn; the task is not queued.
        REQUIRE_THROWS_AS(sched.spawn_detached(hand_over('z', 3, log), {.weight = 0}), std::invalid_argument);
        REQUIRE_THROWS_AS(sched.spawn(hand_over('z', 3, log), {.weight = 0}), std::invalid_argument);
        REQUIRE(sched.tasks() == 2);
        sched.run();
        REQUIRE(log.size() == 6);
    }
}

// ---- results and joining ------------------------------------------------------------------

TEST_CASE("coroutine_scheduler: join handles deliver results", "[sched][coroutine]") {
    fcfs_sched sched;
    auto square = [](int x) -> kettle::task<int> {
        co_await kettle::yield(kettle::always);
        co_return x * x;
    };
    auto a = sched.spawn(square(3));
    auto b = sched.spawn(square(4));
    REQUIRE_FALSE(a.done());
    REQUIRE_THROWS_AS(b.get(), std::logic_error);
    REQUIRE_FALSE(b.valid());
    sched.run();
    REQUIRE(a.done());
    REQUIRE_FALSE(a.cancelled());
    REQUIRE(a.get() == 9);
    REQUIRE_FALSE(a.valid());
}

TEST_CASE("coroutine_scheduler: a task awaits another; the waiter is woken", "[sched][coroutine]") {
    recording_fcfs::record record;
    kettle::coroutine_scheduler<recording_fcfs> sched({}, &record);
    auto slow = [](int x) -> kettle::task<std::string> {
        co_await kettle::yield(kettle::always);
        co_await kettle::yield(kettle::always);
        co_return std::to_string(x);
    };
    std::string out;
    auto h = sched.spawn(slow(42), {.priority = 1});
    auto waiter = [&]() -> kettle::task<void> { out = co_await h; };
    sched.spawn_detached(waiter(), {.priority = 2});
    sched.run();
    REQUIRE(out == "42");
    REQUIRE(record.back() == std::pair<std::int64_t, cause>{2, cause::woken});
}

TEST_CASE("coroutine_scheduler: tasks spawn tasks; nested tasks yield", "[sched][coroutine]") {
    rr_sched sched;
    std::string log;
    auto inner = [&](char name) -> kettle::task<int> {
        log += name;
        co_await kettle::yield(kettle::always);
        log += name;
        co_return 1;
    };
    auto outer = [&](char name) -> kettle::task<void> {
        int n = co_await inner(name);
        n += co_await inner(name);
        REQUIRE(n == 2);
        sched.spawn_detached(hand_over('z', 1, log));
    };
    sched.spawn_detached(outer('a'));
    sched.spawn_detached(outer('b'));
    sched.run();
    REQUIRE(log == "abaabbabzz");
}

TEST_CASE("coroutine_scheduler: when_all inside a task, children yielding", "[sched][coroutine]") {
    fcfs_sched sched;
    std::string log;
    auto child = [&](char name, int rounds) -> kettle::task<int> {
        for (int i = 0; i < rounds; ++i) {
            log += name;
            co_await kettle::yield(kettle::always);
        }
        co_return rounds;
    };
    auto parent = [&]() -> kettle::task<int> {
        auto [a, b] = co_await kettle::when_all(child('x', 3), child('y', 2));
        co_return a + b;
    };
    auto h = sched.spawn(parent());
    sched.spawn_detached(hand_over('o', 4, log));
    sched.run();
    REQUIRE(h.get() == 5);
    REQUIRE(log.size() == 9);
}

TEST_CASE("coroutine_scheduler: coroutines of one task that yield in one slice resume in order",
          "[sched][coroutine]") {
    fcfs_sched sched;
    std::string log;
    auto child = [&](char name, int rounds) -> kettle::task<int> {
        for (int i = 0; i < rounds; ++i) {
            log += name;
            co_await kettle::yield(kettle::always);
        }
        co_return rounds;
    };
    auto parent = [&]() -> kettle::task<int> {
        auto [a, b, c] = co_await kettle::when_all(child('x', 3), child('y', 2), child('z', 4));
        co_return a + b + c;
    };
    auto h = sched.spawn(parent());
    sched.spawn_detached(hand_over('o', 5, log));
    sched.run();
    REQUIRE(h.get() == 9);
    // One slice starts all three children; each later slice resumes the
    // oldest pending one, and a yield queues behind what is still pending.
    REQUIRE(log == "xyzoxoyozoxozz");
}

TEST_CASE("coroutine_scheduler: yield outside any task does nothing", "[sched][coroutine]") {
    auto plain = []() -> kettle::task<int> {
        co_await kettle::yield();
        co_await kettle::yield(kettle::always);
        co_return 3;
    };
    REQUIRE(kettle::sync_wait(plain()) == 3);
}

// ---- the executor: channels, events, other threads --------------------------------------------

TEST_CASE("coroutine_scheduler: a task blocked on a channel is woken by another thread",
          "[sched][coroutine]") {
    recording_fcfs::record record;
    kettle::coroutine_scheduler<recording_fcfs> sched({}, &record);
    kettle::channel<int> ch(2);
    int sum = 0;
    auto consumer = [&]() -> kettle::task<void> {
        for (int i = 0; i < 20; ++i)
            sum += co_await ch.pop(sched);
    };
    sched.spawn_detached(consumer(), {.priority = 1});
    std::thread producer([&] {
        for (int i = 1; i <= 20; ++i)
            ch.push(kettle::sync_blocking, i);
    });
    sched.run();
    producer.join();
    REQUIRE(sum == 210);
    REQUIRE(record.front().second == cause::created);
    for (std::size_t i = 1; i < record.size(); ++i)
        REQUIRE(record[i].second == cause::woken);
}

TEST_CASE("coroutine_scheduler: ping-pong between tasks through channels", "[sched][coroutine]") {
    rr_sched sched;
    kettle::channel<int> ping(1);
    kettle::channel<int> pong(1);
    int last = 0;
    auto a = [&]() -> kettle::task<void> {
        for (int i = 0; i < 100; ++i) {
            co_await ping.push(sched, i);
            last = co_await pong.pop(sched);
        }
    };
    auto b = [&]() -> kettle::task<void> {
        for (int i = 0; i < 100; ++i)
            co_await pong.push(sched, co_await ping.pop(sched) + 1);
    };
    sched.spawn_detached(a());
    sched.spawn_detached(b());
    sched.run();
    REQUIRE(last == 100);
}

TEST_CASE("coroutine_scheduler: completions started outside tasks run between slices",
          "[sched][coroutine]") {
    fcfs_sched sched;
    kettle::event ev;
    kettle::channel<int> ch(4);
    auto fut = ev.wait(kettle::async_blocking, sched); // from the scheduler's thread, outside any task
    int got = 0;
    ch.pop(kettle::async_nonblocking, sched, [&](int v) { got = v; });
    bool pushed = false;
    std::thread setter([&] {
        std::this_thread::sleep_for(5ms);
        pushed = ch.try_push(5);
        ev.set();
    });
    sched.run(); // the tracked operations keep it running until both complete
    setter.join();
    REQUIRE(pushed);
    REQUIRE(got == 5);
    REQUIRE(fut.ready());
    fut.get();
}

TEST_CASE("coroutine_scheduler: post from another thread wakes an idle scheduler",
          "[sched][coroutine]") {
    fcfs_sched sched;
    kettle::event ev;
    bool done = false;
    auto waiter = [&]() -> kettle::task<void> {
        co_await ev.wait(sched);
        done = true;
    };
    sched.spawn_detached(waiter());
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        ev.set();
    });
    sched.run();
    t.join();
    REQUIRE(done);
}

// ---- time: sleep_for through the loop ---------------------------------------------------------

TEST_CASE("coroutine_scheduler: sleep_for blocks the task on a loop timer", "[sched][coroutine][loop]") {
    recording_fcfs::record record;
    kettle::coroutine_scheduler<recording_fcfs> sched({}, &record);
    std::string log;
    auto sleeper = [&](char name, std::chrono::milliseconds d) -> kettle::task<void> {
        const auto start = std::chrono::steady_clock::now();
        co_await sched.sleep_for(d);
        REQUIRE(std::chrono::steady_clock::now() - start >= d); // a timer never fires early
        log += name;
    };
    sched.spawn_detached(sleeper('a', 40ms), {.priority = 1});
    sched.spawn_detached(sleeper('b', 10ms), {.priority = 2});
    sched.spawn_detached(sleeper('c', 0ms), {.priority = 3}); // does not suspend
    sched.run();
    REQUIRE(log == "cba");
    REQUIRE(record.size() == 5);
    REQUIRE(record[3] == std::pair<std::int64_t, cause>{2, cause::woken});
    REQUIRE(record[4] == std::pair<std::int64_t, cause>{1, cause::woken});
}

TEST_CASE("coroutine_scheduler: on the caller's loop, with the loop's own callbacks",
          "[sched][coroutine][loop]") {
    kettle::event_loop<> loop;
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched(loop);
    kettle::channel<int> ch(1);
    int got = 0;
    loop.add_timer(5ms, [&] { REQUIRE(ch.try_push(11)); }); // a plain loop callback
    auto task = [&]() -> kettle::task<void> {
        got = co_await ch.pop(sched);
        co_await sched.sleep_for(1ms);
        got += 1;
    };
    sched.spawn_detached(task());
    sched.run();
    REQUIRE(got == 12);
    REQUIRE(&sched.loop() == &loop);
}

TEST_CASE("coroutine_scheduler: sleepers wake while another task computes", "[sched][coroutine][loop]") {
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched({.tick = 1ms},
                                                                           kettle::round_robin_settings{.quantum = 1});
    std::atomic<bool> woke{false};
    auto sleeper = [&]() -> kettle::task<void> {
        co_await sched.sleep_for(2ms);
        woke = true;
    };
    auto spinner = [&]() -> kettle::task<void> {
        while (!woke)
            co_await kettle::yield();
    };
    sched.spawn_detached(sleeper());
    sched.spawn_detached(spinner());
    sched.run();
    REQUIRE(woke);
}

// ---- waiting for a descriptor ----------------------------------------------------------------

TEST_CASE("coroutine_scheduler: wait_io blocks the task until its socket is ready", "[sched][coroutine][loop]") {
    recording_fcfs::record record;
    kettle::coroutine_scheduler<recording_fcfs> sched({}, &record);
    kettle_test::socket_pair pair;
    REQUIRE(pair.valid());
    kettle::io_events seen{};
    std::size_t got = 0;
    auto reader = [&]() -> kettle::task<void> {
        seen = co_await sched.wait_io(pair.second(), kettle::interest::readable);
        got = kettle_test::drain(pair.second());
    };
    auto writer = [&]() -> kettle::task<void> {
        co_await sched.sleep_for(5ms);
        kettle_test::send_bytes(pair.first(), 5);
    };
    sched.spawn_detached(reader(), {.priority = 1});
    sched.spawn_detached(writer(), {.priority = 2});
    sched.run(); // sleeps in the loop while both wait
    REQUIRE(seen.readable());
    REQUIRE(got == 5);
    REQUIRE_FALSE(sched.loop().is_registered(pair.second())); // one readiness, one wake-up
    REQUIRE(record.size() == 4);
    REQUIRE(record[2] == std::pair<std::int64_t, cause>{2, cause::woken}); // the writer's sleep ends
    REQUIRE(record[3] == std::pair<std::int64_t, cause>{1, cause::woken}); // the reader's socket is ready
}

TEST_CASE("coroutine_scheduler: wait_io wakes while another task computes", "[sched][coroutine][loop]") {
    kettle::coroutine_scheduler<kettle::round_robin<coroutine_ref>> sched({.tick = 1ms},
                                                                           kettle::round_robin_settings{.quantum = 1});
    kettle_test::socket_pair pair;
    bool woke = false;
    bool seen_while_computing = false;
    auto reader = [&]() -> kettle::task<void> {
        co_await sched.wait_io(pair.second(), kettle::interest::readable);
        woke = true;
    };
    auto spinner = [&]() -> kettle::task<void> {
        kettle_test::send_bytes(pair.first(), 1);
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!woke && std::chrono::steady_clock::now() < give_up)
            co_await kettle::yield(); // never blocks: the loop is polled once per tick
        seen_while_computing = woke;
    };
    sched.spawn_detached(reader());
    sched.spawn_detached(spinner());
    sched.run();
    REQUIRE(seen_while_computing);
}

TEST_CASE("coroutine_scheduler: wait_io on a bad descriptor fails the task, not the scheduler",
          "[sched][coroutine][loop]") {
    fcfs_sched sched;
    kettle_test::socket_pair pair;
    auto waits = [&](kettle::native_handle h) -> kettle::task<int> {
        co_await sched.wait_io(h, kettle::interest::readable);
        co_return 1;
    };
    auto closed = sched.spawn(waits(kettle_test::closed_handle()));
    auto first = sched.spawn(waits(pair.second()));
    auto second = sched.spawn(waits(pair.second())); // one waiting task per descriptor
    sched.run_for(20ms);
    REQUIRE(closed.done());
    std::error_code ec;
    try {
        static_cast<void>(closed.get());
    } catch (const std::system_error& e) {
        ec = e.code();
    }
    REQUIRE(kettle_test::is_bad_descriptor(ec));
    REQUIRE(second.done());
    REQUIRE_THROWS_AS(second.get(), std::system_error);
    REQUIRE_FALSE(first.done()); // still waiting, and its watch still stands
    REQUIRE(sched.loop().is_registered(pair.second()));
    kettle_test::send_bytes(pair.first(), 1);
    sched.run();
    REQUIRE(first.get() == 1);
}

TEST_CASE("coroutine_scheduler: destroying a task that waits on a descriptor ends the watch",
          "[sched][coroutine][loop]") {
    kettle::event_loop<> loop;
    kettle_test::socket_pair pair;
    {
        kettle::coroutine_scheduler<kettle::fcfs<coroutine_ref>> sched(loop);
        auto waits = [&]() -> kettle::task<void> {
            co_await sched.wait_io(pair.second(), kettle::interest::readable);
        };
        auto h = sched.spawn(waits());
        sched.run_for(5ms);
        REQUIRE(loop.is_registered(pair.second()));
    }
    REQUIRE_FALSE(loop.is_registered(pair.second()));
}

// ---- exceptions ---------------------------------------------------------------------------

TEST_CASE("coroutine_scheduler: exceptions reach the joiner", "[sched][coroutine]") {
    fcfs_sched sched;
    auto failing = []() -> kettle::task<int> {
        co_await kettle::yield(kettle::always);
        throw std::runtime_error("boom");
    };
    auto h1 = sched.spawn(failing());
    auto h2 = sched.spawn(failing());
    std::string caught;
    auto joiner = [&]() -> kettle::task<void> {
        try {
            co_await h2;
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
    };
    sched.spawn_detached(joiner());
    sched.run();
    REQUIRE(caught == "boom");
    REQUIRE(h1.done());
    REQUIRE_THROWS_AS(h1.get(), std::runtime_error);
}

// FCFS whose push throws std::bad_alloc once, for the cause armed (as a
// growing queue would when memory runs out), and whose charge throws once
// when armed.
struct failing_push_fcfs {
    using value_type = coroutine_ref;
    using entry_type = kettle::sched_entry<coroutine_ref>;
    void push(entry_type e, cause c) {
        if (s_fail_on == c) {
            s_fail_on.reset();
            throw std::bad_alloc();
        }
        inner.push(std::move(e), c);
    }
    std::optional<kettle::dispatch<entry_type>> pop() { return inner.pop(); }
    bool preempts(const entry_type& e) const noexcept { return inner.preempts(e); }
    void charge(entry_type& e, kettle::tick_count t) {
        if (std::exchange(s_fail_charge, false))
            throw std::bad_alloc();
        inner.charge(e, t);
    }
    void advance_to(kettle::tick_count t) noexcept { inner.advance_to(t); }
    std::size_t size() const noexcept { return inner.size(); }
    bool empty() const noexcept { return inner.empty(); }
    static inline std::optional<cause> s_fail_on;
    static inline bool s_fail_charge = false;
    kettle::fcfs<coroutine_ref> inner;
};

TEST_CASE("coroutine_scheduler: a task the policy cannot take back fails with the policy's exception",
          "[sched][coroutine]") {
    using sched_type = kettle::coroutine_scheduler<failing_push_fcfs>;
    sched_type sched;
    std::string log;

    SECTION("given back after a yield: its joiner gets the exception, the others go on") {
        auto h = sched.spawn(hand_over('a', 3, log));
        sched.spawn_detached(hand_over('b', 2, log));
        failing_push_fcfs::s_fail_on = cause::yielded;
        sched.run();
        REQUIRE(log == "abb"); // 'a' failed at its first yield, 'b' ran on
        REQUIRE(h.done());
        REQUIRE_THROWS_AS(h.get(), std::bad_alloc);
        REQUIRE(sched.tasks() == 0);
    }
    SECTION("detached: the run rethrows it, and nothing is left running") {
        sched.spawn_detached(hand_over('a', 3, log));
        failing_push_fcfs::s_fail_on = cause::yielded;
        REQUIRE_THROWS_AS(sched.run(), std::bad_alloc);
        REQUIRE(sched.tasks() == 0);
        // Work that belongs to no task runs as such afterwards: a callback
        // that completes another operation is not taken for the failed task's.
        kettle::channel<int> first(1);
        kettle::channel<int> second(1);
        int got = 0;
        second.pop(kettle::async_nonblocking, sched, [&](int v) { got = v; });
        REQUIRE(first.try_push(1));
        first.pop(kettle::async_nonblocking, sched, [&](int) { REQUIRE(second.try_push(7)); });
        sched.run_for(200ms);
        REQUIRE(got == 7);
    }
    SECTION("a charge that throws: the task fails, the others go on chained") {
        auto h = sched.spawn(hand_over('a', 3, log));
        sched.spawn_detached(hand_over('b', 3, log));
        failing_push_fcfs::s_fail_charge = true;
        REQUIRE(sched.run() == 5); // a's one slice (its charge fails), then b's four
        REQUIRE(log == "abbb");
        REQUIRE_THROWS_AS(h.get(), std::bad_alloc);
        REQUIRE(sched.tasks() == 0);
    }
    SECTION("woken: the wake fails the task, not the waker") {
        kettle::channel<int> ch(1);
        auto waiter = [&]() -> kettle::task<int> { co_return co_await ch.pop(sched); };
        auto h = sched.spawn(waiter());
        sched.run_once(); // blocks on the empty channel
        REQUIRE_FALSE(h.done());
        failing_push_fcfs::s_fail_on = cause::woken;
        REQUIRE(ch.try_push(5));
        sched.run();
        REQUIRE(h.done());
        REQUIRE_THROWS_AS(h.get(), std::bad_alloc);
        REQUIRE(sched.tasks() == 0);
    }
}

TEST_CASE("coroutine_scheduler: a detached task's exception is rethrown by run", "[sched][coroutine]") {
    fcfs_sched sched;
    std::string log;
    auto failing = [&]() -> kettle::task<void> {
        log += 'f';
        co_await kettle::yield(kettle::always);
        throw std::runtime_error("detached");
    };
    sched.spawn_detached(failing());
    sched.spawn_detached(hand_over('x', 3, log));
    REQUIRE_THROWS_AS(sched.run(), std::runtime_error);
    REQUIRE(sched.tasks() == 1); // the failed one is gone, the other goes on
    sched.run();
    REQUIRE(log == "fxxx");
    REQUIRE(sched.tasks() == 0);

    // A join handle dropped before the task ends makes it detached.
    {
        auto h = sched.spawn(failing());
    }
    REQUIRE_THROWS_AS(sched.run(), std::runtime_error);

    // run_for rethrows it too when its deadline passes in the failing slice.
    auto fails_at_once = [](bool fail) -> kettle::task<void> {
        if (fail)
            throw std::runtime_error("at once");
        co_return;
    };
    sched.spawn_detached(fails_at_once(true));
    REQUIRE_THROWS_AS(sched.run_for(0ms), std::runtime_error);
    REQUIRE(sched.tasks() == 0);
    REQUIRE(sched.run_for(0ms) == 0); // nothing was left pending
}

// ---- cancellation and destruction ------------------------------------------------------------

namespace {
kettle::task<int> holds(counted c, kettle::channel<int>& ch, fcfs_sched& sched) {
    counted local(c.value() + 1);
    co_return co_await ch.pop(sched) + local.value();
}
kettle::task<void> sleeps(counted c, fcfs_sched& sched) {
    co_await sched.sleep_for(std::chrono::hours(1));
    static_cast<void>(c);
}
kettle::task<void> joins(counted c, kettle::join_handle<int>& other, int& out) {
    out = co_await other + c.value();
}
} // namespace

TEST_CASE("coroutine_scheduler: destroying it destroys suspended tasks", "[sched][coroutine]") {
    counted::reset();
    kettle::channel<int> ch(1);
    kettle::join_handle<int> blocked;
    kettle::join_handle<int> never_run;
    int out = 0;
    {
        fcfs_sched sched;
        blocked = sched.spawn(holds(counted(1), ch, sched));
        sched.spawn_detached(sleeps(counted(2), sched));
        sched.spawn_detached(joins(counted(3), blocked, out));
        sched.run_once();
        sched.run_once();
        sched.run_once();
        never_run = sched.spawn(holds(counted(4), ch, sched));
        REQUIRE(counted::live() > 0);
        REQUIRE(sched.tasks() == 4);
        REQUIRE(sched.ready() == 1);
    }
    REQUIRE(counted::live() == 0);
    REQUIRE(blocked.cancelled());
    REQUIRE(never_run.cancelled());
    REQUIRE_THROWS_AS(blocked.get(), std::future_error);
    REQUIRE(out == 0);
    // The cancelled pops took nothing: the channel is as it was.
    REQUIRE(ch.try_push(1));
    REQUIRE(ch.size() == 1);
}

TEST_CASE("coroutine_scheduler: cancel a blocked, a queued and a running task", "[sched][coroutine]") {
    counted::reset();
    kettle::channel<int> ch(1);
    fcfs_sched sched;
    auto blocked = sched.spawn(holds(counted(1), ch, sched));
    sched.run_once(); // blocks on the channel
    REQUIRE(counted::live() == 2);
    blocked.cancel();
    REQUIRE(counted::live() == 0); // at once
    REQUIRE(blocked.cancelled());

    auto queued = sched.spawn(holds(counted(1), ch, sched));
    queued.cancel();
    REQUIRE_FALSE(queued.done());
    REQUIRE(sched.run() == 0); // retired when popped, never run
    REQUIRE(queued.cancelled());
    REQUIRE(counted::live() == 0);

    std::string log;
    kettle::join_handle<void> self;
    auto self_cancelling = [&]() -> kettle::task<void> {
        log += 'a';
        self.cancel(); // takes effect when the slice ends
        log += 'b';
        co_await kettle::yield(kettle::always);
        log += 'c';
    };
    self = sched.spawn(self_cancelling());
    sched.run();
    REQUIRE(log == "ab");
    REQUIRE(self.cancelled());

    // The channel still works, and nothing was lost.
    auto ok = sched.spawn(holds(counted(10), ch, sched));
    REQUIRE(ch.try_push(5));
    sched.run();
    REQUIRE(ok.get() == 16);
    REQUIRE(counted::live() == 0);
}

TEST_CASE("coroutine_scheduler: stop from another thread; run_for returns", "[sched][coroutine]") {
    fcfs_sched sched;
    kettle::channel<int> ch(1);
    auto forever = [&]() -> kettle::task<void> { static_cast<void>(co_await ch.pop(sched)); };
    sched.spawn_detached(forever());
    std::thread stopper([&] {
        std::this_thread::sleep_for(5ms);
        sched.stop();
    });
    sched.run(); // blocked task with a tracked operation: only stop() ends this
    stopper.join();
    REQUIRE_FALSE(sched.stopped());
    REQUIRE(sched.tasks() == 1);
    REQUIRE(sched.run_for(5ms) == 0);
    REQUIRE(sched.run_once() == 0);
}

TEST_CASE("coroutine_scheduler: stop and posts from another thread reach tasks that only hand over",
          "[sched][coroutine]") {
    // Two tasks that hand the CPU to each other forever never let the
    // dispatch loop's top run: stop() and a cross-thread wake-up must get
    // through between two of their slices.
    fcfs_sched sched;
    kettle::channel<int> ch(1);
    std::atomic<long> switches{0};
    int received = 0;
    auto spinner = [&]() -> kettle::task<void> {
        for (;;) {
            switches.fetch_add(1, std::memory_order_relaxed);
            co_await kettle::yield(kettle::always);
        }
    };
    auto consumer = [&]() -> kettle::task<void> { received = co_await ch.pop(sched); };
    sched.spawn_detached(spinner());
    sched.spawn_detached(spinner());
    sched.spawn_detached(consumer());
    std::thread other([&] {
        while (switches.load(std::memory_order_relaxed) < 1000)
            std::this_thread::yield();
        ch.push(kettle::sync_blocking, 42);
        const long seen = switches.load(std::memory_order_relaxed);
        while (switches.load(std::memory_order_relaxed) < seen + 1000)
            std::this_thread::yield();
        sched.stop();
    });
    sched.run();
    other.join();
    REQUIRE(received == 42);
    REQUIRE(sched.tasks() == 2);
    REQUIRE_FALSE(sched.stopped());
}

TEST_CASE("coroutine_scheduler: run returns when the remaining tasks cannot be woken",
          "[sched][coroutine]") {
    fcfs_sched sched;
    kettle::join_handle<void> a;
    kettle::join_handle<void> b;
    auto wait_b = [&]() -> kettle::task<void> { co_await b; };
    auto wait_a = [&]() -> kettle::task<void> { co_await a; };
    a = sched.spawn(wait_b());
    b = sched.spawn(wait_a());
    sched.run(); // a waits for b, b for a
    REQUIRE(sched.tasks() == 2);
    REQUIRE_FALSE(a.done());
}

TEST_CASE("coroutine_scheduler: settings are checked", "[sched][coroutine]") {
    REQUIRE_THROWS_AS(fcfs_sched({.tick = 0ms}), std::invalid_argument);
    REQUIRE_THROWS_AS(fcfs_sched({.samples_per_tick = 0}), std::invalid_argument);
    REQUIRE_THROWS_AS(fcfs_sched({.max_events_per_sample = 0}), std::invalid_argument);
    REQUIRE_THROWS_AS(rr_sched({}, kettle::round_robin_settings{.quantum = 0}), std::invalid_argument);
}

TEST_CASE("coroutine_scheduler: many tasks, pooled frames", "[sched][coroutine]") {
    rr_sched sched({.tick = 1ms}, kettle::round_robin_settings{.quantum = 1});
    long total = 0;
    auto add = [&](int v) -> kettle::task<void> {
        co_await kettle::yield(kettle::always);
        total += v;
    };
    for (int round = 0; round < 3; ++round) {
        for (int i = 1; i <= 1000; ++i)
            sched.spawn_detached(add(i));
        sched.run();
    }
    REQUIRE(total == 3 * 500500);
}

TEST_CASE("coroutine_scheduler: run from inside its own task is refused", "[sched][coroutine]") {
    fcfs_sched sched;
    bool refused = false;
    auto nested = [&]() -> kettle::task<void> {
        try {
            sched.run();
        } catch (const std::logic_error&) {
            refused = true;
        }
        co_return;
    };
    sched.spawn_detached(nested());
    sched.run();
    REQUIRE(refused);
}

TEST_CASE("coroutine_scheduler: producers on other threads, consumers, sleepers and yielders",
          "[sched][coroutine][stress]") {
    constexpr int producers = 4;
    constexpr int per_producer = 400;
    kettle::coroutine_scheduler<kettle::mlfq<coroutine_ref>> sched({.tick = 100us},
                                                                    kettle::mlfq_settings{.levels = 3, .base_quantum = 2});
    std::vector<std::unique_ptr<kettle::channel<int>>> channels;
    for (int p = 0; p < producers; ++p)
        channels.push_back(std::make_unique<kettle::channel<int>>(8));
    long sum = 0;
    long yields = 0;
    int ticks = 0;
    bool consumers_done = false;
    int consumers_left = 2 * producers;
    auto consumer = [&](kettle::channel<int>& ch) -> kettle::task<void> {
        for (int i = 0; i < per_producer / 2; ++i) {
            sum += co_await ch.pop(sched);
            co_await kettle::yield();
        }
        if (--consumers_left == 0)
            consumers_done = true;
    };
    auto ticker = [&]() -> kettle::task<void> {
        while (!consumers_done) {
            co_await sched.sleep_for(1ms);
            ++ticks;
        }
    };
    auto yielder = [&]() -> kettle::task<void> {
        while (!consumers_done) {
            ++yields;
            co_await kettle::yield(kettle::always);
        }
    };
    for (auto& ch : channels) {
        sched.spawn_detached(consumer(*ch));
        sched.spawn_detached(consumer(*ch));
    }
    sched.spawn_detached(ticker());
    sched.spawn_detached(yielder());
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 1; i <= per_producer; ++i)
                channels[static_cast<std::size_t>(p)]->push(kettle::sync_blocking, i);
        });
    sched.run();
    for (auto& t : threads)
        t.join();
    REQUIRE(sum == static_cast<long>(producers) * per_producer * (per_producer + 1) / 2);
    REQUIRE(yields > 0);
    REQUIRE(sched.tasks() == 0);
}
