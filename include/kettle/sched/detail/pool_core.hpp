// SPDX-License-Identifier: MIT
#pragma once

/// The half of `thread_pool` that does not depend on its policies: waking
/// the workers, the submission gate, the executor face (strand, resume list,
/// tracked operations) and the count of running tasks. See docs/sched.md,
/// "Thread pool".

#include <kettle/loop/detail/post_queue.hpp>
#include <kettle/mode/detail/wait_list.hpp> // fence_before_reading, KETTLE_DETAIL_TSAN
#include <kettle/mode/executor.hpp>
#include <kettle/mode/readiness.hpp>
#include <kettle/sched/detail/mpmc_ring.hpp> // cache_line_size

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

namespace kettle::detail {

class pool_core;

/// Which pool (if any) the calling thread works for, and its index there.
struct pool_worker_identity {
    const pool_core* pool = nullptr;
    std::size_t index = 0;
};

inline thread_local pool_worker_identity current_pool_worker{};

/// What a worker found to do.
enum class pool_work : unsigned char {
    job,    // a job popped from a run queue
    strand, // a batch of executor nodes, to run one after another
    resume, // one node from the resume list (a coroutine moving onto the pool)
    exit,   // the pool is shutting down and nothing is left for this worker
};

/// Where a pool's idle workers sleep; wakes one at a time.
///
/// A worker *registers* as idle (`prepare`), looks for work once more, and
/// then either sleeps (`token::wait`) or, having found some, unregisters
/// (the token's destructor). A waker that finds a registered worker *claims*
/// it under the lock, turning one idle registration into one pending wake,
/// and signals once; later wakers see no idle worker and return after a
/// fence and a load, so a burst of posts wakes a sleeping worker once, not
/// once per post. Registrations are anonymous: a pending wake is consumed by
/// whichever registered worker sleeps (or unregisters) next; every woken
/// worker looks for work again, so no wake is lost and none is needed twice.
///
/// No lost wake-up: a worker registers, fences, then looks at the queues; a
/// waker changes the queues, fences, then reads the idle count. One of the
/// two sees the other.
class pool_sleep {
public:
    /// Models `readiness_source`: one registration, consumed by waiting.
    class token {
    public:
        token(token&& other) noexcept
            : m_sleep(other.m_sleep), m_registered(std::exchange(other.m_registered, false)) {}
        token& operator=(token&&) = delete;
        ~token() {
            if (m_registered)
                m_sleep->unregister();
        }
        /// Sleeps until a wake is pending, and consumes it.
        void wait() {
            m_registered = false;
            m_sleep->sleep();
        }
        /// As `wait`, giving up at `deadline` (returns false then).
        [[nodiscard]] bool wait_until(const steady_time& deadline) {
            m_registered = false;
            return m_sleep->sleep_until(deadline);
        }

    private:
        friend class pool_sleep;
        explicit token(pool_sleep* s) noexcept : m_sleep(s), m_registered(true) {}
        pool_sleep* m_sleep;
        bool m_registered;
    };

    pool_sleep() = default;
    pool_sleep(const pool_sleep&) = delete;
    pool_sleep& operator=(const pool_sleep&) = delete;

    /// Registers the calling worker as idle. Take it before looking for work.
    [[nodiscard]] token prepare() noexcept {
        {
            std::lock_guard lock(m_mutex);
            ++m_idle;
            m_idle_hint.fetch_add(1, std::memory_order_seq_cst);
        }
#if !defined(KETTLE_DETAIL_TSAN)
        std::atomic_thread_fence(std::memory_order_seq_cst); // pairs with the wakers' fence
#endif
        return token(this);
    }

    /// After making work available: wakes one idle worker, if any is registered.
    void wake_one() noexcept {
        fence_before_reading(m_idle_hint);
        if (m_idle_hint.load(std::memory_order_relaxed) == 0)
            return;
        std::unique_lock lock(m_mutex);
        if (m_idle == 0)
            return; // another waker claimed the last one
        --m_idle;
        m_idle_hint.fetch_sub(1, std::memory_order_relaxed);
        ++m_wakes;
        lock.unlock();
        m_cv.notify_one();
    }

    /// Wakes every registered worker (to see whether it may exit, say).
    void wake_all() noexcept {
        fence_before_reading(m_idle_hint);
        if (m_idle_hint.load(std::memory_order_relaxed) == 0)
            return;
        std::unique_lock lock(m_mutex);
        if (m_idle == 0)
            return;
        m_wakes += m_idle;
        m_idle = 0;
        m_idle_hint.store(0, std::memory_order_relaxed);
        lock.unlock();
        m_cv.notify_all();
    }

private:
    void sleep() {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return m_wakes != 0; });
        --m_wakes;
    }

    bool sleep_until(const steady_time& deadline) {
        std::unique_lock lock(m_mutex);
        if (m_cv.wait_until(lock, deadline, [this] { return m_wakes != 0; })) {
            --m_wakes;
            return true;
        }
        unregister_locked();
        return false;
    }

    void unregister() noexcept {
        std::lock_guard lock(m_mutex);
        unregister_locked();
    }

    // Ends one registration without sleeping: an idle one if any is left,
    // else a wake some waker granted meanwhile (this worker is looking anyway).
    void unregister_locked() noexcept {
        if (m_idle != 0) {
            --m_idle;
            m_idle_hint.fetch_sub(1, std::memory_order_relaxed);
        } else {
            --m_wakes;
        }
    }

    // Read by every waker; written only when a worker goes idle or is woken.
    alignas(cache_line_size) std::atomic<std::size_t> m_idle_hint{0}; // m_idle, readable without the lock
    alignas(cache_line_size) std::mutex m_mutex;
    std::condition_variable m_cv;
    std::size_t m_idle = 0;  // registered, not claimed; guarded by m_mutex
    std::size_t m_wakes = 0; // claimed, not yet consumed; guarded by m_mutex
};

/// Shared state of a pool, independent of its run queues. Every member is
/// thread-safe unless it says otherwise.
class pool_core {
public:
    pool_core() = default;
    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;

    // --- waking -----------------------------------------------------------------

    /// Where idle workers sleep. One is woken after every change that gives
    /// a worker something to do (a job queued, a node posted); all are woken
    /// by changes that may let them exit (shutdown reached the closing stage,
    /// the last task finished, the strand was released while closing).
    [[nodiscard]] pool_sleep::token wake_token() noexcept { return m_sleep.prepare(); }
    void wake_one() noexcept { m_sleep.wake_one(); }
    void wake_all() noexcept { m_sleep.wake_all(); }

    // --- the submission gate ----------------------------------------------------

    /// Enters the gate before queueing a job; false when the pool no longer
    /// accepts jobs (the caller is then already out).
    [[nodiscard]] bool enter() noexcept {
        if ((m_gate.fetch_add(1, std::memory_order_acquire) & gate_closed) == 0)
            return true;
        leave();
        return false;
    }

    /// Leaves the gate; the job is queued (or was not). The last submitter
    /// out of a closed gate wakes `close_gate`, under its mutex: the closer
    /// may destroy the pool as soon as it has seen the flag.
    void leave() noexcept {
        if (m_gate.fetch_sub(1, std::memory_order_acq_rel) == (gate_closed | 1)) {
            std::lock_guard lock(m_gate_mutex);
            m_gate_drained = true;
            m_gate_cv.notify_all();
        }
    }

    /// Refuses further jobs, then waits until every submitter inside the gate
    /// has left (a submitter waiting for room in a full queue leaves once a
    /// worker makes room). Afterwards the run queues only shrink.
    void close_gate() {
        if ((m_gate.fetch_or(gate_closed, std::memory_order_acq_rel) & ~gate_closed) == 0)
            return;
        std::unique_lock lock(m_gate_mutex);
        m_gate_cv.wait(lock, [this] { return m_gate_drained; });
    }

    [[nodiscard]] bool accepting() const noexcept {
        return (m_gate.load(std::memory_order_acquire) & gate_closed) == 0;
    }

    // --- shutdown stages ----------------------------------------------------------

    /// From now on workers destroy the jobs they pop instead of running them.
    void start_cancelling() noexcept { m_cancelling.store(true, std::memory_order_release); }
    [[nodiscard]] bool cancelling() const noexcept {
        return m_cancelling.load(std::memory_order_acquire);
    }

    /// The run queues are closed and will only shrink: idle workers may exit.
    void start_closing() noexcept {
        m_closing.store(true, std::memory_order_seq_cst);
        wake_all();
    }
    /// Read before looking at the queues: if true then, an empty queue stays empty.
    [[nodiscard]] bool closing() const noexcept { return m_closing.load(std::memory_order_seq_cst); }

    /// Whether an idle worker may exit, given that it found every run queue
    /// empty after `closing()` returned true: no executor node is waiting and
    /// no started task is unfinished.
    [[nodiscard]] bool may_exit() const noexcept {
        return m_strand_pending.load(std::memory_order_acquire) == 0 &&
               m_resume_pending.load(std::memory_order_acquire) == 0 &&
               m_active_tasks.load(std::memory_order_acquire) == 0;
    }

    // --- the executor face -------------------------------------------------------------

    /// Queues `n` on the strand: executor nodes run one at a time, in posting
    /// order, each on whichever worker holds the strand then (the completion
    /// records of the spine expect a single-threaded executor). Any thread;
    /// never blocks for long. After `stop_executor`, `n` is discarded at once
    /// on the calling thread.
    void post(post_node& n) noexcept {
        std::unique_lock lock(m_post_mutex);
        if (m_stopped) {
            lock.unlock();
            discard(&n);
            return;
        }
        m_strand.push(&n);
        m_strand_pending.fetch_add(1, std::memory_order_release);
        // Under the lock: the pool cannot be destroyed before this returns.
        wake_one();
    }

    /// Queues `n` on the resume list: nodes any worker may run, in parallel
    /// with each other (`thread_pool::schedule`). Returns false, without
    /// queueing, after `stop_executor`.
    [[nodiscard]] bool post_resume(post_node& n) noexcept {
        std::lock_guard lock(m_post_mutex);
        if (m_stopped)
            return false;
        m_resume.push(&n);
        m_resume_pending.fetch_add(1, std::memory_order_release);
        wake_one();
        return true;
    }

    /// Takes executor work if there is any: one resume node, or the strand's
    /// whole batch when no other worker holds the strand (the caller then
    /// holds it until `release_strand`). `nodes` receives the node or chain.
    [[nodiscard]] bool take_posted(pool_work& what, post_node*& nodes) noexcept {
        if (m_resume_pending.load(std::memory_order_acquire) == 0 &&
            (m_strand_pending.load(std::memory_order_acquire) == 0 ||
             m_strand_busy.load(std::memory_order_acquire)))
            return false;
        std::lock_guard lock(m_post_mutex);
        if (post_node* n = m_resume.pop()) {
            m_resume_pending.fetch_sub(1, std::memory_order_relaxed);
            what = pool_work::resume;
            nodes = n;
            return true;
        }
        if (!m_strand_busy.load(std::memory_order_relaxed) && !m_strand.empty()) {
            m_strand_busy.store(true, std::memory_order_relaxed);
            m_strand_pending.store(0, std::memory_order_relaxed);
            what = pool_work::strand;
            nodes = m_strand.take_all();
            return true;
        }
        return false;
    }

    /// Gives the strand back after running a batch. The caller looks for
    /// work again before it sleeps, so nodes posted meanwhile are not lost;
    /// while closing, sleeping workers are woken to see whether they may exit.
    void release_strand() noexcept {
        {
            std::lock_guard lock(m_post_mutex);
            m_strand_busy.store(false, std::memory_order_relaxed);
        }
        if (closing())
            wake_all();
    }

    /// Executor contract: `t` must hear of the pool's end. Any thread.
    void track(tracked_node& t) noexcept {
        std::lock_guard lock(m_tracked_mutex);
        t.m_prev = nullptr;
        t.m_next = m_tracked;
        if (m_tracked != nullptr)
            m_tracked->m_prev = &t;
        m_tracked = &t;
    }
    void untrack(tracked_node& t) noexcept {
        std::lock_guard lock(m_tracked_mutex);
        unlink(t);
    }

    /// The executor's end, after the workers are joined: abandons tracked
    /// operations (`m_abandon`), then discards every posted node
    /// (`m_discard`); later posts are discarded as they come.
    void stop_executor() noexcept {
        for (;;) {
            tracked_node* t;
            {
                std::lock_guard lock(m_tracked_mutex);
                t = m_tracked;
                if (t == nullptr)
                    break;
                unlink(*t);
            }
            if (t->m_abandon != nullptr)
                t->m_abandon(t);
        }
        post_fifo all;
        {
            std::lock_guard lock(m_post_mutex);
            m_stopped = true;
            all.splice(m_strand.take_all());
            all.splice(m_resume.take_all());
            m_strand_pending.store(0, std::memory_order_relaxed);
            m_resume_pending.store(0, std::memory_order_relaxed);
        }
        while (post_node* n = all.pop())
            discard(n);
    }

    // --- tasks ------------------------------------------------------------------------

    /// A task submitted to the pool starts (on a worker). Until it finishes,
    /// the pool's workers stay, even while shutting down.
    void task_started() noexcept { m_active_tasks.fetch_add(1, std::memory_order_relaxed); }

    /// A task finished, on whichever thread resumed it last. Under the lock
    /// that `stop_executor` takes after the workers have exited: the pool
    /// outlives this call.
    void task_finished() noexcept {
        std::lock_guard lock(m_post_mutex);
        if (m_active_tasks.fetch_sub(1, std::memory_order_acq_rel) == 1 && closing())
            wake_all();
    }

private:
    static constexpr std::uint64_t gate_closed = std::uint64_t{1} << 63;

    static void discard(post_node* n) noexcept {
        if (n->m_discard != nullptr)
            n->m_discard(n);
    }

    void unlink(tracked_node& t) noexcept { // requires m_tracked_mutex
        if (t.m_prev != nullptr)
            t.m_prev->m_next = t.m_next;
        else if (m_tracked == &t)
            m_tracked = t.m_next;
        if (t.m_next != nullptr)
            t.m_next->m_prev = t.m_prev;
        t.m_prev = t.m_next = nullptr;
    }

    // Laid out by who writes what: a line written by every submitter (the
    // gate), one read by every worker on every pop (the flags and counters),
    // the sleepers, and the rarely used rest.

    // Bit 63: closed (set once by close_gate); bits 0-62: submitters inside.
    // Entering acquires, leaving releases: close_gate, seeing the count drop
    // to zero, sees every job they queued.
    alignas(cache_line_size) std::atomic<std::uint64_t> m_gate{0};

    alignas(cache_line_size) std::atomic<bool> m_cancelling{false}; // false -> true once (shutdown(cancel))
    // false -> true once, after the run queues are closed; seq_cst against
    // the workers' reads that precede their look at the queues.
    std::atomic<bool> m_closing{false};
    // Executor nodes waiting, written under m_post_mutex and read without it
    // as hints (a worker that misses one looks again before sleeping).
    std::atomic<std::size_t> m_strand_pending{0}; // nodes in m_strand
    std::atomic<std::size_t> m_resume_pending{0}; // nodes in m_resume
    std::atomic<bool> m_strand_busy{false};       // a worker is running a strand batch
    // Started, unfinished tasks. Decremented under m_post_mutex.
    std::atomic<std::size_t> m_active_tasks{0};

    pool_sleep m_sleep;

    alignas(cache_line_size) std::mutex m_post_mutex;
    post_fifo m_strand;   // guarded by m_post_mutex
    post_fifo m_resume;   // guarded by m_post_mutex
    bool m_stopped = false; // guarded by m_post_mutex; set once

    alignas(cache_line_size) std::mutex m_gate_mutex;
    std::condition_variable m_gate_cv;
    bool m_gate_drained = false; // guarded by m_gate_mutex

    std::mutex m_tracked_mutex;
    tracked_node* m_tracked = nullptr; // guarded by m_tracked_mutex
};

} // namespace kettle::detail
