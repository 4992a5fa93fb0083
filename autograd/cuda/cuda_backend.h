// The CUDA kernel backend for autograd's ops (autograd/backend.h): kernels/cuda behind the
// same interface as the CPU reference, one backend per device, each queuing its work on its
// device's one stream (kernels/cuda/device_guard.h) under a device guard. Compiled twice like
// everything CUDA: against the real runtime (penumbra_autograd_cuda) and against the CPU
// emulator (penumbra_autograd_cuda_emu), where the emu tests run models' ops through it.
#pragma once
// Standard and autograd headers before runtime.h: under the emulator it defines CUDA's
// keywords as macros, which must not reach the standard library's headers.
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "autograd/backend_impl.h"
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// Installs the device allocator and registers a kernel backend for each CUDA device.
// Returns false (and installs nothing) when no device is present. Idempotent.
bool install_cuda_backend();

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
