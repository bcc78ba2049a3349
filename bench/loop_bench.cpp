// SPDX-License-Identifier: MIT
// The poll loop, measured against its baselines in one run:
//
//   loop.idle_fds/<backend>/<n>   one active pipe among n registered descriptors,
//                                 cost of one run_once(0): epoll stays flat, poll grows
//   post.round_trip/<who>         thread A hands work to the loop thread, which
//                                 signals A back through an eventfd; baselines: a raw
//                                 eventfd ping-pong and asio::io_context (plain: it
//                                 sleeps on a condition variable; _reactor: with a
//                                 pending timer it sleeps in epoll_wait, like kettle)
//   post.batch/<who>              1000 posts queued, then run in one go (per post)
//   timers.million/<who>          a million timers scheduled and fired (per timer)
//
// At the end a table prints the ratios (kettle / baseline) computed from this run.
// Linux only: the baselines are eventfd and pipes.

#include <kettle/loop/event_loop.hpp>

#include "support/ratio_reporter.hpp"

#include <benchmark/benchmark.h>

#if defined(KETTLE_HAVE_ASIO)
#include <asio.hpp>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// ---- helpers ------------------------------------------------------------------------

void raise_fd_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

/// A blocking eventfd: `signal()` from one thread, `wait()` in another.
class event_fd {
public:
    event_fd() : m_fd(::eventfd(0, EFD_CLOEXEC)) {}
    event_fd(const event_fd&) = delete;
    event_fd& operator=(const event_fd&) = delete;
    ~event_fd() { ::close(m_fd); }
    void signal() const noexcept {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto rc = ::write(m_fd, &one, sizeof one);
    }
    void wait() const noexcept {
        std::uint64_t value = 0;
        [[maybe_unused]] const auto rc = ::read(m_fd, &value, sizeof value);
    }

private:
    int m_fd;
};

/// Keeps a loop's run() going while the benchmark posts to it.
struct work_guard : kettle::detail::tracked_node {
    work_guard() { m_abandon = [](kettle::detail::tracked_node*) noexcept {}; }
};

// ---- idle-descriptor scaling --------------------------------------------------------

template <class Backend>
void idle_fds(benchmark::State& state) {
    raise_fd_limit();
    const auto n = static_cast<int>(state.range(0));
    int active[2];
    int idle[2];
    if (::pipe2(active, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(idle, O_CLOEXEC | O_NONBLOCK) != 0) {
        state.SkipWithError("cannot create pipes");
        return;
    }
    // The n - 1 idle descriptors are duplicates of one idle pipe's read end, whose
    // write end stays open: never readable, and n + 4 descriptors instead of 2n.
    std::vector<int> fds{active[0]};
    for (int i = 1; i < n; ++i) {
        const int fd = ::fcntl(idle[0], F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            for (std::size_t k = 1; k < fds.size(); ++k) {
                ::close(fds[k]);
            }
            for (int fd2 : {active[0], active[1], idle[0], idle[1]}) {
                ::close(fd2);
            }
            const std::string why = "cannot open " + std::to_string(n) +
                                    " descriptors (RLIMIT_NOFILE hard limit too low?)";
            state.SkipWithError(why.c_str());
            return;
        }
        fds.push_back(fd);
    }
    {
        kettle::event_loop<Backend> loop;
        std::size_t calls = 0;
        for (int fd : fds) {
            loop.add(fd, kettle::interest::readable, [&calls](kettle::io_events) { ++calls; });
        }
        const char byte = 1;
        [[maybe_unused]] const auto rc = ::write(active[1], &byte, 1); // stays unread: level-triggered, ready every time
        for (auto _ : state) {
            benchmark::DoNotOptimize(loop.run_once(0ms));
        }
        if (calls != static_cast<std::size_t>(state.iterations())) {
            state.SkipWithError("the active descriptor was not reported exactly once per iteration");
        }
        for (int fd : fds) {
            loop.remove(fd);
        }
    }
    for (std::size_t k = 1; k < fds.size(); ++k) {
        ::close(fds[k]);
    }
    for (int fd : {active[0], active[1], idle[0], idle[1]}) {
        ::close(fd);
    }
    state.counters["registered"] = static_cast<double>(n);
    state.SetLabel(std::string(Backend::name));
}

// ---- post round trip ----------------------------------------------------------------

void round_trip_raw_eventfd(benchmark::State& state) {
    event_fd forward;
    event_fd back;
    std::atomic<bool> done{false};
    std::thread peer([&] {
        for (;;) {
            forward.wait();
            if (done.load(std::memory_order_acquire)) {
                return;
            }
            back.signal();
        }
    });
    for (auto _ : state) {
        forward.signal();
        back.wait();
    }
    done.store(true, std::memory_order_release);
    forward.signal();
    peer.join();
}

template <class Backend>
void round_trip_kettle(benchmark::State& state) {
    kettle::event_loop<Backend> loop;
    work_guard guard;
    loop.track(guard);
    event_fd back;
    std::thread runner([&] { loop.run(); });
    for (auto _ : state) {
        loop.post([&back] { back.signal(); });
        back.wait();
    }
    loop.post([&] { loop.untrack(guard); });
    runner.join();
    state.SetLabel("post(F): one allocation");
}

/// The executor hook: one reused intrusive node, no allocation at all.
template <class Backend>
void round_trip_kettle_node(benchmark::State& state) {
    struct node : kettle::detail::post_node {
        event_fd* back = nullptr;
    };
    kettle::event_loop<Backend> loop;
    work_guard guard;
    loop.track(guard);
    event_fd back;
    node n;
    n.back = &back;
    n.m_run = [](kettle::detail::post_node* p) noexcept { static_cast<node*>(p)->back->signal(); };
    n.m_discard = [](kettle::detail::post_node*) noexcept {};
    std::thread runner([&] { loop.run(); });
    for (auto _ : state) {
        loop.post(n); // the loop is done with it once it signalled
        back.wait();
    }
    loop.post([&] { loop.untrack(guard); });
    runner.join();
    state.SetLabel("post(post_node&): no allocation");
}

#if defined(KETTLE_HAVE_ASIO)
void round_trip_asio(benchmark::State& state) {
    asio::io_context io(1);
    auto work = asio::make_work_guard(io);
    event_fd back;
    std::thread runner([&] { io.run(); });
    for (auto _ : state) {
        asio::post(io, [&back] { back.signal(); });
        back.wait();
    }
    work.reset();
    runner.join();
}

/// The same with Asio's reactor in use (a pending timer), as in any program that
/// also does I/O: the runner then sleeps in epoll_wait, as kettle's does.
void round_trip_asio_reactor(benchmark::State& state) {
    asio::io_context io(1);
    asio::steady_timer pending(io, std::chrono::hours(24));
    pending.async_wait([](const std::error_code&) {});
    event_fd back;
    std::thread runner([&] { io.run(); });
    for (auto _ : state) {
        asio::post(io, [&back] { back.signal(); });
        back.wait();
    }
    asio::post(io, [&] { pending.cancel(); });
    runner.join();
}
#endif

// ---- post batch ---------------------------------------------------------------------

constexpr int batch = 1000;

template <class Backend>
void post_batch_kettle(benchmark::State& state) {
    kettle::event_loop<Backend> loop;
    std::size_t ran = 0;
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) {
            loop.post([&ran] { ++ran; });
        }
        benchmark::DoNotOptimize(loop.run_once(0ms));
    }
    state.SetItemsProcessed(state.iterations() * batch);
    state.counters["per_post"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate |
                                                               benchmark::Counter::kInvert);
}

#if defined(KETTLE_HAVE_ASIO)
void post_batch_asio(benchmark::State& state) {
    asio::io_context io(1);
    std::size_t ran = 0;
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) {
            asio::post(io, [&ran] { ++ran; });
        }
        benchmark::DoNotOptimize(io.poll());
        io.restart();
    }
    state.SetItemsProcessed(state.iterations() * batch);
    state.counters["per_post"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate |
                                                               benchmark::Counter::kInvert);
}
#endif

// ---- a million timers ---------------------------------------------------------------

constexpr int million = 1'000'000;

/// Pseudo-random delays in [0, 1 ms): by the time all are scheduled, all are due.
std::vector<std::chrono::nanoseconds> timer_delays() {
    std::vector<std::chrono::nanoseconds> delays;
    delays.reserve(million);
    std::uint64_t x = 88172645463325252ull;
    for (int i = 0; i < million; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        delays.emplace_back(static_cast<std::int64_t>(x % 1'000'000));
    }
    return delays;
}

template <class Backend>
void timers_kettle(benchmark::State& state) {
    const auto delays = timer_delays();
    std::size_t fired = 0;
    for (auto _ : state) {
        kettle::event_loop<Backend> loop;
        for (const auto d : delays) {
            loop.add_timer(d, [&fired] { ++fired; });
        }
        loop.run();
    }
    if (fired != static_cast<std::size_t>(state.iterations()) * million) {
        state.SkipWithError("not every timer fired");
    }
    state.SetItemsProcessed(state.iterations() * million);
    state.counters["per_timer"] = benchmark::Counter(million, benchmark::Counter::kIsIterationInvariantRate |
                                                                  benchmark::Counter::kInvert);
}

#if defined(KETTLE_HAVE_ASIO)
void timers_asio(benchmark::State& state) {
    const auto delays = timer_delays();
    std::size_t fired = 0;
    for (auto _ : state) {
        asio::io_context io(1);
        std::vector<asio::steady_timer> timers;
        timers.reserve(million);
        for (const auto d : delays) {
            timers.emplace_back(io, d).async_wait([&fired](const std::error_code&) { ++fired; });
        }
        io.run();
    }
    if (fired != static_cast<std::size_t>(state.iterations()) * million) {
        state.SkipWithError("not every timer fired");
    }
    state.SetItemsProcessed(state.iterations() * million);
    state.counters["per_timer"] = benchmark::Counter(million, benchmark::Counter::kIsIterationInvariantRate |
                                                                  benchmark::Counter::kInvert);
}
#endif

// ---- registration and the ratio table -----------------------------------------------

void register_all(kettle_bench::ratio_reporter& reporter) {
    for (const long n : {10L, 1'000L, 10'000L}) {
        const std::string suffix = "/" + std::to_string(n);
        benchmark::RegisterBenchmark("loop.idle_fds/epoll", idle_fds<kettle::epoll_backend>)->Arg(n);
        benchmark::RegisterBenchmark("loop.idle_fds/poll", idle_fds<kettle::poll_backend>)->Arg(n);
        reporter.add_ratio("loop.idle_fds/poll" + suffix, "loop.idle_fds/epoll" + suffix,
                            "poll / epoll, " + std::to_string(n) + " registered");
    }
    reporter.add_ratio("loop.idle_fds/epoll/10000", "loop.idle_fds/epoll/10", "epoll 10000 / epoll 10 (flat = 1)");
    reporter.add_ratio("loop.idle_fds/poll/10000", "loop.idle_fds/poll/10", "poll 10000 / poll 10 (grows)");

    benchmark::RegisterBenchmark("post.round_trip/raw_eventfd", round_trip_raw_eventfd)->UseRealTime();
    benchmark::RegisterBenchmark("post.round_trip/kettle_epoll", round_trip_kettle<kettle::epoll_backend>)->UseRealTime();
    benchmark::RegisterBenchmark("post.round_trip/kettle_epoll_node", round_trip_kettle_node<kettle::epoll_backend>)
        ->UseRealTime();
    benchmark::RegisterBenchmark("post.round_trip/kettle_poll", round_trip_kettle<kettle::poll_backend>)->UseRealTime();
    reporter.add_ratio("post.round_trip/kettle_epoll", "post.round_trip/raw_eventfd", "kettle post / raw eventfd");
    reporter.add_ratio("post.round_trip/kettle_epoll_node", "post.round_trip/raw_eventfd",
                        "kettle post_node / raw eventfd");
    reporter.add_ratio("post.round_trip/kettle_poll", "post.round_trip/raw_eventfd", "kettle (poll) / raw eventfd");

    benchmark::RegisterBenchmark("post.batch/kettle_epoll", post_batch_kettle<kettle::epoll_backend>);
    benchmark::RegisterBenchmark("timers.million/kettle_epoll", timers_kettle<kettle::epoll_backend>)
        ->Unit(benchmark::kMillisecond);
#if defined(KETTLE_HAVE_ASIO)
    benchmark::RegisterBenchmark("post.round_trip/asio", round_trip_asio)->UseRealTime();
    benchmark::RegisterBenchmark("post.round_trip/asio_reactor", round_trip_asio_reactor)->UseRealTime();
    benchmark::RegisterBenchmark("post.batch/asio", post_batch_asio);
    benchmark::RegisterBenchmark("timers.million/asio", timers_asio)->Unit(benchmark::kMillisecond);
    reporter.add_ratio("post.round_trip/kettle_epoll", "post.round_trip/asio", "kettle post / asio post");
    reporter.add_ratio("post.round_trip/kettle_epoll_node", "post.round_trip/asio", "kettle post_node / asio post");
    reporter.add_ratio("post.round_trip/kettle_epoll", "post.round_trip/asio_reactor",
                        "kettle post / asio post (reactor active)");
    reporter.add_ratio("post.batch/kettle_epoll", "post.batch/asio", "kettle / asio, per queued post");
    reporter.add_ratio("timers.million/kettle_epoll", "timers.million/asio", "kettle / asio, per timer");
#endif
}

} // namespace

int main(int argc, char** argv) {
    kettle_bench::ratio_reporter reporter;
    register_all(reporter);
    return kettle_bench::run_with_ratios(argc, argv, reporter);
}

#else // not Linux

#include <cstdio>

int main() {
    std::puts("loop_bench: the baselines (eventfd, pipes) are Linux-only; nothing to measure here.");
    return 0;
}

#endif
