#include "kernels/cuda/emu/fiber.h"

#include <cstdint>
#include <cstring>

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

}  // namespace pn::cuda::emu::detail
