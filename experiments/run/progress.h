// Progress reporting for long loops: a line with count, percentage, rate, elapsed time,
// ETA and free-form fields (loss...). On a terminal it redraws one line; otherwise (logs,
// CI) it prints a line at most every few seconds, so that logs stay readable. A loop that
// resumes part-way starts at `done`: the rate and the ETA count only this process's items.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace pn::cli {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it", int64_t done = 0);
  // Marks n more items done; `fields` is appended to the line ("loss 0.123").
  void advance(int64_t n = 1, const std::string& fields = "");
  // Prints the final line (always) with the total time.
  void finish(const std::string& fields = "");
  double elapsed_seconds() const;
  // Seconds left at the rate so far (negative before the first item).
  double eta_seconds() const;
  int64_t done() const { return done_; }

 private:
  void print(bool final, const std::string& fields);
  std::string label_, unit_;
  int64_t total_, first_, done_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

std::string format_duration(double seconds);

}  // namespace pn::cli
