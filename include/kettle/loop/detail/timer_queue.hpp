// SPDX-License-Identifier: MIT
#pragma once

/// The event loop's timers: a binary min-heap of (deadline, sequence) over a
/// slot table with generation-checked ids; cancellation is lazy.

#include <kettle/loop/detail/unique_function.hpp>
#include <kettle/mode/detail/saturate.hpp>
#include <kettle/loop/timer_id.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <ratio>
#include <utility>
#include <vector>

namespace kettle::detail {

/// Timers of one event loop. Single-threaded (the loop's thread).
class timer_queue {
public:
    using callback = unique_function<void()>;

    /// A timer taken out of the queue to run. For a repeating timer, hand it
    /// back to `rearm` after the call (even if the call threw).
    struct fired {
        callback m_callback;
        steady_time m_deadline{};
        std::uint32_t m_slot = 0;
        bool m_repeating = false;
    };

    timer_queue() = default;
    timer_queue(const timer_queue&) = delete;
    timer_queue& operator=(const timer_queue&) = delete;
    ~timer_queue() = default;

    /// Schedules `cb` at `deadline`; `period > 0` repeats it. Throws
    /// `std::bad_alloc` (nothing scheduled then).
    timer_id schedule(steady_time deadline, steady_duration period, callback cb) {
        // Reserve so that `rearm` can push without allocating: the heap never
        // holds more than (live + stale) entries.
        const std::size_t need = m_live + m_stale + 1;
        if (m_heap.capacity() < need) {
            m_heap.reserve((std::max)(need, 2 * m_heap.capacity()));
        }
        std::uint32_t index = 0;
        if (m_free != none) {
            index = m_free;
            m_free = at(index).m_next_free;
        } else {
            if (m_slot_count == (m_chunks.size() << chunk_bits)) {
                if (m_slot_count + chunk_size >= none) {
                    throw std::bad_alloc();
                }
                m_chunks.push_back(std::make_unique<slot[]>(chunk_size));
            }
            index = m_slot_count++;
        }
        slot& s = at(index);
        s.m_callback = std::move(cb);
        s.m_period = period;
        s.m_live = true;
        s.m_firing = false;
        ++m_live;
        push(entry{deadline, m_sequence++, index, s.m_generation});
        return timer_id{index, s.m_generation};
    }

    /// True if `id` was pending (or is a repeating timer now running, which
    /// then stops repeating); false if it already fired, was cancelled, or is
    /// not from this queue.
    bool cancel(timer_id id) noexcept {
        if (!id.valid() || id.slot() >= m_slot_count) {
            return false;
        }
        slot& s = at(id.slot());
        if (s.m_generation != id.generation() || !s.m_live) {
            return false;
        }
        s.m_live = false;
        --m_live;
        if (s.m_firing) {
            return true; // `rearm` releases the slot once the callback returns
        }
        release(id.slot()); // its heap entry is now stale
        ++m_stale;
        if (m_stale > compact_threshold && m_stale > m_heap.size() / 2) {
            compact();
        }
        return true;
    }

    /// Live timers (pending, or repeating and running).
    [[nodiscard]] std::size_t size() const noexcept { return m_live; }
    [[nodiscard]] bool empty() const noexcept { return m_live == 0; }

    /// The sequence number the next scheduled timer will get: timers scheduled
    /// from now on compare greater or equal.
    [[nodiscard]] std::uint64_t next_sequence() const noexcept { return m_sequence; }

    /// Earliest pending deadline (drops cancelled entries on the way).
    [[nodiscard]] std::optional<steady_time> next_deadline() noexcept {
        drop_stale_top();
        if (m_heap.empty()) {
            return std::nullopt;
        }
        return m_heap.front().m_deadline;
    }

    /// Takes the earliest timer due at `now` that was scheduled before
    /// sequence `limit`. A one-shot timer's id is stale from here on.
    bool pop_due(steady_time now, std::uint64_t limit, fired& out) noexcept {
        drop_stale_top();
        if (m_heap.empty()) {
            return false;
        }
        const entry top = m_heap.front();
        if (top.m_deadline > now || top.m_sequence >= limit) {
            return false;
        }
        pop();
        slot& s = at(top.m_slot);
        out.m_callback = std::move(s.m_callback);
        out.m_deadline = top.m_deadline;
        out.m_slot = top.m_slot;
        out.m_repeating = s.m_period > steady_duration::zero();
        if (out.m_repeating) {
            s.m_firing = true;
        } else {
            s.m_live = false;
            --m_live;
            release(top.m_slot);
        }
        return true;
    }

    /// Reschedules a repeating timer after its call, unless it was cancelled
    /// meanwhile. The next deadline is the previous one plus the period; if
    /// that has passed already (the loop fell behind), `now` plus the period:
    /// missed periods are skipped, not replayed in a burst. Never allocates.
    void rearm(fired& f, steady_time now) noexcept {
        slot& s = at(f.m_slot);
        s.m_firing = false;
        if (!s.m_live) {
            f.m_callback.reset();
            release(f.m_slot);
            return;
        }
        steady_time next = saturating_add(f.m_deadline, s.m_period);
        if (next <= now) {
            next = saturating_add(now, s.m_period);
        }
        s.m_callback = std::move(f.m_callback);
        push(entry{next, m_sequence++, f.m_slot, s.m_generation});
    }

    /// Destroys every pending callback without running it. Callbacks'
    /// destructors may use the queue meanwhile (they find it empty).
    void clear() noexcept {
        auto chunks = std::exchange(m_chunks, {});
        m_slot_count = 0;
        m_heap.clear();
        m_free = none;
        m_live = 0;
        m_stale = 0;
        chunks.clear();
    }

private:
    static constexpr std::uint32_t none = (std::numeric_limits<std::uint32_t>::max)();
    static constexpr std::size_t compact_threshold = 1024;
    // Slots live in fixed chunks: growing never moves a callback.
    static constexpr unsigned chunk_bits = 12;
    static constexpr std::uint32_t chunk_size = 1u << chunk_bits;

    struct entry {
        steady_time m_deadline;
        std::uint64_t m_sequence; // ties on the deadline run in scheduling order
        std::uint32_t m_slot;
        std::uint32_t m_generation; // stale when the slot's generation moved on
    };

    struct slot {
        callback m_callback;
        steady_duration m_period{};
        std::uint32_t m_generation = 1; // 0 is never a valid id
        std::uint32_t m_next_free = none;
        bool m_live = false;
        bool m_firing = false;
    };

    static bool earlier(const entry& a, const entry& b) noexcept {
        return a.m_deadline < b.m_deadline || (a.m_deadline == b.m_deadline && a.m_sequence < b.m_sequence);
    }

    [[nodiscard]] slot& at(std::uint32_t index) noexcept { return m_chunks[index >> chunk_bits][index & (chunk_size - 1)]; }
    [[nodiscard]] const slot& at(std::uint32_t index) const noexcept {
        return m_chunks[index >> chunk_bits][index & (chunk_size - 1)];
    }

    void release(std::uint32_t index) noexcept {
        slot& s = at(index);
        s.m_callback.reset();
        if (++s.m_generation == 0) {
            s.m_generation = 1;
        }
        s.m_next_free = m_free;
        m_free = index;
    }

    [[nodiscard]] bool stale(const entry& e) const noexcept {
        return at(e.m_slot).m_generation != e.m_generation;
    }

    void drop_stale_top() noexcept {
        while (!m_heap.empty() && stale(m_heap.front())) {
            pop();
            --m_stale;
        }
    }

    void push(const entry& e) noexcept { // capacity reserved by `schedule`
        m_heap.push_back(e);
        std::size_t hole = m_heap.size() - 1;
        while (hole > 0) {
            const std::size_t parent = (hole - 1) / 2;
            if (!earlier(e, m_heap[parent])) {
                break;
            }
            m_heap[hole] = m_heap[parent];
            hole = parent;
        }
        m_heap[hole] = e;
    }

    void pop() noexcept {
        const entry last = m_heap.back();
        m_heap.pop_back();
        const std::size_t n = m_heap.size();
        if (n == 0) {
            return;
        }
        std::size_t hole = 0;
        for (;;) {
            std::size_t child = 2 * hole + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && earlier(m_heap[child + 1], m_heap[child])) {
                ++child;
            }
            if (!earlier(m_heap[child], last)) {
                break;
            }
            m_heap[hole] = m_heap[child];
            hole = child;
        }
        m_heap[hole] = last;
    }

    void compact() noexcept {
        const auto end = std::remove_if(m_heap.begin(), m_heap.end(), [this](const entry& e) { return stale(e); });
        m_heap.erase(end, m_heap.end());
        std::make_heap(m_heap.begin(), m_heap.end(), [](const entry& a, const entry& b) { return earlier(b, a); });
        m_stale = 0;
    }

    std::vector<entry> m_heap;
    std::vector<std::unique_ptr<slot[]>> m_chunks;
    std::uint32_t m_slot_count = 0; // slots ever used; all below are in m_chunks
    std::uint32_t m_free = none; // head of the free-slot list
    std::size_t m_live = 0;
    std::size_t m_stale = 0; // cancelled entries still in the heap
    std::uint64_t m_sequence = 0;
};

} // namespace kettle::detail
