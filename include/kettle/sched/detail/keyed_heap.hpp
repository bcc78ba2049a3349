// SPDX-License-Identifier: MIT
#pragma once

/// A binary min-heap of entries ordered by (key, arrival order): the common
/// core of the policies that pick "the smallest" (SJF, SRTF, priority, fair
/// share). Equal keys leave in the order they came in (FIFO), which is what
/// makes results reproducible and textbook-exact.

#include <algorithm>
#include <cstddef>
#include <cstdint>
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

    [[nodiscard]] std::size_t size() const noexcept { return m_nodes.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_nodes.empty(); }

private:
    // std heaps are max-heaps: "a is later than b" puts the smallest on top.
    static bool later(const node& a, const node& b) {
        if (b.key < a.key)
            return true;
        if (a.key < b.key)
            return false;
        return a.seq > b.seq;
    }

    std::vector<node> m_nodes;
    std::uint64_t m_next_seq = 0;
};

} // namespace kettle::detail
