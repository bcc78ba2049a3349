// SPDX-License-Identifier: MIT
#pragma once

/// The four ways to wait, as tag types (DESIGN §1, the kettle story).
///
/// Every waitable operation in kettle accepts one of these tags as its first
/// argument and returns accordingly:
///
/// | tag                 | returns                        | blocks the caller |
/// |---------------------|--------------------------------|-------------------|
/// | `sync_blocking`     | `T`                            | yes, sleeping     |
/// | `sync_nonblocking`  | `std::optional<T>` (empty: not yet) | never        |
/// | `async_blocking`    | `kettle::future<T>`            | only in `get()`   |
/// | `async_nonblocking` | `void`; a callback runs later on the loop | never  |

namespace kettle {

/// Stand by the kettle until it boils: the result, the thread sleeps meanwhile.
struct sync_blocking_t {
    explicit sync_blocking_t() = default;
};
/// Check now and then: the result or "not yet", at once.
struct sync_nonblocking_t {
    explicit sync_nonblocking_t() = default;
};
/// A whistling kettle, but stay beside it: a `future<T>` to `get()` later.
struct async_blocking_t {
    explicit async_blocking_t() = default;
};
/// A whistling kettle and walk away: the whistle (a callback on the loop) calls back.
struct async_nonblocking_t {
    explicit async_nonblocking_t() = default;
};

inline constexpr sync_blocking_t sync_blocking{};
inline constexpr sync_nonblocking_t sync_nonblocking{};
inline constexpr async_blocking_t async_blocking{};
inline constexpr async_nonblocking_t async_nonblocking{};

} // namespace kettle
