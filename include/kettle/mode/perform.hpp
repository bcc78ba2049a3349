// SPDX-License-Identifier: MIT
#pragma once

/// The four ways to wait, derived once for every operation (DESIGN §1).
///
/// ```cpp
/// T              v = kettle::perform(op, kettle::sync_blocking);
/// attempt<T>     a = kettle::perform(op, kettle::sync_nonblocking);
/// future<T>      f = kettle::perform(op, kettle::async_blocking, loop);
/// /* void */         kettle::perform(op, kettle::async_nonblocking, loop, [](T v) {...});
/// T              v = co_await kettle::perform(op, loop);
/// ```
///
/// Primitives forward their verbs here (`channel::pop(mode...)`), so the same
/// five lines work for every waitable thing in kettle.
///
/// Cost: the sync modes are the primitive's own `try_complete`/`readiness`
/// calls and nothing else (no allocation, no indirect call). The async modes
/// allocate one record (`detail::completion`) per operation, and only when
/// the operation does not complete at once in the coroutine form.

#include <kettle/mode/detail/completion.hpp>
#include <kettle/mode/executor.hpp>
#include <kettle/mode/future.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/tags.hpp>

#include <chrono>
#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace kettle {

namespace detail {

template <class T>
decltype(auto) unwrap(attempt<T>& a) {
    if constexpr (!std::is_void_v<T>)
        return std::move(*a);
}

template <class Op, class E>
concept async_operation = operation<Op> && executor<E> &&
                          async_readiness_source<readiness_of_t<Op>, E>;

template <class F, class T>
concept completion_callback =
    std::move_constructible<std::decay_t<F>> &&
    ((std::is_void_v<T> && std::invocable<std::decay_t<F>&>) ||
     (!std::is_void_v<T> && std::invocable<std::decay_t<F>&, T>));

} // namespace detail

/// Sync, blocking: returns the result; the thread sleeps on the operation's
/// readiness source meanwhile (no spinning). Exceptions from the operation
/// propagate.
namespace detail {
// The waiting half of a sync blocking perform, kept out of line so that the
// caller's fast path (one attempt that succeeds) inlines to the attempt alone.
template <operation Op>
[[gnu::noinline]] result_of_t<Op> wait_and_perform(Op& op) {
    using T = result_of_t<Op>;
    for (;;) {
        auto token = op.readiness();
        if (auto a = op.try_complete(); completed<T>(a))
            return unwrap<T>(a);
        token.wait();
    }
}
} // namespace detail

template <operation Op>
result_of_t<Op> perform(Op op, sync_blocking_t) {
    using T = result_of_t<Op>;
    if (auto a = op.try_complete(); detail::completed<T>(a))
        return detail::unwrap<T>(a);
    return detail::wait_and_perform(op);
}

/// Sync, blocking, with a deadline: the result, or empty (`false` for
/// `void`) once `deadline` has passed.
template <operation Op>
attempt<result_of_t<Op>> perform_until(Op op, sync_blocking_t, steady_time deadline) {
    using T = result_of_t<Op>;
    for (;;) {
        auto token = op.readiness();
        if (auto a = op.try_complete(); detail::completed<T>(a))
            return a;
        if (!token.wait_until(deadline))
            return op.try_complete();
    }
}

/// Sync, non-blocking: one attempt, now. Empty (`false`) means "not yet".
template <operation Op>
[[nodiscard]] attempt<result_of_t<Op>> perform(Op op, sync_nonblocking_t) {
    return op.try_complete();
}

/// Async, blocking: starts the operation on `exec` and returns a future.
/// The attempt runs on `exec`'s thread. One allocation (the future's state
/// and the operation record are one object).
template <operation Op, executor E>
    requires detail::async_operation<Op, E>
future<result_of_t<Op>> perform(Op op, async_blocking_t, E& exec) {
    using T = result_of_t<Op>;
    using record = detail::completion<Op, E, detail::future_sink<T>>;
    constexpr auto detach = [](detail::future_state<T>* s) noexcept {
        static_cast<record&>(*s).detach();
    };
    auto* r = new record(std::move(op), exec, true, +detach);
    future<T> f(r);
    r->start();
    return f;
}

/// Async, non-blocking: starts the operation on `exec` and returns at once;
/// `f(result)` later runs on `exec`'s thread (never inside this call). If
/// `exec` or the operation's source is destroyed first, `f` is destroyed
/// without being called. One allocation.
template <operation Op, executor E, class F>
    requires detail::async_operation<Op, E> && detail::completion_callback<F, result_of_t<Op>>
void perform(Op op, async_nonblocking_t, E& exec, F&& f) {
    using record = detail::completion<Op, E, detail::callback_sink<std::decay_t<F>>>;
    (new record(std::move(op), exec, false, std::forward<F>(f)))->start();
}

/// The awaiter of `co_await perform(op, exec)`.
///
/// If the operation completes at once the coroutine simply continues on its
/// thread, allocating nothing. Otherwise it is resumed on `exec`'s thread.
/// Destroying the suspended coroutine cancels the operation. If `exec` or
/// the source is destroyed first, the coroutine is never resumed.
template <class Op, class E>
class [[nodiscard]] operation_awaiter {
    using T = result_of_t<Op>;
    using record = detail::completion<Op, E, detail::resume_sink<T>>;

public:
    operation_awaiter(Op&& op, E& exec) noexcept(std::is_nothrow_move_constructible_v<Op>)
        : m_op(std::move(op)), m_exec(exec) {}
    operation_awaiter(const operation_awaiter&) = delete;
    operation_awaiter& operator=(const operation_awaiter&) = delete;
    ~operation_awaiter() {
        if (m_record)
            m_record->detach();
    }

    bool await_ready() {
        m_early = m_op.try_complete();
        return detail::completed<T>(m_early);
    }
    void await_suspend(std::coroutine_handle<> h) {
        m_record = new record(std::move(m_op), m_exec, true, h);
        m_record->start(); // may resume h on another thread before returning
    }
    T await_resume() {
        if (!m_record)
            return detail::unwrap<T>(m_early);
        struct releaser {
            record*& r;
            ~releaser() { std::exchange(r, nullptr)->release(); }
        } guard{m_record};
        return m_record->take();
    }

private:
    Op m_op;
    E& m_exec;
    record* m_record = nullptr;
    attempt<T> m_early{};
};

/// Async, non-blocking, as a coroutine: `T v = co_await perform(op, exec);`
template <operation Op, executor E>
    requires detail::async_operation<Op, E>
operation_awaiter<Op, E> perform(Op op, E& exec) {
    return operation_awaiter<Op, E>(std::move(op), exec);
}

} // namespace kettle
