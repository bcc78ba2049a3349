// SPDX-License-Identifier: MIT
#pragma once

/// The parts of `coroutine_scheduler` that do not depend on its policy: the
/// task control block, the nodes a task waits with, and the base class
/// `kettle::yield()` talks to through a thread-local pointer.

#include <kettle/loop/detail/post_queue.hpp>
#include <kettle/mode/executor.hpp>
#include <kettle/sched/cause.hpp>
#include <kettle/sched/dispatch.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>

namespace kettle::detail {

/// A post node that resumes a suspended coroutine: how a task waits for a
/// yield, a timer or another task. Lives in the awaiter, so in the coroutine
/// frame; discarding it does nothing (the frame's owner destroys the frame).
struct coroutine_resume_node : post_node {
    coroutine_resume_node() noexcept {
        m_run = &run;
        m_discard = &discard;
    }
    static void run(post_node* n) noexcept { static_cast<coroutine_resume_node&>(*n).m_handle.resume(); }
    static void discard(post_node*) noexcept {}
    [[nodiscard]] static bool is(const post_node& n) noexcept { return n.m_run == &run; }

    std::coroutine_handle<> m_handle;
};

/// A FIFO of post nodes linked through `m_next`. Single-threaded.
class coroutine_node_fifo {
public:
    void push(post_node* n) noexcept {
        n->m_next = nullptr;
        if (m_tail == nullptr)
            m_head = n;
        else
            m_tail->m_next = n;
        m_tail = n;
    }
    /// Appends a null-terminated chain, oldest first.
    void splice(post_node* chain) noexcept {
        while (chain != nullptr) {
            post_node* next = chain->m_next;
            push(chain);
            chain = next;
        }
    }
    [[nodiscard]] post_node* pop() noexcept {
        post_node* n = m_head;
        if (n != nullptr) {
            m_head = n->m_next;
            if (m_head == nullptr)
                m_tail = nullptr;
        }
        return n;
    }
    /// Everything, oldest first, as a chain; the FIFO is left empty.
    [[nodiscard]] post_node* take_all() noexcept {
        post_node* n = m_head;
        m_head = m_tail = nullptr;
        return n;
    }
    [[nodiscard]] bool empty() const noexcept { return m_head == nullptr; }

private:
    post_node* m_head = nullptr;
    post_node* m_tail = nullptr;
};

/// Posts from other threads: the loop's lock-free stack, which the
/// scheduler pairs with its own wake-up flag (see `coroutine_scheduler::wake`).
using coroutine_remote_stack = remote_post_stack;

class coroutine_join_base;

/// What a scheduler knows about one spawned task. It is the promise of the
/// task's root coroutine (`coroutine_promise`), so a spawn allocates one frame
/// besides the task's own. Touched by the scheduler's thread only.
class coroutine_control {
public:
    enum class state : std::uint8_t {
        ready,    // in the run queue, or dispatched (the scheduler holds its entry)
        blocked,  // suspended on something else: its entry is parked here
        finished, // retired; the frame is about to go
    };

    coroutine_control() = default;
    coroutine_control(const coroutine_control&) = delete;
    coroutine_control& operator=(const coroutine_control&) = delete;

    /// Nodes to run as part of this task, oldest first: its first
    /// resumption, completions it started or waits for, its resumptions
    /// after a timer, a joined task, or a yield that found `m_resume` taken.
    coroutine_node_fifo m_pending;
    /// A resumption that comes before every node of `m_pending`: where a
    /// yield leaves its coroutine when nothing else is pending (the common
    /// case), without a node. Null when unused. The scheduler empties it
    /// before it resumes anything of the task, so that it being set again
    /// when control comes back says, alone, that the task yielded.
    std::coroutine_handle<> m_resume;
    coroutine_resume_node m_start;         // resumes the root coroutine the first time
    coroutine_control* m_prev = nullptr;   // the scheduler's list of live tasks
    coroutine_control* m_next = nullptr;
    coroutine_join_base* m_join = nullptr; // null for a detached task
    std::exception_ptr m_error;            // what the task threw

    // The spawn options, for the policies' projections.
    tick_count m_length = 1;
    std::int64_t m_priority = 0;
    std::uint64_t m_weight = 1;

    std::uint32_t m_tracked = 0; // entries of this task in the scheduler's node table
    state m_state = state::ready;

    // Why the running slice ends (bits of m_over; none: it goes on, unless
    // m_resume was set: a plain yield, which needs no bit).
    static constexpr std::uint8_t over_switch = 1;  // a yield that left its coroutine in m_pending
    static constexpr std::uint8_t over_done = 2;    // the root coroutine finished
    static constexpr std::uint8_t over_cancel = 4;  // cancel(): retire at the next chance
    static constexpr std::uint8_t over_preempt = 8; // a yield that re-enters as preempted, not yielded
    std::uint8_t m_over = 0;

    [[nodiscard]] bool cancelled() const noexcept { return (m_over & over_cancel) != 0; }

protected:
    ~coroutine_control() = default;
};

/// The policy-independent half of `coroutine_scheduler`, seen by `yield()`.
///
/// Fields read on the fast path of a yield are plain members; the decisions
/// that need the policy or the clock are virtual. Everything here belongs to
/// the scheduler's thread.
class coroutine_scheduler_base {
public:
    coroutine_scheduler_base(const coroutine_scheduler_base&) = delete;
    coroutine_scheduler_base& operator=(const coroutine_scheduler_base&) = delete;

    /// The scheduler running on this thread (the innermost one, when a task
    /// runs another scheduler), or `idle()` when none is. Never null, so that
    /// a yield tests one pointer, not two.
    [[nodiscard]] static coroutine_scheduler_base*& current() noexcept { return s_current; }

    /// Slow path of `yield()`: samples the clock when due, then says whether
    /// the running task's slice is over or the policy preempts it.
    [[nodiscard]] virtual bool should_switch() noexcept = 0;

    /// Cancels a spawned task (see `join_handle::cancel`).
    virtual void cancel_task(coroutine_control& task) noexcept = 0;

    /// The running task gives the CPU up: its slice ends when control
    /// returns to the scheduler; `h` is resumed when it is dispatched again,
    /// after whatever is pending for it already (through `spare`, a node the
    /// caller's storage holds, when something is); it re-enters the run
    /// queue with `c` (`preempted` wins over `yielded` when several
    /// coroutines of the task yield in one slice).
    [[gnu::always_inline]] void switch_out(std::coroutine_handle<> h, coroutine_resume_node* spare, cause c) noexcept {
        coroutine_control& x = *m_current;
        const bool nothing_pending = x.m_pending.empty();
        if (!x.m_resume & nothing_pending) { // one branch: this is every switch
            x.m_resume = h; // says "yielded" by itself (see m_resume)
        } else {
            coroutine_resume_node* node = std::construct_at(spare);
            node->m_handle = h;
            x.m_pending.push(node);
            x.m_over |= coroutine_control::over_switch;
        }
        if (c == cause::preempted)
            x.m_over |= coroutine_control::over_preempt;
    }

    /// The task running now, or null between slices.
    coroutine_control* m_current = nullptr;
    /// Yields and dispatches left before the next clock sample.
    std::uint32_t m_countdown = 1;
    /// Set whenever the run queue or the policy's time changes; a dispatch
    /// clears it, and a yield asks the policy `preempts()` only when it was
    /// set since the dispatch (or since the last time it asked).
    bool m_changed = false;

protected:
    constexpr coroutine_scheduler_base() noexcept = default;
    ~coroutine_scheduler_base() = default;

    /// Makes this the scheduler of this thread for the scope of a run.
    class run_scope {
    public:
        explicit run_scope(coroutine_scheduler_base& s) noexcept : m_self(s), m_outer(current()) {
            m_self.m_outer = m_outer;
            m_self.m_running = true;
            current() = &m_self;
        }
        run_scope(const run_scope&) = delete;
        run_scope& operator=(const run_scope&) = delete;
        ~run_scope() {
            current() = m_outer;
            m_self.m_running = false;
            m_self.m_outer = nullptr;
        }

    private:
        coroutine_scheduler_base& m_self;
        coroutine_scheduler_base* m_outer;
    };

    /// True while this thread is inside one of this scheduler's runs.
    [[nodiscard]] bool runs_here() const noexcept {
        for (const coroutine_scheduler_base* s = current(); s != nullptr; s = s->m_outer)
            if (s == this)
                return true;
        return false;
    }

    coroutine_scheduler_base* m_outer = nullptr; // the scheduler this one's run shadows
    bool m_running = false;                      // inside run/run_for/run_once

private:
    static thread_local coroutine_scheduler_base* s_current;
};

/// What `coroutine_scheduler_base::current()` is on a thread that runs no
/// scheduler: one that never has a running task.
class no_coroutine_scheduler final : public coroutine_scheduler_base {
public:
    constexpr no_coroutine_scheduler() noexcept = default;
    bool should_switch() noexcept override { return false; }
    void cancel_task(coroutine_control&) noexcept override {}
};

inline constinit no_coroutine_scheduler idle_coroutine_scheduler{};
inline constinit thread_local coroutine_scheduler_base* coroutine_scheduler_base::s_current = &idle_coroutine_scheduler;

} // namespace kettle::detail
