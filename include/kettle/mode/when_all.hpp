// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::when_all`: await several tasks at once.

#include <kettle/mode/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace kettle {
namespace detail {

// Counts unfinished children; whoever finishes last resumes the parent.
class when_all_latch {
public:
    explicit when_all_latch(std::size_t children) noexcept : m_count(children + 1) {}

    // Called by the parent after starting every child: false if all are done
    // already (the parent then does not suspend).
    bool try_suspend(std::coroutine_handle<> parent) noexcept {
        m_parent = parent;
        return m_count.fetch_sub(1, std::memory_order_acq_rel) > 1;
    }
    // Called by each child as it finishes; the last one returns the parent.
    std::coroutine_handle<> arrive() noexcept {
        if (m_count.fetch_sub(1, std::memory_order_acq_rel) == 1)
            return m_parent;
        return std::noop_coroutine();
    }

private:
    // children + 1 (the parent's own token) -> 0; acq_rel so the parent sees
    // every child's result once it is resumed.
    std::atomic<std::size_t> m_count;
    std::coroutine_handle<> m_parent;
};

template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// One child: awaits its task and keeps the outcome.
template <class T>
class when_all_child {
public:
    class promise_type {
    public:
        when_all_child get_return_object() noexcept {
            return when_all_child(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        auto final_suspend() noexcept {
            struct arrive {
                bool await_ready() const noexcept { return false; }
                std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
                    return h.promise().m_latch->arrive();
                }
                void await_resume() const noexcept {}
            };
            return arrive{};
        }
        void unhandled_exception() noexcept { m_error = std::current_exception(); }
        void return_value(non_void_t<T>&& v) { m_value.emplace(std::move(v)); }

        when_all_latch* m_latch = nullptr;
        std::exception_ptr m_error;
        std::optional<non_void_t<T>> m_value;
    };

    explicit when_all_child(std::coroutine_handle<promise_type> h) noexcept : m_handle(h) {}
    when_all_child(when_all_child&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    when_all_child& operator=(when_all_child&&) = delete;
    ~when_all_child() {
        if (m_handle)
            m_handle.destroy();
    }

    void start(when_all_latch& latch) noexcept {
        m_handle.promise().m_latch = &latch;
        m_handle.resume();
    }
    non_void_t<T> take() {
        auto& p = m_handle.promise();
        if (p.m_error)
            std::rethrow_exception(p.m_error);
        return std::move(*p.m_value);
    }

private:
    std::coroutine_handle<promise_type> m_handle;
};

template <class T>
when_all_child<T> make_when_all_child(task<T> t) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
        co_return std::monostate{};
    } else {
        co_return co_await std::move(t);
    }
}

template <class Start>
struct when_all_awaiter {
    when_all_latch& latch;
    Start start_all;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) {
        start_all();
        return latch.try_suspend(parent);
    }
    void await_resume() const noexcept {}
};

template <class Start>
when_all_awaiter(when_all_latch&, Start) -> when_all_awaiter<Start>;

} // namespace detail

/// Runs every task concurrently (each starts on the awaiting thread and may
/// suspend independently) and resumes the awaiter, on the thread that
/// finished the last one, with all their results. `void` results become
/// `std::monostate`. If any task throws, the first exception (in argument
/// order) is rethrown after all have finished.
template <class... Ts>
task<std::tuple<detail::non_void_t<Ts>...>> when_all(task<Ts>... tasks) {
    detail::when_all_latch latch(sizeof...(Ts));
    std::tuple<detail::when_all_child<Ts>...> children(detail::make_when_all_child(std::move(tasks))...);
    co_await detail::when_all_awaiter{latch, [&] { std::apply([&](auto&... c) { (c.start(latch), ...); }, children); }};
    // Braces evaluate left to right: the first failure in argument order wins.
    co_return std::apply(
        [](auto&... c) { return std::tuple<detail::non_void_t<Ts>...>{c.take()...}; }, children);
}

/// As above, for any number of tasks of one type.
template <class T>
task<std::vector<detail::non_void_t<T>>> when_all(std::vector<task<T>> tasks) {
    detail::when_all_latch latch(tasks.size());
    std::vector<detail::when_all_child<T>> children;
    children.reserve(tasks.size());
    for (auto& t : tasks)
        children.push_back(detail::make_when_all_child(std::move(t)));
    co_await detail::when_all_awaiter{latch, [&] { for (auto& c : children) c.start(latch); }};
    std::vector<detail::non_void_t<T>> results;
    results.reserve(children.size());
    for (auto& c : children)
        results.push_back(c.take());
    co_return results;
}

} // namespace kettle
