// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::channel<T>`: a bounded multi-producer multi-consumer queue whose
/// `push` and `pop` are waitable in the four ways.

#include <kettle/mode/detail/wait_list.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/tags.hpp>

#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace kettle {

/// A bounded FIFO channel. Thread-safe: any number of threads may push and
/// pop concurrently, in any mode.
///
/// ```cpp
/// kettle::channel<int> ch(16);
/// ch.push(kettle::sync_blocking, 1);                 // waits for room
/// bool ok = ch.push(kettle::sync_nonblocking, 2);    // false when full; the value stays yours
/// int v = ch.pop(kettle::sync_blocking);
/// std::optional<int> maybe = ch.pop(kettle::sync_nonblocking);
/// kettle::future<int> f = ch.pop(kettle::async_blocking, loop);
/// ch.pop(kettle::async_nonblocking, loop, [](int v) { ... });   // on loop's thread
/// int w = co_await ch.pop(loop);
/// ```
/// An asynchronous pop takes an element only when it completes: cancelling
/// it (destroying its future or coroutine) never loses one. Destroying the
/// channel destroys the elements it holds and abandons its asynchronous
/// waiters; destroy it on the loop's thread or while the loop is not running.
template <class T>
class channel {
    static_assert(std::is_nothrow_destructible_v<T>, "channel elements must not throw from their destructor");
    static_assert(std::is_move_constructible_v<T>, "channel elements must be movable");

public:
    using value_type = T;

    /// Takes the oldest element.
    class pop_operation {
    public:
        using result_type = T;
        explicit pop_operation(channel& ch) noexcept : m_channel(&ch) {}
        [[nodiscard]] std::optional<T> try_complete() { return m_channel->try_pop(); }
        [[nodiscard]] detail::wait_list::token readiness() const noexcept {
            return m_channel->m_not_empty.snapshot();
        }

    private:
        channel* m_channel;
    };

    /// Appends the value it holds.
    class push_operation {
    public:
        using result_type = void;
        push_operation(channel& ch, T value) noexcept(std::is_nothrow_move_constructible_v<T>)
            : m_channel(&ch), m_value(std::move(value)) {}
        [[nodiscard]] bool try_complete() { return m_channel->try_push(std::move(m_value)); }
        [[nodiscard]] detail::wait_list::token readiness() const noexcept {
            return m_channel->m_not_full.snapshot();
        }

    private:
        channel* m_channel;
        T m_value;
    };

    /// Throws std::invalid_argument when `capacity` is 0.
    explicit channel(std::size_t capacity) : m_slots(checked(capacity)) {}
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    /// Moves `value` in if there is room; otherwise leaves it untouched. Never blocks.
    [[nodiscard]] bool try_push(T&& value) {
        {
            std::lock_guard lock(m_mutex);
            if (m_size == m_slots.size())
                return false;
            m_slots[(m_head + m_size) % m_slots.size()].emplace(std::move(value));
            ++m_size;
        }
        m_not_empty.notify_one_after_unlock(); // our state is under m_mutex; one element, one waiter
        return true;
    }
    [[nodiscard]] bool try_push(const T& value) {
        T copy(value);
        return try_push(std::move(copy));
    }

    /// Takes the oldest element, or nothing when empty. Never blocks.
    [[nodiscard]] std::optional<T> try_pop() {
        std::optional<T> out;
        {
            std::lock_guard lock(m_mutex);
            if (m_size == 0)
                return out;
            auto& slot = m_slots[m_head];
            out.emplace(std::move(*slot));
            slot.reset();
            m_head = (m_head + 1) % m_slots.size();
            --m_size;
        }
        m_not_full.notify_one_after_unlock();
        return out;
    }

    [[nodiscard]] pop_operation pop_op() noexcept { return pop_operation(*this); }
    [[nodiscard]] push_operation push_op(T value) { return push_operation(*this, std::move(value)); }

    /// Pops in the given mode (sync_blocking when none is given); see `perform`.
    template <class... Mode>
    decltype(auto) pop(Mode&&... mode) {
        if constexpr (sizeof...(Mode) == 0)
            return perform(pop_op(), sync_blocking);
        else
            return perform(pop_op(), std::forward<Mode>(mode)...);
    }

    /// Pushes in the given mode. The asynchronous forms keep the value in the
    /// operation until there is room.
    template <class Mode, class... Rest>
    decltype(auto) push(Mode&& mode, T value, Rest&&... rest) {
        return perform(push_op(std::move(value)), std::forward<Mode>(mode),
                       std::forward<Rest>(rest)...);
    }
    /// Non-blocking push that never loses the value: on `false`, `value` is
    /// untouched.
    [[nodiscard]] bool push(sync_nonblocking_t, T&& value) { return try_push(std::move(value)); }
    [[nodiscard]] bool push(sync_nonblocking_t, const T& value) { return try_push(value); }

    /// Pops, waiting at most `timeout`; empty if nothing came.
    template <class Rep, class Period>
    [[nodiscard]] std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
        return perform_until(pop_op(), sync_blocking, deadline_after(timeout));
    }

    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(m_mutex);
        return m_size;
    }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_slots.size(); }

private:
    static std::size_t checked(std::size_t capacity) {
        if (capacity == 0)
            throw std::invalid_argument("kettle::channel: capacity must be at least 1");
        return capacity;
    }

    mutable std::mutex m_mutex;
    std::vector<std::optional<T>> m_slots; // ring; guarded by m_mutex
    std::size_t m_head = 0;                // guarded by m_mutex
    std::size_t m_size = 0;                // guarded by m_mutex
    detail::wait_list m_not_empty;         // notified after every push
    detail::wait_list m_not_full;          // notified after every pop
};

} // namespace kettle
