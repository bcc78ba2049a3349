// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::coroutine_scheduler<Policy>`: one thread runs `kettle::task`s
/// under a scheduling policy (DESIGN §2, driver 2). See docs/sched.md.

#include <kettle/loop/event_loop.hpp>
#include <kettle/mode/executor.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/sched/cause.hpp>
#include <kettle/sched/coroutine_ref.hpp>
#include <kettle/sched/detail/coroutine_awaiters.hpp>
#include <kettle/sched/detail/coroutine_context.hpp>
#include <kettle/sched/detail/coroutine_node_table.hpp>
#include <kettle/sched/detail/coroutine_root.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/join_handle.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/single_thread.hpp>
#include <kettle/sched/yield.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace kettle {

/// Settings of `coroutine_scheduler`.
struct coroutine_scheduler_settings {
    /// The real length of one tick, the unit of the policy's quanta and
    /// charges: a `round_robin` quantum of 10 with a 1 ms tick is a 10 ms
    /// slice. Must be positive (and at least one unit of the clock).
    std::chrono::nanoseconds tick = std::chrono::milliseconds(1);
    /// How many clock samples per tick the scheduler aims at while tasks run
    /// and yield. More: slices end closer to their nominal length; fewer:
    /// cheaper yields. Must be positive.
    std::uint32_t samples_per_tick = 4;
    /// The most yields and dispatches between two clock samples, however
    /// fast they come. 1 reads the clock at every one of them (exact; with a
    /// fake clock, deterministic; with the steady clock, some 20 ns more per
    /// yield). Must be positive.
    std::uint32_t max_events_per_sample = 1024;
};

/// One thread runs `kettle::task`s under a scheduling policy (DESIGN §2,
/// driver 2): `Policy` over `kettle::coroutine_ref`, e.g.
/// `kettle::round_robin<kettle::coroutine_ref>`, held directly (what a
/// `single_thread` `run_queue` would add, bounds and closing, is never
/// needed here).
///
/// ```cpp
/// kettle::coroutine_scheduler<kettle::round_robin<kettle::coroutine_ref>> sched(
///     {.tick = 1ms}, kettle::round_robin_settings{.quantum = 10});
/// auto h = sched.spawn(compute());          // join_handle<int>
/// sched.spawn_detached(chatter());
/// sched.run();                              // until every task is finished
/// int v = h.get();
///
/// kettle::task<int> compute() {
///     for (...) { work(); co_await kettle::yield(); }   // a preemption point
///     int x = co_await ch.pop(sched);                    // blocks; woken by a push
///     co_await sched.sleep_for(5ms);                     // a timer on the loop
///     co_return x;
/// }
/// ```
///
/// **Slices.** A dispatch runs the task until it yields, blocks or finishes.
/// `co_await kettle::yield()` ends the slice when the dispatch's quantum of
/// ticks has passed or the policy's `preempts()` says so (the task re-enters
/// with `cause::preempted`); `yield(kettle::always)` always ends it
/// (`cause::yielded`). A task that awaits something else (a channel, an
/// event, a timer, another task) blocks and re-enters with `cause::woken`
/// when that completes. Every slice is charged to the policy before the
/// entry goes back. Between yields a task runs undisturbed: this is
/// cooperative scheduling with preemption points.
///
/// **Time** is sampled, not read on every yield (a steady-clock read costs
/// more than a whole yield): the scheduler reads `Clock` about
/// `samples_per_tick` times per tick, counting yields and slice ends between
/// samples and adapting the count to the rate it measures (at most
/// `max_events_per_sample`). Ticks are a grid from the scheduler's creation,
/// as with a timer interrupt: a dispatch of quantum q ends at the first
/// yield after the q-th tick boundary seen since it began (after q-1 to q
/// ticks, plus the sampling delay), and every tick boundary a sample sees is
/// charged to the slice running at that sample (samples are taken inside
/// slices: at yields and when a slice ends), so that even a task that only
/// ever hands over with `yield(always)` pays for its time. The policy hears
/// the tick count through `advance_to`. `Clock` is a template parameter so
/// that tests can drive time by hand.
///
/// **Executor.** The scheduler models `kettle::executor`: `co_await
/// ch.pop(sched)`, `co_await perform(op, sched)`, `co_await ev.wait(sched)`
/// work inside tasks. A completion started by a task is run as part of that
/// task: when its source changes (on any thread), the task is woken and the
/// completion — which resumes the coroutine — runs in the task's next slice.
/// Completions not started by a task (a callback or future from outside) run
/// on the scheduler's thread between slices. Await operations with the
/// scheduler as the executor; a task resumed by another executor (say, with
/// `perform(op, loop)`) would run outside the scheduler's view, which is
/// undefined.
///
/// **The loop.** Timers (`sleep_for`), descriptors tasks wait on
/// (`wait_io`) and idle waiting go through an `event_loop<>`, the caller's
/// or one the scheduler owns. When no task is ready, `run` sleeps in the
/// loop (until its next timer, a post from another thread, or a descriptor
/// it watches) instead of spinning. While tasks keep the CPU busy, the
/// scheduler polls the loop at a clock sample when a sleep is due (it keeps
/// the deadlines), and, for a caller's loop or while tasks wait on
/// descriptors, once per tick (a caller's callbacks then run on the
/// scheduler's thread, as callbacks of that loop). A caller's loop must be
/// run (if at all) on the scheduler's thread, and must outlive the scheduler.
///
/// **Threads.** `post`, `stop` and `stopped` are thread-safe. Everything
/// else — spawning, running, `sleep_for`, `track`/`untrack`, join handles —
/// belongs to the scheduler's thread: the one running it, or any one thread
/// while it is not running. Tasks run on that thread only.
///
/// **Exceptions.** A task's exception goes to whoever joins it (`get`,
/// `co_await handle`). A detached task's exception (spawned with
/// `spawn_detached`, or whose handle is gone) is rethrown by `run`/`run_for`/
/// `run_once` right after its slice; the scheduler stays consistent, and a
/// later `run` goes on with the other tasks. Exceptions from the loop's
/// callbacks propagate the same way. Allocation failure inside `post` (which
/// is `noexcept`) terminates.
///
/// **Destruction** (on the scheduler's thread, not while running, with no
/// other thread still posting): every unfinished task's coroutine frames are
/// destroyed (their operations cancelled, as the executor contract says:
/// tracked operations are abandoned, posted nodes discarded), join handles
/// turn `cancelled()`. A detached task's pending exception is dropped.
template <class Policy, class Clock>
class coroutine_scheduler final : private detail::coroutine_scheduler_base {
    static_assert(scheduling_policy<Policy>,
                  "coroutine_scheduler needs a scheduling policy (see kettle::scheduling_policy)");
    static_assert(std::same_as<typename Policy::value_type, coroutine_ref>,
                  "coroutine_scheduler schedules kettle::coroutine_ref: instantiate the policy "
                  "with it, e.g. coroutine_scheduler<kettle::round_robin<kettle::coroutine_ref>>");
    static_assert(std::is_nothrow_move_constructible_v<typename Policy::entry_type>,
                  "coroutine_scheduler needs nothrow-movable policy entries: a task's entry moves "
                  "between the policy and the scheduler at every switch");
    static_assert(std::is_integral_v<typename Clock::rep>,
                  "coroutine_scheduler needs a clock with an integral representation");

    using base = detail::coroutine_scheduler_base;
    using control = detail::coroutine_control;
    friend class detail::coroutine_sleep_awaiter<coroutine_scheduler>;
    friend class detail::coroutine_io_awaiter<coroutine_scheduler>;

public:
    using policy_type = Policy;
    using entry_type = typename Policy::entry_type;
    using dispatch_type = dispatch<entry_type>;
    using clock = Clock;
    using loop_type = event_loop<>;

private:
    using promise_type = detail::coroutine_promise<entry_type>;
    // The policy keeps no state in its entries: the entry is the task.
    static constexpr bool entry_is_task = std::is_same_v<entry_type, sched_entry<coroutine_ref>>;

public:
    /// Owns its loop; the policy is default-constructed. Throws what
    /// creating the loop throws (`std::system_error`).
    coroutine_scheduler() : coroutine_scheduler(coroutine_scheduler_settings{}) {}

    /// Owns its loop; `policy_args` construct the policy (e.g.
    /// `kettle::round_robin_settings{.quantum = 10}`). Throws
    /// std::invalid_argument for invalid settings.
    template <class... PolicyArgs>
        requires std::constructible_from<Policy, PolicyArgs...>
    explicit coroutine_scheduler(coroutine_scheduler_settings s, PolicyArgs&&... policy_args)
        : m_queue(std::forward<PolicyArgs>(policy_args)...) {
        m_owned_loop.emplace();
        init(*m_owned_loop, s);
    }

    /// Uses `loop` for timers and idle waiting; it must outlive the scheduler.
    template <class... PolicyArgs>
        requires std::constructible_from<Policy, PolicyArgs...>
    explicit coroutine_scheduler(loop_type& loop, coroutine_scheduler_settings s = {},
                                 PolicyArgs&&... policy_args)
        : m_queue(std::forward<PolicyArgs>(policy_args)...), m_external_loop(true) {
        init(loop, s);
    }

    coroutine_scheduler(const coroutine_scheduler&) = delete;
    coroutine_scheduler& operator=(const coroutine_scheduler&) = delete;

    /// See "Destruction" above.
    ~coroutine_scheduler() {
        while (m_tasks != nullptr)
            retire(*m_tasks);
        while (m_tracked != nullptr) {
            detail::tracked_node* t = m_tracked;
            unlink_tracked(*t);
            if (t->m_abandon != nullptr)
                t->m_abandon(t);
        }
        for (;;) { // a discard may post again
            detail::coroutine_node_fifo all;
            all.splice(m_unattributed.take_all());
            all.splice(m_remote.take_all());
            if (all.empty())
                break;
            while (detail::post_node* n = all.pop())
                if (n->m_discard != nullptr)
                    n->m_discard(n);
        }
        if (m_wake_posted.load(std::memory_order_seq_cst))
            m_wake->m_owner = nullptr; // the loop holds it: it frees it when it runs or discards it
        else
            delete m_wake;
    }

    // ---- spawning ------------------------------------------------------------

    /// Queues `t` as a new task (`cause::created`) and returns its handle.
    /// Scheduler's thread; never runs `t` inside this call. Allocates the
    /// root frame (pooled) and the join state. Throws std::bad_alloc, or
    /// what the run queue's push throws.
    template <class T>
    join_handle<T> spawn(task<T> t, spawn_options o = {}) {
        auto js = std::make_unique<detail::coroutine_join_state<T>>(static_cast<base&>(*this));
        start(detail::coroutine_body<entry_type, T>(m_pool, std::move(t), js.get()), o, js.get());
        return join_handle<T>(js.release());
    }

    /// Queues `t` as a new task with no handle: the cheapest spawn (one
    /// pooled frame). An exception it ends with is rethrown by `run`.
    template <class T>
    void spawn_detached(task<T> t, spawn_options o = {}) {
        start(detail::coroutine_body<entry_type, T>(m_pool, std::move(t), nullptr), o, nullptr);
    }

    // ---- running ---------------------------------------------------------------

    /// Runs slices until every task has finished, or the remaining ones are
    /// blocked on nothing that could wake them (no tracked operation, no
    /// sleep, no posted work), or `stop()` is called. Sleeps in the loop
    /// while no task is ready. Returns the number of slices run. Throws
    /// std::logic_error when called from inside one of its own tasks.
    std::size_t run() { return run_until<run_mode::all>(steady_time::max()); }

    /// As `run`, returning after about `d` at the latest (checked between
    /// slices: a slice that does not end is not cut short).
    template <class Rep, class Period>
    std::size_t run_for(std::chrono::duration<Rep, Period> d) {
        return run_until<run_mode::until>(deadline_after(d));
    }

    /// Never blocks: takes in posted work, polls the loop if a sleep is due
    /// (or, for a caller's loop, once per tick), runs at most one slice.
    /// Returns the number of slices run (0 or 1).
    std::size_t run_once() { return run_until<run_mode::once>(steady_time::max()); }

    /// Asks `run`/`run_for` to return after the current slice; the return
    /// consumes the request. Any thread.
    void stop() noexcept {
        m_stop.store(true, std::memory_order_seq_cst);
        m_attention.store(true, std::memory_order_seq_cst);
        wake();
    }
    /// True from `stop()` until a run returns because of it. Any thread.
    [[nodiscard]] bool stopped() const noexcept { return m_stop.load(std::memory_order_acquire); }

    // ---- timers ----------------------------------------------------------------

    /// The awaiter of `sleep_for`/`sleep_until`.
    using sleep_awaiter = detail::coroutine_sleep_awaiter<coroutine_scheduler>;

    /// `co_await sched.sleep_for(d)`: the task blocks for `d` (a timer on the
    /// loop) and re-enters with `cause::woken`. Inside a task of this
    /// scheduler, on its thread. A zero or negative `d` does not suspend.
    template <class Rep, class Period>
    sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
        return sleep_awaiter(*this, deadline_after(d));
    }
    /// As `sleep_for`, until `deadline` (steady clock).
    sleep_awaiter sleep_until(steady_time deadline) noexcept { return sleep_awaiter(*this, deadline); }

    // ---- waiting for a descriptor ------------------------------------------------

    /// The awaiter of `wait_io`.
    using io_awaiter = detail::coroutine_io_awaiter<coroutine_scheduler>;

    /// `co_await sched.wait_io(fd, kettle::interest::readable)`: the task
    /// blocks until the descriptor (a socket on Windows) is ready for `i`,
    /// watched by the scheduler's loop, and re-enters with `cause::woken`;
    /// the result says what it is ready for. Inside a task of this
    /// scheduler, on its thread; one waiting task per descriptor. While tasks
    /// keep the CPU busy, the loop is polled once per tick; when none is
    /// ready, the scheduler sleeps in it. Destroying the waiting task stops
    /// the watch. The descriptor stays the caller's: do not close it while a
    /// task waits on it.
    io_awaiter wait_io(native_handle h, interest i) noexcept { return io_awaiter(*this, h, i); }

    // ---- executor ----------------------------------------------------------------

    /// Queues `n`; the scheduler later runs `n.m_run(&n)` on its thread —
    /// as part of the task that started the operation, if one did — or
    /// `n.m_discard(&n)` when destroyed first. Any thread; never blocks,
    /// never allocates (from another thread); wakes the scheduler.
    void post(detail::post_node& n) noexcept {
        if (base::current() == this || runs_here()) {
            post_here(n);
        } else if (m_remote.push(&n)) {
            m_attention.store(true, std::memory_order_seq_cst); // see m_attention
            wake();
        }
    }

    /// Registers an operation that must hear of the scheduler's end; it keeps
    /// `run` going. Scheduler's thread.
    void track(detail::tracked_node& t) noexcept {
        t.m_prev = nullptr;
        t.m_next = m_tracked;
        if (m_tracked != nullptr)
            m_tracked->m_prev = &t;
        m_tracked = &t;
        ++m_tracked_count;
        if (m_running_node != nullptr) {
            // The first track while a task's node runs is that record's own.
            if (m_running_owner != nullptr) {
                m_table.insert(m_running_node, {m_running_owner, &t});
                m_table.insert(&t, {m_running_owner, m_running_node});
                ++m_running_owner->m_tracked;
            }
            m_running_node = nullptr;
        }
    }

    /// Unregisters a tracked operation. Scheduler's thread.
    void untrack(detail::tracked_node& t) noexcept {
        unlink_tracked(t);
        if (const auto* v = m_table.find(&t)) {
            const auto entry = *v;
            m_table.erase(&t);
            m_table.erase(entry.partner);
            --entry.task->m_tracked;
        }
    }

    /// True while this thread is inside one of this scheduler's runs. Any thread.
    [[nodiscard]] bool running_in_this_thread() const noexcept { return runs_here(); }

    // ---- observers -------------------------------------------------------------

    /// Tasks spawned and not yet finished or cancelled.
    [[nodiscard]] std::size_t tasks() const noexcept { return m_live; }
    /// Tasks in the run queue.
    [[nodiscard]] std::size_t ready() const { return m_queue.size(); }
    /// The policy that holds the ready tasks, to inspect (an MLFQ's
    /// `level_of`, say). Scheduler's thread.
    [[nodiscard]] const Policy& policy() const noexcept { return m_queue; }
    /// The tick count as last sampled (ticks since the scheduler was created).
    [[nodiscard]] tick_count now_ticks() const noexcept { return m_tick_now; }
    [[nodiscard]] loop_type& loop() noexcept { return *m_loop; }
    [[nodiscard]] const coroutine_scheduler_settings& settings() const noexcept { return m_settings; }

private:
    /// Posted to the loop to wake the scheduler from another thread; at most
    /// once at a time (`m_wake_posted`). Heap-allocated so that a caller's
    /// loop may outlive the scheduler while holding it.
    struct wake_node : detail::post_node {
        explicit wake_node(coroutine_scheduler* owner) noexcept : m_owner(owner) {
            m_run = &run;
            m_discard = &discard;
        }
        static void run(detail::post_node* n) noexcept {
            auto& w = static_cast<wake_node&>(*n);
            if (w.m_owner == nullptr)
                delete &w;
            else
                w.m_owner->on_wake();
        }
        static void discard(detail::post_node* n) noexcept {
            auto& w = static_cast<wake_node&>(*n);
            if (w.m_owner == nullptr)
                delete &w;
            else
                w.m_owner->m_wake_posted.store(false, std::memory_order_seq_cst);
        }
        coroutine_scheduler* m_owner;
    };

    static promise_type& promise_of(control& c) noexcept { return static_cast<promise_type&>(c); }

    void init(loop_type& loop, coroutine_scheduler_settings s) {
        if (s.tick <= std::chrono::nanoseconds::zero())
            throw std::invalid_argument("kettle::coroutine_scheduler: the tick must be positive");
        if (s.samples_per_tick == 0 || s.max_events_per_sample == 0)
            throw std::invalid_argument(
                "kettle::coroutine_scheduler: samples_per_tick and max_events_per_sample must be positive");
        m_tick = std::chrono::duration_cast<typename Clock::duration>(s.tick);
        if (m_tick <= Clock::duration::zero())
            throw std::invalid_argument("kettle::coroutine_scheduler: the tick is shorter than the clock's unit");
        m_sample_interval = std::max(m_tick / s.samples_per_tick, typename Clock::duration(1));
        m_max_batch = s.max_events_per_sample;
        m_settings = s;
        m_loop = &loop;
        m_epoch = m_last_sample = Clock::now();
        m_wake = new wake_node(this);
    }

    // ---- tasks -------------------------------------------------------------------

    template <class Root>
    void start(Root root, const spawn_options& o, detail::coroutine_join_base* join) {
        promise_type& p = root.release().promise();
        p.m_length = o.length;
        p.m_priority = o.priority;
        p.m_weight = o.weight;
        p.m_pending.push(&p.m_start);
        try {
            enqueue(entry_type(coroutine_ref(p)), cause::created);
        } catch (...) {
            p.m_start.m_handle.destroy();
            throw;
        }
        p.m_join = join;
        if (join != nullptr)
            join->m_task = &p;
        p.m_next = m_tasks;
        if (m_tasks != nullptr)
            m_tasks->m_prev = &p;
        m_tasks = &p;
        ++m_live;
        m_changed = true;
    }

    void cancel_task(control& x) noexcept override {
        switch (x.m_state) {
        case control::state::blocked:
            promise_of(x).m_parked.reset();
            retire(x);
            break;
        case control::state::ready:
            x.m_over |= control::over_cancel; // retired when popped, or when its slice ends
            break;
        case control::state::finished:
            break;
        }
    }

    /// Destroys a task that is in no queue: finished, cancelled, or blocked
    /// and being cancelled. Its frame goes; its join state learns the outcome.
    [[gnu::noinline]] void retire(control& x) noexcept {
        (x.m_prev ? x.m_prev->m_next : m_tasks) = x.m_next;
        if (x.m_next != nullptr)
            x.m_next->m_prev = x.m_prev;
        --m_live;
        if (x.m_tracked != 0) {
            m_table.erase_task(&x); // its operations, if they complete, run outside any task
            x.m_tracked = 0;
        }
        for (detail::post_node* n = x.m_pending.take_all(); n != nullptr;) {
            detail::post_node* next = n->m_next;
            if (!detail::coroutine_resume_node::is(*n)) // resume nodes die with the frame
                defer(n);
            n = next;
        }
        x.m_state = control::state::finished;
        const bool finished = (x.m_over & control::over_done) != 0;
        std::exception_ptr error = std::move(x.m_error);
        detail::coroutine_join_base* join = x.m_join;
        // Whatever the frame's destruction posts belongs to no task.
        control* running = std::exchange(m_current, nullptr);
        x.m_start.m_handle.destroy();
        m_current = running;
        if (join == nullptr) {
            if (error)
                keep_error(std::move(error));
            return;
        }
        join->m_task = nullptr;
        if (!finished) {
            join->m_status = detail::coroutine_join_base::status::cancelled;
        } else if (error) {
            join->m_status = detail::coroutine_join_base::status::error;
            join->m_error = std::move(error);
            if (join->m_detached)
                keep_error(join->m_error); // nobody else will see it
        } else {
            join->m_status = detail::coroutine_join_base::status::value;
        }
        while (detail::coroutine_join_base::waiter* w = join->pop_waiter())
            deliver_to(w->m_task, w);
        join->release();
    }

    // ---- posted work -------------------------------------------------------------

    /// A node for `owner` (or for no task): runs in its next slice.
    void deliver_to(control* owner, detail::post_node* n) noexcept {
        if (owner == nullptr) {
            defer(n);
            return;
        }
        owner->m_pending.push(n);
        if (owner->m_state == control::state::blocked) {
            promise_type& p = promise_of(*owner);
            owner->m_state = control::state::ready;
            try {
                enqueue(std::move(*p.m_parked), cause::woken);
            } catch (...) {
                fail_task(*owner, std::current_exception());
                return;
            }
            p.m_parked.reset();
            m_changed = true;
        }
    }

    // A post on the scheduler's thread, while it runs: a completion of a
    // tracked record goes to its task; anything else to the running task.
    void post_here(detail::post_node& n) noexcept {
        if (const auto* v = m_table.find(&n))
            deliver_to(v->task, &n);
        else
            deliver_to(m_current, &n);
    }

    [[gnu::noinline]] void drain_remote() noexcept {
        for (detail::post_node* n = m_remote.take_all(); n != nullptr;) {
            detail::post_node* next = n->m_next;
            const auto* v = m_table.find(n);
            deliver_to(v != nullptr ? v->task : nullptr, n);
            n = next;
        }
    }

    // Work for between slices: a node that belongs to no task, an error for
    // the run to rethrow (the first one wins). Both raise m_attention.
    void defer(detail::post_node* n) noexcept {
        m_unattributed.push(n);
        m_attention.store(true, std::memory_order_relaxed);
    }
    void keep_error(std::exception_ptr e) noexcept {
        if (!m_error) {
            m_error = std::move(e);
            m_attention.store(true, std::memory_order_relaxed);
        }
    }

    [[gnu::noinline]] void run_unattributed() {
        for (detail::post_node* n = m_unattributed.take_all(); n != nullptr;) {
            detail::post_node* next = n->m_next;
            run_node(nullptr, n);
            n = next;
        }
    }

    [[gnu::always_inline]] void run_node(control* owner, detail::post_node* n) {
        if (detail::coroutine_resume_node::is(*n)) {
            static_cast<detail::coroutine_resume_node&>(*n).m_handle.resume();
            return;
        }
        m_running_node = n;
        m_running_owner = owner;
        n->m_run(n);
        m_running_node = nullptr;
        m_running_owner = nullptr;
    }

    void unlink_tracked(detail::tracked_node& t) noexcept {
        if (t.m_prev != nullptr)
            t.m_prev->m_next = t.m_next;
        else if (m_tracked == &t)
            m_tracked = t.m_next;
        if (t.m_next != nullptr)
            t.m_next->m_prev = t.m_prev;
        t.m_prev = t.m_next = nullptr;
        --m_tracked_count;
    }

    // ---- waking ------------------------------------------------------------------

    // Any thread, after publishing what the scheduler must see. The wake node
    // is posted to the loop at most once at a time: seq_cst on m_wake_posted
    // and on the remote stack, so that a poster who finds the node already
    // posted is sure its push is seen by the drain that follows on_wake's
    // reset of the flag.
    void wake() noexcept {
        if (!m_wake_posted.exchange(true, std::memory_order_seq_cst))
            m_loop->post(*m_wake);
    }

    void on_wake() noexcept {
        m_wake_posted.store(false, std::memory_order_seq_cst);
        drain_remote();
    }

    // ---- slices ------------------------------------------------------------------

    [[gnu::always_inline]] void enqueue(entry_type&& e, cause c) { m_queue.push(std::move(e), c); }

    enum class run_mode { all, until, once };

    // The dispatch loop. Under `run`, a slice that ends with a yield starts
    // the next one itself (run_slices) while nothing else needs doing between
    // slices; the loop's top is for the first dispatch, the slow paths and
    // idling.
    template <run_mode Mode>
    [[gnu::flatten]] std::size_t run_until(steady_time deadline) {
        if (m_running)
            throw std::logic_error("kettle::coroutine_scheduler: run from inside its own run");
        run_scope scope(*this);
        std::size_t slices = 0; // a local: a counter in memory costs its switch a store-to-load wait
        for (;;) {
            if constexpr (Mode == run_mode::once)
                housekeeping(false);
            if (needs_attention()) [[unlikely]] {
                if (!attend())
                    break;
            }
            if (take_next()) {
                run_slices<Mode == run_mode::all>(slices);
                if constexpr (Mode == run_mode::once) {
                    break;
                } else if constexpr (Mode == run_mode::until) {
                    if (std::chrono::steady_clock::now() >= deadline)
                        break;
                }
                continue;
            }
            if (needs_attention())
                continue;
            if (Mode == run_mode::once || !has_work())
                break;
            if (!idle(deadline))
                break;
        }
        // A run never returns normally with an error kept for it: a deadline
        // or an idle wake can end the loop before attend() would see it.
        if (m_error) [[unlikely]]
            rethrow_error();
        return slices;
    }

    // Something to do between slices (see m_attention).
    [[nodiscard]] bool needs_attention() const noexcept { return m_attention.load(std::memory_order_relaxed); }

    // Between slices, when needs_attention says so: rethrows a kept error;
    // false when stop() asks the run to return; else takes in posts from
    // other threads and runs the work that belongs to no task.
    [[gnu::noinline]] bool attend() {
        if (m_error)
            rethrow_error();
        // Lowered before looking, so that a post or stop() that comes later
        // raises it again. The looks are seq_cst too (a load of m_stop, the
        // remote stack's take): after a lowering that follows a raise, they
        // see what that raise published, on every CPU.
        m_attention.store(false, std::memory_order_seq_cst);
        if (m_stop.load(std::memory_order_seq_cst) && m_stop.exchange(false, std::memory_order_acq_rel)) {
            m_attention.store(true, std::memory_order_relaxed); // the rest is for the next run
            return false;
        }
        drain_remote();
        if (!m_unattributed.empty())
            run_unattributed();
        if (m_error || !m_unattributed.empty())
            m_attention.store(true, std::memory_order_relaxed);
        return true;
    }

    // m_attention stays raised: whatever else is pending is seen next time.
    [[noreturn]] void rethrow_error() { std::rethrow_exception(std::exchange(m_error, nullptr)); }

    [[nodiscard]] bool has_work() const noexcept {
        return m_tracked_count != 0 || m_sleeping != 0 || m_io_waiting != 0 ||
               !m_unattributed.empty() || !m_remote.empty();
    }

    // Sleeps in the loop until something happens; false once the deadline passed.
    [[gnu::noinline]] bool idle(steady_time deadline) {
        auto timeout = std::chrono::milliseconds(INT_MAX);
        if (deadline != steady_time::max()) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline)
                return false;
            timeout = std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
        }
        m_loop->run_once(timeout);
        sample(); // the time spent idle is nobody's: take it before the next slice
        return true;
    }

    // The running task's entry: the task itself (m_current) when the
    // policy keeps no state, else a slot holding the whole dispatch, from
    // the pop that takes it to the slice's end, which the policy's
    // try_push_pop replaces in place with the next one. take_next pops the
    // next dispatch and begins its slice; false when nothing is ready.
    //
    // (No dispatch is copied whole between memory locations on the way: a
    // compiler copies one in pieces of other sizes than it was written in,
    // which costs a store-forwarding stall at every switch.)
    [[gnu::always_inline]] bool take_next() {
        auto d = m_queue.pop();
        if (!d)
            return false;
        if constexpr (entry_is_task) {
            m_quantum = d->quantum.value_or(0);
            begin_slice(d->entry.value.control());
        } else {
            std::construct_at(&m_dispatched.d, std::move(*d));
            begin_slice(dispatched().entry.value.control());
        }
        return true;
    }
    [[gnu::always_inline]] dispatch_type& dispatched() noexcept
        requires(!entry_is_task)
    {
        return m_dispatched.d;
    }
    // The entry of the task `x` whose slice runs or is ending.
    [[gnu::always_inline]] decltype(auto) running_entry(control& x) noexcept {
        if constexpr (entry_is_task)
            return entry_type(coroutine_ref(x));
        else
            return (dispatched().entry);
    }
    [[gnu::always_inline]] void drop_entry() noexcept {
        if constexpr (!entry_is_task)
            std::destroy_at(&m_dispatched.d);
    }
    // Charges the running slice to the policy.
    [[gnu::always_inline]] void charge(control& x) noexcept(noexcept(std::declval<Policy&>().charge(
        std::declval<entry_type&>(), tick_count{}))) {
        if constexpr (entry_is_task) {
            entry_type e{coroutine_ref(x)};
            m_queue.charge(e, m_tick_now - m_slice_start);
        } else {
            m_queue.charge(dispatched().entry, m_tick_now - m_slice_start);
        }
    }
    // The running task handed over to the next one through the policy's
    // try_push_pop, which then begins; false if the policy declined.
    [[gnu::always_inline]] bool hand_over(control& x, cause c) noexcept {
        if constexpr (entry_is_task) {
            dispatch_type d{entry_type(coroutine_ref(x)), std::nullopt};
            if (!try_push_pop(m_queue, d, c))
                return false;
            m_quantum = d.quantum.value_or(0);
            begin_slice(d.entry.value.control());
        } else {
            if (!try_push_pop(m_queue, dispatched(), c))
                return false;
            begin_slice(dispatched().entry.value.control());
        }
        return true;
    }

    // The quantum of the slice: 0 for none. (A dispatch held in m_dispatched
    // keeps its own; copying it to a member would cost a load and a store.)
    [[nodiscard]] tick_count slice_quantum() const noexcept {
        if constexpr (entry_is_task)
            return m_quantum;
        else
            return m_dispatched.d.quantum.value_or(0);
    }

    [[gnu::always_inline]] void begin_slice(control& x) noexcept {
        m_slice_start = m_tick_now;
        m_changed = false;
        m_current = &x;
    }

    // Runs the slice begun, and with `Chain` the ones that follow it, until
    // a slice ends in a way that needs the loop's top. A slice runs the
    // task's pending nodes until it yields (m_resume set again, or a bit of
    // m_over), finishes or has nothing left to run (it is blocked).
    //
    // The common slice, one resumption that ends in a plain yield while no
    // clock sample is due and nothing waits between slices, is laid out as
    // a straight line that hands the task over with the policy's
    // try_push_pop and begins the next slice here. (Every branch on this
    // path costs twice: in itself, and in the CPU's prediction of the next
    // resumption, which it makes from the branches just taken. A taken
    // branch also ends the CPU's fetch block: two fewer of them per switch
    // took a FIFO round trip from 7.7 to 7.0 ns.)
    template <bool Chain>
    [[gnu::always_inline]] void run_slices(std::size_t& slices) {
        for (;;) {
            control& x = *m_current;
            std::uint8_t over = x.m_over;
            if ((over == 0) & (x.m_resume != nullptr)) [[likely]] {
                ++slices;
                std::exchange(x.m_resume, nullptr).resume();
                over = x.m_over;
                if constexpr (Chain) {
                    // (`&`, not `&&`: one branch.)
                    const bool quiet = !needs_attention();
                    if ((over == 0) & (x.m_resume != nullptr) & quiet) [[likely]] {
                        if (--m_countdown == 0) [[unlikely]] {
                            ++m_countdown; // end_slice counts the slice and samples
                            end_slice(x, over);
                            return;
                        }
                        if (!charge_or_fail(x))
                            return;
                        // This push is no change a later yield must look
                        // at: the next dispatch starts unchanged.
                        if (hand_over(x, cause::yielded))
                            continue;
                        requeue(x, over); // the policy declined the fused step
                        return;
                    }
                }
                if ((over == 0) & (x.m_resume == nullptr)) [[unlikely]]
                    over = run_rest_of_slice(x);
            } else if (over == 0) { // else cancelled while queued: it only retires
                ++slices;
                over = run_rest_of_slice(x);
            }
            end_slice(x, over);
            return;
        }
    }

    // The slice of `x` goes on, with nothing in m_resume: its pending nodes
    // run until it yields, finishes or blocks; its m_over then.
    [[gnu::always_inline]] std::uint8_t run_rest_of_slice(control& x) {
        std::uint8_t over = 0;
        while (detail::post_node* n = x.m_pending.pop()) {
            run_node(&x, n);
            over = x.m_over;
            if ((over != 0) | (x.m_resume != nullptr))
                break;
        }
        return over;
    }

    // Ends the running slice: counts it towards the next clock sample,
    // charges it, and gives the task back to the policy (or parks or
    // retires it).
    void end_slice(control& x, std::uint8_t over) {
        // A sample here, as at a yield, is taken inside the slice: every
        // tick boundary the scheduler sees is charged to the slice that was
        // running, as a timer interrupt would charge it. What the loop runs
        // meanwhile belongs to no task.
        if (--m_countdown == 0) {
            m_current = nullptr;
            sample();
            m_current = &x;
            over = x.m_over; // the loop's callbacks may have cancelled it
        }
        if (charge_or_fail(x))
            requeue(x, over);
    }

    // The charged slice of `x` is over, for the reasons in `over`: the task
    // goes back to the policy, is parked or retires; no task runs then.
    void requeue(control& x, std::uint8_t over) {
        // From here on no task runs, even if the policy throws.
        m_current = nullptr;
        try {
            if ((over & (control::over_done | control::over_cancel)) != 0) {
                retire(x);
            } else if ((over != 0) | (x.m_resume != nullptr)) { // it yielded
                const cause c = (over & control::over_preempt) != 0 ? cause::preempted : cause::yielded;
                x.m_over = 0;
                enqueue(std::move(running_entry(x)), c);
            } else if (!x.m_pending.empty()) {
                // Woken while its slice ended (by the sample above).
                enqueue(std::move(running_entry(x)), cause::woken);
            } else {
                x.m_state = control::state::blocked;
                promise_of(x).m_parked.emplace(std::move(running_entry(x)));
            }
        } catch (...) {
            fail_task(x, std::current_exception());
        }
        drop_entry();
    }

    // Charges the slice of `x`; false, with `x` failed (see fail_task) and
    // no task running, if the policy's charge threw.
    [[gnu::always_inline]] bool charge_or_fail(control& x) noexcept {
        if constexpr (noexcept(charge(x))) {
            charge(x);
        } else {
            try {
                charge(x);
            } catch (...) {
                m_current = nullptr;
                fail_task(x, std::current_exception());
                drop_entry();
                return false;
            }
        }
        return true;
    }

    // A task the policy could not take (its push or charge threw, e.g.
    // std::bad_alloc): it ends with that exception as its error, as if its
    // body had thrown it, so that it is neither lost nor left half-queued.
    // (One that had finished or was cancelled keeps that outcome; the
    // exception then goes to the run.) The task is in no queue.
    [[gnu::noinline]] void fail_task(control& x, std::exception_ptr e) noexcept {
        if ((x.m_over & (control::over_done | control::over_cancel)) == 0) {
            x.m_error = std::move(e);
            x.m_over |= control::over_done;
        } else {
            keep_error(std::move(e));
        }
        promise_of(x).m_parked.reset();
        retire(x);
    }

    bool should_switch() noexcept override {
        if (m_countdown == 0) {
            control* x = std::exchange(m_current, nullptr);
            sample();
            m_current = x;
        }
        if (const tick_count q = slice_quantum(); q != 0 && m_tick_now - m_slice_start >= q)
            return true;
        if (m_changed) {
            m_changed = false;
            return m_queue.preempts(running_entry(*m_current));
        }
        return false;
    }

    // Reads the clock, adapts the number of events to the next sample, tells
    // the policy the tick, and takes in posts and the loop's events.
    [[gnu::noinline]] void sample() noexcept {
        const auto now = Clock::now();
        // The events that fit in one sample interval at the rate just seen:
        // fewer at once, more by at most twice as many per sample, so that
        // two samples close together (a dispatch, then a yield) cannot make
        // the scheduler blind for long.
        const std::int64_t limit = std::min<std::int64_t>(m_max_batch, 2 * static_cast<std::int64_t>(m_batch));
        std::int64_t next = limit;
        if (const auto dt = (now - m_last_sample).count(); dt > 0)
            next = std::clamp<std::int64_t>(m_sample_interval.count() * m_batch / dt, 1, limit);
        m_batch = m_countdown = static_cast<std::uint32_t>(next);
        m_last_sample = now;
        const tick_count t = static_cast<tick_count>((now - m_epoch) / m_tick);
        if (t > m_tick_now) {
            m_tick_now = t;
            if constexpr (noexcept(m_queue.advance_to(t))) {
                m_queue.advance_to(t);
            } else {
                try {
                    m_queue.advance_to(t);
                } catch (...) { // e.g. no memory for a boost: the run rethrows it
                    keep_error(std::current_exception());
                }
            }
            m_changed = true;
        }
        housekeeping(true);
    }

    // Posts from other threads; the loop, when a sleep is due (or, for a
    // caller's loop or descriptors that tasks wait on, once per tick).
    [[gnu::noinline]] void housekeeping(bool sampled) noexcept {
        if (!m_remote.empty())
            drain_remote();
        if (!m_wake_heap.empty()) {
            const steady_time now = steady_now(sampled);
            if (now >= m_wake_heap.front()) {
                while (!m_wake_heap.empty() && m_wake_heap.front() <= now) {
                    std::pop_heap(m_wake_heap.begin(), m_wake_heap.end(), std::greater<>());
                    m_wake_heap.pop_back();
                }
                m_polled_tick = m_tick_now;
                poll_loop();
                return;
            }
        }
        if ((m_external_loop || m_io_waiting != 0) && m_polled_tick != m_tick_now) {
            m_polled_tick = m_tick_now;
            poll_loop();
        }
    }

    // The steady clock's time: the sample just taken, if it is that clock.
    steady_time steady_now(bool sampled) const noexcept {
        if constexpr (std::is_same_v<typename Clock::time_point, steady_time>) {
            if (sampled)
                return m_last_sample;
        }
        return std::chrono::steady_clock::now();
    }

    // Armed sleeps: a list, and a heap of deadlines (soonest first) that says
    // when the loop must be polled while tasks keep the CPU busy. Deadlines
    // of cancelled sleeps stay in the heap until due (a spare poll), unless
    // they pile up: then the heap is rebuilt from the list.
    void link_sleeper(sleep_awaiter& s) {
        if (m_wake_heap.size() > 2 * m_sleeping + 64) {
            m_wake_heap.clear();
            for (sleep_awaiter* p = m_sleepers; p != nullptr; p = p->m_next)
                m_wake_heap.push_back(p->m_deadline);
            std::make_heap(m_wake_heap.begin(), m_wake_heap.end(), std::greater<>());
        }
        m_wake_heap.push_back(s.m_deadline);
        std::push_heap(m_wake_heap.begin(), m_wake_heap.end(), std::greater<>());
        s.m_prev = nullptr;
        s.m_next = m_sleepers;
        if (m_sleepers != nullptr)
            m_sleepers->m_prev = &s;
        m_sleepers = &s;
        s.m_armed = true;
        ++m_sleeping;
    }

    void unlink_sleeper(sleep_awaiter& s) noexcept {
        (s.m_prev ? s.m_prev->m_next : m_sleepers) = s.m_next;
        if (s.m_next != nullptr)
            s.m_next->m_prev = s.m_prev;
        s.m_armed = false;
        --m_sleeping;
    }

    void poll_loop() noexcept {
        try {
            std::error_code ec; // a loop already running on this thread is not polled
            m_loop->run_once(std::chrono::milliseconds(0), ec);
        } catch (...) {
            keep_error(std::current_exception());
        }
    }

    // ---- members -------------------------------------------------------------------

    // The policy itself: the scheduler never closes or bounds its queue and
    // is single-threaded, so `run_queue`'s checks would be dead weight on
    // every switch.
    Policy m_queue;
    // The running task's dispatch, constructed from dispatch to the
    // slice's end, when its entry is more than the task (see take_next).
    union running_slot {
        running_slot() noexcept {}
        ~running_slot() {}
        dispatch_type d;
    };
    struct no_slot {};
    [[no_unique_address]] std::conditional_t<entry_is_task, no_slot, running_slot> m_dispatched;
    tick_count m_quantum = 0;          // of the running dispatch when its entry is the task; 0: none
    tick_count m_tick_now = 0;         // as last sampled
    typename Clock::time_point m_epoch{};
    // Apart from m_quantum, so that the two stores of every dispatch stay
    // two (GCC's vectoriser otherwise pairs them through loads that overlap
    // the previous dispatch's store, which costs a store-forwarding stall).
    tick_count m_slice_start = 0;      // tick of the running dispatch's start

    typename Clock::time_point m_last_sample{};
    typename Clock::duration m_tick{};
    typename Clock::duration m_sample_interval{};
    std::uint32_t m_batch = 1; // events between the last two samples
    std::uint32_t m_max_batch = 1;
    coroutine_scheduler_settings m_settings{};

    control* m_tasks = nullptr; // live tasks, newest first
    std::size_t m_live = 0;
    std::size_t m_sleeping = 0; // armed sleep timers
    std::size_t m_io_waiting = 0; // descriptors watched for waiting tasks
    sleep_awaiter* m_sleepers = nullptr;
    std::vector<steady_time> m_wake_heap; // see link_sleeper
    tick_count m_polled_tick = -1;        // tick of the last poll of the loop
    detail::coroutine_node_fifo m_unattributed; // posts that belong to no task
    detail::coroutine_remote_stack m_remote;    // posts from other threads
    detail::coroutine_node_table m_table;       // tracked records -> tasks
    detail::post_node* m_running_node = nullptr; // the node being run, until its first track
    control* m_running_owner = nullptr;          // its task
    detail::tracked_node* m_tracked = nullptr;
    std::size_t m_tracked_count = 0;
    std::exception_ptr m_error; // to be rethrown by the run in progress or the next
    // The one word the dispatch loop tests between slices. true: something
    // may need doing there — m_error set, m_unattributed not empty (this
    // thread raises it), a post on m_remote or a stop() (other threads raise
    // it after the push that found the stack empty, or after m_stop). Only
    // attend() lowers it, before looking. seq_cst on both sides, with the
    // remote stack's seq_cst push and take, so that a lowering ordered after
    // a raise is followed by a take that sees that raise's push.
    std::atomic<bool> m_attention{false};

    std::optional<loop_type> m_owned_loop;
    loop_type* m_loop = nullptr;
    bool m_external_loop = false;
    wake_node* m_wake = nullptr;
    // false: the wake node is not in the loop's queue (a post that finds the
    // remote stack empty must post it); true: it is. See wake().
    std::atomic<bool> m_wake_posted{false};
    // Set by stop() (seq_cst, see m_attention), consumed by the run that returns (acq_rel).
    std::atomic<bool> m_stop{false};

    // Every frame is destroyed by the destructor's body, before the pool.
    detail::coroutine_frame_pool m_pool;
};

static_assert(executor<coroutine_scheduler<fcfs<coroutine_ref>>>);

} // namespace kettle
