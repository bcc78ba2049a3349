// SPDX-License-Identifier: MIT
#pragma once

/// When a descriptor registration reports readiness: level or edge.

namespace kettle {

/// When a registration reports readiness.
///
/// - `level` (every backend): the callback runs on every loop iteration while
///   the descriptor is ready, so a callback that does not drain a readable
///   descriptor (or fill a writable one) is called again at once. Simple and
///   forgiving; the default.
/// - `edge` (only backends whose `supports_edge_trigger` is true: epoll): the
///   callback runs when readiness *changes* (new data arrived, buffer space
///   appeared), once per change. The callback must read or write until the
///   call would block (`EAGAIN`), or it may never hear of the descriptor
///   again. Other backends reject `edge` with `std::errc::operation_not_supported`.
enum class trigger {
    level,
    edge,
};

} // namespace kettle
