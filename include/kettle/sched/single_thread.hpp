// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::single_thread`: the locking policy that locks nothing.

#include <kettle/sched/locking_policy.hpp>

namespace kettle {

/// No synchronisation at all: for queues used by one thread only (the
/// simulator, a single-threaded coroutine scheduler). Costs nothing. Supports
/// every scheduling policy.
struct single_thread {
    /// A lock that does nothing.
    struct mutex_type {
        constexpr void lock() noexcept {}
        constexpr void unlock() noexcept {}
    };
    static constexpr bool thread_safe = false;
    template <class Policy>
    static constexpr bool supports = true;
};

static_assert(locking_policy<single_thread>);

} // namespace kettle
