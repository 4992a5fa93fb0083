#include "kernels/cuda/launch.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace pn::cuda {
inline namespace PN_CUDA_HOST_ABI {

namespace {

bool sync_launches() {
  static const bool on = [] {
    const char* s = std::getenv("PN_CUDA_SYNC_LAUNCHES");
    return s && *s && std::string(s) != "0";
  }();
  return on;
}

std::string launch_str(dim3 grid, dim3 block, size_t shared_bytes) {
  // Built by appending: GCC 12 warns (-Wrestrict, a false positive) on "literal" + string&&.
  std::string s = "kernel launch";
  auto dims = [&s](const char* label, dim3 v) {
    s.append(label).append("(").append(std::to_string(v.x)).append(",").append(std::to_string(v.y));
    s.append(",").append(std::to_string(v.z)).append(")");
  };
  dims(", grid ", grid);
  dims(" block ", block);
  s.append(" shared ").append(std::to_string(shared_bytes)).append(" B");
  return s;
}

// Per-device SM counts, read once (devices do not change while a process runs).
int sm_count() {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> counts[kMaxDevices] = {};
  int dev = 0;
  PN_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= kMaxDevices) return 1;
  if (counts[dev].load() == 0) {
    int n = 0;
    PN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    counts[dev].store(n > 0 ? n : 1);
  }
  return counts[dev].load();
}

}  // namespace

std::string describe_launch(dim3 grid, dim3 block, size_t shared_bytes) {
  return launch_str(grid, block, shared_bytes) + describe_scopes();
}

void check_launch(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess && sync_launches()) e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) {
    const std::string what = launch_str(grid, block, shared_bytes);
    check(e, what.c_str(), __FILE__, __LINE__);
  }
}

unsigned grid_for(int64_t n, unsigned per_block) {
  constexpr int64_t kWaves = 8;  // blocks per SM: enough to hide latency, few enough to amortise
  const int64_t cap = kWaves * sm_count();
  const int64_t need = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(need < 1 ? 1 : (need < cap ? need : cap));
}

}  // namespace PN_CUDA_HOST_ABI
}  // namespace pn::cuda
