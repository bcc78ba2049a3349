// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::join_handle<T>`: the result of a task spawned on a
/// `coroutine_scheduler`.

#include <kettle/sched/detail/coroutine_context.hpp>
#include <kettle/sched/detail/coroutine_root.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
#include <future>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kettle {

template <class Policy, class Clock = std::chrono::steady_clock>
class coroutine_scheduler;

/// The result of a task spawned on a `coroutine_scheduler`. Move-only.
///
/// Threads: the scheduler's thread only (or any one thread while the
/// scheduler is not running). `co_await handle` works from a task of the same
/// scheduler: the waiting task blocks, and re-enters the run queue with
/// `cause::woken` once the awaited one is finished.
///
/// Destroying (or `detach`ing) the handle of an unfinished task detaches it:
/// it goes on, and an exception it ends with is rethrown by the scheduler's
/// `run`. An outcome the handle already holds is dropped with it.
template <class T>
class join_handle {
    using state_type = detail::coroutine_join_state<T>;
    using status = detail::coroutine_join_base::status;

public:
    using value_type = T;

    join_handle() noexcept = default;
    join_handle(join_handle&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
    join_handle& operator=(join_handle&& other) noexcept {
        if (this != &other) {
            detach();
            m_state = std::exchange(other.m_state, nullptr);
        }
        return *this;
    }
    ~join_handle() { detach(); }

    /// True while the handle refers to a task (not consumed, moved or detached).
    [[nodiscard]] bool valid() const noexcept { return m_state != nullptr; }
    /// The task finished (returned or threw) or was cancelled. Precondition: valid().
    [[nodiscard]] bool done() const noexcept { return m_state->m_status != status::pending; }
    /// The task was cancelled before it finished. Precondition: valid().
    [[nodiscard]] bool cancelled() const noexcept { return m_state->m_status == status::cancelled; }

    /// The task's result, or its exception rethrown; consumes the handle.
    /// A cancelled task throws `std::future_error(broken_promise)`. Throws
    /// `std::logic_error` if the task is not done (run the scheduler first).
    /// Precondition: valid().
    T get() {
        struct releaser {
            join_handle& h;
            ~releaser() { h.detach(); }
        } guard{*this};
        if (!done())
            throw std::logic_error("kettle::join_handle::get: the task has not finished");
        return take(*m_state);
    }

    /// Cancels the task: a suspended task's coroutine frames are destroyed
    /// (operations it waits for are cancelled, its awaited tasks destroyed),
    /// at once if it is blocked, else when it would next run or, if it is
    /// the running task, when its slice ends. It then counts as done and
    /// `cancelled()`. Nothing happens to a finished task. Precondition: valid().
    void cancel() noexcept {
        if (m_state->m_task != nullptr)
            m_state->m_scheduler->cancel_task(*m_state->m_task);
    }

    /// Gives the handle up (see the class comment). Idempotent.
    void detach() noexcept {
        if (m_state != nullptr) {
            if (m_state->m_status == status::pending)
                m_state->m_detached = true;
            std::exchange(m_state, nullptr)->release();
        }
    }

    /// The awaiter of `co_await handle`; the value is moved out, so await (or
    /// `get`) once.
    class awaiter {
    public:
        explicit awaiter(state_type& s) noexcept : m_state(s) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        ~awaiter() { m_state.unlink(m_waiter); }

        bool await_ready() const noexcept { return m_state.m_status != status::pending; }
        void await_suspend(std::coroutine_handle<> h) noexcept {
            m_waiter.m_handle = h;
            detail::coroutine_scheduler_base* s = detail::coroutine_scheduler_base::current();
            // A coroutine outside this scheduler's tasks is resumed outside any task.
            m_waiter.m_task = s == m_state.m_scheduler ? s->m_current : nullptr;
            m_state.link(m_waiter);
        }
        T await_resume() { return take(m_state); }

    private:
        state_type& m_state;
        detail::coroutine_join_base::waiter m_waiter;
    };

    /// Precondition: valid(); the handle must outlive the `co_await`.
    awaiter operator co_await() const& noexcept { return awaiter(*m_state); }
    awaiter operator co_await() && noexcept { return awaiter(*m_state); }

private:
    template <class P, class C>
    friend class coroutine_scheduler;
    explicit join_handle(state_type* s) noexcept : m_state(s) {}

    static T take(state_type& s) {
        switch (s.m_status) {
        case status::error:
            std::rethrow_exception(s.m_error);
        case status::cancelled:
            throw std::future_error(std::future_errc::broken_promise);
        case status::pending:
            throw std::logic_error("kettle::join_handle: the task has not finished");
        case status::value:
            break;
        }
        if constexpr (!std::is_void_v<T>) {
            T v = std::move(*s.m_value);
            s.m_value.reset();
            return v;
        }
    }

    state_type* m_state = nullptr;
};

} // namespace kettle
