// The one include that gives code NCCL: the real <nccl.h> in CUDA builds, the emulated NCCL
// of kernels/cuda/emu (nccl_emu.h, the same names, types and values) when PN_CUDA_EMU is
// defined. Wrapper code (nn/nccl_communicator.cpp, kernels/cuda/build_info.cpp) includes only
// this, so the same source runs on GPUs and, in CI, between emulated ranks.
#pragma once

#include "kernels/cuda/runtime.h"

#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/nccl_emu.h"
#else
#include <nccl.h>
#endif
