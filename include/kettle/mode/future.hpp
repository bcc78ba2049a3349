// SPDX-License-Identifier: MIT
#pragma once

/// `kettle::future<T>`: the whistling kettle you still stand beside
/// (async, blocking). `kettle::promise<T>` fulfils one by hand.

#include <kettle/mode/detail/wait_list.hpp>
#include <kettle/mode/operation.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle {
namespace detail {

/// The state a future and its producer share. Set exactly once, by one thread.
/// How it is freed is the producer's business (`m_detach`): a promise frees it
/// by reference count; an asynchronous operation record *is* the state, so an
/// async call costs a single allocation.
template <class T>
class future_state {
public:
    using detach_fn = void (*)(future_state*) noexcept;

    explicit future_state(detach_fn on_detach) noexcept : m_detach(on_detach) {}
    future_state(const future_state&) = delete;
    future_state& operator=(const future_state&) = delete;

    template <class... U>
    void set_value(U&&... v) {
        if constexpr (!std::is_void_v<T>)
            m_value.emplace(std::forward<U>(v)...);
        publish(status::value);
    }
    void set_exception(std::exception_ptr e) noexcept {
        m_error = std::move(e);
        publish(status::error);
    }
    [[nodiscard]] bool ready() const noexcept {
        return m_status.load(std::memory_order_acquire) != status::pending;
    }
    void wait() const {
        while (!ready()) {
            auto token = m_ready.snapshot();
            if (ready())
                return;
            token.wait();
        }
    }
    [[nodiscard]] bool wait_until(const steady_time& deadline) const {
        while (!ready()) {
            auto token = m_ready.snapshot();
            if (ready())
                return true;
            if (!token.wait_until(deadline))
                return ready();
        }
        return true;
    }
    /// Precondition: ready(). Moves the value out or rethrows the exception.
    T take() {
        if (m_status.load(std::memory_order_acquire) == status::error)
            // Moved out: the consumer's thread then owns the exception's last
            // reference, rather than whichever thread frees this state.
            std::rethrow_exception(std::move(m_error));
        if constexpr (!std::is_void_v<T>)
            return std::move(*m_value);
    }
    /// The consumer is done with the state (the future is destroyed or consumed).
    void detach() noexcept { m_detach(this); }

protected:
    ~future_state() = default;

private:
    enum class status : std::uint8_t { pending, value, error };

    void publish(status s) noexcept {
        m_status.store(s, std::memory_order_release); // pairs with ready()'s acquire
        m_ready.notify_all();
    }

    struct no_value {};
    [[no_unique_address]] std::conditional_t<std::is_void_v<T>, no_value, std::optional<T>>
        m_value;
    std::exception_ptr m_error;
    std::atomic<status> m_status{status::pending}; // pending -> value | error, once
    mutable wait_list m_ready;
    detach_fn m_detach;
};

} // namespace detail

/// The result of an operation started with `async_blocking`, or of a
/// `promise`. Move-only; not thread-safe itself (one owner), while the
/// producer may complete it from any thread.
///
/// `ready()` never blocks; `get()` blocks until the result is there, then
/// returns it or rethrows the exception the operation ended with. If the
/// producer goes away without a result (its loop or source destroyed, a
/// promise dropped) `get()` throws `std::future_error(broken_promise)`.
/// Destroying a future whose operation is still pending cancels the operation
/// if it has not started completing; nothing it took is lost.
template <class T>
class [[nodiscard]] future {
public:
    using value_type = T;

    future() noexcept = default;
    explicit future(detail::future_state<T>* state) noexcept : m_state(state) {}
    future(future&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
    future& operator=(future&& other) noexcept {
        if (this != &other) {
            release();
            m_state = std::exchange(other.m_state, nullptr);
        }
        return *this;
    }
    ~future() { release(); }

    /// True while the future refers to a result not yet taken.
    [[nodiscard]] bool valid() const noexcept { return m_state != nullptr; }

    /// Whether the result is there. Never blocks. Precondition: valid().
    [[nodiscard]] bool ready() const noexcept { return m_state->ready(); }

    /// Blocks until ready. Precondition: valid().
    void wait() const { m_state->wait(); }

    /// Blocks until ready or `timeout` passes; true if ready.
    template <class Rep, class Period>
    [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return m_state->wait_until(deadline_after(timeout));
    }

    /// Blocks until ready, then returns the value (or rethrows). Consumes the future.
    T get() {
        m_state->wait();
        return consume();
    }

    /// As `get`, but gives up after `timeout`: empty (or false for `void`) on
    /// timeout, and the future stays valid so you may ask again.
    template <class Rep, class Period>
    attempt<T> get_for(std::chrono::duration<Rep, Period> timeout) {
        if (!m_state->wait_until(deadline_after(timeout))) {
            if constexpr (std::is_void_v<T>)
                return false;
            else
                return std::nullopt;
        }
        if constexpr (std::is_void_v<T>) {
            consume();
            return true;
        } else {
            return attempt<T>(consume());
        }
    }

private:
    T consume() {
        struct releaser {
            future* self;
            ~releaser() { self->release(); }
        } guard{this};
        return m_state->take();
    }

    void release() noexcept {
        if (m_state)
            std::exchange(m_state, nullptr)->detach();
    }

    detail::future_state<T>* m_state = nullptr;
};

/// The producing side of a `future` made by hand. Move-only. `set_value` /
/// `set_exception` may be called from any thread, once. Destroying a promise
/// without setting it breaks it: `get()` throws `std::future_error`.
template <class T>
class promise {
public:
    promise() : m_state(new shared_state) {}
    promise(promise&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
    promise& operator=(promise&& other) noexcept {
        if (this != &other) {
            abandon();
            m_state = std::exchange(other.m_state, nullptr);
        }
        return *this;
    }
    ~promise() { abandon(); }

    /// Once only (throws std::future_error(future_already_retrieved) after).
    future<T> get_future() {
        if (!m_state || m_state->m_retrieved)
            throw std::future_error(std::future_errc::future_already_retrieved);
        m_state->m_retrieved = true;
        m_state->m_refs.fetch_add(1, std::memory_order_relaxed);
        return future<T>(m_state);
    }
    template <class... U>
    void set_value(U&&... v) {
        take_state()->set_value(std::forward<U>(v)...);
        m_state->detach();
        m_state = nullptr;
    }
    void set_exception(std::exception_ptr e) {
        take_state()->set_exception(std::move(e));
        m_state->detach();
        m_state = nullptr;
    }

private:
    struct shared_state final : detail::future_state<T> {
        shared_state() noexcept : detail::future_state<T>(&release) {}
        static void release(detail::future_state<T>* s) noexcept {
            auto* self = static_cast<shared_state*>(s);
            if (self->m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
                delete self;
        }
        std::atomic<int> m_refs{1}; // the promise, and the future once retrieved
        bool m_retrieved = false;
    };

    shared_state* take_state() {
        if (!m_state)
            throw std::future_error(std::future_errc::promise_already_satisfied);
        return m_state;
    }
    void abandon() noexcept {
        if (!m_state)
            return;
        m_state->set_exception(
            std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
        std::exchange(m_state, nullptr)->detach();
    }

    shared_state* m_state;
};

} // namespace kettle
