// The one include that gives CUDA code its runtime: the real CUDA runtime under nvcc (or
// any host file of the CUDA build), the CPU emulator of kernels/cuda/emu when PN_CUDA_EMU is
// defined. Also the device-side spellings that differ between the two (PN_SHARED,
// PN_DYNAMIC_SHARED) and the ABI tag that keeps the two builds from ever being mixed.
#pragma once

#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/cuda_emu.h"
#else
#include <cuda_runtime.h>
#endif

// Everything in pn::cuda lives in an inline namespace named after the build, so that a
// program that links both penumbra_cuda and penumbra_cuda_emu fails to link instead of
// silently calling one where it meant the other.
// The emulated build's instrumented copies of the kernels (the profile twins, launch.h) live
// in a namespace of their own beside the plain ones; the host services they share with the
// plain kernels (check.h, launch.cpp: errors, scopes, launch checks) are in PN_CUDA_HOST_ABI,
// which is the plain build's namespace in both, so that a twin throws the CudaError callers
// catch and sees the ErrorScopes they opened.
#if defined(PN_CUDA_EMU) && defined(PN_CUDA_EMU_PROFILE_TWIN)
#define PN_CUDA_ABI abi_emu_twin
#define PN_CUDA_HOST_ABI abi_emu
#elif defined(PN_CUDA_EMU)
#define PN_CUDA_ABI abi_emu
#define PN_CUDA_HOST_ABI abi_emu
#else
#define PN_CUDA_ABI abi_device
#define PN_CUDA_HOST_ABI abi_device
#endif

namespace pn::cuda {
// An alias that lets an array type be written before the name: shared_t<float[8][32]> s;
template <class T>
using shared_t = T;
}  // namespace pn::cuda

// PN_SHARED(float[8][32], tile): a block-shared array. Under nvcc a plain __shared__ array;
// under the emulator a per-block allocation of its own (so ASan sees overflows) that is
// refilled with NaN bytes at every block start (so reading what no thread wrote shows).
// PN_DYNAMIC_SHARED(float, buf): the launch's dynamic shared memory (shared_bytes) as T*.
#if defined(PN_CUDA_EMU)
#define PN_SHARED(type, name)             \
  static char pn_shared_key_##name = 0;   \
  auto& name = ::pn::cuda::emu::block_shared<type>(&pn_shared_key_##name, #name)
#define PN_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::pn::cuda::emu::dynamic_shared())
#else
#define PN_SHARED(type, name) __shared__ ::pn::cuda::shared_t<type> name
#define PN_DYNAMIC_SHARED(T, name)                                  \
  extern __shared__ __align__(16) unsigned char pn_dynamic_smem[]; \
  T* name = reinterpret_cast<T*>(pn_dynamic_smem)
#endif
