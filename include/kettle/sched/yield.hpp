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

/// What `yield()` returns; await it at once (`co_await kettle::yield()`).
class [[nodiscard]] yield_awaiter {
public:
    explicit yield_awaiter(bool unconditional) noexcept : m_always(unconditional) {}

    /// The decision, taken on the running task's thread. Never blocks.
    [[gnu::always_inline]] bool await_ready() noexcept {
        detail::coroutine_scheduler_base* s = detail::coroutine_scheduler_base::current();
        if (s == nullptr || s->m_current == nullptr)
            return true; // not inside a task: nothing to give up
        m_scheduler = s;
        if (m_always)
            return false;
        // The fast path: no clock sample due, and nothing queued since the
        // dispatch that could preempt this task.
        if (--s->m_countdown != 0 && s->m_version == s->m_checked_version)
            return true;
        return !s->should_switch();
    }
    [[gnu::always_inline]] void await_suspend(std::coroutine_handle<> h) noexcept {
        m_scheduler->switch_out(h, &m_node, m_always ? cause::yielded : cause::preempted);
    }
    void await_resume() const noexcept {}

private:
    // Constructed by switch_out only when the task has something pending.
    union {
        detail::coroutine_resume_node m_node;
    };
    detail::coroutine_scheduler_base* m_scheduler = nullptr;
    bool m_always;
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
[[nodiscard]] inline yield_awaiter yield() noexcept { return yield_awaiter(false); }

/// An unconditional hand-over: `co_await kettle::yield(kettle::always);`
/// always gives the CPU up and re-enters the run queue with
/// `cause::yielded`, even when no other task is ready (the policy then
/// dispatches the same task again). Outside a task it does nothing.
[[nodiscard]] inline yield_awaiter yield(always_t) noexcept { return yield_awaiter(true); }

} // namespace kettle
