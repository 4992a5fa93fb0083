#include "experiments/run/progress.h"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace pn::cli {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{:02}:{:02}", t / 60, t % 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, int64_t done)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), first_(done), done_(done),
      tty_(::isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n, const std::string& fields) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if (since >= (tty_ ? 0.2 : 5.0)) {
    print(false, fields);
    last_print_ = now;
  }
}

void Progress::finish(const std::string& fields) { print(true, fields); }

double Progress::eta_seconds() const {
  const double el = elapsed_seconds();
  const double rate = el > 0 ? static_cast<double>(done_ - first_) / el : 0.0;
  return rate > 0 ? static_cast<double>(total_ - done_) / rate : -1;
}

void Progress::print(bool final, const std::string& fields) {
  double el = elapsed_seconds();
  double rate = el > 0 ? static_cast<double>(done_ - first_) / el : 0.0;
  double eta = eta_seconds();
  int pct = total_ > 0 ? static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_)) : 100;
  std::string line = fmt::format("{} {}/{} ({:3}%) | {:.2f} {}/s | {} elapsed | ETA {}{}{}", label_, done_, total_, pct,
                                 rate, unit_, format_duration(el), final ? "00:00" : format_duration(eta),
                                 fields.empty() ? "" : " | ", fields);
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace pn::cli
