// SPDX-License-Identifier: MIT
#pragma once

#include <kettle/mode/executor.hpp>
#include <kettle/mode/future.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/readiness.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle::detail {

/// The one allocation of an asynchronous operation: the operation itself, the
/// hooks that tie it to its readiness source and its executor, and a *sink*
/// that says what happens with the result (call back, fulfil a future, resume
/// a coroutine).
///
/// Threads: created on any thread, then everything runs on the executor's
/// thread (E), except `on_notify` (the thread that changed the source) and
/// `detach` (the owner's thread). Ownership is a reference count: one for the
/// executor side, one for the owner (future or awaiter) when there is one.
///
/// On the executor's thread the record is always in one of three places:
/// posted (in the executor's queue), armed (linked in its source), or done.
/// Sources and the executor must not be destroyed concurrently with each
/// other; destroy sources on the executor's thread or while it is not running.
template <class Op, class Executor, class Sink>
class completion final : public Sink, post_node, waiter, tracked_node {
    using result_type = result_of_t<Op>;
    using token_type = readiness_of_t<Op>;

public:
    template <class... SinkArgs>
    completion(Op&& op, Executor& exec, bool has_owner, SinkArgs&&... sink_args)
        : Sink(std::forward<SinkArgs>(sink_args)...),
          m_op(std::move(op)),
          m_exec(exec),
          m_refs(has_owner ? 2 : 1) {
        post_node::m_run = &on_run;
        post_node::m_discard = &on_discard;
        waiter::m_notify = &on_notify;
        tracked_node::m_abandon = &on_abandon;
        m_detach_node.m_run = &on_detach;
        m_detach_node.m_discard = &on_detach_discard;
        m_detach_node.self = this;
    }

    /// Hands the record to its executor. Any thread; the record may complete
    /// (and, without an owner, be freed) before this returns.
    void start() noexcept { m_exec.post(static_cast<post_node&>(*this)); }

    /// The owner gives up its interest. Cancels the operation if it has not
    /// completed. Any thread.
    void detach() noexcept {
        m_detached.store(true, std::memory_order_release);
        if (m_refs.load(std::memory_order_acquire) == 1) // the executor side is done
            release();
        else
            m_exec.post(m_detach_node); // carries the owner's reference
    }

    /// Frees the record once both sides are done.
    void release() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

private:
    struct detach_node : post_node {
        completion* self = nullptr;
    };

    // Casts through references: a pointer cast would carry a null check the
    // optimiser then warns about; these pointers are never null.
    static completion* from(post_node* n) noexcept { return &static_cast<completion&>(*n); }

    static void on_run(post_node* n) noexcept { from(n)->step(); }

    void step() noexcept {
        m_armed = false;
        if (m_detached.load(std::memory_order_acquire) ||
            m_source_gone.load(std::memory_order_acquire)) {
            finish_without_result();
            return;
        }
        if (!m_tracked) {
            m_exec.track(*this);
            m_tracked = true;
        }
        std::exception_ptr error;
        try {
            if (auto a = m_op.try_complete(); completed<result_type>(a))
                return deliver(std::move(a));
            for (;;) {
                m_token.emplace(m_op.readiness());
                if (auto a = m_op.try_complete(); completed<result_type>(a)) {
                    m_token.reset(); // the source may die before this record does
                    return deliver(std::move(a));
                }
                if (m_token->arm(static_cast<waiter&>(*this), m_exec)) {
                    m_armed = true;
                    return;
                }
            }
        } catch (...) {
            error = std::current_exception();
        }
        // Only a throw gets here. The error is handed on after the handler
        // ended, so the thread that rethrows it holds its last reference.
        m_token.reset();
        untrack();
        auto next = Sink::fail(std::move(error));
        release();
        if (next)
            next.resume();
    }

    void deliver(attempt<result_type>&& a) {
        untrack();
        std::coroutine_handle<> next;
        if constexpr (std::is_void_v<result_type>)
            next = Sink::deliver();
        else
            next = Sink::deliver(std::move(*a));
        release();
        if (next)
            next.resume(); // after release: the owner's reference keeps the record
    }

    void finish_without_result() noexcept {
        untrack();
        Sink::abandon();
        release();
    }

    void untrack() noexcept {
        if (m_tracked) {
            m_exec.untrack(*this);
            m_tracked = false;
        }
    }

    // The source changed or is going away. Any thread, under the source's lock.
    static void on_notify(waiter* w, bool abandoned) noexcept {
        auto* self = &static_cast<completion&>(*w);
        if (abandoned)
            self->m_source_gone.store(true, std::memory_order_release);
        self->m_exec.post(static_cast<post_node&>(*self));
    }

    // The executor is being destroyed (it has unlinked us already).
    static void on_abandon(tracked_node* t) noexcept {
        auto* self = &static_cast<completion&>(*t);
        self->m_tracked = false;
        if (self->disarm()) {
            self->Sink::abandon();
            self->release();
        }
        // else: we are posted, and on_discard finishes us.
    }

    static void on_discard(post_node* n) noexcept { from(n)->finish_without_result(); }

    static void on_detach(post_node* n) noexcept {
        completion* self = static_cast<detach_node&>(*n).self;
        if (self->disarm())
            self->finish_without_result();
        // else: posted (step() sees m_detached) or already done.
        self->release(); // the owner's reference
    }

    static void on_detach_discard(post_node* n) noexcept {
        static_cast<detach_node&>(*n).self->release();
    }

    // Unlinks us from the source if we are armed there and it has not fired.
    bool disarm() noexcept {
        if (!m_armed || m_source_gone.load(std::memory_order_acquire))
            return false;
        if (!m_token->disarm(static_cast<waiter&>(*this)))
            return false;
        m_armed = false;
        return true;
    }

    Op m_op;
    Executor& m_exec;
    std::optional<token_type> m_token; // executor thread only
    detach_node m_detach_node;
    std::atomic<int> m_refs;                // executor side + owner (future or awaiter)
    std::atomic<bool> m_detached{false};    // set once by the owner; read by step()
    std::atomic<bool> m_source_gone{false}; // set once by the source's destructor
    bool m_armed = false;                   // executor thread only
    bool m_tracked = false;                 // executor thread only
};

/// Sink: call a function with the result, on the executor's thread. The
/// function is destroyed uncalled if the operation is abandoned.
template <class F>
class callback_sink {
protected:
    template <class G>
    explicit callback_sink(G&& f) : m_f(std::forward<G>(f)) {}

    template <class... R>
    std::coroutine_handle<> deliver(R&&... r) {
        m_f(std::forward<R>(r)...);
        return {};
    }
    std::coroutine_handle<> fail(std::exception_ptr) noexcept {
        // A callback has no error channel; an operation that throws from
        // try_complete cannot be used with async_nonblocking + callback.
        std::terminate();
    }
    void abandon() noexcept {}

private:
    F m_f;
};

/// Sink: fulfil the future this record also is. `detach` is how the future
/// hands the record back (see `completion::detach`).
template <class T>
class future_sink : public future_state<T> {
protected:
    explicit future_sink(typename future_state<T>::detach_fn on_detach) noexcept
        : future_state<T>(on_detach) {}

    template <class... R>
    std::coroutine_handle<> deliver(R&&... r) {
        this->set_value(std::forward<R>(r)...);
        return {};
    }
    std::coroutine_handle<> fail(std::exception_ptr e) noexcept {
        this->set_exception(std::move(e));
        return {};
    }
    void abandon() noexcept {
        this->set_exception(
            std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
    }
};

/// Sink: keep the result and resume a suspended coroutine.
template <class T>
class resume_sink {
public:
    /// Precondition: the coroutine was resumed by this record.
    T take() {
        if (m_error)
            std::rethrow_exception(m_error);
        if constexpr (!std::is_void_v<T>)
            return std::move(*m_value);
    }

protected:
    explicit resume_sink(std::coroutine_handle<> h) noexcept : m_continuation(h) {}

    template <class... R>
    std::coroutine_handle<> deliver(R&&... r) {
        if constexpr (!std::is_void_v<T>)
            m_value.emplace(std::forward<R>(r)...);
        return m_continuation;
    }
    std::coroutine_handle<> fail(std::exception_ptr e) noexcept {
        m_error = std::move(e);
        return m_continuation;
    }
    // Never resumed: the coroutine's owner destroys it, which detaches us.
    void abandon() noexcept {}

private:
    struct no_value {};
    std::coroutine_handle<> m_continuation;
    [[no_unique_address]] std::conditional_t<std::is_void_v<T>, no_value, std::optional<T>>
        m_value;
    std::exception_ptr m_error;
};

} // namespace kettle::detail
