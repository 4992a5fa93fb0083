// The emulated runtime's error state: each host thread's last error with the emulator's
// explanation of it, cudaGetLastError / cudaPeekAtLastError (which also report the current
// device's pending asynchronous error, as CUDA's do), and the names and texts of the error
// numbers the emulator returns (CUDA's own numbers and wording).
#include <string>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu {

namespace {
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local std::string t_last_detail;
}  // namespace

namespace detail {

cudaError_t record_error(cudaError_t e, std::string what) {
  t_last_error = e;
  t_last_detail = std::move(what);
  return e;
}

void record_detail(std::string what) { t_last_detail = std::move(what); }
cudaError_t thread_error() { return t_last_error; }

}  // namespace detail

const char* last_error_detail() { return t_last_detail.c_str(); }

}  // namespace pn::cuda::emu

namespace emu = pn::cuda::emu;

cudaError_t cudaGetLastError() {
  if (emu::t_last_error == cudaSuccess) (void)emu::detail::take_async_error(emu::detail::current_device());
  const cudaError_t e = emu::t_last_error;
  emu::t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  if (emu::t_last_error == cudaSuccess) (void)emu::detail::take_async_error(emu::detail::current_device());
  return emu::t_last_error;
}

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorAssert: return "cudaErrorAssert";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorAssert: return "device-side assert triggered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unknown error";
}
