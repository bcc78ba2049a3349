// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::mlfq`: the multi-level feedback queue of OSTEP chapter 8.

#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/ring_deque.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
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
    /// Number of priority levels. Must be at least 1.
    std::size_t levels = 3;
    /// Time slice of the top level when `quanta` is empty; level i then gets
    /// `base_quantum << i` (longer slices for the CPU-bound lower levels).
    /// Must be positive.
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

/// Per-task state of `mlfq`.
struct mlfq_state {
    std::size_t level = 0;     // 0 is the top
    tick_count used = 0;       // allotment used at `level`
    tick_count slice_left = 0; // rest of the current slice
    std::uint64_t epoch = 0;   // boosts seen: older than the policy's means "boosted since"
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
        : m_io_rule(s.io_rule), m_boost_period(s.boost_period), m_next_boost(s.boost_period) {
        if (s.levels == 0)
            throw std::invalid_argument("kettle::mlfq: at least one level is needed");
        if (s.boost_period < 0)
            throw std::invalid_argument("kettle::mlfq: boost_period must not be negative");
        if (s.quanta.empty()) {
            if (s.base_quantum <= 0)
                throw std::invalid_argument("kettle::mlfq: base_quantum must be positive");
            for (std::size_t i = 0; i < s.levels; ++i)
                m_quanta.push_back(s.base_quantum << std::min<std::size_t>(i, 30));
        } else {
            m_quanta = std::move(s.quanta);
        }
        m_allotments = s.allotments.empty() ? m_quanta : std::move(s.allotments);
        if (m_quanta.size() != s.levels || m_allotments.size() != s.levels)
            throw std::invalid_argument(
                "kettle::mlfq: quanta and allotments need one value per level");
        for (std::size_t i = 0; i < s.levels; ++i)
            if (m_quanta[i] <= 0 || m_allotments[i] <= 0)
                throw std::invalid_argument(
                    "kettle::mlfq: quanta and allotments must be positive");
        m_queues.resize(s.levels);
    }

    void push(entry_type e, cause c) {
        mlfq_state& s = e.state;
        if (c == cause::created || s.epoch != m_epoch) {
            restart(s, 0); // Rule 3, or Rule 5 for a task the driver held
            m_queues[0].push_back(std::move(e));
            return;
        }
        if (c != cause::preempted && m_io_rule == mlfq_io_rule::reset_allotment)
            s.used = 0;
        if (s.used >= m_allotments[s.level]) { // Rule 4
            restart(s, std::min(s.level + 1, m_queues.size() - 1));
            m_queues[s.level].push_back(std::move(e));
        } else if (c == cause::preempted && s.slice_left > 0) {
            m_queues[s.level].push_front(std::move(e)); // resumes its slice
        } else {
            s.slice_left = std::min(m_quanta[s.level], m_allotments[s.level] - s.used);
            m_queues[s.level].push_back(std::move(e));
        }
    }

    [[nodiscard]] std::optional<dispatch<entry_type>> pop() {
        for (auto& q : m_queues) {
            if (q.empty())
                continue;
            dispatch<entry_type> d{std::move(q.front()), std::nullopt};
            q.pop_front();
            d.quantum = d.entry.state.slice_left;
            return d;
        }
        return std::nullopt;
    }

    /// True when a task waits at a higher level than `running`'s, or a boost
    /// happened since `running` was dispatched.
    [[nodiscard]] bool preempts(const entry_type& running) const noexcept {
        if (running.state.epoch != m_epoch)
            return true;
        for (std::size_t i = 0; i < running.state.level; ++i)
            if (!m_queues[i].empty())
                return true;
        return false;
    }

    void charge(entry_type& e, tick_count ran) noexcept {
        if (e.state.epoch != m_epoch)
            return; // boosted meanwhile: push starts it afresh
        e.state.used += ran;
        e.state.slice_left -= ran;
    }

    /// Performs the boosts due at or before `now` (at boost_period,
    /// 2*boost_period, ...): queued tasks move to the top level in priority
    /// order, keeping their order within a level.
    void advance_to(tick_count now) {
        while (m_boost_period > 0 && m_next_boost <= now) {
            ++m_epoch;
            m_next_boost += m_boost_period;
            for (std::size_t i = 0; i < m_queues.size(); ++i) {
                auto& level = m_queues[i];
                for (std::size_t k = 0; k < level.size(); ++k) {
                    auto& e = level[k];
                    restart(e.state, 0);
                    if (i != 0)
                        m_queues[0].push_back(std::move(e));
                }
                if (i != 0)
                    m_queues[i].clear();
            }
        }
    }

    /// The level `e` would be queued at if pushed now (0 is the top).
    [[nodiscard]] std::size_t level_of(const entry_type& e) const noexcept {
        return e.state.epoch == m_epoch ? e.state.level : 0;
    }
    [[nodiscard]] std::size_t levels() const noexcept { return m_queues.size(); }
    [[nodiscard]] tick_count quantum(std::size_t level) const { return m_quanta.at(level); }
    [[nodiscard]] tick_count allotment(std::size_t level) const { return m_allotments.at(level); }

    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto& q : m_queues)
            n += q.size();
        return n;
    }
    [[nodiscard]] bool empty() const noexcept {
        return std::all_of(m_queues.begin(), m_queues.end(),
                           [](const auto& q) { return q.empty(); });
    }

private:
    void restart(mlfq_state& s, std::size_t level) const noexcept {
        s.level = level;
        s.used = 0;
        s.slice_left = std::min(m_quanta[level], m_allotments[level]);
        s.epoch = m_epoch;
    }

    std::vector<tick_count> m_quanta;
    std::vector<tick_count> m_allotments;
    mlfq_io_rule m_io_rule;
    tick_count m_boost_period;
    tick_count m_next_boost;
    std::uint64_t m_epoch = 0;
    std::vector<detail::ring_deque<entry_type>> m_queues; // index 0: top level
};

static_assert(scheduling_policy<mlfq<int>>);

} // namespace kettle
