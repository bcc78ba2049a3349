// SPDX-License-Identifier: MIT
#pragma once

// The console output of Google Benchmark, followed by a table of ratios
// between benchmarks of the same run: every figure kettle reports is set
// beside its baseline, measured on the same machine at the same time.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kettle_bench {

class ratio_reporter : public benchmark::ConsoleReporter {
public:
    /// Reports `numerator / denominator` (real time per iteration) as `what`.
    void add_ratio(std::string numerator, std::string denominator, std::string what) {
        m_ratios.push_back({std::move(numerator), std::move(denominator), std::move(what)});
    }

    /// Makes `name` the fastest of `members` (each a benchmark of the run),
    /// for ratios to divide by: a baseline measured in several copies.
    void add_fastest_of(std::string name, std::vector<std::string> members) {
        m_groups.push_back({std::move(name), std::move(members)});
    }

    /// With --benchmark_repetitions, the ratios are of the fastest
    /// repetitions where a benchmark reports a "min" statistic (see
    /// `add_min`), else of the medians.
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.error_occurred)
                continue;
            const int rank = run.run_type == Run::RT_Iteration ? 1
                             : run.aggregate_name == "median"   ? 2
                             : run.aggregate_name == "min"      ? 3
                                                                : 0;
            if (rank == 0)
                continue;
            std::string name = run.run_name.str();
            for (const char* suffix : {"/real_time", "/manual_time"})
                if (const auto at = name.find(suffix); at != std::string::npos)
                    name.erase(at);
            if (rank >= m_rank[name]) {
                m_seconds[name] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
                m_rank[name] = rank;
                m_best_rank = std::max(m_best_rank, rank);
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        const char* what = m_best_rank == 3 ? ", fastest repetitions" : m_best_rank == 2 ? ", medians" : "";
        for (const auto& g : m_groups) {
            double fastest = 0;
            for (const auto& m : g.members)
                if (const auto at = m_seconds.find(m); at != m_seconds.end() && (fastest == 0 || at->second < fastest))
                    fastest = at->second;
            if (fastest > 0) {
                m_seconds[g.name] = fastest;
                std::printf("\n%s: the fastest of its %zu copies, %.3g ns\n", g.name.c_str(), g.members.size(),
                            fastest * 1e9);
            }
        }
        std::printf("\nratios (real time per iteration%s, this run):\n", what);
        for (const auto& r : m_ratios) {
            const auto a = m_seconds.find(r.numerator);
            const auto b = m_seconds.find(r.denominator);
            if (a != m_seconds.end() && b != m_seconds.end() && b->second > 0)
                std::printf("  %-52s %8.2f\n", r.what.c_str(), a->second / b->second);
        }
    }

private:
    struct ratio {
        std::string numerator, denominator, what;
    };
    struct group {
        std::string name;
        std::vector<std::string> members;
    };
    std::vector<ratio> m_ratios;
    std::vector<group> m_groups;
    std::map<std::string, double> m_seconds;
    std::map<std::string, int> m_rank; // what m_seconds holds: 1 one run, 2 a median, 3 a minimum
    int m_best_rank = 0;
};

/// Adds the fastest repetition as a statistic ("min"): on a shared machine
/// other work only ever adds time, so with --benchmark_repetitions the
/// minimum is the steadiest figure of a short loop.
/// `BENCHMARK(f)->Apply(kettle_bench::add_min)`.
inline void add_min(benchmark::internal::Benchmark* b) {
    b->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

/// The usual benchmark main, with the ratio table at the end.
inline int run_with_ratios(int argc, char** argv, ratio_reporter& reporter) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}

} // namespace kettle_bench
