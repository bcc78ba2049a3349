// SPDX-License-Identifier: MIT
#pragma once

/// A move-only, type-erased callable with a small buffer: what the event loop
/// stores for descriptor and timer callbacks instead of `std::function`.

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace kettle::detail {

template <class Signature>
class unique_function;

/// Move-only `R(Args...)` callable.
///
/// Callables up to `inline_size` bytes (and no stricter alignment than a
/// pointer) whose move constructor is `noexcept` live inside the object; larger
/// ones take one heap allocation. Moving never allocates and never throws.
/// Not thread-safe: one thread at a time, like any value. Invoking an empty
/// `unique_function` is undefined behaviour (checked by `explicit operator bool`).
template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    /// Bytes of callable state stored without allocating.
    static constexpr std::size_t inline_size = 4 * sizeof(void*);

    unique_function() noexcept = default;

    /// Stores `f` (decayed). Throws what `F`'s constructor throws, or
    /// `std::bad_alloc` when `f` does not fit inline.
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
                 std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
    unique_function(F&& f) { // NOLINT(google-explicit-constructor): a callable converts
        using fn_t = std::decay_t<F>;
        if constexpr (fits_inline<fn_t>) {
            ::new (static_cast<void*>(m_storage)) fn_t(std::forward<F>(f));
            m_ops = &inline_ops<fn_t>;
        } else {
            auto owned = std::make_unique<fn_t>(std::forward<F>(f));
            ::new (static_cast<void*>(m_storage)) fn_t*(owned.release());
            m_ops = &heap_ops<fn_t>;
        }
    }

    unique_function(unique_function&& other) noexcept : m_ops(other.m_ops) {
        if (m_ops != nullptr) {
            m_ops->relocate(other.m_storage, m_storage);
            other.m_ops = nullptr;
        }
    }

    unique_function& operator=(unique_function&& other) noexcept {
        if (this != &other) {
            reset();
            if (other.m_ops != nullptr) {
                other.m_ops->relocate(other.m_storage, m_storage);
                m_ops = other.m_ops;
                other.m_ops = nullptr;
            }
        }
        return *this;
    }

    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;

    ~unique_function() { reset(); }

    /// Destroys the stored callable, if any.
    void reset() noexcept {
        if (m_ops != nullptr) {
            m_ops->destroy(m_storage);
            m_ops = nullptr;
        }
    }

    explicit operator bool() const noexcept { return m_ops != nullptr; }

    /// Calls the stored callable. Precondition: not empty.
    R operator()(Args... args) { return m_ops->invoke(m_storage, std::forward<Args>(args)...); }

    /// The stored callable when it is an `Fn`, else null.
    template <class Fn>
    [[nodiscard]] Fn* target() noexcept {
        if constexpr (fits_inline<Fn>)
            return m_ops == &inline_ops<Fn> ? as<Fn>(m_storage) : nullptr;
        else
            return m_ops == &heap_ops<Fn> ? *as<Fn*>(m_storage) : nullptr;
    }

private:
    struct ops {
        R (*invoke)(void*, Args&&...);
        void (*relocate)(void* from, void* to) noexcept; // move-construct into `to`, destroy `from`
        void (*destroy)(void*) noexcept;
    };

    template <class Fn>
    static constexpr bool fits_inline = sizeof(Fn) <= inline_size && alignof(Fn) <= alignof(void*) &&
                                        std::is_nothrow_move_constructible_v<Fn>;

    template <class Fn>
    static Fn* as(void* p) noexcept {
        return std::launder(static_cast<Fn*>(p));
    }

    template <class Fn>
    static constexpr ops inline_ops{
        [](void* p, Args&&... args) -> R { return std::invoke(*as<Fn>(p), std::forward<Args>(args)...); },
        [](void* from, void* to) noexcept {
            ::new (to) Fn(std::move(*as<Fn>(from)));
            as<Fn>(from)->~Fn();
        },
        [](void* p) noexcept { as<Fn>(p)->~Fn(); },
    };

    template <class Fn>
    static constexpr ops heap_ops{
        [](void* p, Args&&... args) -> R { return std::invoke(**as<Fn*>(p), std::forward<Args>(args)...); },
        [](void* from, void* to) noexcept { ::new (to) Fn*(*as<Fn*>(from)); },
        [](void* p) noexcept { delete *as<Fn*>(p); },
    };

    alignas(void*) unsigned char m_storage[inline_size];
    const ops* m_ops = nullptr;
};

} // namespace kettle::detail
