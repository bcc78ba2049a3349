// SPDX-License-Identifier: MIT
#pragma once

/// The contract between `kettle::event_loop` and a readiness backend (epoll,
/// poll, WSAPoll, ...): the policy that decides how the loop sleeps.

#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/trigger.hpp>
#include <kettle/loop/native_handle.hpp>

#include <concepts>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace kettle {

/// One descriptor that a backend found ready.
struct ready_event {
    native_handle handle = invalid_native_handle;
    io_events events{};
};

/// A readiness backend for `event_loop<Backend>`.
///
/// A backend owns the kernel object it waits on and its own wake-up channel.
/// Except for `interrupt()`, every member is called on the loop's thread only.
///
/// - `B()` creates the backend; throws `std::system_error` on failure.
/// - `B::name`: a short name for diagnostics and benchmarks ("epoll").
/// - `B::supports_edge_trigger`: whether `add` accepts `trigger::edge`; a
///   backend without it must fail `add(..., trigger::edge, ec)` with
///   `std::errc::operation_not_supported`.
/// - `add(h, i, t, ec)`: start watching `h`. A closed or invalid `h` must fail
///   here (not later as a busy loop). Errors stay `std::system_category()`
///   codes where they come from the OS.
/// - `modify(h, i, t, ec)`: change the interest of a watched `h`; `t` is the
///   trigger it was added with.
/// - `remove(h, ec)`: stop watching `h`. Must succeed for a registered `h`
///   even if the descriptor was already closed.
/// - `wait(timeout_ms, ec)`: sleep until a descriptor is ready, `interrupt()`
///   is called, or `timeout_ms` passes (`-1`: no limit, `0`: do not sleep).
///   Returns the ready descriptors; the span stays valid until the next call of
///   any member. Interruption by a signal returns an empty span, no error. The
///   wake-up channel is never reported, and waking consumes the interrupt.
///   A descriptor found invalid while waiting is reported once with
///   `io_events::error_bit` and then no longer polled (never a busy loop).
/// - `interrupt()`: thread-safe, `noexcept`; makes the current or next `wait`
///   return soon. Many calls before one `wait` may coalesce.
template <class B>
concept loop_backend =
    std::is_default_constructible_v<B> && !std::is_copy_constructible_v<B> &&
    requires(B& b, native_handle h, interest i, trigger t, int timeout_ms, std::error_code& ec) {
        { B::name } -> std::convertible_to<std::string_view>;
        { std::bool_constant<B::supports_edge_trigger>{} };
        { b.add(h, i, t, ec) } noexcept -> std::same_as<void>;
        { b.modify(h, i, t, ec) } noexcept -> std::same_as<void>;
        { b.remove(h, ec) } noexcept -> std::same_as<void>;
        { b.wait(timeout_ms, ec) } noexcept -> std::same_as<std::span<const ready_event>>;
        { b.interrupt() } noexcept -> std::same_as<void>;
    };

} // namespace kettle
