#include "autograd/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <tuple>

namespace pn::profile {

namespace {

using Key = std::tuple<int, std::string, std::string>;  // pass, kernel / name, op

struct State {
  std::mutex mu;
  std::map<Key, Row> rows;
  Stamp start = Stamp::now();
};

State& state() {
  static State s;
  return s;
}

thread_local Pass t_pass = Pass::Forward;
thread_local const char* t_op = "";

void record(Pass pass, const char* name, const char* op, const Stamp& spent, double bytes) {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  Row& r = s.rows[Key{static_cast<int>(pass), name, op}];
  if (r.calls == 0) r.pass = pass, r.kernel = name, r.op = op;
  r.calls += 1;
  r.seconds += spent.wall;
  r.cpu_seconds += spent.cpu;
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

std::string pct(double part, double whole) { return fmt::format("{:.1f}%", whole > 0 ? 100.0 * part / whole : 0.0); }

// One table: the kernel and allocation rows, or the backward-node rows.
std::string table(const std::vector<Row>& rows, const Stamp& total, bool nodes, int top) {
  std::string out = fmt::format("{:<9} {:<22} {:<24} {:>9} {:>6} {:>9} {:>6} {:>7} {:>9} {:>8}\n",
                                nodes ? "node" : "pass", nodes ? "backward (inclusive)" : "kernel", nodes ? "" : "op",
                                "wall ms", "%", "cpu ms", "%", "calls", "mean us", "MiB");
  int shown = 0;
  for (const Row& r : rows) {
    if ((r.pass == Pass::BackwardNode) != nodes || (top > 0 && shown >= top)) continue;
    ++shown;
    const double mean_us = r.seconds * 1e6 / static_cast<double>(r.calls);
    const std::string mib = r.bytes > 0 ? fmt::format("{:.1f}", r.bytes / (1 << 20)) : "";
    out += fmt::format("{:<9} {:<22} {:<24} {:>9.2f} {:>6} {:>9.2f} {:>6} {:>7} {:>9.1f} {:>8}\n", pass_name(r.pass),
                       r.kernel, r.op, r.seconds * 1e3, pct(r.seconds, total.wall), r.cpu_seconds * 1e3,
                       pct(r.cpu_seconds, total.cpu), r.calls, mean_us, mib);
  }
  return out;
}

}  // namespace

namespace detail {
std::atomic<bool> g_enabled{enabled_by_environment()};
}

Stamp Stamp::now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  return Stamp{wall, static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec)};
}

Stamp Stamp::since() const {
  const Stamp t = now();
  return Stamp{t.wall - wall, t.cpu - cpu};
}

void set_enabled(bool on) { detail::g_enabled.store(on, std::memory_order_relaxed); }

void reset() {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  s.rows.clear();
  s.start = Stamp::now();
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

Stamp elapsed() {
  State& s = state();
  const std::lock_guard<std::mutex> lock(s.mu);
  return s.start.since();
}

std::string report(int top) {
  const std::vector<Row> all = rows();
  const Stamp total = elapsed();
  Stamp kernels, allocs, nodes;
  for (const Row& r : all) {
    Stamp& sum = r.pass == Pass::BackwardNode ? nodes : r.pass == Pass::Alloc ? allocs : kernels;
    sum.wall += r.seconds;
    sum.cpu += r.cpu_seconds;
  }
  const double other = total.wall - kernels.wall - allocs.wall;
  std::string out = fmt::format(
      "PN_PROFILE: {:.3f} s wall, {:.3f} s CPU since start / reset; kernels {:.3f} s wall ({}), allocations {:.3f} s "
      "({}), other {:.3f} s ({}: tape, checks, host work, idle); backward nodes {:.3f} s inclusive ({})\n",
      total.wall, total.cpu, kernels.wall, pct(kernels.wall, total.wall), allocs.wall, pct(allocs.wall, total.wall),
      other, pct(other, total.wall), nodes.wall, pct(nodes.wall, total.wall));
  out += table(all, total, false, top);
  out += table(all, total, true, top);
  return out;
}

PassScope::PassScope(Pass p) : prev_(t_pass) { t_pass = p; }
PassScope::~PassScope() { t_pass = prev_; }

void note_op(const char* op) { t_op = op ? op : ""; }

void add_kernel(const char* kernel, const Stamp& spent) { record(t_pass, kernel, t_op, spent, 0); }

void add_alloc(const Stamp& spent, double bytes) { record(Pass::Alloc, "alloc", t_op, spent, bytes); }

void add_node(const char* node_op, const Stamp& spent) { record(Pass::BackwardNode, node_op, "", spent, 0); }

}  // namespace pn::profile
