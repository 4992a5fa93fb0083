#include "experiments/run/stop_signals.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "autograd/error.h"

namespace pn::experiments {

namespace {

volatile std::sig_atomic_t g_pending = 0;
int g_depth = 0;  // nesting of StopSignals (one thread installs them: the trainer's)
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  if (g_pending != 0) {  // asked twice: stop now
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_pending = sig;
}

// A shell word: left as is when it is plain, else single-quoted.
std::string quote(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./,:@%") ==
                        std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

}  // namespace

StopSignals::StopSignals() {
  if (g_depth++ > 0) return;
  g_pending = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignals::~StopSignals() {
  if (--g_depth > 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_pending = 0;
}

int StopSignals::pending() { return g_pending; }

Interrupted::Interrupted(int signal, const std::string& message) : std::runtime_error(message), signal_(signal) {}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGKILL: return "SIGKILL";
    default: return fmt::format("signal {}", signal);
  }
}

std::optional<FaultPlan> fault_plan_from_env() {
  const char* v = std::getenv("PENUMBRA_FAULT");
  if (!v || !*v) return std::nullopt;
  const std::string s = v;
  FaultPlan p;
  const size_t at = s.find('@');
  const std::string name = s.substr(0, at);
  p.signal = name == "KILL" ? SIGKILL : name == "TERM" ? SIGTERM : name == "INT" ? SIGINT : name == "ERROR" ? 0 : -1;
  long long steps = -1;
  int rank = -1, used = 0;
  const bool ok = p.signal >= 0 && at != std::string::npos &&
                  (std::sscanf(s.c_str() + at + 1, "%lld:%d%n", &steps, &rank, &used) == 2 ||
                   (rank = -1, std::sscanf(s.c_str() + at + 1, "%lld%n", &steps, &used) == 1)) &&
                  at + 1 + static_cast<size_t>(used) == s.size() && steps >= 1;
  PN_CHECK(ok, "PENUMBRA_FAULT='{}': expected <KILL|TERM|INT|ERROR>@<steps>[:<rank>], e.g. TERM@5 or KILL@3:1", s);
  p.after_steps = steps;
  p.rank = rank;
  return p;
}

void apply_fault(const FaultPlan& plan, int64_t steps_done, int rank) {
  if (plan.after_steps != steps_done || (plan.rank >= 0 && plan.rank != rank)) return;
  std::fflush(stdout);
  PN_CHECK(plan.signal != 0, "PENUMBRA_FAULT: planted error after step {} on rank {}", steps_done, rank);
  std::raise(plan.signal);
}

std::string resume_command(int ranks) {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string raw{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  std::string cmd = ranks > 1 ? fmt::format("mpirun -np {} ", ranks) : "";
  size_t start = 0;
  for (size_t i = 0; i <= raw.size(); ++i)
    if (i == raw.size() || raw[i] == '\0') {
      if (i > start) {
        if (start > 0) cmd += ' ';
        cmd += quote(raw.substr(start, i - start));
      }
      start = i + 1;
    }
  return cmd;
}

}  // namespace pn::experiments
