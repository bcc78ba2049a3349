// SPDX-License-Identifier: MIT
#pragma once

// The console output of Google Benchmark, followed by a table of ratios
// between benchmarks of the same run: every figure kettle reports is set
// beside its baseline, measured on the same machine at the same time.

#include <benchmark/benchmark.h>

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

    /// With --benchmark_repetitions, the ratios are of the medians.
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.error_occurred)
                continue;
            const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
            if (run.run_type != Run::RT_Iteration && !median)
                continue;
            std::string name = run.run_name.str();
            for (const char* suffix : {"/real_time", "/manual_time"})
                if (const auto at = name.find(suffix); at != std::string::npos)
                    name.erase(at);
            if (median || !m_median.contains(name))
                m_seconds[name] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
            if (median) {
                m_median[name] = true;
                m_any_median = true;
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        std::printf("\nratios (real time per iteration%s, this run):\n", m_any_median ? ", medians" : "");
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
    std::vector<ratio> m_ratios;
    std::map<std::string, double> m_seconds;
    std::map<std::string, bool> m_median; // names whose figure is a median of repetitions
    bool m_any_median = false;
};

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
