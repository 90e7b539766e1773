// SPDX-License-Identifier: GPL-2.0-or-later
// Google Benchmark helpers shared by the benchmark programs: default flags
// for side-by-side runs, and a console reporter that also keeps, for each
// benchmark, the fastest of its repetitions (or its only run), their median,
// and its counters.
//
// Figures use CPU time, not wall time: on a machine shared with other work the
// wall time of a single-threaded loop includes the time it was not running.
// And they use the fastest repetition ("min", added by with_min()): other work
// on the machine only ever slows a deterministic loop down, so the minimum is
// the figure that reproduces; the console shows mean and median too. A
// comparison of two programs side by side may use the medians instead (the
// parser benchmark does): it holds against the odd lucky repetition of either.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace vg::bench {

class CaptureReporter : public benchmark::ConsoleReporter {
public:
    // Colours only on a terminal (a custom reporter does not see --benchmark_color).
    CaptureReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

    struct Figure {
        double cpu_time = 0;      // per iteration, in the benchmark's time unit
        double real_time = 0;
        std::map<std::string, double> counters;
        bool aggregate = false;   // the "min" of several repetitions
        bool error = false;
        double median_cpu_time = 0;   // the "median" of several repetitions (0: one run)
        std::vector<double> repetition_cpu_times;   // each repetition's, in the order they ran
    };

    void ReportRuns(const std::vector<Run>& reports) override {
        for (const Run& r : reports) {
            Figure& f = figures_[r.run_name.function_name];
            if (r.error_occurred) {
                f.error = true;
                continue;
            }
            if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
                f.median_cpu_time = r.GetAdjustedCPUTime();
                continue;
            }
            if (r.run_type == Run::RT_Iteration) f.repetition_cpu_times.push_back(r.GetAdjustedCPUTime());
            const bool is_min = r.run_type == Run::RT_Aggregate && r.aggregate_name == "min";
            if (r.run_type == Run::RT_Aggregate && !is_min) continue;
            if (f.aggregate && !is_min) continue;   // the minimum of the repetitions stands for them
            f.cpu_time = r.GetAdjustedCPUTime();
            f.real_time = r.GetAdjustedRealTime();
            f.counters.clear();
            for (const auto& c : r.counters) f.counters[c.first] = static_cast<double>(c.second);
            f.aggregate = is_min;
        }
        ConsoleReporter::ReportRuns(reports);
    }

    // The figure of a benchmark that ran without error, or nullptr.
    const Figure* find(const std::string& name) const {
        const auto it = figures_.find(name);
        if (it == figures_.end() || it->second.error || it->second.cpu_time <= 0) return nullptr;
        return &it->second;
    }
    static double counter(const Figure& f, const std::string& name) {
        const auto it = f.counters.find(name);
        return it == f.counters.end() ? 0.0 : it->second;
    }

private:
    std::map<std::string, Figure> figures_;
};

// Adds the "min" statistic to a benchmark's repetitions.
inline benchmark::internal::Benchmark* with_min(benchmark::internal::Benchmark* b) {
    return b->ComputeStatistics("min", [](const std::vector<double>& v) {
        return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
    });
}

// argv plus default flags the command line does not set; Initialize()s
// Google Benchmark with them. Returns false on an unknown flag.
inline bool init_benchmark(int argc, char** argv, const std::vector<std::string>& defaults) {
    static std::vector<std::string> storage;
    static std::vector<char*> args;
    storage.assign(defaults.begin(), defaults.end());
    args.assign(argv, argv + argc);
    for (std::string& d : storage) {
        const std::string name = d.substr(0, d.find('='));
        bool given = false;
        for (int i = 1; i < argc; ++i) given = given || std::string(argv[i]).rfind(name, 0) == 0;
        if (!given) args.push_back(&d[0]);
    }
    int n = static_cast<int>(args.size());
    args.push_back(nullptr);
    benchmark::Initialize(&n, args.data());
    return !benchmark::ReportUnrecognizedArguments(n, args.data());
}

}  // namespace vg::bench
