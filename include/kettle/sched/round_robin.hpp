// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::round_robin`: FIFO with a time slice.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

namespace kettle {

/// Settings of `round_robin`.
struct round_robin_settings {
    /// The time slice, in ticks: how long a task runs before the next ready
    /// task gets the CPU. Must be positive. Small slices give good response
    /// time and many switches; large ones approach FCFS.
    tick_count quantum = 1;
};

/// Round robin: FIFO order, each dispatch limited to `quantum` ticks; a task
/// whose slice ran out goes to the tail. Every cause appends at the tail.
/// Never preempts between slices.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T>
class round_robin : public fcfs<T> {
public:
    using typename fcfs<T>::value_type;
    using typename fcfs<T>::entry_type;

    /// Throws std::invalid_argument when the quantum is not positive.
    explicit round_robin(round_robin_settings s = {}) : m_quantum(s.quantum) {
        if (m_quantum <= 0)
            throw std::invalid_argument("kettle::round_robin: the quantum must be positive");
    }

    /// FCFS order, with the slice attached.
    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        auto d = fcfs<T>::pop();
        if (d)
            d->quantum = m_quantum;
        return d;
    }

    /// `push` then `pop`, in place (see `scheduling_policy`); never fails.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause c) noexcept {
        static_cast<void>(fcfs<T>::try_push_pop(d, c));
        d.quantum = m_quantum;
        return true;
    }

    [[nodiscard]] tick_count quantum() const noexcept { return m_quantum; }

private:
    tick_count m_quantum;
};

static_assert(scheduling_policy<round_robin<int>>);

} // namespace kettle
