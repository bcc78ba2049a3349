// SPDX-License-Identifier: MIT
#pragma once

/// Readiness sources: what a waiting caller sleeps on (DESIGN §1).
///
/// An operation hands out a *readiness token* that remembers the state of its
/// source when it was taken. The token answers two questions, so that no
/// wake-up is ever lost between "not yet" and "sleep":
///
/// - blocking: `wait()` / `wait_until(deadline)` return once the source may
///   have changed since the token was taken (spurious returns are allowed;
///   callers try again);
/// - asynchronous: `arm(w, executor)` asks for `w.m_notify` to be called once
///   the source changes, from whichever thread changes it; `disarm(w)` takes
///   the request back.

#include <kettle/mode/detail/saturate.hpp>

#include <chrono>
#include <concepts>

namespace kettle {
namespace detail {

/// An intrusive request to hear of a change in a readiness source.
///
/// `m_notify(w, abandoned)` is called exactly once per successful `arm`,
/// unless `disarm` returned true first. It may run on any thread, under the
/// source's lock, so it must only hand the news on (post to an executor).
/// `abandoned` is true when the source is being destroyed.
struct waiter {
    using fn = void (*)(waiter*, bool abandoned) noexcept;
    fn m_notify = nullptr;
    waiter* m_prev = nullptr;
    waiter* m_next = nullptr;
    bool m_linked = false; // guarded by the source's lock
};

} // namespace detail

using steady_time = std::chrono::steady_clock::time_point;

/// `now + timeout`, saturated: a huge timeout means "never", not an overflow.
/// A zero or negative timeout is "now": the deadline has passed.
template <class Rep, class Period>
steady_time deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (timeout <= timeout.zero())
        return now;
    return detail::saturating_add(now, detail::saturate_duration(timeout));
}

/// A token the calling thread can sleep on.
template <class R>
concept readiness_source = requires(R& r, const steady_time& deadline) {
    { r.wait() } -> std::same_as<void>;
    { r.wait_until(deadline) } -> std::same_as<bool>; // false: the deadline passed first
};

/// A token that can also notify an executor instead of a sleeping thread.
///
/// `arm` returns false when the source already changed since the token was
/// taken (the caller should try again at once), true when `w` is registered.
/// `disarm` returns true when `w` was unlinked before being notified; false
/// means the notification has already been delivered (it completed before
/// `disarm` returned).
template <class R, class Executor>
concept async_readiness_source =
    readiness_source<R> && requires(R& r, detail::waiter& w, Executor& e) {
        { r.arm(w, e) } -> std::same_as<bool>;
        { r.disarm(w) } noexcept -> std::same_as<bool>;
    };

} // namespace kettle
