// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::mlfq`: the multi-level feedback queue of OSTEP chapter 8.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/own_width.hpp>
#include <kettle/sched/detail/ring_deque.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace kettle {

/// What giving up the CPU (blocking or yielding) does to a task's accounting.
enum class mlfq_io_rule {
    /// Rule 4 of the book's final MLFQ: the allotment used at a level
    /// survives I/O, so a task cannot stay on top by blocking just before its
    /// slice ends ("gaming" the scheduler). The default.
    keep_allotment,
    /// The earlier, gameable Rule 4b: a task that gives up the CPU before its
    /// slice ends stays at its level with a fresh allotment.
    reset_allotment,
};

/// Settings of `mlfq`. Level 0 is the highest priority.
struct mlfq_settings {
    /// Number of priority levels. Must be from 1 to 64 (`mlfq_max_levels`).
    std::size_t levels = 3;
    /// Time slice of the top level when `quanta` is empty; level i then gets
    /// `base_quantum << i` (longer slices for the CPU-bound lower levels),
    /// saturating at the largest `tick_count`. Must be positive.
    tick_count base_quantum = 10;
    /// Per-level time slices, top level first. Empty: doubling from
    /// `base_quantum`. Otherwise exactly `levels` positive values.
    std::vector<tick_count> quanta{};
    /// Per-level allotments in ticks (CPU time a task may use at a level
    /// before it is demoted, Rule 4). Empty: one quantum per level. Otherwise
    /// exactly `levels` positive values.
    std::vector<tick_count> allotments{};
    /// Every `boost_period` ticks all tasks move to the top level with fresh
    /// allotments (Rule 5), so long tasks cannot starve and tasks that turned
    /// interactive are recognised. 0 disables it. Must be >= 0.
    tick_count boost_period = 0;
    /// See `mlfq_io_rule`.
    mlfq_io_rule io_rule = mlfq_io_rule::keep_allotment;
};

/// The most levels an MLFQ can have: one bit each in the word that says
/// which levels hold tasks.
inline constexpr std::size_t mlfq_max_levels = 64;

/// Per-task state of `mlfq`. The level and the epoch lie side by side, so
/// that the common hand-over compares them with the policy's in one word.
struct mlfq_state {
    std::uint32_t level = 0;  // 0 is the top
    std::uint32_t epoch = 0;  // boosts seen, mod 2^32: not the policy's means "boosted since"
    tick_count used = 0;      // allotment used at `level`
    tick_count slice_end = 0; // `used` at which the current slice ends

    /// The rest of the current slice. (Kept as its end, so that a charge
    /// is one addition.)
    [[nodiscard]] constexpr tick_count slice_left() const noexcept { return slice_end - used; }
};

/// Multi-level feedback queue (OSTEP ch. 8, Rules 1-5):
/// 1. a task at a higher level runs first (and a waiting higher-level task
///    preempts a running lower-level one);
/// 2. tasks at the same level take turns (round robin, one slice each);
/// 3. a new task starts at the top level;
/// 4. once a task has used its allotment at a level, it moves down one level
///    (at the bottom, it starts a fresh allotment there);
/// 5. every `boost_period` ticks every task moves to the top.
///
/// A dispatch's quantum is the rest of the task's slice, capped by its
/// remaining allotment. A task preempted by a higher level before its slice
/// ended returns to the *front* of its level and resumes the same slice; a
/// task whose slice ended, or that was woken, goes to the tail with a fresh
/// slice. A boost preempts the running task (`preempts` returns true once)
/// so that it, too, starts again from the top.
///
/// Not synchronised (see `run_queue`). `push` may allocate; nothing blocks.
template <class T>
class mlfq {
public:
    using value_type = T;
    using entry_type = sched_entry<T, mlfq_state>;

    /// Throws std::invalid_argument when the settings are invalid (see
    /// `mlfq_settings`).
    explicit mlfq(mlfq_settings s = {})
        : m_kept_on_io(s.io_rule == mlfq_io_rule::reset_allotment ? 0 : ~tick_count{0}),
          m_boost_period(s.boost_period), m_next_boost(s.boost_period) {
        if (s.levels == 0)
            throw std::invalid_argument("kettle::mlfq: at least one level is needed");
        if (s.levels > mlfq_max_levels)
            throw std::invalid_argument("kettle::mlfq: at most 64 levels are supported");
        if (s.boost_period < 0)
            throw std::invalid_argument("kettle::mlfq: boost_period must not be negative");
        if (s.quanta.empty()) {
            if (s.base_quantum <= 0)
                throw std::invalid_argument("kettle::mlfq: base_quantum must be positive");
            constexpr tick_count longest = std::numeric_limits<tick_count>::max();
            for (tick_count q = s.base_quantum; s.quanta.size() < s.levels;
                 q = q > longest / 2 ? longest : 2 * q)
                s.quanta.push_back(q);
        }
        if (s.allotments.empty())
            s.allotments = s.quanta;
        if (s.quanta.size() != s.levels || s.allotments.size() != s.levels)
            throw std::invalid_argument(
                "kettle::mlfq: quanta and allotments need one value per level");
        for (std::size_t i = 0; i < s.levels; ++i)
            if (s.quanta[i] <= 0 || s.allotments[i] <= 0)
                throw std::invalid_argument(
                    "kettle::mlfq: quanta and allotments must be positive");
        m_levels.reserve(s.levels);
        for (std::size_t i = 0; i < s.levels; ++i)
            m_levels.push_back(level_info{{}, s.quanta[i], s.allotments[i]});
    }

    void push(entry_type e, cause c) {
        const place p = arrive(e.state, c);
        push_at(std::move(e), p);
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        if (m_ready == 0)
            return std::nullopt;
        return take(static_cast<std::size_t>(std::countr_zero(m_ready)));
    }

    /// `push` then `pop` (see `scheduling_policy`): a task that would come
    /// out first never enters a queue, and a hand-over within one level
    /// needs no capacity check. Fails only when a higher level waits and the
    /// task's own level would have to grow.
    [[nodiscard]] bool try_push_pop(dispatch<entry_type>& d, cause c) noexcept {
        // One path per cause a driver hands over with, each compiled for its own.
        switch (c) {
        case cause::yielded:
            return try_hand_over<cause::yielded>(d);
        case cause::preempted:
            return try_hand_over<cause::preempted>(d);
        default:
            return try_push_pop_otherwise(d, c);
        }
    }

private:
    // The common case: a task that gives up the CPU at a level it keeps,
    // with a fresh slice and no boost since it ran, while its own level is
    // the highest that holds tasks: a hand-over within that level.
    template <cause C>
    [[gnu::always_inline]] bool try_hand_over(dispatch<entry_type>& d) noexcept {
        const mlfq_state& s = d.entry.state;
        const tick_count used = C == cause::preempted ? s.used : s.used & m_kept_on_io;
        // One test for "no boost since it ran, and its level is the top".
        if (key(s.level, s.epoch) == m_top.key && used < m_top.allotment &&
            !(C == cause::preempted && s.slice_left() > 0)) [[likely]] {
            // The queued entry is made whole from its parts, not updated in
            // place and then copied: a copy that read fields just written
            // one by one would have to wait for them.
            const tick_count slice = std::min(m_top.quantum, m_top.allotment - used);
            const mlfq_state next{s.level, s.epoch, used, used + slice};
            entry_type out = m_top.queue->rotate(std::move(d.entry.value), next);
            // Read field by field: the slot may have been written field by
            // field as little as one switch ago (see own_width).
            const tick_count out_used = detail::own_width(out.state.used);
            const tick_count out_end = detail::own_width(out.state.slice_end);
            d.entry = entry_type(std::move(out.value), {out.state.level, out.state.epoch, out_used, out_end});
            d.quantum = out_end - out_used;
            return true;
        }
        return try_push_pop_otherwise(d, C);
    }

    [[gnu::noinline]] bool try_push_pop_otherwise(dispatch<entry_type>& d, cause c) noexcept {
        mlfq_state s = d.entry.state; // d stays as it was if this fails
        const place p = arrive(s, c);
        level_info& l = m_levels[p.level];
        if ((m_ready & (bit(p.level) - 1)) != 0) { // a higher level waits
            if (!l.queue.has_room())
                return false;
            d.entry.state = s;
            push_at(std::move(d.entry), p);
            d = take(static_cast<std::size_t>(std::countr_zero(m_ready)));
            return true;
        }
        d.entry.state = s;
        if (!p.front)
            l.queue.push_back_pop_front(d.entry); // as it is when the level is empty
        d.quantum = d.entry.state.slice_left();
        return true;
    }

public:
    /// True when a task waits at a higher level than `running`'s, or a boost
    /// happened since `running` was dispatched.
    [[nodiscard]] bool preempts(const entry_type& running) const noexcept {
        if (running.state.epoch != m_epoch)
            return true;
        return (m_ready & (bit(running.state.level) - 1)) != 0;
    }

    void charge(entry_type& e, tick_count ran) noexcept {
        // A task boosted meanwhile restarts at its next push whatever it used.
        e.state.used += ran;
    }

    /// Performs the boosts due at or before `now` (at boost_period,
    /// 2*boost_period, ...): queued tasks move to the top level in priority
    /// order, keeping their order within a level. May throw std::bad_alloc
    /// when the top level must grow to hold them all; nothing changes then.
    void advance_to(tick_count now) {
        while (m_boost_period > 0 && m_next_boost <= now) {
            m_levels[0].queue.reserve(size()); // the moves below cannot throw
            ++m_epoch;
            m_next_boost += m_boost_period;
            auto& top = m_levels[0].queue;
            for (std::size_t i = 0; i < m_levels.size(); ++i) {
                auto& q = m_levels[i].queue;
                for (std::size_t k = 0; k < q.size(); ++k) {
                    auto& e = q[k];
                    restart(e.state, 0);
                    if (i != 0)
                        top.push_back(std::move(e));
                }
                if (i != 0)
                    q.clear();
            }
            m_ready = top.empty() ? 0 : 1;
            ready_changed();
        }
    }

    /// The level `e` would be queued at if pushed now (0 is the top).
    [[nodiscard]] std::size_t level_of(const entry_type& e) const noexcept {
        return e.state.epoch == m_epoch ? e.state.level : 0;
    }
    [[nodiscard]] std::size_t levels() const noexcept { return m_levels.size(); }
    [[nodiscard]] tick_count quantum(std::size_t level) const { return m_levels.at(level).quantum; }
    [[nodiscard]] tick_count allotment(std::size_t level) const { return m_levels.at(level).allotment; }

    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto& l : m_levels)
            n += l.queue.size();
        return n;
    }
    [[nodiscard]] bool empty() const noexcept { return m_ready == 0; }

private:
    struct level_info {
        detail::ring_deque<entry_type> queue;
        tick_count quantum;
        tick_count allotment;
    };

    // Where a pushed task goes: its level, and whether to the front.
    struct place {
        std::size_t level;
        bool front;
    };

    static constexpr std::uint64_t bit(std::size_t level) noexcept { return std::uint64_t{1} << level; }
    // A level and an epoch in one word, as they lie side by side in mlfq_state.
    static constexpr std::uint64_t key(std::uint32_t level, std::uint32_t epoch) noexcept {
        return std::uint64_t{epoch} << 32 | level;
    }

    // Rules 3-5 for a task being pushed: updates its state, says where it goes.
    place arrive(mlfq_state& s, cause c) const noexcept {
        if (c == cause::created || s.epoch != m_epoch) {
            restart(s, 0); // Rule 3, or Rule 5 for a task the driver held
            return {0, false};
        }
        const bool preempted = c == cause::preempted;
        if (!preempted)
            s.used &= m_kept_on_io;
        const level_info& l = m_levels[s.level];
        if (s.used >= l.allotment) { // Rule 4
            restart(s, std::min<std::size_t>(s.level + 1, m_levels.size() - 1));
            return {s.level, false};
        }
        if (preempted && s.slice_left() > 0)
            return {s.level, true}; // resumes its slice
        s.slice_end = s.used + std::min(l.quantum, l.allotment - s.used);
        return {s.level, false};
    }

    // Cannot throw when the level has room.
    void push_at(entry_type&& e, place p) {
        if (p.front)
            m_levels[p.level].queue.push_front(std::move(e));
        else
            m_levels[p.level].queue.push_back(std::move(e));
        if ((m_ready & (bit(p.level) | (bit(p.level) - 1))) == 0)
            set_top(p.level); // no task at this level or above it until now
        m_ready |= bit(p.level);
    }

    // The front task of a level that holds one.
    dispatch<entry_type> take(std::size_t lv) noexcept {
        auto& q = m_levels[lv].queue;
        dispatch<entry_type> d{std::move(q.front()), std::nullopt};
        q.pop_front();
        if (q.empty()) {
            m_ready &= ~bit(lv);
            ready_changed();
        }
        d.quantum = d.entry.state.slice_left();
        return d;
    }

    // Brings m_top in step with m_ready (and m_epoch).
    void ready_changed() noexcept {
        if (m_ready == 0)
            m_top.key = key(mlfq_max_levels, m_epoch); // no task's
        else
            set_top(static_cast<std::size_t>(std::countr_zero(m_ready)));
    }
    void set_top(std::size_t lv) noexcept {
        level_info& l = m_levels[lv];
        m_top = {key(static_cast<std::uint32_t>(lv), m_epoch), l.quantum, l.allotment, &l.queue};
    }

    void restart(mlfq_state& s, std::size_t lv) const noexcept {
        s.level = static_cast<std::uint32_t>(lv);
        s.used = 0;
        s.slice_end = std::min(m_levels[lv].quantum, m_levels[lv].allotment);
        s.epoch = m_epoch;
    }

    // What of `used` survives giving up the CPU: all of it (all bits set),
    // or, under mlfq_io_rule::reset_allotment, nothing (0).
    tick_count m_kept_on_io;
    tick_count m_boost_period;
    tick_count m_next_boost;
    std::uint32_t m_epoch = 0;
    std::uint64_t m_ready = 0;   // bit i: level i's queue is not empty
    // The highest level that holds tasks and what a hand-over there reads:
    // beside the counters, so that the common case reads no level's record.
    struct {
        std::uint64_t key = mlfq_max_levels; // level 64 of epoch 0: no task's
        tick_count quantum = 0;
        tick_count allotment = 0;
        detail::ring_deque<entry_type>* queue = nullptr;
    } m_top;
    std::vector<level_info> m_levels; // index 0: the top
};

static_assert(scheduling_policy<mlfq<int>>);

} // namespace kettle
