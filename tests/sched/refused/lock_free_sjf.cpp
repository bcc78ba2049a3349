// SPDX-License-Identifier: MIT
// A lock-free SJF queue cannot exist (there is no lock-free heap): this must
// not compile, and the compiler must say why, in one sentence.
// refused: this locking policy cannot protect this scheduling policy
#include <kettle/sched/lock_free.hpp>
#include <kettle/sched/run_queue.hpp>
#include <kettle/sched/sjf.hpp>

void refused() {
    kettle::run_queue<kettle::sjf<int>, kettle::lock_free> q;
    static_cast<void>(q);
}
