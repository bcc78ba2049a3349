// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::event_loop<Backend>`: the poll loop (DESIGN §4). Readiness of
/// descriptors through a pluggable backend, timers, and `post()` from any
/// thread; every callback runs on the thread that runs the loop.

#include <kettle/loop/backend.hpp>
#include <kettle/loop/default_backend.hpp>
#include <kettle/loop/detail/loop_wakeup.hpp>
#include <kettle/loop/detail/post_queue.hpp>
#include <kettle/loop/detail/timer_queue.hpp>
#include <kettle/loop/detail/unique_function.hpp>
#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/trigger.hpp>
#include <kettle/loop/native_handle.hpp>
#include <kettle/loop/timer_id.hpp>
#include <kettle/mode/executor.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <span>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace kettle {
namespace detail {

/// One `run`/`run_once` in progress on this thread; frames chain when loops
/// nest (a loop run from inside another loop's callback).
struct loop_frame {
    const void* m_loop = nullptr;
    loop_frame* m_prev = nullptr;
};

/// Top of this thread's chain of running loops.
inline loop_frame*& current_loop_frame() noexcept {
    static thread_local loop_frame* top = nullptr;
    return top;
}

} // namespace detail

/// A single-threaded reactor: watches descriptors, runs timers and posted
/// callables, all on the thread that calls `run`/`run_once`/`run_for`.
///
/// **Threads.** `post`, `stop` and `stopped` may be called from any thread.
/// Everything else — `add`/`modify`/`remove`, timers, `track`/`untrack`, the
/// `run` family — belongs to the loop's thread (the one running it, or any one
/// thread while it is not running). Every callback runs on the loop's thread,
/// inside `run`, `run_once` or `run_for`, never inside the call that
/// registered it. One loop per thread is the way to use many cores.
///
/// **One iteration** waits for readiness (no longer than the next timer, not
/// at all if posts are pending), then runs: descriptor callbacks for the
/// descriptors found ready, timers that are due, then the posts that were
/// queued when the batch was taken. Work added by a callback runs in a later
/// iteration, so no callback can starve the loop.
///
/// **Sleeping.** With descriptors registered the loop sleeps in the backend
/// (`epoll_wait`, `poll`, `WSAPoll`), and `post`/`stop` from other threads
/// wake it through the backend's wake-up channel (an eventfd, a self-pipe, a
/// loopback socket pair). With none registered it does not call the backend
/// at all: it sleeps on a condition variable (a futex on Linux), which
/// `post`/`stop` wake directly, as Asio's `io_context` does when it has no
/// I/O objects. Either way a wake-up is never lost, including one that races
/// with the loop switching between the two (see `detail::loop_wakeup`).
///
/// **Exceptions** thrown by a callback propagate out of `run`/`run_once`/
/// `run_for`. The loop stays consistent: the throwing callback counts as run
/// (a repeating timer stays scheduled), and work not yet done in that
/// iteration is kept for the next.
///
/// **Errors** follow the two-overload pattern: `f(args, std::error_code&)`
/// reports, `f(args)` throws `std::system_error`. OS errors stay
/// `std::system_category()` codes. Besides those: registering a descriptor
/// twice gives `std::errc::file_exists`; modifying or removing one that is not
/// registered, `std::errc::no_such_file_or_directory`; `trigger::edge` on a
/// backend without it, `std::errc::operation_not_supported`; a negative
/// timeout or a non-positive timer period, `std::errc::invalid_argument`;
/// running the loop from inside its own callback,
/// `std::errc::resource_deadlock_would_occur`.
///
/// **Destruction** (on the loop's thread, with no other thread still posting):
/// tracked operations are abandoned first (`tracked_node::m_abandon`), then
/// posted nodes are discarded (`post_node::m_discard`), then pending timer and
/// descriptor callbacks are destroyed without being run. Descriptors are not
/// closed: the loop never owns them.
template <loop_backend Backend = default_backend>
class event_loop {
public:
    using backend_type = Backend;
    using clock = std::chrono::steady_clock;
    using duration = clock::duration;
    using time_point = clock::time_point;

    /// Creates the backend (and its wake-up channel). Throws `std::system_error`.
    event_loop() = default;

    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// See "Destruction" above. Must not run concurrently with anything else
    /// on this loop.
    ~event_loop() {
        while (m_tracked != nullptr) {
            detail::tracked_node* t = m_tracked;
            unlink_tracked(*t);
            if (t->m_abandon != nullptr) {
                t->m_abandon(t);
            }
        }
        for (;;) { // a discard may post again; keep going until all are gone
            detail::post_fifo all;
            all.splice(m_batch.take_all());
            all.splice(m_local.take_all());
            all.splice(m_remote.take_all());
            if (all.empty()) {
                break;
            }
            while (detail::post_node* n = all.pop()) {
                if (n->m_discard != nullptr) {
                    n->m_discard(n);
                }
            }
        }
        m_timers.clear();
        auto handlers = std::exchange(m_handlers, handler_map{});
        handlers.clear();
    }

    // ---- descriptors -------------------------------------------------------

    /// Watches `h` for `i`; `cb(io_events)` runs on the loop's thread each time
    /// `h` is ready (see `trigger`). The loop does not own `h`: `remove` it
    /// before closing it. Loop thread only; never blocks; a callback may add,
    /// modify or remove any descriptor, its own included.
    /// Errors: see the class comment; a closed or invalid descriptor fails here
    /// (`EBADF`, or `WSAENOTSOCK` on Windows). Throws only what constructing
    /// the stored callable from `cb` throws, other than `std::bad_alloc`
    /// (reported as `std::errc::not_enough_memory`).
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&, io_events>
    void add(native_handle h, interest i, F&& cb, trigger t, std::error_code& ec) {
        ec.clear();
        if (t == trigger::edge && !Backend::supports_edge_trigger) {
            ec = std::make_error_code(std::errc::operation_not_supported);
            return;
        }
        if (m_handlers.find(h) != m_handlers.end()) {
            ec = std::make_error_code(std::errc::file_exists);
            return;
        }
        try {
            auto [it, inserted] = m_handlers.try_emplace(h, io_callback(std::forward<F>(cb)), i, t, m_wait_epoch);
            static_cast<void>(inserted);
            m_backend.add(h, i, t, ec);
            if (ec) {
                auto node = m_handlers.extract(it);
            }
        } catch (const std::bad_alloc&) {
            ec = std::make_error_code(std::errc::not_enough_memory);
        }
    }

    /// As above; throws `std::system_error` instead of reporting.
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&, io_events>
    void add(native_handle h, interest i, F&& cb, trigger t = trigger::level) {
        std::error_code ec;
        add(h, i, std::forward<F>(cb), t, ec);
        throw_if(ec, "kettle::event_loop::add");
    }

    /// Changes what `h` is watched for; its trigger stays. Loop thread only.
    void modify(native_handle h, interest i, std::error_code& ec) noexcept {
        ec.clear();
        const auto it = m_handlers.find(h);
        if (it == m_handlers.end()) {
            ec = std::make_error_code(std::errc::no_such_file_or_directory);
            return;
        }
        m_backend.modify(h, i, it->second.m_trigger, ec);
        if (!ec) {
            it->second.m_interest = i;
        }
    }

    /// As above; throws `std::system_error` instead of reporting.
    void modify(native_handle h, interest i) {
        std::error_code ec;
        modify(h, i, ec);
        throw_if(ec, "kettle::event_loop::modify");
    }

    /// Stops watching `h` and destroys its callback (after it returns, when
    /// called from inside it). No event for `h` reaches that callback after
    /// this, not even one already collected in the current iteration. Loop
    /// thread only. A descriptor already closed is still forgotten.
    void remove(native_handle h, std::error_code& ec) noexcept {
        ec.clear();
        const auto it = m_handlers.find(h);
        if (it == m_handlers.end()) {
            ec = std::make_error_code(std::errc::no_such_file_or_directory);
            return;
        }
        m_backend.remove(h, ec);
        if (&it->second == m_running_handler) {
            m_graveyard = m_handlers.extract(it); // destroyed when the callback returns
        } else {
            auto node = m_handlers.extract(it); // destroyed after the map is consistent again
        }
    }

    /// As above; throws `std::system_error` instead of reporting.
    void remove(native_handle h) {
        std::error_code ec;
        remove(h, ec);
        throw_if(ec, "kettle::event_loop::remove");
    }

    /// Whether `h` is registered. Loop thread only.
    [[nodiscard]] bool is_registered(native_handle h) const noexcept { return m_handlers.find(h) != m_handlers.end(); }

    // ---- timers ------------------------------------------------------------

    /// Runs `cb()` once on the loop's thread after `delay` (a zero or negative
    /// delay: in the next iteration). Timers run in deadline order; equal
    /// deadlines in the order they were added. Huge delays saturate
    /// (`hours::max()` is "never", not an overflow). Loop thread only; never
    /// blocks. Throws `std::bad_alloc`.
    template <class Rep, class Period, class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    timer_id add_timer(std::chrono::duration<Rep, Period> delay, F&& cb) {
        const auto deadline = detail::saturating_add(clock::now(), detail::saturate_duration(delay));
        return m_timers.schedule(deadline, duration::zero(), timer_callback(std::forward<F>(cb)));
    }

    /// Runs `cb()` once on the loop's thread at `deadline`; equal deadlines run
    /// in the order they were added. Loop thread only; never blocks. Throws
    /// `std::bad_alloc`.
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    timer_id add_timer_at(time_point deadline, F&& cb) {
        return m_timers.schedule(deadline, duration::zero(), timer_callback(std::forward<F>(cb)));
    }

    /// Runs `cb()` after `delay` and then every `period` until cancelled (see
    /// `detail::timer_queue::rearm` for how a late loop catches up: it skips).
    /// A `period` that is not positive throws `std::system_error` with
    /// `std::errc::invalid_argument`. Loop thread only; never blocks.
    template <class Rep1, class Period1, class Rep2, class Period2, class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    timer_id add_timer(std::chrono::duration<Rep1, Period1> delay, std::chrono::duration<Rep2, Period2> period, F&& cb) {
        const duration every = detail::saturate_duration(period);
        if (every <= duration::zero()) {
            throw_if(std::make_error_code(std::errc::invalid_argument), "kettle::event_loop::add_timer: period");
        }
        const auto deadline = detail::saturating_add(clock::now(), detail::saturate_duration(delay));
        return m_timers.schedule(deadline, every, timer_callback(std::forward<F>(cb)));
    }

    /// Cancels a timer; its callback is destroyed without running (a repeating
    /// timer cancelled from inside its own callback: once that returns).
    /// Returns false if it already fired, was cancelled, or `id` names nothing.
    /// Loop thread only, from anywhere including any callback.
    bool cancel_timer(timer_id id) noexcept { return m_timers.cancel(id); }

    // ---- posting -----------------------------------------------------------

    /// Queues `cb()` to run on the loop's thread in a later iteration, and
    /// wakes the loop. Any thread; never blocks for long (see below);
    /// callables posted from one thread run in posting order. One allocation
    /// (the node holding `cb`); throws `std::bad_alloc`. Destroyed without
    /// running if the loop is destroyed first.
    template <class F>
        requires std::is_invocable_v<std::decay_t<F>&>
    void post(F&& cb) {
        auto* node = new posted<std::decay_t<F>>(std::forward<F>(cb), &m_callback_error);
        post(*node);
    }

    /// The executor hook: queues `n`; the loop later calls `n.m_run(&n)` on its
    /// thread, or `n.m_discard(&n)` when destroyed first. Any thread; never
    /// allocates, never blocks for long. The first post after the loop took
    /// its last batch wakes the loop; the others ride along. Waking costs
    /// nothing more if the loop is running (it looks before it sleeps), a
    /// condition-variable notify if it sleeps without descriptors (taking a
    /// mutex for a moment, only to order the notify after the loop's last
    /// look), else one write to the backend's wake-up channel, as it does when
    /// no thread runs the loop. See "Sleeping" above.
    void post(detail::post_node& n) noexcept {
        if (running_in_this_thread()) {
            m_local.push(&n); // the loop looks at its queues before it sleeps
        } else if (m_remote.push(&n)) {
            wake();
        }
    }

    /// Registers an operation that must hear of the loop's end; it counts as
    /// outstanding work. Loop thread only.
    void track(detail::tracked_node& t) noexcept {
        t.m_prev = nullptr;
        t.m_next = m_tracked;
        if (m_tracked != nullptr) {
            m_tracked->m_prev = &t;
        }
        m_tracked = &t;
        ++m_tracked_count;
    }

    /// Unregisters a tracked operation. Loop thread only.
    void untrack(detail::tracked_node& t) noexcept { unlink_tracked(t); }

    /// True while this thread is inside `run`, `run_once` or `run_for` of this
    /// loop (callbacks included). Any thread.
    [[nodiscard]] bool running_in_this_thread() const noexcept {
        for (const detail::loop_frame* f = detail::current_loop_frame(); f != nullptr; f = f->m_prev) {
            if (f->m_loop == this) {
                return true;
            }
        }
        return false;
    }

    // ---- running -----------------------------------------------------------

    /// Runs iterations until `stop()` is called or no work is outstanding (no
    /// registered descriptor, timer, queued post or tracked operation).
    /// Blocks the calling thread, which becomes the loop's thread meanwhile.
    /// Returns the number of callbacks run.
    ///
    /// Stop semantics: `stop()` makes the current `run` return (or the next
    /// one, if none is running) and that return consumes the request, so a
    /// later `run()` runs again without any `restart()`.
    std::size_t run(std::error_code& ec) { return run_until((time_point::max)(), ec); }

    /// As above; throws `std::system_error` instead of reporting.
    std::size_t run() {
        std::error_code ec;
        const std::size_t n = run(ec);
        throw_if(ec, "kettle::event_loop::run");
        return n;
    }

    /// Like `run`, but returns after `d` at the latest.
    template <class Rep, class Period>
    std::size_t run_for(std::chrono::duration<Rep, Period> d, std::error_code& ec) {
        return run_until(detail::saturating_add(clock::now(), detail::saturate_duration(d)), ec);
    }

    /// As above; throws `std::system_error` instead of reporting.
    template <class Rep, class Period>
    std::size_t run_for(std::chrono::duration<Rep, Period> d) {
        std::error_code ec;
        const std::size_t n = run_for(d, ec);
        throw_if(ec, "kettle::event_loop::run_for");
        return n;
    }

    /// One iteration: waits at most `timeout` for something to happen (0:
    /// only looks), then runs what is ready. Returns the number of callbacks
    /// run, which may be 0 if it was woken without work (e.g. by `stop()`).
    /// Does not look at or consume a stop request. A negative `timeout` is
    /// `std::errc::invalid_argument`. Blocks at most `timeout`.
    std::size_t run_once(std::chrono::milliseconds timeout, std::error_code& ec) {
        ec.clear();
        if (timeout < std::chrono::milliseconds::zero()) {
            ec = std::make_error_code(std::errc::invalid_argument);
            return 0;
        }
        if (m_depth != 0) {
            ec = std::make_error_code(std::errc::resource_deadlock_would_occur);
            return 0;
        }
        const auto ms = timeout.count() > INT_MAX ? INT_MAX : static_cast<int>(timeout.count());
        leave_scope leave(m_wakeup);
        return iterate(ms, ec);
    }

    /// As above; throws `std::system_error` instead of reporting.
    std::size_t run_once(std::chrono::milliseconds timeout) {
        std::error_code ec;
        const std::size_t n = run_once(timeout, ec);
        throw_if(ec, "kettle::event_loop::run_once");
        return n;
    }

    /// Asks `run`/`run_for` to return, waking the loop from either kind of
    /// sleep (or cutting its next one short, if it is not sleeping). Any
    /// thread; never blocks for long (see `post`). See `run` for when the
    /// request is consumed.
    void stop() noexcept {
        m_stop_requested.store(true, std::memory_order_release);
        wake();
    }

    /// True from `stop()` until a `run`/`run_for` returns because of it. Any thread.
    [[nodiscard]] bool stopped() const noexcept { return m_stop_requested.load(std::memory_order_acquire); }

private:
    using io_callback = detail::unique_function<void(io_events)>;
    using timer_callback = detail::timer_queue::callback;

    struct handler {
        handler(io_callback cb, interest i, trigger t, std::uint64_t epoch) noexcept
            : m_callback(std::move(cb)), m_interest(i), m_trigger(t), m_epoch(epoch) {}
        io_callback m_callback;
        interest m_interest;
        trigger m_trigger;
        std::uint64_t m_epoch; // value of m_wait_epoch when added: deaf to waits that began earlier
    };
    using handler_map = std::unordered_map<native_handle, handler>;

    /// The node `post(F&&)` allocates; an exception from `F` is parked in the
    /// loop and rethrown once the node is gone.
    template <class Fn>
    struct posted : detail::post_node {
        template <class F>
        posted(F&& f, std::exception_ptr* error) : m_fn(std::forward<F>(f)), m_error(error) {
            m_run = &run_node;
            m_discard = &discard_node;
        }
        static void run_node(detail::post_node* n) noexcept {
            auto* self = static_cast<posted*>(n);
            try {
                self->m_fn();
            } catch (...) {
                *self->m_error = std::current_exception();
            }
            delete self;
        }
        static void discard_node(detail::post_node* n) noexcept { delete static_cast<posted*>(n); }
        Fn m_fn;
        std::exception_ptr* m_error;
    };

    /// Marks this thread as running the loop for the scope of an iteration.
    class running_scope {
    public:
        explicit running_scope(event_loop& loop) noexcept : m_loop(loop), m_frame{&loop, detail::current_loop_frame()} {
            detail::current_loop_frame() = &m_frame;
            ++m_loop.m_depth;
        }
        running_scope(const running_scope&) = delete;
        running_scope& operator=(const running_scope&) = delete;
        ~running_scope() {
            --m_loop.m_depth;
            detail::current_loop_frame() = m_frame.m_prev;
        }

    private:
        event_loop& m_loop;
        detail::loop_frame m_frame;
    };

    /// Tells the wake-up hand-shake that the loop stopped running, when
    /// `run`/`run_once`/`run_for` returns or throws.
    class leave_scope {
    public:
        explicit leave_scope(detail::loop_wakeup& w) noexcept : m_wakeup(w) {}
        leave_scope(const leave_scope&) = delete;
        leave_scope& operator=(const leave_scope&) = delete;
        ~leave_scope() { m_wakeup.leave(); }

    private:
        detail::loop_wakeup& m_wakeup;
    };

    static void throw_if(const std::error_code& ec, const char* what) {
        if (ec) {
            throw std::system_error(ec, what);
        }
    }

    void unlink_tracked(detail::tracked_node& t) noexcept {
        if (t.m_prev != nullptr) {
            t.m_prev->m_next = t.m_next;
        } else if (m_tracked == &t) {
            m_tracked = t.m_next;
        }
        if (t.m_next != nullptr) {
            t.m_next->m_prev = t.m_prev;
        }
        t.m_prev = t.m_next = nullptr;
        --m_tracked_count;
    }

    [[nodiscard]] bool posts_pending() const noexcept {
        return !m_batch.empty() || !m_local.empty() || !m_remote.empty();
    }

    /// Any thread, after publishing what the loop must see: wakes the loop
    /// wherever it sleeps.
    void wake() noexcept {
        if (m_wakeup.notify()) {
            m_backend.interrupt();
        }
    }

    [[nodiscard]] bool has_work() const noexcept {
        return !m_handlers.empty() || !m_timers.empty() || m_tracked_count != 0 || posts_pending();
    }

    std::size_t run_until(time_point deadline, std::error_code& ec) {
        ec.clear();
        if (m_depth != 0) {
            ec = std::make_error_code(std::errc::resource_deadlock_would_occur);
            return 0;
        }
        leave_scope leave(m_wakeup);
        std::size_t n = 0;
        for (;;) {
            if (m_stop_requested.load(std::memory_order_relaxed) &&
                m_stop_requested.exchange(false, std::memory_order_acq_rel)) {
                break;
            }
            if (!has_work()) {
                break;
            }
            int timeout_ms = -1;
            if (deadline != (time_point::max)()) {
                const auto now = clock::now();
                if (now >= deadline) {
                    break;
                }
                timeout_ms = ceil_ms(deadline - now);
            }
            n += iterate(timeout_ms, ec);
            if (ec) {
                break;
            }
        }
        return n;
    }

    static int ceil_ms(duration d) noexcept {
        if (d <= duration::zero()) {
            return 0;
        }
        constexpr auto one_ms = std::chrono::duration_cast<duration>(std::chrono::milliseconds(1));
        const auto whole = d / one_ms + (d % one_ms != duration::zero() ? 1 : 0);
        return whole >= INT_MAX ? INT_MAX : static_cast<int>(whole);
    }

    /// `timeout_ms`: -1 for no limit.
    std::size_t iterate(int timeout_ms, std::error_code& ec) {
        running_scope scope(*this);
        if (m_ready_next == m_ready.size()) {
            int wait_ms = timeout_ms;
            if (posts_pending()) {
                wait_ms = 0;
            } else if (const auto next = m_timers.next_deadline()) {
                const time_point now = clock::now();
                const int timer_ms = *next <= now ? 0 : ceil_ms(*next - now); // no overflow for far-past deadlines
                if (wait_ms < 0 || timer_ms < wait_ms) {
                    wait_ms = timer_ms;
                }
            }
            ++m_wait_epoch;
            m_ready_next = 0;
            if (m_handlers.empty()) {
                // Nothing for the backend to watch: park instead, or just look.
                m_ready = {};
                if (wait_ms != 0) {
                    m_wakeup.park(wait_ms);
                } else {
                    m_wakeup.clear();
                }
            } else {
                // A wake-up pending since the last look means work: do not sleep.
                bool sleep = wait_ms != 0;
                if (sleep) {
                    sleep = m_wakeup.poll();
                } else {
                    m_wakeup.clear();
                }
                m_ready = m_backend.wait(sleep ? wait_ms : 0, ec);
                if (sleep) {
                    m_wakeup.done();
                }
                if (ec) {
                    return 0;
                }
            }
        }
        std::size_t n = dispatch_io();
        n += run_timers();
        n += run_posts();
        return n;
    }

    /// Clears the running-handler mark (and frees a handler removed from
    /// inside itself) when its callback returns or throws.
    class handler_scope {
    public:
        handler_scope(event_loop& loop, handler* h) noexcept : m_loop(loop) { m_loop.m_running_handler = h; }
        handler_scope(const handler_scope&) = delete;
        handler_scope& operator=(const handler_scope&) = delete;
        ~handler_scope() {
            m_loop.m_running_handler = nullptr;
            m_loop.m_graveyard = {};
        }

    private:
        event_loop& m_loop;
    };

    std::size_t dispatch_io() {
        std::size_t n = 0;
        while (m_ready_next < m_ready.size()) {
            const ready_event ev = m_ready[m_ready_next++];
            const auto it = m_handlers.find(ev.handle);
            if (it == m_handlers.end()) {
                continue; // removed by an earlier callback of this iteration
            }
            handler& h = it->second;
            if (h.m_epoch >= m_wait_epoch) {
                continue; // a new registration of a reused descriptor number
            }
            const io_events wanted{static_cast<unsigned>(h.m_interest) | io_events::error_bit | io_events::hangup_bit};
            const io_events events = ev.events & wanted;
            if (events.empty()) {
                continue;
            }
            handler_scope scope(*this, &h);
            h.m_callback(events);
            ++n;
        }
        return n;
    }

    /// Puts a repeating timer back when its callback returns or throws.
    class rearm_scope {
    public:
        rearm_scope(detail::timer_queue& q, detail::timer_queue::fired& f, time_point now) noexcept
            : m_queue(q), m_fired(f), m_now(now) {}
        rearm_scope(const rearm_scope&) = delete;
        rearm_scope& operator=(const rearm_scope&) = delete;
        ~rearm_scope() { m_queue.rearm(m_fired, m_now); }

    private:
        detail::timer_queue& m_queue;
        detail::timer_queue::fired& m_fired;
        time_point m_now;
    };

    std::size_t run_timers() {
        std::size_t n = 0;
        if (m_timers.empty()) {
            return n;
        }
        const time_point now = clock::now();
        const std::uint64_t limit = m_timers.next_sequence(); // not timers added by these callbacks
        for (;;) {
            detail::timer_queue::fired f;
            if (!m_timers.pop_due(now, limit, f)) {
                break;
            }
            ++n;
            if (f.m_repeating) {
                rearm_scope rearm(m_timers, f, now);
                f.m_callback();
            } else {
                f.m_callback();
            }
        }
        return n;
    }

    std::size_t run_posts() {
        if (m_batch.empty()) {
            m_batch.splice(m_local.take_all());
            m_batch.splice(m_remote.take_all());
        }
        std::size_t n = 0;
        while (detail::post_node* node = m_batch.pop()) {
            ++n;
            node->m_run(node);
            if (m_callback_error) {
                std::rethrow_exception(std::exchange(m_callback_error, nullptr));
            }
        }
        return n;
    }

    Backend m_backend;
    handler_map m_handlers;
    handler* m_running_handler = nullptr;     // whose callback is running now
    typename handler_map::node_type m_graveyard; // a handler removed from inside its own callback
    std::span<const ready_event> m_ready;        // from the last wait, valid until the next
    std::size_t m_ready_next = 0;                // first of m_ready not dispatched yet
    std::uint64_t m_wait_epoch = 0;              // number of waits begun
    detail::timer_queue m_timers;
    detail::remote_post_stack m_remote; // posts from other threads
    detail::post_fifo m_local;          // posts from the loop's thread while running
    detail::post_fifo m_batch;          // taken and being run
    std::exception_ptr m_callback_error; // thrown by a post(F&&) callable, rethrown by the loop
    detail::tracked_node* m_tracked = nullptr;
    std::size_t m_tracked_count = 0;
    int m_depth = 0; // iterations of this loop on the stack (0 or 1)
    // false: run normally; true: stop requested, consumed by the run/run_for
    // that returns because of it. Release on store pairs with the acquire (or
    // acq_rel exchange) on load; the wake-up itself goes through m_wakeup
    // (whose acq_rel hand-shake also orders this store before the loop's look)
    // and, when the loop may sleep there, the backend.
    std::atomic<bool> m_stop_requested{false};
    detail::loop_wakeup m_wakeup; // where the loop parks with no descriptor registered
};

namespace detail {
template <class Tuple>
struct all_loops_are_executors;
template <class... Backends>
struct all_loops_are_executors<std::tuple<Backends...>> : std::bool_constant<(executor<event_loop<Backends>> && ...)> {};
} // namespace detail

static_assert(detail::all_loops_are_executors<available_backends>::value,
              "event_loop<B> must model kettle::executor for every backend available here");

} // namespace kettle
