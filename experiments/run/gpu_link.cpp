// The GPU support of one program (experiments/run/gpu_support.h), compiled into each program
// that has one: `penumbra` of a CUDA build (real runtime, cuDNN, cuBLAS, NCCL) and
// `penumbra-emu` (the same CUDA code on the CPU emulator, PN_CUDA_EMU). Registered by a
// static object before main runs; CPU-only programs do not compile this file.
#include <algorithm>
#include <cstdio>
#include <string>

#include "experiments/run/gpu_support.h"
#if defined(PN_LINK_NCCL)
#include "nn/nccl_communicator.h"
#endif
// Standard and project headers above; runtime.h defines CUDA's keywords under the emulator.
#include "autograd/cuda/cuda_backend.h"
#include "autograd/cuda/device_allocator.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/library_options.h"
#include "kernels/cuda/workbench/workbench.h"
#if !defined(PN_CUDA_EMU)
#include "kernels/cuda/build_info.h"
#endif

namespace pn::experiments {
namespace {

int count_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

std::string no_device_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  (void)cudaGetLastError();
  if (e == cudaSuccess) return n == 0 ? "device count 0" : "";
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

void activate(int device) {
  PN_CUDA_CHECK(cudaSetDevice(device));
  if (!cuda::install_cuda_backend())
    throw cuda::CudaError("the CUDA backend found no device to install on", cudaErrorNoDevice);
  (void)cuda::device_stream(device);  // made now, on the rank's device, before any allocation
}

std::string describe(int device) {
  cudaDeviceProp p{};
  PN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  char buf[384];
  std::snprintf(buf, sizeof buf, "%s, %.1f GiB", p.name, static_cast<double>(p.totalGlobalMem) / 1073741824.0);
  return buf;
}

void configure(const GpuMathOptions& m) {
  cuda::LibraryOptions o;
  o.deterministic = m.deterministic;
  o.allow_tf32 = m.allow_tf32;
  o.conv = cuda::parse_conv_impl(m.conv, "run.conv");
  cuda::set_library_options(o);
}

void synchronize(int device) {
  cuda::DeviceGuard guard(device);
  PN_CUDA_CHECK(cudaStreamSynchronize(cuda::device_stream(device)));
}

size_t peak_memory(int device, bool reset) {
  const size_t peak = cuda::device_memory_stats(device).peak_bytes_in_use;
  if (reset) cuda::reset_device_memory_peak(device);
  return peak;
}

[[maybe_unused]] std::string device_lines() {  // used by the emulated report only
  const int n = count_devices();
  std::string s;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    char buf[512];
    std::snprintf(buf, sizeof buf, "  [%d] %s, compute capability %d.%d, %d SMs, %.1f GiB\n", i, p.name, p.major,
                  p.minor, p.multiProcessorCount, static_cast<double>(p.totalGlobalMem) / 1073741824.0);
    s += buf;
  }
  return s;
}

#if defined(PN_CUDA_EMU)
std::string report() {
  const int n = count_devices();
  std::string s = "CUDA backend: the CPU emulator of Penumbra's CUDA code (penumbra-emu): kernels, cuDNN, cuBLAS "
                  "and NCCL calls execute on the CPU\n";
  s += "  streams: " + std::string(cuda::emu::stream_policy_name(cuda::emu::stream_policy())) + " (seed " +
       std::to_string(cuda::emu::stream_seed()) + ", PN_CUDA_EMU_STREAMS, PN_CUDA_EMU_SEED); hazards: " +
       (cuda::emu::hazard_mode() == cuda::emu::HazardMode::Error  ? "error"
        : cuda::emu::hazard_mode() == cuda::emu::HazardMode::Warn ? "warn"
                                                                    : "off") +
       " (PN_CUDA_EMU_HAZARDS)\n";
  s += "GPUs: " + std::to_string(n) + " emulated (PN_CUDA_EMU_DEVICES)\n" + device_lines();
  return s;
}
#else
// cuDNN 9 encodes versions as major*10000 + minor*100 + patch (cuDNN 8: major*1000 + minor*100 + patch).
std::string cudnn_version_str(int v) {
  if (v >= 90000) return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 100) + "." + std::to_string(v % 100);
}
// cuBLAS (CUBLAS_VERSION and our major*10000 + minor*100 + patch) and NCCL (NCCL_VERSION_CODE) share this form.
std::string mmp_version_str(int v) {
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}
std::string loaded(int header, int lib, std::string (*fmt)(int)) {
  std::string s = fmt(header) + " (built against)";
  s += lib > 0 ? ", " + fmt(lib) + " (loaded)" : ", library not loadable";
  return s;
}

std::string report() {
  const cuda::BuildReport r = cuda::build_report();
  std::string archs;  // "80,90" -> "sm_80 sm_90"
  for (size_t start = 0; start <= r.architectures.size();) {
    const size_t end = std::min(r.architectures.find(',', start), r.architectures.size());
    archs += (archs.empty() ? "sm_" : " sm_") + r.architectures.substr(start, end - start);
    start = end + 1;
  }
  std::string s = "CUDA backend: built, for architectures " + archs + "\n";
  s += "  CUDA runtime " + loaded(r.runtime_header, r.runtime_loaded, cuda::cuda_version_str) + "\n";
  s += "  CUDA driver  " +
       (r.driver > 0 ? cuda::cuda_version_str(r.driver) + " (supports up to this runtime)" : std::string("none installed")) +
       "\n";
  s += "  cuDNN        " + loaded(r.cudnn_header, r.cudnn_loaded, cudnn_version_str) + "\n";
  s += "  cuBLAS       " + loaded(r.cublas_header, r.cublas_loaded, mmp_version_str) + "\n";
  s += "  NCCL         " + (r.nccl_header > 0 ? loaded(r.nccl_header, r.nccl_loaded, mmp_version_str) : "not built") + "\n";
  if (r.devices.empty())
    return s + "GPUs: none found (" + (r.device_error.empty() ? "device count 0" : r.device_error) +
           "); the CPU backend is in use.\n";
  s += "GPUs: " + std::to_string(r.devices.size()) + " found\n";
  for (const auto& d : r.devices) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "  [%d] %s, compute capability %d.%d, %d SMs, %.1f GiB (%.1f GiB free)\n", d.index,
                  d.name.c_str(), d.cc_major, d.cc_minor, d.multiprocessors, d.total_bytes / 1073741824.0,
                  d.free_bytes / 1073741824.0);
    s += buf;
  }
  return s;
}
#endif

const bool registered = [] {
  GpuSupport s;
#if defined(PN_CUDA_EMU)
  s.kind = "emulated CUDA";
#else
  s.kind = "CUDA";
#endif
  s.device_count = count_devices;
  s.no_device_reason = no_device_reason;
  s.activate = activate;
  s.describe = describe;
  s.configure = configure;
  s.report = report;
  s.synchronize = synchronize;
  s.peak_memory = peak_memory;
  s.bench_kernels = [](const std::string& family, int version) {
    return cuda::workbench::format(cuda::workbench::run(family, version));
  };
  set_gpu_support(std::move(s));
#if defined(PN_LINK_NCCL)
  nn::install_nccl_communicator();  // device collectives for multi-rank GPU runs
#endif
  return true;
}();

}  // namespace
}  // namespace pn::experiments
