// SPDX-License-Identifier: MIT
// Runs a scheduling policy on a job list in the simulator and prints the
// Gantt chart and the metrics. With no arguments: the MLFQ example of OSTEP
// chapter 8 (a long job, a short job arriving at 100, a boost every 50).
//
//   sched_simulate --policy mlfq --jobs 0:180,100:20 --quantum 10 --levels 3 --boost 50
//   sched_simulate --policy srtf --jobs 0:100,10:10,10:10 --switch-cost 1
//   sched_simulate --compat mlfq.py --jobs 0:200:0,0:50:9 --quantum 10 --io-time 1
//   sched_simulate --compat scheduler.py --policy rr --seed 3 --num-jobs 5
#include <kettle/sched/fair_share.hpp>
#include <kettle/sched/fcfs.hpp>
#include <kettle/sched/mlfq.hpp>
#include <kettle/sched/ostep_mlfq_py.hpp>
#include <kettle/sched/ostep_scheduler_py.hpp>
#include <kettle/sched/priority.hpp>
#include <kettle/sched/round_robin.hpp>
#include <kettle/sched/simulator.hpp>
#include <kettle/sched/sjf.hpp>
#include <kettle/sched/srtf.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage_text = R"(usage: sched_simulate [options]

  --policy P         fcfs | sjf | srtf | priority | rr | mlfq | fair   (default mlfq)
  --jobs LIST        comma-separated jobs arrival:burst[:every:duration[:priority[:weight]]]
                     (I/O of `duration` ticks after every `every` ticks of CPU)
  --quantum N        rr slice, mlfq top-level slice, fair slice           (default 10)
  --levels N         mlfq levels                                          (default 3)
  --quanta A,B,..    mlfq per-level slices, top first (default: --quantum at every level)
  --doubling         mlfq: level i gets --quantum << i instead
  --allotment N      mlfq allotment per level in ticks (default: one slice)
  --boost N          mlfq priority boost period, 0 = never                (default 0)
  --io-rule R        mlfq: keep (used allotment survives I/O) | reset (gameable)
  --aging N          priority: ticks of waiting per level of aging, 0 = none
  --nonpreemptive    priority: never preempt the running job
  --switch-cost N    ticks per context switch                             (default 0)
  --width N          widest chart, in columns; 0 = never scale            (default 100)
  --csv              print job,arrival,burst,first_run,completion,response,turnaround,waiting

OSTEP homework compatibility (reproduces the published simulators):
  --compat scheduler.py   --policy fcfs|sjf|rr, --jobs with arrival 0 and no I/O,
                          or random jobs: --seed N --num-jobs N --maxlen N
  --compat mlfq.py        --jobs arrival:burst[:iofreq], --levels, --quantum, --quanta,
                          --allotment (in slices), --allotments, --boost, --io-time N,
                          --stay, --iobump, or random jobs: --seed --num-jobs --maxlen --maxio
)";

struct bad_usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

long long number(std::string_view text, std::string_view what) {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw bad_usage("not a number for " + std::string(what) + ": '" + std::string(text) + "'");
    return v;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = text.find(sep);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos)
            return parts;
        text.remove_prefix(at + 1);
    }
}

std::vector<kettle::tick_count> numbers(std::string_view text, std::string_view what) {
    std::vector<kettle::tick_count> out;
    for (auto part : split(text, ','))
        out.push_back(number(part, what));
    return out;
}

std::vector<kettle::sim_job> parse_jobs(std::string_view text) {
    std::vector<kettle::sim_job> jobs;
    for (auto spec : split(text, ',')) {
        const auto f = split(spec, ':');
        if (f.size() < 2 || f.size() == 3 || f.size() > 6)
            throw bad_usage("a job is arrival:burst[:every:duration[:priority[:weight]]], not '" +
                            std::string(spec) + "'");
        kettle::sim_job j;
        j.arrival = number(f[0], "arrival");
        j.burst = number(f[1], "burst");
        if (f.size() >= 4) {
            j.io.every = number(f[2], "I/O every");
            j.io.duration = number(f[3], "I/O duration");
        }
        if (f.size() >= 5)
            j.priority = static_cast<int>(number(f[4], "priority"));
        if (f.size() >= 6)
            j.weight = static_cast<std::uint32_t>(number(f[5], "weight"));
        jobs.push_back(j);
    }
    return jobs;
}

void print(const kettle::sim_report& r, bool csv, std::size_t width) {
    if (csv) {
        std::printf("job,arrival,burst,first_run,completion,response,turnaround,waiting\n");
        for (std::size_t i = 0; i < r.jobs.size(); ++i) {
            const auto& j = r.jobs[i];
            std::printf("%zu,%lld,%lld,%lld,%lld,%lld,%lld,%lld\n", i,
                        static_cast<long long>(j.arrival), static_cast<long long>(j.burst),
                        static_cast<long long>(j.first_run), static_cast<long long>(j.completion),
                        static_cast<long long>(j.response()),
                        static_cast<long long>(j.turnaround()),
                        static_cast<long long>(j.waiting()));
        }
        return;
    }
    std::printf("%s\n%s", kettle::gantt_chart(r, width).c_str(),
                kettle::metrics_table(r).c_str());
}

int run(int argc, char** argv) {
    std::map<std::string, std::string> opt{{"policy", "mlfq"},
                                           {"jobs", "0:180,100:20"},
                                           {"levels", "3"},
                                           {"boost", "50"},
                                           {"io-rule", "keep"},
                                           {"switch-cost", "0"},
                                           {"width", "100"}};
    const std::map<std::string, bool> known{
        {"policy", true},    {"jobs", true},   {"quantum", true},       {"levels", true},
        {"quanta", true},    {"allotment", true}, {"allotments", true}, {"boost", true},
        {"io-rule", true},   {"aging", true},  {"nonpreemptive", false}, {"switch-cost", true},
        {"width", true},     {"csv", false},   {"compat", true},        {"seed", true},
        {"num-jobs", true},  {"maxlen", true}, {"maxio", true},         {"io-time", true},
        {"stay", false},     {"iobump", false}, {"doubling", false}, {"help", false}};
    if (argc > 1)
        opt["boost"] = "0"; // the default workload's boost only applies without arguments
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.substr(0, 2) != "--" || !known.count(std::string(a.substr(2))))
            throw bad_usage("unknown option '" + std::string(a) + "'");
        const std::string name(a.substr(2));
        if (!known.at(name)) {
            opt[name] = "1";
        } else {
            if (i + 1 >= argc)
                throw bad_usage("--" + name + " needs a value");
            opt[name] = argv[++i];
        }
    }
    if (opt.count("help")) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    auto has = [&](const char* k) { return opt.count(k) != 0; };
    auto num = [&](const char* k) { return number(opt.at(k), std::string("--") + k); };
    auto num_or = [&](const char* k, long long fallback) { return has(k) ? num(k) : fallback; };
    const bool csv = has("csv");
    const auto width = static_cast<std::size_t>(num("width"));
    const std::string policy = opt["policy"];
    const bool jobs_given = [&] {
        for (int i = 1; i < argc; ++i)
            if (std::string_view(argv[i]) == "--jobs")
                return true;
        return false;
    }();

    if (has("compat")) {
        const std::string compat = opt["compat"];
        if (compat == "scheduler.py") {
            kettle::ostep::scheduler_py_options o;
            if (policy == "fcfs")
                o.policy = kettle::ostep::scheduler_py_policy::fifo;
            else if (policy == "sjf")
                o.policy = kettle::ostep::scheduler_py_policy::sjf;
            else if (policy == "rr")
                o.policy = kettle::ostep::scheduler_py_policy::rr;
            else
                throw bad_usage("scheduler.py knows the policies fcfs (FIFO), sjf and rr");
            o.quantum = num_or("quantum", 1);
            if (jobs_given) {
                for (const auto& j : parse_jobs(opt["jobs"])) {
                    if (j.arrival != 0 || j.io.every != 0)
                        throw bad_usage("scheduler.py jobs all arrive at 0 and do no I/O");
                    o.jlist.push_back(j.burst);
                }
            }
            if (has("seed"))
                o.seed = num("seed");
            if (has("num-jobs"))
                o.jobs = static_cast<int>(num("num-jobs"));
            if (has("maxlen"))
                o.maxlen = static_cast<int>(num("maxlen"));
            print(kettle::ostep::run_scheduler_py(o), csv, width);
            return 0;
        }
        if (compat != "mlfq.py")
            throw bad_usage("--compat is scheduler.py or mlfq.py");
        kettle::ostep::mlfq_py_options o;
        const long long levels = num("levels");
        if (levels < 1 || static_cast<unsigned long long>(levels) > kettle::ostep::mlfq_py_max_queues)
            throw bad_usage("--levels is from 1 to " + std::to_string(kettle::ostep::mlfq_py_max_queues));
        o.num_queues = static_cast<int>(levels);
        o.quantum = num_or("quantum", 10);
        if (has("quanta"))
            o.quantum_list = numbers(opt["quanta"], "--quanta");
        if (has("allotment"))
            o.allotment = num("allotment");
        if (has("allotments"))
            o.allotment_list = numbers(opt["allotments"], "--allotments");
        o.boost = num("boost");
        if (has("io-time"))
            o.io_time = num("io-time");
        o.stay = has("stay");
        o.iobump = has("iobump");
        if (has("seed"))
            o.seed = num("seed");
        if (has("num-jobs"))
            o.num_jobs = static_cast<int>(num("num-jobs"));
        if (has("maxlen"))
            o.maxlen = num("maxlen");
        if (has("maxio"))
            o.maxio = num("maxio");
        if (jobs_given) {
            for (auto spec : split(opt["jobs"], ',')) {
                const auto f = split(spec, ':');
                if (f.size() < 2 || f.size() > 3)
                    throw bad_usage("an mlfq.py job is arrival:burst[:iofreq], not '" +
                                    std::string(spec) + "'");
                o.jlist.push_back({number(f[0], "arrival"), number(f[1], "burst"),
                                   f.size() == 3 ? number(f[2], "iofreq") : 0});
            }
        }
        print(kettle::ostep::run_mlfq_py(o), csv, width);
        return 0;
    }

    const std::vector<kettle::sim_job> jobs = parse_jobs(opt["jobs"]);
    const kettle::sim_options sim{.switch_cost = num("switch-cost")};
    using task = kettle::sim_task;
    kettle::sim_report r;
    if (policy == "fcfs") {
        r = kettle::simulate(jobs, kettle::fcfs<task>(), sim);
    } else if (policy == "sjf") {
        r = kettle::simulate(jobs, kettle::sjf<task>(), sim);
    } else if (policy == "srtf") {
        r = kettle::simulate(jobs, kettle::srtf<task>(), sim);
    } else if (policy == "priority") {
        kettle::priority_settings s;
        s.aging_interval = has("aging") ? num("aging") : 0;
        s.preemptive = !has("nonpreemptive");
        r = kettle::simulate(jobs, kettle::priority<task>(s), sim);
    } else if (policy == "rr") {
        r = kettle::simulate(jobs, kettle::round_robin<task>({.quantum = num_or("quantum", 10)}), sim);
    } else if (policy == "fair") {
        r = kettle::simulate(jobs, kettle::fair_share<task>({.slice = num_or("quantum", 10)}), sim);
    } else if (policy == "mlfq") {
        kettle::mlfq_settings s;
        const long long levels = num("levels");
        if (levels < 1 || static_cast<unsigned long long>(levels) > kettle::mlfq_max_levels)
            throw bad_usage("--levels is from 1 to " + std::to_string(kettle::mlfq_max_levels));
        s.levels = static_cast<std::size_t>(levels);
        s.base_quantum = num_or("quantum", 10);
        if (has("quanta"))
            s.quanta = numbers(opt["quanta"], "--quanta");
        else if (!has("doubling"))
            s.quanta.assign(s.levels, s.base_quantum); // the book's examples: one slice length
        if (has("allotments"))
            s.allotments = numbers(opt["allotments"], "--allotments");
        else if (has("allotment"))
            s.allotments.assign(s.levels, num("allotment"));
        s.boost_period = num("boost");
        const std::string rule = opt["io-rule"];
        if (rule != "keep" && rule != "reset")
            throw bad_usage("--io-rule is keep or reset");
        s.io_rule = rule == "keep" ? kettle::mlfq_io_rule::keep_allotment
                                   : kettle::mlfq_io_rule::reset_allotment;
        r = kettle::simulate(jobs, kettle::mlfq<task>(s), sim);
    } else {
        throw bad_usage("unknown policy '" + policy + "'");
    }
    if (!csv)
        std::printf("policy %s, %zu jobs\n\n", policy.c_str(), jobs.size());
    print(r, csv, width);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const bad_usage& e) {
        std::fprintf(stderr, "sched_simulate: %s\n\n%s", e.what(), usage_text);
        return 2;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "sched_simulate: %s\n\n%s", e.what(), usage_text);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sched_simulate: %s\n", e.what());
        return 1;
    }
}
