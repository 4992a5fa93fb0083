// CUDA's warp matrix functions (nvcuda::wmma, tensor cores) for our kernels: the real <mma.h>
// under nvcc, the emulated subset (kernels/cuda/emu/wmma_emu.h: 16 x 16 x 16 tiles of bf16 /
// half operands with float or half accumulators, the documented contract checked) under
// PN_CUDA_EMU. Kernel code includes only this header. On a GPU, bf16 fragments need sm_80 or
// newer (PENUMBRA_CUDA_ARCHITECTURES is 80;90 by default); kernels that use them guard their
// device code with PN_WMMA_BF16 (true under the emulator, and in device code for sm_80+).
#pragma once
#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/wmma_emu.h"
#define PN_WMMA_BF16 1
#else
#include <mma.h>
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define PN_WMMA_BF16 1
#else
#define PN_WMMA_BF16 0
#endif
#endif
