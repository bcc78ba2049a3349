// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::fcfs`: first come, first served (FIFO).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/ring_deque.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace kettle {

/// First come, first served: tasks run in the order they became ready, each
/// until it finishes or blocks. Never preempts; no quantum. Every cause
/// appends at the tail (a woken task queues behind those already waiting).
///
/// Not synchronised (see `run_queue`). `push` may allocate (the ring grows by
/// doubling); nothing blocks. `T` must be nothrow-movable.
template <class T>
class fcfs {
public:
    using value_type = T;
    using entry_type = sched_entry<T>;

    void push(entry_type e, cause) { m_queue.push_back(std::move(e)); }

    /// The bounded form `run_queue` uses: at most `set_capacity_limit`'s
    /// bound queued; false, with `e` untouched, when full. The bound shares
    /// the ring's own check for a full buffer, so it costs nothing.
    [[nodiscard]] bool try_push(entry_type& e, cause) { return m_queue.try_push_back(e); }
    void set_capacity_limit(std::size_t limit) noexcept { m_queue.set_limit(limit); }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        if (m_queue.empty())
            return std::nullopt;
        dispatch<entry_type> d{std::move(m_queue.front()), std::nullopt};
        m_queue.pop_front();
        return d;
    }

    /// `push` then `pop`, in place (see `scheduling_policy`); never fails.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause) noexcept {
        m_queue.push_back_pop_front(d.entry);
        d.quantum.reset();
        return true;
    }

    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count) noexcept {}

    [[nodiscard]] std::size_t size() const noexcept { return m_queue.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_queue.empty(); }

private:
    detail::ring_deque<entry_type> m_queue;
};

static_assert(scheduling_policy<fcfs<int>>);

} // namespace kettle
