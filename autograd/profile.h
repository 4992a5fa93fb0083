// The op-level time profile: with `PN_PROFILE=1` in the environment (or profile::set_enabled),
// every backend kernel call (BackendImpl, autograd/backend_impl.h: all kernels of every op go
// through it), every tape node's backward function (the engine) and every tensor storage
// allocation is timed, and the wall time, call count and mean per (pass, kernel, op) are
// accumulated and printed as a table sorted by time (at exit, to stderr, when PN_PROFILE
// switched it on; or on demand: profile::report()).
//
// Rows:
//   * kernel rows: pass (forward = outside a backward pass, backward = inside the engine's
//     backward / grad, update = optimiser updates), the backend kernel (`norm_act_backward`,
//     `unary`, ...) and the op that asked for it (the name the op handed backend_for: `relu`,
//     `batch_norm_act`, ...). Times are exclusive: just the kernel.
//   * `alloc` rows: tensor storage allocations (autograd/storage.cpp) with the bytes, under
//     the op that last called backend_for on this thread.
//   * node rows (pass `bwd-node`): each tape node's backward function, inclusive of the
//     kernels, allocations and tape work it does; shown in their own table.
// The percentages are of the wall time since profiling started (or the last reset); what the
// kernel and allocation rows do not cover is tape bookkeeping, shape checks, host copies.
// On CUDA devices kernel times are launch times (the work is asynchronous).
//
// Each row has wall time and the process's CPU time (every thread's): on a shared machine the
// CPU time is the steadier measure of what an op costs, the wall time includes waiting for
// the cores (and, with several threads, for the slowest one).
// Cost when off: one predictable branch on a global bool per kernel call, node and
// allocation. When on, ~0.7 us per recorded event (clock reads, a locked map update): 1.4 us
// more per call of a tiny op (a kernel and an allocation); ~0.25 ms per small U-Net step.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace pn::profile {

namespace detail {
// Read once from PN_PROFILE at start-up; set_enabled changes it (atomic: threads may read it
// while another switches it; a relaxed load is a plain load).
extern std::atomic<bool> g_enabled;
}

inline bool enabled() { return detail::g_enabled.load(std::memory_order_relaxed); }
// Switches recording on or off (does not clear what was recorded; reset() does).
void set_enabled(bool on);
// Clears every row and restarts the wall clock the percentages refer to.
void reset();

// A moment: wall time and the process's CPU time (all threads). CPU time is what the work
// cost whatever else shares the cores; on a busy machine wall time also holds the waits.
struct Stamp {
  double wall = 0, cpu = 0;
  static Stamp now();
  Stamp since() const;  // now() - *this
};

enum class Pass { Forward, Backward, Update, BackwardNode, Alloc };
const char* pass_name(Pass p);

struct Row {
  Pass pass;
  std::string kernel;  // backend kernel, "alloc", or the node's op
  std::string op;      // the op that called backend_for ("" for node rows)
  int64_t calls = 0;
  double seconds = 0;      // wall
  double cpu_seconds = 0;  // the process's CPU time (every thread) during the calls
  double bytes = 0;  // allocation rows only
};
// Every row recorded since the last reset, sorted by time, longest first.
std::vector<Row> rows();
// Wall and CPU time since profiling was switched on or last reset.
Stamp elapsed();
// The table: kernel and allocation rows, then the backward-node rows, with totals.
// `top` limits each table to its longest rows (0: all).
std::string report(int top = 0);

// The pass that this thread's kernel calls belong to, for a scope (engine, optimiser ops).
class PassScope {
 public:
  explicit PassScope(Pass p);
  ~PassScope();
  PassScope(const PassScope&) = delete;
  PassScope& operator=(const PassScope&) = delete;

 private:
  Pass prev_;
};

// Names the op whose kernels this thread runs next (backend_for calls it when enabled).
void note_op(const char* op);


// Adds one call to a row: a kernel of this thread's current pass and op; an allocation of
// `bytes` (pass alloc, the current op); a backward node of op `node_op`.
void add_kernel(const char* kernel, const Stamp& spent);
void add_alloc(const Stamp& spent, double bytes);
void add_node(const char* node_op, const Stamp& spent);

// Times one backend kernel call (construct only when enabled()).
class KernelTimer {
 public:
  explicit KernelTimer(const char* kernel) : kernel_(kernel), t0_(Stamp::now()) {}
  ~KernelTimer() { add_kernel(kernel_, t0_.since()); }
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

 private:
  const char* kernel_;
  Stamp t0_;
};

}  // namespace pn::profile
