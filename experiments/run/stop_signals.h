// Stopping a training run cleanly on SIGINT (Ctrl-C) or SIGTERM (kill, a batch system's
// time limit): while a StopSignals lives, either signal only records that a stop was asked
// for; the training loop polls it after every step, finishes the step, writes a
// checkpoint, prints how to resume and throws Interrupted, which `penumbra` turns into the
// exit code 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell does
// for a process a signal ended. A second signal while the first is pending ends the
// process at once (the default action), for a user who does not want to wait.
//
// Fault injection for the resume tests: PENUMBRA_FAULT="<what>@<n>[:<rank>]" makes the
// training loop, right after the run's n-th step (on every rank, or on `rank` only), raise
// SIGKILL, SIGTERM or SIGINT in its own process (what = KILL, TERM, INT) or throw an error
// (what = ERROR).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace pn::experiments {

class StopSignals {
 public:
  StopSignals();   // installs the handlers (nested instances share them)
  ~StopSignals();  // the outermost restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // The signal received since the handlers were installed (SIGINT or SIGTERM), or 0.
  static int pending();
};

// Thrown on every rank after a run stopped on a signal with its state saved.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message);
  int signal() const { return signal_; }
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

// "SIGTERM" for SIGTERM...
std::string signal_name(int signal);

struct FaultPlan {
  int signal = 0;           // 0: throw an error instead
  int64_t after_steps = 0;  // steps of this process's run
  int rank = -1;            // -1: every rank
};
// Carries the plan out (when step and rank match).
void apply_fault(const FaultPlan& plan, int64_t steps_done, int rank);
// PENUMBRA_FAULT parsed (nothing when unset); a malformed value is an error.
std::optional<FaultPlan> fault_plan_from_env();

// The command line of this process, quoted for a shell, prefixed with "mpirun -np N "
// when it runs as N > 1 ranks: what to type to resume.
std::string resume_command(int ranks);

}  // namespace pn::experiments
