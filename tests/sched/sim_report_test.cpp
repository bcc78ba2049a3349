// SPDX-License-Identifier: MIT
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/sim_report.hpp>
#include <kettle/sched/simulator.hpp>

#include "../support/catch.hpp"

#include <string>
#include <vector>

using task = kettle::sim_task;

TEST_CASE("sim_report: Gantt chart", "[sched][report]") {
    std::vector<kettle::sim_job> jobs{{0, 3, {2, 2}}, {1, 2}};
    const auto r = kettle::simulate(jobs, kettle::round_robin<task>({.quantum = 1}),
                                    {.switch_cost = 1});
    // A runs 0-2 (its slice ends as B arrives: A is queued first), blocks
    // for I/O 2-4; switch, B runs 3-5; switch, A finishes at 7.
    REQUIRE(kettle::gantt_chart(r) == "      0\n"
                                      "CPU   AA*BB*A\n"
                                      "A     ##ii..#\n"
                                      "B      ..##\n");
}

TEST_CASE("sim_report: scaled chart and metrics", "[sched][report]") {
    const auto r = kettle::simulate({{0, 30}, {0, 30}}, kettle::round_robin<task>({.quantum = 10}));
    const std::string chart = kettle::gantt_chart(r, 20);
    // 60 ticks in 20 columns of 3; a column shows what took most of it
    REQUIRE(chart.find("\nCPU   AAABBBBAAABBBAAAABBB\n") != std::string::npos);
    REQUIRE(chart.find("(one column = 3 ticks)") != std::string::npos);
    const std::string table = kettle::metrics_table(r);
    REQUIRE(table.find("average") != std::string::npos);
    REQUIRE(table.find("switches: 5, switching: 0 of 60 ticks (0.0%)") != std::string::npos);
    REQUIRE(r.average_waiting() == Catch::Approx(25));
}
