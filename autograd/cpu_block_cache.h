// A cache of large host blocks for tensor storage. Training allocates the same large
// activation sizes at every step; returning them to the OS (glibc serves blocks over
// 32 MiB with mmap) means fresh zeroed pages and a page fault per 4 KiB on every step,
// a third of a paper-size U-Net step on the CPU. Freed blocks of 1 MiB or more are kept,
// keyed by exact size, up to a limit (PENUMBRA_CPU_CACHE_MB, default 4096; 0 disables).
// The cache never raises the process's footprint above the most bytes tensors have ever held
// at once (the high water): on a miss, cached blocks of other sizes are freed first until
// live + cached + the new block fit under it. So a training step's peak memory is its
// tensors' peak, as without a cache, and the blocks that the next step reuses are kept.
// Sanitizer builds bypass the cache so that use-after-free is still caught.
// Every CPU tensor's storage comes through here, so the live and peak byte counts are the
// memory tensors hold (what a training step's activations cost: docs/04-unet.md).
#pragma once
#include <cstddef>

namespace pn {

struct CpuCacheStats {
  size_t cached_bytes = 0;  // held for reuse now
  size_t hits = 0, misses = 0;
  size_t live_bytes = 0;       // handed out and not yet freed (sizes rounded up to 64 bytes)
  size_t peak_live_bytes = 0;  // the most live_bytes has been since start or the last reset
  size_t high_water_bytes = 0; // the most live_bytes has been since start (or reset_high_water): the budget
  size_t evicted_bytes = 0;    // cached bytes freed to keep under the high water
};

// 64-byte aligned; never null (throws std::bad_alloc).
void* cpu_block_allocate(size_t bytes);
void cpu_block_free(void* p, size_t bytes);
// Frees every cached block back to the system.
void cpu_block_cache_release();
CpuCacheStats cpu_block_cache_stats();
// Starts a new peak: peak_live_bytes = live_bytes.
void cpu_block_reset_peak();
// Starts a new high water (high_water_bytes = live_bytes), shrinking the cache's budget: for
// tests, and for a program entering a smaller phase.
void cpu_block_reset_high_water();

}  // namespace pn
