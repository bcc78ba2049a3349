// SPDX-License-Identifier: MIT
#pragma once

/// `kettle_test::counted`: an element type that counts its own lifetimes, for
/// container and queue tests (no leaks, no double destruction, no bitwise
/// relocation of a non-trivially-copyable type, the expected copies/moves).
///
/// Thread-safe: the counters are static atomics (relaxed; read them only after
/// the threads that touched instances have been joined). Call `reset()` at the
/// start of a test, when no instance is alive; check `live() == 0` at the end.

#include <atomic>
#include <compare>
#include <cstddef>
#include <functional>

namespace kettle_test {

class counted {
public:
    /// Value carried by default-constructed instances.
    static constexpr int default_value = 0;

    counted() noexcept : counted(default_value) {}

    explicit counted(int value) noexcept : m_value(value), m_self(this) {
        s_constructions.fetch_add(1, std::memory_order_relaxed);
        s_live.fetch_add(1, std::memory_order_relaxed);
    }

    counted(const counted& other) noexcept : m_value(other.m_value), m_self(this) {
        s_constructions.fetch_add(1, std::memory_order_relaxed);
        s_copies.fetch_add(1, std::memory_order_relaxed);
        s_live.fetch_add(1, std::memory_order_relaxed);
    }

    counted(counted&& other) noexcept : m_value(other.m_value), m_self(this) {
        other.m_moved_from = true;
        s_constructions.fetch_add(1, std::memory_order_relaxed);
        s_moves.fetch_add(1, std::memory_order_relaxed);
        s_live.fetch_add(1, std::memory_order_relaxed);
    }

    counted& operator=(const counted& other) noexcept {
        m_value = other.m_value;
        m_moved_from = other.m_moved_from;
        s_copies.fetch_add(1, std::memory_order_relaxed);
        return *this;
    }

    counted& operator=(counted&& other) noexcept {
        m_value = other.m_value;
        m_moved_from = false;
        other.m_moved_from = true;
        s_moves.fetch_add(1, std::memory_order_relaxed);
        return *this;
    }

    ~counted() {
        s_destructions.fetch_add(1, std::memory_order_relaxed);
        s_live.fetch_sub(1, std::memory_order_relaxed);
        m_self = nullptr;
    }

    [[nodiscard]] int value() const noexcept { return m_value; }
    /// True once this object's value has been moved out of it.
    [[nodiscard]] bool moved_from() const noexcept { return m_moved_from; }
    /// False if the object was relocated with memcpy instead of a constructor.
    [[nodiscard]] bool intact() const noexcept { return m_self == this; }

    /// Instances constructed and not yet destroyed.
    [[nodiscard]] static long live() noexcept { return s_live.load(std::memory_order_relaxed); }
    /// Every constructor run: value, default, copy and move.
    [[nodiscard]] static long constructions() noexcept {
        return s_constructions.load(std::memory_order_relaxed);
    }
    /// Copy constructions plus copy assignments.
    [[nodiscard]] static long copies() noexcept { return s_copies.load(std::memory_order_relaxed); }
    /// Move constructions plus move assignments.
    [[nodiscard]] static long moves() noexcept { return s_moves.load(std::memory_order_relaxed); }
    [[nodiscard]] static long destructions() noexcept {
        return s_destructions.load(std::memory_order_relaxed);
    }

    /// Zero every counter. Precondition: no instance is alive (or `live()`
    /// will go negative when the survivors are destroyed).
    static void reset() noexcept {
        s_live.store(0, std::memory_order_relaxed);
        s_constructions.store(0, std::memory_order_relaxed);
        s_copies.store(0, std::memory_order_relaxed);
        s_moves.store(0, std::memory_order_relaxed);
        s_destructions.store(0, std::memory_order_relaxed);
    }

    friend bool operator==(const counted& a, const counted& b) noexcept {
        return a.m_value == b.m_value;
    }
    friend std::strong_ordering operator<=>(const counted& a, const counted& b) noexcept {
        return a.m_value <=> b.m_value;
    }

private:
    int m_value;
    bool m_moved_from = false;
    const counted* m_self; // `this` at construction; see intact()

    // Plain event counters: relaxed is enough, readers synchronise by joining.
    static inline std::atomic<long> s_live{0};
    static inline std::atomic<long> s_constructions{0};
    static inline std::atomic<long> s_copies{0};
    static inline std::atomic<long> s_moves{0};
    static inline std::atomic<long> s_destructions{0};
};

} // namespace kettle_test

template <>
struct std::hash<kettle_test::counted> {
    std::size_t operator()(const kettle_test::counted& c) const noexcept {
        return std::hash<int>{}(c.value());
    }
};
