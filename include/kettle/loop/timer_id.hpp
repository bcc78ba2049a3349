// SPDX-License-Identifier: MIT
#pragma once

/// The name of a scheduled timer, used to cancel it.

#include <cstdint>

namespace kettle {

/// Identifies one timer of one event loop. A value type; a default-constructed
/// `timer_id` names no timer. After the timer fires (one-shot) or is cancelled,
/// its id goes stale and is never reused for another timer of that loop
/// (until a slot's 32-bit generation wraps, after four billion reuses).
class timer_id {
public:
    constexpr timer_id() noexcept = default;
    constexpr timer_id(std::uint32_t slot, std::uint32_t generation) noexcept
        : m_slot(slot), m_generation(generation) {}

    [[nodiscard]] constexpr std::uint32_t slot() const noexcept { return m_slot; }
    [[nodiscard]] constexpr std::uint32_t generation() const noexcept { return m_generation; }
    /// False for a default-constructed id; generations start at 1.
    [[nodiscard]] constexpr bool valid() const noexcept { return m_generation != 0; }

    friend constexpr bool operator==(timer_id, timer_id) noexcept = default;

private:
    std::uint32_t m_slot = 0;
    std::uint32_t m_generation = 0;
};

} // namespace kettle
