// SPDX-License-Identifier: MIT
#pragma once

/// What an asynchronous mode needs from the thing that runs completions: an
/// executor, in practice `kettle::event_loop`. Two intrusive hooks, so that
/// handing work over never allocates by itself.

#include <concepts>

namespace kettle {
namespace detail {

/// Work handed to an executor from any thread; intrusive and singly linked.
///
/// The executor calls exactly one of `m_run` (on its own thread) or
/// `m_discard` (from its destructor, when it is destroyed before running the
/// node), exactly once. Either may free the node. While posted, `m_next`
/// belongs to the executor.
struct post_node {
    using fn = void (*)(post_node*) noexcept;
    fn m_run = nullptr;
    fn m_discard = nullptr;
    post_node* m_next = nullptr;
};

/// An operation pending on an executor that must hear of the executor's end.
///
/// `track`/`untrack` are called on the executor's thread only. A tracked node
/// counts as outstanding work (`run()` does not return while one exists). If
/// the executor is destroyed while the node is tracked, it unlinks the node
/// and calls `m_abandon` once, before discarding its posted nodes.
struct tracked_node {
    using fn = void (*)(tracked_node*) noexcept;
    fn m_abandon = nullptr;
    tracked_node* m_prev = nullptr;
    tracked_node* m_next = nullptr;
};

} // namespace detail

/// The contract between the asynchronous modes and whatever runs completions.
template <class E>
concept executor = requires(E& e, detail::post_node& n, detail::tracked_node& t) {
    { e.post(n) } noexcept; // any thread; wakes the executor
    { e.track(t) } noexcept;
    { e.untrack(t) } noexcept;
    { e.running_in_this_thread() } noexcept -> std::same_as<bool>;
};

} // namespace kettle
