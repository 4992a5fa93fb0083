// The host block cache: large blocks come back for reuse, small ones and sanitizer builds
// bypass it, and tensors built on reused blocks start from the values they are given.
#include <doctest/doctest.h>

#include "autograd/cpu_block_cache.h"
#include "autograd/tensor.h"

using namespace pn;

TEST_CASE("large host blocks are reused by exact size; small ones are not cached") {
  cpu_block_cache_release();
  const size_t big = (size_t{3} << 20) + 100;
  CpuCacheStats s0 = cpu_block_cache_stats();
  void* a = cpu_block_allocate(big);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  cpu_block_free(a, big);
  void* b = cpu_block_allocate(big);
  CpuCacheStats s1 = cpu_block_cache_stats();
#if defined(__SANITIZE_ADDRESS__)
  MESSAGE("sanitizer build: the cache is bypassed");
  CHECK(s1.hits == s0.hits);
#else
  CHECK(b == a);
  CHECK(s1.hits == s0.hits + 1);
#endif
  void* c = cpu_block_allocate(big + 64 * 1024);  // another size: a fresh block
  CHECK(c != b);
  cpu_block_free(b, big);
  cpu_block_free(c, big + 64 * 1024);
  const size_t small = 4096;
  cpu_block_free(cpu_block_allocate(small), small);
  CpuCacheStats s2 = cpu_block_cache_stats();
#if !defined(__SANITIZE_ADDRESS__)
  CHECK(s2.cached_bytes >= 2 * big);
#endif
  cpu_block_cache_release();
  CHECK(cpu_block_cache_stats().cached_bytes == 0);
  (void)s2;
}

TEST_CASE("a tensor on a reused block holds exactly what it was created with") {
  const Shape s{1, 1, 64, 64, 64};  // 1 MiB of float32
  { Tensor t = Tensor::full(s, 7.0); }
  Tensor z = Tensor::zeros(s);
  auto v = z.to_vector();
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  CHECK(m == 0.0);
}

TEST_CASE("live and peak bytes count what tensors hold, cached or not") {
  const size_t before = cpu_block_cache_stats().live_bytes;
  cpu_block_reset_peak();
  {
    Tensor big = Tensor::empty({1, 1, 64, 64, 64});  // 1 MiB: a cacheable block
    Tensor small = Tensor::empty({10});              // 40 bytes, rounded up to 64
    CHECK(cpu_block_cache_stats().live_bytes == before + (size_t{1} << 20) + 64);
  }
  const CpuCacheStats s = cpu_block_cache_stats();
  CHECK(s.live_bytes == before);  // freed: the cached block no longer counts as live
  CHECK(s.peak_live_bytes == before + (size_t{1} << 20) + 64);
  cpu_block_reset_peak();
  CHECK(cpu_block_cache_stats().peak_live_bytes == before);
}

TEST_CASE("the cache never holds the footprint above the high water of live bytes") {
  cpu_block_cache_release();
  const size_t mib = size_t{1} << 20;
  cpu_block_reset_high_water();
  const size_t base = cpu_block_cache_stats().live_bytes;
  // Two 4 MiB blocks live at once set the high water to base + 8 MiB; freed, both are cached.
  void* a = cpu_block_allocate(4 * mib);
  void* b = cpu_block_allocate(4 * mib);
  cpu_block_free(a, 4 * mib);
  cpu_block_free(b, 4 * mib);
  const CpuCacheStats s0 = cpu_block_cache_stats();
  CHECK(s0.high_water_bytes == base + 8 * mib);
#if !defined(__SANITIZE_ADDRESS__)
  CHECK(s0.cached_bytes == 8 * mib);
  // A 4 MiB block again: a hit, nothing freed.
  void* c = cpu_block_allocate(4 * mib);
  CHECK(cpu_block_cache_stats().evicted_bytes == s0.evicted_bytes);
  // A 3 MiB block beside it misses: live base + 7 MiB and 4 MiB cached would pass the high
  // water, so the cached block goes first; the footprint stays under base + 8 MiB.
  void* d = cpu_block_allocate(3 * mib);
  const CpuCacheStats s1 = cpu_block_cache_stats();
  CHECK(s1.evicted_bytes == s0.evicted_bytes + 4 * mib);
  CHECK(s1.cached_bytes == 0);
  CHECK(s1.live_bytes + s1.cached_bytes <= s1.high_water_bytes);
  cpu_block_free(c, 4 * mib);
  cpu_block_free(d, 3 * mib);
  // Both cached now (7 MiB, under the high water): a 1 MiB miss fits beside them.
  void* e = cpu_block_allocate(mib);
  CHECK(cpu_block_cache_stats().evicted_bytes == s1.evicted_bytes);
  CHECK(cpu_block_cache_stats().cached_bytes == 7 * mib);
  cpu_block_free(e, mib);
#endif
  cpu_block_cache_release();
}
