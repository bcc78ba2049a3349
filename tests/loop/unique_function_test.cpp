// SPDX-License-Identifier: MIT
// detail::unique_function: small-buffer and heap storage, moves, lifetimes.

#include <kettle/loop/detail/unique_function.hpp>

#include "../support/catch.hpp"
#include "../support/lifetime.hpp"

#include <array>
#include <memory>
#include <type_traits>
#include <utility>

using kettle::detail::unique_function;
using kettle_test::counted;

TEST_CASE("unique_function is move-only and nothrow-movable", "[loop][unique_function]") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<unique_function<void()>>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<unique_function<void()>>);
    STATIC_REQUIRE(std::is_nothrow_move_assignable_v<unique_function<int(int)>>);
    STATIC_REQUIRE(sizeof(unique_function<void()>) == unique_function<void()>::inline_size + sizeof(void*));
}

TEST_CASE("unique_function calls small and large callables", "[loop][unique_function]") {
    unique_function<int(int)> empty;
    CHECK_FALSE(empty);

    unique_function<int(int)> small = [k = 2](int x) { return x * k; };
    REQUIRE(small);
    CHECK(small(21) == 42);

    std::array<long, 16> big{};
    big[15] = 5;
    unique_function<int(int)> large = [big](int x) { return x + static_cast<int>(big[15]); };
    CHECK(large(1) == 6);

    auto moved = std::move(large);
    CHECK_FALSE(large); // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(moved(2) == 7);

    // move-only callables are fine
    unique_function<int()> owner = [p = std::make_unique<int>(9)] { return *p; };
    CHECK(owner() == 9);

    // arguments are forwarded, including move-only ones
    unique_function<int(std::unique_ptr<int>)> sink = [](std::unique_ptr<int> p) { return *p; };
    CHECK(sink(std::make_unique<int>(3)) == 3);
}

TEST_CASE("unique_function destroys what it holds exactly once", "[loop][unique_function][lifetime]") {
    counted::reset();
    {
        unique_function<int()> a = [c = counted(1)] { return c.value(); };
        std::array<char, 64> pad{};
        unique_function<int()> b = [c = counted(2), pad] { return c.value() + pad[0]; };
        CHECK(counted::live() == 2);
        unique_function<int()> c = std::move(a);
        unique_function<int()> d = std::move(b);
        CHECK(counted::live() == 2);
        CHECK(c() == 1);
        CHECK(d() == 2);
        c = std::move(d); // destroys counted(1)
        CHECK(counted::live() == 1);
        CHECK(c() == 2);
        c.reset();
        CHECK(counted::live() == 0);
        c = [x = counted(3)] { return x.value(); };
        CHECK(c() == 3);
    }
    CHECK(counted::live() == 0);
}
