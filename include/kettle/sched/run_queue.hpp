// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::run_queue<Policy, Locking>`: a scheduling policy behind a
/// locking policy; what the drivers hold (DESIGN §2).

#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/locking_policy.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/single_thread.hpp>

#include <concepts>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

namespace kettle {

/// The ready queue of a driver: every call goes to `Policy` under
/// `Locking`'s lock.
///
/// Thread-safety is `Locking`'s: with `single_thread`, use one thread only
/// (the lock is a no-op and inlines away). No member blocks, apart from
/// acquiring `Locking`'s lock. Destroying the queue destroys the tasks it
/// holds.
///
/// ```cpp
/// kettle::run_queue<kettle::round_robin<job*>> q(kettle::round_robin_settings{.quantum = 4});
/// q.push(&a);                                   // cause::created
/// if (auto d = q.try_pop()) run(d->entry.value, d->quantum);
/// ```
template <class Policy, class Locking = single_thread>
class run_queue {
    static_assert(scheduling_policy<Policy>,
                  "run_queue needs a scheduling policy: a type with push(entry, cause), "
                  "pop(), preempts(running), charge(entry, ticks) and advance_to(now) "
                  "(see kettle::scheduling_policy)");
    static_assert(locking_policy<Locking>,
                  "run_queue needs a locking policy such as kettle::single_thread "
                  "(see kettle::locking_policy)");
    static_assert(locking_policy_for<Locking, Policy>,
                  "this locking policy cannot protect this scheduling policy (for instance, "
                  "there is no lock-free heap for the SJF family): choose a lock-based one");

public:
    using policy_type = Policy;
    using locking_type = Locking;
    using value_type = typename Policy::value_type;
    using entry_type = typename Policy::entry_type;

    /// Forwards its arguments to the policy's constructor.
    template <class... Args>
        requires std::constructible_from<Policy, Args...>
    explicit run_queue(Args&&... args) : m_policy(std::forward<Args>(args)...) {}
    run_queue(const run_queue&) = delete;
    run_queue& operator=(const run_queue&) = delete;

    /// A new task: `push(entry_type(value), cause::created)`.
    void push(value_type value) { push(entry_type(std::move(value)), cause::created); }

    /// The task is ready again; `c` says why.
    void push(entry_type e, cause c) {
        std::lock_guard lock(m_mutex);
        m_policy.push(std::move(e), c);
    }

    /// The next task and its quantum, or empty when none is ready. Never blocks.
    [[nodiscard]] std::optional<dispatch<entry_type>> try_pop() {
        std::lock_guard lock(m_mutex);
        return m_policy.pop();
    }

    /// Whether a ready task should take the CPU from `running` now.
    [[nodiscard]] bool preempts(const entry_type& running) const {
        std::lock_guard lock(m_mutex);
        return m_policy.preempts(running);
    }

    /// Accounts `ran` ticks of CPU to the entry the caller holds.
    void charge(entry_type& running, tick_count ran) {
        std::lock_guard lock(m_mutex);
        m_policy.charge(running, ran);
    }

    /// Tells the policy the time (never decreasing).
    void advance_to(tick_count now) {
        std::lock_guard lock(m_mutex);
        m_policy.advance_to(now);
    }

    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(m_mutex);
        return m_policy.size();
    }
    [[nodiscard]] bool empty() const {
        std::lock_guard lock(m_mutex);
        return m_policy.empty();
    }

private:
    mutable typename Locking::mutex_type m_mutex;
    Policy m_policy; // guarded by m_mutex
};

} // namespace kettle
