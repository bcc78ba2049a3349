// SPDX-License-Identifier: MIT
#pragma once

/// Everything kettle offers, in one include.

#include <kettle/version.hpp>

#include <kettle/mode/channel.hpp>
#include <kettle/mode/event.hpp>
#include <kettle/mode/executor.hpp>
#include <kettle/mode/future.hpp>
#include <kettle/mode/operation.hpp>
#include <kettle/mode/perform.hpp>
#include <kettle/mode/readiness.hpp>
#include <kettle/mode/sync_wait.hpp>
#include <kettle/mode/tags.hpp>
#include <kettle/mode/task.hpp>
#include <kettle/mode/when_all.hpp>
