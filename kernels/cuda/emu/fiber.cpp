// Fiber contexts (a few instructions of x86-64 assembly, or ucontext elsewhere) and the pool
// of fiber stacks; see fiber.h.
#include "kernels/cuda/emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PN_EMU_FIBER_ASAN 1
#else
#define PN_EMU_FIBER_ASAN 0
#endif

#if defined(__x86_64__)
// pn_emu_fiber_switch(void** save_sp, void* load_sp): pushes the callee-saved registers
// (System V ABI: rbp, rbx, r12-r15) on the current stack, stores the stack pointer in
// *save_sp, switches to load_sp, pops the registers saved there and returns into that
// context. The x87 control word and MXCSR are not switched: the emulator never changes them.
asm(R"(
  .text
  .p2align 4
  .globl pn_emu_fiber_switch
  .type pn_emu_fiber_switch, @function
pn_emu_fiber_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size pn_emu_fiber_switch, .-pn_emu_fiber_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");
extern "C" void pn_emu_fiber_switch(void** save_sp, void* load_sp);
#endif

namespace pn::cuda::emu::detail {

#if defined(__x86_64__)

void fiber_prepare(FiberContext& ctx, char* lo, size_t bytes, void (*entry)()) {
  // From the top of the stack down: a zero word (a null "return address" above entry's
  // frame, which ends backtraces), entry's address (the `ret` of the first switch jumps
  // there, leaving the stack pointer 8 past a 16-byte boundary, as at any function entry),
  // then six zeroed callee-saved registers for the switch to pop.
  auto top = reinterpret_cast<uintptr_t>(lo + bytes) & ~uintptr_t{15};
  auto* sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;
  *--sp = reinterpret_cast<void*>(entry);
  for (int i = 0; i < 6; ++i) *--sp = nullptr;
  ctx.sp = sp;
}

void fiber_switch(FiberContext& from, FiberContext& to) { pn_emu_fiber_switch(&from.sp, to.sp); }

#else

void fiber_prepare(FiberContext& ctx, char* lo, size_t bytes, void (*entry)()) {
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = lo;
  ctx.uc.uc_stack.ss_size = bytes;
  ctx.uc.uc_link = nullptr;
  makecontext(&ctx.uc, entry, 0);
}

void fiber_switch(FiberContext& from, FiberContext& to) { swapcontext(&from.uc, &to.uc); }

#endif

// ---- Stacks ---------------------------------------------------------------------------------
namespace {
// Every kernel's frames fit in 64 KiB with room to spare (an overflow hits the guard page,
// never passes silently); plain builds keep twice that for kernels with large locals.
// Only the pages a fiber touches are ever backed by memory.
constexpr size_t kStackBytes = PN_EMU_FIBER_ASAN ? 64 * 1024 : 128 * 1024;
// Under ASan, a fiber that ran to its end never returned from its first frames, so their
// redzones stay poisoned at the top of its stack, where fiber_prepare writes the next
// fiber's start: that top is unpoisoned before reuse (every later frame sets its own shadow
// on entry). An abandoned fiber may have left poisoned frames anywhere: all of it is.
constexpr size_t kStackTopBytes = 1024;
}  // namespace

FiberStack* StackPool::take() {
  if (free_.empty()) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* m = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "cuda emulator: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(m, page, PROT_NONE);
    stacks_.push_back(FiberStack{static_cast<char*>(m) + page, kStackBytes, false});
    return &stacks_.back();
  }
  FiberStack* s = free_.back();
  free_.pop_back();
#if PN_EMU_FIBER_ASAN
  if (s->abandoned)
    __asan_unpoison_memory_region(s->lo, s->bytes);
  else
    __asan_unpoison_memory_region(s->lo + s->bytes - kStackTopBytes, kStackTopBytes);
#endif
  s->abandoned = false;
  return s;
}

void StackPool::give_back(FiberStack* s, bool abandoned) {
  s->abandoned = abandoned;
  free_.push_back(s);
}

StackPool& stack_pool() {
  static StackPool pool;
  return pool;
}

}  // namespace pn::cuda::emu::detail
