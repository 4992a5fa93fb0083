// What every benchmark program shares: the median time of a function after a warm-up run
// (wall time, or the process's CPU time where other work shares the cores), and a small
// command line of flags and integer options with a usage line on error.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

namespace pn::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Median seconds of fn over reps runs (the median ignores one-off stalls), after `warmup`
// runs that fill caches and the allocator.
inline double median_seconds(const std::function<void()>& fn, int reps, int warmup = 1) {
  for (int w = 0; w < warmup; ++w) fn();
  std::vector<double> t;
  for (int r = 0; r < std::max(reps, 1); ++r) {
    const auto t0 = Clock::now();
    fn();
    t.push_back(seconds_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// CPU seconds the whole process has used (all its threads): unlike wall time, unaffected by
// other programs competing for the cores.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Median process CPU seconds of fn over reps runs, after `warmup` runs.
inline double median_cpu_seconds(const std::function<void()>& fn, int reps, int warmup = 1) {
  for (int w = 0; w < warmup; ++w) fn();
  std::vector<double> t;
  for (int r = 0; r < std::max(reps, 1); ++r) {
    const double t0 = process_cpu_seconds();
    fn();
    t.push_back(process_cpu_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// `--name` flags, `--name N` integer options and `--name WORD` options from a fixed choice;
// anything else prints the usage and exits 2.
class Args {
 public:
  Args(std::string program) : program_(std::move(program)) {}
  Args& flag(const char* name, bool* out) { flags_.push_back({name, out}); return *this; }
  Args& option(const char* name, int* out, int min = 1) { ints_.push_back({name, out, min}); return *this; }
  Args& choice(const char* name, std::string* out, std::vector<std::string> allowed) {
    words_.push_back({name, out, std::move(allowed)});
    return *this;
  }
  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      bool known = false;
      for (const auto& f : flags_)
        if (!std::strcmp(argv[i], f.name)) *f.out = known = true;
      for (const auto& o : ints_)
        if (!known && !std::strcmp(argv[i], o.name) && i + 1 < argc) *o.out = std::max(o.min, std::atoi(argv[++i])), known = true;
      for (const auto& w : words_)
        if (!known && !std::strcmp(argv[i], w.name) && i + 1 < argc) {
          *w.out = argv[++i];
          known = std::find(w.allowed.begin(), w.allowed.end(), *w.out) != w.allowed.end();
        }
      if (!known) usage();
    }
  }

 private:
  [[noreturn]] void usage() const {
    std::string u = "usage: " + program_;
    for (const auto& f : flags_) u += std::string(" [") + f.name + "]";
    for (const auto& o : ints_) u += std::string(" [") + o.name + " N]";
    for (const auto& w : words_) {
      u += std::string(" [") + w.name + " ";
      for (size_t k = 0; k < w.allowed.size(); ++k) u += (k ? "|" : "") + w.allowed[k];
      u += "]";
    }
    std::fprintf(stderr, "%s\n", u.c_str());
    std::exit(2);
  }
  struct Flag { const char* name; bool* out; };
  struct Int { const char* name; int* out; int min; };
  struct Word { const char* name; std::string* out; std::vector<std::string> allowed; };
  std::string program_;
  std::vector<Flag> flags_;
  std::vector<Int> ints_;
  std::vector<Word> words_;
};

}  // namespace pn::bench
