// Recording one launch's memory traffic (profile.h): the instrumentation hooks and the
// per-launch recorder behind them.
//
// The hooks. GCC's -fsanitize=kernel-address with --param asan-instrumentation-with-call-threshold=0
// turns every load and store of an instrumented file into a call __asan_{load,store}{1,2,4,8,16}_noabort(addr)
// or __asan_{load,store}N_noabort(addr, size) (memcpy), and never reads ASan's shadow memory
// itself; without the ASan runtime these are ours. They cost a call and a thread-local read
// when nothing is recorded (host code of instrumented files, or profiling off).
//
// Grouping. The emulator runs a block's threads one after another, not in step. Lane l's k-th
// access to an array (one allocation or shared array, one direction, one width) and lane m's
// k-th access to the same array are the same warp-level access, so accesses are grouped by
// (array, direction, width, warp, k). Keying by the array rather than by the instruction makes
// the grouping independent of the host compiler's code layout: GCC often duplicates a store
// into both arms of a per-element branch where nvcc would predicate one store, and keying by
// instruction would then report divergence and split sectors that a GPU never sees. The cost:
// a lane that skips one access to an array and later accesses it again (a boundary test inside
// a stencil) is paired one off for the rest of its block. A group is measured when every lane
// of its warp has joined, else at the block's end.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/emu/emu_internal.h"
#include "kernels/cuda/emu/profile_internal.h"
#include "kernels/cuda/emu/vector_types.h"

namespace pn::cuda::emu {

namespace {

enum class Space : uint8_t { Other, Global, Shared };

struct LaneAccess {
  uint64_t addr;
  uint32_t size;
};

struct Group {
  uint64_t key = 0;
  uint32_t mask = 0;
  Space space = Space::Other;
  bool write = false;
  LaneAccess lane[32];
};

// Distinct bytes of byte ranges (sorted by start in place): the union's size.
uint64_t union_bytes(LaneAccess* a, int n) {
  std::sort(a, a + n, [](const LaneAccess& x, const LaneAccess& y) { return x.addr < y.addr; });
  uint64_t total = 0, end = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t lo = std::max(a[i].addr, end), hi = a[i].addr + a[i].size;
    if (hi > lo) total += hi - lo;
    end = std::max(end, hi);
  }
  return total;
}

// Distinct units of `shift` bits (32-byte sectors: 5; 4-byte words: 2) covered by the lanes.
int distinct_units(const LaneAccess* a, int n, int shift, std::vector<uint64_t>& scratch) {
  scratch.clear();
  for (int i = 0; i < n; ++i)
    for (uint64_t u = a[i].addr >> shift; u <= (a[i].addr + a[i].size - 1) >> shift; ++u) scratch.push_back(u);
  std::sort(scratch.begin(), scratch.end());
  return static_cast<int>(std::unique(scratch.begin(), scratch.end()) - scratch.begin());
}

class Recorder {
 public:
  Recorder(const std::string& what, const LaunchSite& site, dim3 grid, dim3 block, const void* dyn, size_t dyn_bytes)
      : nthreads_(static_cast<int>(block.x * block.y * block.z)) {
    p_.site = detail::site_label(site);
    p_.scope = detail::scope_of(what);
    p_.grid[0] = grid.x, p_.grid[1] = grid.y, p_.grid[2] = grid.z;
    p_.block[0] = block.x, p_.block[1] = block.y, p_.block[2] = block.z;
    p_.launches = 1;
    allocs_ = detail::live_allocations();
    read_bits_.resize(allocs_.size());
    write_bits_.resize(allocs_.size());
    if (dyn_bytes) note_shared(dyn, dyn_bytes);
  }

  void note_shared(const void* p, size_t bytes) {
    const uint64_t lo = reinterpret_cast<uint64_t>(p);
    shared_.push_back({lo, lo + bytes});
  }

  void block_begin() {
    std::fill(occ_.begin(), occ_.end(), 0u);
    p_.threads += static_cast<uint64_t>(nthreads_);
    p_.warps += static_cast<uint64_t>((nthreads_ + 31) / 32);
  }
  void barrier() { ++p_.barriers; }
  void block_end() {
    for (auto& [key, index] : open_) measure(groups_[index]);
    open_.clear();
    free_.clear();
    groups_.clear();
  }

  void access(uint64_t addr, uint64_t size, bool write) {
    if (size == 0) return;
    int array = -1;
    const Space space = classify(addr, &array);
    if (space == Space::Other) {
      ++p_.other_accesses;
      return;
    }
    if (space == Space::Global) mark_compulsory(array, addr, size, write);
    const unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const uint32_t s = stream_index((uint64_t(static_cast<uint32_t>(array)) << 32) | (uint64_t{write} << 31) |
                                    (uint64_t(space) << 29) | (size & ((uint64_t{1} << 29) - 1)));
    const uint32_t k = occ_[static_cast<size_t>(s) * nthreads_ + tid]++;
    const uint64_t key = (uint64_t{s} << 48) | (uint64_t{tid / 32} << 43) | (k & ((uint64_t{1} << 43) - 1));
    Group& g = group(key);
    g.space = space;
    g.write = write;
    g.mask |= 1u << (tid % 32);
    g.lane[tid % 32] = LaneAccess{addr, static_cast<uint32_t>(size)};
    if (g.mask == live_mask(tid / 32)) close(key);
  }

  LaunchProfile finish() {
    for (size_t a = 0; a < allocs_.size(); ++a) {
      for (uint64_t w : read_bits_[a]) p_.compulsory_read += static_cast<uint64_t>(__builtin_popcountll(w));
      for (uint64_t w : write_bits_[a]) p_.compulsory_write += static_cast<uint64_t>(__builtin_popcountll(w));
    }
    return p_;
  }

 private:
  // The memory space of addr, and the index of its allocation (global) or shared array.
  Space classify(uint64_t addr, int* alloc) const {
    for (size_t i = 0; i < shared_.size(); ++i)
      if (addr >= shared_[i].first && addr < shared_[i].second) {
        *alloc = static_cast<int>(i);
        return Space::Shared;
      }
    auto it = std::upper_bound(allocs_.begin(), allocs_.end(), addr, [](uint64_t a, const detail::AllocationInfo& x) {
      return a < reinterpret_cast<uint64_t>(x.base);
    });
    if (it == allocs_.begin()) return Space::Other;
    --it;
    if (addr >= reinterpret_cast<uint64_t>(it->base) + it->bytes) return Space::Other;
    *alloc = static_cast<int>(it - allocs_.begin());
    return Space::Global;
  }

  void mark_compulsory(int alloc, uint64_t addr, uint64_t size, bool write) {
    const detail::AllocationInfo& a = allocs_[alloc];
    auto& bits = (write ? write_bits_ : read_bits_)[alloc];
    if (bits.empty()) bits.assign((a.bytes + 63) / 64, 0);
    const uint64_t off = addr - reinterpret_cast<uint64_t>(a.base);
    const uint64_t end = std::min<uint64_t>(off + size, a.bytes);
    for (uint64_t b = off; b < end; ++b) bits[b / 64] |= uint64_t{1} << (b % 64);
  }

  // A small number for each (array, direction, width, space) seen in this launch.
  uint32_t stream_index(uint64_t stream) {
    auto [it, added] = streams_.try_emplace(stream, static_cast<uint32_t>(streams_.size()));
    if (added) occ_.resize(occ_.size() + static_cast<size_t>(nthreads_), 0u);
    return it->second;
  }

  // The lanes warp w has (the last warp of a block may be partial).
  uint32_t live_mask(unsigned w) const {
    const int lanes = std::min(32, nthreads_ - static_cast<int>(w) * 32);
    return lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
  }

  Group& group(uint64_t key) {
    auto it = open_.find(key);
    if (it != open_.end()) return groups_[it->second];
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<uint32_t>(groups_.size());
      groups_.emplace_back();
    }
    groups_[index].key = key;
    groups_[index].mask = 0;
    open_.emplace(key, index);
    return groups_[index];
  }

  void close(uint64_t key) {
    auto it = open_.find(key);
    measure(groups_[it->second]);
    free_.push_back(it->second);
    open_.erase(it);
  }

  // Adds one warp-level access to the counters.
  void measure(const Group& g) {
    LaneAccess lanes[32];
    int n = 0;
    uint64_t requested = 0;
    for (int l = 0; l < 32; ++l)
      if ((g.mask >> l) & 1u) {
        lanes[n++] = g.lane[l];
        requested += g.lane[l].size;
      }
    TrafficCounters& c = g.space == Space::Global ? (g.write ? p_.global_store : p_.global_load)
                                                  : (g.write ? p_.shared_store : p_.shared_load);
    c.warp_accesses += 1;
    c.lane_accesses += static_cast<uint64_t>(n);
    c.bytes_requested += requested;
    if (g.space == Space::Global) {
      c.units += static_cast<uint64_t>(distinct_units(lanes, n, 5, scratch_));
      c.min_units += (union_bytes(lanes, n) + 31) / 32;
    } else {
      const int words = distinct_units(lanes, n, 2, scratch_);  // scratch_ now holds the distinct words
      int per_bank[32] = {};
      for (int i = 0; i < words; ++i) ++per_bank[scratch_[static_cast<size_t>(i)] % 32];
      c.units += static_cast<uint64_t>(*std::max_element(per_bank, per_bank + 32));
      c.min_units += static_cast<uint64_t>((words + 31) / 32);
    }
    if (g.mask != live_mask(static_cast<unsigned>((g.key >> 43) & 31u))) ++p_.divergent_accesses;
  }

  int nthreads_;
  LaunchProfile p_;
  std::vector<detail::AllocationInfo> allocs_;  // sorted by base
  std::vector<std::vector<uint64_t>> read_bits_, write_bits_;
  std::vector<std::pair<uint64_t, uint64_t>> shared_;
  std::unordered_map<uint64_t, uint32_t> streams_;  // access stream -> index
  std::vector<uint32_t> occ_;  // [stream * nthreads + thread]: accesses so far in this block
  std::unordered_map<uint64_t, uint32_t> open_;
  std::vector<Group> groups_;
  std::vector<uint32_t> free_;
  std::vector<uint64_t> scratch_;
};

thread_local Recorder* t_recorder = nullptr;

}  // namespace

namespace detail {

void profile_launch_begin(const std::string& what, const LaunchSite& site, dim3 grid, dim3 block,
                          const void* dynamic_shared, size_t dynamic_bytes) {
  t_recorder = new Recorder(what, site, grid, block, dynamic_shared, dynamic_bytes);
}
void profile_block_begin() {
  if (t_recorder) t_recorder->block_begin();
}
void profile_shared(const void* p, size_t bytes) {
  if (t_recorder) t_recorder->note_shared(p, bytes);
}
void profile_barrier() {
  if (t_recorder) t_recorder->barrier();
}
void profile_block_end() {
  if (t_recorder) t_recorder->block_end();
}
void profile_access(const void* p, size_t bytes, bool write) {
  if (auto* r = t_recorder) r->access(reinterpret_cast<uint64_t>(p), bytes, write);
}
void profile_launch_end() {
  if (!t_recorder) return;
  std::unique_ptr<Recorder> r(t_recorder);
  t_recorder = nullptr;
  store_profile(r->finish());
}

}  // namespace detail
}  // namespace pn::cuda::emu

// ---- The instrumentation's entry points ------------------------------------------------------
// Signatures as GCC declares them (pointer, and long for the size).
#define PN_PROFILE_HOOK(size)                                                                     \
  extern "C" void __asan_load##size##_noabort(void* p) {                                        \
    if (auto* r = pn::cuda::emu::t_recorder)                                                    \
      r->access(reinterpret_cast<uint64_t>(p), size, false);       \
  }                                                                                             \
  extern "C" void __asan_store##size##_noabort(void* p) {                                       \
    if (auto* r = pn::cuda::emu::t_recorder)                                                    \
      r->access(reinterpret_cast<uint64_t>(p), size, true);        \
  }
PN_PROFILE_HOOK(1)
PN_PROFILE_HOOK(2)
PN_PROFILE_HOOK(4)
PN_PROFILE_HOOK(8)
PN_PROFILE_HOOK(16)
#undef PN_PROFILE_HOOK
extern "C" void __asan_loadN_noabort(void* p, long size) {
  if (auto* r = pn::cuda::emu::t_recorder)
    r->access(reinterpret_cast<uint64_t>(p), static_cast<uint64_t>(size), false);
}
extern "C" void __asan_storeN_noabort(void* p, long size) {
  if (auto* r = pn::cuda::emu::t_recorder)
    r->access(reinterpret_cast<uint64_t>(p), static_cast<uint64_t>(size), true);
}

// 16-byte accesses of kernels/cuda/vector_types.h (this file is not instrumented).
float4 pn::cuda::emu::load128(const float4* p) {
  if (auto* r = t_recorder) r->access(reinterpret_cast<uint64_t>(p), 16, false);
  return *p;
}
void pn::cuda::emu::store128(float4* p, float4 v) {
  if (auto* r = t_recorder) r->access(reinterpret_cast<uint64_t>(p), 16, true);
  *p = v;
}

// The instrumentation's other calls: before a noreturn call (a throw) and around dynamic
// initialisation of globals. They mean nothing to the profile. In sanitizer builds the ASan
// runtime defines them (and needs its own __asan_handle_no_return for its stack bookkeeping).
#if !defined(__SANITIZE_ADDRESS__)
extern "C" void __asan_handle_no_return() {}
extern "C" void __asan_before_dynamic_init(const char*) {}
extern "C" void __asan_after_dynamic_init() {}
#endif
