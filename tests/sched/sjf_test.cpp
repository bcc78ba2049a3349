// SPDX-License-Identifier: MIT
#include <kettle/sched/simulator.hpp>
#include <kettle/sched/sjf.hpp>

#include "../support/catch.hpp"

#include <string>

using kettle::cause;

namespace {
struct by_size {
    std::size_t operator()(const std::string& s) const noexcept { return s.size(); }
};
} // namespace

static_assert(kettle::scheduling_policy<kettle::sjf<std::string, by_size>>);

TEST_CASE("sjf: shortest first, ties in arrival order, never preempts", "[sched][sjf]") {
    kettle::sjf<int> p;
    using entry = kettle::sjf<int>::entry_type;
    for (int v : {5, 3, 9, 3, 1})
        p.push(entry(v), cause::created);
    REQUIRE_FALSE(p.preempts(entry(100)));
    std::vector<int> order;
    while (auto d = p.pop()) {
        REQUIRE_FALSE(d->quantum.has_value());
        order.push_back(d->entry.value);
    }
    REQUIRE(order == std::vector<int>{1, 3, 3, 5, 9});
}

TEST_CASE("sjf: reads the estimate through a projection", "[sched][sjf]") {
    kettle::sjf<std::string, by_size> p;
    using entry = kettle::sjf<std::string, by_size>::entry_type;
    p.push(entry("long job"), cause::created);
    p.push(entry("x"), cause::created);
    REQUIRE(p.pop()->entry.value == "x");
}

// OSTEP ch. 7, figures 7.3 and 7.4.
TEST_CASE("sjf: OSTEP figures 7.3 and 7.4", "[sched][sjf][ostep]") {
    const auto a = kettle::simulate({{0, 100}, {0, 10}, {0, 10}}, kettle::sjf<kettle::sim_task>());
    REQUIRE(a.average_turnaround() == Catch::Approx(50));
    // B and C arrive at 10, after A has started: non-preemptive SJF must wait.
    const auto b = kettle::simulate({{0, 100}, {10, 10}, {10, 10}}, kettle::sjf<kettle::sim_task>());
    REQUIRE(b.average_turnaround() == Catch::Approx(310.0 / 3.0));
    REQUIRE(b.jobs[1].completion == 110);
}
