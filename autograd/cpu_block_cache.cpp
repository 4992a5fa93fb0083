#include "autograd/cpu_block_cache.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>

namespace pn {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr size_t kMinCached = size_t{1} << 20;

size_t rounded(size_t bytes) { return bytes == 0 ? 64 : (bytes + 63) / 64 * 64; }

struct Cache {
  std::mutex mutex;
  std::unordered_multimap<size_t, void*> blocks;
  CpuCacheStats stats;
  size_t limit = [] {
    const char* v = std::getenv("PENUMBRA_CPU_CACHE_MB");
    return (v && *v ? std::strtoull(v, nullptr, 10) : 4096ull) << 20;
  }();
};

// Never destroyed: tensors in static storage may be freed after any static destructor.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

bool cacheable(size_t bytes) { return !kSanitized && bytes >= kMinCached; }

// Live bytes and their peak, cached or not (atomics: small blocks take no lock).
std::atomic<size_t> g_live{0}, g_peak{0};

void count_allocation(size_t n) {
  const size_t now = g_live.fetch_add(n, std::memory_order_relaxed) + n;
  size_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

}  // namespace

void* cpu_block_allocate(size_t bytes) {
  const size_t n = rounded(bytes);
  count_allocation(n);
  if (cacheable(n)) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.blocks.find(n);
    if (it != c.blocks.end()) {
      void* p = it->second;
      c.blocks.erase(it);
      c.stats.cached_bytes -= n;
      ++c.stats.hits;
      return p;
    }
    ++c.stats.misses;
  }
  void* p = std::aligned_alloc(64, n);
  if (!p) {
    g_live.fetch_sub(n, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  return p;
}

void cpu_block_free(void* p, size_t bytes) {
  if (!p) return;
  const size_t n = rounded(bytes);
  g_live.fetch_sub(n, std::memory_order_relaxed);
  if (cacheable(n)) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.stats.cached_bytes + n <= c.limit) {
      c.blocks.emplace(n, p);
      c.stats.cached_bytes += n;
      return;
    }
  }
  std::free(p);
}

void cpu_block_cache_release() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, p] : c.blocks) std::free(p);
  c.blocks.clear();
  c.stats.cached_bytes = 0;
}

CpuCacheStats cpu_block_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  CpuCacheStats s = c.stats;
  s.live_bytes = g_live.load(std::memory_order_relaxed);
  s.peak_live_bytes = g_peak.load(std::memory_order_relaxed);
  return s;
}

void cpu_block_reset_peak() { g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

}  // namespace pn
