// SPDX-License-Identifier: MIT
#pragma once

/// The queues behind `event_loop::post`: a lock-free multi-producer stack for
/// other threads, a plain FIFO for the loop's own thread.

#include <kettle/mode/executor.hpp>

#include <atomic>

namespace kettle::detail {

/// Posts from any thread. Producers push with one CAS; the loop takes
/// everything with one exchange and gets it back in posting order.
///
/// Wake-ups coalesce on the empty -> non-empty transition: only the push that
/// finds the stack empty must wake the loop; later pushes know a wake-up is
/// already on its way (or that the loop has not taken the batch yet and will
/// look before it sleeps).
class remote_post_stack {
public:
    /// Any thread. Returns true if the stack was empty: the caller must wake
    /// the loop.
    bool push(post_node* n) noexcept {
        post_node* head = m_head.load(std::memory_order_relaxed);
        do {
            n->m_next = head;
        } while (!m_head.compare_exchange_weak(head, n, std::memory_order_seq_cst, std::memory_order_relaxed));
        return head == nullptr;
    }

    /// Loop thread. Everything pushed so far, oldest first, as a chain
    /// through `m_next` (null if none).
    [[nodiscard]] post_node* take_all() noexcept {
        post_node* n = m_head.exchange(nullptr, std::memory_order_seq_cst);
        post_node* reversed = nullptr;
        while (n != nullptr) {
            post_node* next = n->m_next;
            n->m_next = reversed;
            reversed = n;
            n = next;
        }
        return reversed;
    }

    /// Any thread; a hint unless the caller is the only consumer.
    [[nodiscard]] bool empty() const noexcept { return m_head.load(std::memory_order_acquire) == nullptr; }

private:
    // null: empty, and the next push must wake the loop; otherwise the newest
    // node. Pushes release their node's contents; take_all acquires them.
    // Both are sequentially consistent so that a consumer can pair them with
    // a wake-up flag of its own (the coroutine scheduler does); on x86 the
    // instructions are the same either way.
    std::atomic<post_node*> m_head{nullptr};
};

/// A FIFO chain of post nodes, single-threaded.
class post_fifo {
public:
    void push(post_node* n) noexcept {
        n->m_next = nullptr;
        if (m_tail == nullptr) {
            m_head = n;
        } else {
            m_tail->m_next = n;
        }
        m_tail = n;
    }

    /// Appends a null-terminated chain.
    void splice(post_node* chain) noexcept {
        if (chain == nullptr) {
            return;
        }
        if (m_tail == nullptr) {
            m_head = chain;
        } else {
            m_tail->m_next = chain;
        }
        post_node* last = chain;
        while (last->m_next != nullptr) {
            last = last->m_next;
        }
        m_tail = last;
    }

    [[nodiscard]] post_node* pop() noexcept {
        post_node* n = m_head;
        if (n != nullptr) {
            m_head = n->m_next;
            if (m_head == nullptr) {
                m_tail = nullptr;
            }
            n->m_next = nullptr;
        }
        return n;
    }

    /// Takes the whole chain, leaving this empty.
    [[nodiscard]] post_node* take_all() noexcept {
        post_node* n = m_head;
        m_head = m_tail = nullptr;
        return n;
    }

    [[nodiscard]] bool empty() const noexcept { return m_head == nullptr; }

private:
    post_node* m_head = nullptr;
    post_node* m_tail = nullptr;
};

} // namespace kettle::detail
