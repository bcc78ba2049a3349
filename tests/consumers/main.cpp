// SPDX-License-Identifier: MIT
// A consumer of kettle: compiles against the public headers and links the
// threading runtime the way a user's program would.

#include <kettle/kettle.hpp>
#include <kettle/version.hpp>

#include <atomic>
#include <cstdio>
#include <thread>
#include <type_traits>

static_assert(KETTLE_VERSION_MAJOR == 0, "this consumer was written against kettle 0.x");

int main() {
    static_assert(!std::is_same_v<kettle::sync_blocking_t, kettle::async_blocking_t>);
    std::atomic<int> boiled{0};
    std::thread kettle_thread([&boiled] { boiled.store(1, std::memory_order_release); });
    kettle_thread.join();
    std::printf("kettle %d.%d.%d consumed\n", KETTLE_VERSION_MAJOR, KETTLE_VERSION_MINOR,
                KETTLE_VERSION_PATCH);
    return boiled.load(std::memory_order_acquire) == 1 ? 0 : 1;
}
