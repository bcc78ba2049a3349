// SPDX-License-Identifier: MIT
// The program every consumer project builds (tools/check-consumers copies it
// in): it uses the headers, the loop and a thread the way a user's program
// would, so a missing include path, C++20 flag or thread library fails here.

#include <kettle/kettle.hpp>

#include <cstdio>
#include <thread>

static_assert(KETTLE_VERSION_MAJOR == 0, "this consumer was written against kettle 0.x");

int main() {
    kettle::event_loop<> loop;
    kettle::channel<int> ch(1);
    int got = 0;
    ch.pop(kettle::async_nonblocking, loop, [&got](int v) { got = v; });
    std::thread producer([&ch] { ch.push(kettle::sync_blocking, 42); });
    loop.run(); // returns once the pop completed
    producer.join();
    std::printf("kettle %d.%d.%d consumed: %d\n", KETTLE_VERSION_MAJOR, KETTLE_VERSION_MINOR,
                KETTLE_VERSION_PATCH, got);
    return got == 42 ? 0 : 1;
}
