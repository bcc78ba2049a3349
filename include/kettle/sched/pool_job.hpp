// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::pool_job`: the task type a `thread_pool`'s run queues hold, and
/// `kettle::job_hint`, what its scheduling policy reads.

#include <kettle/loop/detail/unique_function.hpp>

#include <concepts>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace kettle {

/// What a `thread_pool`'s policy knows about a job before it runs. Each
/// policy reads one field and ignores the other.
struct job_hint {
    /// Read by `priority` pools (through `pool_job::priority()`): smaller
    /// runs first, 0 before 5, as with Unix nice values. Any value.
    std::int64_t priority = 0;
    /// Read by `sjf` (and `srtf`) pools through `kettle::job_length`: the
    /// expected running time in any unit used consistently; shorter runs
    /// first. Jobs without a hint count as 0, so they go first.
    std::int64_t length = 0;
};

/// One queued job: a type-erased `void()` callable and its hint.
///
/// Move-only, never allocates to move. Callables of up to four pointers
/// whose move constructor is `noexcept` are stored inline (a lambda that
/// captures a few references or pointers); larger ones take one allocation
/// when the job is made. Destroying a job that has not run *cancels* it: the
/// callable is destroyed uncalled (a job made by `thread_pool::submit` then
/// breaks its future). Not thread-safe: one owner at a time.
///
/// Pools name it in their policy: `thread_pool<sjf<pool_job>>`,
/// `thread_pool<priority<pool_job>>`; the default projections of those
/// policies find `job_length()` and `priority()`.
class pool_job {
public:
    /// An empty job (runs nothing; `operator bool` is false).
    pool_job() noexcept = default;

    /// Wraps `f`. Throws what moving or copying `f` throws, or
    /// `std::bad_alloc` when `f` does not fit inline.
    template <class F>
        requires(!std::same_as<std::remove_cvref_t<F>, pool_job> &&
                 std::is_invocable_v<std::decay_t<F>&>)
    explicit pool_job(F&& f, job_hint hint = {}) : m_fn(std::forward<F>(f)), m_hint(hint) {}

    pool_job(pool_job&&) noexcept = default;
    pool_job& operator=(pool_job&&) noexcept = default;
    pool_job(const pool_job&) = delete;
    pool_job& operator=(const pool_job&) = delete;
    ~pool_job() = default;

    /// Calls the callable once, then destroys it (so its captures are gone
    /// when `run` returns). An exception escaping the callable calls
    /// `std::terminate`, as one escaping a `std::thread`'s function does.
    /// Precondition: not empty.
    void run() noexcept {
        m_fn();
        m_fn.reset();
    }

    /// Cancels the job: destroys the callable uncalled. Idempotent.
    void reset() noexcept { m_fn.reset(); }

    [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(m_fn); }

    /// The callable, when it is an `F` (the decayed type it was made from),
    /// else null; null once the job ran or was cancelled.
    template <class F>
    [[nodiscard]] F* target() noexcept {
        return m_fn.template target<F>();
    }

    [[nodiscard]] const job_hint& hint() const noexcept { return m_hint; }
    /// `hint().priority`: what `kettle::priority_of` reads.
    [[nodiscard]] std::int64_t priority() const noexcept { return m_hint.priority; }
    /// `hint().length`: what `kettle::job_length` reads.
    [[nodiscard]] std::int64_t job_length() const noexcept { return m_hint.length; }

private:
    detail::unique_function<void()> m_fn;
    job_hint m_hint;
};

} // namespace kettle
