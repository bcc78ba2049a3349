// SPDX-License-Identifier: MIT
#pragma once

/// A binary min-heap of entries ordered by (key, arrival order): the common
/// core of the policies that pick "the smallest" (SJF, SRTF, priority, fair
/// share). Equal keys leave in the order they came in (FIFO), which is what
/// makes results reproducible and textbook-exact.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace kettle::detail {

/// Not synchronised. `push` may allocate (amortised); `pop_min` never does.
template <class Key, class Entry>
class keyed_heap {
public:
    struct node {
        Key key;
        std::uint64_t seq; // order of arrival: the tie-breaker
        Entry entry;
    };

    void push(Key key, Entry entry) {
        m_nodes.push_back(node{std::move(key), m_next_seq++, std::move(entry)});
        std::push_heap(m_nodes.begin(), m_nodes.end(), later);
    }

    /// Precondition: not empty.
    [[nodiscard]] const node& min() const noexcept { return m_nodes.front(); }

    /// Precondition: not empty.
    node pop_min() {
        std::pop_heap(m_nodes.begin(), m_nodes.end(), later);
        node out = std::move(m_nodes.back());
        m_nodes.pop_back();
        return out;
    }

    /// `push(key, entry)` then `pop_min()`, with one sift-down at most: the
    /// new node leaves at once when it comes first, else it takes the top's
    /// place. Never allocates.
    node push_pop(Key key, Entry entry) noexcept(nothrow) {
        node n{std::move(key), m_next_seq++, std::move(entry)};
        if (m_nodes.empty() || !later(n, m_nodes.front()))
            return n;
        node out = std::move(m_nodes.front());
        sift_down_from_top(std::move(n));
        return out;
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_nodes.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_nodes.empty(); }

    /// Moving keys and entries and comparing keys cannot throw.
    static constexpr bool nothrow = std::is_nothrow_move_constructible_v<Key> &&
                                    std::is_nothrow_move_assignable_v<Key> &&
                                    std::is_nothrow_move_constructible_v<Entry> &&
                                    std::is_nothrow_move_assignable_v<Entry> &&
                                    noexcept(std::declval<const Key&>() < std::declval<const Key&>());

private:
    // std heaps are max-heaps: "a is later than b" puts the smallest on top.
    static bool later(const node& a, const node& b) noexcept(nothrow) {
        if (b.key < a.key)
            return true;
        if (a.key < b.key)
            return false;
        return a.seq > b.seq;
    }

    // Fills the hole at the top with `n`: smaller children move up until
    // `n` fits.
    void sift_down_from_top(node&& n) noexcept(nothrow) {
        const std::size_t size = m_nodes.size();
        std::size_t hole = 0;
        for (std::size_t child = 1; child < size; child = 2 * hole + 1) {
            if (child + 1 < size && later(m_nodes[child], m_nodes[child + 1]))
                ++child;
            if (!later(n, m_nodes[child]))
                break;
            m_nodes[hole] = std::move(m_nodes[child]);
            hole = child;
        }
        m_nodes[hole] = std::move(n);
    }

    std::vector<node> m_nodes;
    std::uint64_t m_next_seq = 0;
};

} // namespace kettle::detail
