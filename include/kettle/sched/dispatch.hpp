// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::dispatch`: what a scheduling policy's `pop` hands the driver.

#include <cstdint>
#include <optional>

namespace kettle {

/// Scheduling time, in ticks. A tick is the driver's unit: one simulated
/// time step in the simulator, a configured duration in a real-time driver.
using tick_count = std::int64_t;

/// The task to run next and how long it may run.
///
/// `quantum` empty: no time limit (the task runs until it finishes, blocks,
/// yields or `preempts()` says otherwise). Otherwise a positive number of
/// ticks after which the driver takes the CPU back and pushes the entry with
/// `cause::preempted`.
template <class Entry>
struct dispatch {
    Entry entry;
    std::optional<tick_count> quantum;
};

} // namespace kettle
