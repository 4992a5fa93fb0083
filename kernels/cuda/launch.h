// How every custom kernel is launched: pn::cuda::launch(kernel, grid, block, shared_bytes,
// stream, args...) instead of kernel<<<...>>>(args...). Under nvcc it is that launch; under
// the emulator (PN_CUDA_EMU) it runs the kernel on the CPU. Either way the launch is then
// checked, so a bad configuration or (in the emulator) a failed kernel throws CudaError
// naming the grid, the block and the ErrorScopes alive. With PN_CUDA_SYNC_LAUNCHES=1 in the
// environment every launch is also synchronised, so that an asynchronous GPU fault is
// reported by the launch that caused it. Also the grid-sizing helper launchers share.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// Throws if the launch just made failed (reads cudaGetLastError; may synchronise, see above).
void check_launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream);
// "kernel launch, grid (..) block (..) shared N B in op[shape]": names a launch in messages.
std::string describe_launch(dim3 grid, dim3 block, size_t shared_bytes);

// Blocks for n independent items of `per_block` each, capped at a few waves of the current
// device (grid-stride loops cover the rest). At least 1.
unsigned grid_for(int64_t n, unsigned per_block);

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, A&&... args) {
#if defined(PN_CUDA_EMU)
  (void)emu::launch(describe_launch(grid, block, shared_bytes), kernel, grid, block, shared_bytes, stream,
                    std::forward<A>(args)...);
#elif defined(__CUDACC__)
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<A>(args)...);
#else
  static_assert(sizeof(kernel) == 0, "kernels are launched from .cu files (nvcc) or emulated builds");
#endif
  check_launch(grid, block, shared_bytes, stream);
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
