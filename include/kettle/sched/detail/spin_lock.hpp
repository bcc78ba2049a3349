// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#endif

namespace kettle::detail {

/// Tells the CPU that this is a spin-wait loop (saves power and the sibling
/// hyper-thread's cycles); a no-op where there is no such hint.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
    _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/// A test-and-test-and-set lock: spins on a plain load (the cache line stays
/// shared until the holder releases), pausing between reads; after
/// `spins_before_yield` reads it yields the thread each round, so a holder
/// that was preempted gets the CPU back instead of being starved by spinners.
/// Not fair, not recursive.
class spin_lock {
public:
    static constexpr int spins_before_yield = 128;

    void lock() noexcept {
        for (;;) {
            // false -> true acquires (pairs with unlock's release store).
            if (!m_locked.exchange(true, std::memory_order_acquire))
                return;
            int spins = 0;
            while (m_locked.load(std::memory_order_relaxed)) {
                if (++spins < spins_before_yield)
                    cpu_relax();
                else
                    std::this_thread::yield();
            }
        }
    }

    [[nodiscard]] bool try_lock() noexcept {
        return !m_locked.load(std::memory_order_relaxed) &&
               !m_locked.exchange(true, std::memory_order_acquire);
    }

    void unlock() noexcept { m_locked.store(false, std::memory_order_release); }

private:
    std::atomic<bool> m_locked{false}; // true while held
};

} // namespace kettle::detail
