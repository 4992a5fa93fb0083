#include "autograd/cuda/device_allocator.h"

#include <map>
#include <memory>
#include <mutex>

#include "autograd/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_guard.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

namespace {

class CudaDeviceAllocator final : public DeviceAllocator {
 public:
  // Blocks are tied to the device's stream: one freed there may be reused by later work
  // there without any event (stream order), see kernels/cuda/caching_allocator.h.
  void* allocate(size_t bytes, Device d) override { return cache(d.index).allocate(bytes, device_stream(d.index)); }
  void deallocate(void* p, size_t, Device d) override { cache(d.index).deallocate(p); }

  void copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) override {
    if (bytes == 0) return;
    const cudaMemcpyKind kind = dd.is_cpu() ? (sd.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                            : (sd.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
    PN_CHECK(dd.is_cpu() || sd.is_cpu() || dd.index == sd.index,
             "copy between {} and {}: peer copies between GPUs are not supported", sd.str(), dd.str());
    const int device = dd.is_cpu() ? sd.index : dd.index;
    DeviceGuard guard(device);
    const cudaStream_t s = device_stream(device);
    PN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
    // The host may read (or free) its side as soon as we return. (From pageable memory a
    // host-to-device copy is staged during the call; waiting keeps the rule simple.)
    if (dd.is_cpu() || sd.is_cpu()) PN_CUDA_CHECK(cudaStreamSynchronize(s));
  }

  void memset_zero(void* p, size_t bytes, Device d) override {
    DeviceGuard guard(d.index);
    PN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, device_stream(d.index)));
  }

  void reset_peak(int device) { cache(device).reset_peak(); }

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
void reset_device_memory_peak(int device) { the_allocator().reset_peak(device); }

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
