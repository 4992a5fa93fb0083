#include "kernels/cuda/caching_allocator.h"

#include <string>

#include "kernels/cuda/check.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [key, p] : cached_) (void)cudaFree(p);  // no throwing from a destructor
  cached_.clear();
}

void* CachingAllocator::allocate(size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return nullptr;
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  size_t got = size;
  // The smallest cached block on this stream that is big enough and wastes <= 1/4 of itself.
  auto it = cached_.lower_bound({stream, size});
  if (it != cached_.end() && it->first.first == stream && it->first.second - size <= it->first.second / 4) {
    p = it->second;
    got = it->first.second;
    cached_.erase(it);
    stats_.bytes_cached -= got;
    ++stats_.cache_hits;
  } else {
    p = device_malloc(size);
  }
  in_use_.emplace(p, Block{got, stream});
  stats_.bytes_in_use += got;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  ++stats_.allocations;
  return p;
}

void CachingAllocator::deallocate(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.find(p);
  if (it == in_use_.end())
    throw CudaError("CachingAllocator::deallocate: pointer was not allocated here (or freed twice) on device " +
                        std::to_string(device_),
                    static_cast<int>(cudaErrorInvalidValue));
  const Block b = it->second;
  in_use_.erase(it);
  stats_.bytes_in_use -= b.size;
  stats_.bytes_cached += b.size;
  cached_.emplace(std::make_pair(b.stream, b.size), p);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached();
}

void CachingAllocator::release_cached() {
  for (auto& [key, p] : cached_) {
    PN_CUDA_CHECK(cudaFree(p));
    ++stats_.device_frees;
  }
  cached_.clear();
  stats_.bytes_cached = 0;
}

void* CachingAllocator::device_malloc(size_t size) {
  int current = 0;
  PN_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device_) PN_CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    // Clear it, then retry with our cache given back, and the memory the stream-ordered
    // pool keeps for cuDNN workspaces (dnn.cpp sets it to keep everything) too.
    (void)cudaGetLastError();
    release_cached();
    cudaMemPool_t pool = nullptr;
    if (cudaDeviceGetDefaultMemPool(&pool, device_) == cudaSuccess) {
      (void)cudaDeviceSynchronize();  // workspaces freed on a stream return to the pool
      (void)cudaMemPoolTrimTo(pool, 0);
    }
    (void)cudaGetLastError();
    e = cudaMalloc(&p, size);
  }
  if (current != device_) PN_CUDA_CHECK(cudaSetDevice(current));
  if (e != cudaSuccess) {
    const std::string what = "cudaMalloc(" + std::to_string(size) + " bytes) with " +
                             std::to_string(stats_.bytes_in_use) + " bytes in use on device " + std::to_string(device_);
    check(e, what.c_str(), __FILE__, __LINE__);
  }
  ++stats_.device_mallocs;
  return p;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
