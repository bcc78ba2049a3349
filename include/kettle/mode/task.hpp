// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::task<T>`: a lazy coroutine that produces a T.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {

template <class T = void>
class task;

namespace detail {

class task_promise_base {
public:
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        // Symmetric transfer: the awaiting coroutine resumes without growing
        // the stack, however long a chain of tasks completes at once.
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
            return h.promise().m_continuation;
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { m_error = std::current_exception(); }

    void set_continuation(std::coroutine_handle<> h) noexcept { m_continuation = h; }

protected:
    void rethrow_if_failed() const {
        if (m_error)
            std::rethrow_exception(m_error);
    }

private:
    std::coroutine_handle<> m_continuation = std::noop_coroutine();
    std::exception_ptr m_error;
};

template <class T>
class task_promise final : public task_promise_base {
public:
    task<T> get_return_object() noexcept;

    template <class U>
        requires std::convertible_to<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        m_value.emplace(std::forward<U>(v));
    }
    T result() {
        rethrow_if_failed();
        return std::move(*m_value);
    }

private:
    std::optional<T> m_value;
};

template <>
class task_promise<void> final : public task_promise_base {
public:
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void result() const { rethrow_if_failed(); }
};

} // namespace detail

/// A coroutine that does nothing until awaited, then runs on the awaiting
/// thread until its first suspension; when it finishes, its awaiter resumes
/// on the thread that finished it (symmetric transfer, no stack growth).
/// Move-only; destroying a task destroys its coroutine frame (a suspended
/// one too: operations it awaits are cancelled). No allocation beyond the
/// coroutine frame. Exceptions thrown in the body are rethrown by `co_await`.
///
/// Await it with `co_await std::move(t)` or `co_await make_task()`; from
/// ordinary code, with `kettle::sync_wait`.
template <class T>
class [[nodiscard]] task {
    static_assert(!std::is_reference_v<T>, "task<T&> is not supported; return a pointer or std::reference_wrapper");

public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : m_handle(h) {}
    task(task&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (m_handle)
                m_handle.destroy();
            m_handle = std::exchange(other.m_handle, {});
        }
        return *this;
    }
    ~task() {
        if (m_handle)
            m_handle.destroy();
    }

    /// True once the body has finished (returned or thrown).
    [[nodiscard]] bool done() const noexcept { return !m_handle || m_handle.done(); }

    class awaiter {
    public:
        explicit awaiter(handle_type h) noexcept : m_handle(h) {}
        bool await_ready() const noexcept { return !m_handle || m_handle.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> continuation) noexcept {
            m_handle.promise().set_continuation(continuation);
            return m_handle;
        }
        T await_resume() { return m_handle.promise().result(); }

    private:
        handle_type m_handle;
    };

    /// Starts the task (if not already finished) and suspends until it is.
    awaiter operator co_await() && noexcept { return awaiter(m_handle); }

private:
    handle_type m_handle;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

} // namespace detail
} // namespace kettle
