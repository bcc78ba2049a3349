// SPDX-License-Identifier: MIT
#pragma once

/// What a descriptor registration waits for.

namespace kettle {

/// The readiness a registration waits for. Combine with `|`, test with `&`.
enum class interest : unsigned {
    none = 0,     ///< only errors and hang-ups are reported
    readable = 1, ///< data (or a connection, or end of stream) can be read
    writable = 2, ///< data can be written without blocking
    both = 3,     ///< `readable | writable`
};

[[nodiscard]] constexpr interest operator|(interest a, interest b) noexcept {
    return static_cast<interest>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
[[nodiscard]] constexpr interest operator&(interest a, interest b) noexcept {
    return static_cast<interest>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// True if `set` includes every bit of `bits` (and `bits` is not `none`).
[[nodiscard]] constexpr bool contains(interest set, interest bits) noexcept {
    return bits != interest::none && (set & bits) == bits;
}

} // namespace kettle
