// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace kettle::detail {

/// A growable double-ended ring: the storage of the FIFO policies. A
/// power-of-two buffer indexed by free-running counters, so push and pop at
/// either end are a compare, a construct and an increment (std::deque pays
/// for its block map on every call). Grows by doubling; never shrinks until
/// cleared by destruction. Not synchronised.
template <class T>
class ring_deque {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "a scheduling queue's tasks must be nothrow-movable: growing the ring "
                  "moves them, and a throw halfway would lose tasks");

public:
    ring_deque() noexcept = default;
    ring_deque(ring_deque&& other) noexcept
        : m_slots(std::exchange(other.m_slots, nullptr)), m_head(std::exchange(other.m_head, 0)),
          m_mask(std::exchange(other.m_mask, 0)), m_tail(std::exchange(other.m_tail, 0)),
          m_capacity(std::exchange(other.m_capacity, 0)),
          m_limit(std::exchange(other.m_limit, unlimited)), m_room(std::exchange(other.m_room, 0)) {}
    ring_deque& operator=(ring_deque&& other) noexcept {
        ring_deque(std::move(other)).swap(*this);
        return *this;
    }
    ~ring_deque() {
        clear();
        std::allocator<T>().deallocate(m_slots, m_capacity);
    }

    void push_back(T&& value) {
        if (size() == m_capacity)
            grow();
        std::construct_at(slot(m_tail), std::move(value));
        ++m_tail;
    }
    /// As push_back, but holds at most `limit()` elements: false, with
    /// `value` untouched, when that many are queued. The bound costs nothing
    /// on the fast path: it folds into the one check for a full buffer.
    [[nodiscard]] bool try_push_back(T& value) {
        if (size() >= m_room) [[unlikely]] {
            if (size() >= m_limit)
                return false;
            grow();
        }
        std::construct_at(slot(m_tail), std::move(value));
        ++m_tail;
        return true;
    }
    /// The bound of try_push_back (unbounded by default). May be lowered
    /// below size(): the elements stay, and try_push_back refuses.
    void set_limit(std::size_t limit) noexcept {
        m_limit = limit;
        m_room = std::min(m_capacity, m_limit);
    }
    [[nodiscard]] std::size_t limit() const noexcept { return m_limit; }
    void push_front(T&& value) {
        if (size() == m_capacity)
            grow();
        std::construct_at(slot(m_head - 1), std::move(value));
        --m_head;
    }
    /// `value` is pushed at the back and replaced by the front, in one
    /// step: the ring neither grows nor needs a capacity check (the front
    /// leaves first). An empty ring leaves `value` as it is.
    void push_back_pop_front(T& value) noexcept {
        if (!empty())
            value = rotate(std::move(value));
    }
    /// Takes the front out and constructs a new back element from `args`,
    /// in that order (so a full ring has room): the step of a hand-over.
    /// Precondition: not empty.
    template <class... Args>
    [[nodiscard]] T rotate(Args&&... args) noexcept {
        T* front = slot(m_head);
        T out = std::move(*front);
        std::destroy_at(front);
        std::construct_at(slot(m_tail), std::forward<Args>(args)...);
        ++m_head;
        ++m_tail;
        return out;
    }
    /// Precondition: not empty.
    void pop_front() noexcept {
        std::destroy_at(slot(m_head));
        ++m_head;
    }
    /// Precondition: not empty.
    [[nodiscard]] T& front() noexcept { return *slot(m_head); }
    /// The i-th element from the front. Precondition: i < size().
    [[nodiscard]] T& operator[](std::size_t i) noexcept { return *slot(m_head + i); }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return *slot(m_head + i); }

    [[nodiscard]] std::size_t size() const noexcept { return m_tail - m_head; }
    /// A push would not grow the buffer (so it cannot throw).
    [[nodiscard]] bool has_room() const noexcept { return size() < m_capacity; }
    [[nodiscard]] bool empty() const noexcept { return m_tail == m_head; }
    /// Room for `n` elements, so that pushes up to that size cannot throw.
    /// May throw std::bad_alloc (nothing changes then).
    void reserve(std::size_t n) {
        if (n <= m_capacity)
            return;
        std::size_t bigger = m_capacity == 0 ? 16 : m_capacity;
        while (bigger < n)
            bigger *= 2;
        grow_to(bigger);
    }

    void clear() noexcept {
        while (!empty())
            pop_front();
    }

    void swap(ring_deque& other) noexcept {
        std::swap(m_slots, other.m_slots);
        std::swap(m_capacity, other.m_capacity);
        std::swap(m_mask, other.m_mask);
        std::swap(m_head, other.m_head);
        std::swap(m_tail, other.m_tail);
        std::swap(m_limit, other.m_limit);
        std::swap(m_room, other.m_room);
    }

private:
    [[nodiscard]] T* slot(std::size_t index) const noexcept {
        return m_slots + (index & m_mask);
    }

    void grow() { grow_to(m_capacity == 0 ? 16 : m_capacity * 2); }

    void grow_to(std::size_t bigger) {
        std::allocator<T> alloc;
        T* fresh = alloc.allocate(bigger); // may throw: nothing changed yet
        const std::size_t n = size();
        for (std::size_t i = 0; i < n; ++i) {
            T* from = slot(m_head + i);
            std::construct_at(fresh + i, std::move(*from));
            std::destroy_at(from);
        }
        alloc.deallocate(m_slots, m_capacity);
        m_slots = fresh;
        m_capacity = bigger;
        m_mask = bigger - 1;
        m_room = std::min(m_capacity, m_limit);
        m_head = 0;
        m_tail = n;
    }

    T* m_slots = nullptr;
    // The ends apart, with the mask between them: adjacent, a compiler may
    // update both with one vector operation that later scalar reads of one
    // end have to wait for. (Two ends, not a front and a size: a pop then a
    // push would chain the size's store and load through memory twice, and
    // took a FIFO policy's pop + push from 8.5 to 13.5 ns.)
    std::size_t m_head = 0;     // free-running: the front is slot(m_head)
    std::size_t m_mask = 0;     // m_capacity - 1, once there is a buffer
    std::size_t m_tail = 0;     // free-running: one past the back
    std::size_t m_capacity = 0; // 0 or a power of two
    static constexpr std::size_t unlimited = static_cast<std::size_t>(-1);
    std::size_t m_limit = unlimited; // try_push_back's bound
    std::size_t m_room = 0;          // min(m_capacity, m_limit): the fast path's check
};

} // namespace kettle::detail
