// SPDX-License-Identifier: MIT
#pragma once

/// Which readiness backends this platform has, and which one
/// `kettle::event_loop<>` uses unless told otherwise.

#include <tuple>

#if defined(_WIN32)
#include <kettle/loop/detail/win32_wsapoll.hpp>
namespace kettle {
/// WSAPoll: the only readiness call Windows has for sockets.
using default_backend = wsapoll_backend;
/// Every backend that builds here, as a type list.
using available_backends = std::tuple<wsapoll_backend>;
} // namespace kettle
#elif defined(__linux__)
#include <kettle/loop/detail/linux_epoll.hpp>
#include <kettle/loop/detail/posix_poll.hpp>
namespace kettle {
/// epoll: O(1) in idle descriptors, edge triggering.
using default_backend = epoll_backend;
/// Every backend that builds here, as a type list.
using available_backends = std::tuple<epoll_backend, poll_backend>;
} // namespace kettle
#else
#include <kettle/loop/detail/posix_poll.hpp>
namespace kettle {
/// poll: every POSIX system has it.
using default_backend = poll_backend;
/// Every backend that builds here, as a type list.
using available_backends = std::tuple<poll_backend>;
} // namespace kettle
#endif
