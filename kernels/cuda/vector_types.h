// CUDA's vector types (float4, ...) in both builds, and 16-byte global loads and stores:
// ld128(p) / st128(p, v) are `*p` / `*p = v` under nvcc (one LDG.128 / STG.128); under the
// emulator they are one 16-byte access to the memory-traffic profile too
// (kernels/cuda/emu/vector_types.h). Kernels write wide accesses with them.
#pragma once
#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/vector_types.h"
#else
#include <vector_types.h>
#endif

namespace pn::cuda {

#if defined(PN_CUDA_EMU)
inline float4 ld128(const float4* p) { return emu::load128(p); }
inline void st128(float4* p, float4 v) { emu::store128(p, v); }
#else
__device__ __forceinline__ float4 ld128(const float4* p) { return *p; }
__device__ __forceinline__ void st128(float4* p, float4 v) { *p = v; }
#endif

}  // namespace pn::cuda
