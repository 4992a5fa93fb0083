// Queries behind `penumbra info`: versions from the headers this build saw and from the
// libraries loaded now, and the visible devices. Host code of the real CUDA build only.
#include "kernels/cuda/build_info.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#if defined(PN_HAVE_NCCL)
#include "kernels/cuda/nccl_api.h"
#endif

#ifndef PN_CUDA_ARCHITECTURES
#define PN_CUDA_ARCHITECTURES "unknown"
#endif

namespace pn::cuda {

std::string cuda_version_str(int v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

BuildReport build_report() {
  BuildReport r;
  r.architectures = PN_CUDA_ARCHITECTURES;
  r.runtime_header = CUDART_VERSION;
  (void)cudaRuntimeGetVersion(&r.runtime_loaded);
  (void)cudaDriverGetVersion(&r.driver);
  r.cudnn_header = CUDNN_VERSION;
  r.cudnn_loaded = static_cast<int>(cudnnGetVersion());
  r.cublas_header = CUBLAS_VERSION;
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
    r.cublas_loaded = major * 10000 + minor * 100 + patch;
#if defined(PN_HAVE_NCCL)
  r.nccl_header = NCCL_VERSION_CODE;
  (void)ncclGetVersion(&r.nccl_loaded);
#endif
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    r.device_error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    (void)cudaGetLastError();
    return r;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceReport d;
    d.index = i;
    d.name = p.name;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    d.total_bytes = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    if (cudaSetDevice(i) == cudaSuccess) {
      size_t free_b = 0, total_b = 0;
      if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) d.free_bytes = free_b;
    }
    r.devices.push_back(d);
  }
  (void)cudaGetLastError();
  return r;
}

}  // namespace pn::cuda
