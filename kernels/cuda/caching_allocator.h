// A caching allocator for one CUDA device. cudaMalloc and cudaFree synchronise the device
// and cost tens of microseconds, far too much per tensor; so freed blocks are kept in a
// cache, keyed by (stream, size), and handed out again for requests of about the same size.
// Sizes are rounded up to 512 bytes, and a cached block is reused for any request that
// wastes at most a quarter of it. A block is only reused on the stream it was freed on:
// work queued there before the free has finished before any later work on that stream
// starts, so no event is needed (a tensor used on a second stream must be freed there, or
// synchronised first). When cudaMalloc runs out of memory the cache is emptied, the
// stream-ordered pool (cuDNN workspaces) trimmed, and the allocation retried.
//
// For the autograd layer: pn::DeviceAllocator (autograd/storage.h) is adapted by a small
// class in autograd that owns one CachingAllocator per device and forwards allocate and
// deallocate (kernels/ does not depend on autograd/, so the adapter lives there).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "kernels/cuda/runtime.h"

namespace pn::cuda {
inline namespace PN_CUDA_ABI {

struct AllocatorStats {
  size_t bytes_in_use = 0;       // in blocks handed out (rounded sizes)
  size_t peak_bytes_in_use = 0;  // the most bytes_in_use has been since construction (or reset_peak)
  size_t bytes_cached = 0;       // in free blocks kept for reuse
  uint64_t allocations = 0;      // allocate() calls that returned a block
  uint64_t cache_hits = 0;       // ... of which were served from the cache
  uint64_t device_mallocs = 0;   // cudaMalloc calls made
  uint64_t device_frees = 0;     // cudaFree calls made
};

class CachingAllocator {
 public:
  explicit CachingAllocator(int device = 0) : device_(device) {}
  ~CachingAllocator();  // frees the cached blocks; blocks still in use are left alone
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` (256-byte aligned; nullptr for 0 bytes) for use on stream.
  // Throws CudaError when the device is out of memory even after emptying the cache.
  void* allocate(size_t bytes, cudaStream_t stream = nullptr);
  // Returns a block from allocate() to the cache. Throws on a pointer it did not hand out.
  void deallocate(void* p);
  // cudaFree on every cached block.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();
  int device() const { return device_; }

  static constexpr size_t kRound = 512;
  static size_t round_size(size_t bytes) { return (bytes + kRound - 1) / kRound * kRound; }

 private:
  struct Block {
    size_t size;
    cudaStream_t stream;
  };
  void* device_malloc(size_t size);  // with the empty-cache-and-retry fallback
  void release_cached();             // empty_cache with mutex_ held

  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, Block> in_use_;
  std::multimap<std::pair<cudaStream_t, size_t>, void*> cached_;
  AllocatorStats stats_;
};

}  // namespace PN_CUDA_ABI
}  // namespace pn::cuda
