// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::sim_job`: one job of a simulated workload.

#include <kettle/sched/dispatch.hpp>

#include <cstdint>
#include <string>

namespace kettle {

/// A job's I/O behaviour: after every `every` ticks of CPU it blocks for
/// `duration` ticks. `every == 0`: the job never does I/O. A job never
/// issues an I/O in the tick its burst completes.
struct io_pattern {
    tick_count every = 0;    // >= 0
    tick_count duration = 0; // >= 0
};

/// A job for `kettle::simulate`: plain data.
struct sim_job {
    /// Tick at which the job becomes ready. >= 0.
    tick_count arrival = 0;
    /// CPU time the job needs in total, in ticks. > 0.
    tick_count burst = 0;
    io_pattern io{};
    /// For `kettle::priority` (smaller is more urgent).
    int priority = 0;
    /// For `kettle::fair_share` (share of the CPU). > 0.
    std::uint32_t weight = 1;
    /// Shown in charts; empty: "A", "B", ... by position.
    std::string name{};
};

} // namespace kettle
