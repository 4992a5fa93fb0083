#include "autograd/cuda/device_allocator.h"

#include <map>
#include <memory>
#include <mutex>

#include "autograd/error.h"
#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

// Makes device d current for a scope, restoring the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int d) {
    PN_CUDA_CHECK(cudaGetDevice(&previous_));
    if (d != previous_) PN_CUDA_CHECK(cudaSetDevice(d));
    switched_ = d != previous_;
  }
  ~DeviceGuard() {
    if (switched_) (void)cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

class CudaDeviceAllocator final : public DeviceAllocator {
 public:
  void* allocate(size_t bytes, Device d) override { return cache(d.index).allocate(bytes); }
  void deallocate(void* p, size_t, Device d) override { cache(d.index).deallocate(p); }

  void copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) override {
    if (bytes == 0) return;
    const cudaMemcpyKind kind = dd.is_cpu() ? (sd.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                            : (sd.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
    PN_CHECK(dd.is_cpu() || sd.is_cpu() || dd.index == sd.index,
             "copy between {} and {}: peer copies between GPUs are not supported", sd.str(), dd.str());
    DeviceGuard guard(dd.is_cpu() ? sd.index : dd.index);
    PN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
  }

  void memset_zero(void* p, size_t bytes, Device d) override {
    DeviceGuard guard(d.index);
    PN_CUDA_CHECK(cudaMemset(p, 0, bytes));
  }

  AllocatorStats stats(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = caches_.find(device);
    return it == caches_.end() ? AllocatorStats{} : it->second->stats();
  }

 private:
  CachingAllocator& cache(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& c = caches_[device];
    if (!c) c = std::make_unique<CachingAllocator>(device);
    return *c;
  }

  std::mutex mutex_;
  std::map<int, std::unique_ptr<CachingAllocator>> caches_;
};

// Never destroyed: tensors in static storage may be freed after main returns.
CudaDeviceAllocator& the_allocator() {
  static auto* a = new CudaDeviceAllocator;
  return *a;
}

}  // namespace

bool install_device_allocator() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    return false;
  }
  set_cuda_allocator(&the_allocator());
  return true;
}

AllocatorStats device_memory_stats(int device) { return the_allocator().stats(device); }

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
