// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::sync_wait`: the bridge from coroutines back to blocking code.

#include <kettle/mode/task.hpp>

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {
namespace detail {

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); })
        return std::forward<A>(a).operator co_await();
    else
        return std::forward<A>(a);
}

template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

// Where the blocked thread sleeps. It lives on that thread's stack, and the
// finishing thread touches it only under the mutex: the mutex is what the
// sleeper must reacquire before it may return and destroy it.
struct sync_wait_flag {
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false; // guarded by m_mutex

    void set() noexcept {
        std::lock_guard lock(m_mutex);
        m_done = true;
        m_cv.notify_one();
    }
    void wait() noexcept {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return m_done; });
    }
};

// The coroutine sync_wait drives: awaits the awaitable, keeps the result, and
// raises a flag the blocked thread sleeps on.
template <class T>
class sync_wait_task {
public:
    class promise_type {
    public:
        sync_wait_task get_return_object() noexcept {
            return sync_wait_task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        auto final_suspend() noexcept {
            struct signal {
                bool await_ready() const noexcept { return false; }
                void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
                    h.promise().m_flag->set();
                }
                void await_resume() const noexcept {}
            };
            return signal{};
        }
        void unhandled_exception() noexcept { m_error = std::current_exception(); }
        template <class U>
        void return_value(U&& v) {
            m_value.emplace(std::forward<U>(v));
        }

        T result() {
            if (m_error)
                std::rethrow_exception(m_error);
            return std::move(*m_value);
        }

    private:
        friend class sync_wait_task;
        sync_wait_flag* m_flag = nullptr;
        std::exception_ptr m_error;
        std::optional<T> m_value;
    };

    explicit sync_wait_task(std::coroutine_handle<promise_type> h) noexcept : m_handle(h) {}
    sync_wait_task(sync_wait_task&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    sync_wait_task& operator=(sync_wait_task&&) = delete;
    ~sync_wait_task() {
        if (m_handle)
            m_handle.destroy();
    }

    T run() {
        sync_wait_flag flag;
        m_handle.promise().m_flag = &flag;
        m_handle.resume();
        flag.wait();
        return m_handle.promise().result();
    }

private:
    std::coroutine_handle<promise_type> m_handle;
};

struct void_result {};

template <class A>
sync_wait_task<std::conditional_t<std::is_void_v<await_result_t<A>>, void_result, await_result_t<A>>>
make_sync_wait_task(A&& awaitable) {
    if constexpr (std::is_void_v<await_result_t<A>>) {
        co_await std::forward<A>(awaitable);
        co_return void_result{};
    } else {
        co_return co_await std::forward<A>(awaitable);
    }
}

} // namespace detail

/// Runs `awaitable` (a `task`, say) and blocks the calling thread until it
/// finishes; returns its result or rethrows its exception. The thread sleeps
/// (condition variable) while the awaitable is suspended, so whatever resumes it — a
/// loop running on another thread — must not need this thread.
template <class A>
decltype(auto) sync_wait(A&& awaitable) {
    auto t = detail::make_sync_wait_task(std::forward<A>(awaitable));
    if constexpr (std::is_void_v<detail::await_result_t<A>>)
        t.run();
    else
        return t.run();
}

} // namespace kettle
