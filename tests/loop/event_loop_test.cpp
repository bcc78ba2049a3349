// SPDX-License-Identifier: MIT
// event_loop: descriptors, errors, running and stopping, destruction.
// Every case runs against every backend available on the platform.

#include <kettle/loop/event_loop.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"
#include "backends.hpp"

#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

using namespace std::chrono_literals;
using kettle::interest;
using kettle::io_events;
using kettle::trigger;

namespace {

template <class Loop>
std::size_t spin(Loop& loop, int iterations) {
    std::size_t n = 0;
    for (int i = 0; i < iterations; ++i) {
        n += loop.run_once(0ms);
    }
    return n;
}

/// Runs iterations (waiting up to 10 ms each) until `done()` or 2 s passed.
template <class Loop, class Done>
bool run_until(Loop& loop, Done done) {
    const auto give_up = std::chrono::steady_clock::now() + 2s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        loop.run_once(10ms);
    }
    return true;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("event_loop models kettle::executor", "[loop][executor]", kettle_test::loop_backends) {
    STATIC_REQUIRE(kettle::loop_backend<TestType>);
    STATIC_REQUIRE(kettle::executor<kettle::event_loop<TestType>>);
}

TEMPLATE_LIST_TEST_CASE("readable and writable callbacks on a socket pair", "[loop][io]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::socket_pair pair;
    REQUIRE(pair.valid());

    int writable = 0;
    loop.add(pair.first(), interest::writable, [&](io_events ev) {
        CHECK(ev.writable());
        CHECK_FALSE(ev.readable());
        ++writable;
        loop.remove(pair.first());
    });
    int readable = 0;
    std::size_t got = 0;
    loop.add(pair.second(), interest::readable, [&](io_events ev) {
        CHECK(ev.readable());
        ++readable;
        got += kettle_test::drain(pair.second());
        if (got == 5) {
            loop.remove(pair.second());
        }
    });
    REQUIRE(run_until(loop, [&] { return writable == 1; }));
    CHECK(readable == 0);
    REQUIRE(kettle_test::send_bytes(pair.first(), 5) == 5);
    REQUIRE(run_until(loop, [&] { return got == 5; }));
    CHECK(readable >= 1);
    CHECK(loop.run() == 0); // nothing registered any more: returns at once
}

TEMPLATE_LIST_TEST_CASE("level trigger fires again while not drained", "[loop][io][level]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::socket_pair pair;
    int calls = 0;
    loop.add(pair.second(), interest::readable, [&](io_events ev) {
        CHECK(ev.readable());
        ++calls; // deliberately does not read
    });
    REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1);
    REQUIRE(run_until(loop, [&] { return calls == 1; }));
    spin(loop, 3);
    CHECK(calls == 4);
    kettle_test::drain(pair.second());
    spin(loop, 3);
    CHECK(calls == 4);
    loop.remove(pair.second());
}

TEMPLATE_LIST_TEST_CASE("edge trigger: once per change where supported, rejected elsewhere", "[loop][io][edge]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::socket_pair pair;
    int calls = 0;
    auto cb = [&](io_events ev) {
        CHECK(ev.readable());
        ++calls; // does not read: edge semantics must not call again for the same data
    };
    if constexpr (TestType::supports_edge_trigger) {
        loop.add(pair.second(), interest::readable, cb, trigger::edge);
        REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1);
        REQUIRE(run_until(loop, [&] { return calls == 1; }));
        spin(loop, 3);
        CHECK(calls == 1);
        REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1); // a new change
        REQUIRE(run_until(loop, [&] { return calls == 2; }));
        spin(loop, 3);
        CHECK(calls == 2);
        // modify keeps the edge trigger
        loop.modify(pair.second(), interest::readable);
        REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1);
        REQUIRE(run_until(loop, [&] { return calls == 3; }));
        spin(loop, 3);
        CHECK(calls == 3);
        loop.remove(pair.second());
    } else {
        std::error_code ec;
        loop.add(pair.second(), interest::readable, cb, trigger::edge, ec);
        CHECK(ec == std::errc::operation_not_supported);
        CHECK_FALSE(loop.is_registered(pair.second()));
        CHECK_THROWS_AS(loop.add(pair.second(), interest::readable, cb, trigger::edge), std::system_error);
        CHECK(loop.run() == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("modify changes the interest", "[loop][io][modify]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::socket_pair pair;
    int readable = 0;
    int writable = 0;
    loop.add(pair.first(), interest::readable, [&](io_events ev) {
        readable += ev.readable() ? 1 : 0;
        writable += ev.writable() ? 1 : 0;
    });
    spin(loop, 3);
    CHECK(readable + writable == 0); // nothing to read, writability not asked for

    loop.modify(pair.first(), interest::writable);
    REQUIRE(run_until(loop, [&] { return writable >= 1; }));
    CHECK(readable == 0);

    loop.modify(pair.first(), interest::none);
    const int before = writable;
    spin(loop, 3);
    CHECK(writable == before);

    REQUIRE(kettle_test::send_bytes(pair.second(), 1) == 1);
    loop.modify(pair.first(), interest::both);
    REQUIRE(run_until(loop, [&] { return readable >= 1 && writable > before; }));
    loop.remove(pair.first());
}

TEMPLATE_LIST_TEST_CASE("remove from inside callbacks", "[loop][io][remove]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;

    SECTION("a callback removes itself; its state dies after it returns") {
        kettle_test::counted::reset();
        kettle_test::socket_pair pair;
        int calls = 0;
        loop.add(pair.second(), interest::readable, [&, token = kettle_test::counted(7)](io_events) {
            ++calls;
            loop.remove(pair.second());
            CHECK(token.intact()); // still alive while running
            CHECK(token.value() == 7);
        });
        REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1);
        REQUIRE(run_until(loop, [&] { return calls == 1; }));
        CHECK(kettle_test::counted::live() == 0);
        spin(loop, 3);
        CHECK(calls == 1);
        CHECK_FALSE(loop.is_registered(pair.second()));
    }

    SECTION("a callback removes another ready descriptor: its event is dropped") {
        kettle_test::socket_pair a;
        kettle_test::socket_pair b;
        int calls = 0;
        loop.add(a.second(), interest::readable, [&](io_events) {
            ++calls;
            loop.remove(a.second());
            loop.remove(b.second());
        });
        loop.add(b.second(), interest::readable, [&](io_events) {
            ++calls;
            loop.remove(a.second());
            loop.remove(b.second());
        });
        REQUIRE(kettle_test::send_bytes(a.first(), 1) == 1);
        REQUIRE(kettle_test::send_bytes(b.first(), 1) == 1);
        std::this_thread::sleep_for(20ms); // both readable before the loop looks
        REQUIRE(run_until(loop, [&] { return calls >= 1; }));
        spin(loop, 3);
        CHECK(calls == 1);
        CHECK(loop.run() == 0);
    }

    SECTION("remove and re-add the same descriptor inside its callback") {
        kettle_test::socket_pair pair;
        int old_calls = 0;
        int new_calls = 0;
        loop.add(pair.second(), interest::readable, [&](io_events) {
            ++old_calls;
            loop.remove(pair.second());
            loop.add(pair.second(), interest::readable, [&](io_events) {
                ++new_calls;
                kettle_test::drain(pair.second());
                loop.remove(pair.second());
            });
        });
        REQUIRE(kettle_test::send_bytes(pair.first(), 1) == 1);
        REQUIRE(run_until(loop, [&] { return old_calls == 1; }));
        CHECK(new_calls == 0); // not in the iteration that registered it
        REQUIRE(run_until(loop, [&] { return new_calls == 1; }));
        CHECK(old_calls == 1);
    }
}

TEMPLATE_LIST_TEST_CASE("descriptor errors carry specific codes", "[loop][io][errors]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle_test::socket_pair pair;
    auto nop = [](io_events) {};
    std::error_code ec;

    SECTION("a closed descriptor fails at add") {
        loop.add(kettle_test::closed_handle(), interest::readable, nop, trigger::level, ec);
        CHECK(kettle_test::is_bad_descriptor(ec));
        CHECK(loop.run() == 0);
        CHECK_THROWS_AS(loop.add(kettle_test::closed_handle(), interest::readable, nop), std::system_error);
    }
    SECTION("an invalid descriptor fails at add") {
        loop.add(kettle::invalid_native_handle, interest::readable, nop, trigger::level, ec);
        CHECK(kettle_test::is_bad_descriptor(ec));
    }
    SECTION("adding twice is file_exists") {
        loop.add(pair.first(), interest::readable, nop);
        loop.add(pair.first(), interest::writable, nop, trigger::level, ec);
        CHECK(ec == std::errc::file_exists);
        try {
            loop.add(pair.first(), interest::readable, nop);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::file_exists);
        }
        loop.remove(pair.first());
    }
    SECTION("modify or remove what is not registered is no_such_file_or_directory") {
        loop.modify(pair.first(), interest::readable, ec);
        CHECK(ec == std::errc::no_such_file_or_directory);
        loop.remove(pair.first(), ec);
        CHECK(ec == std::errc::no_such_file_or_directory);
        CHECK_THROWS_AS(loop.remove(pair.first()), std::system_error);
        loop.add(pair.first(), interest::readable, nop);
        loop.remove(pair.first(), ec);
        CHECK_FALSE(ec);
        loop.remove(pair.first(), ec);
        CHECK(ec == std::errc::no_such_file_or_directory);
    }
    SECTION("a negative timeout is invalid_argument") {
        CHECK(loop.run_once(-1ms, ec) == 0);
        CHECK(ec == std::errc::invalid_argument);
        try {
            loop.run_once(-5ms);
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::invalid_argument);
        }
    }
    SECTION("a descriptor closed while registered never makes the loop spin") {
        int calls = 0;
        bool saw_error = false;
        loop.add(pair.second(), interest::readable, [&](io_events ev) {
            ++calls;
            saw_error = saw_error || ev.error();
        });
        const kettle::native_handle h = pair.second();
        pair.close_second();
        spin(loop, 5);
        if constexpr (TestType::name == "epoll") {
            CHECK(calls == 0); // epoll forgets it silently
        } else {
            CHECK(calls == 1); // poll and WSAPoll report the error once
            CHECK(saw_error);
        }
        loop.remove(h, ec); // still forgotten cleanly
        CHECK_FALSE(ec);
        CHECK_FALSE(loop.is_registered(h));
    }
}

#if !defined(_WIN32)
TEMPLATE_LIST_TEST_CASE("pipes: readable, hang-up, POLLNVAL", "[loop][io][posix]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    int calls = 0;
    io_events last{};
    loop.add(fds[0], interest::readable, [&](io_events ev) {
        ++calls;
        last = ev;
        char buffer[16];
        while (::read(fds[0], buffer, sizeof buffer) > 0) {
        }
    });
    loop.add(fds[1], interest::writable, [&](io_events ev) {
        CHECK(ev.writable());
        REQUIRE(::write(fds[1], "x", 1) == 1);
        loop.remove(fds[1]);
    });
    REQUIRE(run_until(loop, [&] { return calls == 1; }));
    CHECK(last.readable());
    ::close(fds[1]);
    REQUIRE(run_until(loop, [&] { return last.hangup(); }));
    loop.remove(fds[0]);
    ::close(fds[0]);
}
#endif

TEMPLATE_LIST_TEST_CASE("run returns when there is no work; run_once(0) does not block", "[loop][run]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    CHECK(loop.run() == 0);
    kettle::detail::tracked_node guard;
    guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
    loop.track(guard); // outstanding work, but nothing will happen
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
        CHECK(loop.run_once(0ms) == 0);
    }
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    const auto before = std::chrono::steady_clock::now();
    CHECK(loop.run_once(30ms) == 0);
    const auto waited = std::chrono::steady_clock::now() - before;
    CHECK(waited >= 25ms);
    CHECK(waited < 2s);
    CHECK(loop.run_for(30ms) == 0);
    loop.untrack(guard);
    CHECK(loop.run() == 0);
}

TEMPLATE_LIST_TEST_CASE("stop from another thread while blocked in run; run starts again", "[loop][run][stop]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle::detail::tracked_node guard;
    guard.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
    loop.track(guard);

    std::thread stopper([&] {
        std::this_thread::sleep_for(30ms);
        loop.stop();
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK(loop.run() == 0);
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK_FALSE(loop.stopped()); // consumed by the run that returned

    // stop before run: that run returns at once
    loop.stop();
    CHECK(loop.stopped());
    CHECK(loop.run() == 0);
    CHECK_FALSE(loop.stopped());

    // a later run runs again; stop from inside a callback
    int ran = 0;
    loop.post([&] {
        ++ran;
        loop.stop();
    });
    CHECK(loop.run() == 1);
    CHECK(ran == 1);
    loop.untrack(guard);
}

TEMPLATE_LIST_TEST_CASE("running_in_this_thread", "[loop][run]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle::event_loop<TestType> other;
    CHECK_FALSE(loop.running_in_this_thread());
    bool inside = false;
    bool other_inside = false;
    bool nested_both = false;
    bool from_thread = true;
    loop.post([&] {
        inside = loop.running_in_this_thread();
        other_inside = other.running_in_this_thread();
        std::thread([&] { from_thread = loop.running_in_this_thread(); }).join();
        other.post([&] { nested_both = loop.running_in_this_thread() && other.running_in_this_thread(); });
        other.run(); // another loop nested in this one's callback
    });
    loop.run();
    CHECK(inside);
    CHECK_FALSE(other_inside);
    CHECK_FALSE(from_thread);
    CHECK(nested_both);
    CHECK_FALSE(loop.running_in_this_thread());
}

TEMPLATE_LIST_TEST_CASE("running the loop from its own callback is refused", "[loop][run]", kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::error_code once_ec;
    std::error_code run_ec;
    loop.post([&] {
        loop.run_once(0ms, once_ec);
        loop.run(run_ec);
    });
    loop.run();
    CHECK(once_ec == std::errc::resource_deadlock_would_occur);
    CHECK(run_ec == std::errc::resource_deadlock_would_occur);
}

TEMPLATE_LIST_TEST_CASE("exceptions from callbacks propagate; the loop carries on", "[loop][run]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    std::vector<int> order;
    loop.post([&] { order.push_back(1); });
    loop.post([&] {
        order.push_back(2);
        throw std::runtime_error("boom");
    });
    loop.post([&] { order.push_back(3); });
    CHECK_THROWS_AS(loop.run(), std::runtime_error);
    CHECK(order == std::vector<int>{1, 2});
    CHECK(loop.run() == 1);
    CHECK(order == std::vector<int>{1, 2, 3});

    int ticks = 0;
    const auto id = loop.add_timer(0ms, 1ms, [&] {
        if (++ticks == 1) {
            throw std::logic_error("first tick");
        }
    });
    CHECK_THROWS_AS(loop.run(), std::logic_error);
    REQUIRE(run_until(loop, [&] { return ticks >= 3; })); // still repeating
    CHECK(loop.cancel_timer(id));
    CHECK(loop.run() == 0);
}

TEMPLATE_LIST_TEST_CASE("destruction destroys pending callbacks without running them", "[loop][lifetime]",
                        kettle_test::loop_backends) {
    kettle_test::counted::reset();
    kettle_test::socket_pair pair;
    bool ran = false;
    {
        kettle::event_loop<TestType> loop;
        loop.add(pair.first(), interest::readable, [&ran, c = kettle_test::counted(1)](io_events) { ran = true; });
        loop.add_timer(1h, [&ran, c = kettle_test::counted(2)] { ran = true; });
        loop.add_timer(0ms, [&ran, c = kettle_test::counted(3)] { ran = true; });
        loop.add_timer(1h, 1h, [&ran, c = kettle_test::counted(4)] { ran = true; });
        loop.post([&ran, c = kettle_test::counted(5)] { ran = true; });
        std::thread([&] { loop.post([&ran, c = kettle_test::counted(6)] { ran = true; }); }).join();
        // a large callable that does not fit the small buffer
        loop.add_timer(1h, [&ran, c = kettle_test::counted(7), big = std::array<void*, 8>{}] {
            ran = big[0] == nullptr;
        });
        CHECK(kettle_test::counted::live() == 7);
    }
    CHECK_FALSE(ran);
    CHECK(kettle_test::counted::live() == 0);
}

TEMPLATE_LIST_TEST_CASE("destruction abandons tracked nodes, then discards posted nodes", "[loop][lifetime][executor]",
                        kettle_test::loop_backends) {
    struct record {
        std::vector<std::string> log;
    };
    struct posted : kettle::detail::post_node {
        record* r = nullptr;
        std::string name;
    };
    struct tracked : kettle::detail::tracked_node {
        record* r = nullptr;
        std::string name;
        kettle::event_loop<TestType>* loop = nullptr;
        posted* on_abandon = nullptr;
    };
    record rec;
    posted p1;
    posted p2;
    posted p3; // posted by an abandon callback during destruction
    for (auto* p : {&p1, &p2, &p3}) {
        p->r = &rec;
        p->m_run = [](kettle::detail::post_node* n) noexcept {
            auto* self = static_cast<posted*>(n);
            self->r->log.push_back("run " + self->name);
        };
        p->m_discard = [](kettle::detail::post_node* n) noexcept {
            auto* self = static_cast<posted*>(n);
            self->r->log.push_back("discard " + self->name);
        };
    }
    p1.name = "p1";
    p2.name = "p2";
    p3.name = "p3";
    tracked t1;
    tracked t2;
    for (auto* t : {&t1, &t2}) {
        t->r = &rec;
        t->m_abandon = [](kettle::detail::tracked_node* n) noexcept {
            auto* self = static_cast<tracked*>(n);
            self->r->log.push_back("abandon " + self->name);
            if (self->on_abandon != nullptr) {
                self->loop->post(*self->on_abandon);
            }
        };
    }
    t1.name = "t1";
    t2.name = "t2";
    {
        kettle::event_loop<TestType> loop;
        t2.loop = &loop;
        t2.on_abandon = &p3;
        loop.track(t1);
        loop.track(t2);
        loop.post(p1);
        std::thread([&] { loop.post(p2); }).join();
        CHECK(loop.run_once(0ms) == 2); // tracked nodes keep it alive; posts ran
        REQUIRE(rec.log.size() == 2);
        rec.log.clear();
        loop.post(p1);
        loop.post(p2);
    }
    REQUIRE(rec.log.size() == 5);
    CHECK(rec.log[0].rfind("abandon", 0) == 0);
    CHECK(rec.log[1].rfind("abandon", 0) == 0);
    CHECK(rec.log[2] == "discard p1");
    CHECK(rec.log[3] == "discard p2");
    CHECK(rec.log[4] == "discard p3");
}

TEMPLATE_LIST_TEST_CASE("tracked nodes keep run() going until untracked", "[loop][executor]",
                        kettle_test::loop_backends) {
    kettle::event_loop<TestType> loop;
    kettle::detail::tracked_node t;
    t.m_abandon = [](kettle::detail::tracked_node*) noexcept {};
    loop.track(t);
    int fired = 0;
    loop.add_timer(5ms, [&] {
        ++fired;
        loop.untrack(t);
    });
    CHECK(loop.run() == 1);
    CHECK(fired == 1);
}
