// SPDX-License-Identifier: MIT
#pragma once

/// What a descriptor callback is told.

namespace kettle {

/// What happened to a descriptor, as handed to its callback. A value type.
class io_events {
public:
    static constexpr unsigned readable_bit = 1; ///< readable (includes end of stream)
    static constexpr unsigned writable_bit = 2; ///< writable
    static constexpr unsigned error_bit = 4;    ///< an error is pending (or the descriptor is invalid)
    static constexpr unsigned hangup_bit = 8;   ///< the peer hung up (or the pipe's other end closed)

    constexpr io_events() noexcept = default;
    constexpr explicit io_events(unsigned bits) noexcept : m_bits(bits) {}

    [[nodiscard]] constexpr bool readable() const noexcept { return (m_bits & readable_bit) != 0; }
    [[nodiscard]] constexpr bool writable() const noexcept { return (m_bits & writable_bit) != 0; }
    [[nodiscard]] constexpr bool error() const noexcept { return (m_bits & error_bit) != 0; }
    [[nodiscard]] constexpr bool hangup() const noexcept { return (m_bits & hangup_bit) != 0; }
    [[nodiscard]] constexpr bool empty() const noexcept { return m_bits == 0; }
    [[nodiscard]] constexpr unsigned bits() const noexcept { return m_bits; }

    friend constexpr io_events operator|(io_events a, io_events b) noexcept { return io_events{a.m_bits | b.m_bits}; }
    friend constexpr io_events operator&(io_events a, io_events b) noexcept { return io_events{a.m_bits & b.m_bits}; }
    friend constexpr bool operator==(io_events, io_events) noexcept = default;

private:
    unsigned m_bits = 0;
};

} // namespace kettle
