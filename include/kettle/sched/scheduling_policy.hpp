// SPDX-License-Identifier: MIT
#pragma once

/// The scheduling-policy concept: the contract every driver (simulator,
/// coroutine scheduler, thread pool) relies on (DESIGN §2).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {

/// A ready queue with an opinion about who runs next.
///
/// - `push(entry, cause)`: the task is ready; `cause` says why.
/// - `pop()`: the task to run next and its quantum, or empty when none is ready.
/// - `preempts(running)`: should the driver take the CPU from `running` now
///   (a more urgent task is waiting, or time-based rules such as a priority
///   boost say so)? Called with the entry the driver holds; never changes the
///   queue.
/// - `charge(running, ran)`: account `ran` ticks of CPU to the entry the
///   driver holds; called before it is pushed back or finishes.
/// - `advance_to(now)`: tell the policy the time (never decreasing); drives
///   time-based rules (MLFQ boost, priority aging). Call before the pushes
///   and pops of that instant.
///
/// `entry_type` is constructible from `value_type` (a fresh task, to be pushed
/// with `cause::created`) and exposes the task as `.value`.
///
/// Policies are plain single-threaded objects: a driver that shares one
/// between threads wraps it in `run_queue<Policy, Locking>`.
///
/// Optionally, `try_push_pop(dispatch& d, cause)` -> `bool`, `noexcept`:
/// `push(std::move(d.entry), cause)` then `d = *pop()`, with exactly their
/// effect, when that can be done without allocating (and so without
/// throwing); otherwise false, with `d` and the queue untouched. It is what a
/// driver does at every switch; fused, and in place, it costs less (a FIFO
/// hands over without a capacity check, a heap replaces its top with one
/// sift-down, and nothing is copied through temporaries). See
/// `kettle::try_push_pop`.
template <class P>
concept scheduling_policy =
    std::move_constructible<P> &&
    requires {
        typename P::value_type;
        typename P::entry_type;
    } && std::constructible_from<typename P::entry_type, typename P::value_type> &&
    std::move_constructible<typename P::entry_type> &&
    requires(P& p, const P& cp, typename P::entry_type e, typename P::entry_type& held,
             const typename P::entry_type& ce, cause c, tick_count t) {
        { ce.value } -> std::convertible_to<const typename P::value_type&>;
        { p.push(std::move(e), c) } -> std::same_as<void>;
        { p.pop() } -> std::same_as<std::optional<dispatch<typename P::entry_type>>>;
        { cp.preempts(ce) } -> std::same_as<bool>;
        { p.charge(held, t) } -> std::same_as<void>;
        { p.advance_to(t) } -> std::same_as<void>;
        { cp.size() } -> std::same_as<std::size_t>;
        { cp.empty() } -> std::same_as<bool>;
    };

/// `p.push(std::move(d.entry), c)` followed by `d = *p.pop()`, if that
/// cannot throw: through the policy's own `try_push_pop`, else through the
/// pair when both are `noexcept`. False, with `d` and `p` untouched, when it
/// cannot be done so (the caller then pushes and pops as usual). Never
/// throws.
template <scheduling_policy P>
[[nodiscard]] bool try_push_pop(P& p, dispatch<typename P::entry_type>& d, cause c) noexcept {
    if constexpr (requires {
                      { p.try_push_pop(d, c) } -> std::same_as<bool>;
                  }) {
        static_assert(noexcept(p.try_push_pop(d, c)), "a policy's try_push_pop must be noexcept");
        return p.try_push_pop(d, c);
    } else if constexpr (noexcept(p.push(std::move(d.entry), c)) && noexcept(p.pop()) &&
                         std::is_nothrow_move_assignable_v<dispatch<typename P::entry_type>>) {
        p.push(std::move(d.entry), c);
        d = std::move(*p.pop());
        return true;
    } else {
        return false;
    }
}

} // namespace kettle
