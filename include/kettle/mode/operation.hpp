// SPDX-License-Identifier: MIT
#pragma once

/// The operation concept: the two native primitives every waitable thing in
/// kettle is written with (DESIGN §1). The four calling styles are derived
/// from them once, in `mode/perform.hpp`.

#include <kettle/mode/readiness.hpp>

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {

/// What `try_complete()` yields: the result, or "not yet".
/// `std::optional<T>`, or `bool` for operations without a value (`T = void`).
template <class T>
using attempt = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

/// An operation: `try_complete()` attempts it now and never blocks;
/// `readiness()` returns a token to sleep on, taken *before* the attempt it
/// guards so that a change in between is never missed.
///
/// Operations are moved into asynchronous completion records, so they must be
/// movable; they hold references to their source, never own it.
template <class Op>
concept operation = std::move_constructible<Op> && requires(Op& op) {
    typename Op::result_type;
    { op.try_complete() } -> std::same_as<attempt<typename Op::result_type>>;
    { op.readiness() } -> readiness_source;
};

template <operation Op>
using result_of_t = typename Op::result_type;

template <operation Op>
using readiness_of_t = decltype(std::declval<Op&>().readiness());

namespace detail {

template <class T>
constexpr bool completed(const attempt<T>& a) noexcept {
    if constexpr (std::is_void_v<T>)
        return a;
    else
        return a.has_value();
}

} // namespace detail
} // namespace kettle
