// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::fair_share`: proportional share by virtual runtime.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/keyed_heap.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kettle {

/// The default weight projection: `t.weight()`, or `(*t).weight()` for
/// pointers and smart pointers; 1 for every other type (equal shares).
struct weight_of {
    template <class T>
    constexpr std::uint64_t operator()(const T& t) const noexcept(nothrow<T>()) {
        if constexpr (requires { { t.weight() } -> std::convertible_to<std::uint64_t>; })
            return static_cast<std::uint64_t>(t.weight());
        else if constexpr (requires { { (*t).weight() } -> std::convertible_to<std::uint64_t>; })
            return static_cast<std::uint64_t>((*t).weight());
        else
            return 1;
    }

private:
    template <class T>
    static constexpr bool nothrow() noexcept {
        if constexpr (requires(const T& t) { { t.weight() } -> std::convertible_to<std::uint64_t>; })
            return noexcept(static_cast<std::uint64_t>(std::declval<const T&>().weight()));
        else if constexpr (requires(const T& t) { { (*t).weight() } -> std::convertible_to<std::uint64_t>; })
            return noexcept(static_cast<std::uint64_t>((*std::declval<const T&>()).weight()));
        else
            return true;
    }
};

/// Settings of `fair_share`.
struct fair_share_settings {
    /// The time slice, in ticks, of every dispatch. Must be positive.
    tick_count slice = 10;
};

/// Per-task state of `fair_share`.
struct fair_share_state {
    /// CPU time received, scaled by `fair_share_scale / weight`.
    std::uint64_t vruntime = 0;
};

/// Virtual runtime is measured in 1/fair_share_scale ticks of a weight-1 task.
inline constexpr std::uint64_t fair_share_scale = std::uint64_t{1} << 16;

/// Proportional-share scheduling by virtual runtime (stride scheduling as
/// Linux's CFS spells it): every task accumulates `ran / weight`, and the
/// ready task with the least runs next for `slice` ticks. Over time each
/// task receives CPU in proportion to its weight (`proj(value)`, positive).
///
/// A new task starts at the floor - the largest virtual runtime dispatched so
/// far, which never decreases (CFS's min_vruntime) - and a woken one is
/// lifted to it, so that neither can monopolise the CPU by having been absent. Never preempts between slices; equal virtual
/// runtimes run in the order they became ready.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T, class Proj = weight_of>
    requires std::copy_constructible<Proj> && std::invocable<const Proj&, const T&> &&
             std::convertible_to<std::invoke_result_t<const Proj&, const T&>, std::uint64_t>
class fair_share {
public:
    using value_type = T;
    using entry_type = sched_entry<T, fair_share_state>;

private:
    using heap_type = detail::keyed_heap<std::uint64_t, entry_type>;

public:

    /// Throws std::invalid_argument when the slice is not positive.
    explicit fair_share(fair_share_settings s = {}, Proj proj = {})
        : m_slice(s.slice), m_proj(std::move(proj)) {
        if (m_slice <= 0)
            throw std::invalid_argument("kettle::fair_share: the slice must be positive");
    }

    /// Throws std::invalid_argument, queueing nothing, when the task's
    /// weight is 0 (it could get no share at all).
    void push(entry_type e, cause c) {
        if (std::invoke(m_proj, e.value) == 0)
            throw std::invalid_argument("kettle::fair_share: a task's weight must be positive");
        const std::uint64_t key = arrive(e, c);
        m_heap.push(key, std::move(e));
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        if (m_heap.empty())
            return std::nullopt;
        return leave(m_heap.pop_min());
    }

    /// `push` then `pop` (see `scheduling_policy`): one sift-down; never fails.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause c) noexcept
        requires heap_type::nothrow
    {
        const std::uint64_t key = arrive(d.entry, c);
        d = leave(m_heap.push_pop(key, std::move(d.entry)));
        return true;
    }

    [[nodiscard]] bool preempts(const entry_type&) const noexcept { return false; }

    /// A weight that dropped to 0 after the task's push counts as 1.
    void charge(entry_type& e, tick_count ran) noexcept(std::is_nothrow_invocable_v<const Proj&, const T&>) {
        const std::uint64_t w = static_cast<std::uint64_t>(std::invoke(m_proj, e.value));
        e.state.vruntime += static_cast<std::uint64_t>(ran) * fair_share_scale / (w == 0 ? 1 : w);
    }
    void advance_to(tick_count) noexcept {}

    [[nodiscard]] std::size_t size() const noexcept { return m_heap.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_heap.empty(); }

private:
    // The virtual runtime `e` queues with.
    std::uint64_t arrive(entry_type& e, cause c) const noexcept {
        if (c == cause::created)
            e.state.vruntime = m_floor;
        else if (c == cause::woken)
            e.state.vruntime = std::max(e.state.vruntime, m_floor);
        return e.state.vruntime;
    }
    dispatch<entry_type> leave(typename heap_type::node&& n) noexcept {
        m_floor = std::max(m_floor, n.key);
        return dispatch<entry_type>{std::move(n.entry), m_slice};
    }

    tick_count m_slice;
    [[no_unique_address]] Proj m_proj;
    std::uint64_t m_floor = 0; // largest vruntime ever dispatched: where newcomers start
    heap_type m_heap;
};

static_assert(scheduling_policy<fair_share<int>>);

} // namespace kettle
