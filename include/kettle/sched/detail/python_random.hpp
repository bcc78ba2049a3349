// SPDX-License-Identifier: MIT
#pragma once

/// The Mersenne Twister exactly as CPython's `random` module seeds and uses
/// it (`random.seed(n)` for an int `n`, then `random.random()`), so that the
/// OSTEP compatibility mode generates the same random workloads as the
/// published homework simulators for the same seed.

#include <array>
#include <cstdint>
#include <vector>

namespace kettle::detail {

/// Not synchronised. Never blocks or allocates after construction.
class python_random {
public:
    /// As `random.seed(seed)`: the key is |seed| in 32-bit words, least
    /// significant first (a single 0 word for seed 0).
    explicit python_random(std::int64_t seed) {
        std::uint64_t v = seed < 0 ? 0 - static_cast<std::uint64_t>(seed)
                                   : static_cast<std::uint64_t>(seed);
        std::vector<std::uint32_t> key;
        do {
            key.push_back(static_cast<std::uint32_t>(v & 0xffffffffu));
            v >>= 32;
        } while (v != 0);
        init_by_array(key);
    }

    /// As `random.random()`: a double in [0, 1) with 53 random bits.
    double random() noexcept {
        const std::uint32_t a = next() >> 5, b = next() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

private:
    static constexpr int n = 624, m = 397;

    void init_genrand(std::uint32_t s) noexcept {
        m_mt[0] = s;
        for (m_index = 1; m_index < n; ++m_index) {
            const std::uint32_t prev = m_mt[static_cast<std::size_t>(m_index - 1)];
            m_mt[static_cast<std::size_t>(m_index)] =
                1812433253u * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(m_index);
        }
    }

    void init_by_array(const std::vector<std::uint32_t>& key) noexcept {
        init_genrand(19650218u);
        std::size_t i = 1, j = 0;
        const std::size_t len = key.size();
        for (std::size_t k = (n > len ? n : len); k != 0; --k) {
            const std::uint32_t prev = m_mt[i - 1];
            m_mt[i] = (m_mt[i] ^ ((prev ^ (prev >> 30)) * 1664525u)) + key[j] +
                      static_cast<std::uint32_t>(j);
            ++i;
            ++j;
            if (i >= n) {
                m_mt[0] = m_mt[n - 1];
                i = 1;
            }
            if (j >= len)
                j = 0;
        }
        for (std::size_t k = n - 1; k != 0; --k) {
            const std::uint32_t prev = m_mt[i - 1];
            m_mt[i] = (m_mt[i] ^ ((prev ^ (prev >> 30)) * 1566083941u)) -
                      static_cast<std::uint32_t>(i);
            ++i;
            if (i >= n) {
                m_mt[0] = m_mt[n - 1];
                i = 1;
            }
        }
        m_mt[0] = 0x80000000u;
        m_index = n;
    }

    std::uint32_t next() noexcept {
        if (m_index >= n) {
            for (std::size_t k = 0; k < n; ++k) {
                const std::uint32_t y =
                    (m_mt[k] & 0x80000000u) | (m_mt[(k + 1) % n] & 0x7fffffffu);
                m_mt[k] = m_mt[(k + m) % n] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
            }
            m_index = 0;
        }
        std::uint32_t y = m_mt[static_cast<std::size_t>(m_index++)];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    std::array<std::uint32_t, n> m_mt{};
    int m_index = n;
};

} // namespace kettle::detail
