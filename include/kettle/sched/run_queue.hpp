// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::run_queue<Policy, Locking>`: a scheduling policy behind a
/// locking policy, with a bound and waiting in the four modes; what the
/// drivers hold (DESIGN §2).

#include <kettle/mode/detail/wait_list.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/tags.hpp>
#include <kettle/sched/cause.hpp>
#include <kettle/sched/detail/lock_free_fifo.hpp>
#include <kettle/sched/detail/lock_free_mlfq.hpp>
#include <kettle/sched/detail/run_queue_core.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/locking_policy.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/single_thread.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kettle {

/// The bound of a `run_queue`: at most `capacity` queued tasks (at least 1).
struct bounded {
    std::size_t capacity;
};

/// The ready queue of a driver: a scheduling policy (`Policy`) protected by
/// a locking policy (`Locking`), optionally bounded, with pops and pushes
/// that can wait in the four ways of the spine.
///
/// The non-blocking calls (`try_push`, `try_pop`, `preempts`, ...) never
/// wait, apart from acquiring `Locking`'s lock (none for `single_thread` and
/// `lock_free`). The waiting calls (`push`, `pop`, `pop_for` and their mode
/// forms) need a thread-safe `Locking`: on a `single_thread` queue no other
/// thread could ever make them complete, so they do not compile there.
///
/// Bounds: lock-based queues are unbounded unless constructed with
/// `bounded{n}`; the `lock_free` forms are always bounded (1024 by default,
/// rounded up to a power of two). A full queue says so in every mode:
/// `try_push` and `push(sync_nonblocking, ...)` return false, the blocking
/// and asynchronous pushes wait for room.
///
/// Closing: `close()` refuses further pushes (`try_push` returns false,
/// waiting pushes throw std::logic_error) and lets pops drain what is
/// queued; once a closed queue is empty, waiting pops complete with an empty
/// optional. A push racing with `close()` on a `lock_free` queue may still be
/// accepted; it is then delivered to a later pop (on lock-based queues the
/// lock decides, so nothing lands after `close()`).
///
/// Thread-safety is `Locking`'s. Destroying the queue destroys the tasks it
/// holds and abandons asynchronous waiters; no thread may be waiting in it.
///
/// ```cpp
/// kettle::run_queue<kettle::round_robin<job*>, kettle::mutex> q(kettle::round_robin_settings{.quantum = 4});
/// q.push(&a);                                      // cause::created
/// if (auto d = q.try_pop()) run(d->entry.value, d->quantum);
/// auto next = q.pop();                             // sleeps until a task is ready or q is closed
/// ```
template <class Policy, class Locking = single_thread>
class run_queue {
    static_assert(scheduling_policy<Policy>,
                  "run_queue needs a scheduling policy: a type with push(entry, cause), "
                  "pop(), preempts(running), charge(entry, ticks) and advance_to(now) "
                  "(see kettle::scheduling_policy)");
    static_assert(locking_policy<Locking>,
                  "run_queue needs a locking policy such as kettle::single_thread, "
                  "kettle::mutex, kettle::spin or kettle::lock_free (see kettle::locking_policy)");
    static_assert(locking_policy_for<Locking, Policy>,
                  "this locking policy cannot protect this scheduling policy (there is no "
                  "lock-free form of a policy that orders by a key, such as the SJF family, "
                  "priority or fair share): choose kettle::mutex or kettle::spin");

    // An impossible pair stops at the sentence above: the core is then
    // instantiated unlocked, so that no second error buries it.
    using core_locking = std::conditional_t<locking_policy_for<Locking, Policy>, Locking, single_thread>;
    using core_type = detail::run_queue_core<Policy, core_locking>;
    static constexpr bool can_wait = Locking::thread_safe;
    struct no_wait_list {};
    using wait_list_type = std::conditional_t<can_wait, detail::wait_list, no_wait_list>;

public:
    using policy_type = Policy;
    using locking_type = Locking;
    using value_type = typename Policy::value_type;
    using entry_type = typename Policy::entry_type;
    using dispatch_type = dispatch<entry_type>;

    /// Takes the next task; completes with an empty optional once the queue
    /// is closed and drained.
    class pop_operation {
    public:
        using result_type = std::optional<dispatch_type>;
        explicit pop_operation(run_queue& q) noexcept : m_queue(&q) {}
        [[nodiscard]] std::optional<result_type> try_complete() {
            // Read `closed` first: a task pushed before close() is then seen.
            const bool closed = m_queue->closed();
            if (auto d = m_queue->try_pop())
                return result_type(std::move(d));
            if (closed)
                return result_type();
            return std::nullopt;
        }
        [[nodiscard]] detail::wait_list::token readiness() const noexcept
            requires can_wait
        {
            return m_queue->m_not_empty.snapshot();
        }

    private:
        run_queue* m_queue;
    };

    /// Queues the entry it holds once there is room.
    class push_operation {
    public:
        using result_type = void;
        push_operation(run_queue& q, entry_type e, cause c) noexcept(
            std::is_nothrow_move_constructible_v<entry_type>)
            : m_queue(&q), m_entry(std::move(e)), m_cause(c) {}
        [[nodiscard]] bool try_complete() {
            if (m_queue->closed())
                throw std::logic_error("kettle::run_queue: push after close()");
            return m_queue->try_push(std::move(m_entry), m_cause);
        }
        [[nodiscard]] detail::wait_list::token readiness() const noexcept
            requires can_wait
        {
            return m_queue->m_not_full.snapshot();
        }

    private:
        run_queue* m_queue;
        entry_type m_entry;
        cause m_cause;
    };

    /// Forwards its arguments to the policy's constructor. Unbounded, except
    /// for the `lock_free` forms (bounded at their default capacity).
    template <class... Args>
        requires std::constructible_from<Policy, Args...>
    explicit run_queue(Args&&... args) : m_core(0, std::forward<Args>(args)...) {}

    /// At most `b.capacity` queued tasks (the `lock_free` forms round it up
    /// to a power of two; MLFQ's per level). Throws std::invalid_argument
    /// when the capacity is 0.
    template <class... Args>
        requires std::constructible_from<Policy, Args...>
    explicit run_queue(bounded b, Args&&... args)
        : m_core(checked(b.capacity), std::forward<Args>(args)...) {}

    run_queue(const run_queue&) = delete;
    run_queue& operator=(const run_queue&) = delete;

    // --- never wait -------------------------------------------------------------

    /// Queues `e`, which became ready because of `c`. Returns false, leaving
    /// `e` untouched, when the queue is full or closed.
    [[nodiscard]] bool try_push(entry_type&& e, cause c) {
        if constexpr (!closes_in_core) {
            if (closed())
                return false;
        }
        if (!m_core.try_push(e, c))
            return false;
        if constexpr (can_wait)
            notify(m_not_empty);
        return true;
    }
    /// A new task (`cause::created`).
    [[nodiscard]] bool try_push(value_type&& value) {
        entry_type e(std::move(value));
        if (try_push(std::move(e), cause::created))
            return true;
        value = std::move(e.value); // give it back untouched
        return false;
    }

    /// The next task and its quantum, or empty when none is ready.
    [[nodiscard]] std::optional<dispatch_type> try_pop() {
        auto d = m_core.try_pop();
        if constexpr (can_wait) {
            if (d && m_core.capacity() != 0) // only bounded queues have pushes waiting
                notify(m_not_full);
        }
        return d;
    }

    /// Whether a ready task should take the CPU from `running` now.
    [[nodiscard]] bool preempts(const entry_type& running) const {
        return m_core.preempts(running);
    }

    /// Accounts `ran` ticks of CPU to the entry the caller holds.
    void charge(entry_type& running, tick_count ran) { m_core.charge(running, ran); }

    /// Tells the policy the time (never decreasing).
    void advance_to(tick_count now) { m_core.advance_to(now); }

    /// Refuses further pushes and wakes every waiter; pops drain what is
    /// queued. Idempotent.
    void close() {
        if constexpr (closes_in_core)
            m_core.close();
        m_closed.store(true, std::memory_order_release);
        if constexpr (can_wait) {
            m_not_empty.notify_all();
            m_not_full.notify_all();
        }
    }
    [[nodiscard]] bool closed() const noexcept {
        // true once close() ran; pairs with its release store.
        return m_closed.load(std::memory_order_acquire);
    }

    /// Exact for lock-based queues; a snapshot that may be stale at once for
    /// the `lock_free` forms.
    [[nodiscard]] std::size_t size() const { return m_core.size(); }
    [[nodiscard]] bool empty() const { return m_core.empty(); }
    /// The bound, or 0 when unbounded.
    [[nodiscard]] std::size_t capacity() const noexcept { return m_core.capacity(); }

    // --- may wait (thread-safe lockings only) ----------------------------------------

    [[nodiscard]] pop_operation pop_op() noexcept { return pop_operation(*this); }
    [[nodiscard]] push_operation push_op(entry_type e, cause c) {
        return push_operation(*this, std::move(e), c);
    }

    /// Pops in the given mode (sync_blocking when none is given); see
    /// `perform`. An empty optional means the queue is closed and drained.
    template <class... Mode>
    decltype(auto) pop(Mode&&... mode) {
        static_assert(can_wait, "a single_thread run_queue cannot wait for a task: no other "
                                "thread can push one; use try_pop(), or a thread-safe locking "
                                "policy (kettle::mutex, kettle::spin, kettle::lock_free)");
        if constexpr (sizeof...(Mode) == 0)
            return perform(pop_op(), sync_blocking);
        else
            return perform(pop_op(), std::forward<Mode>(mode)...);
    }

    /// Pops, waiting at most `timeout`: empty if nothing came; an empty inner
    /// optional if the queue is closed and drained.
    template <class Rep, class Period>
    [[nodiscard]] std::optional<std::optional<dispatch_type>>
    pop_for(std::chrono::duration<Rep, Period> timeout) {
        static_assert(can_wait, "a single_thread run_queue cannot wait for a task; use try_pop()");
        return perform_until(pop_op(), sync_blocking, deadline_after(timeout));
    }

    /// Pushes in the given mode, waiting for room when the queue is bounded
    /// and full. Throws std::logic_error when the queue is closed.
    template <class Mode, class... Rest>
        requires(!std::same_as<std::remove_cvref_t<Mode>, sync_nonblocking_t>)
    decltype(auto) push(Mode&& mode, entry_type e, cause c, Rest&&... rest) {
        static_assert(can_wait, "a single_thread run_queue cannot wait for room; use try_push()");
        return perform(push_op(std::move(e), c), std::forward<Mode>(mode),
                       std::forward<Rest>(rest)...);
    }
    /// Non-blocking push that never loses the entry: on `false` (full or
    /// closed), `e` is untouched.
    [[nodiscard]] bool push(sync_nonblocking_t, entry_type&& e, cause c) {
        return try_push(std::move(e), c);
    }

    /// Queues `e`. Waits for room when the queue is bounded, full and
    /// thread-safe; a full `single_thread` queue throws std::length_error
    /// (nobody else could make room). Throws std::logic_error when closed.
    void push(entry_type e, cause c) {
        if constexpr (can_wait) {
            perform(push_op(std::move(e), c), sync_blocking);
        } else {
            if (!try_push(std::move(e), c)) {
                if (closed())
                    throw std::logic_error("kettle::run_queue: push after close()");
                throw std::length_error("kettle::run_queue: the queue is full");
            }
        }
    }
    /// A new task (`cause::created`); see `push(entry, cause)`.
    void push(value_type value) { push(entry_type(std::move(value)), cause::created); }

private:
    static constexpr bool closes_in_core = requires(core_type& c) { c.close(); };

    // One element pushed or one slot freed: one waiter can use it.
    static void notify(detail::wait_list& list) noexcept {
        if constexpr (requires { core_type::ordered_by_lock; })
            list.notify_one_after_unlock();
        else
            list.notify_one();
    }

    static std::size_t checked(std::size_t capacity) {
        if (capacity == 0)
            throw std::invalid_argument("kettle::run_queue: the capacity must be at least 1");
        return capacity;
    }

    core_type m_core;
    std::atomic<bool> m_closed{false}; // false -> true once, by close()
    [[no_unique_address]] wait_list_type m_not_empty; // notified (one sleeper) after every push
    [[no_unique_address]] wait_list_type m_not_full;  // notified (one sleeper) after every pop
};

} // namespace kettle
