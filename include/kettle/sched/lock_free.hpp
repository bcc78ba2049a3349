// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::lock_free`: the locking policy of the ring-based queues.

#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/locking_policy.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/round_robin.hpp>

#include <type_traits>

namespace kettle {

namespace detail {
template <class Policy>
struct has_lock_free_form : std::false_type {};
template <class T>
struct has_lock_free_form<fcfs<T>> : std::true_type {};
template <class T>
struct has_lock_free_form<round_robin<T>> : std::true_type {};
template <class T>
struct has_lock_free_form<mlfq<T>> : std::true_type {};
} // namespace detail

/// No lock: `run_queue<fcfs<T>, lock_free>`, `run_queue<round_robin<T>,
/// lock_free>` and `run_queue<mlfq<T>, lock_free>` are bounded
/// multi-producer multi-consumer rings (MLFQ: one ring per level and an
/// atomic bitmap of the non-empty levels). Policies that order by a key
/// (the SJF family, priority, fair share) have no lock-free form; pairing
/// them with `lock_free` fails to compile.
struct lock_free {
    /// Unused: the lock-free forms lock nothing.
    struct mutex_type {
        constexpr void lock() noexcept {}
        constexpr void unlock() noexcept {}
    };
    static constexpr bool thread_safe = true;
    template <class Policy>
    static constexpr bool supports = detail::has_lock_free_form<Policy>::value;
};

static_assert(locking_policy<lock_free>);

} // namespace kettle
