// The one include that gives wrapper code cuDNN: the real <cudnn.h> in CUDA builds, the CPU
// emulation of the subset Penumbra calls (kernels/cuda/emu/cudnn_emu.h) under PN_CUDA_EMU.
// dnn.cpp includes only this, so the same wrapper source runs in both builds.
#pragma once
#include "kernels/cuda/runtime.h"

#if defined(PN_CUDA_EMU)
#include "kernels/cuda/emu/cudnn_emu.h"
#else
#include <cudnn.h>
#endif
