// SPDX-License-Identifier: MIT
#pragma once

/// Which task an operation record belongs to: a small open-addressing hash
/// table from node addresses to tasks, for `coroutine_scheduler`.

#include <kettle/sched/detail/coroutine_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace kettle::detail {

/// Maps the address of a tracked operation's post node, and of its tracked
/// node, to the task that started it (and each to the other), so that a
/// completion posted later — from any thread — wakes that task.
///
/// Linear probing with backward-shift deletion (no tombstones); grows at a
/// load of 1/2. Single-threaded. Lookups and erasures never allocate;
/// `insert` may (std::bad_alloc).
class coroutine_node_table {
public:
    struct value {
        coroutine_control* task = nullptr;
        const void* partner = nullptr; // the other node of the same record
    };

    coroutine_node_table() = default;
    coroutine_node_table(const coroutine_node_table&) = delete;
    coroutine_node_table& operator=(const coroutine_node_table&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return m_size; }

    [[nodiscard]] const value* find(const void* key) const noexcept {
        if (m_size == 0)
            return nullptr;
        for (std::size_t i = slot_of(key);; i = (i + 1) & m_mask) {
            if (m_slots[i].key == key)
                return &m_slots[i].v;
            if (m_slots[i].key == nullptr)
                return nullptr;
        }
    }

    /// Inserts or overwrites.
    void insert(const void* key, value v) {
        if ((m_size + 1) * 2 > m_capacity)
            grow();
        for (std::size_t i = slot_of(key);; i = (i + 1) & m_mask) {
            if (m_slots[i].key == key) {
                m_slots[i].v = v;
                return;
            }
            if (m_slots[i].key == nullptr) {
                m_slots[i] = {key, v};
                ++m_size;
                return;
            }
        }
    }

    void erase(const void* key) noexcept {
        if (m_size == 0)
            return;
        std::size_t i = slot_of(key);
        for (;; i = (i + 1) & m_mask) {
            if (m_slots[i].key == nullptr)
                return;
            if (m_slots[i].key == key)
                break;
        }
        erase_at(i);
    }

    /// Removes every entry of `task`. Linear in the capacity.
    void erase_task(const coroutine_control* task) noexcept {
        for (std::size_t i = 0; i < m_capacity;) {
            if (m_slots[i].key != nullptr && m_slots[i].v.task == task)
                erase_at(i); // shifts a later entry into i: look at i again
            else
                ++i;
        }
    }

private:
    struct slot {
        const void* key = nullptr;
        value v;
    };

    [[nodiscard]] std::size_t slot_of(const void* key) const noexcept {
        // Fibonacci hashing of the address; the low bits are alignment.
        const auto k = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key));
        return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 32) & m_mask;
    }

    void erase_at(std::size_t i) noexcept {
        // Backward shift: move later entries of the same probe run into the hole.
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & m_mask; m_slots[j].key != nullptr; j = (j + 1) & m_mask) {
            const std::size_t home = slot_of(m_slots[j].key);
            // j may move to the hole when its home is not in (hole, j] cyclically.
            const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                m_slots[hole] = m_slots[j];
                hole = j;
            }
        }
        m_slots[hole] = slot{};
        --m_size;
    }

    void grow() {
        const std::size_t capacity = m_capacity == 0 ? 16 : m_capacity * 2;
        auto old = std::exchange(m_slots, std::make_unique<slot[]>(capacity));
        const std::size_t old_capacity = std::exchange(m_capacity, capacity);
        m_mask = capacity - 1;
        m_size = 0;
        for (std::size_t i = 0; i < old_capacity; ++i)
            if (old[i].key != nullptr)
                insert(old[i].key, old[i].v);
    }

    std::unique_ptr<slot[]> m_slots;
    std::size_t m_capacity = 0; // a power of two, or 0
    std::size_t m_mask = 0;
    std::size_t m_size = 0;
};

} // namespace kettle::detail
