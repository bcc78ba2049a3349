// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::sjf`: shortest job first, non-preemptive.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/keyed_heap.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/job_length.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {

/// A projection that yields a totally ordered length estimate for `T`.
template <class Proj, class T>
concept length_projection =
    std::copy_constructible<Proj> && std::invocable<const Proj&, const T&> &&
    std::totally_ordered<std::remove_cvref_t<std::invoke_result_t<const Proj&, const T&>>>;

/// Shortest job first: the ready task with the smallest length estimate runs
/// next, to completion (or until it blocks). Never preempts; no quantum.
///
/// The estimate is `proj(value)` (default: `kettle::job_length`), read once
/// when the task is pushed: the estimate of a queued task is not re-read.
/// Equal estimates run in the order they became ready.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T, class Proj = job_length_fn>
    requires length_projection<Proj, T>
class sjf {
    using key_type = std::remove_cvref_t<std::invoke_result_t<const Proj&, const T&>>;

public:
    using value_type = T;
    using entry_type = sched_entry<T>;

protected:
    using heap_type = detail::keyed_heap<key_type, entry_type>;

public:
    explicit sjf(Proj proj = {}) : m_proj(std::move(proj)) {}

    void push(entry_type e, cause) {
        key_type key = std::invoke(m_proj, std::as_const(e.value));
        m_heap.push(std::move(key), std::move(e));
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        if (m_heap.empty())
            return std::nullopt;
        return dispatch<entry_type>{std::move(m_heap.pop_min().entry), std::nullopt};
    }

    /// `push` then `pop` (see `scheduling_policy`): one sift-down, no
    /// allocation. Fails only when reading the estimate throws.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause) noexcept
        requires heap_type::nothrow
    {
        try {
            key_type key = std::invoke(m_proj, std::as_const(d.entry.value));
            d.entry = m_heap.push_pop(std::move(key), std::move(d.entry)).entry;
        } catch (...) {
            return false; // the estimate threw before anything moved
        }
        d.quantum.reset();
        return true;
    }

    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count) noexcept {}

    [[nodiscard]] std::size_t size() const noexcept { return m_heap.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_heap.empty(); }

protected:
    // srtf is sjf plus preemption: it reads both.
    [[no_unique_address]] Proj m_proj;
    heap_type m_heap;
};

static_assert(scheduling_policy<sjf<int>>);

} // namespace kettle
