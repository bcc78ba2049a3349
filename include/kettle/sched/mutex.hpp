// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::mutex`: the locking policy that holds a `std::mutex`.

#include <kettle/sched/locking_policy.hpp>

#include <mutex>

namespace kettle {

/// Every call into the policy under one `std::mutex`: threads that find it
/// taken sleep in the kernel. The right default for queues shared by more
/// threads than cores, or whose policy does real work per call (heaps).
/// Supports every scheduling policy.
struct mutex {
    using mutex_type = std::mutex;
    static constexpr bool thread_safe = true;
    template <class Policy>
    static constexpr bool supports = true;
};

static_assert(locking_policy<mutex>);

} // namespace kettle
