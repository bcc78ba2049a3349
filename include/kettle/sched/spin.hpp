// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::spin`: the locking policy that holds a spin lock.

#include <kettle/sched/detail/spin_lock.hpp>
#include <kettle/sched/locking_policy.hpp>

namespace kettle {

/// Every call into the policy under a test-and-test-and-set spin lock that
/// yields the thread after a short spin. Cheaper than `mutex` when critical
/// sections are a few dozen instructions (FIFO rings) and threads do not
/// outnumber cores; worse when they do. Supports every scheduling policy.
struct spin {
    using mutex_type = detail::spin_lock;
    static constexpr bool thread_safe = true;
    template <class Policy>
    static constexpr bool supports = true;
};

static_assert(locking_policy<spin>);

} // namespace kettle
