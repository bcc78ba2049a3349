// SPDX-License-Identifier: MIT
#pragma once

/// The operating system's name for something an event loop can watch.

#include <cstdint>

namespace kettle {

#if defined(_WIN32)
/// A Winsock `SOCKET` (an unsigned pointer-sized integer). WSAPoll watches
/// sockets only.
using native_handle = std::uintptr_t;
/// `INVALID_SOCKET`.
inline constexpr native_handle invalid_native_handle = ~native_handle{0};
#else
/// A POSIX file descriptor.
using native_handle = int;
/// No descriptor.
inline constexpr native_handle invalid_native_handle = -1;
#endif

} // namespace kettle
