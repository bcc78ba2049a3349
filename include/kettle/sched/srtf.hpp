// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::srtf`: shortest remaining time first (preemptive SJF, also
/// called STCF, shortest time-to-completion first).

#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/sjf.hpp>

#include <functional>
#include <utility>

namespace kettle {

/// Shortest remaining time first: like `sjf`, and a waiting task whose
/// estimate is strictly smaller than the running task's *current* estimate
/// preempts it (`preempts` re-reads `proj(running.value)`, so the value
/// should report the remaining time). Ties never preempt. No quantum.
/// `push` reads the estimate when called: push a preempted task after
/// charging it, so it queues with what it has left.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T, class Proj = job_length_fn>
    requires length_projection<Proj, T>
class srtf : public sjf<T, Proj> {
    using base = sjf<T, Proj>;

public:
    using typename base::entry_type;
    using typename base::value_type;

    explicit srtf(Proj proj = {}) : base(std::move(proj)) {}

    [[nodiscard]] bool preempts(const entry_type& running) const {
        return !this->m_heap.empty() && this->m_heap.min().key < std::invoke(this->m_proj, running.value);
    }
};

static_assert(scheduling_policy<srtf<int>>);

} // namespace kettle
