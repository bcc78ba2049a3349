// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::yield()`: the preemption point of a task on a
/// `coroutine_scheduler` (DESIGN §2, driver 2).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/coroutine_context.hpp>

#include <coroutine>

namespace kettle {

/// The tag of the unconditional yield: `co_await kettle::yield(kettle::always)`.
struct always_t {
    explicit always_t() = default;
};
inline constexpr always_t always{};

/// What `yield()` (`Always` false) and `yield(always)` return; await it at
/// once (`co_await kettle::yield()`). The two are separate types so that the
/// unconditional form carries no flag and the conditional one no check of it.
template <bool Always>
class [[nodiscard]] yield_awaiter {
public:
    yield_awaiter() noexcept {} // the node stays unconstructed until needed

    /// The decision, taken on the running task's thread. Never blocks.
    [[gnu::always_inline]] bool await_ready() noexcept {
        detail::coroutine_scheduler_base* s = detail::coroutine_scheduler_base::current();
        if (s->m_current == nullptr)
            return true; // not inside a task: nothing to give up
        if constexpr (Always) {
            return false;
        } else {
            // The fast path: no clock sample due, and nothing queued since
            // the dispatch that could preempt this task.
            if (--s->m_countdown != 0 && !s->m_changed)
                return true;
            return !s->should_switch();
        }
    }
    [[gnu::always_inline]] void await_suspend(std::coroutine_handle<> h) noexcept {
        detail::coroutine_scheduler_base::current()->switch_out(h, &m_node, Always ? cause::yielded : cause::preempted);
    }
    void await_resume() const noexcept {}

private:
    // Constructed by switch_out only when the task has something pending.
    union {
        detail::coroutine_resume_node m_node;
    };
};

/// A preemption point: `co_await kettle::yield();` inside a task running on
/// a `coroutine_scheduler`.
///
/// The task goes on at once (no switch, a few instructions) unless its slice
/// is over — the dispatch's quantum, in ticks of the scheduler's sampled
/// clock (see `coroutine_scheduler_settings`) — or the policy's `preempts()`
/// says a waiting task should take the CPU. Then the task is charged the
/// ticks it ran, pushed back with `cause::preempted`, and resumes when the
/// policy dispatches it again, on the scheduler's thread.
///
/// Outside a task (no scheduler running on this thread, or between slices)
/// it does nothing.
[[nodiscard]] inline yield_awaiter<false> yield() noexcept { return {}; }

/// An unconditional hand-over: `co_await kettle::yield(kettle::always);`
/// always gives the CPU up and re-enters the run queue with
/// `cause::yielded`, even when no other task is ready (the policy then
/// dispatches the same task again). Outside a task it does nothing.
[[nodiscard]] inline yield_awaiter<true> yield(always_t) noexcept { return {}; }

} // namespace kettle
