// The context switch behind the emulator's threads (scheduler.cpp): each emulated thread is
// a fiber with its own stack, and a switch saves one context and resumes another. On
// x86-64 the switch is a few instructions (callee-saved registers and the stack pointer;
// no signal-mask system call as ucontext's swapcontext makes twice per switch, which made
// thread switches cost microseconds); elsewhere it falls back to ucontext.
#pragma once
#include <cstddef>

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

}  // namespace pn::cuda::emu::detail
