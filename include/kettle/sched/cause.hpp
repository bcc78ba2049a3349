// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::cause`: why a task (re-)enters the ready queue (DESIGN §2).

namespace kettle {

/// The reason passed to a scheduling policy's `push`.
///
/// The course's three reasons a task becomes ready, plus a voluntary yield:
/// - `created`: the task is new; the policy initialises its per-task state.
/// - `preempted`: the CPU was taken from it (its quantum ran out, or
///   `preempts()` said a waiting task should run).
/// - `woken`: it was blocked (I/O, a timer, a lock) and is runnable again.
/// - `yielded`: it gave the CPU up voluntarily without blocking.
enum class cause { created, preempted, woken, yielded };

} // namespace kettle
