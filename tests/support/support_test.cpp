// SPDX-License-Identifier: MIT
// Checks the test support itself: every macro the Catch2 shim promises, on
// whichever Catch2 version the build found, and the lifetime-counting type.

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

using kettle_test::counted;

TEST_CASE("the shim exposes the assertion macros", "[support][catch]") {
    const int three = 3;
    REQUIRE(three == 3);
    REQUIRE_FALSE(three == 4);
    CHECK(three > 2);
    CHECK_FALSE(three < 2);
    STATIC_REQUIRE(sizeof(std::int32_t) == 4);
    STATIC_REQUIRE_FALSE(sizeof(std::int32_t) == 8);
    STATIC_CHECK(sizeof(std::int64_t) == 8);
    STATIC_CHECK_FALSE(sizeof(std::int64_t) == 4);
    REQUIRE_THROWS_AS(throw std::runtime_error("boiled dry"), std::runtime_error);
    REQUIRE_NOTHROW(static_cast<void>(three + 1));
    CHECK_THROWS(throw std::logic_error("no water"));
    REQUIRE(0.1 + 0.2 == Catch::Approx(0.3));
    INFO("three is " << three);
    CAPTURE(three);
    SUCCEED("all macros compiled");
}

TEST_CASE("the shim exposes SECTION and GENERATE", "[support][catch]") {
    const int n = GENERATE(1, 2, 3);
    REQUIRE(n >= 1);
    SECTION("first") {
        REQUIRE(n <= 3);
    }
    SECTION("second") {
        REQUIRE(n * 2 <= 6);
    }
}

TEMPLATE_TEST_CASE("the shim exposes TEMPLATE_TEST_CASE", "[support][catch]", int, long) {
    TestType value{2};
    REQUIRE(value + value == TestType{4});
}

TEST_CASE("counted counts constructions, copies, moves and destructions", "[support][lifetime]") {
    counted::reset();
    {
        counted a{1};
        REQUIRE(counted::live() == 1);
        counted b = a;
        REQUIRE(counted::copies() == 1);
        counted c = std::move(a);
        REQUIRE(counted::moves() == 1);
        REQUIRE(a.moved_from());
        REQUIRE(c.value() == 1);
        b = c;
        c = std::move(b);
        REQUIRE(counted::copies() == 2);
        REQUIRE(counted::moves() == 2);
        REQUIRE(counted::live() == 3);
        REQUIRE(counted::constructions() == 3);
        REQUIRE(c.intact());
    }
    REQUIRE(counted::live() == 0);
    REQUIRE(counted::destructions() == 3);
}

TEST_CASE("counted works in standard containers", "[support][lifetime]") {
    counted::reset();
    {
        std::vector<counted> v;
        for (int i = 0; i < 100; ++i) {
            v.emplace_back(i);
        }
        for (const counted& c : v) {
            REQUIRE(c.intact());
        }
        std::unordered_set<counted> s(v.begin(), v.end());
        REQUIRE(s.size() == 100);
        REQUIRE(counted{5} < counted{6});
    }
    REQUIRE(counted::live() == 0);
}

TEST_CASE("counted counters are thread-safe", "[support][lifetime]") {
    counted::reset();
    constexpr int threads = 4;
    constexpr int per_thread = 1000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([] {
            for (int i = 0; i < per_thread; ++i) {
                counted c{i};
                counted d = c;
                static_cast<void>(d);
            }
        });
    }
    for (std::thread& w : workers) {
        w.join();
    }
    REQUIRE(counted::live() == 0);
    REQUIRE(counted::constructions() == 2 * threads * per_thread);
    REQUIRE(counted::copies() == threads * per_thread);
}
