// SPDX-License-Identifier: MIT
#pragma once

/// The locking-policy concept: the second, orthogonal parameter of
/// `run_queue<Policy, Locking>` (DESIGN §2).

#include <concepts>

namespace kettle {

/// How a `run_queue` protects its scheduling policy.
///
/// - `mutex_type`: a default-constructible BasicLockable the queue holds
///   around every call into the policy (a no-op type for `single_thread`).
/// - `thread_safe`: whether the queue may be used from several threads.
/// - `supports<Policy>`: whether this locking can protect `Policy` at all.
///   A locking scheme that cannot exist for a policy (a lock-free SJF heap)
///   says `false`, and `run_queue` rejects the combination at compile time.
///
/// Lock-free forms, which protect nothing with a lock, are expected to be
/// partial specialisations of `run_queue` selected by their locking tag; they
/// still model this concept (with a no-op `mutex_type`) so that the same
/// checks apply.
template <class L>
concept locking_policy = requires {
    typename L::mutex_type;
    { L::thread_safe } -> std::convertible_to<bool>;
} && std::default_initializable<typename L::mutex_type> &&
    requires(typename L::mutex_type& m) {
        { m.lock() } -> std::same_as<void>;
        { m.unlock() } -> std::same_as<void>;
    };

/// A locking policy that can protect `Policy`.
template <class L, class Policy>
concept locking_policy_for = locking_policy<L> && requires {
    { L::template supports<Policy> } -> std::convertible_to<bool>;
} && static_cast<bool>(L::template supports<Policy>);

} // namespace kettle
