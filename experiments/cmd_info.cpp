// `penumbra info`: what this build is and what it can run on. Prints the version, the
// CPU backend (always present), and for a CUDA build the toolkit, driver, cuDNN, cuBLAS
// and NCCL versions (headers built against and libraries loaded) with the target
// architectures, then the GPUs found; where there are none (or the build has no CUDA) it
// says so plainly: the CPU backend is in use.
#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "experiments/command.h"

#if defined(PN_HAVE_CUDA)
#include "kernels/cuda/build_info.h"
#endif

namespace pn::cli {
namespace {

#if defined(PN_HAVE_CUDA)
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
#endif

int run_info() {
  std::printf("penumbra %s\n", PENUMBRA_VERSION);
  std::printf("CPU backend: always available, %u hardware threads\n", std::thread::hardware_concurrency());
#if defined(PN_HAVE_CUDA)
  const cuda::BuildReport r = cuda::build_report();
  std::string archs;  // "80,90" -> "sm_80 sm_90"
  for (size_t start = 0; start <= r.architectures.size();) {
    const size_t end = std::min(r.architectures.find(',', start), r.architectures.size());
    archs += (archs.empty() ? "sm_" : " sm_") + r.architectures.substr(start, end - start);
    start = end + 1;
  }
  std::printf("CUDA backend: built, for architectures %s\n", archs.c_str());
  std::printf("  CUDA runtime %s\n", loaded(r.runtime_header, r.runtime_loaded, cuda::cuda_version_str).c_str());
  std::printf("  CUDA driver  %s\n",
              r.driver > 0 ? (cuda::cuda_version_str(r.driver) + " (supports up to this runtime)").c_str()
                           : "none installed");
  std::printf("  cuDNN        %s\n", loaded(r.cudnn_header, r.cudnn_loaded, cudnn_version_str).c_str());
  std::printf("  cuBLAS       %s\n", loaded(r.cublas_header, r.cublas_loaded, mmp_version_str).c_str());
  if (r.nccl_header > 0)
    std::printf("  NCCL         %s\n", loaded(r.nccl_header, r.nccl_loaded, mmp_version_str).c_str());
  else
    std::printf("  NCCL         not built\n");
  if (r.devices.empty()) {
    std::printf("GPUs: none found (%s); the CPU backend is in use.\n",
                r.device_error.empty() ? "device count 0" : r.device_error.c_str());
    return 0;
  }
  std::printf("GPUs: %zu found\n", r.devices.size());
  for (const auto& d : r.devices)
    std::printf("  [%d] %s, compute capability %d.%d, %d SMs, %.1f GiB (%.1f GiB free)\n", d.index, d.name.c_str(),
                d.cc_major, d.cc_minor, d.multiprocessors, d.total_bytes / 1073741824.0, d.free_bytes / 1073741824.0);
#else
  std::printf("CUDA backend: not built (configured without CUDA); no GPU can be used, the CPU backend is in use.\n");
#endif
  return 0;
}

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print the build (CUDA, cuDNN, cuBLAS, NCCL, architectures) and devices");
  cmd->callback([] {
    const int rc = run_info();
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("info", 100, add_info);

}  // namespace pn::cli
