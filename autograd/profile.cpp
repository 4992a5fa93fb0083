#include "autograd/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

namespace pn::profile {

namespace {

using Key = std::tuple<int, std::string, std::string>;  // pass, kernel / name, op

struct State {
  std::mutex mu;
  std::map<Key, Row> rows;
  Clock::time_point start = Clock::now();
};

State& state() {
  static State s;
  return s;
}

thread_local Pass t_pass = Pass::Forward;
thread_local const char* t_op = "";

void record(Pass pass, const char* name, const char* op, double seconds, double bytes) {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  Row& r = s.rows[Key{static_cast<int>(pass), name, op}];
  if (r.calls == 0) r.pass = pass, r.kernel = name, r.op = op;
  r.calls += 1;
  r.seconds += seconds;
  r.bytes += bytes;
}

// PN_PROFILE set to anything but "" or "0" switches profiling on from the start and prints
// the table to stderr at exit.
bool enabled_by_environment() {
  const char* v = std::getenv("PN_PROFILE");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "0") == 0) return false;
  state();  // constructed before the exit handler is registered, so destroyed after it runs
  std::atexit([] { std::fprintf(stderr, "%s", report().c_str()); });
  return true;
}

std::string table(const std::vector<Row>& rows, double wall, bool nodes, int top) {
  std::string out = nodes ? fmt::format("{:<30} {:>10} {:>7} {:>8} {:>10}\n", "backward node (inclusive)", "ms", "%",
                                        "calls", "mean us")
                          : fmt::format("{:<9} {:<22} {:<24} {:>10} {:>7} {:>8} {:>10} {:>9}\n", "pass", "kernel",
                                        "op", "ms", "%", "calls", "mean us", "MiB");
  int shown = 0;
  for (const Row& r : rows) {
    if ((r.pass == Pass::BackwardNode) != nodes || (top > 0 && shown >= top)) continue;
    ++shown;
    const double ms = r.seconds * 1e3, pct = wall > 0 ? 100.0 * r.seconds / wall : 0.0;
    const double mean_us = r.seconds * 1e6 / static_cast<double>(r.calls);
    if (nodes) {
      out += fmt::format("{:<30} {:>10.2f} {:>6.1f}% {:>8} {:>10.1f}\n", r.kernel, ms, pct, r.calls, mean_us);
    } else {
      const std::string mib = r.bytes > 0 ? fmt::format("{:.1f}", r.bytes / (1 << 20)) : "";
      out += fmt::format("{:<9} {:<22} {:<24} {:>10.2f} {:>6.1f}% {:>8} {:>10.1f} {:>9}\n", pass_name(r.pass),
                         r.kernel, r.op, ms, pct, r.calls, mean_us, mib);
    }
  }
  return out;
}

}  // namespace

namespace detail {
bool g_enabled = enabled_by_environment();
}

void set_enabled(bool on) { detail::g_enabled = on; }

void reset() {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  s.rows.clear();
  s.start = Clock::now();
}

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::Forward: return "forward";
    case Pass::Backward: return "backward";
    case Pass::Update: return "update";
    case Pass::BackwardNode: return "bwd-node";
    case Pass::Alloc: return "alloc";
  }
  return "?";
}

std::vector<Row> rows() {
  State& s = state();
  std::vector<Row> out;
  {
    const std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [key, r] : s.rows) out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  return out;
}

double wall_seconds() {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  return seconds_since(s.start);
}

std::string report(int top) {
  const std::vector<Row> all = rows();
  const double wall = wall_seconds();
  double kernels = 0, allocs = 0, nodes = 0;
  for (const Row& r : all) {
    if (r.pass == Pass::BackwardNode) nodes += r.seconds;
    else if (r.pass == Pass::Alloc) allocs += r.seconds;
    else kernels += r.seconds;
  }
  auto pct = [wall](double t) { return wall > 0 ? 100.0 * t / wall : 0.0; };
  std::string out = fmt::format(
      "PN_PROFILE: {:.3f} s wall since start / reset; kernels {:.3f} s ({:.1f}%), allocations {:.3f} s ({:.1f}%), "
      "other {:.3f} s ({:.1f}%: tape, checks, host work, idle); backward nodes {:.3f} s inclusive ({:.1f}%)\n",
      wall, kernels, pct(kernels), allocs, pct(allocs), wall - kernels - allocs, pct(wall - kernels - allocs), nodes,
      pct(nodes));
  out += table(all, wall, false, top);
  out += table(all, wall, true, top);
  return out;
}

PassScope::PassScope(Pass p) : prev_(t_pass) { t_pass = p; }
PassScope::~PassScope() { t_pass = prev_; }

void note_op(const char* op) { t_op = op ? op : ""; }

void add_kernel(const char* kernel, double seconds) { record(t_pass, kernel, t_op, seconds, 0); }

void add_alloc(double seconds, double bytes) { record(Pass::Alloc, "alloc", t_op, seconds, bytes); }

void add_node(const char* node_op, double seconds) { record(Pass::BackwardNode, node_op, "", seconds, 0); }

}  // namespace pn::profile
