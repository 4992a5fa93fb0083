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
// Host services shared by the plain kernels and their profile twins (runtime.h).
inline namespace PN_CUDA_HOST_ABI {

// Throws if the launch just made failed (reads cudaGetLastError; may synchronise, see above).
void check_launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream);
// "kernel launch, grid (..) block (..) shared N B in op[shape]": names a launch in messages.
std::string describe_launch(dim3 grid, dim3 block, size_t shared_bytes);

// Blocks for n independent items of `per_block` each, capped at a few waves of the current
// device (grid-stride loops cover the rest). At least 1.
unsigned grid_for(int64_t n, unsigned per_block);

#if defined(PN_CUDA_EMU)
// A launch's grid, converted implicitly from dim3 or a block count at the call, which also
// records where the call is written (the emulator's profile labels launches with it).
struct LaunchGrid {
  dim3 dims;
  emu::LaunchSite site;
  LaunchGrid(dim3 d, const char* fn = __builtin_FUNCTION(), const char* file = __builtin_FILE(),
             int line = __builtin_LINE())  // NOLINT: implicit by design
      : dims(d), site{fn, file, line} {}
  LaunchGrid(unsigned x, const char* fn = __builtin_FUNCTION(), const char* file = __builtin_FILE(),
             int line = __builtin_LINE())  // NOLINT: implicit by design
      : dims(x), site{fn, file, line} {}
};
#else
using LaunchGrid = dim3;
#endif

}  // namespace PN_CUDA_HOST_ABI
inline namespace PN_CUDA_ABI {

template <class... P, class... A>
void launch(void (*kernel)(P...), LaunchGrid launch_grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            A&&... args) {
#if defined(PN_CUDA_EMU)
  const dim3 grid = launch_grid.dims;
  (void)emu::launch(describe_launch(grid, block, shared_bytes), launch_grid.site, kernel, grid, block, shared_bytes,
                    stream, std::forward<A>(args)...);
#elif defined(__CUDACC__)
  const dim3 grid = launch_grid;
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<A>(args)...);
#else
  const dim3 grid = launch_grid;
  static_assert(sizeof(kernel) == 0, "kernels are launched from .cu files (nvcc) or emulated builds");
#endif
  check_launch(grid, block, shared_bytes, stream);
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda

// ---- Profile twins (emulated builds; kernels/cuda/emu/profile.h) -----------------------------
// Each .cu file of penumbra_cuda_emu is compiled twice: plain, and instrumented for the
// memory-traffic profile (PN_CUDA_EMU_PROFILE_TWIN, in the ABI namespace abi_emu_twin). A
// public entry point starts with PN_PROFILE_DISPATCH("name", name<T>, its arguments...): while
// profiling() the plain build hands the call to the twin and returns; otherwise (and in the
// twin and real builds) it does nothing. PN_PROFILE_TWIN("name", name<float>) beside each
// explicit instantiation registers the twin; PN_PROFILE_TWIN_UNIT(file) once per .cu file
// makes the plain object pull its twin into every program that links it. A template-id with
// a comma goes in parentheses: PN_PROFILE_TWIN("cast", (cast<float, double>)).
#define PN_PROFILE_CONCAT_(a, b) a##b
#define PN_PROFILE_CONCAT(a, b) PN_PROFILE_CONCAT_(a, b)
#if defined(PN_CUDA_EMU) && defined(PN_CUDA_EMU_PROFILE_TWIN)
#define PN_PROFILE_DISPATCH(name, fn, ...) ((void)0)
#define PN_PROFILE_TWIN(name, fn)                                        \
  [[maybe_unused]] static const bool PN_PROFILE_CONCAT(pn_twin_, __COUNTER__) = \
      ::pn::cuda::emu::register_twin<decltype(&fn)>(name, &fn);
#define PN_PROFILE_TWIN_UNIT(unit) \
  extern "C" {                     \
  extern const char pn_profile_twin_unit_##unit; \
  const char pn_profile_twin_unit_##unit = 1;    \
  }
#elif defined(PN_CUDA_EMU)
#define PN_PROFILE_DISPATCH(name, fn, ...)                                                     \
  do {                                                                                         \
    if (::pn::cuda::emu::profiling())                                                          \
      if (auto pn_twin_ = ::pn::cuda::emu::profile_twin<decltype(&fn)>(name)) {                \
        pn_twin_(__VA_ARGS__);                                                                 \
        return;                                                                                \
      }                                                                                        \
  } while (0)
#define PN_PROFILE_TWIN(name, fn)
#define PN_PROFILE_TWIN_UNIT(unit)                                                     \
  extern "C" const char pn_profile_twin_unit_##unit;                                   \
  [[maybe_unused]] __attribute__((used)) static const char* const pn_profile_twin_ref_##unit = \
      &pn_profile_twin_unit_##unit;
#else
#define PN_PROFILE_DISPATCH(name, fn, ...) ((void)0)
#define PN_PROFILE_TWIN(name, fn)
#define PN_PROFILE_TWIN_UNIT(unit)
#endif
