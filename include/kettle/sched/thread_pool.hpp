// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::thread_pool<Policy, Locking>`: N worker threads over
/// `run_queue<Policy, Locking>`, the third driver of DESIGN §2. See
/// docs/sched.md, "Thread pool".

#include <kettle/mode/executor.hpp>
#include <kettle/mode/future.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/tags.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/detail/pool_core.hpp>
#include <kettle/sched/detail/pool_task.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/locking_policy.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/pool_job.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/scheduling_policy.hpp>

#include <algorithm>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace kettle {

namespace detail {
template <class L>
concept thread_safe_locking = locking_policy<L> && static_cast<bool>(L::thread_safe);
} // namespace detail

/// What `thread_pool::shutdown` does with jobs still queued.
enum class shutdown_policy {
    /// Run every queued job, then join the workers.
    drain,
    /// Destroy every queued job unrun (futures break with
    /// `std::future_error(broken_promise)`), then join the workers once the
    /// running jobs have finished.
    cancel,
};

/// Thrown when a job is submitted to a pool that no longer accepts jobs
/// (`shutdown` has begun), and by `co_await pool.schedule()` after it ended.
class thread_pool_closed : public std::logic_error {
public:
    thread_pool_closed() : std::logic_error("kettle::thread_pool: the pool is shut down") {}
};

/// Settings of `thread_pool`.
struct thread_pool_settings {
    /// Worker threads. 0: `std::thread::hardware_concurrency()` (at least 1).
    std::size_t workers = 0;
    /// One run queue per worker instead of one shared queue. A job submitted
    /// from a worker goes to that worker's queue; others go round robin over
    /// the queues; an idle worker pops its own queue, then steals from the
    /// others before it sleeps. The policy's order (priority, SJF) then holds
    /// within each queue, not across the pool.
    bool per_worker_queues = false;
    /// The bound of each queue: 0 for unbounded (the `lock_free` forms are
    /// always bounded; 0 gives their default). When every queue is full,
    /// `post`/`submit` wait for room and `try_post`/`try_submit` say so.
    std::size_t queue_capacity = 0;
};

/// A fixed set of worker threads running jobs from `run_queue<Policy,
/// Locking>`: `Policy` decides which queued job runs next, `Locking` how the
/// queue is protected.
///
/// `Policy`'s value type is `pool_job`: `thread_pool<>` is FIFO,
/// `thread_pool<priority<pool_job>>` runs the smallest `job_hint::priority`
/// first, `thread_pool<sjf<pool_job>>` the smallest `job_hint::length`.
/// Every job runs to completion: quanta are ignored and no job is pushed
/// back, so `round_robin`, `mlfq` and `fair_share` order like `fcfs` here;
/// time-based rules (priority aging, MLFQ boosts) are not driven.
///
/// **Submitting** (any thread, including the workers):
/// - `post(f)`: fire and forget; nothing to wait for. `f` must not throw
///   (`std::terminate`, as for a `std::thread`).
/// - `submit(f)`: a `kettle::future` of `f()`'s result or exception.
/// - `submit(task)`: starts a `kettle::task<T>` on a worker; where it
///   continues after suspending depends on what it awaited. Its future holds
///   its result or exception.
/// - `try_post`/`try_submit`: never wait: false / empty when every queue is
///   full. A callable given as an rvalue is then (and when they throw)
///   handed back, moved into the caller's object again, so it can be posted
///   later; an lvalue was copied and stays as it was; a task is destroyed
///   unstarted.
/// - `post`/`submit` on a bounded, full pool wait for room. On a worker of
///   the pool they do not sleep: they run queued jobs meanwhile (the next
///   ones by the policy), which makes room, so jobs that submit jobs cannot
///   deadlock on the bound.
/// All of them throw `thread_pool_closed` once `shutdown` has begun.
///
/// **Workers** sleep (on a condition variable, never spinning) until there
/// is work in a queue they may pop from or in the executor lists below.
///
/// **As an executor** the pool models `kettle::executor`, so `co_await
/// ch.pop(pool)`, `ev.wait(kettle::async_blocking, pool)` and the other
/// asynchronous modes run their completions on it. Those completions run one
/// at a time, in posting order, on whichever worker is free (a strand):
/// the spine's completion records expect a serial executor. A coroutine
/// resumed that way continues inside the strand until it next suspends;
/// `co_await pool.schedule()` moves it onto a worker of its own, in parallel.
///
/// **Shutdown** (`shutdown(policy)`, or the destructor, which drains):
/// submissions are refused, queued jobs are run (`drain`) or destroyed unrun
/// (`cancel`), running jobs finish, started tasks run to their end (they are
/// running work, not queued work: a task that is never resumed keeps
/// shutdown waiting, as a job that never returns would), executor work
/// posted before the workers exit is run, and the workers are joined. Then
/// asynchronous operations still pending on the pool are abandoned (their
/// futures break, their coroutines are not resumed) and later posts are
/// discarded. Every job runs exactly once or is cancelled exactly once.
/// Shutdown from a worker throws `std::logic_error` (it would join itself);
/// destroy the pool from outside it, once no other thread may still use it.
template <class Policy = fcfs<pool_job>, class Locking = mutex>
class thread_pool {
    static_assert(scheduling_policy<Policy>,
                  "thread_pool needs a scheduling policy such as kettle::fcfs<kettle::pool_job>");
    static_assert(std::same_as<typename Policy::value_type, pool_job>,
                  "a thread_pool's policy must hold kettle::pool_job: write "
                  "thread_pool<kettle::sjf<kettle::pool_job>>, not thread_pool<kettle::sjf<T>>");
    static_assert(detail::thread_safe_locking<Locking>,
                  "a thread_pool is shared by its workers: use kettle::mutex, kettle::spin or "
                  "kettle::lock_free, not kettle::single_thread");

public:
    using policy_type = Policy;
    using locking_type = Locking;
    using queue_type = run_queue<Policy, Locking>;

    /// Starts the workers. `policy_args` are passed (as copies) to each
    /// queue's policy, e.g. `priority_settings{...}`. Throws
    /// `std::system_error` when a thread cannot be started (the started ones
    /// are joined first), `std::invalid_argument` for an invalid policy
    /// setting.
    template <class... Args>
        requires std::constructible_from<Policy, const Args&...>
    explicit thread_pool(thread_pool_settings settings = {}, const Args&... policy_args) {
        std::size_t n = settings.workers;
        if (n == 0)
            n = std::max<std::size_t>(1, std::thread::hardware_concurrency());
        const std::size_t queues = settings.per_worker_queues ? n : 1;
        m_slots.reserve(queues);
        for (std::size_t i = 0; i < queues; ++i) {
            if (settings.queue_capacity != 0)
                m_slots.push_back(
                    std::make_unique<slot>(bounded{settings.queue_capacity}, policy_args...));
            else
                m_slots.push_back(std::make_unique<slot>(policy_args...));
        }
        m_threads.reserve(n);
        try {
            for (std::size_t i = 0; i < n; ++i)
                m_threads.emplace_back([this, i] { worker_main(i); });
        } catch (...) {
            shutdown(shutdown_policy::drain);
            throw;
        }
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// `shutdown(shutdown_policy::drain)`: runs what is queued, then joins.
    /// Precondition: not called from a worker of this pool.
    ~thread_pool() { shutdown(shutdown_policy::drain); }

    // --- submitting ------------------------------------------------------------------

    /// Queues `f()`, fire and forget; waits for room when the pool is bounded
    /// and full. `f` runs on a worker; an exception escaping it calls
    /// `std::terminate`. Throws `thread_pool_closed` after `shutdown` began.
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    void post(F&& f, job_hint hint = {}) {
        pool_job job(std::forward<F>(f), hint);
        push_job(job, true);
    }

    /// As `post`, but never waits: false when every queue is full. Whether
    /// it returns false or throws, `f` is then as it was: an lvalue was
    /// copied; an rvalue (`std::move(f)`) was moved into the job and is
    /// moved back, by assignment, or, for a lambda, which has none, by
    /// constructing it again in place (so it must be a whole object, not a
    /// base-class part of one). Not moved back: a callable whose moves may
    /// throw, and a polymorphic one without a move assignment.
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    [[nodiscard]] bool try_post(F&& f, job_hint hint = {}) {
        pool_job job(std::forward<F>(f), hint);
        return try_push_job<F>(job, f, job.target<std::decay_t<F>>());
    }

    /// Queues `f()` and returns the future of its result; an exception `f`
    /// throws is stored in the future. Waits for room when bounded and full.
    /// One allocation (the future's state and `f` together). Throws
    /// `thread_pool_closed` after `shutdown` began.
    template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
        requires std::is_invocable_v<std::decay_t<F>&>
    [[nodiscard]] future<R> submit(F&& f, job_hint hint = {}) {
        static_assert(!std::is_reference_v<R>,
                      "submit: a job returning a reference cannot fill a kettle::future; "
                      "return a pointer or a std::reference_wrapper");
        auto* call = new detail::packaged_call<R, std::decay_t<F>>(std::forward<F>(f));
        pool_job job(detail::packaged_job<R, std::decay_t<F>>(call), hint);
        // Made before the job can run; declared after it, so that if push_job
        // throws the future goes first and the call is dropped quietly.
        future<R> result = call->make_future();
        push_job(job, true);
        return result;
    }

    /// As `submit`, but never waits: empty when every queue is full. Then,
    /// or when it throws, `f` is as it was (as for `try_post`).
    template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
        requires std::is_invocable_v<std::decay_t<F>&>
    [[nodiscard]] std::optional<future<R>> try_submit(F&& f, job_hint hint = {}) {
        static_assert(!std::is_reference_v<R>,
                      "try_submit: a job returning a reference cannot fill a kettle::future; "
                      "return a pointer or a std::reference_wrapper");
        auto* call = new detail::packaged_call<R, std::decay_t<F>>(std::forward<F>(f));
        pool_job job(detail::packaged_job<R, std::decay_t<F>>(call), hint);
        std::optional<future<R>> result(call->make_future());
        if (!try_push_job<F>(job, f, &call->callable()))
            result.reset(); // before `job` dies: the call then goes without an exception
        return result;
    }

    /// Queues the start of `t` and returns the future of its result. The
    /// task starts on a worker; after a suspension it continues wherever the
    /// awaited operation resumes it (for operations run on this pool: on its
    /// strand). One allocation besides the task's own frame.
    template <class T>
    [[nodiscard]] future<T> submit(task<T> t, job_hint hint = {}) {
        auto driver = detail::drive_task(m_core, std::move(t));
        future<T> made = driver.make_future();
        pool_job job(std::move(driver), hint);
        future<T> result = std::move(made); // dies before `job` if push_job throws
        push_job(job, true);
        return result;
    }

    /// As `submit(task)`, but never waits: empty when every queue is full
    /// (the task is then destroyed unstarted).
    template <class T>
    [[nodiscard]] std::optional<future<T>> try_submit(task<T> t, job_hint hint = {}) {
        auto driver = detail::drive_task(m_core, std::move(t));
        future<T> made = driver.make_future();
        pool_job job(std::move(driver), hint);
        std::optional<future<T>> result(std::move(made));
        if (!push_job(job, false))
            result.reset();
        return result;
    }

    // --- moving a coroutine onto the pool ---------------------------------------------------

    /// The awaiter of `schedule()`.
    class schedule_awaiter : detail::post_node {
    public:
        explicit schedule_awaiter(thread_pool& pool) noexcept : m_pool(&pool) {
            m_run = [](detail::post_node* n) noexcept {
                // Copied first: resuming may destroy this awaiter.
                const std::coroutine_handle<> h = static_cast<schedule_awaiter&>(*n).m_continuation;
                h.resume();
            };
            m_discard = [](detail::post_node*) noexcept {};
        }
        schedule_awaiter(const schedule_awaiter&) = delete;
        schedule_awaiter& operator=(const schedule_awaiter&) = delete;

        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            m_continuation = h;
            // After a successful post a worker may resume h at once: no
            // member is touched after it.
            if (m_pool->m_core.post_resume(*this))
                return true;
            m_refused = true;
            return false;
        }
        void await_resume() const {
            if (m_refused)
                throw thread_pool_closed();
        }

    private:
        thread_pool* m_pool;
        std::coroutine_handle<> m_continuation;
        bool m_refused = false;
    };

    /// `co_await pool.schedule()` resumes the coroutine on one of the
    /// workers, in parallel with other work (not on the strand). Accepted
    /// until the workers have exited, even while shutting down; afterwards
    /// the `co_await` throws `thread_pool_closed`. If the pool ends between
    /// the two, the coroutine is not resumed (its owner destroys it).
    [[nodiscard]] schedule_awaiter schedule() noexcept { return schedule_awaiter(*this); }

    // --- the executor contract ----------------------------------------------------

    /// Runs `n.m_run(&n)` on the pool's strand (one node at a time, in
    /// posting order), or `n.m_discard(&n)` if the pool has ended first
    /// (then at once, on the calling thread). Any thread; never allocates,
    /// never blocks for long.
    void post(detail::post_node& n) noexcept { m_core.post(n); }
    /// Registers an operation that must hear of the pool's end. Any thread.
    void track(detail::tracked_node& t) noexcept { m_core.track(t); }
    /// Unregisters it. Any thread.
    void untrack(detail::tracked_node& t) noexcept { m_core.untrack(t); }
    /// True on the pool's worker threads. Any thread.
    [[nodiscard]] bool running_in_this_thread() const noexcept {
        return detail::current_pool_worker.pool == &m_core;
    }

    // --- shutdown and observers --------------------------------------------------------

    /// Refuses new jobs, runs (`drain`) or destroys (`cancel`) the queued
    /// ones, lets running jobs and started tasks finish, joins the workers,
    /// then abandons pending asynchronous operations. Blocks until done.
    /// Idempotent; a concurrent call waits for the first. `cancel` also
    /// takes effect when called while a `drain` is in progress. Throws
    /// `std::logic_error` when called from a worker of this pool.
    void shutdown(shutdown_policy policy = shutdown_policy::drain) {
        if (running_in_this_thread())
            throw std::logic_error(
                "kettle::thread_pool: shutdown from one of its own workers would join itself");
        if (policy == shutdown_policy::cancel)
            m_core.start_cancelling();
        std::lock_guard lock(m_shutdown_mutex);
        if (m_done)
            return;
        if (m_core.cancelling())
            discard_queued(); // makes room for submitters waiting in the gate
        m_core.close_gate();
        if (m_core.cancelling())
            discard_queued();
        for (auto& s : m_slots)
            s->queue.close();
        m_core.start_closing();
        for (auto& t : m_threads)
            if (t.joinable())
                t.join();
        m_core.stop_executor();
        m_done = true;
    }

    /// False once `shutdown` has begun. Any thread.
    [[nodiscard]] bool accepting() const noexcept { return m_core.accepting(); }

    /// The number of worker threads.
    [[nodiscard]] std::size_t workers() const noexcept { return m_threads.size(); }

    /// Jobs queued and not yet started (a snapshot; any thread).
    [[nodiscard]] std::size_t queued() const {
        std::size_t n = 0;
        for (const auto& s : m_slots)
            n += s->queue.size();
        return n;
    }

private:
    // One queue on its own cache lines (its lock and ends are written by
    // every submitter and worker that touches it).
    struct alignas(detail::cache_line_size) slot {
        template <class... Args>
        explicit slot(Args&&... args) : queue(std::forward<Args>(args)...) {}
        queue_type queue;
    };

    // The worker's pop: executor work, its own queue, then the others
    // (stealing); sleeps in the pool's `pool_sleep`.
    class take_operation {
    public:
        using result_type = detail::pool_work;
        take_operation(thread_pool& pool, std::size_t index, pool_job& job,
                       detail::post_node*& nodes) noexcept
            : m_pool(&pool), m_index(index), m_job(&job), m_nodes(&nodes) {}
        [[nodiscard]] std::optional<detail::pool_work> try_complete() {
            return m_pool->try_take(m_index, *m_job, *m_nodes);
        }
        [[nodiscard]] detail::pool_sleep::token readiness() const noexcept {
            return m_pool->m_core.wake_token();
        }

    private:
        thread_pool* m_pool;
        std::size_t m_index;
        pool_job* m_job;
        detail::post_node** m_nodes;
    };

    std::optional<detail::pool_work> try_take(std::size_t index, pool_job& job,
                                              detail::post_node*& nodes) {
        // Read first: once closing, a queue found empty stays empty.
        const bool closing = m_core.closing();
        detail::pool_work what{};
        if (m_core.take_posted(what, nodes))
            return what;
        const std::size_t n = m_slots.size();
        const std::size_t first = n == 1 ? 0 : index;
        for (std::size_t k = 0; k < n; ++k) {
            std::size_t i = first + k;
            if (i >= n)
                i -= n;
            if (auto d = m_slots[i]->queue.try_pop()) {
                job = std::move(d->entry.value);
                return detail::pool_work::job;
            }
        }
        if (closing && m_core.may_exit())
            return detail::pool_work::exit;
        return std::nullopt;
    }

    void worker_main(std::size_t index) noexcept {
        detail::current_pool_worker = {&m_core, index};
        pool_job job;
        detail::post_node* nodes = nullptr;
        for (;;) {
            switch (perform(take_operation(*this, index, job, nodes), sync_blocking)) {
            case detail::pool_work::job:
                if (m_core.cancelling())
                    job.reset();
                else
                    job.run();
                break;
            case detail::pool_work::strand:
                while (nodes != nullptr) {
                    detail::post_node* n = std::exchange(nodes, nodes->m_next);
                    n->m_run(n); // may free n
                }
                m_core.release_strand();
                break;
            case detail::pool_work::resume: {
                detail::post_node* n = std::exchange(nodes, nullptr);
                n->m_run(n);
                break;
            }
            case detail::pool_work::exit:
                detail::current_pool_worker = {};
                return;
            }
        }
    }

    // A try_ form that did not queue (the pool full, or an exception: the
    // pool closed): a callable given as a non-const rvalue (`F` deduced as
    // no reference) was moved into the job, and gets back what the job kept
    // of it, `kept`, so that nothing the caller handed over is lost. Moved
    // back by assignment, or, for a type without one (a lambda), by
    // destroying the caller's object and constructing it again in place;
    // the caller's object must then be a whole object of its type (a base
    // class part of a larger object would not be replaced). Not handed back:
    // a callable whose moves may throw, and a polymorphic one without a
    // move assignment (its destructor would destroy more than is rebuilt).
    template <class F>
    static constexpr bool handed_back =
        !std::is_reference_v<F> && !std::is_const_v<F> && !std::is_volatile_v<F> &&
        (std::is_nothrow_move_assignable_v<F> ||
         (std::is_nothrow_move_constructible_v<F> && !std::is_polymorphic_v<F>));

    // `F` as the try_ form's forwarding reference deduced it.
    template <class F>
    static void hand_back(std::remove_reference_t<F>& f, std::decay_t<F>* kept) noexcept {
        if constexpr (handed_back<F>) {
            if (kept == nullptr)
                return;
            if constexpr (std::is_nothrow_move_assignable_v<F>) {
                f = std::move(*kept);
            } else {
                std::destroy_at(std::addressof(f));
                std::construct_at(std::addressof(f), std::move(*kept));
            }
        }
    }

    // push_job without waiting; `f`, the callable the job was made from,
    // gets back what the job holds when it is not queued (see hand_back).
    template <class F>
    bool try_push_job(pool_job& job, std::remove_reference_t<F>& f, std::decay_t<F>* kept) {
        try {
            if (push_job(job, false))
                return true;
        } catch (...) {
            hand_back<F>(f, kept);
            throw;
        }
        hand_back<F>(f, kept);
        return false;
    }

    // Queues `job`: a worker's own queue first, else round robin; waits for
    // room when `wait`. False (job untouched) when full and not waiting.
    bool push_job(pool_job& job, bool wait) {
        if (!m_core.enter())
            throw thread_pool_closed();
        struct leaver {
            detail::pool_core& core;
            ~leaver() { core.leave(); }
        } guard{m_core};
        const std::size_t n = m_slots.size();
        const auto& me = detail::current_pool_worker;
        const bool from_worker = me.pool == &m_core;
        std::size_t first = 0;
        if (n > 1)
            first = from_worker ? me.index : next_round_robin() % n;
        for (;;) {
            for (std::size_t k = 0; k < n; ++k) {
                std::size_t i = first + k;
                if (i >= n)
                    i -= n;
                if (m_slots[i]->queue.try_push(std::move(job))) {
                    m_core.wake_one();
                    return true;
                }
            }
            if (!wait)
                return false;
            // A worker does not sleep for room (if every worker did, nobody
            // would make any): it runs a queued job, then tries again.
            if (!from_worker || !run_one_queued(me.index))
                break;
        }
        m_slots[first]->queue.push(std::move(job)); // sleeps until there is room
        m_core.wake_one();
        return true;
    }

    // Pops one job (own queue first) and runs it here, or destroys it when
    // cancelling. False if every queue looked empty.
    bool run_one_queued(std::size_t index) {
        const std::size_t n = m_slots.size();
        const std::size_t first = n == 1 ? 0 : index;
        for (std::size_t k = 0; k < n; ++k) {
            std::size_t i = first + k;
            if (i >= n)
                i -= n;
            if (auto d = m_slots[i]->queue.try_pop()) {
                if (!m_core.cancelling())
                    d->entry.value.run();
                return true;
            }
        }
        return false;
    }

    static std::size_t next_round_robin() noexcept {
        // Per submitting thread: no shared counter to contend on.
        static thread_local std::size_t next = 0;
        return next++;
    }

    void discard_queued() noexcept {
        for (auto& s : m_slots)
            while (s->queue.try_pop()) {
            }
    }

    detail::pool_core m_core;
    std::vector<std::unique_ptr<slot>> m_slots;
    std::vector<std::thread> m_threads;
    std::mutex m_shutdown_mutex;
    bool m_done = false; // guarded by m_shutdown_mutex
};

static_assert(executor<thread_pool<>>);

} // namespace kettle
