// SPDX-License-Identifier: MIT
#pragma once

/// Where an `event_loop` sleeps when no descriptor is registered, and how
/// other threads find out whether to wake it there or through its backend.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kettle::detail {

/// The loop's sleep without descriptors, and the hand-shake that routes every
/// wake-up (`post` from another thread, `stop`) to wherever the loop sleeps.
///
/// With nothing registered there is nothing for the backend to watch, so the
/// loop *parks* on a condition variable (a futex on Linux) instead: waking it
/// costs one futex wake instead of an eventfd write plus an epoll wake-up.
/// With descriptors registered it sleeps in the backend ("polls"), and
/// wake-ups go through the backend's own channel as before. A loop that is
/// awake needs no wake-up at all, only a note that there is work.
///
/// Protocol. One atomic, `m_state`; every access that writes it is a
/// read-modify-write, so all writes are totally ordered and each reads the one
/// just before it. Its states:
///
/// - `idle`: no `run`/`run_once`/`run_for` is in progress, or it has not
///   slept yet (the initial state); nothing is known about the next sleep.
/// - `awake`: the loop runs and is not sleeping. Only the loop's thread stores
///   it, and it always takes a pending wake-up (below) before it sleeps.
/// - `polling`: the loop sleeps in the backend, or is about to.
/// - `parked`: the loop waits on `m_cv`, or is about to (it stores this before
///   locking `m_mutex`).
/// - `woken`: a wake-up is pending; the loop's next sleep, of either kind,
///   returns at once (or the parked loop is being woken).
///
/// A waker (`notify`) first publishes its work (pushes its post, sets the stop
/// flag), then exchanges `woken` in, acq_rel, and acts on what it read:
/// - `parked`: it locks and unlocks `m_mutex`, then notifies `m_cv`. The lock
///   orders it after the parked loop's check of `m_state`, made under the
///   mutex: either that check sees `woken`, or the loop is already inside
///   `m_cv.wait`, where the notify reaches it.
/// - `polling`: the caller interrupts the backend (its wake-up channel).
/// - `idle`: likewise, so that a loop nobody runs keeps its backend's
///   wake-up channel meaning what it always did (one write per batch).
/// - `awake` or `woken`: nothing more. The loop is not sleeping, and will take
///   the wake-up before it sleeps.
///
/// The loop's thread takes a pending wake-up with an acq_rel read-modify-write
/// that reads `woken`. Its acquire pairs with the release of the waker whose
/// exchange wrote that value, and (later exchanges continuing the release
/// sequence) with that of every waker since the loop's previous exchange, so
/// all work they published is visible to it. It publishes where it is going
/// to sleep with the same exchange (`park` stores `parked`, `poll` stores
/// `polling`), and does not sleep if that read `woken`. Any waker's exchange
/// comes either before that one (the loop sees `woken` and does not sleep) or
/// after it (the waker sees `parked` or `polling` and wakes that very sleep).
/// Hence no wake-up is lost, however the loop moves between parking and
/// polling, nor when it has not run yet. After every sleep the loop stores
/// `awake` (taking the wake-up spent on that sleep, so it cannot cut the next
/// one short), and `clear` forgets a stale one when the loop looks at its
/// queues without sleeping, so the next post wakes it again.
///
/// An interrupt sent on `idle` or `polling` to a loop that then parks, or
/// that had already left the backend, stays pending in the backend and at
/// worst cuts one later backend sleep short, like any early interrupt.
class loop_wakeup {
public:
    using clock = std::chrono::steady_clock;

    /// Any thread, after publishing the work the loop must see. Returns true
    /// when the caller must also interrupt the loop's backend. Never blocks
    /// for long: it locks the mutex (at most once per parking) only to order
    /// its notify after the parked loop's last look.
    [[nodiscard]] bool notify() noexcept {
        switch (m_state.exchange(woken, std::memory_order_acq_rel)) {
        case parked:
            m_mutex.lock(); // empty critical section: waits out the loop's check
            m_mutex.unlock();
            m_cv.notify_one();
            return false;
        case polling:
        case idle:
            return true;
        default: // awake, woken
            return false;
        }
    }

    /// Loop thread, before sleeping in the backend: false if a wake-up was
    /// pending (taken now: do not sleep). If true, call `done()` after the sleep.
    [[nodiscard]] bool poll() noexcept {
        if (m_state.exchange(polling, std::memory_order_acq_rel) == woken) {
            done();
            return false;
        }
        return true;
    }

    /// Loop thread: sleeps until `notify()`, or until `timeout_ms` passes (-1:
    /// no limit). Returns at once if a wake-up was pending; takes it either way.
    void park(int timeout_ms) noexcept {
        if (m_state.exchange(parked, std::memory_order_acq_rel) != woken) {
            std::unique_lock<std::mutex> lock(m_mutex);
            const auto notified = [this] { return m_state.load(std::memory_order_acquire) != parked; };
            if (timeout_ms < 0) {
                m_cv.wait(lock, notified);
            } else {
                m_cv.wait_until(lock, clock::now() + std::chrono::milliseconds(timeout_ms), notified);
            }
        }
        done();
    }

    /// Loop thread, after a sleep: takes the wake-up that ended it, if any.
    void done() noexcept { m_state.exchange(awake, std::memory_order_acq_rel); }

    /// Loop thread, when it looks at its queues without sleeping: forgets a
    /// pending wake-up, so that the next post wakes the loop again rather
    /// than finding `woken`. Housekeeping, not needed for correctness: a
    /// relaxed look that misses a `woken` leaves it to the next sleep.
    void clear() noexcept {
        if (m_state.load(std::memory_order_relaxed) == woken) {
            done();
        }
    }

    /// Loop thread, when its `run`/`run_once`/`run_for` returns: back to
    /// `idle`, unless a wake-up is pending (it stays for the next sleep).
    void leave() noexcept {
        int expected = awake;
        if (m_state.load(std::memory_order_relaxed) == awake) {
            m_state.compare_exchange_strong(expected, idle, std::memory_order_acq_rel, std::memory_order_relaxed);
        }
    }

private:
    static constexpr int idle = 0;
    static constexpr int awake = 1;
    static constexpr int polling = 2;
    static constexpr int parked = 3;
    static constexpr int woken = 4;

    std::atomic<int> m_state{idle}; // see the protocol above
    std::mutex m_mutex;              // orders a notify after the parked loop's check
    std::condition_variable m_cv;    // where the loop parks
};

} // namespace kettle::detail
