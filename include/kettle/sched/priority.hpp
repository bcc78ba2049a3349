// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::priority`: static priorities, optionally aged.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/keyed_heap.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

namespace kettle {

/// The default priority projection: `t.priority()`, or `(*t).priority()` for
/// pointers and smart pointers, or `t` itself for integers.
struct priority_of {
    template <class T>
    constexpr std::int64_t operator()(const T& t) const noexcept(nothrow<T>())
        requires requires { { t.priority() } -> std::convertible_to<std::int64_t>; } ||
                 requires { { (*t).priority() } -> std::convertible_to<std::int64_t>; } ||
                 std::integral<T>
    {
        if constexpr (std::integral<T>)
            return static_cast<std::int64_t>(t);
        else if constexpr (requires { t.priority(); })
            return static_cast<std::int64_t>(t.priority());
        else
            return static_cast<std::int64_t>((*t).priority());
    }

private:
    template <class T>
    static constexpr bool nothrow() noexcept {
        if constexpr (std::integral<T>)
            return true;
        else if constexpr (requires(const T& t) { t.priority(); })
            return noexcept(static_cast<std::int64_t>(std::declval<const T&>().priority()));
        else
            return noexcept(static_cast<std::int64_t>((*std::declval<const T&>()).priority()));
    }
};

/// Settings of `priority`.
struct priority_settings {
    /// Ticks a task must wait for its priority to improve by one level; 0
    /// disables aging. Aging is continuous: a task that became ready at `e`
    /// with priority `p` ranks as `p - (now - e) / aging_interval` (exact, not
    /// rounded), so long waiters eventually beat any newcomer. Must be >= 0.
    /// (Ranks are kept as `p * aging_interval + e`, saturating at the limits
    /// of `std::int64_t`: priorities that far out rank as the extreme.)
    tick_count aging_interval = 0;
    /// Whether a ready task that is at least one whole level more urgent
    /// takes the CPU from a running one (`preempts`). The running task does
    /// not age, so with aging a waiter of the same priority takes over after
    /// waiting `aging_interval` ticks: equals share the CPU in turns of that
    /// length, never a tick at a time.
    bool preemptive = true;
};

/// Static priority scheduling: the ready task with the smallest priority
/// number runs first (0 beats 5, as with Unix nice values); equal ranks run
/// in the order they became ready. No quantum.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T, class Proj = priority_of>
    requires std::copy_constructible<Proj> && std::invocable<const Proj&, const T&> &&
             std::convertible_to<std::invoke_result_t<const Proj&, const T&>, std::int64_t>
class priority {
public:
    using value_type = T;
    using entry_type = sched_entry<T>;

    /// Throws std::invalid_argument when `aging_interval` is negative.
    explicit priority(priority_settings s = {}, Proj proj = {})
        : m_settings(s), m_proj(std::move(proj)) {
        if (s.aging_interval < 0)
            throw std::invalid_argument("kettle::priority: aging_interval must not be negative");
    }

    void push(entry_type e, cause) {
        std::int64_t key = rank(base(e), m_now);
        m_heap.push(key, std::move(e));
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        if (m_heap.empty())
            return std::nullopt;
        return dispatch<entry_type>{std::move(m_heap.pop_min().entry), std::nullopt};
    }

    /// `push` then `pop` (see `scheduling_policy`): one sift-down, no
    /// allocation. Fails only when reading the priority throws.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause) noexcept
        requires detail::keyed_heap<std::int64_t, entry_type>::nothrow
    {
        try {
            const std::int64_t key = rank(base(d.entry), m_now);
            d.entry = m_heap.push_pop(key, std::move(d.entry)).entry;
        } catch (...) {
            return false; // the projection threw before anything moved
        }
        d.quantum.reset();
        return true;
    }

    [[nodiscard]] bool preempts(const entry_type& running) const {
        if (!m_settings.preemptive || m_heap.empty())
            return false;
        // The running task ranks as if it had become ready just now; a
        // waiter must beat that by a whole level (p_w - waited/I <= p_r - 1),
        // or two equals would trade the CPU at every tick: a part of a level
        // is gained by waiting one tick.
        const std::int64_t waiter = m_heap.min().key;
        const std::int64_t mine = rank(base(running), m_now);
        return waiter < mine && (m_settings.aging_interval == 0 ||
                                 waiter <= saturating_add(mine, -m_settings.aging_interval));
    }
    void charge(entry_type&, tick_count) noexcept {}
    void advance_to(tick_count now) noexcept { m_now = now; }

    [[nodiscard]] std::size_t size() const noexcept { return m_heap.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_heap.empty(); }

private:
    std::int64_t base(const entry_type& e) const {
        return static_cast<std::int64_t>(std::invoke(m_proj, e.value));
    }
    // With aging, p - (now - e)/I compares like p*I + e (multiply by I, drop
    // the common `now`): a key that never changes while the task waits.
    std::int64_t rank(std::int64_t p, tick_count ready_at) const noexcept {
        const std::int64_t i = m_settings.aging_interval;
        return i == 0 ? p : saturating_add(saturating_multiply(p, i), ready_at);
    }

    static constexpr std::int64_t key_max = std::numeric_limits<std::int64_t>::max();
    static constexpr std::int64_t key_min = std::numeric_limits<std::int64_t>::min();
    static constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
        if (b > 0 && a > key_max - b)
            return key_max;
        if (b < 0 && a < key_min - b)
            return key_min;
        return a + b;
    }
    // b > 0
    static constexpr std::int64_t saturating_multiply(std::int64_t a, std::int64_t b) noexcept {
        if (a > key_max / b)
            return key_max;
        if (a < key_min / b)
            return key_min;
        return a * b;
    }

    priority_settings m_settings;
    [[no_unique_address]] Proj m_proj;
    tick_count m_now = 0;
    detail::keyed_heap<std::int64_t, entry_type> m_heap;
};

static_assert(scheduling_policy<priority<int>>);

} // namespace kettle
