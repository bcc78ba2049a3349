// SPDX-License-Identifier: MIT
#include <kettle/sched/job_length.hpp>

#include "../support/catch.hpp"

#include <memory>

namespace {
struct with_member {
    long n;
    long job_length() const { return n; }
};
} // namespace

namespace third_party { // a type kettle does not own, adapted by ADL
struct request {
    double estimate;
};
inline double job_length(const request& r) { return r.estimate; }
} // namespace third_party

namespace {
struct no_length {};
} // namespace

TEST_CASE("job_length: member, ADL, number, pointer", "[sched][job_length]") {
    STATIC_REQUIRE(kettle::has_job_length<with_member>);
    STATIC_REQUIRE(kettle::has_job_length<third_party::request>);
    STATIC_REQUIRE(kettle::has_job_length<int>);
    STATIC_REQUIRE(kettle::has_job_length<const with_member*>);
    STATIC_REQUIRE(kettle::has_job_length<std::unique_ptr<third_party::request>>);
    STATIC_REQUIRE_FALSE(kettle::has_job_length<no_length>);
    STATIC_REQUIRE_FALSE(kettle::has_job_length<no_length*>);

    with_member m{7};
    REQUIRE(kettle::job_length(m) == 7);
    REQUIRE(kettle::job_length(third_party::request{2.5}) == 2.5);
    REQUIRE(kettle::job_length(42) == 42);
    REQUIRE(kettle::job_length(&m) == 7);
    auto p = std::make_unique<third_party::request>(third_party::request{1.5});
    REQUIRE(kettle::job_length(p) == 1.5);
    STATIC_REQUIRE(kettle::job_length(3u) == 3u);
}
