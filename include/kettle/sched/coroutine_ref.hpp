// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::coroutine_ref`: a task of a `coroutine_scheduler` as its
/// scheduling policy sees it, and the `spawn_options` it answers from.

#include <kettle/sched/detail/coroutine_context.hpp>
#include <kettle/sched/dispatch.hpp>

#include <cstdint>

namespace kettle {

/// What a task tells the policy about itself, for the projections of the
/// SJF family (`length`), `priority` and `fair_share` (`weight`).
struct spawn_options {
    /// The job length estimate `sjf`/`srtf` order by (`kettle::job_length`).
    tick_count length = 1;
    /// Smaller is more urgent (`kettle::priority`).
    std::int64_t priority = 0;
    /// Share of the CPU under `fair_share`, which refuses 0 (`spawn` then
    /// throws std::invalid_argument).
    std::uint64_t weight = 1;
};

/// A spawned task as a scheduling policy sees it: the `value_type` of every
/// policy a `coroutine_scheduler` runs (`kettle::round_robin<kettle::coroutine_ref>`).
/// A pointer in disguise; copying it copies the reference.
class coroutine_ref {
public:
    explicit coroutine_ref(detail::coroutine_control& c) noexcept : m_control(&c) {}

    [[nodiscard]] tick_count job_length() const noexcept { return m_control->m_length; }
    [[nodiscard]] std::int64_t priority() const noexcept { return m_control->m_priority; }
    [[nodiscard]] std::uint64_t weight() const noexcept { return m_control->m_weight; }
    [[nodiscard]] detail::coroutine_control& control() const noexcept { return *m_control; }

    friend bool operator==(const coroutine_ref&, const coroutine_ref&) noexcept = default;

private:
    detail::coroutine_control* m_control;
};

} // namespace kettle
