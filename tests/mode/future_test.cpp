// SPDX-License-Identifier: MIT
#include <kettle/mode/future.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using kettle_test::counted;

TEST_CASE("future: value set from another thread", "[mode][future]") {
    kettle::promise<std::string> p;
    auto f = p.get_future();
    REQUIRE(f.valid());
    REQUIRE_FALSE(f.ready());
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        p.set_value("boiled");
    });
    REQUIRE(f.get() == "boiled");
    REQUIRE_FALSE(f.valid());
    t.join();
}

TEST_CASE("future: exceptions cross threads", "[mode][future]") {
    kettle::promise<int> p;
    auto f = p.get_future();
    std::thread t([&] { p.set_exception(std::make_exception_ptr(std::runtime_error("no water"))); });
    t.join();
    REQUIRE(f.ready());
    REQUIRE_THROWS_AS(f.get(), std::runtime_error);
}

TEST_CASE("future: get_for times out and can be asked again", "[mode][future]") {
    kettle::promise<int> p;
    auto f = p.get_future();
    REQUIRE_FALSE(f.get_for(10ms).has_value());
    REQUIRE(f.valid());
    REQUIRE_FALSE(f.wait_for(-5ms));
    p.set_value(3);
    REQUIRE(f.get_for(std::chrono::hours::max()) == std::optional<int>(3));
}

TEST_CASE("future: a dropped promise breaks the future", "[mode][future]") {
    kettle::future<void> f;
    {
        kettle::promise<void> p;
        f = p.get_future();
    }
    REQUIRE(f.ready());
    try {
        f.get();
        FAIL("get() should throw");
    } catch (const std::future_error& e) {
        REQUIRE(e.code() == std::future_errc::broken_promise);
    }
}

TEST_CASE("future: misuse of a promise is reported", "[mode][future]") {
    kettle::promise<int> p;
    auto f = p.get_future();
    REQUIRE_THROWS_AS(p.get_future(), std::future_error);
    p.set_value(1);
    REQUIRE_THROWS_AS(p.set_value(2), std::future_error);
    REQUIRE(f.get() == 1);
}

TEST_CASE("future: values are destroyed once, whoever lets go last", "[mode][future]") {
    counted::reset();
    SECTION("future first") {
        kettle::promise<counted> p;
        { auto f = p.get_future(); }
        p.set_value(counted(1));
    }
    SECTION("promise first") {
        kettle::future<counted> f;
        {
            kettle::promise<counted> p;
            f = p.get_future();
            p.set_value(counted(2));
        }
        REQUIRE(f.get().value() == 2);
    }
    SECTION("never retrieved") {
        kettle::promise<counted> p;
        p.set_value(counted(3));
    }
    REQUIRE(counted::live() == 0);
}
