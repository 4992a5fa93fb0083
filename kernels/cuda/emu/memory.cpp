// Emulated device memory: host memory, one malloc per cudaMalloc so that AddressSanitizer
// puts its redzones right at the edges of each allocation. Without ASan, each allocation
// gets guard bytes on both sides instead, checked after every kernel and at every free.
// Fresh allocations are filled with NaN bytes (CUDA does not zero them either). Every
// allocation belongs to the device current at cudaMalloc, whose capacity
// (PN_CUDA_EMU_MEMORY_MB) it counts against: past it, cudaErrorMemoryAllocation.
// cudaFree waits for the device's queued work, as CUDA's does; cudaFreeAsync is queued on
// its stream and checked like any other op that writes the block. check_accesses is the
// test every op's declared memory passes before it is queued.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "kernels/cuda/emu/device_work.h"
#include "kernels/cuda/emu/emu_internal.h"

namespace pn::cuda::emu {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kGuard = 0;  // ASan's redzones do the job, and better (reads too, at once)
#else
constexpr size_t kGuard = 256;  // a multiple of the 256-byte alignment cudaMalloc promises
#endif
constexpr size_t kAlign = 256;
constexpr unsigned char kGuardByte = 0xA5;
constexpr unsigned char kPoison = 0xFF;

struct Allocation {
  char* raw;
  size_t bytes;
  int device;
};

struct MemoryState {
  std::mutex mutex;
  std::map<const char*, Allocation> allocations;  // keyed by the pointer handed out
  size_t used[detail::kMaxDevices] = {};
};
// Never destroyed: allocators in static storage free their blocks after main returns.
MemoryState& memory() {
  static auto* m = new MemoryState;
  return *m;
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// kGuard guard bytes, for comparing whole guards at once.
const unsigned char* intact_guard() {
  static const auto* guard = [] {
    auto* g = new unsigned char[kGuard + 1];
    std::memset(g, kGuardByte, kGuard + 1);
    return g;
  }();
  return guard;
}

// The first damaged guard byte of an allocation as "before"/"after" + offset, or "".
// (Checked after every launch: one memcmp per guard while they are intact.)
std::string damaged_guard(const char* user, const Allocation& a) {
  if (std::memcmp(a.raw, intact_guard(), kGuard) == 0 && std::memcmp(user + a.bytes, intact_guard(), kGuard) == 0)
    return "";
  for (size_t i = 0; i < kGuard; ++i) {
    if (static_cast<unsigned char>(a.raw[kGuard - 1 - i]) != kGuardByte)
      return std::to_string(i + 1) + " byte(s) before its start";
    if (static_cast<unsigned char>(user[a.bytes + i]) != kGuardByte) return "byte " + std::to_string(i) + " past its end";
  }
  return "";
}

void arm_guards(const char* user, const Allocation& a) {
  std::memset(a.raw, kGuardByte, kGuard);
  std::memset(const_cast<char*>(user) + a.bytes, kGuardByte, kGuard);
}

// The allocation whose start is the greatest at or below p (callers hold the mutex).
const std::pair<const char* const, Allocation>* nearest_below(const void* p) {
  auto& m = memory().allocations;
  auto it = m.upper_bound(static_cast<const char*>(p));
  if (it == m.begin()) return nullptr;
  return &*std::prev(it);
}

// Why [p, p + n) is not usable device memory of `device` (-1: any device), or "".
std::string range_problem(const void* p, size_t n, int device) {
  const char* c = static_cast<const char*>(p);
  const auto* e = nearest_below(p);
  if (!e || c >= e->first + e->second.bytes)
    return hex(p) + " is not device memory (a host pointer, or freed)";
  const Allocation& a = e->second;
  const size_t offset = static_cast<size_t>(c - e->first);
  if (device >= 0 && a.device != device)
    return hex(p) + " is memory of device " + std::to_string(a.device) + ", but the work runs on device " +
           std::to_string(device);
  if (offset + n > a.bytes)
    return "[" + hex(p) + ", +" + std::to_string(n) + " bytes) runs " + std::to_string(offset + n - a.bytes) +
           " byte(s) past the end of its " + std::to_string(a.bytes) + "-byte allocation (starting at offset " +
           std::to_string(offset) + ")";
  return "";
}

}  // namespace

namespace detail {

bool find_allocation(const void* p, AllocationInfo* out) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  const auto* e = nearest_below(p);
  if (!e || static_cast<const char*>(p) >= e->first + e->second.bytes) return false;
  if (out) *out = AllocationInfo{e->first, e->second.bytes, e->second.device};
  return true;
}

std::vector<AllocationInfo> live_allocations() {
  std::lock_guard<std::mutex> lock(memory().mutex);
  std::vector<AllocationInfo> out;
  out.reserve(memory().allocations.size());
  for (const auto& [user, a] : memory().allocations) out.push_back(AllocationInfo{user, a.bytes, a.device});
  return out;
}

std::string check_accesses(int device, const std::vector<Access>& accesses) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  for (const Access& a : accesses) {
    if (!a.ptr) continue;
    std::string why = range_problem(a.ptr, a.bytes == 0 ? 1 : a.bytes, device);
    if (!why.empty()) return a.role + ": " + why;
  }
  return "";
}

std::string check_guard_bytes() {
  if (kGuard == 0) return "";
  std::lock_guard<std::mutex> lock(memory().mutex);
  for (auto& [user, a] : memory().allocations) {
    std::string where = damaged_guard(user, a);
    if (where.empty()) continue;
    arm_guards(user, a);
    return "out-of-bounds write: the guard bytes of the " + std::to_string(a.bytes) + "-byte device allocation at " +
           hex(user) + " were overwritten, " + where;
  }
  return "";
}

std::string release_allocation(const char* base) {
  std::string damage;
  {
    std::lock_guard<std::mutex> lock(memory().mutex);
    auto& m = memory().allocations;
    auto it = m.find(base);
    if (it == m.end()) return "";
    damage = damaged_guard(it->first, it->second);
    if (!damage.empty())
      damage = "out-of-bounds write found when freeing it: the " + std::to_string(it->second.bytes) +
               "-byte allocation at " + hex(base) + " had its guard bytes overwritten, " + damage;
    memory().used[it->second.device] -= it->second.bytes;
    std::free(it->second.raw);
    m.erase(it);
  }
  forget_allocation(base);
  return damage;
}

}  // namespace detail

bool guard_bytes_enabled() { return kGuard != 0; }

}  // namespace pn::cuda::emu

using pn::cuda::emu::detail::record_error;
namespace emu = pn::cuda::emu;

cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (!p) return record_error(cudaErrorInvalidValue, "cudaMalloc: null output pointer");
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  const int dev = emu::detail::current_device();
  if (!emu::detail::valid_device(dev)) return record_error(cudaErrorNoDevice, "cudaMalloc: no emulated device");
  auto& mem = emu::memory();
  {
    std::lock_guard<std::mutex> lock(mem.mutex);
    const size_t cap = emu::detail::device_memory_capacity();
    if (bytes > cap - mem.used[dev])
      return record_error(cudaErrorMemoryAllocation,
                          "cudaMalloc(" + std::to_string(bytes) + " bytes) on device " + std::to_string(dev) + ": " +
                              std::to_string(mem.used[dev]) + " of " + std::to_string(cap) +
                              " bytes in use (the emulated capacity, PN_CUDA_EMU_MEMORY_MB)");
    mem.used[dev] += bytes;
  }
  void* raw = nullptr;
  if (posix_memalign(&raw, emu::kAlign, bytes + 2 * emu::kGuard) != 0) {
    std::lock_guard<std::mutex> lock(mem.mutex);
    mem.used[dev] -= bytes;
    return record_error(cudaErrorMemoryAllocation, "cudaMalloc: out of host memory for " + std::to_string(bytes) + " bytes");
  }
  char* user = static_cast<char*>(raw) + emu::kGuard;
  emu::Allocation a{static_cast<char*>(raw), bytes, dev};
  emu::arm_guards(user, a);
  std::memset(user, emu::kPoison, bytes);
  std::lock_guard<std::mutex> lock(mem.mutex);
  mem.allocations.emplace(user, a);
  *p = user;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  emu::detail::AllocationInfo a;
  if (!emu::detail::find_allocation(p, &a) || a.base != p)
    return record_error(cudaErrorInvalidValue, "cudaFree(" + emu::hex(p) + "): not a live cudaMalloc pointer");
  // CUDA's cudaFree waits for the device: queued work that uses the block runs first.
  const cudaError_t pending = emu::detail::synchronize_device(a.device);
  const std::string damage = emu::detail::release_allocation(a.base);
  if (!damage.empty()) return record_error(cudaErrorIllegalAddress, damage);
  return pending;
}

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s) {
  const int dev = emu::detail::stream_device(s);
  if (dev < 0) return record_error(cudaErrorInvalidResourceHandle, "cudaMallocAsync: unknown or destroyed stream");
  const int previous = emu::detail::current_device();
  (void)cudaSetDevice(dev);  // the block belongs to the stream's device
  const cudaError_t e = cudaMalloc(p, bytes);
  (void)cudaSetDevice(previous);
  return e;
}

// The block is freed when the stream reaches the free: an op that writes the whole block,
// so the hazard checker flags uses on other streams that are not ordered before it.
cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
  if (!p) return cudaSuccess;
  emu::detail::AllocationInfo a;
  if (!emu::detail::find_allocation(p, &a) || a.base != p)
    return record_error(cudaErrorInvalidValue, "cudaFreeAsync(" + emu::hex(p) + "): not a live allocation");
  const char* base = a.base;
  return emu::detail::enqueue(s, "cudaFreeAsync(" + emu::hex(p) + ")", {{p, a.bytes, true, "the freed block"}},
                              [base](std::string& detail) {
                                detail = emu::detail::release_allocation(base);
                                return detail.empty() ? cudaSuccess : cudaErrorIllegalAddress;
                              });
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return record_error(cudaErrorInvalidValue, "cudaMemGetInfo: null pointer");
  const size_t cap = emu::detail::device_memory_capacity();
  std::lock_guard<std::mutex> lock(emu::memory().mutex);
  *total_bytes = cap;
  *free_bytes = cap - emu::memory().used[emu::detail::current_device()];
  return cudaSuccess;
}

// Device memory reports its device; anything else is unregistered host memory, reported
// as CUDA 11 and later do (type cudaMemoryTypeUnregistered, device -2, success).
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
  if (!attr) return record_error(cudaErrorInvalidValue, "cudaPointerGetAttributes: null output pointer");
  emu::detail::AllocationInfo a;
  if (p && emu::detail::find_allocation(p, &a)) {
    *attr = cudaPointerAttributes{cudaMemoryTypeDevice, a.device, const_cast<void*>(p), nullptr};
  } else {
    *attr = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr, const_cast<void*>(p)};
  }
  return cudaSuccess;
}
