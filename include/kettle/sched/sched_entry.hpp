// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::sched_entry`: a task as it circulates between a scheduling policy
/// and its driver, carrying the policy's per-task state.

#include <type_traits>
#include <utility>

namespace kettle {

/// The state of policies that keep none (FCFS, round robin, SJF, ...).
struct no_state {
    friend constexpr bool operator==(no_state, no_state) noexcept = default;
};

/// A task (`value`) plus the state its policy keeps for it (`state`, e.g.
/// the MLFQ level and used allotment).
///
/// The driver owns the entry while the task runs or is blocked and gives it
/// back with `push`, so the state survives across dispatches without the
/// policy holding anything for tasks it does not queue. Create entries from
/// values (`entry_type{value}`); read `state` freely, but only the policy
/// writes it. Not synchronised: an entry is owned by one thread at a time.
template <class T, class State = no_state>
struct sched_entry {
    using value_type = T;
    using state_type = State;

    explicit sched_entry(T v) noexcept(std::is_nothrow_move_constructible_v<T>)
        : value(std::move(v)) {}
    /// For policies: an entry with its state, made whole in one step.
    sched_entry(T v, State s) noexcept(std::is_nothrow_move_constructible_v<T> &&
                                       std::is_nothrow_move_constructible_v<State>)
        : value(std::move(v)), state(std::move(s)) {}

    T value;
    [[no_unique_address]] State state{};
};

} // namespace kettle
