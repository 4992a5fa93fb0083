#include "kernels/cuda/device_guard.h"

#include <atomic>
#include <mutex>
#include <string>

#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {
std::atomic<bool> g_guards_on{true};
constexpr int kMaxDevices = 64;
}  // namespace

DeviceGuard::DeviceGuard(int device) {
  if (!g_guards_on.load(std::memory_order_relaxed)) return;
  PN_CUDA_CHECK(cudaGetDevice(&previous_));
  if (device != previous_) {
    PN_CUDA_CHECK(cudaSetDevice(device));
    switched_ = true;
  }
}

DeviceGuard::~DeviceGuard() {
  if (switched_) (void)cudaSetDevice(previous_);
}

cudaStream_t device_stream(int device) {
  static std::mutex mutex;
  static cudaStream_t streams[kMaxDevices] = {};
  if (device < 0 || device >= kMaxDevices)
    throw CudaError("device_stream: device " + std::to_string(device) + " out of range", cudaErrorInvalidDevice);
  std::lock_guard<std::mutex> lock(mutex);
  if (!streams[device]) {
    int previous = 0;
    PN_CUDA_CHECK(cudaGetDevice(&previous));
    PN_CUDA_CHECK(cudaSetDevice(device));
    cudaStream_t s = nullptr;
    const cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    (void)cudaSetDevice(previous);
    PN_CUDA_CHECK(e);
    streams[device] = s;
  }
  return streams[device];
}

namespace testing {
void set_device_guards_enabled(bool on) { g_guards_on.store(on); }
}  // namespace testing

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
