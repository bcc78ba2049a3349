// SPDX-License-Identifier: MIT
#pragma once

// A minimal executor for testing the mode layer on its own: a locked queue of
// posted nodes, a tracked list, and run/drain helpers. It follows the
// contract of kettle::executor exactly, including destruction order.

#include <kettle/mode/executor.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace kettle_test {

class manual_executor {
public:
    manual_executor() = default;
    manual_executor(const manual_executor&) = delete;
    manual_executor& operator=(const manual_executor&) = delete;

    ~manual_executor() {
        while (kettle::detail::tracked_node* t = m_tracked) {
            untrack(*t);
            t->m_abandon(t);
        }
        kettle::detail::post_node* n;
        {
            std::lock_guard lock(m_mutex);
            n = std::exchange(m_head, nullptr);
            m_tail = nullptr;
        }
        while (n) {
            auto* next = n->m_next;
            n->m_discard(n);
            n = next;
        }
    }

    void post(kettle::detail::post_node& n) noexcept {
        n.m_next = nullptr;
        {
            std::lock_guard lock(m_mutex);
            (m_tail ? m_tail->m_next : m_head) = &n;
            m_tail = &n;
            ++m_posts;
        }
        m_cv.notify_all();
    }
    void track(kettle::detail::tracked_node& t) noexcept {
        t.m_prev = nullptr;
        t.m_next = m_tracked;
        if (m_tracked)
            m_tracked->m_prev = &t;
        m_tracked = &t;
        ++m_tracked_count;
    }
    void untrack(kettle::detail::tracked_node& t) noexcept {
        (t.m_prev ? t.m_prev->m_next : m_tracked) = t.m_next;
        if (t.m_next)
            t.m_next->m_prev = t.m_prev;
        t.m_prev = t.m_next = nullptr;
        --m_tracked_count;
    }
    bool running_in_this_thread() const noexcept { return m_runner == std::this_thread::get_id(); }

    /// Runs what is posted now (not what those post); returns how many ran.
    std::size_t run_ready() {
        kettle::detail::post_node* n;
        {
            std::lock_guard lock(m_mutex);
            n = std::exchange(m_head, nullptr);
            m_tail = nullptr;
        }
        m_runner = std::this_thread::get_id();
        std::size_t ran = 0;
        while (n) {
            auto* next = n->m_next;
            n->m_run(n);
            n = next;
            ++ran;
        }
        m_runner = {};
        return ran;
    }
    /// Runs until nothing is posted.
    std::size_t drain() {
        std::size_t total = 0;
        while (std::size_t ran = run_ready())
            total += ran;
        return total;
    }
    /// Runs (sleeping when idle) until nothing is tracked or posted, or `limit` passes.
    bool run_until_idle(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            drain();
            if (m_tracked_count == 0)
                return true;
            std::unique_lock lock(m_mutex);
            if (!m_cv.wait_until(lock, deadline, [&] { return m_head != nullptr; }))
                return false;
        }
    }

    /// Runs until `done` becomes true (set by whoever the test waits for).
    void run_until(const std::atomic<bool>& done) {
        while (!done.load())
            run_until_idle(std::chrono::milliseconds(5));
    }
    /// Sleeps until at least `n` nodes have been posted in all, or `limit` passes.
    bool wait_for_posts(std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, limit, [&] { return m_posts >= n; });
    }

    [[nodiscard]] std::size_t tracked() const noexcept { return m_tracked_count; }
    [[nodiscard]] std::size_t posts() const {
        std::lock_guard lock(m_mutex);
        return m_posts;
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    kettle::detail::post_node* m_head = nullptr; // guarded by m_mutex
    kettle::detail::post_node* m_tail = nullptr; // guarded by m_mutex
    std::size_t m_posts = 0;                     // guarded by m_mutex
    kettle::detail::tracked_node* m_tracked = nullptr;
    std::size_t m_tracked_count = 0;
    std::thread::id m_runner;
};

static_assert(kettle::executor<manual_executor>);

} // namespace kettle_test
