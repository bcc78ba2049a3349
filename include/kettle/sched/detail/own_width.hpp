// SPDX-License-Identifier: MIT
#pragma once

namespace kettle::detail {

/// `v`, fetched by a load of its own width. GCC may fetch adjacent fields
/// together in one wider (vector) load; when they were stored one by one
/// shortly before, that load cannot take them from the store buffer and
/// waits until both stores reach the cache, a store-forwarding stall of a
/// dozen cycles or more. An empty asm that needs the value in a general
/// register keeps each load its own. A no-op for other compilers.
template <class T>
[[gnu::always_inline]] inline T own_width(T v) noexcept {
#if defined(__GNUC__)
    __asm__("" : "+r"(v));
#endif
    return v;
}

} // namespace kettle::detail
