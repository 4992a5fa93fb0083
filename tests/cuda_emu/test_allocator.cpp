// The caching device allocator (kernels/cuda/caching_allocator.h) on emulated device
// memory: reuse within a quarter of waste, per-stream caches, statistics, bad frees.
#include <doctest/doctest.h>

#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/check.h"

using pn::cuda::CachingAllocator;

TEST_CASE("caching allocator reuses freed blocks and keeps statistics") {
  CachingAllocator alloc;
  void* a = alloc.allocate(1000);  // rounds to 1024
  CHECK(a != nullptr);
  auto s = alloc.stats();
  CHECK(s.bytes_in_use == 1024);
  CHECK(s.device_mallocs == 1);
  alloc.deallocate(a);
  s = alloc.stats();
  CHECK(s.bytes_in_use == 0);
  CHECK(s.bytes_cached == 1024);
  CHECK(s.peak_bytes_in_use == 1024);

  void* b = alloc.allocate(900);  // 1024 again: served from the cache
  CHECK(b == a);
  CHECK(alloc.stats().cache_hits == 1);
  void* c = alloc.allocate(100);  // 512: a cached 1024 block would waste half, so a new one
  CHECK(c != a);
  CHECK(alloc.stats().device_mallocs == 2);
  CHECK(alloc.stats().peak_bytes_in_use == 1024 + 512);

  cudaStream_t other = nullptr;
  PN_CUDA_CHECK(cudaStreamCreate(&other));
  alloc.deallocate(b);
  void* d = alloc.allocate(1024, other);  // freed on the default stream: not reused elsewhere
  CHECK(d != b);
  alloc.deallocate(c);
  alloc.deallocate(d);
  alloc.empty_cache();
  s = alloc.stats();
  CHECK(s.bytes_cached == 0);
  CHECK(s.device_frees == 3);
  PN_CUDA_CHECK(cudaStreamDestroy(other));

  int not_ours = 0;
  CHECK_THROWS_AS(alloc.deallocate(&not_ours), pn::cuda::CudaError);
}

TEST_CASE("emulated runtime rejects host pointers and double frees") {
  int host[4] = {};
  void* dev = nullptr;
  PN_CUDA_CHECK(cudaMalloc(&dev, sizeof host));
  CHECK(cudaMemcpy(host, dev, sizeof host, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(dev, host, sizeof host, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaFree(dev) == cudaSuccess);
  CHECK(cudaFree(dev) == cudaErrorInvalidValue);
  (void)cudaGetLastError();
}
