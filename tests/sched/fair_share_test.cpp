// SPDX-License-Identifier: MIT
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

using kettle::cause;
using task = kettle::sim_task;

TEST_CASE("fair_share: least virtual runtime first", "[sched][fair]") {
    REQUIRE_THROWS_AS(kettle::fair_share<int>({.slice = 0}), std::invalid_argument);
    kettle::fair_share<int> p({.slice = 3});
    using entry = kettle::fair_share<int>::entry_type;
    p.push(entry(1), cause::created);
    p.push(entry(2), cause::created);
    auto d = p.pop();
    REQUIRE(d->entry.value == 1);
    REQUIRE(d->quantum == 3);
    p.charge(d->entry, 3);
    REQUIRE(d->entry.state.vruntime == 3 * kettle::fair_share_scale);
    p.push(std::move(d->entry), cause::preempted);
    auto b = p.pop();
    REQUIRE(b->entry.value == 2);
    p.charge(b->entry, 3);
    p.push(std::move(b->entry), cause::preempted);
    REQUIRE(p.pop()->entry.value == 1); // equal vruntime: the earlier push
    // a newcomer starts at the floor (3 ticks), not at 0
    p.push(entry(3), cause::created);
    REQUIRE(p.pop()->entry.value == 2);
    auto c = p.pop();
    REQUIRE(c->entry.value == 3);
    REQUIRE(c->entry.state.vruntime == 3 * kettle::fair_share_scale);
}

TEST_CASE("fair_share: a weight of 0 is refused", "[sched][fair]") {
    struct weighted {
        std::uint64_t w;
        [[nodiscard]] std::uint64_t weight() const noexcept { return w; }
    };
    kettle::fair_share<weighted> p;
    using entry = kettle::fair_share<weighted>::entry_type;
    REQUIRE_THROWS_AS(p.push(entry(weighted{0}), cause::created), std::invalid_argument);
    REQUIRE(p.empty());
    p.push(entry(weighted{2}), cause::created);
    auto d = p.pop();
    d->entry.value.w = 0; // dropped to 0 while it ran: charged as weight 1, no division by zero
    p.charge(d->entry, 2);
    REQUIRE(d->entry.state.vruntime == 2 * kettle::fair_share_scale);
}

TEST_CASE("fair_share: CPU in proportion to weight", "[sched][fair]") {
    std::vector<kettle::sim_job> jobs{{0, 400}, {0, 400}};
    jobs[0].weight = 3;
    const auto r = kettle::simulate(jobs, kettle::fair_share<task>({.slice = 1}));
    kettle::tick_count a = 0;
    for (std::size_t t = 0; t < 400; ++t)
        a += r.timeline[t] == 0;
    REQUIRE(a == 300); // 3 : 1 over the first 400 ticks
}
