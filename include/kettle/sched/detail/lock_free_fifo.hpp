// SPDX-License-Identifier: MIT
#pragma once

/// The lock-free cores of `run_queue<fcfs<T>, lock_free>` and
/// `run_queue<round_robin<T>, lock_free>`: one bounded MPMC ring.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/mpmc_ring.hpp>
#include <kettle/sched/detail/run_queue_core.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/round_robin.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace kettle::detail {

/// The capacity a lock-free core gets when it is constructed with 0.
inline constexpr std::size_t lock_free_default_capacity = 1024;

/// FCFS on a ring: tasks leave in the order their pushes claimed a position
/// (for pushes from one thread, the order they were made). Every cause
/// appends. Never preempts; no quantum; `charge` and `advance_to` do nothing.
///
/// Thread-safe; nothing blocks or allocates after construction.
/// `capacity` (0: 1024) is rounded up to a power of two; `try_push` returns
/// false when the ring is full, and may do so, or `try_pop` report empty,
/// while another thread is halfway through freeing or filling the slot it
/// needs (see `mpmc_ring`). Destroying the core destroys the tasks it holds.
template <class T>
class run_queue_core<fcfs<T>, lock_free> {
public:
    using value_type = T;
    using entry_type = typename fcfs<T>::entry_type;

    /// Throws std::length_error when `capacity` is too large, std::bad_alloc.
    explicit run_queue_core(std::size_t capacity = 0)
        : m_ring(capacity != 0 ? capacity : lock_free_default_capacity) {}

    /// Moves `e` in and returns true; false (and `e` untouched) when full.
    [[nodiscard]] bool try_push(entry_type& e, cause) noexcept { return m_ring.try_push(e); }

    /// The oldest task, without a quantum; empty when none is queued.
    [[nodiscard]] std::optional<dispatch<entry_type>> try_pop() noexcept {
        if (auto e = m_ring.try_pop())
            return dispatch<entry_type>{std::move(*e), std::nullopt};
        return std::nullopt;
    }

    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count) noexcept {}

    /// Approximate while other threads push or pop (see `mpmc_ring::size`).
    [[nodiscard]] std::size_t size() const noexcept { return m_ring.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_ring.empty(); }
    /// The ring's capacity, after rounding.
    [[nodiscard]] std::size_t capacity() const noexcept { return m_ring.capacity(); }

private:
    mpmc_ring<entry_type> m_ring;
};

/// Round robin on a ring: the FCFS core above, each dispatch carrying the
/// quantum. Same guarantees.
template <class T>
class run_queue_core<round_robin<T>, lock_free> {
public:
    using value_type = T;
    using entry_type = typename round_robin<T>::entry_type;

    /// Throws std::invalid_argument when the quantum is not positive (the
    /// check is `round_robin`'s own), std::length_error when `capacity` is too
    /// large, std::bad_alloc.
    explicit run_queue_core(std::size_t capacity = 0, round_robin_settings s = {})
        : m_quantum(round_robin<T>(s).quantum()), m_fifo(capacity) {}

    [[nodiscard]] bool try_push(entry_type& e, cause c) noexcept { return m_fifo.try_push(e, c); }

    /// The oldest task with the quantum; empty when none is queued.
    [[nodiscard]] std::optional<dispatch<entry_type>> try_pop() noexcept {
        auto d = m_fifo.try_pop();
        if (d)
            d->quantum = m_quantum;
        return d;
    }

    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count) noexcept {}

    [[nodiscard]] std::size_t size() const noexcept { return m_fifo.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_fifo.empty(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_fifo.capacity(); }
    [[nodiscard]] tick_count quantum() const noexcept { return m_quantum; }

private:
    tick_count m_quantum;
    run_queue_core<fcfs<T>, lock_free> m_fifo;
};

} // namespace kettle::detail
