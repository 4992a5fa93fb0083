// The one include that gives wrapper code cuBLAS: the real <cublas_v2.h> in CUDA builds,
// the CPU emulation of the subset Penumbra calls (kernels/cuda/emu/cublas_emu.h) under
// PN_CUDA_EMU. blas.cpp includes only this, so the same wrapper source runs in both builds.
#pragma once
#include "kernels/cuda/runtime.h"

#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/cublas_emu.h"
#else
#include <cublas_v2.h>
#endif
