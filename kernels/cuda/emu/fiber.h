// The fibers behind the emulator's threads (scheduler.cpp): each emulated thread runs on a
// stack of its own from the StackPool, and a switch saves one context and resumes another. On
// x86-64 the switch is a few instructions (callee-saved registers and the stack pointer;
// no signal-mask system call as ucontext's swapcontext makes twice per switch, which made
// thread switches cost microseconds); elsewhere it falls back to ucontext.
#pragma once
#include <cstddef>
#include <deque>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace pn::cuda::emu::detail {

struct FiberContext {
#if defined(__x86_64__)
  void* sp = nullptr;  // the saved stack pointer; the registers lie on that stack
#else
  ucontext_t uc;
#endif
};

// Makes ctx start entry() on the stack [lo, lo + bytes) when it is first switched to.
// entry must never return: it ends by switching away for good.
void fiber_prepare(FiberContext& ctx, char* lo, size_t bytes, void (*entry)());

// Saves the running context in `from` and resumes `to`; returns when something switches
// back to `from`.
void fiber_switch(FiberContext& from, FiberContext& to);

// A fiber stack: [lo, lo + bytes), mmap'd with a PROT_NONE guard page below it, so that an
// overflow faults instead of corrupting a neighbour.
struct FiberStack {
  char* lo = nullptr;
  size_t bytes = 0;
  bool abandoned = false;  // its fiber never ended: frames (and ASan poison) are left anywhere
};

// The stacks of the emulator's fibers, kept for later blocks and launches and handed out
// last-returned first: a thread that ends returns its stack and the next thread to start
// takes that same stack, so a kernel whose threads never block runs them all on one stack
// that stays in cache and TLB; only threads that wait (barriers, warp collectives) hold
// stacks of their own. Not thread-safe: the scheduler's launch mutex guards it.
class StackPool {
 public:
  // A stack ready for fiber_prepare (under ASan: unpoisoned where a new fiber needs it).
  FiberStack* take();
  // s is free again; abandoned: its fiber was left mid-kernel.
  void give_back(FiberStack* s, bool abandoned);
  size_t mapped() const { return stacks_.size(); }

 private:
  std::deque<FiberStack> stacks_;  // stable addresses
  std::vector<FiberStack*> free_;
};
StackPool& stack_pool();

}  // namespace pn::cuda::emu::detail
