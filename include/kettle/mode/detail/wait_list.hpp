// SPDX-License-Identifier: MIT
#pragma once

#include <kettle/mode/readiness.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>

#if defined(__SANITIZE_THREAD__)
#define KETTLE_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KETTLE_DETAIL_TSAN 1
#endif
#endif

namespace kettle::detail {

/// A full fence ordering this thread's earlier accesses before its later
/// read of `counter`. ThreadSanitizer does not model fences (GCC refuses
/// them under -fsanitize=thread), so there a read-modify-write of `counter`
/// itself stands in: it always reads the latest value, which is what the
/// fence is for. The RMW would make producers contend on the counter's cache
/// line, so it is not used otherwise.
template <class T>
void fence_before_reading(std::atomic<T>& counter) noexcept {
#if defined(KETTLE_DETAIL_TSAN)
    counter.fetch_add(0, std::memory_order_seq_cst);
#else
    (void)counter;
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// The readiness source of kettle's in-process primitives (event, channel,
/// future): a version number that changes on every `notify_all`, sleeping
/// threads, and armed asynchronous waiters.
///
/// Thread-safe. `notify_all` costs a fence and one load when nobody holds a
/// token, so a lock-free producer can afford it on every push. Destroying
/// the list abandons armed waiters (`m_notify(w, true)`); destroying it while
/// a thread sleeps in `wait`, or while a token that is not armed is alive, is
/// undefined.
class wait_list {
public:
    /// A snapshot of the version: models `async_readiness_source`.
    ///
    /// A token is an interest in the list: while it lives, `notify_all`
    /// cannot skip the version bump, so a change made after the token was
    /// taken always wakes it. Move-only. Arming moves the interest to the
    /// armed waiter, after which the token no longer touches the list on
    /// destruction.
    class token {
    public:
        token(token&& other) noexcept
            : m_list(other.m_list), m_seen(other.m_seen),
              m_attached(std::exchange(other.m_attached, false)) {}
        token& operator=(token&&) = delete;
        ~token() { release(); }

        /// Blocks until the version differs from the snapshot.
        void wait() const { m_list->wait(m_seen); }
        /// As `wait`, giving up at `deadline` (returns false then).
        [[nodiscard]] bool wait_until(const steady_time& deadline) const {
            return m_list->wait_until(m_seen, deadline);
        }
        template <class Executor>
        [[nodiscard]] bool arm(waiter& w, Executor&) {
            if (!m_list->arm(w, m_seen))
                return false;
            m_attached = false; // the linked waiter holds the interest now
            return true;
        }
        [[nodiscard]] bool disarm(waiter& w) const noexcept { return m_list->disarm(w); }

    private:
        friend class wait_list;
        token(const wait_list* list, std::uint32_t seen) noexcept
            : m_list(list), m_seen(seen), m_attached(true) {}
        void release() noexcept {
            if (std::exchange(m_attached, false))
                m_list->m_interest.fetch_sub(1, std::memory_order_relaxed);
        }
        const wait_list* m_list;
        std::uint32_t m_seen;
        bool m_attached; // counted in m_list->m_interest
    };

    wait_list() = default;
    wait_list(const wait_list&) = delete;
    wait_list& operator=(const wait_list&) = delete;

    ~wait_list() {
        std::lock_guard lock(m_mutex);
        while (waiter* w = pop_front())
            w->m_notify(w, true);
    }

    /// Registers an interest and reads the version. Take it before checking
    /// the state the list guards.
    [[nodiscard]] token snapshot() const noexcept {
        // Dekker with notify_all: we count ourselves, fence, then read the
        // state; a notifier changes the state, fences, then reads the count.
        // One of the two sees the other.
        m_interest.fetch_add(1, std::memory_order_seq_cst);
#if !defined(KETTLE_DETAIL_TSAN)
        std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
        return token(this, m_version.load(std::memory_order_seq_cst));
    }

    /// Call after every change a waiter may care about. Wakes every sleeper
    /// and notifies (and unlinks) every armed waiter, on the calling thread.
    void notify_all() noexcept {
        fence_before_reading(m_interest);
        notify<true>();
    }

    /// As `notify_all`, without the fence, for state guarded by a lock that
    /// waiters also take to check it: call after releasing that lock. The
    /// lock orders a waiter's snapshot (taken before it locks) before our
    /// read of the interest count, or our change before its check.
    void notify_all_after_unlock() noexcept { notify<true>(); }

    /// As `notify_all`, for a change that one waiter uses up (an element
    /// pushed, a slot freed): wakes one sleeping thread, not all of them, so
    /// that threads blocked on a queue do not all wake for each element.
    /// Armed asynchronous waiters are still all notified: one may be
    /// cancelled before it looks, and would not pass its turn on.
    ///
    /// No change is missed: every sleeper's predicate is the version, so the
    /// thread woken (or one that wakes spuriously, or at its deadline) sees
    /// the change and makes an attempt; the others sleep on until a later
    /// notify, and a thread whose snapshot is newer than this change made
    /// its attempt after the change.
    void notify_one() noexcept {
        fence_before_reading(m_interest);
        notify<false>();
    }
    /// `notify_one` for lock-guarded state; see `notify_all_after_unlock`.
    void notify_one_after_unlock() noexcept { notify<false>(); }

private:
    template <bool All>
    void notify() noexcept {
        if (m_interest.load(std::memory_order_relaxed) == 0)
            return;
        // seq_cst on m_version, m_sleepers and m_armed: a waiter publishes
        // itself (sleepers/armed) and then re-reads the version; we bump the
        // version and then read the counts. One of the two sees the other.
        m_version.fetch_add(1, std::memory_order_seq_cst);
        if (m_sleepers.load(std::memory_order_seq_cst) != 0) {
            { std::lock_guard lock(m_mutex); } // a sleeper is in m_cv.wait, or sees the version
            if constexpr (All)
                m_cv.notify_all();
            else
                m_cv.notify_one();
        }
        if (m_armed.load(std::memory_order_seq_cst) != 0) {
            std::lock_guard lock(m_mutex);
            while (waiter* w = pop_front())
                w->m_notify(w, false);
        }
    }

    void wait(std::uint32_t seen) const {
        m_sleepers.fetch_add(1, std::memory_order_seq_cst);
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait(lock, [&] { return m_version.load(std::memory_order_seq_cst) != seen; });
        }
        m_sleepers.fetch_sub(1, std::memory_order_relaxed);
    }

    bool wait_until(std::uint32_t seen, const steady_time& deadline) const {
        m_sleepers.fetch_add(1, std::memory_order_seq_cst);
        bool changed;
        {
            std::unique_lock lock(m_mutex);
            changed = m_cv.wait_until(lock, deadline, [&] {
                return m_version.load(std::memory_order_seq_cst) != seen;
            });
        }
        m_sleepers.fetch_sub(1, std::memory_order_relaxed);
        return changed;
    }

    bool arm(waiter& w, std::uint32_t seen) const {
        std::lock_guard lock(m_mutex);
        m_armed.fetch_add(1, std::memory_order_seq_cst);
        if (m_version.load(std::memory_order_seq_cst) != seen) {
            m_armed.fetch_sub(1, std::memory_order_relaxed);
            return false;
        }
        w.m_prev = m_tail;
        w.m_next = nullptr;
        (m_tail ? m_tail->m_next : m_head) = &w;
        m_tail = &w;
        w.m_linked = true;
        return true;
    }

    bool disarm(waiter& w) const noexcept {
        std::lock_guard lock(m_mutex);
        if (!w.m_linked)
            return false;
        (w.m_prev ? w.m_prev->m_next : m_head) = w.m_next;
        (w.m_next ? w.m_next->m_prev : m_tail) = w.m_prev;
        w.m_linked = false;
        m_armed.fetch_sub(1, std::memory_order_relaxed);
        m_interest.fetch_sub(1, std::memory_order_relaxed);
        return true;
    }

    // Requires m_mutex.
    waiter* pop_front() const noexcept {
        waiter* w = m_head;
        if (!w)
            return nullptr;
        m_head = w->m_next;
        (m_head ? m_head->m_prev : m_tail) = nullptr;
        w->m_linked = false;
        m_armed.fetch_sub(1, std::memory_order_relaxed);
        m_interest.fetch_sub(1, std::memory_order_relaxed);
        return w;
    }

    mutable std::mutex m_mutex;
    mutable std::condition_variable m_cv;
    std::atomic<std::uint32_t> m_version{0};          // bumped by every notify
    mutable std::atomic<std::uint32_t> m_sleepers{0}; // threads inside wait / wait_until
    mutable std::atomic<std::uint32_t> m_armed{0};    // linked waiters (changed under m_mutex)
    mutable std::atomic<std::uint32_t> m_interest{0}; // attached tokens + linked waiters
    mutable waiter* m_head = nullptr;                 // guarded by m_mutex
    mutable waiter* m_tail = nullptr;                 // guarded by m_mutex
};

} // namespace kettle::detail
