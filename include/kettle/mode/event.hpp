// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::event`: a manual-reset event, waitable in the four ways.

#include <kettle/mode/detail/wait_list.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/tags.hpp>

#include <atomic>
#include <utility>

namespace kettle {

/// A flag that waiters wait to see set. Thread-safe: `set`, `reset`,
/// `is_set` and every form of `wait` may be called from any thread.
///
/// ```cpp
/// ev.wait();                                   // sync, blocking (the default)
/// bool now = ev.wait(kettle::sync_nonblocking); // never blocks
/// auto f = ev.wait(kettle::async_blocking, loop);
/// ev.wait(kettle::async_nonblocking, loop, [] { ... });  // runs on loop's thread
/// co_await ev.wait(loop);
/// ```
/// Destroying an event abandons its asynchronous waiters (their callbacks are
/// destroyed uncalled, futures break); destroy it on the loop's thread or
/// while the loop is not running.
class event {
public:
    /// Completes once the event is set.
    class wait_operation {
    public:
        using result_type = void;
        explicit wait_operation(const event& ev) noexcept : m_event(&ev) {}
        [[nodiscard]] bool try_complete() const noexcept { return m_event->is_set(); }
        [[nodiscard]] detail::wait_list::token readiness() const noexcept {
            return m_event->m_waiters.snapshot();
        }

    private:
        const event* m_event;
    };
    static_assert(operation<wait_operation>);

    explicit event(bool initially_set = false) noexcept : m_set(initially_set) {}
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Sets the event and releases every waiter. Idempotent.
    void set() noexcept {
        if (!m_set.exchange(true, std::memory_order_release))
            m_waiters.notify_all();
    }
    /// Clears the event; later waits wait for the next `set`.
    void reset() noexcept { m_set.store(false, std::memory_order_relaxed); }

    [[nodiscard]] bool is_set() const noexcept { return m_set.load(std::memory_order_acquire); }

    [[nodiscard]] wait_operation wait_op() const noexcept { return wait_operation(*this); }

    /// Waits in the given mode (sync_blocking when none is given); see `perform`.
    template <class... Mode>
    decltype(auto) wait(Mode&&... mode) const {
        if constexpr (sizeof...(Mode) == 0)
            return perform(wait_op(), sync_blocking);
        else
            return perform(wait_op(), std::forward<Mode>(mode)...);
    }

    /// Waits at most `timeout`; true if the event was set.
    template <class Rep, class Period>
    [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return perform_until(wait_op(), sync_blocking, deadline_after(timeout));
    }

private:
    std::atomic<bool> m_set; // false -> true on set (release; is_set acquires), back on reset
    detail::wait_list m_waiters;
};

} // namespace kettle
