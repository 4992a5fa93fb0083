// Device selection for host code of the CUDA backend, valid in both builds (real runtime and
// emulator):
//  - DeviceGuard makes a device current for a scope (cudaSetDevice is per host thread) and
//    restores the previous one. Every op of the CUDA backend runs under one, so kernels,
//    cuDNN and cuBLAS calls and allocations land on the device of the op's tensors whatever
//    device the calling thread had current.
//  - device_stream(d): the one explicit stream of device d that carries all of Penumbra's
//    work there (kernels, library calls, copies, memsets, collectives). Non-blocking, so it
//    is never implicitly ordered with the legacy default stream: anything queued there by
//    mistake is unordered, and the emulator's hazard checker reports it.
#pragma once
#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

class DeviceGuard {
 public:
  // requires: 0 <= device < cudaGetDeviceCount. Throws CudaError otherwise.
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

// The stream of device d, created (non-blocking, on device d) on first use; never destroyed.
cudaStream_t device_stream(int device);

namespace testing {
// For planted-bug tests only: with false, DeviceGuard does nothing (the bug "an op runs on
// whatever device is current"). Process-wide; true by default.
void set_device_guards_enabled(bool on);
}  // namespace testing

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
