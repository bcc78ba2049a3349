// SPDX-License-Identifier: MIT
#pragma once

/// The awaiters of `coroutine_scheduler::sleep_for` and `wait_io`: a task
/// blocked on the scheduler's loop, by a timer or a descriptor, and woken
/// through it. `Scheduler` is the `coroutine_scheduler` they belong to; they
/// use its loop, its running task and its bookkeeping of what tasks wait on.

#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/native_handle.hpp>
#include <kettle/loop/timer_id.hpp>
#include <kettle/mode/detail/saturate.hpp>
#include <kettle/sched/detail/coroutine_context.hpp>

#include <chrono>
#include <coroutine>
#include <system_error>

namespace kettle::detail {

/// `co_await sched.sleep_for(d)` (see `coroutine_scheduler::sleep_for`).
template <class Scheduler>
class [[nodiscard]] coroutine_sleep_awaiter {
public:
    coroutine_sleep_awaiter(Scheduler& s, steady_time deadline) noexcept : m_sched(s), m_deadline(deadline) {}
    coroutine_sleep_awaiter(const coroutine_sleep_awaiter&) = delete;
    coroutine_sleep_awaiter& operator=(const coroutine_sleep_awaiter&) = delete;
    ~coroutine_sleep_awaiter() {
        if (m_armed) {
            m_sched.m_loop->cancel_timer(m_timer);
            m_sched.unlink_sleeper(*this);
        }
    }

    bool await_ready() const noexcept { return m_deadline <= std::chrono::steady_clock::now(); }
    /// Throws std::bad_alloc (the timer's node); the task then goes on with it.
    void await_suspend(std::coroutine_handle<> h) {
        m_node.m_handle = h;
        m_task = m_sched.m_current;
        m_timer = m_sched.m_loop->add_timer_at(m_deadline, [this] { fire(); });
        m_sched.link_sleeper(*this);
    }
    void await_resume() const noexcept {}

private:
    friend Scheduler;

    void fire() noexcept {
        m_sched.unlink_sleeper(*this);
        m_sched.deliver_to(m_task, &m_node);
    }

    Scheduler& m_sched;
    steady_time m_deadline;
    coroutine_resume_node m_node;
    coroutine_control* m_task = nullptr;
    timer_id m_timer{};
    coroutine_sleep_awaiter* m_prev = nullptr; // the scheduler's list of armed sleeps
    coroutine_sleep_awaiter* m_next = nullptr;
    bool m_armed = false;
};

/// `co_await sched.wait_io(fd, i)` (see `coroutine_scheduler::wait_io`).
template <class Scheduler>
class [[nodiscard]] coroutine_io_awaiter {
public:
    coroutine_io_awaiter(Scheduler& s, native_handle h, interest i) noexcept
        : m_sched(s), m_handle(h), m_interest(i) {}
    coroutine_io_awaiter(const coroutine_io_awaiter&) = delete;
    coroutine_io_awaiter& operator=(const coroutine_io_awaiter&) = delete;
    ~coroutine_io_awaiter() {
        if (m_armed)
            disarm();
    }

    bool await_ready() const noexcept { return false; }
    /// Throws `std::system_error` when the loop refuses the descriptor
    /// (closed or invalid: `EBADF`; already watched: `errc::file_exists`),
    /// or std::bad_alloc; the task then goes on with it.
    void await_suspend(std::coroutine_handle<> h) {
        m_node.m_handle = h;
        m_task = m_sched.m_current;
        m_sched.m_loop->add(m_handle, m_interest, [this](io_events ev) { fire(ev); });
        m_armed = true;
        ++m_sched.m_io_waiting;
    }
    /// What the descriptor is ready for (it may include `error` or `hangup`).
    io_events await_resume() const noexcept { return m_events; }

private:
    void fire(io_events ev) noexcept {
        m_events = ev;
        disarm(); // one readiness, one wake-up (the loop allows removing the running callback)
        m_sched.deliver_to(m_task, &m_node);
    }
    void disarm() noexcept {
        std::error_code ignored; // a descriptor closed meanwhile was dropped by the OS already
        m_sched.m_loop->remove(m_handle, ignored);
        m_armed = false;
        --m_sched.m_io_waiting;
    }

    Scheduler& m_sched;
    native_handle m_handle;
    interest m_interest;
    io_events m_events{};
    coroutine_resume_node m_node;
    coroutine_control* m_task = nullptr;
    bool m_armed = false;
};

} // namespace kettle::detail
