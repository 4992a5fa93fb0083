// Hand-made kernels whose memory traffic is known, for the emulator's memory-traffic profile
// (kernels/cuda/emu/profile.h). profile_kernels.cpp is compiled with the profile's
// instrumentation (PENUMBRA_EMU_PROFILE_FLAGS), so these launches are measured; each
// comment states the figures a GPU's memory system would see.
#pragma once
#include "kernels/cuda/runtime.h"

namespace pn::test::profiled {

// y[i] = x[i], one float per thread, consecutive lanes on consecutive floats: every warp
// access asks for 128 aligned bytes and touches exactly 4 sectors (100 % efficiency).
void copy_coalesced(const float* x, float* y, int n, unsigned block);
// y[i] = x[i * stride] (stride in floats, 1..8): a warp load touches 4 x stride sectors for
// the 4 its 128 useful bytes need (efficiency 1 / stride); the stores stay coalesced.
void copy_strided(const float* x, float* y, int n, int stride, unsigned block);
// One warp writes a 32x32 float tile in shared memory by columns (lane l, step j writes
// tile[l][j]: all 32 lanes in bank j, a 32-way conflict) and reads it back by rows
// (conflict-free); `pad` = 1 makes the rows 33 floats, which removes the conflicts.
void shared_transpose(const float* x, float* y, bool pad);
// Even lanes copy, odd lanes do nothing: every warp access has 16 of 32 lanes.
void copy_even_lanes(const float* x, float* y, int n, unsigned block);

}  // namespace pn::test::profiled
