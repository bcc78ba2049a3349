// SPDX-License-Identifier: MIT
#pragma once

/// The non-blocking layer of `run_queue`: a scheduling policy under a lock,
/// with an optional bound. `run_queue` adds waiting on top (DESIGN §2).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/lock_free.hpp>

#include <concepts>
#include <cstddef>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle::detail {

/// The contract every core meets (the lock-free forms specialise this
/// template for their policies):
///
/// - `run_queue_core(capacity, policy_args...)`: `capacity` 0 means the
///   core's default (unbounded for lock-based cores);
/// - `try_push(entry&, cause) -> bool`: moves from the entry only when it
///   returns true; false means full. Never blocks;
/// - `try_pop() -> optional<dispatch>`: never blocks;
/// - `preempts`, `charge`, `advance_to`, `size`, `empty` as the policy's;
///   `capacity()` is 0 when unbounded.
///
/// Lock-based cores also offer `close()`, after which `try_push` fails
/// (decided under the lock, so no push lands after it), and say
/// `ordered_by_lock`: waiters check their state under the same lock, so
/// notifications need no fence (`wait_list::notify_all_after_unlock`).
///
/// Thread-safe when `Locking::thread_safe`.
template <class Policy, class Locking>
class run_queue_core {
    static_assert(!std::is_same_v<Locking, lock_free>,
                  "the lock-free forms are specialisations of run_queue_core; include "
                  "<kettle/sched/run_queue.hpp>, which declares them");

public:
    using entry_type = typename Policy::entry_type;
    static constexpr bool ordered_by_lock = true;

    template <class... Args>
    explicit run_queue_core(std::size_t capacity, Args&&... args)
        : m_policy(std::forward<Args>(args)...), m_capacity(capacity),
          m_limit(capacity != 0 ? capacity : static_cast<std::size_t>(-1)) {
        if constexpr (bounds_itself)
            m_policy.set_capacity_limit(m_limit);
    }

    [[nodiscard]] bool try_push(entry_type& e, cause c) {
        std::lock_guard lock(m_mutex);
        if constexpr (bounds_itself) {
            return m_policy.try_push(e, c);
        } else {
            if (m_policy.size() >= m_limit) // full, or closed
                return false;
            m_policy.push(std::move(e), c);
            return true;
        }
    }

    void close() {
        std::lock_guard lock(m_mutex);
        m_limit = 0;
        if constexpr (bounds_itself)
            m_policy.set_capacity_limit(0);
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> try_pop() {
        std::lock_guard lock(m_mutex);
        return m_policy.pop();
    }

    [[nodiscard]] bool preempts(const entry_type& running) const {
        std::lock_guard lock(m_mutex);
        return m_policy.preempts(running);
    }

    void charge(entry_type& running, tick_count ran) {
        std::lock_guard lock(m_mutex);
        m_policy.charge(running, ran);
    }

    void advance_to(tick_count now) {
        std::lock_guard lock(m_mutex);
        m_policy.advance_to(now);
    }

    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(m_mutex);
        return m_policy.size();
    }
    [[nodiscard]] bool empty() const {
        std::lock_guard lock(m_mutex);
        return m_policy.empty();
    }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_capacity; }

private:
    // A policy that can hold the bound in its own storage (the FIFO ring)
    // checks it at no extra cost.
    static constexpr bool bounds_itself = requires(Policy& p, entry_type& e, cause c) {
        { p.try_push(e, c) } -> std::same_as<bool>;
        p.set_capacity_limit(std::size_t{});
    };

    mutable typename Locking::mutex_type m_mutex;
    Policy m_policy; // guarded by m_mutex
    std::size_t m_capacity;
    std::size_t m_limit; // guarded by m_mutex: the bound; 0 once closed
};

} // namespace kettle::detail
