// SPDX-License-Identifier: MIT
#pragma once

/// What `thread_pool::submit` queues: a callable packaged with the state of
/// its future, or a coroutine that drives a `kettle::task` to completion and
/// is itself the state of its future. One allocation each.

#include <kettle/mode/future.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/detail/pool_core.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle::detail {

inline std::exception_ptr broken_promise() {
    return std::make_exception_ptr(std::future_error(std::future_errc::broken_promise));
}

// --- a callable and its future ------------------------------------------------------------

/// The callable `F` and the result it will produce, in one allocation.
/// Referenced by the job that runs it and, once `make_future` was called, by
/// the future; freed by whichever lets go last.
template <class R, class F>
class packaged_call final : public future_state<R> {
public:
    template <class G>
    explicit packaged_call(G&& f) : future_state<R>(&on_detach), m_fn(std::forward<G>(f)) {}

    /// Once, before the job can run.
    future<R> make_future() noexcept {
        m_refs.fetch_add(1, std::memory_order_relaxed);
        return future<R>(this);
    }

    /// Runs the callable and publishes its result or exception. The callable
    /// is destroyed before the future becomes ready. Job side; once.
    void run() noexcept {
        std::exception_ptr error;
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(*m_fn);
                m_fn.reset();
                this->set_value();
            } else {
                R result = std::invoke(*m_fn);
                m_fn.reset();
                this->set_value(std::move(result));
            }
        } catch (...) {
            error = std::current_exception();
        }
        if (error) {
            // Published after the handler ended, so the thread that rethrows
            // holds the exception's last reference, not this one.
            m_fn.reset();
            this->set_exception(std::move(error));
        }
        release();
    }

    /// The callable, before the job ran. Job side.
    [[nodiscard]] F& callable() noexcept { return *m_fn; }

    /// The job was destroyed unrun: the future, if any, breaks. Job side; once.
    void cancel() noexcept {
        m_fn.reset();
        // 1: the job is the only owner, nobody is waiting (try_submit that
        // found the queues full): skip making an exception.
        if (m_refs.load(std::memory_order_acquire) > 1)
            this->set_exception(broken_promise());
        release();
    }

private:
    static void on_detach(future_state<R>* s) noexcept { static_cast<packaged_call*>(s)->release(); }

    void release() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    std::optional<F> m_fn;        // job side only
    std::atomic<int> m_refs{1};   // the job, and the future once made
};

/// The `pool_job` callable of a `packaged_call`: running it runs the call;
/// destroying it unrun cancels the call. Two pointers: always stored inline.
template <class R, class F>
class packaged_job {
public:
    explicit packaged_job(packaged_call<R, F>* call) noexcept : m_call(call) {}
    packaged_job(packaged_job&& other) noexcept : m_call(std::exchange(other.m_call, nullptr)) {}
    packaged_job& operator=(packaged_job&&) = delete;
    ~packaged_job() {
        if (m_call != nullptr)
            m_call->cancel();
    }
    void operator()() noexcept { std::exchange(m_call, nullptr)->run(); }

private:
    packaged_call<R, F>* m_call;
};

// --- a task and its future ---------------------------------------------------------------

template <class T>
class pool_task_promise;

/// The coroutine `thread_pool::submit(task<T>)` makes: started by its job on
/// a worker, it awaits the task (which may suspend and be resumed anywhere)
/// and publishes the result to the future it is the state of.
template <class T>
class [[nodiscard]] pool_task_driver {
public:
    using promise_type = pool_task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    explicit pool_task_driver(handle_type h) noexcept : m_handle(h) {}
    pool_task_driver(pool_task_driver&& other) noexcept
        : m_handle(std::exchange(other.m_handle, {})) {}
    pool_task_driver& operator=(pool_task_driver&&) = delete;
    ~pool_task_driver() {
        if (m_handle)
            m_handle.promise().cancel();
    }

    /// Once, before the job can run.
    future<T> make_future() noexcept { return m_handle.promise().make_future(); }

    /// The `pool_job` callable: starts the coroutine on the calling worker.
    /// Destroying it unstarted destroys the coroutine (and the task it
    /// holds) and breaks the future.
    void operator()() noexcept {
        promise_type& p = std::exchange(m_handle, {}).promise();
        p.pool().task_started();
        handle_type::from_promise(p).resume();
    }

private:
    handle_type m_handle;
};

template <class T>
class pool_task_promise_base : public future_state<T> {
public:
    template <class... Args>
    explicit pool_task_promise_base(pool_core& pool, Args&&...) noexcept
        : future_state<T>(&on_detach), m_pool(&pool) {}

    pool_task_driver<T> get_return_object() noexcept {
        return pool_task_driver<T>(std::coroutine_handle<pool_task_promise<T>>::from_promise(
            static_cast<pool_task_promise<T>&>(*this)));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<pool_task_promise<T>> h) const noexcept {
            auto& self = h.promise();
            if (self.m_pending_error) // published outside the handler (see packaged_call::run)
                self.set_exception(std::move(self.m_pending_error));
            self.m_pool->task_finished(); // the last use of the pool
            self.release();
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }

    void unhandled_exception() noexcept { m_pending_error = std::current_exception(); }

    pool_core& pool() const noexcept { return *m_pool; }

    future<T> make_future() noexcept {
        m_refs.fetch_add(1, std::memory_order_relaxed);
        return future<T>(this);
    }

    /// The coroutine will never start.
    void cancel() noexcept {
        if (m_refs.load(std::memory_order_acquire) > 1)
            this->set_exception(broken_promise());
        release();
    }

private:
    static void on_detach(future_state<T>* s) noexcept {
        static_cast<pool_task_promise_base*>(s)->release();
    }

    // The coroutine side lets go when it finishes or is cancelled unstarted;
    // either way the frame is suspended, so destroying it here is allowed.
    void release() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            std::coroutine_handle<pool_task_promise<T>>::from_promise(
                static_cast<pool_task_promise<T>&>(*this))
                .destroy();
    }

    pool_core* m_pool;
    std::exception_ptr m_pending_error; // from unhandled_exception, until final_suspend
    std::atomic<int> m_refs{1}; // the coroutine side, and the future once made
};

template <class T>
class pool_task_promise final : public pool_task_promise_base<T> {
public:
    using pool_task_promise_base<T>::pool_task_promise_base;
    template <class U>
        requires std::convertible_to<U&&, T>
    void return_value(U&& v) {
        this->set_value(std::forward<U>(v));
    }
};

template <>
class pool_task_promise<void> final : public pool_task_promise_base<void> {
public:
    using pool_task_promise_base<void>::pool_task_promise_base;
    void return_void() { this->set_value(); }
};

template <class T>
    requires(!std::is_void_v<T>)
pool_task_driver<T> drive_task(pool_core&, task<T> t) {
    co_return co_await std::move(t);
}

inline pool_task_driver<void> drive_task(pool_core&, task<void> t) {
    co_await std::move(t);
}

} // namespace kettle::detail
