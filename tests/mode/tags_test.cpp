// SPDX-License-Identifier: MIT
#include <kettle/mode/tags.hpp>

#include "../support/catch.hpp"

#include <type_traits>

TEST_CASE("the four mode tags are distinct empty types", "[mode][tags]") {
    STATIC_REQUIRE(std::is_empty_v<kettle::sync_blocking_t>);
    STATIC_REQUIRE_FALSE(std::is_same_v<kettle::sync_blocking_t, kettle::sync_nonblocking_t>);
    STATIC_REQUIRE_FALSE(std::is_same_v<kettle::async_blocking_t, kettle::async_nonblocking_t>);
}
