// CUDA tensors' memory: the DeviceAllocator (autograd/storage.h) behind every Storage on a
// CUDA device, built on one kernels/cuda CachingAllocator per device, with host <-> device
// and device <-> device copies and zero fills on the device's stream (device_stream). Compiled twice, like
// the kernels: penumbra_autograd_cuda (real runtime) and penumbra_autograd_cuda_emu (the
// CPU emulator, so that device tensors are tested without a GPU).
#pragma once
#include "autograd/storage.h"
#include "kernels/cuda/caching_allocator.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

// Registers the CUDA allocator with autograd (idempotent). Returns whether a device is
// present; without one nothing is registered and CUDA tensors stay an error.
bool install_device_allocator();

// Statistics of device d's cache (zeros before its first allocation).
AllocatorStats device_memory_stats(int device = 0);
// Starts device d's peak_bytes_in_use afresh from what is in use now.
void reset_device_memory_peak(int device = 0);

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
