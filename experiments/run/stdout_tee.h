// Mirrors everything the process writes to standard output (printf, std::cout, fmt::print,
// libraries) into a log file, while it still reaches the terminal: fd 1 is pointed at a
// pipe whose reader thread copies each chunk to the original stdout and to the file.
// Standard error (progress bars redrawn in place) is not copied. One tee at a time.
#pragma once
#include <string>
#include <thread>

namespace pn::experiments {

class StdoutTee {
 public:
  // Appends to log_path (created if missing). stdout becomes line-buffered.
  explicit StdoutTee(const std::string& log_path);
  ~StdoutTee();  // flushes, restores fd 1 and waits until the file has everything
  StdoutTee(const StdoutTee&) = delete;
  StdoutTee& operator=(const StdoutTee&) = delete;

 private:
  int saved_stdout_ = -1, read_end_ = -1, log_fd_ = -1;
  std::thread copier_;
};

}  // namespace pn::experiments
