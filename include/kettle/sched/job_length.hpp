// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::job_length`: the customisation point through which the SJF
/// family (`sjf`, `srtf`) reads a task's length estimate.

#include <concepts>
#include <type_traits>
#include <utility>

namespace kettle {

namespace detail::job_length_cpo {

// Poison pill: unqualified calls below find user overloads by ADL only,
// never `kettle::job_length` itself.
void job_length() = delete;

template <class L>
concept length_like = std::totally_ordered<L> && !std::is_void_v<L>;

template <class T>
concept has_member = requires(const T& t) {
    { t.job_length() } -> length_like;
};

template <class T>
concept has_adl = !has_member<T> && requires(const T& t) {
    { job_length(t) } -> length_like;
};

template <class T>
concept is_number = std::is_arithmetic_v<T>;

template <class T>
concept direct = has_member<T> || has_adl<T> || is_number<T>;

template <class T>
concept dereferences_to_direct = !direct<T> && requires(const T& t) {
    *t;
    requires direct<std::remove_cvref_t<decltype(*t)>>;
};

struct fn {
    /// The length estimate of `t`, looked up in this order:
    /// 1. `t.job_length()`;
    /// 2. `job_length(t)` found by argument-dependent lookup (adapt a type
    ///    you cannot change by declaring this function in its namespace);
    /// 3. `t` itself, for arithmetic types (a bare number is its own length);
    /// 4. the same rules applied to `*t`, for pointers and smart pointers.
    /// The result must be totally ordered. Never blocks; thread-safe when the
    /// customisation is.
    template <class T>
        requires direct<T> || dereferences_to_direct<T>
    constexpr auto operator()(const T& t) const noexcept(nothrow<T>()) {
        if constexpr (has_member<T>)
            return t.job_length();
        else if constexpr (has_adl<T>)
            return job_length(t);
        else if constexpr (is_number<T>)
            return t;
        else
            return (*this)(*t);
    }

private:
    // Whether the lookup above cannot throw (so that a policy that reads
    // the estimate can promise not to throw either).
    template <class T>
    static constexpr bool nothrow() noexcept {
        if constexpr (has_member<T>)
            return noexcept(std::declval<const T&>().job_length());
        else if constexpr (has_adl<T>)
            return noexcept(job_length(std::declval<const T&>()));
        else if constexpr (is_number<T>)
            return true;
        else
            return noexcept(*std::declval<const T&>()) &&
                   nothrow<std::remove_cvref_t<decltype(*std::declval<const T&>())>>();
    }
};

} // namespace detail::job_length_cpo

inline namespace cpo {
/// Customisation-point object; see `detail::job_length_cpo::fn::operator()`.
inline constexpr detail::job_length_cpo::fn job_length{};
} // namespace cpo

/// The type of `kettle::job_length`: the default projection of `sjf`/`srtf`.
using job_length_fn = detail::job_length_cpo::fn;

/// Types whose length estimate `kettle::job_length` can read.
template <class T>
concept has_job_length = std::invocable<const job_length_fn&, const T&>;

} // namespace kettle
