// SPDX-License-Identifier: MIT
#pragma once

/// The root coroutine `coroutine_scheduler` wraps every spawned task in: its
/// promise is the task's control block; its frame comes from the scheduler's
/// pool; a joinable task also has a join state.

#include <kettle/mode/task.hpp>
#include <kettle/sched/detail/coroutine_context.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace kettle::detail {

/// Free lists of coroutine frames by size class, per scheduler.
///
/// Every frame carries a header naming its pool, because a coroutine's
/// `operator delete` only gets the address and size. Frames larger than the
/// largest class, and blocks beyond `max_cached` per class, go back to the
/// global heap. Single-threaded: frames are created and destroyed on the
/// scheduler's thread, and all of them before the pool is destroyed.
class coroutine_frame_pool {
public:
    static constexpr std::size_t header = alignof(std::max_align_t) > sizeof(void*) ? alignof(std::max_align_t) : sizeof(void*);
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 16; // frames up to 1 KiB, header included
    static constexpr std::size_t max_cached = 1024;

    coroutine_frame_pool() = default;
    coroutine_frame_pool(const coroutine_frame_pool&) = delete;
    coroutine_frame_pool& operator=(const coroutine_frame_pool&) = delete;
    ~coroutine_frame_pool() {
        for (auto& head : m_free) {
            while (head != nullptr)
                ::operator delete(std::exchange(head, head->next));
        }
    }

    /// Throws std::bad_alloc.
    [[nodiscard]] void* allocate(std::size_t n) {
        const std::size_t c = class_of(n);
        void* block;
        if (c < classes && m_free[c] != nullptr) {
            block = std::exchange(m_free[c], m_free[c]->next);
            --m_cached[c];
        } else {
            block = ::operator new(c < classes ? (c + 1) * granule : n + header);
        }
        *static_cast<coroutine_frame_pool**>(block) = this;
        return static_cast<std::byte*>(block) + header;
    }

    static void deallocate(void* frame, std::size_t n) noexcept {
        void* block = static_cast<std::byte*>(frame) - header;
        coroutine_frame_pool* self = *static_cast<coroutine_frame_pool**>(block);
        const std::size_t c = class_of(n);
        if (c < classes && self->m_cached[c] < max_cached) {
            self->m_free[c] = ::new (block) free_block{self->m_free[c]};
            ++self->m_cached[c];
        } else {
            ::operator delete(block);
        }
    }

private:
    struct free_block {
        free_block* next;
    };
    static constexpr std::size_t class_of(std::size_t n) noexcept { return (n + header - 1) / granule; }

    free_block* m_free[classes] = {};
    std::size_t m_cached[classes] = {};
};

/// What a joinable task and its `join_handle` share: the outcome, and the
/// coroutines waiting for it. Reference-counted by the task and the handle;
/// scheduler's thread only.
class coroutine_join_base {
public:
    enum class status : std::uint8_t { pending, value, error, cancelled };

    /// A coroutine waiting in `co_await handle`; resumed as part of `m_task`.
    struct waiter : coroutine_resume_node {
        coroutine_control* m_task = nullptr; // the waiting task, or null outside any task
        waiter* m_prev = nullptr;
        waiter* m_next = nullptr;
        bool m_linked = false;
    };

    coroutine_join_base(const coroutine_join_base&) = delete;
    coroutine_join_base& operator=(const coroutine_join_base&) = delete;

    void release() noexcept {
        if (--m_refs == 0)
            m_destroy(this);
    }

    void link(waiter& w) noexcept {
        w.m_prev = m_waiters_tail;
        w.m_next = nullptr;
        (m_waiters_tail ? m_waiters_tail->m_next : m_waiters) = &w;
        m_waiters_tail = &w;
        w.m_linked = true;
    }
    void unlink(waiter& w) noexcept {
        if (!w.m_linked)
            return;
        (w.m_prev ? w.m_prev->m_next : m_waiters) = w.m_next;
        (w.m_next ? w.m_next->m_prev : m_waiters_tail) = w.m_prev;
        w.m_linked = false;
    }
    [[nodiscard]] waiter* pop_waiter() noexcept {
        waiter* w = m_waiters;
        if (w != nullptr)
            unlink(*w);
        return w;
    }

    status m_status = status::pending;
    bool m_detached = false;         // the handle is gone: an exception goes to run()
    std::uint32_t m_refs = 2;        // the task and the handle
    coroutine_control* m_task;       // null once the task is retired
    coroutine_scheduler_base* m_scheduler;
    std::exception_ptr m_error;
    waiter* m_waiters = nullptr;
    waiter* m_waiters_tail = nullptr;

protected:
    using destroy_fn = void (*)(coroutine_join_base*) noexcept;
    coroutine_join_base(coroutine_scheduler_base& s, destroy_fn d) noexcept
        : m_task(nullptr), m_scheduler(&s), m_destroy(d) {}
    ~coroutine_join_base() = default;

private:
    destroy_fn m_destroy;
};

template <class T>
class coroutine_join_state final : public coroutine_join_base {
public:
    explicit coroutine_join_state(coroutine_scheduler_base& s) noexcept : coroutine_join_base(s, &destroy) {}

    struct no_value {};
    [[no_unique_address]] std::conditional_t<std::is_void_v<T>, no_value, std::optional<T>> m_value;

private:
    static void destroy(coroutine_join_base* b) noexcept { delete static_cast<coroutine_join_state*>(b); }
};

template <class Entry>
class coroutine_promise;

/// The owning handle `coroutine_body` returns; the scheduler takes the frame
/// out of it with `release()`.
template <class Entry>
class [[nodiscard]] coroutine_root {
public:
    using promise_type = coroutine_promise<Entry>;
    explicit coroutine_root(std::coroutine_handle<promise_type> h) noexcept : m_handle(h) {}
    coroutine_root(coroutine_root&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    coroutine_root& operator=(coroutine_root&&) = delete;
    ~coroutine_root() {
        if (m_handle)
            m_handle.destroy();
    }
    [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept { return std::exchange(m_handle, {}); }

private:
    std::coroutine_handle<promise_type> m_handle;
};

/// The control block of a task on a scheduler whose policy entries are
/// `Entry`: the promise of its root coroutine.
template <class Entry>
class coroutine_promise final : public coroutine_control {
public:
    coroutine_promise() noexcept { m_start.m_handle = std::coroutine_handle<coroutine_promise>::from_promise(*this); }

    coroutine_root<Entry> get_return_object() noexcept {
        return coroutine_root<Entry>(std::coroutine_handle<coroutine_promise>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() noexcept {
        struct mark_done {
            bool await_ready() const noexcept { return false; }
            // Back to whoever resumed the chain (the scheduler's slice); it
            // sees over_done and retires the task.
            void await_suspend(std::coroutine_handle<coroutine_promise> h) const noexcept {
                h.promise().m_over |= coroutine_control::over_done;
            }
            void await_resume() const noexcept {}
        };
        return mark_done{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { m_error = std::current_exception(); }

    // The frame comes from the scheduler's pool (the body's first parameter).
    template <class... Rest>
    static void* operator new(std::size_t n, coroutine_frame_pool& pool, Rest&...) {
        return pool.allocate(n);
    }
    static void operator delete(void* p, std::size_t n) noexcept { coroutine_frame_pool::deallocate(p, n); }

    /// The policy entry, while the task is blocked.
    std::optional<Entry> m_parked;
};

// GCC takes the pool's operator new (which has the body's parameters as
// placement arguments) and the promise's sized operator delete for a
// mismatched pair; they are one pair, as the coroutine rules intend.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
/// The root coroutine: runs the task and hands its outcome to the join state.
template <class Entry, class T>
coroutine_root<Entry> coroutine_body(coroutine_frame_pool&, task<T> t, coroutine_join_state<T>* join) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
    } else if (join != nullptr) {
        join->m_value.emplace(co_await std::move(t));
    } else {
        static_cast<void>(co_await std::move(t));
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace kettle::detail
