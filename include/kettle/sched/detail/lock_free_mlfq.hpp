// SPDX-License-Identifier: MIT
#pragma once

/// The lock-free core of `run_queue<mlfq<T>, lock_free>`: one bounded MPMC
/// ring per level and an atomic bitmap of the levels that may hold tasks.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/mpmc_ring.hpp>
#include <kettle/sched/detail/run_queue_core.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/mlfq.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

namespace kettle::detail {

/// `mlfq`'s rules (see mlfq.hpp) on one ring per level. Thread-safe: any
/// number of threads may push, pop, charge, ask `preempts` and call
/// `advance_to` concurrently. Nothing blocks or allocates after construction.
///
/// Level `i` holds up to `capacity` tasks (0: 1024; rounded up to a power
/// of two); `try_push` returns false when the ring the task goes to is full.
/// New tasks, and every task after a boost, go to the top ring: make
/// `capacity` at least the number of tasks that may be ready at once.
///
/// Where it differs from `mlfq` under a lock (docs/sched.md, "Lock-free
/// forms"):
/// - A task preempted before its slice ended goes to the *tail* of its level
///   (a ring has no front to push to); it still resumes the rest of its slice.
/// - A boost does not move queued tasks. `advance_to` marks the lower rings
///   that hold tasks queued before it, and `try_pop` serves, in order: the top
///   ring's tasks queued before the boost, then the marked rings from the
///   highest, then everything else by level. A task queued across a boost
///   restarts at the top (fresh slice and allotment) when it is popped, and
///   counts as a top-level task for `preempts`. A task queued in a marked
///   ring after the boost (demoted since) that reaches the ring's head
///   before the mark is lifted goes back to the tail of that ring once.
/// - Several boosts due at one `advance_to` are one boost.
/// - Under concurrency, "the highest non-empty level" is judged from a
///   bitmap that may be a moment out of date: a pop racing with a push may
///   miss the pushed task, or take a lower level's task. A task that is in
///   its ring when no push or pop is under way is always found.
template <class T>
class run_queue_core<mlfq<T>, lock_free> {
public:
    using value_type = T;
    using entry_type = typename mlfq<T>::entry_type;

    /// The most levels a lock-free MLFQ can have (one bit each in a word).
    static constexpr std::size_t max_levels = 64;

    /// Throws std::invalid_argument when the settings are invalid (the checks
    /// are `mlfq`'s own) or ask for more than `max_levels` levels;
    /// std::length_error when `capacity` is too large; std::bad_alloc.
    explicit run_queue_core(std::size_t capacity = 0, mlfq_settings s = {})
        : m_io_rule(s.io_rule), m_boost_period(s.boost_period), m_next_boost(s.boost_period) {
        const mlfq<T> checked(s);
        m_levels = checked.levels();
        if (m_levels > max_levels)
            throw std::invalid_argument(
                "kettle::run_queue<mlfq, lock_free>: at most 64 levels are supported");
        m_level = std::make_unique<std::optional<level>[]>(m_levels);
        for (std::size_t i = 0; i < m_levels; ++i)
            m_level[i].emplace(capacity != 0 ? capacity : default_capacity, checked.quantum(i),
                               checked.allotment(i));
    }

    run_queue_core(const run_queue_core&) = delete;
    run_queue_core& operator=(const run_queue_core&) = delete;

    /// Queues `e` by `mlfq`'s rules and returns true; or returns false,
    /// leaving `e` (value and state) as it was, when its level's ring is full.
    [[nodiscard]] bool try_push(entry_type& e, cause c) noexcept {
        const mlfq_state saved = e.state;
        const std::size_t i = place(e.state, c, m_epoch.load(std::memory_order_acquire));
        if (!ring(i).try_push(e)) {
            e.state = saved;
            return false;
        }
        // After the push: a pop that sees the bit finds the task (release,
        // paired with the acquire loads and RMWs in try_pop).
        m_ready.fetch_or(bit(i), std::memory_order_release);
        return true;
    }

    /// The task to run next and the rest of its slice, or empty when no task
    /// is queued.
    [[nodiscard]] std::optional<dispatch<entry_type>> try_pop() noexcept {
        if (auto d = pop_boosted())
            return d;
        // Each level at most once per call, so that a pop never spins.
        for (std::uint64_t ready = m_ready.load(std::memory_order_acquire); ready != 0;
             ready &= ready - 1) {
            const std::size_t i = lowest(ready);
            if (auto e = ring(i).try_pop())
                return make_dispatch(std::move(*e));
            // The ring looked empty. Clear its bit, then look again: a push
            // whose fetch_or came before this fetch_and is visible now (the
            // acquire half reads the fetch_or's release sequence), and one
            // that comes after sets the bit again. So no task is left behind
            // a clear bit.
            m_ready.fetch_and(~bit(i), std::memory_order_acq_rel);
            if (auto e = ring(i).try_pop()) {
                m_ready.fetch_or(bit(i), std::memory_order_release); // it may hold more
                return make_dispatch(std::move(*e));
            }
        }
        return std::nullopt;
    }

    /// True when a boost happened since `running` was dispatched, or a task
    /// waits at a higher level than `running`'s (tasks queued across a boost
    /// count as top-level).
    [[nodiscard]] bool preempts(const entry_type& running) const noexcept {
        if (running.state.epoch != m_epoch.load(std::memory_order_acquire))
            return true;
        const std::size_t lv = running.state.level;
        if (lv == 0)
            return false;
        // The bits are hints: ask the rings.
        const std::uint64_t higher = lv < max_levels ? bit(lv) - 1 : ~std::uint64_t{0};
        std::uint64_t above = m_ready.load(std::memory_order_acquire) & higher;
        above |= m_boosted.load(std::memory_order_acquire);
        for (; above != 0; above &= above - 1)
            if (!ring(lowest(above)).empty())
                return true;
        return false;
    }

    /// Accounts `ran` ticks to the entry the caller holds (nothing if a boost
    /// happened since it was dispatched: its next push restarts it).
    void charge(entry_type& e, tick_count ran) noexcept {
        if (e.state.epoch != m_epoch.load(std::memory_order_acquire))
            return;
        e.state.used += ran;
    }

    /// Performs the boost due at or before `now`, if any (at boost_period,
    /// 2*boost_period, ...; several due at once make one). Safe to call from
    /// several threads: exactly one of them performs each boost.
    void advance_to(tick_count now) noexcept {
        if (m_boost_period == 0)
            return;
        constexpr tick_count never = std::numeric_limits<tick_count>::max();
        tick_count due = m_next_boost.load(std::memory_order_relaxed);
        while (due <= now && due != never) {
            // The first boost time after `now`; `never` past the range.
            const tick_count steps = (now - due) / m_boost_period + 1;
            const tick_count next =
                steps > (never - due) / m_boost_period ? never : due + steps * m_boost_period;
            if (m_next_boost.compare_exchange_weak(due, next, std::memory_order_relaxed,
                                                   std::memory_order_relaxed)) {
                boost();
                return;
            }
        }
    }

    /// The level `e` would be queued at if pushed now (0 is the top).
    [[nodiscard]] std::size_t level_of(const entry_type& e) const noexcept {
        return e.state.epoch == m_epoch.load(std::memory_order_acquire) ? e.state.level : 0;
    }
    [[nodiscard]] std::size_t levels() const noexcept { return m_levels; }
    /// Throws std::out_of_range when `lv >= levels()`.
    [[nodiscard]] tick_count quantum(std::size_t lv) const { return at(lv).quantum; }
    [[nodiscard]] tick_count allotment(std::size_t lv) const { return at(lv).allotment; }

    /// The tasks queued at every level; approximate while other threads push
    /// or pop.
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (std::size_t i = 0; i < m_levels; ++i)
            n += ring(i).size();
        return n;
    }
    [[nodiscard]] bool empty() const noexcept {
        for (std::size_t i = 0; i < m_levels; ++i)
            if (!ring(i).empty())
                return false;
        return true;
    }
    /// The capacity of each level's ring, after rounding.
    [[nodiscard]] std::size_t capacity() const noexcept { return ring(0).capacity(); }

private:
    static constexpr std::size_t default_capacity = 1024;

    struct level {
        level(std::size_t capacity, tick_count q, tick_count a)
            : ring(capacity), quantum(q), allotment(a) {}
        mpmc_ring<entry_type> ring;
        tick_count quantum;
        tick_count allotment;
    };

    static constexpr std::uint64_t bit(std::size_t i) noexcept { return std::uint64_t{1} << i; }
    static std::size_t lowest(std::uint64_t bits) noexcept {
        return static_cast<std::size_t>(std::countr_zero(bits));
    }

    mpmc_ring<entry_type>& ring(std::size_t i) noexcept { return m_level[i]->ring; }
    const mpmc_ring<entry_type>& ring(std::size_t i) const noexcept { return m_level[i]->ring; }
    const level& at(std::size_t i) const {
        if (i >= m_levels)
            throw std::out_of_range("kettle::run_queue<mlfq, lock_free>: no such level");
        return *m_level[i];
    }

    void restart(mlfq_state& s, std::size_t lv, std::uint32_t epoch) const noexcept {
        s.level = static_cast<std::uint32_t>(lv);
        s.used = 0;
        s.slice_end = std::min(m_level[lv]->quantum, m_level[lv]->allotment);
        s.epoch = epoch;
    }

    // mlfq::push's rules; returns the level to queue at.
    std::size_t place(mlfq_state& s, cause c, std::uint32_t epoch) const noexcept {
        if (c == cause::created || s.epoch != epoch || s.level >= m_levels) {
            restart(s, 0, epoch); // Rule 3, or Rule 5 for a task the driver held
            return 0;
        }
        const level& lv = *m_level[s.level];
        if (c != cause::preempted && m_io_rule == mlfq_io_rule::reset_allotment)
            s.used = 0;
        if (s.used >= lv.allotment) { // Rule 4
            restart(s, std::min<std::size_t>(s.level + 1, m_levels - 1), epoch);
        } else if (c != cause::preempted || s.slice_left() <= 0) {
            s.slice_end = s.used + std::min(lv.quantum, lv.allotment - s.used);
        } // else: preempted mid-slice, resumes it (from the tail)
        return s.level;
    }

    dispatch<entry_type> make_dispatch(entry_type&& e) const noexcept {
        const std::uint32_t epoch = m_epoch.load(std::memory_order_acquire);
        if (e.state.epoch != epoch)
            restart(e.state, 0, epoch); // queued across a boost
        const tick_count slice = e.state.slice_left();
        return dispatch<entry_type>{std::move(e), slice};
    }

    // Rule 5 without moving anyone: once the top ring's tasks from before the
    // latest boost are gone, the marked rings come first.
    std::optional<dispatch<entry_type>> pop_boosted() noexcept {
        std::uint64_t boosted = m_boosted.load(std::memory_order_acquire);
        if (boosted == 0)
            return std::nullopt;
        const std::size_t mark = m_boost_mark.load(std::memory_order_relaxed);
        if (static_cast<std::ptrdiff_t>(ring(0).pop_position() - mark) < 0)
            return std::nullopt; // the top ring still holds tasks from before the boost
        const std::uint32_t epoch = m_epoch.load(std::memory_order_relaxed);
        for (; boosted != 0; boosted &= boosted - 1) {
            const std::size_t i = lowest(boosted);
            auto e = ring(i).try_pop();
            if (e && e->state.epoch != epoch)
                return make_dispatch(std::move(*e)); // queued before the boost
            // Ring i's tasks from before the boost are gone.
            m_boosted.fetch_and(~bit(i), std::memory_order_relaxed);
            // A task queued there after the boost (demoted since) is not
            // top-level: back to the tail of its level, or, should the ring
            // have filled meanwhile, run now rather than be lost.
            if (e) {
                if (!ring(i).try_push(*e))
                    return make_dispatch(std::move(*e));
                m_ready.fetch_or(bit(i), std::memory_order_release);
            }
        }
        return std::nullopt;
    }

    void boost() noexcept {
        // Entries carrying an older epoch restart at the top when pushed or
        // popped; the new epoch must be visible before the marks below.
        m_epoch.fetch_add(1, std::memory_order_acq_rel);
        m_boost_mark.store(ring(0).push_position(), std::memory_order_relaxed);
        const std::uint64_t lower = m_ready.load(std::memory_order_acquire) & ~bit(0);
        if (lower != 0)
            m_boosted.fetch_or(lower, std::memory_order_release);
    }

    // Read-only after construction.
    std::unique_ptr<std::optional<level>[]> m_level;
    std::size_t m_levels = 0;
    mlfq_io_rule m_io_rule;
    tick_count m_boost_period;

    // Bit i set: ring i may hold tasks. Set (fetch_or, release) by every
    // push after its task is in the ring; cleared (fetch_and, acq_rel) by a
    // pop that found ring i empty, which then looks once more. Read with
    // acquire by pops and `preempts`. A hint: a set bit may name an empty
    // ring; a clear bit never hides a task once pushes and pops are done.
    alignas(cache_line_size) std::atomic<std::uint64_t> m_ready{0};

    // Written only at boosts; read by every push and pop.
    // The number of boosts so far; entries carry the value current when they
    // were queued or dispatched. Incremented (acq_rel) by the thread that
    // claimed the boost, before it publishes the marks below.
    // (32 bits, as mlfq_state::epoch: it wraps with it.)
    alignas(cache_line_size) std::atomic<std::uint32_t> m_epoch{0};
    // Bit i set: ring i (i > 0) may still hold tasks queued before the latest
    // boost. Set (fetch_or, release, after the epoch and mark) by the boost;
    // cleared (relaxed) by pops that find those tasks gone. Read with acquire,
    // which makes the epoch and mark of that boost visible.
    std::atomic<std::uint64_t> m_boosted{0};
    // The top ring's push position at the latest boost: its tasks before
    // that position were queued before the boost. Published by m_boosted.
    std::atomic<std::size_t> m_boost_mark{0};
    // The time of the next boost. Advanced by compare-exchange: the thread
    // whose exchange succeeds performs the boost; relaxed, since the boost
    // publishes through m_epoch and m_boosted.
    std::atomic<tick_count> m_next_boost;
};

} // namespace kettle::detail
