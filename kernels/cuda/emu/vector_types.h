// CUDA's vector types for emulated builds (nvcc has them built in), aligned as CUDA aligns
// them, and the emulator's side of the 16-byte accesses of kernels/cuda/vector_types.h.
// The host compiler splits a float4 copy into four 4-byte accesses, which the memory-traffic
// profile (profile.h) would count as four strided warp accesses; load128 / store128 are
// compiled without the profile's instrumentation and report one 16-byte access instead.
#pragma once

struct alignas(16) float4 {
  float x, y, z, w;
};

namespace pn::cuda::emu {
float4 load128(const float4* p);
void store128(float4* p, float4 v);
}  // namespace pn::cuda::emu
