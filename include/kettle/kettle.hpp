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

#include <kettle/loop/backend.hpp>
#include <kettle/loop/default_backend.hpp>
#include <kettle/loop/event_loop.hpp>
#include <kettle/loop/interest.hpp>
#include <kettle/loop/io_events.hpp>
#include <kettle/loop/native_handle.hpp>
#include <kettle/loop/timer_id.hpp>
#include <kettle/loop/trigger.hpp>

#include <kettle/sched/cause.hpp>
#include <kettle/sched/coroutine_ref.hpp>
#include <kettle/sched/coroutine_scheduler.hpp>
#include <kettle/sched/dispatch.hpp>
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/job_length.hpp>
#include <kettle/sched/join_handle.hpp>
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/locking_policy.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/mutex.hpp>
#include <kettle/sched/ostep_mlfq_py.hpp>
#include <kettle/sched/ostep_scheduler_py.hpp>
#include <kettle/sched/pool_job.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/sched_entry.hpp>
#include <kettle/sched/scheduling_policy.hpp>
#include <kettle/sched/sim_job.hpp>
#include <kettle/sched/sim_report.hpp>
#include <kettle/sched/simulator.hpp>
#include <kettle/sched/single_thread.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/spin.hpp>
#include <kettle/sched/srtf.hpp>
#include <kettle/sched/thread_pool.hpp>
#include <kettle/sched/yield.hpp>
