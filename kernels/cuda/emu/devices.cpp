// Emulated devices: how many (PN_CUDA_EMU_DEVICES, default 1, at most 16), the calling
// thread's current device (cudaSetDevice is per host thread, as in CUDA), their limits and
// properties, and the versions the emulated runtime reports. Every device is the same: a
// small GPU of 4 SMs with PN_CUDA_EMU_MEMORY_MB of memory (default 8192).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu {

namespace {

long env_long(const char* name, long fallback, long lo, long hi) {
  const char* s = std::getenv(name);
  if (!s || !*s) return fallback;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "cuda emulator: %s=%s is not a number in [%ld, %ld]; using %ld\n", name, s, lo, hi, fallback);
    return fallback;
  }
  return v;
}

thread_local int t_device = 0;

}  // namespace

int device_count() {
  static const int n = static_cast<int>(env_long("PN_CUDA_EMU_DEVICES", 1, 1, detail::kMaxDevices));
  return n;
}

namespace detail {

bool valid_device(int d) { return d >= 0 && d < device_count(); }

size_t device_memory_capacity() {
  static const size_t mb = static_cast<size_t>(env_long("PN_CUDA_EMU_MEMORY_MB", 8192, 1, 1 << 24));
  return mb << 20;
}

int current_device() { return t_device; }

}  // namespace detail

}  // namespace pn::cuda::emu

using pn::cuda::emu::detail::record_error;
namespace emu = pn::cuda::emu;

cudaError_t cudaGetDeviceCount(int* n) {
  if (!n) return record_error(cudaErrorInvalidValue, "cudaGetDeviceCount: null pointer");
  *n = emu::device_count();
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* d) {
  if (!d) return record_error(cudaErrorInvalidValue, "cudaGetDevice: null pointer");
  *d = emu::t_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int d) {
  if (!emu::detail::valid_device(d))
    return record_error(cudaErrorInvalidDevice, "cudaSetDevice(" + std::to_string(d) + "): the emulator has " +
                                                    std::to_string(emu::device_count()) +
                                                    " device(s) (set PN_CUDA_EMU_DEVICES for more)");
  emu::t_device = d;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!emu::detail::valid_device(device))
    return record_error(cudaErrorInvalidDevice, "cudaDeviceGetAttribute: no device " + std::to_string(device));
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = emu::detail::kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(emu::detail::kMaxSharedBytes); return cudaSuccess;
    case cudaDevAttrWarpSize: *value = warpSize; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = emu::detail::kEmulatedSMs; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
  }
  return record_error(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute not emulated");
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p) return record_error(cudaErrorInvalidValue, "cudaGetDeviceProperties: null pointer");
  if (!emu::detail::valid_device(device))
    return record_error(cudaErrorInvalidDevice, "cudaGetDeviceProperties: no device " + std::to_string(device));
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "Penumbra CUDA emulator (CPU)");
  p->totalGlobalMem = emu::detail::device_memory_capacity();
  p->sharedMemPerBlock = emu::detail::kMaxSharedBytes;
  p->warpSize = warpSize;
  p->maxThreadsPerBlock = emu::detail::kMaxThreadsPerBlock;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = emu::detail::kEmulatedSMs;
  return cudaSuccess;
}

// The emulated runtime implements the CUDA 13.0 API subset it declares; there is no driver.
cudaError_t cudaDriverGetVersion(int* v) {
  if (!v) return record_error(cudaErrorInvalidValue, "cudaDriverGetVersion: null pointer");
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  if (!v) return record_error(cudaErrorInvalidValue, "cudaRuntimeGetVersion: null pointer");
  *v = 13000;
  return cudaSuccess;
}
