// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::detail::mpmc_ring<T>`: a bounded multi-producer multi-consumer
/// ring, the storage of the lock-free run queues.

#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace kettle::detail {

/// The size kettle pads to against false sharing. A constant of kettle's own,
/// not std::hardware_destructive_interference_size: that value follows
/// -mtune, so two translation units could disagree on the layout of the same
/// type (GCC warns about exactly that). 128 on x86, whose 64-byte lines are
/// prefetched in aligned pairs (two threads on neighbouring lines still
/// contend), and on AArch64 and POWER, whose lines can be 128 bytes; 256 on
/// s390x; 64 elsewhere.
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86) || \
    defined(__aarch64__) || defined(_M_ARM64) || defined(__powerpc64__)
inline constexpr std::size_t cache_line_size = 128;
#elif defined(__s390x__)
inline constexpr std::size_t cache_line_size = 256;
#else
inline constexpr std::size_t cache_line_size = 64;
#endif

/// A bounded MPMC FIFO of `T`: D. Vyukov's bounded queue (each slot carries a
/// sequence number that says whose turn it is), laid out like
/// rigtorp::MPMCQueue (every slot, the producers' index and the consumers'
/// index on cache lines of their own).
///
/// Thread-safe: any number of threads may call `try_push` and `try_pop`
/// concurrently. Nothing blocks or allocates after construction; both
/// operations are lock-free (a thread retries only when another thread's
/// operation on the same index succeeded). Elements pushed by one thread are
/// taken in the order that thread pushed them; across threads, in the order
/// their pushes claimed a position.
///
/// `try_push` may report full, and `try_pop` empty, while another thread is
/// in the middle of freeing or filling the slot they need (the element or the
/// room appears as soon as that thread finishes). The destructor destroys the
/// elements still queued; destroying the ring while another thread uses it
/// is undefined.
template <class T>
class mpmc_ring {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "mpmc_ring elements must be nothrow move constructible: a push claims its "
                  "slot before moving into it, and a throwing move would leave the slot "
                  "claimed and never filled");
    static_assert(std::is_nothrow_destructible_v<T>,
                  "mpmc_ring elements must not throw from their destructor");

public:
    using value_type = T;

    /// Room for `capacity` elements, rounded up to a power of two, and to at
    /// least 2 (the sequence numbers need two states per lap). Allocates.
    /// Throws std::invalid_argument when `capacity` is 0, std::length_error
    /// when it is too large, std::bad_alloc.
    explicit mpmc_ring(std::size_t capacity) : m_mask(round_up(capacity) - 1) {
        static_assert(sizeof(slot) % cache_line_size == 0,
                      "each slot must fill whole cache lines, or neighbours share one");
        static_assert(
            alignof(mpmc_ring) % cache_line_size == 0 && sizeof(mpmc_ring) % cache_line_size == 0,
            "the ring must fill whole cache lines, so that no neighbour shares its indices' lines");
        m_slots = std::make_unique<slot[]>(m_mask + 1);
        for (std::size_t i = 0; i <= m_mask; ++i)
            m_slots[i].seq.store(i, std::memory_order_relaxed);
    }

    mpmc_ring(const mpmc_ring&) = delete;
    mpmc_ring& operator=(const mpmc_ring&) = delete;

    ~mpmc_ring() {
        const std::size_t head = m_head.load(std::memory_order_relaxed);
        for (std::size_t pos = m_tail.load(std::memory_order_relaxed); pos != head; ++pos)
            m_slots[pos & m_mask].element()->~T();
    }

    /// Moves `value` into the ring and returns true; or returns false, leaving
    /// `value` untouched, when the ring is full. Thread-safe, never blocks.
    [[nodiscard]] bool try_push(T& value) noexcept {
        std::size_t pos = m_head.load(std::memory_order_relaxed);
        for (;;) {
            slot& s = m_slots[pos & m_mask];
            // acquire: pairs with the release in try_pop that freed the slot,
            // so the previous element's destruction happens before we write.
            const std::size_t seq = s.seq.load(std::memory_order_acquire);
            const auto lag = static_cast<std::ptrdiff_t>(seq - pos);
            if (lag == 0) {
                // The slot is free for `pos`: claim the position. Relaxed: the
                // claim orders nothing; the slot's sequence number carries the
                // element.
                if (m_head.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                                 std::memory_order_relaxed)) {
                    ::new (static_cast<void*>(s.storage)) T(std::move(value));
                    // release: pairs with the acquire in try_pop.
                    s.seq.store(pos + 1, std::memory_order_release);
                    return true;
                }
                // `pos` now holds the index another producer left.
            } else if (lag < 0) {
                // The slot still holds the element of the previous lap: full
                // (or its consumer has claimed it and not finished).
                return false;
            } else {
                // Another producer took `pos`; catch up.
                pos = m_head.load(std::memory_order_relaxed);
            }
        }
    }

    /// The oldest element, or empty when the ring is empty. Thread-safe, never
    /// blocks.
    [[nodiscard]] std::optional<T> try_pop() noexcept {
        std::size_t pos = m_tail.load(std::memory_order_relaxed);
        for (;;) {
            slot& s = m_slots[pos & m_mask];
            // acquire: pairs with the release in try_push that filled the
            // slot, so the element is fully constructed before we read it.
            const std::size_t seq = s.seq.load(std::memory_order_acquire);
            const auto lag = static_cast<std::ptrdiff_t>(seq - (pos + 1));
            if (lag == 0) {
                if (m_tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                                 std::memory_order_relaxed)) {
                    T* p = s.element();
                    std::optional<T> out(std::in_place, std::move(*p));
                    p->~T();
                    // release: pairs with the acquire in try_push of the next
                    // lap, which may then reuse the storage.
                    s.seq.store(pos + m_mask + 1, std::memory_order_release);
                    return out;
                }
            } else if (lag < 0) {
                // Not filled yet for this lap: empty (or its producer has
                // claimed it and not finished).
                return std::nullopt;
            } else {
                pos = m_tail.load(std::memory_order_relaxed);
            }
        }
    }

    /// The number of elements, exact when no other thread is pushing or
    /// popping; otherwise a value the size had at some moment during the call,
    /// or close to one. Thread-safe.
    [[nodiscard]] std::size_t size() const noexcept {
        // Tail first: the head read afterwards is at least as large.
        const std::size_t tail = m_tail.load(std::memory_order_relaxed);
        const std::size_t head = m_head.load(std::memory_order_relaxed);
        const auto n = static_cast<std::ptrdiff_t>(head - tail);
        if (n <= 0)
            return 0;
        return static_cast<std::size_t>(n) > m_mask ? m_mask + 1 : static_cast<std::size_t>(n);
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_mask + 1; }

    /// Positions claimed so far by producers and by consumers (both start at
    /// 0 and wrap around). Approximate under concurrency, like `size`.
    [[nodiscard]] std::size_t push_position() const noexcept {
        return m_head.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::size_t pop_position() const noexcept {
        return m_tail.load(std::memory_order_relaxed);
    }

private:
    struct slot {
        // For the slot of position `pos` (index pos & mask):
        //   pos             free; the producer that claims `pos` may construct
        //   pos + 1         holds the element of `pos`; its consumer may take it
        //   pos + capacity  freed by that consumer: free for the next lap
        // A producer's release store (pos + 1) pairs with a consumer's
        // acquire load, and a consumer's release store (pos + capacity) with
        // the next lap's producer's acquire load. Arithmetic wraps; states
        // are compared by signed difference.
        alignas(cache_line_size) std::atomic<std::size_t> seq{0};
        alignas(T) unsigned char storage[sizeof(T)];

        T* element() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };

    static std::size_t round_up(std::size_t capacity) {
        if (capacity == 0)
            throw std::invalid_argument("kettle::detail::mpmc_ring: the capacity must be positive");
        constexpr std::size_t max =
            (std::numeric_limits<std::size_t>::max() / 2 + 1) / sizeof(slot);
        if (capacity > max)
            throw std::length_error("kettle::detail::mpmc_ring: capacity too large");
        std::size_t n = 2;
        while (n < capacity)
            n *= 2;
        return n;
    }

    // Written once, before any thread shares the ring: read-only afterwards.
    std::size_t m_mask;
    std::unique_ptr<slot[]> m_slots;
    // The next position to push; producers only. Its own cache line, so that
    // producers and consumers do not invalidate each other's index.
    alignas(cache_line_size) std::atomic<std::size_t> m_head{0};
    // The next position to pop; consumers only.
    alignas(cache_line_size) std::atomic<std::size_t> m_tail{0};
};

} // namespace kettle::detail
