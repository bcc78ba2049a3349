// SPDX-License-Identifier: MIT
#pragma once

/// One include for every kettle test, on Catch2 v3 and on Catch2 v2 alike.
///
/// The build defines KETTLE_CATCH2_MAJOR (2 or 3); without it the version is
/// detected from the headers that exist. Available on both versions:
/// TEST_CASE, TEMPLATE_TEST_CASE, SECTION, REQUIRE*, CHECK*, STATIC_REQUIRE,
/// STATIC_REQUIRE_FALSE, STATIC_CHECK, STATIC_CHECK_FALSE, REQUIRE_THROWS_AS,
/// GENERATE, SUCCEED, FAIL, WARN, INFO, CAPTURE and `Catch::Approx`. No SKIP:
/// a kettle test either runs or is not compiled for that platform.
///
/// Catch2 assertions are not thread-safe: call REQUIRE/CHECK on the test's own
/// thread only; have worker threads record results and check them after join().

#if !defined(KETTLE_CATCH2_MAJOR)
#if defined(__has_include)
#if __has_include(<catch2/catch_all.hpp>)
#define KETTLE_CATCH2_MAJOR 3
#else
#define KETTLE_CATCH2_MAJOR 2
#endif
#else
#define KETTLE_CATCH2_MAJOR 2
#endif
#endif

#if KETTLE_CATCH2_MAJOR >= 3

#include <catch2/catch_all.hpp>

// v2 spelled it `Approx` at global scope.
using Catch::Approx;

#else

#include <catch2/catch.hpp>

namespace Catch {
// v3 spells it `Catch::Approx`.
using Detail::Approx;
} // namespace Catch

#if !defined(STATIC_CHECK)
#define STATIC_CHECK(...) STATIC_REQUIRE(__VA_ARGS__)
#endif
#if !defined(STATIC_CHECK_FALSE)
#define STATIC_CHECK_FALSE(...) STATIC_REQUIRE_FALSE(__VA_ARGS__)
#endif

#endif

