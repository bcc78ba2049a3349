// SPDX-License-Identifier: MIT
#pragma once

/// Time arithmetic that saturates instead of overflowing: a huge timeout
/// (`hours::max()`, `duration::max()`) means "never", whoever takes it.

#include <chrono>

namespace kettle::detail {

using steady_duration = std::chrono::steady_clock::duration;
using steady_time = std::chrono::steady_clock::time_point;

/// Converts any duration to the steady clock's, saturating at its limits
/// (`hours::max()` becomes `steady_duration::max()`, not an overflow). NaN is zero.
template <class Rep, class Period>
[[nodiscard]] constexpr steady_duration saturate_duration(std::chrono::duration<Rep, Period> d) noexcept {
    using wide = std::chrono::duration<long double, steady_duration::period>;
    const long double x = std::chrono::duration_cast<wide>(d).count();
    if (!(x == x)) {
        return steady_duration::zero();
    }
    if (x >= static_cast<long double>((steady_duration::max)().count())) {
        return (steady_duration::max)();
    }
    if (x <= static_cast<long double>((steady_duration::min)().count())) {
        return (steady_duration::min)();
    }
    return std::chrono::duration_cast<steady_duration>(d);
}

/// `t + d`, clamped to the clock's range.
[[nodiscard]] constexpr steady_time saturating_add(steady_time t, steady_duration d) noexcept {
    const auto since = t.time_since_epoch();
    if (d > steady_duration::zero() && since > (steady_duration::max)() - d) {
        return (steady_time::max)();
    }
    if (d < steady_duration::zero() && since < (steady_duration::min)() - d) {
        return (steady_time::min)();
    }
    return t + d;
}

} // namespace kettle::detail
